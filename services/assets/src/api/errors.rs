//! The one place the assets service's errors become gRPC statuses.

use tillit_api::Refusal;
use tillit_kernel::{ExecuteError, KernelError, ReservationError};
use tonic::Status;

use crate::domain::DomainError;

/// What an import line and a registration say when the name is another asset's.
pub(crate) const NAME_TAKEN: &str = "another asset of this tenant has this name";

impl From<DomainError> for Status {
    fn from(error: DomainError) -> Self {
        match error {
            DomainError::Invalid {
                field,
                code,
                reason,
            } => KernelError::refused(&field, code, reason).into(),
            DomainError::AlreadyExists(what) => {
                Refusal::AlreadyExists(format!("{what} already exists")).into()
            }
            DomainError::Precondition(reason) => Refusal::Precondition(reason).into(),
            DomainError::Kernel(error) => error.into(),
        }
    }
}

/// The status of a command that did not run.
pub(crate) fn status(error: ExecuteError<DomainError>) -> Status {
    match error {
        ExecuteError::Domain(error) => error.into(),
        ExecuteError::Kernel(error) => error.into(),
    }
}

/// ALREADY_EXISTS on `name`: another asset of the tenant has the name.
pub(crate) fn name_taken() -> Status {
    Refusal::AlreadyExists(format!("name: {NAME_TAKEN}")).into()
}

/// The status of a reservation the register could not make.
pub(crate) fn reservation(error: ReservationError) -> Status {
    match error {
        ReservationError::Kernel(error) => error.into(),
        other => Refusal::Internal(other.to_string()).into(),
    }
}
