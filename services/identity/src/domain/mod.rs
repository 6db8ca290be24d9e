//! Identity's business rules as pure deciders: no I/O, no clock (time comes in).
//!
//! - [`tenant`]: `internal` and the customers, with their contract terms.
//! - [`user`]: accounts, roles (staff only in `internal`, `customer` only outside),
//!   deactivation, the session version that makes revocation immediate.
//! - [`credential`]: password hash, temporary flag, successful logins (CREDENTIALS).
//! - [`refresh`]: refresh-token chains, rotated on each use, revoked on reuse (CREDENTIALS).
//! - [`signing_key`]: public signing keys, activated and retired.
//! - [`token_policy`]: the longest access-token lifetime, which every service enforces.
//! - [`service_account`]: machine clients with roles and a rotatable secret.
//! - [`policy`]: policy versions, acknowledgements, and the 12-month coverage rule (G4).
//! - [`training`]: completed trainings with a validity.
//! - [`access_review`]: campaigns whose items are confirmed or revoked (P4).
//! - [`erasure`]: erasing a data subject, asked for by one person and approved by another.
//! - [`validate`]: parsing of request input into values that cannot be invalid.

pub mod access_review;
pub mod credential;
pub mod erasure;
pub mod policy;
pub mod refresh;
pub mod service_account;
pub mod signing_key;
pub mod tenant;
pub mod token_policy;
pub mod training;
pub mod user;
pub mod validate;

use tillit_kernel::{KernelError, Reason};

/// Why identity refuses a command.
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
    /// The caller may not, whatever the state: a second person's step.
    #[error("{0}")]
    Forbidden(String),
    /// A credential or refresh token that does not prove who the caller is.
    #[error("{0}")]
    NotAuthenticated(String),
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

    /// A text field `tillit_text::field` refused.
    pub fn text(field: impl Into<String>, problem: &tillit_text::field::TextProblem) -> Self {
        Self::refused(field, problem.into(), problem.to_string())
    }
}

tillit_api::invalid_from_kernel!(DomainError);
