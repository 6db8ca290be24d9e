//! Authentication and authorization failures and their one mapping to gRPC statuses.

use tonic::{Code, Status};

/// Why a call was refused.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// No token, or one that is not valid now.
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// The token names a key or principal this service's identity view does not know (yet):
    /// unauthenticated, unless the view was merely behind.
    #[error("unauthenticated: {0}")]
    Unknown(String),
    /// A valid caller whose roles do not allow it.
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// Missing, or another tenant's (indistinguishable on purpose).
    #[error("{0} not found")]
    NotFound(String),
    /// The identity view cannot be trusted to be current (NATS unreachable or paused, the
    /// view stopped): no token is accepted until it is, so a revoked one never slips by.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

impl From<AuthError> for Status {
    fn from(error: AuthError) -> Self {
        let code = match error {
            AuthError::Unauthenticated(_) | AuthError::Unknown(_) => Code::Unauthenticated,
            AuthError::PermissionDenied(_) => Code::PermissionDenied,
            AuthError::NotFound(_) => Code::NotFound,
            AuthError::Unavailable(_) => Code::Unavailable,
        };
        Status::new(code, error.to_string())
    }
}
