//! The one place the incidents service's errors become gRPC statuses.

use tillit_api::Refusal;
use tillit_kernel::Reason;
use tillit_kernel::{ExecuteError, KernelError};
use tonic::Status;

use crate::domain::DomainError;

impl From<DomainError> for Status {
    fn from(error: DomainError) -> Self {
        match error {
            DomainError::Invalid {
                field,
                code,
                reason,
            } => KernelError::refused(&field, code, reason).into(),
            DomainError::Precondition(reason) => Refusal::Precondition(reason).into(),
            DomainError::Unmet {
                message,
                conditions,
            } => Refusal::Unmet {
                message,
                conditions,
            }
            .into(),
            DomainError::Kernel(error) => error.into(),
        }
    }
}

/// The status of a command that did not run.
pub(super) fn status(error: ExecuteError<DomainError>) -> Status {
    match error {
        ExecuteError::Domain(error) => error.into(),
        ExecuteError::Kernel(error) => error.into(),
    }
}

/// The status of a related incident that could not be read: one the caller cannot see is
/// INVALID_ARGUMENT on `field` (as a missing one), anything else keeps its own status
/// (NATS unavailable stays UNAVAILABLE).
pub(super) fn related(field: &str, refusal: Refusal) -> Status {
    match refusal {
        Refusal::NotFound(_) => {
            DomainError::refused(field, Reason::UnknownReference, "no such incident").into()
        }
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use tillit_api::Refusal;
    use tillit_kernel::KernelError;
    use tonic::Code;

    #[test]
    fn a_related_incident_nobody_sees_names_the_field_but_an_outage_stays_an_outage() {
        let missing = super::related("related_incident_id", Refusal::NotFound("incident"));
        assert_eq!(missing.code(), Code::InvalidArgument);
        assert!(
            missing.message().contains("related_incident_id"),
            "{}",
            missing.message()
        );
        let outage = super::related(
            "related_incident_id",
            Refusal::Kernel(KernelError::Unavailable("NATS did not answer".into())),
        );
        assert_eq!(outage.code(), Code::Unavailable);
    }
}
