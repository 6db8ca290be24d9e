//! Projections: read models in redb, fed from the event streams.
//!
//! A [`Projection`] declares its name, schema version and source streams and applies one
//! commit at a time inside a write transaction it is handed. The [`ProjectionRunner`]
//! owns the redb file (several projections may share it) and, per source stream, reads the
//! stream with an ordered consumer from the lowest checkpoint + 1 and applies a batch of
//! commits (bounded by count and time) in ONE write transaction that also writes the
//! checkpoints. A crash anywhere therefore loses nothing and applies nothing twice.
//!
//! Checkpoints are keyed by (projection, stream) and stored with the projection's schema
//! version and the stream's identity (its created time). A missing checkpoint, another
//! schema version or another stream identity (the service was pointed at a different NATS
//! store) resets the projection's tables and rebuilds it from sequence 1, with progress in
//! the logs; until every stream has caught up the runner reports not ready.
//!
//! Waiters on consistency tokens ([`ProjectionRunner::wait_for`]) are woken by the runner
//! after each committed batch, never by polling.
//!
//! Files: `runner` (the runner, its supervisor and readiness), `state` (what the runner
//! and its followers share), `start` (checkpoints read and rebuild decisions at each
//! start), `follower` (one stream's reader and batch writer), `checkpoint` (the table),
//! `wait` (consistency waits).

mod checkpoint;
mod follower;
mod runner;
mod start;
mod state;
mod wait;

use redb::WriteTransaction;
use tillit_proto::common::Position;
use tillit_proto::kernel::Commit;

use crate::error::KernelError;

pub use runner::ProjectionRunner;
pub use state::ProjectionConfig;

/// A read model built from commits.
pub trait Projection: Send + Sync + 'static {
    /// A name unique within its redb file.
    fn name(&self) -> &'static str;

    /// Bump it when `apply` or the tables change: the projection is then rebuilt.
    fn schema_version(&self) -> u32;

    /// The streams it reads, for example `["INCIDENTS"]`.
    fn streams(&self) -> Vec<String>;

    /// Deletes every table this projection writes (before a rebuild).
    fn reset(&self, tx: &WriteTransaction) -> Result<(), KernelError>;

    /// Applies one commit. Deterministic: it reads only rows that came from the same
    /// stream and never the clock, so a rebuild reproduces the live state.
    fn apply(
        &self,
        tx: &WriteTransaction,
        commit: &Commit,
        position: &Position,
    ) -> Result<(), KernelError>;

    /// Applies one commit given also its bytes as the log holds them. A projection that
    /// needs the bytes (the audit trail keeps their hash) overrides this; the runner calls
    /// it, and by default it applies the decoded commit.
    fn apply_with_bytes(
        &self,
        tx: &WriteTransaction,
        commit: &Commit,
        position: &Position,
        bytes: &[u8],
    ) -> Result<(), KernelError> {
        let _ = bytes;
        self.apply(tx, commit, position)
    }
}

/// Opens a projection table for reading; `None` while no commit has created it yet (a
/// fresh or rebuilding file), which readers treat as empty.
pub fn open_read<K: redb::Key + 'static, V: redb::Value + 'static>(
    tx: &redb::ReadTransaction,
    table: redb::TableDefinition<K, V>,
) -> Result<Option<redb::ReadOnlyTable<K, V>>, KernelError> {
    match tx.open_table(table) {
        Ok(table) => Ok(Some(table)),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(redb::Error::from(e).into()),
    }
}
