//! The refusals common to every service and their one conversion to a gRPC status.

use tillit_kernel::KernelError;
use tonic::Status;

/// Why a call is refused, when it is not the domain's own reason.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// The thing named does not exist, or the caller may not know that it does: the two
    /// read the same.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The caller is known but may not do this; the message says what it lacks.
    #[error("{0}")]
    PermissionDenied(String),
    /// The caller could not be authenticated; the message never says which part was wrong.
    #[error("{0}")]
    Unauthenticated(String),
    /// What the request would create exists; the message names the field and the thing.
    #[error("{0}")]
    AlreadyExists(String),
    /// The current state does not allow it; the message names the thing concerned.
    #[error("{0}")]
    Precondition(String),
    /// A bug or a broken invariant on our side; the message is for the operator's log.
    #[error("{0}")]
    Internal(String),
    /// From the kernel (invalid input, NATS unavailable, a conflict, …).
    #[error(transparent)]
    Kernel(#[from] KernelError),
}

impl Refusal {
    /// A document the service could not write (a bug, not the caller's input).
    pub fn unwritable(what: &str, error: impl std::fmt::Display) -> Self {
        Self::Internal(format!("writing the {what}: {error}"))
    }
}

impl From<Refusal> for Status {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::NotFound(_) => Status::not_found(refusal.to_string()),
            Refusal::PermissionDenied(message) => Status::permission_denied(message),
            Refusal::Unauthenticated(message) => Status::unauthenticated(message),
            Refusal::AlreadyExists(message) => Status::already_exists(message),
            Refusal::Precondition(message) => Status::failed_precondition(message),
            Refusal::Internal(message) => Status::internal(message),
            Refusal::Kernel(error) => error.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use tonic::{Code, Status};

    use super::Refusal;

    #[test]
    fn each_refusal_has_its_code_and_says_what_it_concerns() {
        let cases = [
            (
                Refusal::NotFound("incident"),
                Code::NotFound,
                "incident not found",
            ),
            (
                Refusal::PermissionDenied("needs manage_incidents".into()),
                Code::PermissionDenied,
                "needs manage_incidents",
            ),
            (
                Refusal::Precondition("incident 01: closed".into()),
                Code::FailedPrecondition,
                "incident 01: closed",
            ),
            (
                Refusal::Kernel(tillit_kernel::KernelError::Unavailable("nats".into())),
                Code::Unavailable,
                "nats",
            ),
        ];
        for (refusal, code, message) in cases {
            let status = Status::from(refusal);
            assert_eq!(status.code(), code);
            assert!(status.message().contains(message), "{}", status.message());
        }
    }
}
