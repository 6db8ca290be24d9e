//! The kernel's one error table: every failure a command or query can meet in the kernel,
//! and the single place where each maps to a gRPC status (and, for bad input, the field).

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// What went wrong in the kernel.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum KernelError {
    /// Bad input; `field` names the request field.
    #[error("{field}: {description}")]
    InvalidArgument {
        /// The offending request field.
        field: String,
        /// What is wrong with it.
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
    /// A stored commit or projection row cannot be read: a bug or tampering, never bad input.
    #[error("corrupt data: {0}")]
    Corrupt(String),
    /// A failure of the platform itself (local storage, a refused stream configuration).
    #[error("internal error: {0}")]
    Internal(String),
}

impl KernelError {
    /// Bad input in `field`.
    pub fn invalid(field: &str, description: impl Into<String>) -> Self {
        Self::InvalidArgument {
            field: field.to_owned(),
            description: description.into(),
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
            Self::Corrupt(_) | Self::Internal(_) => Code::Internal,
        }
    }
}

impl From<KernelError> for Status {
    fn from(error: KernelError) -> Self {
        match &error {
            KernelError::InvalidArgument { field, description } => Status::with_error_details(
                Code::InvalidArgument,
                error.to_string(),
                ErrorDetails::with_bad_request_violation(field.clone(), description.clone()),
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
        let status = Status::from(KernelError::invalid("tenant", "must be a slug"));
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
