//! The incident aggregate (INCIDENTS stream, `tillit.incidents.<reporter tenant>.incident.<id>`).
//!
//! Its state is the API's own `Incident` message, folded by [`apply`] (in
//! `tillit-incidents-views`) — shared by the decider and the register projections of
//! incidents and reporting.
//!
//! - this module: the commands and the decider's state machine;
//! - [`obligations`]: the legal and contractual obligations a triage gives rise to, and
//!   recording a notification against one;
//! - [`fold`]: what the folded state says (what blocks closing, whether an action or
//!   obligation is still open).
//!
//! The life cycle:
//!
//! ```text
//! reported ─triage─▶ triaged ─contain─▶ contained ─resolve─▶ resolved ─close─▶ closed
//!     │                 │ └──────────resolve──────────────────▲              │
//!     └─reject─▶ rejected ◀─reject─┘                              reopen ◀────┘ (also from rejected)
//! ```
//! Re-triage is allowed until closure; the post-incident review is recorded once contained
//! or resolved; closing needs root cause, lessons learned and every action completed or
//! its risk accepted.

mod fold;
mod obligations;

use std::collections::BTreeMap;

use tillit_kernel::Reason;
use tillit_kernel::clock::to_timestamp;
use tillit_kernel::{AggregateType, Decider};
use tillit_proto::Vocabulary as _;
use tillit_proto::incidents::IncidentStatus;
use tillit_proto::incidents::{
    ActionAdded, ActionCompleted, ActionRiskAccepted, Incident, IncidentClosed, IncidentContained,
    IncidentLinked, IncidentRejected, IncidentReopened, IncidentReported, IncidentResolved,
    IncidentTriaged, NotificationRecorded, ObligationWaived, PostIncidentReviewed,
    TriageAssessment,
};
use tillit_rules::clocks::{ClockConfig, ContractHours, LinkedFacts};
use time::OffsetDateTime;

use super::DomainError;
pub use fold::closing_blockers;
use fold::{open_action, pending_obligation};
use obligations::{obligation_events, record_notification};

pub use tillit_incidents_views::incident::{INCIDENT, IncidentEvent, apply};

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
    Triage(TriageAssessment, Box<ClockContext>),
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
        /// What shows the action is done.
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
        use IncidentStatus::{Closed, Contained, Rejected, Reported, Resolved, Triaged};
        if let IncidentCommand::Report(reported) = command {
            return if incident.incident_id.is_empty() {
                Ok(vec![IncidentEvent::Reported(reported)])
            } else {
                Err(DomainError::Precondition(format!(
                    "incident {} was already reported",
                    incident.incident_id
                )))
            };
        }
        if incident.incident_id.is_empty() {
            return Err(DomainError::Precondition(
                "the incident does not exist".into(),
            ));
        }
        let state = incident.status();
        let refused = |command: &IncidentCommand| {
            Err(DomainError::Precondition(format!(
                "incident {} is {}: cannot {} it",
                incident.incident_id,
                state.word(),
                command.verb()
            )))
        };
        let at = Some(to_timestamp(now));
        match command {
            IncidentCommand::Report(_) => unreachable!("handled above"),
            IncidentCommand::Triage(triage, context) => match state {
                Reported | Triaged | Contained | Resolved => {
                    let mut events = obligation_events(incident, &triage, &context, now);
                    events.insert(
                        0,
                        IncidentEvent::Triaged(IncidentTriaged {
                            triage: Some(tillit_incidents_views::convert::triage(&triage)),
                        }),
                    );
                    Ok(events)
                }
                _ => refused(&IncidentCommand::Triage(triage, context)),
            },
            IncidentCommand::Link(related) => {
                if related == incident.incident_id {
                    Err(DomainError::refused(
                        "related_incident_id",
                        Reason::Conflict,
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
                Triaged => Ok(vec![IncidentEvent::Contained(IncidentContained {
                    at,
                    note,
                })]),
                _ => refused(&IncidentCommand::Contain(note)),
            },
            IncidentCommand::Resolve(note) => match state {
                Triaged | Contained => {
                    Ok(vec![IncidentEvent::Resolved(IncidentResolved { at, note })])
                }
                _ => refused(&IncidentCommand::Resolve(note)),
            },
            IncidentCommand::Review {
                root_cause,
                lessons_learned,
            } => match state {
                Contained | Resolved => Ok(vec![IncidentEvent::Reviewed(PostIncidentReviewed {
                    root_cause,
                    lessons_learned,
                })]),
                _ => refused(&IncidentCommand::Review {
                    root_cause,
                    lessons_learned,
                }),
            },
            IncidentCommand::Close => match state {
                Resolved => {
                    let missing = closing_blockers(incident);
                    if missing.is_empty() {
                        Ok(vec![IncidentEvent::Closed(IncidentClosed { at })])
                    } else {
                        let words: Vec<&str> =
                            missing.iter().map(|c| c.description.as_str()).collect();
                        Err(DomainError::Unmet {
                            message: format!(
                                "incident {} cannot close yet: missing {}",
                                incident.incident_id,
                                words.join(", ")
                            ),
                            conditions: missing,
                        })
                    }
                }
                _ => refused(&IncidentCommand::Close),
            },
            IncidentCommand::Reject(reason) => match state {
                Reported | Triaged => {
                    Ok(vec![IncidentEvent::Rejected(IncidentRejected { reason })])
                }
                _ => refused(&IncidentCommand::Reject(reason)),
            },
            IncidentCommand::Reopen(reason) => match state {
                Closed | Rejected => Ok(vec![IncidentEvent::Reopened(IncidentReopened { reason })]),
                _ => refused(&IncidentCommand::Reopen(reason)),
            },
            IncidentCommand::AddAction(added) => match state {
                Closed | Rejected => refused(&IncidentCommand::AddAction(added)),
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
                if matches!(state, Closed | Rejected) {
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
                if matches!(state, Closed | Rejected) {
                    return refused(&IncidentCommand::AcceptRisk(accepted));
                }
                open_action(incident, &accepted.action_id)?;
                Ok(vec![IncidentEvent::ActionRiskAccepted(accepted)])
            }
            IncidentCommand::RecordNotification(notification) => {
                if state == Rejected {
                    return refused(&IncidentCommand::RecordNotification(notification));
                }
                record_notification(incident, *notification, now)
            }
            IncidentCommand::Waive(waived) => {
                if state == Rejected {
                    return refused(&IncidentCommand::Waive(waived));
                }
                if waived.reason.trim().is_empty() {
                    return Err(DomainError::refused(
                        "reason",
                        Reason::Required,
                        "a waiver needs a reason",
                    ));
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
