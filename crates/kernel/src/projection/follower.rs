//! One stream's follower: reads the stream with an ordered consumer from the lowest
//! checkpoint + 1 and applies batches (bounded by count and time) in one redb write
//! transaction with the checkpoints; reconnects after NATS trouble, reports faults.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::{DeliverPolicy, pull::OrderedConfig};
use bytes::Bytes;
use futures::StreamExt as _;
use opentelemetry::trace::SpanContext;
use prost::Message as _;
use tillit_proto::common::Position;
use tillit_proto::kernel::Commit;
use tokio::sync::watch;
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use super::Projection;
use super::checkpoint::{self, Checkpoint};
use super::state::{Inner, StreamProgress};
use crate::error::KernelError;

/// Follows one stream for the projections that read it.
pub(super) struct Follower {
    pub(super) inner: Arc<Inner>,
    pub(super) stream: String,
    pub(super) projections: Vec<Arc<dyn Projection>>,
    /// Per projection (same order), the last applied sequence.
    pub(super) applied: Vec<u64>,
    /// The stream's identity, once it holds a message.
    pub(super) identity: Option<String>,
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
    pub(super) async fn run(mut self, mut stop: watch::Receiver<bool>) -> Option<String> {
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
            let batch_span = batch_span(&self.stream, &batch);
            let applying = Instant::now();
            let last = match self.apply(batch).instrument(batch_span).await {
                Ok(last) => last,
                Err(e) => return Stop::Fault(e.to_string()),
            };
            let metrics = inner.store.metrics();
            metrics.batch(&self.stream, count as usize, applying.elapsed());
            done_since_start += count;
            self.progress().applied.send_replace(self.low());
            let end = self
                .progress()
                .end_seen
                .load(std::sync::atomic::Ordering::Relaxed)
                .max(target);
            metrics.lag(&self.stream, end.saturating_sub(self.low()));
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
    async fn apply(&mut self, batch: Vec<Delivered>) -> Result<u64, KernelError> {
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
            for (index, (sequence, payload, _)) in batch.iter().enumerate() {
                let commit = Commit::decode(payload.as_ref())
                    .map_err(|e| KernelError::Corrupt(format!("{stream} at {sequence}: {e}")))?;
                // Sealed values are stored as they are; each must sit where it was sealed.
                crate::personal::check_commit(&stream, &commit)?;
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

/// A commit as delivered: its sequence, its bytes, and the trace context it was appended in.
type Delivered = (u64, Bytes, Option<SpanContext>);

/// Adds a message to the batch; answers how many more the server says are pending.
fn push(
    batch: &mut Vec<Delivered>,
    message: async_nats::jetstream::Message,
) -> Result<u64, String> {
    let info = message
        .info()
        .map_err(|e| format!("a message without JetStream metadata: {e}"))?;
    let (sequence, pending) = (info.stream_sequence, info.pending);
    let context = crate::telemetry::trace_context_of(message.headers.as_ref());
    batch.push((sequence, message.payload.clone(), context));
    Ok(pending)
}

/// Most links one batch span carries (the SDK's default limit).
const MAX_LINKS: usize = 128;

/// The span of applying one batch: a root of its own (one batch applies commits of many
/// requests), linked to the trace of each commit it applies.
fn batch_span(stream: &str, batch: &[Delivered]) -> tracing::Span {
    let first = batch.first().map_or(0, |(sequence, ..)| *sequence);
    let last = batch.last().map_or(0, |(sequence, ..)| *sequence);
    let span = tracing::info_span!(
        parent: None,
        "projection batch",
        otel.kind = "consumer",
        messaging.system = "nats",
        messaging.destination.name = stream,
        messaging.batch.message_count = batch.len(),
        tillit.first_sequence = first,
        tillit.last_sequence = last,
    );
    let mut linked = std::collections::HashSet::new();
    for context in batch.iter().filter_map(|(_, _, context)| context.as_ref()) {
        if linked.len() < MAX_LINKS && linked.insert(context.span_id()) {
            span.add_link(context.clone());
        }
    }
    span
}
