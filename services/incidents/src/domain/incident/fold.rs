//! What the folded incident says: what still blocks closing, and whether the action or
//! obligation a command names is still open. The fold itself ([`super::apply`]) lives in
//! `tillit-incidents-views`, shared with the register projections.

use tillit_api::Condition;
use tillit_kernel::Reason;
use tillit_proto::incidents::{Action, Incident, Obligation};

use crate::domain::DomainError;
use tillit_proto::Vocabulary as _;
use tillit_proto::incidents::{ActionStatus, ObligationStatus};

pub(super) fn open_action<'a>(
    incident: &'a Incident,
    action_id: &str,
) -> Result<&'a Action, DomainError> {
    let action = incident
        .actions
        .iter()
        .find(|a| a.action_id == action_id)
        .ok_or_else(|| {
            DomainError::refused(
                "action_id",
                Reason::UnknownReference,
                "no such action on this incident",
            )
        })?;
    if action.status() == ActionStatus::Open {
        Ok(action)
    } else {
        Err(DomainError::Precondition(format!(
            "action {:?} is already {}",
            action.title,
            action.status().word()
        )))
    }
}

/// What still stands in the way of closing, each with its documented code and subject;
/// empty when nothing does.
pub fn closing_blockers(incident: &Incident) -> Vec<Condition> {
    let id = &incident.incident_id;
    let mut missing = Vec::new();
    if incident.root_cause.trim().is_empty() {
        missing.push(Condition {
            kind: "ROOT_CAUSE_MISSING",
            subject: format!("incident/{id}"),
            description: "the root cause".to_owned(),
        });
    }
    if incident.lessons_learned.trim().is_empty() {
        missing.push(Condition {
            kind: "LESSONS_LEARNED_MISSING",
            subject: format!("incident/{id}"),
            description: "the lessons learned".to_owned(),
        });
    }
    for action in incident
        .actions
        .iter()
        .filter(|a| a.status() == ActionStatus::Open)
    {
        missing.push(Condition {
            kind: "ACTION_OPEN",
            subject: format!("action/{}", action.action_id),
            description: format!("open action {:?} ({})", action.title, action.action_id),
        });
    }
    for obligation in incident
        .obligations
        .iter()
        .filter(|o| o.status() == ObligationStatus::Pending)
    {
        missing.push(Condition {
            kind: "OBLIGATION_PENDING",
            subject: format!("obligation/{}", obligation.obligation_id),
            description: format!(
                "pending obligation {} ({} to {})",
                obligation.obligation_id, obligation.article, obligation.recipient
            ),
        });
    }
    missing
}

/// The obligation `id` of the incident if it is still pending.
pub(super) fn pending_obligation<'a>(
    incident: &'a Incident,
    id: &str,
) -> Result<&'a Obligation, DomainError> {
    let obligation = incident
        .obligations
        .iter()
        .find(|o| o.obligation_id == id)
        .ok_or_else(|| {
            DomainError::refused(
                "obligation_id",
                Reason::UnknownReference,
                "no such obligation on this incident",
            )
        })?;
    if obligation.status() == ObligationStatus::Pending {
        Ok(obligation)
    } else {
        Err(DomainError::Precondition(format!(
            "obligation {id} is already {}",
            obligation.status().word()
        )))
    }
}
