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
    /// The current state does not allow it yet: the message names the thing concerned,
    /// and each unmet condition travels as a `google.rpc.PreconditionFailure` violation
    /// (its documented code, the subject it concerns, an English description), so a
    /// client can say what is missing in its user's language.
    #[error("{message}")]
    Unmet {
        /// The whole refusal in English.
        message: String,
        /// What is still missing.
        conditions: Vec<Condition>,
    },
    /// A bug or a broken invariant on our side; the message is for the operator's log.
    #[error("{0}")]
    Internal(String),
    /// From the kernel (invalid input, NATS unavailable, a conflict, …).
    #[error(transparent)]
    Kernel(#[from] KernelError),
}

/// One unmet condition of a [`Refusal::Unmet`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// The documented code (docs/api.md, "Unmet conditions"): `REVIEW_MISSING`, …
    pub kind: &'static str,
    /// What it concerns: `incident/<id>`, `action/<id>`, `obligation/<id>`.
    pub subject: String,
    /// What is missing, in English.
    pub description: String,
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
            Refusal::Unmet {
                message,
                conditions,
            } => {
                use tonic_types::StatusExt as _;
                let violations: Vec<_> = conditions
                    .into_iter()
                    .map(|c| {
                        tonic_types::PreconditionViolation::new(c.kind, c.subject, c.description)
                    })
                    .collect();
                Status::with_error_details(
                    tonic::Code::FailedPrecondition,
                    message,
                    tonic_types::ErrorDetails::with_precondition_failure(violations),
                )
            }
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

    #[test]
    fn unmet_conditions_travel_as_precondition_failure_details() {
        use tonic_types::StatusExt as _;
        let status = Status::from(Refusal::Unmet {
            message: "incident 01 cannot close yet: missing the root cause".into(),
            conditions: vec![super::Condition {
                kind: "ROOT_CAUSE_MISSING",
                subject: "incident/01".into(),
                description: "the root cause".into(),
            }],
        });
        assert_eq!(status.code(), Code::FailedPrecondition);
        assert!(status.message().contains("root cause"));
        let failure = status.get_details_precondition_failure().expect("details");
        assert_eq!(failure.violations[0].r#type, "ROOT_CAUSE_MISSING");
        assert_eq!(failure.violations[0].subject, "incident/01");
    }
}
