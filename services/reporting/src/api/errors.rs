//! The one place reporting's errors become gRPC statuses.

use tillit_api::Refusal;
use tillit_kernel::{ExecuteError, KernelError};
use tonic::Status;

use crate::annual::review::ReviewError;
use crate::reminders::decider::ReminderError;

/// A refused reminder command: NOT_FOUND when the reminder does not exist or is not the
/// caller's (the two read the same), FAILED_PRECONDITION when its state forbids it.
pub(super) fn reminder_refused(error: ExecuteError<ReminderError>) -> Status {
    match error {
        ExecuteError::Domain(ReminderError::NotFound)
        | ExecuteError::Kernel(KernelError::NotFound(_)) => Refusal::NotFound("reminder").into(),
        ExecuteError::Domain(e) => Refusal::Precondition(e.to_string()).into(),
        ExecuteError::Kernel(e) => e.into(),
    }
}

/// A refused sign-off: FAILED_PRECONDITION naming the year already signed off.
pub(super) fn review_refused(error: ExecuteError<ReviewError>) -> Status {
    match error {
        ExecuteError::Domain(e @ ReviewError::AlreadySignedOff(_)) => {
            Refusal::Precondition(e.to_string()).into()
        }
        ExecuteError::Kernel(e) => e.into(),
    }
}

/// NOT_FOUND for a year nobody has signed off.
pub(super) fn not_signed_off(year: i32) -> Status {
    Status::not_found(format!("no management review of {year} is signed off"))
}

/// NOT_FOUND for an aggregate id the audit trail has no entry of in `stream`.
pub(super) fn not_in_stream(stream: &str, aggregate_id: &str) -> Status {
    Status::not_found(format!(
        "aggregate_id: {aggregate_id} has no entries in {stream}"
    ))
}

/// PERMISSION_DENIED for a customer asking for a view across every tenant.
pub(super) fn staff_only(what: &str) -> Status {
    Refusal::PermissionDenied(format!("{what} covers every tenant: staff only")).into()
}
