//! Erasure of a data subject (GDPR Art. 17): asked for by one person, approved by another.
//! The approval's event is what every service redoes key destruction from after a restore;
//! legal holds are checked by the API before either step (they need other contexts' data).

use tillit_kernel::clock::to_timestamp;
use tillit_kernel::{AggregateType, Decider};
use tillit_proto::identity::{DataSubjectErased, ErasureRequested};
use time::OffsetDateTime;

use super::DomainError;

pub use tillit_identity_views::events::{ERASURE, ErasureEvent};

/// What an erasure request knows.
#[derive(Clone, Debug, Default)]
pub struct ErasureState {
    /// The request, once made.
    pub requested: Option<ErasureRequested>,
    /// Who approved it, once erased.
    pub approved_by: Option<String>,
}

/// A command on an erasure request.
#[derive(Clone, Debug)]
pub enum ErasureCommand {
    /// Ask for it.
    Request(ErasureRequested),
    /// Approve it, as this user.
    Approve {
        /// The approver's user id.
        approver: String,
    },
}

/// The erasure decider.
pub struct Erasure;

impl Decider for Erasure {
    const TYPE: AggregateType = ERASURE;
    type State = ErasureState;
    type Command = ErasureCommand;
    type Event = ErasureEvent;
    type Error = DomainError;

    fn decide(
        state: &ErasureState,
        command: ErasureCommand,
        now: OffsetDateTime,
    ) -> Result<Vec<ErasureEvent>, DomainError> {
        match command {
            ErasureCommand::Request(request) => {
                if state.approved_by.is_some() {
                    return Err(DomainError::Precondition(format!(
                        "data subject {} is already erased",
                        request.subject_id
                    )));
                }
                if state.requested.is_some() {
                    return Err(DomainError::Precondition(format!(
                        "the erasure of {} was requested already and awaits approval",
                        request.subject_id
                    )));
                }
                Ok(vec![ErasureEvent::Requested(request)])
            }
            ErasureCommand::Approve { approver } => {
                let Some(requested) = &state.requested else {
                    return Err(DomainError::Precondition(
                        "no erasure was requested for this subject".into(),
                    ));
                };
                if state.approved_by.is_some() {
                    // Approved before: nothing to record; the caller destroys the keys again.
                    return Ok(Vec::new());
                }
                if requested.requested_by == approver {
                    return Err(DomainError::Forbidden(
                        "a second person must approve an erasure: the requester may not".into(),
                    ));
                }
                Ok(vec![ErasureEvent::Erased(DataSubjectErased {
                    subject_id: requested.subject_id.clone(),
                    approved_by: approver,
                    erased_at: Some(to_timestamp(now)),
                })])
            }
        }
    }

    fn evolve(mut state: ErasureState, event: &ErasureEvent) -> ErasureState {
        match event {
            ErasureEvent::Requested(e) => state.requested = Some(e.clone()),
            ErasureEvent::Erased(e) => state.approved_by = Some(e.approved_by.clone()),
        }
        state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn requested() -> ErasureState {
        let request = ErasureRequested {
            subject_id: "u1".into(),
            subject_kind: "user".into(),
            reason: "case 17".into(),
            requested_by: "officer".into(),
        };
        let events = Erasure::decide(
            &ErasureState::default(),
            ErasureCommand::Request(request),
            OffsetDateTime::UNIX_EPOCH,
        )
        .unwrap();
        events.iter().fold(ErasureState::default(), Erasure::evolve)
    }

    fn approve(state: &ErasureState, by: &str) -> Result<Vec<ErasureEvent>, DomainError> {
        Erasure::decide(
            state,
            ErasureCommand::Approve {
                approver: by.into(),
            },
            OffsetDateTime::UNIX_EPOCH,
        )
    }

    #[test]
    fn a_second_person_approves_and_the_requester_may_not() {
        let state = requested();
        assert!(matches!(
            approve(&state, "officer"),
            Err(DomainError::Forbidden(_))
        ));
        let events = approve(&state, "manager").unwrap();
        assert!(matches!(&events[..], [ErasureEvent::Erased(e)] if e.approved_by == "manager"));
        let erased = events.iter().fold(state, Erasure::evolve);
        assert!(
            approve(&erased, "admin").unwrap().is_empty(),
            "approving again records nothing"
        );
    }

    #[test]
    fn no_approval_without_a_request_and_no_second_request() {
        assert!(matches!(
            approve(&ErasureState::default(), "manager"),
            Err(DomainError::Precondition(_))
        ));
        let state = requested();
        let again = Erasure::decide(
            &state,
            ErasureCommand::Request(state.requested.clone().unwrap()),
            OffsetDateTime::UNIX_EPOCH,
        );
        assert!(matches!(again, Err(DomainError::Precondition(_))));
    }
}
