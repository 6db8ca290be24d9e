//! Access-review campaigns (P4): a security officer starts one for a tenant or all; its
//! items — one per (user, role) grant and one per service account — are fixed at the
//! start; a reviewer confirms or revokes each; the campaign completes with the last
//! decision. Taking the access away is done by the caller on the user or service account
//! before the decision is recorded, so a recorded "revoked" is always true.

use std::collections::BTreeMap;

use tillit_kernel::Reason;
use tillit_kernel::clock::to_timestamp;
use tillit_kernel::{AggregateType, Decider};
use tillit_proto::Vocabulary as _;
use tillit_proto::identity::AccessDecision;
use tillit_proto::identity::{
    AccessReviewCompleted, AccessReviewItem, AccessReviewItemDecided, AccessReviewStarted,
};
use time::OffsetDateTime;

use super::DomainError;

pub use tillit_identity_views::events::{ACCESS_REVIEW, AccessReviewEvent};

/// A reviewer's decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// The access stays.
    Confirm,
    /// The access is taken away.
    Revoke,
}

impl Decision {
    /// The decision a request names (required).
    pub fn parse(raw: i32) -> Result<Self, DomainError> {
        match tillit_api::vocabulary::required("decision", raw)? {
            AccessDecision::Confirmed => Ok(Self::Confirm),
            AccessDecision::Revoked => Ok(Self::Revoke),
            AccessDecision::Unspecified => unreachable!("required refuses it"),
        }
    }

    /// The recorded word.
    pub fn recorded(self) -> &'static str {
        match self {
            Self::Confirm => AccessDecision::Confirmed,
            Self::Revoke => AccessDecision::Revoked,
        }
        .word()
    }
}

/// Commands on a campaign.
#[derive(Clone, Debug)]
pub enum AccessReviewCommand {
    /// Start it.
    Start(AccessReviewStarted),
    /// Decide an item.
    Decide {
        /// Item id.
        item_id: String,
        /// The decision.
        decision: Decision,
        /// The reviewer's subject.
        reviewer: String,
        /// The reviewer's reason, recorded with the decision.
        reason: String,
    },
}

/// What the rules know of a campaign.
#[derive(Default, Debug, Clone)]
pub struct AccessReviewState {
    /// Its start.
    pub started: Option<AccessReviewStarted>,
    /// Decisions by item id.
    pub decisions: BTreeMap<String, String>,
    /// Whether it completed.
    pub completed: bool,
}

impl AccessReviewState {
    /// The item with this id.
    pub fn item(&self, item_id: &str) -> Option<&AccessReviewItem> {
        self.started
            .as_ref()?
            .items
            .iter()
            .find(|i| i.item_id == item_id)
    }
}

/// The campaign decider.
pub struct AccessReview;

impl Decider for AccessReview {
    const TYPE: AggregateType = ACCESS_REVIEW;
    type State = AccessReviewState;
    type Command = AccessReviewCommand;
    type Event = AccessReviewEvent;
    type Error = DomainError;

    fn decide(
        state: &AccessReviewState,
        command: AccessReviewCommand,
        now: OffsetDateTime,
    ) -> Result<Vec<AccessReviewEvent>, DomainError> {
        let completed = || {
            AccessReviewEvent::Completed(AccessReviewCompleted {
                completed_at: Some(to_timestamp(now)),
            })
        };
        match command {
            AccessReviewCommand::Start(_) if state.started.is_some() => {
                Err(DomainError::AlreadyExists("access review"))
            }
            AccessReviewCommand::Start(started) => {
                let empty = started.items.is_empty();
                let mut events = vec![AccessReviewEvent::Started(started)];
                if empty {
                    events.push(completed());
                }
                Ok(events)
            }
            AccessReviewCommand::Decide {
                item_id,
                decision,
                reviewer,
                reason,
            } => {
                if state.item(&item_id).is_none() {
                    return Err(DomainError::refused(
                        "item_id",
                        Reason::UnknownReference,
                        "no such item in this campaign",
                    ));
                }
                match state.decisions.get(&item_id) {
                    Some(made) if made == decision.recorded() => return Ok(Vec::new()),
                    Some(made) => {
                        return Err(DomainError::Precondition(format!(
                            "the item was already {made}"
                        )));
                    }
                    None => {}
                }
                let total = state.started.as_ref().map_or(0, |s| s.items.len());
                let mut events = vec![AccessReviewEvent::ItemDecided(AccessReviewItemDecided {
                    item_id,
                    decision: decision.recorded().into(),
                    reviewer,
                    reason,
                })];
                if state.decisions.len() + 1 == total {
                    events.push(completed());
                }
                Ok(events)
            }
        }
    }

    fn evolve(mut state: AccessReviewState, event: &AccessReviewEvent) -> AccessReviewState {
        match event {
            AccessReviewEvent::Started(e) => state.started = Some(e.clone()),
            AccessReviewEvent::ItemDecided(e) => {
                state
                    .decisions
                    .insert(e.item_id.clone(), e.decision.clone());
            }
            AccessReviewEvent::Completed(_) => state.completed = true,
        }
        state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str) -> AccessReviewItem {
        AccessReviewItem {
            item_id: id.into(),
            ..Default::default()
        }
    }

    fn decide(id: &str, decision: Decision) -> AccessReviewCommand {
        AccessReviewCommand::Decide {
            item_id: id.into(),
            decision,
            reviewer: "so".into(),
            reason: String::new(),
        }
    }

    #[test]
    fn the_campaign_completes_with_the_last_decision_and_decisions_do_not_flip() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let start = AccessReviewCommand::Start(AccessReviewStarted {
            items: vec![item("a"), item("b")],
            ..Default::default()
        });
        let mut state = AccessReview::decide(&AccessReviewState::default(), start, now)
            .unwrap()
            .iter()
            .fold(AccessReviewState::default(), AccessReview::evolve);
        let first = AccessReview::decide(&state, decide("a", Decision::Revoke), now).unwrap();
        assert_eq!(first.len(), 1);
        state = first.iter().fold(state, AccessReview::evolve);
        assert!(
            AccessReview::decide(&state, decide("a", Decision::Revoke), now)
                .unwrap()
                .is_empty(),
            "a repeat changes nothing"
        );
        assert!(matches!(
            AccessReview::decide(&state, decide("a", Decision::Confirm), now),
            Err(DomainError::Precondition(_))
        ));
        assert!(matches!(
            AccessReview::decide(&state, decide("zzz", Decision::Confirm), now),
            Err(DomainError::Invalid { ref field, .. }) if field == "item_id"
        ));
        let last = AccessReview::decide(&state, decide("b", Decision::Confirm), now).unwrap();
        assert!(matches!(last.last(), Some(AccessReviewEvent::Completed(_))));
    }
}
