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
    /// How often each stream's end is asked for, to confirm the projection is current
    /// (also while nothing happens, so a quiet system is known to be current).
    pub confirm_every: Duration,
    /// How long a stream may go unconfirmed before the runner counts as stale: not
    /// ready, and (for the identity view) no token is accepted.
    pub max_staleness: Duration,
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
            #[cfg(feature = "failpoints")]
            crash_after_applying: None,
        }
    }
}

/// Runs projections over their streams and answers consistency waits.
pub struct ProjectionRunner {
    pub(super) inner: Arc<Inner>,
    supervisor: std::sync::Mutex<Option<JoinHandle<()>>>,
    /// `Stop` ends the followers after the batch in hand; `Abort` cancels them where they are.
    halt: watch::Sender<Halt>,
}

/// How the runner is asked to end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Halt {
    Run,
    Stop,
    Abort,
}

pub(super) struct Inner {
    pub(super) db: Arc<Database>,
    pub(super) store: EventStore,
    config: ProjectionConfig,
    projections: Vec<Arc<dyn Projection>>,
    /// Progress per source stream, keyed by stream name.
    pub(super) streams: BTreeMap<String, StreamProgress>,
    /// Held while a batch is written, so stopping can wait for the blocking writer.
    write_lock: Arc<Mutex<()>>,
    /// Why the followers are not running normally (a real fault, being retried), if so.
    problem: watch::Sender<Option<String>>,
}

pub(super) struct StreamProgress {
    /// Highest sequence every projection on this stream has applied.
    pub(super) applied: watch::Sender<u64>,
    /// Whether the follower has reached the stream's end as seen at its start.
    caught_up: watch::Sender<bool>,
    /// When the stream's end was last asked for and found applied (or, when the end was
    /// beyond, applied soon after): the projection was current at that moment.
    confirmed: std::sync::Mutex<Option<Instant>>,
    /// The stream's last sequence as last asked for; a follower that receives nothing
    /// while this is beyond what it applied has a consumer that died with the server.
    end_seen: std::sync::atomic::AtomicU64,
}

impl StreamProgress {
    fn confirmed(&self) -> Option<Instant> {
        *self.confirmed.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn confirm(&self, at: Instant) {
        let mut confirmed = self.confirmed.lock().unwrap_or_else(|p| p.into_inner());
        if confirmed.is_none_or(|before| before < at) {
            *confirmed = Some(at);
        }
    }
}

impl ProjectionRunner {
    /// Opens (or creates) the redb file at `path`, rebuilds what needs it, and starts
    /// following every source stream. From then on it heals itself: NATS going away and
    /// coming back, a follower failing (retried with backoff, the reason in
    /// [`ProjectionRunner::readiness`]) or a stream that turns out to be another one
    /// (rebuilt) need no restart.
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
        let streams = stream_names
            .iter()
            .map(|name| {
                (
                    name.clone(),
                    StreamProgress {
                        applied: watch::Sender::new(0),
                        caught_up: watch::Sender::new(false),
                        confirmed: std::sync::Mutex::new(None),
                        end_seen: std::sync::atomic::AtomicU64::new(0),
                    },
                )
            })
            .collect();
        let inner = Arc::new(Inner {
            db,
            store,
            config,
            projections,
            streams,
            write_lock: Arc::new(Mutex::new(())),
            problem: watch::Sender::new(None),
        });
        let checkpoints = inner.prepare().await?;
        let (halt, _) = watch::channel(Halt::Run);
        let supervisor = tokio::spawn(inner.clone().supervise(checkpoints, halt.subscribe()));
        Ok(Self {
            inner,
            supervisor: std::sync::Mutex::new(Some(supervisor)),
            halt,
        })
    }

    /// The redb file, for the queries of the service that owns it.
    pub fn database(&self) -> &Arc<Database> {
        &self.inner.db
    }

    /// Whether every source stream has been caught up and recently confirmed current
    /// (false while rebuilding, while NATS cannot be asked, and while a fault is retried).
    pub fn is_ready(&self) -> bool {
        self.readiness().is_ok()
    }

    /// [`ProjectionRunner::is_ready`] with the reason when not: what `/readyz` says.
    pub fn readiness(&self) -> Result<(), String> {
        if let Some(problem) = self.inner.problem.borrow().clone() {
            return Err(problem);
        }
        for (name, progress) in &self.inner.streams {
            if !*progress.caught_up.borrow() {
                return Err(format!("projection of {name} is catching up"));
            }
            if let Some(stale) = self
                .staleness(name)
                .filter(|s| *s > self.inner.config.max_staleness)
            {
                return Err(format!(
                    "projection of {name} not confirmed current for {} s (NATS unreachable?)",
                    stale.as_secs()
                ));
            }
        }
        Ok(())
    }

    /// How long ago `stream`'s projection was last confirmed to have applied the stream's
    /// end; `None` for a stream it does not project. Never confirmed counts from the start.
    pub fn staleness(&self, stream: &str) -> Option<Duration> {
        let progress = self.inner.streams.get(stream)?;
        Some(match progress.confirmed() {
            Some(at) => at.elapsed(),
            None => Duration::MAX,
        })
    }

    /// The staleness beyond which the runner is not ready (`max_staleness`).
    pub fn max_staleness(&self) -> Duration {
        self.inner.config.max_staleness
    }

    /// Waits until [`ProjectionRunner::is_ready`], at most `timeout`; answers whether it became ready.
    pub async fn wait_ready(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.is_ready() {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The highest sequence of `stream` that every projection on it has applied.
    pub fn applied(&self, stream: &str) -> Option<u64> {
        self.inner.streams.get(stream).map(|s| *s.applied.borrow())
    }

    /// Whether a follower has stopped for a real reason (a crash, a corrupt commit, a
    /// full disk) and is being retried: the service is not ready meanwhile.
    pub fn has_failed(&self) -> bool {
        self.inner.problem.borrow().is_some()
    }

    /// Waits until a follower has stopped for a real reason, at most `timeout`; answers
    /// whether it did.
    pub async fn wait_failed(&self, timeout: Duration) -> bool {
        let mut problem = self.inner.problem.subscribe();
        tokio::time::timeout(timeout, problem.wait_for(Option::is_some))
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
        self.halt(Halt::Stop).await;
    }

    /// Cancels the followers where they are (as a dying process would, between batches),
    /// waits until no write is in flight and closes the file, so it can be opened again.
    pub async fn abort(self) {
        self.halt(Halt::Abort).await;
    }

    async fn halt(&self, how: Halt) {
        let _ = self.halt.send(how);
        let supervisor = self
            .supervisor
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(supervisor) = supervisor {
            let _ = supervisor.await;
        }
        let _ = self.inner.write_lock.lock().await;
    }
}

impl Drop for ProjectionRunner {
    fn drop(&mut self) {
        let _ = self.halt.send(Halt::Abort);
        if let Some(supervisor) = self
            .supervisor
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            supervisor.abort();
        }
    }
}

/// Longest pause between two attempts to run the followers after a fault.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// A run of the followers that lasted this long without a fault resets the backoff.
const HEALTHY_RUN: Duration = Duration::from_secs(60);

impl Inner {
    /// Reads the checkpoints and decides, per projection, whether it continues or is
    /// rebuilt; answers where each (projection, stream) continues after.
    async fn prepare(
        self: &Arc<Self>,
    ) -> Result<BTreeMap<(String, String), Checkpoint>, KernelError> {
        let mut found = BTreeMap::new();
        for name in self.streams.keys() {
            let state = self.store.stream_state(name).await?;
            let identity = match state {
                Some(state) if state.last_sequence > 0 => self.store.stream_identity(name).await?,
                _ => None,
            };
            found.insert(name.clone(), (state, identity));
        }
        let inner = self.clone();
        let (checkpoints, decisions) = tokio::task::spawn_blocking(move || {
            let _guard = inner.write_lock.blocking_lock();
            prepare(&inner.db, &inner.projections, &found)
        })
        .await
        .map_err(|e| KernelError::Internal(format!("preparing projections: {e}")))??;
        // Logged here rather than in the blocking writer, so the lines carry the caller's
        // span and subscriber.
        for decision in decisions {
            match decision.rebuild {
                Some(reason) => tracing::info!(
                    projection = decision.projection, %reason, "rebuilding projection from sequence 1"
                ),
                None => tracing::info!(
                    projection = decision.projection,
                    checkpoints = %decision.checkpoints,
                    "resuming projection from its checkpoint"
                ),
            }
        }
        Ok(checkpoints)
    }

    /// Runs the followers; restarts them (with a fresh look at the checkpoints) after a
    /// fault or a replaced stream, with a doubling pause, until halted.
    async fn supervise(
        self: Arc<Self>,
        first: BTreeMap<(String, String), Checkpoint>,
        mut halt: watch::Receiver<Halt>,
    ) {
        let mut checkpoints = Some(first);
        let mut backoff = Duration::from_secs(1);
        loop {
            let prepared = match checkpoints.take() {
                Some(prepared) => Ok(prepared),
                None => self.prepare().await,
            };
            let fault = match prepared {
                Ok(prepared) => {
                    let started = Instant::now();
                    match self.run_followers(prepared, &mut halt).await {
                        None => return,
                        Some(fault) => {
                            if started.elapsed() >= HEALTHY_RUN {
                                backoff = Duration::from_secs(1);
                            }
                            fault
                        }
                    }
                }
                Err(e) => format!("preparing projections: {e}"),
            };
            tracing::error!(problem = %fault, retry_in = ?backoff, "projections stopped; retrying");
            self.problem
                .send_replace(Some(format!("{fault} (retrying in {backoff:?})")));
            tokio::select! {
                _ = async { halt.wait_for(|h| *h != Halt::Run).await.is_ok() } => return,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// Runs one follower per stream from `prepared` until one of them meets a fault
    /// (answered) or the runner is halted (`None`).
    async fn run_followers(
        self: &Arc<Self>,
        prepared: BTreeMap<(String, String), Checkpoint>,
        halt: &mut watch::Receiver<Halt>,
    ) -> Option<String> {
        let (stop, _) = watch::channel(false);
        let mut followers = tokio::task::JoinSet::new();
        for (name, progress) in &self.streams {
            let on_stream: Vec<_> = self
                .projections
                .iter()
                .filter(|p| p.streams().contains(name))
                .cloned()
                .collect();
            let checkpoints: Vec<&Checkpoint> = on_stream
                .iter()
                .map(|p| &prepared[&(p.name().to_owned(), name.clone())])
                .collect();
            let applied: Vec<u64> = checkpoints.iter().map(|c| c.sequence).collect();
            let identity = checkpoints
                .iter()
                .map(|c| c.stream_identity.clone())
                .find(|i| !i.is_empty());
            progress
                .applied
                .send_replace(applied.iter().copied().min().unwrap_or(0));
            progress.caught_up.send_replace(false);
            let follower = Follower {
                inner: self.clone(),
                stream: name.clone(),
                projections: on_stream,
                applied,
                identity,
            };
            followers.spawn(follower.run(stop.subscribe()));
            followers.spawn(self.clone().confirm(name.clone(), stop.subscribe()));
        }
        let mut caught_up: Vec<_> = self
            .streams
            .values()
            .map(|p| p.caught_up.subscribe())
            .collect();
        let all_caught_up = async move {
            for watch in &mut caught_up {
                let _ = watch.wait_for(|ready| *ready).await;
            }
        };
        tokio::pin!(all_caught_up);
        let mut recovered = false;
        let fault = loop {
            tokio::select! {
                abort = async { halt.wait_for(|h| *h != Halt::Run).await.map_or(true, |h| *h == Halt::Abort) } => {
                    if abort {
                        followers.abort_all();
                    } else {
                        let _ = stop.send(true);
                    }
                    while followers.join_next().await.is_some() {}
                    return None;
                }
                ended = followers.join_next() => match ended {
                    Some(Ok(Some(fault))) => break fault,
                    Some(Ok(None)) => {}
                    Some(Err(e)) if e.is_panic() => {
                        break format!("a projection panicked: {}", panic_text(e.into_panic()));
                    }
                    Some(Err(e)) => break format!("a follower ended: {e}"),
                    None => break "every follower ended".to_owned(),
                },
                // Every stream caught up again after a fault: the fault is over.
                () = &mut all_caught_up, if !recovered => {
                    recovered = true;
                    self.problem.send_replace(None);
                }
            }
        };
        let _ = stop.send(true);
        followers.abort_all();
        while followers.join_next().await.is_some() {}
        Some(fault)
    }

    /// Confirms, every `confirm_every`, that `stream`'s projection has applied the
    /// stream's end as NATS states it now. Never ends with a fault.
    async fn confirm(
        self: Arc<Self>,
        stream: String,
        mut stop: watch::Receiver<bool>,
    ) -> Option<String> {
        let progress = &self.streams[&stream];
        loop {
            let asked = Instant::now();
            let check = async {
                let end = match self.store.stream_state(&stream).await {
                    Ok(Some(state)) => state.last_sequence,
                    Ok(None) => 0,
                    Err(_) => return,
                };
                progress
                    .end_seen
                    .store(end, std::sync::atomic::Ordering::Relaxed);
                let mut applied = progress.applied.subscribe();
                let reached = tokio::time::timeout(
                    self.config.max_staleness,
                    applied.wait_for(|applied| *applied >= end),
                )
                .await;
                if matches!(reached, Ok(Ok(_))) {
                    progress.confirm(asked);
                }
            };
            tokio::select! {
                _ = stop.wait_for(|stop| *stop) => return None,
                () = check => {}
            }
            tokio::select! {
                _ = stop.wait_for(|stop| *stop) => return None,
                () = tokio::time::sleep(self.config.confirm_every) => {}
            }
        }
    }
}

fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

/// Reads every projection's checkpoints, resets the projections that must be rebuilt, and
/// answers the checkpoint each (projection, stream) continues after. `found` is what NATS
/// says of each stream now: its extent and identity.
fn prepare(
    db: &Database,
    projections: &[Arc<dyn Projection>],
    found: &BTreeMap<String, (Option<StreamState>, Option<String>)>,
) -> Result<Prepared, KernelError> {
    let tx = db.begin_write()?;
    checkpoint::drop_old_format(&tx)?;
    let mut continue_after = BTreeMap::new();
    let mut decisions = Vec::new();
    for projection in projections {
        let name = projection.name();
        let version = projection.schema_version();
        let mut reason = None;
        let mut stored = Vec::new();
        for stream in projection.streams() {
            let (state, identity) = &found[&stream];
            let checkpoint = checkpoint::read(&tx, name, &stream)?;
            reason = reason.or_else(|| {
                rebuild_reason(
                    &stream,
                    checkpoint.as_ref(),
                    *state,
                    identity.as_deref(),
                    version,
                )
            });
            stored.push((stream, checkpoint, identity.clone()));
        }
        if reason.is_some() {
            projection.reset(&tx)?;
        }
        let positions: Vec<String> = stored
            .iter()
            .map(|(stream, cp, _)| format!("{stream}:{}", cp.as_ref().map_or(0, |c| c.sequence)))
            .collect();
        decisions.push(Decision {
            projection: name,
            rebuild: reason.clone(),
            checkpoints: positions.join(","),
        });
        for (stream, checkpoint, identity) in stored {
            let sequence = match (&reason, &checkpoint) {
                (None, Some(cp)) => cp.sequence,
                _ => 0,
            };
            let checkpoint = Checkpoint {
                sequence,
                stream_identity: identity.unwrap_or_default(),
                schema_version: version,
            };
            checkpoint::write(&tx, name, &stream, &checkpoint)?;
            continue_after.insert((name.to_owned(), stream), checkpoint);
        }
    }
    tx.commit()?;
    Ok((continue_after, decisions))
}

/// What [`prepare`] decided for one projection, logged once the file is written.
struct Decision {
    projection: &'static str,
    /// Why it is rebuilt from sequence 1, if it is.
    rebuild: Option<String>,
    /// `STREAM:sequence` of each checkpoint found.
    checkpoints: String,
}

/// A prepared start: where each (projection, stream) continues after, and the decisions.
type Prepared = (BTreeMap<(String, String), Checkpoint>, Vec<Decision>);

/// Why a projection must be rebuilt from sequence 1 rather than continue, if it must.
fn rebuild_reason(
    stream: &str,
    checkpoint: Option<&Checkpoint>,
    state: Option<StreamState>,
    identity: Option<&str>,
    version: u32,
) -> Option<String> {
    let cp = match checkpoint {
        None => return Some("no checkpoint (a new or deleted projection file)".to_owned()),
        Some(cp) => cp,
    };
    if cp.schema_version != version {
        return Some(format!(
            "schema version changed from {} to {version}",
            cp.schema_version
        ));
    }
    match (state, identity) {
        (None, _) if cp.sequence > 0 => Some(format!("stream {stream} no longer exists")),
        (Some(state), _) if state.last_sequence < cp.sequence => Some(format!(
            "stream {stream} ends before the checkpoint (another NATS store, or one that lost data)"
        )),
        (_, Some(identity)) if !cp.stream_identity.is_empty() && cp.stream_identity != identity => {
            Some(format!(
                "stream {stream} is another stream than the one projected (a different NATS store)"
            ))
        }
        _ => None,
    }
}

/// Follows one stream for the projections that read it.
struct Follower {
    inner: Arc<Inner>,
    stream: String,
    projections: Vec<Arc<dyn Projection>>,
    /// Per projection (same order), the last applied sequence.
    applied: Vec<u64>,
    /// The stream's identity, once it holds a message.
    identity: Option<String>,
}

/// Why following stopped.
enum Stop {
    /// Shutdown was asked for.
    Shutdown,
    /// NATS trouble: follow again from the last applied sequence after a pause.
    Transient(String),
    /// A fault the supervisor handles: a corrupt commit, a full disk, a replaced stream.
    Fault(String),
}

/// Longest pause between two attempts to follow after NATS trouble.
const MAX_RECONNECT_PAUSE: Duration = Duration::from_secs(2);

impl Follower {
    fn progress(&self) -> &StreamProgress {
        &self.inner.streams[&self.stream]
    }

    /// Follows until stopped (`None`) or a fault only a fresh start can handle.
    async fn run(mut self, mut stop: watch::Receiver<bool>) -> Option<String> {
        let mut pause = Duration::from_millis(100);
        loop {
            let started = Instant::now();
            let outcome = self.follow(&mut stop).await;
            if started.elapsed() > Duration::from_secs(5) {
                pause = Duration::from_millis(100);
            }
            match outcome {
                Stop::Shutdown => return None,
                Stop::Fault(fault) => return Some(format!("stream {}: {fault}", self.stream)),
                Stop::Transient(reason) => {
                    tracing::warn!(stream = %self.stream, %reason, "following the stream again shortly");
                    tokio::select! {
                        _ = stop.wait_for(|stop| *stop) => return None,
                        () = tokio::time::sleep(pause) => {}
                    }
                    pause = (pause * 2).min(MAX_RECONNECT_PAUSE);
                }
            }
        }
    }

    async fn follow(&mut self, stop: &mut watch::Receiver<bool>) -> Stop {
        let inner = self.inner.clone();
        let state = match inner.store.stream_state(&self.stream).await {
            Ok(Some(state)) => state,
            Ok(None) => return Stop::Transient("the stream does not exist yet".into()),
            Err(e) => return Stop::Transient(e.to_string()),
        };
        if state.last_sequence > 0 {
            match inner.store.stream_identity(&self.stream).await {
                Ok(Some(found)) => match &self.identity {
                    Some(known) if *known != found => {
                        return Stop::Fault("another stream than the one projected (a different NATS store); rebuilding".into());
                    }
                    _ => self.identity = Some(found),
                },
                Ok(None) => {}
                Err(e) => return Stop::Transient(e.to_string()),
            }
        }
        let low = self.low();
        if state.last_sequence < low {
            return Stop::Fault(format!(
                "the stream ends at {} before the applied {low}; rebuilding",
                state.last_sequence
            ));
        }
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
        // An ordered consumer does not always survive a restart of the server: it may wait
        // forever for messages that no longer come. Whether it still lives is judged by
        // the stream's end, which the confirming task asks for.
        // A reconnection to a (restarted) server makes a new consumer at once; a consumer
        // silent while the stream holds more than is applied is made again too.
        let stall_check = (inner.config.max_staleness / 4).max(Duration::from_millis(200));
        let mut connections = inner.store.connections();
        connections.mark_unchanged();
        loop {
            let first = tokio::select! {
                _ = stop.wait_for(|stop| *stop) => return Stop::Shutdown,
                next = messages.next() => next,
                _ = connections.changed() => {
                    return Stop::Transient("reconnected to NATS; following with a new consumer".into());
                }
                () = tokio::time::sleep(stall_check) => {
                    let end = self.progress().end_seen.load(std::sync::atomic::Ordering::Relaxed);
                    if end > self.low() {
                        return Stop::Transient(format!(
                            "the consumer delivered nothing while the stream holds up to {end} and {} is applied",
                            self.low()
                        ));
                    }
                    continue;
                }
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
                Err(e) => return Stop::Fault(e.to_string()),
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
        let inner = self.inner.clone();
        let guard = inner.write_lock.clone().lock_owned().await;
        let projections = self.projections.clone();
        let mut applied = self.applied.clone();
        let stream = self.stream.clone();
        let identity = self.identity.clone().unwrap_or_default();
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
                    &Checkpoint {
                        sequence: *done,
                        stream_identity: identity.clone(),
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
