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

/// Envelope data for a command by `actor`, with the idempotency key and correlation id
/// from the request's metadata (a fresh UUIDv7 when no correlation id was sent).
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
            .unwrap_or_else(|| AggregateId::generate().as_str().to_owned()),
        causation_id: String::new(),
    }
}
