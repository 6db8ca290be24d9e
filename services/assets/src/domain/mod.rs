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
    /// The kernel failed (its bad-input errors become [`DomainError::Invalid`]:
    /// `tillit_api::invalid_from_kernel`).
    #[error(transparent)]
    Kernel(KernelError),
}

impl tillit_kernel::CommandRefusal for DomainError {
    fn is_invalid(&self) -> bool {
        matches!(self, Self::Invalid { .. })
    }
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

tillit_api::invalid_from_kernel!(DomainError);
