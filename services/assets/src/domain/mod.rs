//! The asset register's business rules, pure: the asset decider and input validation.

pub mod asset;
pub mod validate;

use tillit_kernel::{KernelError, Reason};

/// Why the asset service refuses a command.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum DomainError {
    /// Bad input in `field`.
    #[error("{field}: {reason}")]
    Invalid {
        /// The request field.
        field: String,
        /// Why, as the stable code of the field violation.
        code: Reason,
        /// What is wrong, in English.
        reason: String,
    },
    /// It exists already.
    #[error("{0} already exists")]
    AlreadyExists(&'static str),
    /// The state does not allow it.
    #[error("{0}")]
    Precondition(String),
    /// The kernel failed (its bad-input errors become [`DomainError::Invalid`]).
    #[error(transparent)]
    Kernel(KernelError),
}

impl DomainError {
    /// Bad input in `field`.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::refused(field, Reason::Invalid, reason)
    }

    /// Bad input in `field`, for `code`.
    pub fn refused(field: impl Into<String>, code: Reason, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            code,
            reason: reason.into(),
        }
    }
}

impl From<KernelError> for DomainError {
    /// Bad input the kernel or a shared validator found is the domain's own bad input, so
    /// every refused field reads the same wherever it was checked.
    fn from(error: KernelError) -> Self {
        match error {
            KernelError::InvalidArgument {
                field,
                reason,
                description,
            } => Self::Invalid {
                field,
                code: reason,
                reason: description,
            },
            other => Self::Kernel(other),
        }
    }
}
