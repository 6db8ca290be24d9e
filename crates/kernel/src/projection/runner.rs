//! The projection runner: one follower task per source stream, batches applied in one redb
//! write transaction together with the checkpoints.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::{DeliverPolicy, pull::OrderedConfig};
use bytes::Bytes;
use futures::StreamExt as _;
use prost::Message as _;
use redb::Database;
use tillit_proto::common::Position;
use tillit_proto::kernel::Commit;
use tokio::sync::{Mutex, watch};
use tokio::task::JoinHandle;

use super::Projection;
use super::checkpoint::{self, Checkpoint};
use crate::error::KernelError;
use crate::store::{EventStore, StreamState};

/// Settings of the projection runner.
#[derive(Clone, Debug)]
pub struct ProjectionConfig {
    /// Most commits applied in one write transaction.
    pub batch_size: usize,
    /// Longest wait for more commits once a batch has one and more are known to be pending.
    pub batch_delay: Duration,
    /// How often catch-up progress is logged.
    pub progress_every: Duration,
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
            #[cfg(feature = "failpoints")]
            crash_after_applying: None,
        }
    }
}

/// Runs projections over their streams and answers consistency waits.
pub struct ProjectionRunner {
    pub(super) inner: Arc<Inner>,
    tasks: std::sync::Mutex<Vec<JoinHandle<()>>>,
    shutdown: watch::Sender<bool>,
}

pub(super) struct Inner {
    pub(super) db: Arc<Database>,
    pub(super) store: EventStore,
    config: ProjectionConfig,
    /// Progress per source stream, keyed by stream name.
    pub(super) streams: BTreeMap<String, StreamProgress>,
    /// Held while a batch is written, so stopping can wait for the blocking writer.
    write_lock: Arc<Mutex<()>>,
    /// Set when a follower stopped for good (a crash or a fatal error).
    failed: watch::Sender<bool>,
}

pub(super) struct StreamProgress {
    /// Highest sequence every projection on this stream has applied.
    pub(super) applied: watch::Sender<u64>,
    /// Whether the follower has reached the stream's end as seen at its start.
    caught_up: watch::Sender<bool>,
}

impl ProjectionRunner {
    /// Opens (or creates) the redb file at `path`, rebuilds what needs it, and starts
    /// following every source stream.
    pub async fn start(
        path: &Path,
        store: EventStore,
        projections: Vec<Arc<dyn Projection>>,
        config: ProjectionConfig,
    ) -> Result<Self, KernelError> {
        let names: BTreeSet<&str> = projections.iter().map(|p| p.name()).collect();
        if names.len() != projections.len() {
            return Err(KernelError::Internal(
                "two projections in one file share a name".into(),
            ));
        }
        let path = path.to_owned();
        let db = Arc::new(
            tokio::task::spawn_blocking(move || Database::create(path))
                .await
                .map_err(|e| {
                    KernelError::Internal(format!("opening the projection file: {e}"))
                })??,
        );

        let stream_names: BTreeSet<String> = projections.iter().flat_map(|p| p.streams()).collect();
        let mut identities = BTreeMap::new();
        for name in &stream_names {
            identities.insert(name.clone(), store.stream_state(name).await?);
        }
        let checkpoints = {
            let db = db.clone();
            let projections = projections.clone();
            let identities = identities.clone();
            tokio::task::spawn_blocking(move || prepare(&db, &projections, &identities))
                .await
                .map_err(|e| KernelError::Internal(format!("preparing projections: {e}")))??
        };

        let mut streams = BTreeMap::new();
        let mut followers = Vec::new();
        for name in stream_names {
            let on_stream: Vec<_> = projections
                .iter()
                .filter(|p| p.streams().contains(&name))
                .cloned()
                .collect();
            let applied: Vec<u64> = on_stream
                .iter()
                .map(|p| checkpoints[&(p.name().to_owned(), name.clone())])
                .collect();
            let low = applied.iter().copied().min().unwrap_or(0);
            streams.insert(
                name.clone(),
                StreamProgress {
                    applied: watch::Sender::new(low),
                    caught_up: watch::Sender::new(false),
                },
            );
            followers.push(Follower {
                stream: name.clone(),
                projections: on_stream,
                applied,
                identity: identities[&name].map(|s| s.created),
                inner: None,
            });
        }

        let inner = Arc::new(Inner {
            db,
            store,
            config,
            streams,
            write_lock: Arc::new(Mutex::new(())),
            failed: watch::Sender::new(false),
        });
        let (shutdown, _) = watch::channel(false);
        let tasks = followers
            .into_iter()
            .map(|mut follower| {
                follower.inner = Some(inner.clone());
                tokio::spawn(follower.run(shutdown.subscribe()))
            })
            .collect();
        Ok(Self {
            inner,
            tasks: std::sync::Mutex::new(tasks),
            shutdown,
        })
    }

    /// The redb file, for the queries of the service that owns it.
    pub fn database(&self) -> &Arc<Database> {
        &self.inner.db
    }

    /// Whether every source stream has been caught up (false while rebuilding, and after
    /// a follower failed).
    pub fn is_ready(&self) -> bool {
        !self.has_failed() && self.inner.streams.values().all(|s| *s.caught_up.borrow())
    }

    /// Waits until [`ProjectionRunner::is_ready`], at most `timeout`; answers whether it became ready.
    pub async fn wait_ready(&self, timeout: Duration) -> bool {
        let all = async {
            for progress in self.inner.streams.values() {
                let mut caught_up = progress.caught_up.subscribe();
                if caught_up.wait_for(|ready| *ready).await.is_err() {
                    return false;
                }
            }
            true
        };
        tokio::time::timeout(timeout, all).await.unwrap_or(false)
    }

    /// The highest sequence of `stream` that every projection on it has applied.
    pub fn applied(&self, stream: &str) -> Option<u64> {
        self.inner.streams.get(stream).map(|s| *s.applied.borrow())
    }

    /// Whether a follower has stopped for good (a crash or a fatal error): the service is
    /// then not ready and needs a restart.
    pub fn has_failed(&self) -> bool {
        *self.inner.failed.borrow()
    }

    /// Waits until a follower has stopped for good, at most `timeout`; answers whether it did.
    pub async fn wait_failed(&self, timeout: Duration) -> bool {
        let mut failed = self.inner.failed.subscribe();
        tokio::time::timeout(timeout, failed.wait_for(|failed| *failed))
            .await
            .is_ok_and(|changed| changed.is_ok())
    }

    /// Stops after the batch in hand, waits for the followers and their writes, and
    /// closes the file.
    pub async fn shutdown(self) {
        self.stop().await;
    }

    /// Like [`ProjectionRunner::shutdown`] for a shared runner; the file closes when the
    /// last handle is dropped.
    pub async fn stop(&self) {
        let _ = self.shutdown.send(true);
        for task in self.take_tasks() {
            let _ = task.await;
        }
        let _ = self.inner.write_lock.lock().await;
    }

    /// Cancels the followers where they are (as a dying process would, between batches),
    /// waits until no write is in flight and closes the file, so it can be opened again.
    pub async fn abort(self) {
        let tasks = self.take_tasks();
        for task in &tasks {
            task.abort();
        }
        for task in tasks {
            let _ = task.await;
        }
        let _ = self.inner.write_lock.lock().await;
    }

    fn take_tasks(&self) -> Vec<JoinHandle<()>> {
        std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl Drop for ProjectionRunner {
    fn drop(&mut self) {
        for task in self.take_tasks() {
            task.abort();
        }
    }
}

/// Reads every projection's checkpoints, resets the projections that must be rebuilt, and
/// answers the sequence each (projection, stream) continues after.
fn prepare(
    db: &Database,
    projections: &[Arc<dyn Projection>],
    identities: &BTreeMap<String, Option<StreamState>>,
) -> Result<BTreeMap<(String, String), u64>, KernelError> {
    let tx = db.begin_write()?;
    let mut continue_after = BTreeMap::new();
    for projection in projections {
        let name = projection.name();
        let version = projection.schema_version();
        let mut reason = None;
        let mut stored = Vec::new();
        for stream in projection.streams() {
            let identity = identities[&stream].map(|s| s.created);
            let checkpoint = checkpoint::read(&tx, name, &stream)?;
            reason = reason.or(match (checkpoint, identity) {
                (None, _) => Some("no checkpoint (a new or deleted projection file)".to_owned()),
                (Some(cp), _) if cp.schema_version != version => Some(format!(
                    "schema version changed from {} to {version}",
                    cp.schema_version
                )),
                (Some(cp), Some(created)) if cp.stream_created != 0 && cp.stream_created != created => {
                    Some(format!("stream {stream} is another stream than the one projected (a different NATS store)"))
                }
                (Some(cp), None) if cp.sequence > 0 => {
                    Some(format!("stream {stream} no longer exists"))
                }
                _ => None,
            });
            stored.push((stream, checkpoint, identity));
        }
        if let Some(reason) = &reason {
            tracing::info!(projection = name, %reason, "rebuilding projection from sequence 1");
            projection.reset(&tx)?;
        }
        for (stream, checkpoint, identity) in stored {
            let sequence = match (&reason, checkpoint) {
                (None, Some(cp)) => cp.sequence,
                _ => 0,
            };
            checkpoint::write(
                &tx,
                name,
                &stream,
                Checkpoint {
                    sequence,
                    stream_created: identity.unwrap_or(0),
                    schema_version: version,
                },
            )?;
            continue_after.insert((name.to_owned(), stream), sequence);
        }
    }
    tx.commit()?;
    Ok(continue_after)
}

/// Follows one stream for the projections that read it.
struct Follower {
    inner: Option<Arc<Inner>>,
    stream: String,
    projections: Vec<Arc<dyn Projection>>,
    /// Per projection (same order), the last applied sequence.
    applied: Vec<u64>,
    /// The stream's created time, once known.
    identity: Option<i64>,
}

/// Sets the runner's failed flag when dropped armed.
struct FailOnDrop {
    inner: Arc<Inner>,
    armed: bool,
}

impl Drop for FailOnDrop {
    fn drop(&mut self) {
        if self.armed {
            self.inner.failed.send_replace(true);
        }
    }
}

/// Why following stopped.
enum Stop {
    /// Shutdown was asked for.
    Shutdown,
    /// NATS trouble: follow again from the last applied sequence after a pause.
    Transient(String),
    /// Something only a person can fix (a corrupt commit, a full disk).
    Fatal(KernelError),
}

impl Follower {
    fn inner(&self) -> &Arc<Inner> {
        self.inner
            .as_ref()
            .expect("a started follower has its runner")
    }

    fn progress(&self) -> &StreamProgress {
        &self.inner().streams[&self.stream]
    }

    async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        // Marks the runner failed when this task ends other than by shutdown, a panic
        // included (the guard is dropped while unwinding). Cancellation by `abort` counts
        // as a failure too, which is what it stands in for.
        let mut guard = FailOnDrop {
            inner: self.inner().clone(),
            armed: true,
        };
        loop {
            match self.follow(&mut shutdown).await {
                Stop::Shutdown => {
                    guard.armed = false;
                    return;
                }
                Stop::Fatal(error) => {
                    tracing::error!(stream = %self.stream, %error, "projection stopped; fix and restart the service");
                    return;
                }
                Stop::Transient(reason) => {
                    tracing::warn!(stream = %self.stream, %reason, "following the stream again shortly");
                    tokio::select! {
                        _ = shutdown.wait_for(|stop| *stop) => {
                            guard.armed = false;
                            return;
                        }
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            }
        }
    }

    async fn follow(&mut self, shutdown: &mut watch::Receiver<bool>) -> Stop {
        let inner = self.inner().clone();
        let state = match inner.store.stream_state(&self.stream).await {
            Ok(Some(state)) => state,
            Ok(None) => return Stop::Transient("the stream does not exist yet".into()),
            Err(e) => return Stop::Transient(e.to_string()),
        };
        match self.identity {
            None => self.identity = Some(state.created),
            Some(created) if created != state.created => {
                return Stop::Fatal(KernelError::Internal(format!(
                    "stream {} was replaced while projected; restart to rebuild",
                    self.stream
                )));
            }
            Some(_) => {}
        }
        let low = self.low();
        let target = state.last_sequence;
        if low >= target {
            self.progress().caught_up.send_replace(true);
        }
        let stream = match inner.store.stream(&self.stream).await {
            Ok(stream) => stream,
            Err(e) => return Stop::Transient(e.to_string()),
        };
        let deliver_policy = if low == 0 {
            DeliverPolicy::All
        } else {
            DeliverPolicy::ByStartSequence {
                start_sequence: low + 1,
            }
        };
        let consumer = inner.store.bounded(stream.create_consumer(OrderedConfig {
            deliver_policy,
            ..Default::default()
        }));
        let mut messages = match consumer.await {
            Ok(Ok(consumer)) => match consumer.messages().await {
                Ok(messages) => messages,
                Err(e) => return Stop::Transient(e.to_string()),
            },
            Ok(Err(e)) => return Stop::Transient(e.to_string()),
            Err(e) => return Stop::Transient(e.to_string()),
        };

        let started = Instant::now();
        let mut last_log = started;
        let mut done_since_start = 0u64;
        loop {
            let first = tokio::select! {
                _ = shutdown.wait_for(|stop| *stop) => return Stop::Shutdown,
                next = messages.next() => next,
            };
            let mut batch = Vec::new();
            let mut pending = match first.map(|m| {
                m.map_err(|e| e.to_string())
                    .and_then(|m| push(&mut batch, m))
            }) {
                Some(Ok(pending)) => pending,
                Some(Err(e)) => return Stop::Transient(e),
                None => return Stop::Transient("the consumer ended".into()),
            };
            let mut broken = None;
            let deadline = tokio::time::Instant::now() + inner.config.batch_delay;
            while pending > 0 && batch.len() < inner.config.batch_size {
                match tokio::time::timeout_at(deadline, messages.next()).await {
                    Ok(Some(Ok(message))) => match push(&mut batch, message) {
                        Ok(more) => pending = more,
                        Err(e) => {
                            broken = Some(e);
                            break;
                        }
                    },
                    Ok(Some(Err(e))) => {
                        broken = Some(e.to_string());
                        break;
                    }
                    Ok(None) | Err(_) => break,
                }
            }
            let count = batch.len() as u64;
            let last = match self.apply(batch).await {
                Ok(last) => last,
                Err(e) => return Stop::Fatal(e),
            };
            done_since_start += count;
            self.progress().applied.send_replace(self.low());
            let was_caught_up = *self.progress().caught_up.borrow();
            let caught_up = was_caught_up || pending == 0 || last >= target;
            if caught_up != was_caught_up
                || (!caught_up && last_log.elapsed() >= inner.config.progress_every)
            {
                last_log = Instant::now();
                let rate = done_since_start as f64 / started.elapsed().as_secs_f64().max(1e-3);
                tracing::info!(
                    stream = %self.stream,
                    done = last,
                    total = target,
                    events_per_second = rate.round(),
                    "{}",
                    if caught_up { "projection caught up" } else { "projection catching up" }
                );
            }
            if caught_up {
                self.progress().caught_up.send_replace(true);
            }
            if let Some(reason) = broken {
                return Stop::Transient(reason);
            }
        }
    }

    /// The lowest applied sequence over the projections on this stream.
    fn low(&self) -> u64 {
        self.applied.iter().copied().min().unwrap_or(0)
    }

    /// Applies a batch in one write transaction with the checkpoints; answers its last sequence.
    async fn apply(&mut self, batch: Vec<(u64, Bytes)>) -> Result<u64, KernelError> {
        let inner = self.inner().clone();
        let guard = inner.write_lock.clone().lock_owned().await;
        let projections = self.projections.clone();
        let mut applied = self.applied.clone();
        let stream = self.stream.clone();
        let identity = self.identity.unwrap_or(0);
        let db = inner.db.clone();
        #[cfg(feature = "failpoints")]
        let crash_after = inner.config.crash_after_applying;
        let written = tokio::task::spawn_blocking(move || {
            // Locals drop in reverse order: the database handle goes before the lock is
            // released, so whoever waits on the lock may reopen the file.
            let _guard = guard;
            let db = db;
            let tx = db.begin_write()?;
            let mut last = 0;
            for (index, (sequence, payload)) in batch.iter().enumerate() {
                let commit = Commit::decode(payload.as_ref())
                    .map_err(|e| KernelError::Corrupt(format!("{stream} at {sequence}: {e}")))?;
                let position = Position {
                    stream: stream.clone(),
                    sequence: *sequence,
                };
                for (projection, done) in projections.iter().zip(&applied) {
                    if *sequence > *done {
                        projection.apply_with_bytes(&tx, &commit, &position, payload)?;
                    }
                }
                last = *sequence;
                #[cfg(feature = "failpoints")]
                if crash_after == Some(index + 1) {
                    panic!(
                        "failpoint: crashing after applying {} commits of a batch",
                        index + 1
                    );
                }
                #[cfg(not(feature = "failpoints"))]
                let _ = index;
            }
            for (projection, done) in projections.iter().zip(applied.iter_mut()) {
                *done = (*done).max(last);
                checkpoint::write(
                    &tx,
                    projection.name(),
                    &stream,
                    Checkpoint {
                        sequence: *done,
                        stream_created: identity,
                        schema_version: projection.schema_version(),
                    },
                )?;
            }
            tx.commit()?;
            Ok::<_, KernelError>((last, applied))
        })
        .await;
        match written {
            Ok(Ok((last, applied))) => {
                self.applied = applied;
                Ok(last)
            }
            Ok(Err(e)) => Err(e),
            // A panic inside the write (the failpoint, or a bug) crashes the follower, as it
            // would crash a process; the transaction was never committed.
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(KernelError::Internal(format!("projection writer: {e}"))),
        }
    }
}

/// Adds a message to the batch; answers how many more the server says are pending.
fn push(
    batch: &mut Vec<(u64, Bytes)>,
    message: async_nats::jetstream::Message,
) -> Result<u64, String> {
    let info = message
        .info()
        .map_err(|e| format!("a message without JetStream metadata: {e}"))?;
    let (sequence, pending) = (info.stream_sequence, info.pending);
    batch.push((sequence, message.payload.clone()));
    Ok(pending)
}
