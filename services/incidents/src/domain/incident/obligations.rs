//! The obligations a triage gives rise to (GDPR, NIS2, contracts: `tillit_rules::clocks`),
//! those it no longer calls for, the decisions it documents, and recording a notification
//! or filing against a pending obligation.

use tillit_kernel::Reason;
use tillit_kernel::clock::{from_timestamp, rfc3339, to_timestamp};
use tillit_proto::incidents::{
    DecisionDocumented, Incident, ObligationArisen, ObligationDueSet, ObligationNoLongerRequired,
    TriageAssessment,
};
use tillit_rules::clocks;
use time::OffsetDateTime;

use super::fold::pending_obligation;
use tillit_proto::incidents::ObligationStatus;

use super::{ClockContext, IncidentEvent, Notification};
use crate::domain::DomainError;
use crate::domain::triage::clock_facts;

/// The events a triage adds about obligations: new ones arise (due frozen from now on),
/// pending ones the facts no longer call for fall away with a reason, met ones are never
/// touched; decisions not to notify and the significance finding are documented once.
pub(super) fn obligation_events(
    incident: &Incident,
    triage: &TriageAssessment,
    context: &ClockContext,
    now: OffsetDateTime,
) -> Vec<IncidentEvent> {
    let facts = clock_facts(incident, triage, context.linked.clone());
    let assessment = clocks::assess(&facts, &context.contracts, &context.config, now);
    let mut events = Vec::new();
    let clocks_sha256 = context.config.sha256();
    let existing = |id: &str| incident.obligations.iter().find(|o| o.obligation_id == id);
    for spec in &assessment.obligations {
        let arises = existing(&spec.id).is_none_or(|o| o.status() == ObligationStatus::NotRequired);
        if arises {
            events.push(IncidentEvent::ObligationArisen(ObligationArisen {
                obligation_id: spec.id.clone(),
                clock: spec.clock.id().into(),
                article: spec.clock.article().into(),
                recipient: spec.recipient.clone(),
                recipient_tenant_id: spec.recipient_tenant.clone().unwrap_or_default(),
                due_at: spec.due_at.map(to_timestamp),
                required_fields: spec
                    .clock
                    .required_fields()
                    .iter()
                    .map(|f| (*f).to_owned())
                    .collect(),
                clocks_sha256: clocks_sha256.clone(),
            }));
        }
    }
    for obligation in incident
        .obligations
        .iter()
        .filter(|o| o.status() == ObligationStatus::Pending)
    {
        if !assessment
            .obligations
            .iter()
            .any(|spec| spec.id == obligation.obligation_id)
        {
            events.push(IncidentEvent::ObligationNoLongerRequired(
                ObligationNoLongerRequired {
                    obligation_id: obligation.obligation_id.clone(),
                    reason: format!(
                        "re-triage on {}: the facts no longer call for it",
                        now.date()
                    ),
                },
            ));
        }
    }
    let mut documented: Vec<(String, String)> = assessment
        .decisions
        .iter()
        .map(|d| (d.article.to_owned(), d.decision.clone()))
        .collect();
    if let Some(reason) = &assessment.significant {
        documented.push((
            "NIS2 significance, Implementing Regulation 2024/2690".into(),
            format!("significant: {reason}"),
        ));
    }
    for (article, decision) in documented {
        if !incident
            .decisions
            .iter()
            .any(|d| d.article == article && d.decision == decision)
        {
            events.push(IncidentEvent::DecisionDocumented(DecisionDocumented {
                article,
                decision,
            }));
        }
    }
    events
}

pub(super) fn record_notification(
    incident: &Incident,
    notification: Notification,
    now: OffsetDateTime,
) -> Result<Vec<IncidentEvent>, DomainError> {
    let Notification { mut sent, config } = notification;
    let obligation = pending_obligation(incident, &sent.obligation_id)?;
    let sent_at = sent
        .sent_at
        .as_ref()
        .and_then(from_timestamp)
        .ok_or_else(|| DomainError::refused("sent_at", Reason::Required, "required"))?;
    if sent_at > now {
        return Err(DomainError::refused(
            "sent_at",
            Reason::OutOfRange,
            "must not be in the future",
        ));
    }
    sent.meets = matches!(sent.stage.as_str(), "" | "initial" | "final");
    if sent.meets {
        let due = obligation
            .due_at
            .as_ref()
            .and_then(from_timestamp)
            .ok_or_else(|| {
                DomainError::Precondition(format!(
                    "obligation {} has no due time yet: send the NIS2 notification first",
                    obligation.obligation_id
                ))
            })?;
        sent.late = sent_at > due;
        if sent.late && sent.delay_reason.trim().is_empty() {
            return Err(DomainError::refused(
                "delay_reason",
                Reason::Required,
                format!(
                    "obligation {} ({} to {}) was due {}: a notification sent after that needs a reason for the delay",
                    obligation.obligation_id,
                    obligation.article,
                    obligation.recipient,
                    rfc3339(due)
                ),
            ));
        }
    }
    let mut events = Vec::new();
    if sent.meets && obligation.clock() == clocks::Clock::Nis2Notification.kind() {
        let final_id = clocks::Clock::Nis2FinalReport.id();
        if incident
            .obligations
            .iter()
            .any(|o| o.obligation_id == final_id && o.status() == ObligationStatus::Pending)
        {
            events.push(IncidentEvent::ObligationDueSet(ObligationDueSet {
                obligation_id: final_id.into(),
                due_at: Some(to_timestamp(clocks::final_report_due(sent_at, &config))),
            }));
        }
    }
    events.insert(0, IncidentEvent::NotificationRecorded(sent));
    Ok(events)
}
