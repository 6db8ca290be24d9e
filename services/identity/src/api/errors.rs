//! The one place identity's errors become gRPC statuses (and HTTP statuses on the admin
//! port's JWKS route).

use tillit_kernel::{ExecuteError, KernelError, ReservationError};
use tonic::Status;

use crate::domain::DomainError;

impl From<DomainError> for Status {
    fn from(error: DomainError) -> Self {
        match error {
            DomainError::Invalid {
                field,
                code,
                reason,
            } => KernelError::refused(&field, code, reason).into(),
            DomainError::AlreadyExists(what) => {
                Status::already_exists(format!("{what} already exists"))
            }
            DomainError::Precondition(reason) => Status::failed_precondition(reason),
            DomainError::Forbidden(reason) => Status::permission_denied(reason),
            DomainError::NotAuthenticated(reason) => Status::unauthenticated(reason),
            DomainError::Kernel(error) => error.into(),
        }
    }
}

/// The status of a command that did not run.
pub fn status(error: ExecuteError<DomainError>) -> Status {
    match error {
        ExecuteError::Domain(error) => error.into(),
        ExecuteError::Kernel(error) => error.into(),
    }
}

/// The status of an attempt refused by the throttle: RESOURCE_EXHAUSTED with the delay
/// (also as `google.rpc.RetryInfo`), whether or not the account exists.
pub(crate) fn throttled(retry_after: std::time::Duration) -> Status {
    use tonic_types::{ErrorDetails, StatusExt as _};
    let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
    Status::with_error_details(
        tonic::Code::ResourceExhausted,
        format!("too many failed sign-in attempts; try again in {seconds} s"),
        ErrorDetails::with_retry_info(Some(std::time::Duration::from_secs(seconds))),
    )
}

/// The answer to a refresh token that is malformed, unknown or names no chain: the same
/// for each, so a guesser learns nothing.
pub(crate) fn refresh_refused() -> Status {
    Status::unauthenticated("refresh token not valid")
}

/// The status of a refused e-mail reservation.
pub(crate) fn reservation(error: ReservationError) -> Status {
    match error {
        ReservationError::Taken { .. } => {
            Status::already_exists("email: already used by another account")
        }
        ReservationError::NotHeld { .. } => Status::failed_precondition(error.to_string()),
        ReservationError::Kernel(error) => error.into(),
    }
}

/// The JWKS route's answer when the signing keys cannot be read: 503, so a verifier
/// retries instead of caching an empty key set.
pub(crate) fn keys_unavailable(error: &KernelError) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    tracing::error!(%error, "reading signing keys");
    let status = axum::http::StatusCode::SERVICE_UNAVAILABLE;
    (status, "signing keys unavailable").into_response()
}
