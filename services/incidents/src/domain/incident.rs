//! The incident aggregate (INCIDENTS stream, `tillit.incidents.<reporter tenant>.incident.<id>`).
//!
//! Its state is the API's own `Incident` message, folded by [`apply`] — shared by the
//! decider and the projection. The life cycle:
//!
//! ```text
//! reported ─triage─▶ triaged ─contain─▶ contained ─resolve─▶ resolved ─close─▶ closed
//!     │                 │ └──────────resolve──────────────────▲              │
//!     └─reject─▶ rejected ◀─reject─┘                              reopen ◀────┘ (also from rejected)
//! ```
//! Re-triage is allowed until closure; the post-incident review is recorded once contained
//! or resolved; closing needs root cause, lessons learned and every action completed or
//! its risk accepted.

use tillit_kernel::clock::to_timestamp;
use tillit_kernel::{AggregateType, Decider};
use tillit_proto::incidents::{
    Action, ActionAdded, ActionCompleted, ActionRiskAccepted, Incident, IncidentClosed,
    IncidentContained, IncidentLinked, IncidentRejected, IncidentReopened, IncidentReported,
    IncidentResolved, IncidentTriaged, PostIncidentReviewed, Triage,
};
use time::OffsetDateTime;

use super::DomainError;

tillit_kernel::event_enum! {
    /// Events of an incident.
    pub enum IncidentEvent {
        /// Reported.
        Reported(IncidentReported),
        /// Triaged.
        Triaged(IncidentTriaged),
        /// Linked to a related incident.
        Linked(IncidentLinked),
        /// Contained.
        Contained(IncidentContained),
        /// Resolved.
        Resolved(IncidentResolved),
        /// Post-incident review.
        Reviewed(PostIncidentReviewed),
        /// Closed.
        Closed(IncidentClosed),
        /// Rejected.
        Rejected(IncidentRejected),
        /// Reopened.
        Reopened(IncidentReopened),
        /// Corrective action added.
        ActionAdded(ActionAdded),
        /// Corrective action completed.
        ActionCompleted(ActionCompleted),
        /// Residual risk accepted.
        ActionRiskAccepted(ActionRiskAccepted),
    }
}

/// Statuses.
pub mod status {
    /// Reported, not yet triaged.
    pub const REPORTED: &str = "reported";
    /// Triaged.
    pub const TRIAGED: &str = "triaged";
    /// Contained.
    pub const CONTAINED: &str = "contained";
    /// Resolved.
    pub const RESOLVED: &str = "resolved";
    /// Closed.
    pub const CLOSED: &str = "closed";
    /// Rejected.
    pub const REJECTED: &str = "rejected";
}

/// Action statuses.
pub mod action_status {
    /// To do.
    pub const OPEN: &str = "open";
    /// Done.
    pub const COMPLETED: &str = "completed";
    /// Not done; the residual risk was accepted.
    pub const RISK_ACCEPTED: &str = "risk_accepted";
}

/// Commands on an incident.
#[derive(Clone, Debug, PartialEq)]
pub enum IncidentCommand {
    /// Report it.
    Report(IncidentReported),
    /// Triage it (again).
    Triage(Triage),
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
}

impl IncidentCommand {
    fn verb(&self) -> &'static str {
        match self {
            Self::Report(_) => "report",
            Self::Triage(_) => "triage",
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
    missing
}

impl Decider for IncidentDecider {
    const TYPE: AggregateType = AggregateType::new("incident");
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
            IncidentCommand::Triage(triage) => match state {
                REPORTED | TRIAGED | CONTAINED | RESOLVED => {
                    Ok(vec![IncidentEvent::Triaged(IncidentTriaged {
                        triage: Some(triage),
                    })])
                }
                _ => refused(&IncidentCommand::Triage(triage)),
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
        }
    }

    fn evolve(mut incident: Incident, event: &IncidentEvent) -> Incident {
        apply(&mut incident, event);
        incident
    }
}

/// Folds one event into the incident.
pub fn apply(incident: &mut Incident, event: &IncidentEvent) {
    use status::*;
    match event {
        IncidentEvent::Reported(e) => {
            incident.incident_id = e.incident_id.clone();
            incident.tenant_id = e.reporter_tenant_id.clone();
            incident.kind = e.kind.clone();
            incident.title = e.title.clone();
            incident.description = e.description.clone();
            incident.reporter = e.reporter.clone();
            incident.detected_at = e.detected_at;
            incident.aware_at = e.aware_at;
            incident.status = REPORTED.into();
        }
        IncidentEvent::Triaged(e) => {
            incident.triage = e.triage.clone();
            if incident.status == REPORTED {
                incident.status = TRIAGED.into();
            }
        }
        IncidentEvent::Linked(e) => incident
            .linked_incident_ids
            .push(e.related_incident_id.clone()),
        IncidentEvent::Contained(e) => {
            incident.status = CONTAINED.into();
            incident.contained_at = e.at;
        }
        IncidentEvent::Resolved(e) => {
            incident.status = RESOLVED.into();
            incident.resolved_at = e.at;
        }
        IncidentEvent::Reviewed(e) => {
            incident.root_cause = e.root_cause.clone();
            incident.lessons_learned = e.lessons_learned.clone();
        }
        IncidentEvent::Closed(e) => {
            incident.status = CLOSED.into();
            incident.closed_at = e.at;
        }
        IncidentEvent::Rejected(e) => {
            incident.status = REJECTED.into();
            incident.reason = e.reason.clone();
        }
        IncidentEvent::Reopened(e) => {
            incident.status = if incident.triage.is_some() {
                TRIAGED
            } else {
                REPORTED
            }
            .into();
            incident.closed_at = None;
            incident.reason = e.reason.clone();
        }
        IncidentEvent::ActionAdded(e) => incident.actions.push(Action {
            action_id: e.action_id.clone(),
            title: e.title.clone(),
            owner_user_id: e.owner_user_id.clone(),
            due_at: e.due_at,
            status: action_status::OPEN.into(),
            resolution: String::new(),
        }),
        IncidentEvent::ActionCompleted(e) => {
            if let Some(action) = incident
                .actions
                .iter_mut()
                .find(|a| a.action_id == e.action_id)
            {
                action.status = action_status::COMPLETED.into();
                action.resolution = e.evidence.clone();
            }
        }
        IncidentEvent::ActionRiskAccepted(e) => {
            if let Some(action) = incident
                .actions
                .iter_mut()
                .find(|a| a.action_id == e.action_id)
            {
                action.status = action_status::RISK_ACCEPTED.into();
                action.resolution = e.reason.clone();
            }
        }
    }
}

#[cfg(test)]
mod tests;
