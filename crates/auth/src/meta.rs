//! The envelope data every command records: who (the actor) and the request's
//! `idempotency-key` and `x-correlation-id` metadata.

use tillit_kernel::{AggregateId, CommandMeta};
use tillit_proto::common::Actor;

use crate::caller::Caller;

impl Caller {
    /// The actor recorded in the commits this caller causes.
    pub fn actor(&self) -> Actor {
        Actor {
            subject: self.subject.clone(),
            tenant: self.tenant.as_str().to_owned(),
            roles: self.roles.iter().map(|r| r.as_str().to_owned()).collect(),
            on_behalf_of: String::new(),
        }
    }
}

/// Longest correlation id kept from a client.
const MAX_CORRELATION_ID: usize = 64;

/// Whether a client's correlation id may be kept in the log forever: a UUID or a short
/// token of `[A-Za-z0-9._-]` starting with a letter or digit. Anything else (a formula, a
/// control character, a novel) is dropped for a fresh id.
fn acceptable_correlation_id(id: &str) -> bool {
    id.len() <= MAX_CORRELATION_ID
        && id.starts_with(|c: char| c.is_ascii_alphanumeric())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Envelope data for a command by `actor`, with the idempotency key and correlation id
/// from the request's metadata (a fresh UUIDv7 when no acceptable correlation id was sent).
pub fn command_meta<T>(request: &tonic::Request<T>, actor: Actor) -> CommandMeta {
    let header = |name: &str| {
        request
            .metadata()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .filter(|v| !v.is_empty())
    };
    CommandMeta {
        actor,
        idempotency_key: header("idempotency-key"),
        correlation_id: header("x-correlation-id")
            .filter(|id| acceptable_correlation_id(id))
            .unwrap_or_else(|| AggregateId::generate().as_str().to_owned()),
        causation_id: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::acceptable_correlation_id;

    #[test]
    fn only_short_plain_correlation_ids_are_kept() {
        for kept in ["0192f0c4-8a4e-7b51-9d0e-3f1c2b7a9e10", "req.42_a-b", "A"] {
            assert!(acceptable_correlation_id(kept), "{kept}");
        }
        let long = "a".repeat(65);
        for dropped in [
            "=HYPERLINK(\"x\")",
            "-1+2",
            "@SUM(A1)",
            "a b",
            "a\u{202e}b",
            "",
            long.as_str(),
        ] {
            assert!(!acceptable_correlation_id(dropped), "{dropped:?}");
        }
    }
}
