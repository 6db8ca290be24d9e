//! Training records: a course completed by a user, valid for a while (id derived from
//! user and course, so the history of one person's course is one aggregate).

use tillit_kernel::Reason;
use tillit_kernel::clock::to_timestamp;
use tillit_kernel::{AggregateType, Decider};
use tillit_proto::identity::TrainingRecorded;
use time::OffsetDateTime;

use super::DomainError;

pub use tillit_identity_views::events::{TRAINING, TrainingEvent};

/// Record a completion.
#[derive(Clone, Debug)]
pub struct RecordTraining {
    /// User id.
    pub user_id: String,
    /// Course id.
    pub course: String,
    /// Completed at.
    pub completed_at: OffsetDateTime,
    /// Valid until.
    pub valid_until: OffsetDateTime,
}

/// The training decider (its state is not needed to decide).
pub struct Training;

impl Decider for Training {
    const TYPE: AggregateType = TRAINING;
    type State = ();
    type Command = RecordTraining;
    type Event = TrainingEvent;
    type Error = DomainError;

    fn decide(
        _: &(),
        command: RecordTraining,
        now: OffsetDateTime,
    ) -> Result<Vec<TrainingEvent>, DomainError> {
        if command.completed_at > now {
            return Err(DomainError::refused(
                "completed_at",
                Reason::OutOfRange,
                "must not be in the future",
            ));
        }
        if command.valid_until <= command.completed_at {
            return Err(DomainError::refused(
                "valid_until",
                Reason::Conflict,
                "must be after completed_at",
            ));
        }
        Ok(vec![TrainingEvent::Recorded(TrainingRecorded {
            user_id: command.user_id,
            course: command.course,
            completed_at: Some(to_timestamp(command.completed_at)),
            valid_until: Some(to_timestamp(command.valid_until)),
        })])
    }

    fn evolve(state: (), _: &TrainingEvent) {
        state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_completion_in_the_future_or_an_empty_validity_is_refused() {
        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::days(100);
        let record = |completed: i64, valid: i64| RecordTraining {
            user_id: "u".into(),
            course: "c".into(),
            completed_at: OffsetDateTime::UNIX_EPOCH + time::Duration::days(completed),
            valid_until: OffsetDateTime::UNIX_EPOCH + time::Duration::days(valid),
        };
        assert!(matches!(
            Training::decide(&(), record(101, 200), now),
            Err(DomainError::Invalid { ref field, .. }) if field == "completed_at"
        ));
        assert!(matches!(
            Training::decide(&(), record(50, 50), now),
            Err(DomainError::Invalid { ref field, .. }) if field == "valid_until"
        ));
        assert_eq!(
            Training::decide(&(), record(50, 415), now).unwrap().len(),
            1
        );
    }
}
