//! The management-review sign-off: one per year, by a manager, recording what was reviewed
//! (positions, rule-set hash, report hash). Pure.

use tillit_kernel::{AggregateId, AggregateType, Decider, TenantId};
use tillit_proto::reporting::ManagementReviewSignedOff;
use time::OffsetDateTime;

tillit_kernel::event_enum! {
    /// Events of a year's management review.
    pub enum ReviewEvent {
        /// Signed off.
        SignedOff(ManagementReviewSignedOff),
    }
}

/// Why a sign-off is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReviewError {
    /// The year was signed off already.
    #[error("the management review of {0} is already signed off")]
    AlreadySignedOff(i32),
}

impl tillit_kernel::CommandRefusal for ReviewError {}

/// The review decider; its state is the sign-off, once there is one.
pub struct ManagementReview;

/// The aggregate id of `year`'s review.
pub fn review_id(year: i32) -> AggregateId {
    AggregateId::derived(
        &TenantId::internal(),
        "management-review",
        &year.to_string(),
    )
}

impl Decider for ManagementReview {
    const TYPE: AggregateType = AggregateType::new("management_review");
    type State = Option<ManagementReviewSignedOff>;
    type Command = ManagementReviewSignedOff;
    type Event = ReviewEvent;
    type Error = ReviewError;

    fn decide(
        state: &Option<ManagementReviewSignedOff>,
        command: ManagementReviewSignedOff,
        _: OffsetDateTime,
    ) -> Result<Vec<ReviewEvent>, ReviewError> {
        match state {
            Some(signed) => Err(ReviewError::AlreadySignedOff(signed.year)),
            None => Ok(vec![ReviewEvent::SignedOff(command)]),
        }
    }

    fn evolve(
        _: Option<ManagementReviewSignedOff>,
        event: &ReviewEvent,
    ) -> Option<ManagementReviewSignedOff> {
        match event {
            ReviewEvent::SignedOff(signed) => Some(signed.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_year_is_signed_off_once() {
        let signed = ManagementReviewSignedOff {
            year: 2026,
            ..Default::default()
        };
        let now = OffsetDateTime::UNIX_EPOCH;
        let events = ManagementReview::decide(&None, signed.clone(), now).unwrap();
        let state = events.iter().fold(None, ManagementReview::evolve);
        assert_eq!(
            ManagementReview::decide(&state, signed, now),
            Err(ReviewError::AlreadySignedOff(2026))
        );
        assert_ne!(review_id(2026), review_id(2025));
    }
}
