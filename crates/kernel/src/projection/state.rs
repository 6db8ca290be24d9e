//! What the runner and its followers share: the settings, the redb file, the store, the
//! projections, and per stream how far they have applied and when that was last confirmed current.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use redb::Database;
use tokio::sync::{Mutex, watch};

use super::Projection;
use crate::store::EventStore;

/// Settings of the projection runner.
#[derive(Clone, Debug)]
pub struct ProjectionConfig {
    /// Most commits applied in one write transaction.
    pub batch_size: usize,
    /// Longest wait for more commits once a batch has one and more are known to be pending.
    pub batch_delay: Duration,
    /// How often catch-up progress is logged.
    pub progress_every: Duration,
    /// How often each stream's end is asked for, to confirm the projection is current
    /// (also while nothing happens, so a quiet system is known to be current).
    pub confirm_every: Duration,
    /// How long a stream may go unconfirmed before the runner counts as stale: not
    /// ready, and (for the identity view) no token is accepted.
    pub max_staleness: Duration,
    /// Once caught up, how many commits a projection may trail its stream's end and still
    /// count as ready (bursts of writes do not take the service out of rotation); until
    /// the first catch-up, 0.
    pub ready_max_lag: u64,
    /// Test hook: panic after applying this many commits of a batch, before its commit.
    #[cfg(feature = "failpoints")]
    pub crash_after_applying: Option<usize>,
}

impl Default for ProjectionConfig {
    fn default() -> Self {
        Self {
            batch_size: 500,
            batch_delay: Duration::from_millis(20),
            progress_every: Duration::from_secs(2),
            confirm_every: Duration::from_millis(500),
            max_staleness: Duration::from_secs(5),
            ready_max_lag: 100,
            #[cfg(feature = "failpoints")]
            crash_after_applying: None,
        }
    }
}

pub(super) struct Inner {
    pub(super) db: Arc<Database>,
    pub(super) store: EventStore,
    pub(super) config: ProjectionConfig,
    pub(super) projections: Vec<Arc<dyn Projection>>,
    /// Progress per source stream, keyed by stream name.
    pub(super) streams: BTreeMap<String, StreamProgress>,
    /// Held while a batch is written, so stopping can wait for the blocking writer.
    pub(super) write_lock: Arc<Mutex<()>>,
    /// Why the followers are not running normally (a real fault, being retried), if so.
    pub(super) problem: watch::Sender<Option<String>>,
}

pub(super) struct StreamProgress {
    /// Highest sequence every projection on this stream has applied.
    pub(super) applied: watch::Sender<u64>,
    /// Whether the follower has reached the stream's end as seen at its start.
    pub(super) caught_up: watch::Sender<bool>,
    /// When the stream's end was last asked for and found applied (or, when the end was
    /// beyond, applied soon after): the projection was current at that moment.
    pub(super) confirmed: std::sync::Mutex<Option<Instant>>,
    /// The stream's last sequence as last asked for; a follower that receives nothing
    /// while this is beyond what it applied has a consumer that died with the server.
    pub(super) end_seen: std::sync::atomic::AtomicU64,
}

impl StreamProgress {
    pub(super) fn confirmed(&self) -> Option<Instant> {
        *self.confirmed.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn confirm(&self, at: Instant) {
        let mut confirmed = self.confirmed.lock().unwrap_or_else(|p| p.into_inner());
        if confirmed.is_none_or(|before| before < at) {
            *confirmed = Some(at);
        }
    }
}
