//! Why a service did not start, or stopped serving: `main` prints it and exits 1.

use std::net::SocketAddr;
use std::path::PathBuf;

use tillit_kernel::KernelError;

/// A failed start (or a serve loop that ended in an error), naming what failed.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A listener could not be bound (the address is taken or not ours).
    #[error("binding {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The data directory could not be created.
    #[error("data directory {}: {source}", path.display())]
    DataDir {
        /// `TILLIT_DATA_DIR`.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// NATS, a stream or a projection file refused; the kernel's error says which.
    #[error("the event store: {0}")]
    Store(#[from] KernelError),
    /// A file the settings name (rules, signing key, …) is unreadable or invalid; the
    /// message names the file.
    #[error("{0}")]
    Settings(String),
    /// A start-up step of the service's own failed.
    #[error("{step}: {detail}")]
    Step {
        /// What was being done, e.g. "stating the access-token lifetime".
        step: &'static str,
        /// Why it failed.
        detail: String,
    },
    /// The servers stopped on an I/O error.
    #[error("serving: {0}")]
    Serve(std::io::Error),
    /// The stop outlasted the grace period; what was still running was cut off.
    #[error("did not stop within TILLIT_SHUTDOWN_GRACE_SECONDS ({} s); what was still running was cut off", .0.as_secs())]
    Grace(std::time::Duration),
}

impl StartError {
    /// The step `step` failed for `detail`.
    pub fn step(step: &'static str, detail: impl std::fmt::Display) -> Self {
        Self::Step {
            step,
            detail: detail.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::StartError;

    #[test]
    fn each_failure_names_what_failed() {
        let bind = StartError::Bind {
            addr: "127.0.0.1:50051".parse().expect("addr"),
            source: std::io::Error::from(std::io::ErrorKind::AddrInUse),
        };
        assert!(
            bind.to_string().starts_with("binding 127.0.0.1:50051: "),
            "{bind}"
        );
        let step = StartError::step("activating signing key k1", "retired");
        assert_eq!(step.to_string(), "activating signing key k1: retired");
        let store = StartError::from(tillit_kernel::KernelError::Unavailable("nats".into()));
        assert!(
            store.to_string().starts_with("the event store: "),
            "{store}"
        );
    }
}
