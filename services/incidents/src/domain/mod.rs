//! Incident handling's business rules, pure:
//!
//! - [`incident`]: the incident aggregate (commands, state machine, obligations);
//! - [`triage`]: our role per affected asset, the customers affected, the clock facts;
//! - [`validate`]: the checks of what a request brings, naming the field.

pub mod incident;
pub mod triage;
pub mod validate;

use tillit_kernel::{KernelError, Reason};

/// Why the incidents service refuses a command.
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
    /// The state machine does not allow it; the message names the incident and its
    /// current state, or what is missing.
    #[error("{0}")]
    Precondition(String),
    /// Not yet: the message names the incident, and each condition still unmet has its
    /// documented code and subject (closing without the review, with an open action or a
    /// pending obligation).
    #[error("{message}")]
    Unmet {
        /// The whole refusal, in English.
        message: String,
        /// What is missing.
        conditions: Vec<tillit_api::Condition>,
    },
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
