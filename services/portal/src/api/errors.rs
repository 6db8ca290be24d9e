//! The one place the portal reads the services' refusals: a gRPC status becomes a
//! [`Failure`], and each failure the HTTP status of the page that answers it. The pages
//! decide only what to show.

use axum::http::StatusCode;
use tonic::{Code, Status};
use tonic_types::StatusExt as _;

/// One field violation of an INVALID_ARGUMENT (`google.rpc.BadRequest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The request field it concerns (`triage.severity`); empty when the service named
    /// none.
    pub field: String,
    /// The documented reason code (`REQUIRED`, `TOO_LONG`, …); empty when it gave none.
    pub reason: String,
    /// The service's description, in English.
    pub description: String,
}

/// One unmet condition of a FAILED_PRECONDITION (`google.rpc.PreconditionFailure`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmet {
    /// The documented condition code (`OBLIGATION_PENDING`, `REVIEW_MISSING`, …).
    pub kind: String,
    /// What it concerns (`obligation/gdpr-33-1`, `action/a1`, `incident/…`).
    pub subject: String,
    /// The service's description, in English.
    pub description: String,
}

/// What a refused or failed call means to a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// UNAUTHENTICATED: the session is no longer good; sign in again.
    SignIn,
    /// NOT_FOUND: not there, or not the user's to see (the services answer both alike).
    NotFound,
    /// PERMISSION_DENIED, with the service's words.
    Forbidden(String),
    /// INVALID_ARGUMENT: what is wrong, field by field.
    Invalid(Vec<Violation>),
    /// FAILED_PRECONDITION: not possible now; the conditions still unmet, where the
    /// service listed them, and its message.
    Precondition {
        /// The service's message, in English.
        message: String,
        /// The unmet conditions it listed.
        unmet: Vec<Unmet>,
    },
    /// ALREADY_EXISTS or ABORTED: it clashes with what is there, in the service's words.
    Conflict(String),
    /// RESOURCE_EXHAUSTED: try again after this many seconds.
    Throttled(u64),
    /// The service is down, slow or failed (UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL, …):
    /// nothing was changed, or the command is safe to send again.
    Down,
}

impl Failure {
    /// The failure a service's status means.
    pub fn of(status: &Status) -> Self {
        match status.code() {
            Code::Unauthenticated => Self::SignIn,
            Code::NotFound => Self::NotFound,
            Code::PermissionDenied => Self::Forbidden(status.message().to_owned()),
            Code::InvalidArgument => Self::Invalid(violations(status)),
            Code::FailedPrecondition => Self::Precondition {
                message: status.message().to_owned(),
                unmet: unmet(status),
            },
            Code::AlreadyExists | Code::Aborted | Code::OutOfRange => {
                Self::Conflict(status.message().to_owned())
            }
            Code::ResourceExhausted => Self::Throttled(
                status
                    .get_details_retry_info()
                    .and_then(|info| info.retry_delay)
                    .map_or(60, |delay| delay.as_secs()),
            ),
            code => {
                // The page says only which part is down; the operator's log says why.
                tracing::warn!(
                    ?code,
                    message = status.message(),
                    "a service did not answer"
                );
                Self::Down
            }
        }
    }

    /// The HTTP status of the page that answers it.
    pub fn http(&self) -> StatusCode {
        match self {
            Self::SignIn => StatusCode::SEE_OTHER,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::Invalid(_) | Self::Precondition { .. } | Self::Conflict(_) => REFUSED,
            Self::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Down => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// A form shown again with its problems: 422, whether the portal or a service refused it.
pub const REFUSED: StatusCode = StatusCode::UNPROCESSABLE_ENTITY;

/// A POST whose CSRF token is missing or not the visitor's: 403, nothing changed.
pub const FORGED: StatusCode = StatusCode::FORBIDDEN;

fn violations(status: &Status) -> Vec<Violation> {
    let Some(bad_request) = status.get_details_bad_request() else {
        return vec![Violation {
            field: String::new(),
            reason: String::new(),
            description: status.message().to_owned(),
        }];
    };
    bad_request
        .field_violations
        .into_iter()
        .map(|v| Violation {
            field: v.field,
            reason: v.reason,
            description: v.description,
        })
        .collect()
}

fn unmet(status: &Status) -> Vec<Unmet> {
    status
        .get_details_precondition_failure()
        .map(|failure| {
            failure
                .violations
                .into_iter()
                .map(|v| Unmet {
                    kind: v.r#type,
                    subject: v.subject,
                    description: v.description,
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use tonic_types::{ErrorDetails, StatusExt as _};

    use super::*;

    #[test]
    fn each_status_is_read_as_what_it_means_to_a_page() {
        let invalid = Status::with_error_details(
            Code::InvalidArgument,
            "bad",
            ErrorDetails::with_bad_request(vec![tonic_types::FieldViolation {
                field: "title".into(),
                description: "required".into(),
                reason: "REQUIRED".into(),
                localized_message: None,
            }]),
        );
        let Failure::Invalid(violations) = Failure::of(&invalid) else {
            panic!("not invalid");
        };
        assert_eq!(violations[0].field, "title");
        assert_eq!(violations[0].reason, "REQUIRED");
        let held = Status::with_error_details(
            Code::FailedPrecondition,
            "cannot close",
            ErrorDetails::with_precondition_failure(vec![tonic_types::PreconditionViolation::new(
                "OBLIGATION_PENDING",
                "obligation/gdpr-33-1",
                "pending",
            )]),
        );
        let Failure::Precondition { unmet, .. } = Failure::of(&held) else {
            panic!("not a precondition");
        };
        assert_eq!(unmet[0].subject, "obligation/gdpr-33-1");
        assert_eq!(
            Failure::of(&Status::unavailable("down")).http(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            Failure::of(&Status::not_found("x")).http(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(Failure::of(&Status::unauthenticated("x")), Failure::SignIn);
        assert_eq!(
            Failure::of(&Status::invalid_argument("no details")),
            Failure::Invalid(vec![Violation {
                field: String::new(),
                reason: String::new(),
                description: "no details".into()
            }])
        );
    }
}
