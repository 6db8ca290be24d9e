//! Policy documents and their acknowledgements (G4).
//!
//! A policy (IDENTITY, tenant `internal`, id = slug) has numbered versions; each carries
//! the SHA-256 of its text, so an acknowledgement names exactly what was read. An
//! acknowledgement (id derived from user and policy) records the version and hash it
//! acknowledged, copied from the policy when it was made. Coverage — who has not
//! acknowledged the current version within 12 months — is computed by [`coverage`].

use sha2::{Digest, Sha256};
use tillit_kernel::clock::{from_timestamp, to_timestamp};
use tillit_kernel::{AggregateType, Decider};
use tillit_proto::identity::{PolicyAcknowledged, PolicyVersionPublished};
use time::OffsetDateTime;

use super::DomainError;

pub use tillit_identity_views::events::{
    AcknowledgementEvent, POLICY, POLICY_ACKNOWLEDGEMENT, PolicyEvent,
};
pub use tillit_identity_views::standing::{ACKNOWLEDGEMENT_MONTHS, Standing, add_months, coverage};

/// Publish a version.
#[derive(Clone, Debug)]
pub struct Publish {
    /// Policy id.
    pub policy_id: String,
    /// The policy's title as published.
    pub title: String,
    /// Markdown text.
    pub text: String,
}

/// The versions published so far.
#[derive(Default, Debug, Clone)]
pub struct PolicyState {
    /// Oldest first.
    pub versions: Vec<PolicyVersionPublished>,
}

impl PolicyState {
    /// The current version.
    pub fn current(&self) -> Option<&PolicyVersionPublished> {
        self.versions.last()
    }
}

/// Hex SHA-256 of a policy text.
pub fn text_sha256(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The policy decider.
pub struct Policy;

impl Decider for Policy {
    const TYPE: AggregateType = POLICY;
    type State = PolicyState;
    type Command = Publish;
    type Event = PolicyEvent;
    type Error = DomainError;

    fn decide(
        state: &PolicyState,
        command: Publish,
        now: OffsetDateTime,
    ) -> Result<Vec<PolicyEvent>, DomainError> {
        let sha = text_sha256(&command.text);
        if let Some(current) = state.current()
            && current.text_sha256 == sha
            && current.title == command.title
        {
            return Err(DomainError::Precondition(format!(
                "version {} already has this title and text",
                current.version
            )));
        }
        Ok(vec![PolicyEvent::Published(PolicyVersionPublished {
            policy_id: command.policy_id,
            version: u32::try_from(state.versions.len() + 1).unwrap_or(u32::MAX),
            title: command.title,
            text: command.text,
            text_sha256: sha,
            published_at: Some(to_timestamp(now)),
        })])
    }

    fn evolve(mut state: PolicyState, event: &PolicyEvent) -> PolicyState {
        let PolicyEvent::Published(published) = event;
        state.versions.push(published.clone());
        state
    }
}

/// Acknowledge the version described (copied from the policy by the caller).
#[derive(Clone, Debug)]
pub struct Acknowledge {
    /// The acknowledgement; its time is filled from the clock.
    pub acknowledged: PolicyAcknowledged,
}

/// The acknowledgements made so far.
#[derive(Default, Debug, Clone)]
pub struct AcknowledgementState {
    /// The latest.
    pub latest: Option<PolicyAcknowledged>,
}

/// The acknowledgement decider. Every acknowledgement is a fact worth keeping (it renews
/// the 12 months), except an immediate repeat of the same version on the same day.
pub struct Acknowledgement;

impl Decider for Acknowledgement {
    const TYPE: AggregateType = POLICY_ACKNOWLEDGEMENT;
    type State = AcknowledgementState;
    type Command = Acknowledge;
    type Event = AcknowledgementEvent;
    type Error = DomainError;

    fn decide(
        state: &AcknowledgementState,
        command: Acknowledge,
        now: OffsetDateTime,
    ) -> Result<Vec<AcknowledgementEvent>, DomainError> {
        let same_day_repeat = state.latest.as_ref().is_some_and(|latest| {
            latest.version == command.acknowledged.version
                && latest
                    .acknowledged_at
                    .as_ref()
                    .and_then(from_timestamp)
                    .is_some_and(|at| now - at < time::Duration::days(1))
        });
        if same_day_repeat {
            return Ok(Vec::new());
        }
        Ok(vec![AcknowledgementEvent::Acknowledged(
            PolicyAcknowledged {
                acknowledged_at: Some(to_timestamp(now)),
                ..command.acknowledged
            },
        )])
    }

    fn evolve(_state: AcknowledgementState, event: &AcknowledgementEvent) -> AcknowledgementState {
        let AcknowledgementEvent::Acknowledged(e) = event;
        AcknowledgementState {
            latest: Some(e.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn months_end_on_the_same_day_or_the_last_day_of_a_shorter_month() {
        assert_eq!(
            add_months(datetime!(2026-01-31 10:00 UTC), 1),
            datetime!(2026-02-28 10:00 UTC)
        );
        assert_eq!(
            add_months(datetime!(2024-02-29 08:30 UTC), 12),
            datetime!(2025-02-28 08:30 UTC)
        );
        assert_eq!(
            add_months(datetime!(2026-11-27 12:00 UTC), 12),
            datetime!(2027-11-27 12:00 UTC)
        );
        assert_eq!(
            add_months(datetime!(2026-12-15 00:00 UTC), 1),
            datetime!(2027-01-15 00:00 UTC)
        );
    }

    #[test]
    fn g4_an_old_version_or_an_acknowledgement_older_than_twelve_months_counts_as_missing() {
        let published = datetime!(2026-06-01 09:00 UTC);
        let now = datetime!(2026-11-27 12:00 UTC);
        let standings = coverage(
            (2, published),
            [
                (
                    "fresh".to_owned(),
                    Some((2, datetime!(2026-06-02 10:00 UTC))),
                ),
                (
                    "old-version".to_owned(),
                    Some((1, datetime!(2026-05-01 10:00 UTC))),
                ),
                ("never".to_owned(), None),
            ],
            now,
        );
        let since: Vec<_> = standings.iter().map(|s| s.outstanding_since).collect();
        assert_eq!(since, vec![None, Some(published), Some(published)]);

        let a_year_later = datetime!(2027-06-02 10:00 UTC);
        let expired = coverage(
            (2, published),
            [(
                "fresh".to_owned(),
                Some((2, datetime!(2026-06-02 10:00 UTC))),
            )],
            a_year_later,
        );
        assert_eq!(
            expired[0].outstanding_since,
            Some(a_year_later),
            "missing from the day it turned 12 months old"
        );
    }

    #[test]
    fn a_new_version_gets_the_next_number_and_the_same_text_is_not_republished() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let publish = |text: &str| Publish {
            policy_id: "p".into(),
            title: "T".into(),
            text: text.into(),
        };
        let v1 = Policy::decide(&PolicyState::default(), publish("one"), now).unwrap();
        let state = v1.iter().fold(PolicyState::default(), Policy::evolve);
        assert!(Policy::decide(&state, publish("one"), now).is_err());
        let v2 = Policy::decide(&state, publish("two"), now).unwrap();
        let PolicyEvent::Published(e) = &v2[0];
        assert_eq!((e.version, e.text_sha256.clone()), (2, text_sha256("two")));
    }
}
