//! The reminder aggregate: issued once, delivered per (channel, target) with every attempt
//! recorded, acknowledged by its recipients. Pure.

use std::collections::{BTreeMap, BTreeSet};

use tillit_kernel::{AggregateId, AggregateType, Decider, TenantId};
use tillit_proto::reporting::{
    DeliveryAbandoned, DeliveryAttempted, ReminderAcknowledged, ReminderIssued,
};
use time::OffsetDateTime;

tillit_kernel::event_enum! {
    /// Events of a reminder.
    pub enum ReminderEvent {
        /// Issued once for its (kind, item, due time, stage).
        Issued(ReminderIssued),
        /// One delivery attempt.
        Attempted(DeliveryAttempted),
        /// Delivery to a target given up.
        Abandoned(DeliveryAbandoned),
        /// A recipient acknowledged it.
        Acknowledged(ReminderAcknowledged),
    }
}

/// How delivery to one (channel, target) stands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeliveryState {
    /// Attempts made.
    pub attempts: u32,
    /// The receiver accepted it.
    pub delivered: bool,
    /// Given up.
    pub abandoned: bool,
    /// The last attempt's outcome.
    pub last_outcome: String,
}

impl DeliveryState {
    /// Delivered or given up: nothing more to do.
    pub fn finished(&self) -> bool {
        self.delivered || self.abandoned
    }
}

/// A reminder as its events left it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReminderState {
    /// What was issued.
    pub issued: Option<ReminderIssued>,
    /// Per (channel, target).
    pub deliveries: BTreeMap<(String, String), DeliveryState>,
    /// Recipients who acknowledged it.
    pub acknowledged: BTreeSet<String>,
}

impl ReminderState {
    /// How delivery on `channel` to `target` stands (not begun when never attempted).
    pub fn delivery(&self, channel: &str, target: &str) -> DeliveryState {
        self.deliveries
            .get(&(channel.to_owned(), target.to_owned()))
            .cloned()
            .unwrap_or_default()
    }
}

/// What can be done with a reminder.
#[derive(Clone, Debug, PartialEq)]
pub enum ReminderCommand {
    /// Issue it (nothing happens when it already was).
    Issue(ReminderIssued),
    /// Record one delivery attempt; the decider numbers it.
    RecordAttempt {
        /// "webhook" or "email".
        channel: String,
        /// Webhook name or e-mail address.
        target: String,
        /// Accepted by the receiver.
        succeeded: bool,
        /// What happened.
        outcome: String,
        /// The delivery id the receiver saw.
        delivery_id: String,
    },
    /// Give up on a target.
    Abandon {
        /// "webhook" or "email".
        channel: String,
        /// Webhook name or e-mail address.
        target: String,
    },
    /// A recipient saw it.
    Acknowledge {
        /// The recipient who acknowledges it.
        user_id: String,
    },
}

/// Why a reminder command is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReminderError {
    /// No such reminder, or the caller is not among its recipients.
    #[error("reminder not found")]
    NotFound,
    /// Delivery to this target already ended (another replica finished it).
    #[error("delivery of {channel} to {target} already ended")]
    Finished {
        /// The channel of the ended delivery (its word).
        channel: String,
        /// The webhook's name or the e-mail address.
        target: String,
    },
}

impl tillit_kernel::CommandRefusal for ReminderError {}

/// The reminder decider.
pub struct Reminder;

/// The tenant every reminder lives in: reminders are for staff.
pub fn reminder_tenant() -> TenantId {
    TenantId::internal()
}

/// The reminder id of (kind, item, due time, stage): the same everywhere, so it is issued once.
pub fn reminder_id(kind: &str, item_id: &str, due_at: OffsetDateTime, stage: &str) -> AggregateId {
    let due = due_at.unix_timestamp();
    AggregateId::derived(
        &reminder_tenant(),
        "reminder",
        &format!("{kind}\u{1f}{item_id}\u{1f}{due}\u{1f}{stage}"),
    )
}

impl Decider for Reminder {
    const TYPE: AggregateType = AggregateType::new("reminder");
    type State = ReminderState;
    type Command = ReminderCommand;
    type Event = ReminderEvent;
    type Error = ReminderError;

    fn decide(
        state: &ReminderState,
        command: ReminderCommand,
        _: OffsetDateTime,
    ) -> Result<Vec<ReminderEvent>, ReminderError> {
        let Some(issued) = &state.issued else {
            return match command {
                ReminderCommand::Issue(issued) => Ok(vec![ReminderEvent::Issued(issued)]),
                _ => Err(ReminderError::NotFound),
            };
        };
        match command {
            ReminderCommand::Issue(_) => Ok(Vec::new()),
            ReminderCommand::RecordAttempt {
                channel,
                target,
                succeeded,
                outcome,
                delivery_id,
            } => {
                let delivery = state.delivery(&channel, &target);
                if delivery.finished() {
                    return Err(ReminderError::Finished { channel, target });
                }
                Ok(vec![ReminderEvent::Attempted(DeliveryAttempted {
                    channel,
                    target,
                    attempt: delivery.attempts + 1,
                    succeeded,
                    outcome,
                    delivery_id,
                })])
            }
            ReminderCommand::Abandon { channel, target } => {
                let delivery = state.delivery(&channel, &target);
                if delivery.finished() {
                    return Ok(Vec::new());
                }
                Ok(vec![ReminderEvent::Abandoned(DeliveryAbandoned {
                    channel,
                    target,
                    attempts: delivery.attempts,
                })])
            }
            ReminderCommand::Acknowledge { user_id } => {
                if !issued.recipients.iter().any(|r| r.user_id == user_id) {
                    return Err(ReminderError::NotFound);
                }
                if state.acknowledged.contains(&user_id) {
                    return Ok(Vec::new());
                }
                Ok(vec![ReminderEvent::Acknowledged(ReminderAcknowledged {
                    user_id,
                })])
            }
        }
    }

    fn evolve(mut state: ReminderState, event: &ReminderEvent) -> ReminderState {
        match event {
            ReminderEvent::Issued(issued) => state.issued = Some(issued.clone()),
            ReminderEvent::Attempted(attempt) => {
                let delivery = state
                    .deliveries
                    .entry((attempt.channel.clone(), attempt.target.clone()))
                    .or_default();
                delivery.attempts = attempt.attempt;
                delivery.delivered |= attempt.succeeded;
                delivery.last_outcome = attempt.outcome.clone();
            }
            ReminderEvent::Abandoned(abandoned) => {
                state
                    .deliveries
                    .entry((abandoned.channel.clone(), abandoned.target.clone()))
                    .or_default()
                    .abandoned = true;
            }
            ReminderEvent::Acknowledged(ack) => {
                state.acknowledged.insert(ack.user_id.clone());
            }
        }
        state
    }
}

#[cfg(test)]
mod tests {
    use tillit_proto::reporting::Recipient;
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-11-27 12:00 UTC);

    fn issued() -> ReminderIssued {
        ReminderIssued {
            reminder_id: "r".into(),
            kind: "action".into(),
            recipients: vec![Recipient {
                user_id: "u1".into(),
                email: "u1@tillit.test".into(),
                reason: "owner".into(),
            }],
            ..Default::default()
        }
    }

    fn run(
        state: ReminderState,
        command: ReminderCommand,
    ) -> (ReminderState, Result<usize, ReminderError>) {
        match Reminder::decide(&state, command, NOW) {
            Ok(events) => {
                let n = events.len();
                (events.iter().fold(state, Reminder::evolve), Ok(n))
            }
            Err(e) => (state, Err(e)),
        }
    }

    fn attempt(succeeded: bool) -> ReminderCommand {
        ReminderCommand::RecordAttempt {
            channel: "webhook".into(),
            target: "default".into(),
            succeeded,
            outcome: if succeeded { "HTTP 200" } else { "HTTP 500" }.into(),
            delivery_id: "d".into(),
        }
    }

    #[test]
    fn issuing_twice_writes_once() {
        let (state, first) = run(ReminderState::default(), ReminderCommand::Issue(issued()));
        assert_eq!(first, Ok(1));
        let (_, again) = run(state, ReminderCommand::Issue(issued()));
        assert_eq!(again, Ok(0));
    }

    #[test]
    fn attempts_are_numbered_and_nothing_follows_a_success() {
        let (state, _) = run(ReminderState::default(), ReminderCommand::Issue(issued()));
        let (state, _) = run(state, attempt(false));
        let (state, _) = run(state, attempt(false));
        let (state, _) = run(state, attempt(true));
        let delivery = &state.deliveries[&("webhook".to_owned(), "default".to_owned())];
        assert_eq!((delivery.attempts, delivery.delivered), (3, true));
        let (state, after) = run(state, attempt(true));
        assert!(matches!(after, Err(ReminderError::Finished { .. })));
        let (_, abandon) = run(
            state,
            ReminderCommand::Abandon {
                channel: "webhook".into(),
                target: "default".into(),
            },
        );
        assert_eq!(abandon, Ok(0), "a delivered target is not abandoned");
    }

    #[test]
    fn only_recipients_acknowledge_and_only_once() {
        let (state, missing) = run(
            ReminderState::default(),
            ReminderCommand::Acknowledge {
                user_id: "u1".into(),
            },
        );
        assert_eq!(missing, Err(ReminderError::NotFound));
        let (state, _) = run(state, ReminderCommand::Issue(issued()));
        let ack = |user: &str| ReminderCommand::Acknowledge {
            user_id: user.into(),
        };
        let (state, stranger) = run(state, ack("u2"));
        assert_eq!(stranger, Err(ReminderError::NotFound));
        let (state, first) = run(state, ack("u1"));
        assert_eq!(first, Ok(1));
        assert_eq!(run(state, ack("u1")).1, Ok(0));
    }

    #[test]
    fn the_id_depends_on_kind_item_due_time_and_stage() {
        let due = datetime!(2026-12-01 00:00 UTC);
        let id = reminder_id("obligation", "i/o", due, "half");
        assert_eq!(id, reminder_id("obligation", "i/o", due, "half"));
        assert_ne!(id, reminder_id("obligation", "i/o", due, "ninety"));
        assert_ne!(
            id,
            reminder_id("obligation", "i/o", due + time::Duration::hours(1), "half")
        );
        assert_ne!(id, reminder_id("action", "i/o", due, "half"));
    }
}
