//! The asset register's business rules, pure: the asset decider and input validation.

pub mod asset;
pub mod validate;

use tillit_kernel::KernelError;

/// Why the asset service refuses a command.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum DomainError {
    /// Bad input in `field`.
    #[error("{field}: {reason}")]
    Invalid {
        /// The request field.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// It exists already.
    #[error("{0} already exists")]
    AlreadyExists(&'static str),
    /// The state does not allow it.
    #[error("{0}")]
    Precondition(String),
    /// The kernel failed.
    #[error(transparent)]
    Kernel(#[from] KernelError),
}

impl DomainError {
    /// Bad input in `field`.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
