//! The incident aggregate (INCIDENTS stream, `tillit.incidents.<reporter tenant>.incident.<id>`).
//!
//! Its state is the API's own `Incident` message, folded by [`apply`] (in
//! `tillit-incidents-views`) — shared by the decider and the register projections of
//! incidents and reporting. The life cycle:
//!
//! ```text
//! reported ─triage─▶ triaged ─contain─▶ contained ─resolve─▶ resolved ─close─▶ closed
//!     │                 │ └──────────resolve──────────────────▲              │
//!     └─reject─▶ rejected ◀─reject─┘                              reopen ◀────┘ (also from rejected)
//! ```
//! Re-triage is allowed until closure; the post-incident review is recorded once contained
//! or resolved; closing needs root cause, lessons learned and every action completed or
//! its risk accepted.

use std::collections::BTreeMap;
use tillit_kernel::clock::to_timestamp;
use tillit_kernel::{AggregateType, Decider};

use tillit_kernel::clock::from_timestamp;
use tillit_proto::incidents::{
    Action, ActionAdded, ActionCompleted, ActionRiskAccepted, DecisionDocumented, Incident,
    IncidentClosed, IncidentContained, IncidentLinked, IncidentRejected, IncidentReopened,
    IncidentReported, IncidentResolved, IncidentTriaged, NotificationRecorded, Obligation,
    ObligationArisen, ObligationDueSet, ObligationNoLongerRequired, ObligationWaived,
    PostIncidentReviewed, Triage,
};
use tillit_rules::clocks::{
    self, ClockConfig, ContractHours, IncidentFacts, LinkedFacts, Risk, Role,
};
use time::OffsetDateTime;

use super::DomainError;

pub use tillit_incidents_views::incident::{
    INCIDENT, IncidentEvent, action_status, apply, obligation_status, status,
};

/// What the legal clocks need besides the incident itself: the affected customers'
/// contract hours (from the identity view), the clock configuration, and the facts of
/// linked incidents — read by the caller, handed in so deciding stays pure.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClockContext {
    /// Contract hours per affected tenant.
    pub contracts: BTreeMap<String, ContractHours>,
    /// Recipients, hours and thresholds.
    pub config: ClockConfig,
    /// Linked incidents with the same root cause.
    pub linked: Vec<LinkedFacts>,
}

/// A notification or filing to record.
#[derive(Clone, Debug, PartialEq)]
pub struct Notification {
    /// What was sent; `meets`, `late` and `recorded_by` are decided here.
    pub sent: NotificationRecorded,
    /// For the NIS2 final report's due time.
    pub config: ClockConfig,
}

/// Commands on an incident.
#[derive(Clone, Debug, PartialEq)]
pub enum IncidentCommand {
    /// Report it.
    Report(IncidentReported),
    /// Triage it (again); obligations arise or fall away from the new facts.
    Triage(Triage, Box<ClockContext>),
    /// Link a related incident.
    Link(String),
    /// Contain it.
    Contain(String),
    /// Resolve it.
    Resolve(String),
    /// Record the post-incident review.
    Review {
        /// Root cause.
        root_cause: String,
        /// Lessons learned.
        lessons_learned: String,
    },
    /// Close it.
    Close,
    /// Reject it.
    Reject(String),
    /// Reopen it.
    Reopen(String),
    /// Add a corrective action.
    AddAction(ActionAdded),
    /// Complete an action.
    CompleteAction {
        /// Action id.
        action_id: String,
        /// Evidence.
        evidence: String,
    },
    /// Accept an action's residual risk.
    AcceptRisk(ActionRiskAccepted),
    /// Record a notification or filing.
    RecordNotification(Box<Notification>),
    /// Waive an obligation.
    Waive(ObligationWaived),
}

impl IncidentCommand {
    fn verb(&self) -> &'static str {
        match self {
            Self::Report(_) => "report",
            Self::Triage(..) => "triage",
            Self::Link(_) => "link",
            Self::Contain(_) => "contain",
            Self::Resolve(_) => "resolve",
            Self::Review { .. } => "review",
            Self::Close => "close",
            Self::Reject(_) => "reject",
            Self::Reopen(_) => "reopen",
            Self::AddAction(_) => "add an action to",
            Self::CompleteAction { .. } => "complete an action of",
            Self::AcceptRisk(_) => "accept an action's risk on",
            Self::RecordNotification(_) => "record a notification on",
            Self::Waive(_) => "waive an obligation of",
        }
    }
}

/// The incident decider.
pub struct IncidentDecider;

fn open_action<'a>(incident: &'a Incident, action_id: &str) -> Result<&'a Action, DomainError> {
    let action = incident
        .actions
        .iter()
        .find(|a| a.action_id == action_id)
        .ok_or_else(|| DomainError::invalid("action_id", "no such action on this incident"))?;
    if action.status == action_status::OPEN {
        Ok(action)
    } else {
        Err(DomainError::Precondition(format!(
            "action {:?} is already {}",
            action.title, action.status
        )))
    }
}

/// What still stands in the way of closing, in words; empty when nothing does.
pub fn closing_blockers(incident: &Incident) -> Vec<String> {
    let mut missing = Vec::new();
    if incident.root_cause.trim().is_empty() {
        missing.push("the root cause".to_owned());
    }
    if incident.lessons_learned.trim().is_empty() {
        missing.push("the lessons learned".to_owned());
    }
    for action in incident
        .actions
        .iter()
        .filter(|a| a.status == action_status::OPEN)
    {
        missing.push(format!(
            "open action {:?} ({})",
            action.title, action.action_id
        ));
    }
    for obligation in incident
        .obligations
        .iter()
        .filter(|o| o.status == obligation_status::PENDING)
    {
        missing.push(format!(
            "pending obligation {} ({} to {})",
            obligation.obligation_id, obligation.article, obligation.recipient
        ));
    }
    missing
}

/// The facts the legal clocks read, from the incident and a triage.
pub fn clock_facts(
    incident: &Incident,
    triage: &Triage,
    linked: Vec<LinkedFacts>,
) -> IncidentFacts {
    let time = |ts: Option<&prost_types::Timestamp>| ts.and_then(from_timestamp);
    IncidentFacts {
        aware_at: time(incident.aware_at.as_ref()).unwrap_or(OffsetDateTime::UNIX_EPOCH),
        personal_data_breach: triage.personal_data_breach,
        risk: Risk::parse(&triage.risk_to_data_subjects),
        affected: triage
            .affected_customers
            .iter()
            .map(|c| {
                (
                    c.tenant_id.clone(),
                    if c.our_role == "controller" {
                        Role::Controller
                    } else {
                        Role::Processor
                    },
                )
            })
            .collect(),
        serious: matches!(triage.severity.as_str(), "high" | "critical"),
        suspected_malicious: triage.suspected_malicious,
        data_compromised: triage.data_compromised,
        outage: time(triage.outage_start.as_ref())
            .map(|start| (start, time(triage.outage_end.as_ref()))),
        planned_maintenance: triage.planned_maintenance,
        users_affected_percent: triage.users_affected_percent,
        direct_loss_eur: triage.estimated_direct_loss_eur,
        linked,
    }
}

/// What a linked incident contributes to significance.
pub fn linked_facts(incident: &Incident) -> LinkedFacts {
    let Some(triage) = &incident.triage else {
        return LinkedFacts::default();
    };
    let time = |ts: Option<&prost_types::Timestamp>| ts.and_then(from_timestamp);
    let minutes = match (
        time(triage.outage_start.as_ref()),
        time(triage.outage_end.as_ref()),
    ) {
        (Some(start), Some(end)) if !triage.planned_maintenance => {
            u64::try_from((end - start).whole_minutes()).unwrap_or(0)
        }
        _ => 0,
    };
    LinkedFacts {
        outage_minutes: minutes,
        users_affected_percent: triage.users_affected_percent,
        direct_loss_eur: triage.estimated_direct_loss_eur,
    }
}

/// The events a triage adds about obligations: new ones arise (due frozen from now on),
/// pending ones the facts no longer call for fall away with a reason, met ones are never
/// touched; decisions not to notify and the significance finding are documented once.
fn obligation_events(
    incident: &Incident,
    triage: &Triage,
    context: &ClockContext,
    now: OffsetDateTime,
) -> Vec<IncidentEvent> {
    let facts = clock_facts(incident, triage, context.linked.clone());
    let assessment = clocks::assess(&facts, &context.contracts, &context.config, now);
    let mut events = Vec::new();
    let clocks_sha256 = context.config.sha256();
    let existing = |id: &str| incident.obligations.iter().find(|o| o.obligation_id == id);
    for spec in &assessment.obligations {
        let arises = existing(&spec.id).is_none_or(|o| o.status == obligation_status::NOT_REQUIRED);
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
        .filter(|o| o.status == obligation_status::PENDING)
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

fn pending_obligation<'a>(incident: &'a Incident, id: &str) -> Result<&'a Obligation, DomainError> {
    let obligation = incident
        .obligations
        .iter()
        .find(|o| o.obligation_id == id)
        .ok_or_else(|| {
            DomainError::invalid("obligation_id", "no such obligation on this incident")
        })?;
    if obligation.status == obligation_status::PENDING {
        Ok(obligation)
    } else {
        Err(DomainError::Precondition(format!(
            "obligation {id} is already {}",
            obligation.status
        )))
    }
}

fn record_notification(
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
        .ok_or_else(|| DomainError::invalid("sent_at", "required"))?;
    if sent_at > now {
        return Err(DomainError::invalid("sent_at", "must not be in the future"));
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
            return Err(DomainError::invalid(
                "delay_reason",
                format!("sent after the due time {due}: a reason for the delay is required"),
            ));
        }
    }
    let mut events = Vec::new();
    if sent.meets && obligation.clock == clocks::Clock::Nis2Notification.id() {
        let final_id = clocks::Clock::Nis2FinalReport.id();
        if incident
            .obligations
            .iter()
            .any(|o| o.obligation_id == final_id && o.status == obligation_status::PENDING)
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

impl Decider for IncidentDecider {
    const TYPE: AggregateType = INCIDENT;
    type State = Incident;
    type Command = IncidentCommand;
    type Event = IncidentEvent;
    type Error = DomainError;

    fn decide(
        incident: &Incident,
        command: IncidentCommand,
        now: OffsetDateTime,
    ) -> Result<Vec<IncidentEvent>, DomainError> {
        use status::*;
        if let IncidentCommand::Report(reported) = command {
            return if incident.incident_id.is_empty() {
                Ok(vec![IncidentEvent::Reported(reported)])
            } else {
                Err(DomainError::Precondition(
                    "the incident was already reported".into(),
                ))
            };
        }
        if incident.incident_id.is_empty() {
            return Err(DomainError::Precondition(
                "the incident does not exist".into(),
            ));
        }
        let state = incident.status.as_str();
        let refused = |command: &IncidentCommand| {
            Err(DomainError::Precondition(format!(
                "cannot {} an incident in state {state}",
                command.verb()
            )))
        };
        let at = Some(to_timestamp(now));
        match command {
            IncidentCommand::Report(_) => unreachable!("handled above"),
            IncidentCommand::Triage(triage, context) => match state {
                REPORTED | TRIAGED | CONTAINED | RESOLVED => {
                    let mut events = obligation_events(incident, &triage, &context, now);
                    events.insert(
                        0,
                        IncidentEvent::Triaged(IncidentTriaged {
                            triage: Some(triage),
                        }),
                    );
                    Ok(events)
                }
                _ => refused(&IncidentCommand::Triage(triage, context)),
            },
            IncidentCommand::Link(related) => {
                if related == incident.incident_id {
                    Err(DomainError::invalid(
                        "related_incident_id",
                        "an incident cannot be linked to itself",
                    ))
                } else if incident.linked_incident_ids.contains(&related) {
                    Ok(Vec::new())
                } else {
                    Ok(vec![IncidentEvent::Linked(IncidentLinked {
                        related_incident_id: related,
                    })])
                }
            }
            IncidentCommand::Contain(note) => match state {
                TRIAGED => Ok(vec![IncidentEvent::Contained(IncidentContained {
                    at,
                    note,
                })]),
                _ => refused(&IncidentCommand::Contain(note)),
            },
            IncidentCommand::Resolve(note) => match state {
                TRIAGED | CONTAINED => {
                    Ok(vec![IncidentEvent::Resolved(IncidentResolved { at, note })])
                }
                _ => refused(&IncidentCommand::Resolve(note)),
            },
            IncidentCommand::Review {
                root_cause,
                lessons_learned,
            } => match state {
                CONTAINED | RESOLVED => Ok(vec![IncidentEvent::Reviewed(PostIncidentReviewed {
                    root_cause,
                    lessons_learned,
                })]),
                _ => refused(&IncidentCommand::Review {
                    root_cause,
                    lessons_learned,
                }),
            },
            IncidentCommand::Close => match state {
                RESOLVED => {
                    let missing = closing_blockers(incident);
                    if missing.is_empty() {
                        Ok(vec![IncidentEvent::Closed(IncidentClosed { at })])
                    } else {
                        Err(DomainError::Precondition(format!(
                            "cannot close yet: missing {}",
                            missing.join(", ")
                        )))
                    }
                }
                _ => refused(&IncidentCommand::Close),
            },
            IncidentCommand::Reject(reason) => match state {
                REPORTED | TRIAGED => {
                    Ok(vec![IncidentEvent::Rejected(IncidentRejected { reason })])
                }
                _ => refused(&IncidentCommand::Reject(reason)),
            },
            IncidentCommand::Reopen(reason) => match state {
                CLOSED | REJECTED => Ok(vec![IncidentEvent::Reopened(IncidentReopened { reason })]),
                _ => refused(&IncidentCommand::Reopen(reason)),
            },
            IncidentCommand::AddAction(added) => match state {
                CLOSED | REJECTED => refused(&IncidentCommand::AddAction(added)),
                _ if incident
                    .actions
                    .iter()
                    .any(|a| a.action_id == added.action_id) =>
                {
                    Ok(Vec::new())
                }
                _ => Ok(vec![IncidentEvent::ActionAdded(added)]),
            },
            IncidentCommand::CompleteAction {
                action_id,
                evidence,
            } => {
                if matches!(state, CLOSED | REJECTED) {
                    return refused(&IncidentCommand::CompleteAction {
                        action_id,
                        evidence,
                    });
                }
                open_action(incident, &action_id)?;
                Ok(vec![IncidentEvent::ActionCompleted(ActionCompleted {
                    action_id,
                    evidence,
                })])
            }
            IncidentCommand::AcceptRisk(accepted) => {
                if matches!(state, CLOSED | REJECTED) {
                    return refused(&IncidentCommand::AcceptRisk(accepted));
                }
                open_action(incident, &accepted.action_id)?;
                Ok(vec![IncidentEvent::ActionRiskAccepted(accepted)])
            }
            IncidentCommand::RecordNotification(notification) => {
                if state == REJECTED {
                    return refused(&IncidentCommand::RecordNotification(notification));
                }
                record_notification(incident, *notification, now)
            }
            IncidentCommand::Waive(waived) => {
                if state == REJECTED {
                    return refused(&IncidentCommand::Waive(waived));
                }
                if waived.reason.trim().is_empty() {
                    return Err(DomainError::invalid("reason", "a waiver needs a reason"));
                }
                pending_obligation(incident, &waived.obligation_id)?;
                Ok(vec![IncidentEvent::ObligationWaived(waived)])
            }
        }
    }

    fn evolve(mut incident: Incident, event: &IncidentEvent) -> Incident {
        apply(&mut incident, event);
        incident
    }
}

#[cfg(test)]
mod tests;
