//! The projection runner: one follower task per source stream, batches applied in one redb
//! write transaction together with the checkpoints.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use redb::Database;
use tokio::sync::{Mutex, watch};
use tokio::task::JoinHandle;

use super::Projection;
use super::checkpoint::Checkpoint;
use super::follower::Follower;
use super::start;
use super::state::{Inner, ProjectionConfig, StreamProgress};
use crate::error::KernelError;
use crate::store::EventStore;

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
            let end = progress.end_seen.load(std::sync::atomic::Ordering::Relaxed);
            let lag = end.saturating_sub(*progress.applied.borrow());
            if lag > self.inner.config.ready_max_lag {
                return Err(format!(
                    "projection of {name} is {lag} commits behind (more than {})",
                    self.inner.config.ready_max_lag
                ));
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
            start::prepare(&inner.db, &inner.projections, &found)
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
                self.store
                    .metrics()
                    .lag(&stream, end.saturating_sub(*progress.applied.borrow()));
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
