//! Why a command failed, and the exit code that says so: scripts can tell a usage mistake
//! from a refused login, a missing thing and a service that is down.

use std::process::ExitCode;

use tonic::Code;

/// A failed command.
#[derive(Debug)]
pub enum Failure {
    /// Bad arguments or input (exit 2; the server's INVALID_ARGUMENT too).
    Usage(String),
    /// Not logged in, the login refused, or not allowed (exit 3).
    Auth(String),
    /// The thing asked for does not exist or is not visible (exit 4).
    NotFound(String),
    /// A service is unreachable or timed out (exit 5).
    Unavailable(String),
    /// Anything else (exit 1), for example an import with refused lines.
    Other(String),
}

impl Failure {
    /// The process exit code.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            Self::Other(_) => 1,
            Self::Usage(_) => 2,
            Self::Auth(_) => 3,
            Self::NotFound(_) => 4,
            Self::Unavailable(_) => 5,
        })
    }

    /// The message.
    pub fn message(&self) -> &str {
        match self {
            Self::Usage(m)
            | Self::Auth(m)
            | Self::NotFound(m)
            | Self::Unavailable(m)
            | Self::Other(m) => m,
        }
    }
}

impl From<tonic::Status> for Failure {
    fn from(status: tonic::Status) -> Self {
        let field = {
            use tonic_types::StatusExt as _;
            status
                .get_error_details()
                .bad_request()
                .and_then(|b| b.field_violations.first().map(|v| v.field.clone()))
        };
        let message = status.message().to_owned();
        match status.code() {
            Code::InvalidArgument => Self::Usage(match field {
                Some(field) if !message.starts_with(&field) => format!("{field}: {message}"),
                _ => message,
            }),
            Code::Unauthenticated => Self::Auth(format!("{message} (run `tillit login`)")),
            Code::PermissionDenied => Self::Auth(message),
            Code::NotFound => Self::NotFound(message),
            Code::Unavailable | Code::DeadlineExceeded => Self::Unavailable(message),
            _ => Self::Other(format!("{:?}: {message}", status.code())),
        }
    }
}
