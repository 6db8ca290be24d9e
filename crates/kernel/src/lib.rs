//! Tillit's event-sourcing kernel. Every service stands on it.
//!
//! - [`ids`]: tenant slugs, bounded contexts, aggregate types and ids, subjects.
//! - [`clock`]: the one clock every "now" comes from (injectable in tests).
//! - [`envelope`]: the commit envelope, its hash chain, message ids, loaded histories.
//! - [`store`]: JetStream streams, appends with optimistic concurrency, loading.
//! - [`decider`]: the decider pattern and the runner that executes commands.
//! - [`reservation`]: uniqueness across aggregates.
//! - [`projection`]: redb read models fed from the streams, consistency-token waits.
//! - [`verify`]: re-checks the `prev_hash` chain of a stream from its raw messages.
//! - [`error`]: the error table and its gRPC mapping.
//! - [`telemetry`]: trace context in NATS headers, the kernel's metrics.
//!
//! The path of a command: a service builds a [`decider::CommandRequest`] and calls
//! [`decider::Runner::execute`], which loads the aggregate through
//! [`store::EventStore::load`], folds its events with the decider's `evolve`, calls
//! `decide` with the clock's now, wraps the events in a [`tillit_proto::kernel::Commit`]
//! whose `prev_hash` links to the previous commit, and appends it with
//! [`store::EventStore::append`], expecting the subject's last sequence. A lost race loads
//! and decides again; the answer carries the commit's position as a consistency token.
//! The [`projection::ProjectionRunner`] of each service applies the commit to its redb
//! tables, and a later request carrying that token waits in
//! [`projection::ProjectionRunner::wait_for`] until it has.

pub mod clock;
pub mod decider;
pub mod envelope;
pub mod error;
pub mod ids;
pub mod personal;
pub mod projection;
pub mod reservation;
pub mod store;
pub mod telemetry;
pub mod verify;

pub use clock::Clock;
pub use decider::{CommandRequest, Decider, EventPayload, ExecuteError, Executed, Runner, Target};
pub use envelope::{CommandMeta, History, StoredCommit};
pub use error::{AppendError, KernelError, Reason};
pub use ids::{AggregateAddress, AggregateId, AggregateType, BoundedContext, StreamName, TenantId};
pub use projection::{Projection, ProjectionConfig, ProjectionRunner};
pub use reservation::{Reservation, ReservationError, Reservations, Reserved};
pub use store::{EventStore, StoreConfig};
pub use telemetry::{CommandRefusal, KernelMetrics};

/// Crates the kernel's macros need at their call sites.
pub mod reexports {
    pub use prost;
    pub use tillit_proto::kernel::Event;
}
