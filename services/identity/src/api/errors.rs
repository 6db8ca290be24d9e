//! The one place identity's errors become gRPC statuses.

use tillit_kernel::{ExecuteError, KernelError, ReservationError};
use tonic::Status;

use crate::domain::DomainError;

impl From<DomainError> for Status {
    fn from(error: DomainError) -> Self {
        match error {
            DomainError::Invalid { field, reason } => KernelError::invalid(field, reason).into(),
            DomainError::AlreadyExists(what) => {
                Status::already_exists(format!("{what} already exists"))
            }
            DomainError::Precondition(reason) => Status::failed_precondition(reason),
            DomainError::NotAuthenticated(reason) => Status::unauthenticated(reason),
            DomainError::Kernel(error) => error.into(),
        }
    }
}

/// The status of a command that did not run.
pub fn status(error: ExecuteError<DomainError>) -> Status {
    match error {
        ExecuteError::Domain(error) => error.into(),
        ExecuteError::Kernel(error) => error.into(),
    }
}

/// The status of a refused e-mail reservation.
pub(crate) fn reservation(error: ReservationError) -> Status {
    match error {
        ReservationError::Taken { .. } => {
            Status::already_exists("email: already used by another account")
        }
        ReservationError::NotHeld { .. } => Status::failed_precondition(error.to_string()),
        ReservationError::Kernel(error) => error.into(),
    }
}
