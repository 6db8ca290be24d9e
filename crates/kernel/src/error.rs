//! The kernel's one error table: every failure a command or query can meet in the kernel,
//! and the single place where each maps to a gRPC status (and, for bad input, the field).

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

/// What went wrong in the kernel.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum KernelError {
    /// Bad input; `field` names the request field.
    #[error("{field}: {description}")]
    InvalidArgument {
        /// The offending request field.
        field: String,
        /// Why, as a stable code a client can translate.
        reason: Reason,
        /// What is wrong with it, in English.
        description: String,
    },
    /// The thing asked for does not exist (or belongs to another tenant).
    #[error("{0} not found")]
    NotFound(String),
    /// A command lost the optimistic-concurrency race more often than the configured limit.
    #[error("gave up after {attempts} concurrent-modification retries")]
    Aborted {
        /// How many times it tried.
        attempts: u32,
    },
    /// NATS is unreachable, an append's outcome is unknown, or a wait timed out: the caller
    /// may retry with the same idempotency key.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A data subject whose keys were destroyed: nothing personal about it can be recorded.
    #[error("{0}")]
    Erased(String),
    /// A stored commit or projection row cannot be read: a bug or tampering, never bad input.
    #[error("corrupt data: {0}")]
    Corrupt(String),
    /// A failure of the platform itself (local storage, a refused stream configuration).
    #[error("internal error: {0}")]
    Internal(String),
}

/// Why a request field was refused: the stable `reason` of its `google.rpc.BadRequest`
/// field violation, beside the English description, so a client (the portal) can say it
/// in the user's language. The codes are part of the API (docs/api.md lists them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// `REQUIRED`: empty or missing where a value is required.
    Required,
    /// `TOO_SHORT`: shorter than the field takes (a password).
    TooShort,
    /// `TOO_LONG`: longer than the field takes.
    TooLong,
    /// `TOO_MANY`: more items than the field takes.
    TooMany,
    /// `FORBIDDEN_CHARACTER`: a control, invisible or direction-changing character.
    ForbiddenCharacter,
    /// `NOT_AN_EMAIL`: not an e-mail address.
    NotAnEmail,
    /// `NOT_ONE_OF`: not one of the values the field takes (for an enum: unspecified or
    /// unknown).
    NotOneOf,
    /// `MALFORMED`: not of the form the field takes (an id, slug, token, address, number).
    Malformed,
    /// `OUT_OF_RANGE`: a number or time outside what the field allows.
    OutOfRange,
    /// `UNKNOWN_REFERENCE`: names something that does not exist or that the caller cannot
    /// see (the two read the same).
    UnknownReference,
    /// `CONFLICT`: contradicts another field of the request or the current value.
    Conflict,
    /// `INVALID`: refused for a reason the description states.
    Invalid,
}

impl Reason {
    /// Every code, for documentation and tests.
    pub const ALL: [Reason; 12] = [
        Self::Required,
        Self::TooShort,
        Self::TooLong,
        Self::TooMany,
        Self::ForbiddenCharacter,
        Self::NotAnEmail,
        Self::NotOneOf,
        Self::Malformed,
        Self::OutOfRange,
        Self::UnknownReference,
        Self::Conflict,
        Self::Invalid,
    ];

    /// The code as it travels in `FieldViolation.reason`.
    pub const fn code(self) -> &'static str {
        match self {
            Self::Required => "REQUIRED",
            Self::TooShort => "TOO_SHORT",
            Self::TooLong => "TOO_LONG",
            Self::TooMany => "TOO_MANY",
            Self::ForbiddenCharacter => "FORBIDDEN_CHARACTER",
            Self::NotAnEmail => "NOT_AN_EMAIL",
            Self::NotOneOf => "NOT_ONE_OF",
            Self::Malformed => "MALFORMED",
            Self::OutOfRange => "OUT_OF_RANGE",
            Self::UnknownReference => "UNKNOWN_REFERENCE",
            Self::Conflict => "CONFLICT",
            Self::Invalid => "INVALID",
        }
    }
}

impl From<&tillit_text::field::TextProblem> for Reason {
    fn from(problem: &tillit_text::field::TextProblem) -> Self {
        use tillit_text::field::TextProblem;
        match problem {
            TextProblem::Empty => Self::Required,
            TextProblem::TooLong { .. } => Self::TooLong,
            TextProblem::Forbidden { .. } => Self::ForbiddenCharacter,
            TextProblem::NotAnEmail => Self::NotAnEmail,
            TextProblem::TooMany { .. } => Self::TooMany,
        }
    }
}

impl KernelError {
    /// Bad input in `field` for a reason its description states ([`Reason::Invalid`]);
    /// prefer [`KernelError::refused`] with the reason that fits.
    pub fn invalid(field: &str, description: impl Into<String>) -> Self {
        Self::refused(field, Reason::Invalid, description)
    }

    /// Bad input in `field`, for `reason`.
    pub fn refused(field: &str, reason: Reason, description: impl Into<String>) -> Self {
        Self::InvalidArgument {
            field: field.to_owned(),
            reason,
            description: description.into(),
        }
    }

    /// A text field `tillit_text::field` refused.
    pub fn text(field: &str, problem: &tillit_text::field::TextProblem) -> Self {
        Self::refused(field, problem.into(), problem.to_string())
    }

    /// The reason of an INVALID_ARGUMENT.
    pub fn reason(&self) -> Option<Reason> {
        match self {
            Self::InvalidArgument { reason, .. } => Some(*reason),
            _ => None,
        }
    }

    /// The request field an INVALID_ARGUMENT concerns.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::InvalidArgument { field, .. } => Some(field),
            _ => None,
        }
    }

    /// The gRPC status code of this error.
    pub fn code(&self) -> Code {
        match self {
            Self::InvalidArgument { .. } => Code::InvalidArgument,
            Self::NotFound(_) => Code::NotFound,
            Self::Aborted { .. } => Code::Aborted,
            Self::Unavailable(_) => Code::Unavailable,
            Self::Erased(_) => Code::FailedPrecondition,
            Self::Corrupt(_) | Self::Internal(_) => Code::Internal,
        }
    }
}

impl From<KernelError> for Status {
    fn from(error: KernelError) -> Self {
        match &error {
            KernelError::InvalidArgument {
                field,
                reason,
                description,
            } => Status::with_error_details(
                Code::InvalidArgument,
                error.to_string(),
                ErrorDetails::with_bad_request(vec![FieldViolation {
                    field: field.clone(),
                    description: description.clone(),
                    reason: reason.code().to_owned(),
                    localized_message: None,
                }]),
            ),
            _ => Status::new(error.code(), error.to_string()),
        }
    }
}

impl From<redb::Error> for KernelError {
    fn from(error: redb::Error) -> Self {
        Self::Internal(format!("projection store: {error}"))
    }
}

macro_rules! redb_errors {
    ($($ty:ident),*) => {$(
        impl From<redb::$ty> for KernelError {
            fn from(error: redb::$ty) -> Self {
                redb::Error::from(error).into()
            }
        }
    )*};
}
redb_errors!(
    DatabaseError,
    TransactionError,
    TableError,
    StorageError,
    CommitError
);

/// Why an append was not accepted.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum AppendError {
    /// Another commit reached the subject first (`Nats-Expected-Last-Subject-Sequence`
    /// did not match): reload, decide again, retry.
    #[error("the aggregate changed since it was loaded")]
    Conflict,
    /// The message id was seen within the dedupe window: the commit is already stored at
    /// `sequence` and nothing new was written.
    #[error("duplicate of the commit at sequence {sequence}")]
    Duplicate {
        /// Where the original is.
        sequence: u64,
    },
    /// No acknowledgement came: NATS is down, or the commit may or may not be stored.
    #[error("append outcome unknown: {0}")]
    OutcomeUnknown(String),
    /// The server refused the message for another reason (no stream).
    #[error("append refused: {0}")]
    Refused(String),
    /// The commit is larger than the server takes in one message: the request asked for
    /// too much at once (bad input, never an internal fault).
    #[error("the change is too large to record ({size} bytes; at most {max})")]
    TooLarge {
        /// The encoded commit's size.
        size: usize,
        /// The server's largest message.
        max: usize,
    },
}

impl From<AppendError> for KernelError {
    fn from(error: AppendError) -> Self {
        match error {
            AppendError::OutcomeUnknown(_) => Self::Unavailable(error.to_string()),
            AppendError::Conflict => Self::Aborted { attempts: 1 },
            AppendError::TooLarge { .. } => {
                Self::invalid("request", format!("{error}: send fewer or shorter items"))
            }
            AppendError::Duplicate { .. } | AppendError::Refused(_) => {
                Self::Internal(error.to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_input_becomes_invalid_argument_naming_the_field() {
        let status = Status::from(KernelError::refused(
            "tenant",
            Reason::Malformed,
            "must be a slug",
        ));
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let violations = &details
            .bad_request()
            .expect("a BadRequest detail")
            .field_violations;
        assert_eq!(violations[0].field, "tenant");
    }

    #[test]
    fn each_kind_has_its_status_code() {
        let table = [
            (KernelError::NotFound("incident".into()), Code::NotFound),
            (KernelError::Aborted { attempts: 32 }, Code::Aborted),
            (KernelError::Unavailable("nats".into()), Code::Unavailable),
            (KernelError::Corrupt("x".into()), Code::Internal),
        ];
        for (error, code) in table {
            assert_eq!(Status::from(error).code(), code);
        }
    }
}
