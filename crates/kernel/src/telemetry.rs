//! What the kernel tells operators: W3C trace context carried in NATS message headers, and
//! the kernel's Prometheus metrics (commands, appends, projections, the NATS connection).
//!
//! The kernel only uses the OpenTelemetry API: `crates/runtime` installs the tracer
//! provider, the propagator and the exporter, and registers [`KernelMetrics`] in the
//! service's registry. Without them, injecting writes nothing and extracting finds nothing.

use std::time::Duration;

use async_nats::HeaderMap;
use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::{SpanContext, TraceContextExt as _};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Writes trace context fields into a NATS header map.
struct HeaderInjector<'a>(&'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key, value.as_str());
    }
}

/// Reads trace context fields from a NATS header map.
struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(async_nats::HeaderValue::as_str)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(name, _)| name.as_ref()).collect()
    }
}

/// The current span's trace context (`traceparent`, `tracestate`) as NATS headers; empty
/// when no span is current or no propagator is installed.
pub fn current_trace_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(
            &opentelemetry::Context::current(),
            &mut HeaderInjector(&mut headers),
        );
    });
    headers
}

/// The span context a message's headers carry, if they carry a valid one.
pub fn trace_context_of(headers: Option<&HeaderMap>) -> Option<SpanContext> {
    let headers = headers?;
    let context = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&HeaderExtractor(headers))
    });
    let span = context.span().span_context().clone();
    span.is_valid().then_some(span)
}

/// How a command ended, as `tillit_commands_total{outcome}` counts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CommandOutcome {
    /// Appended (or nothing to append) at the first attempt.
    Ok,
    /// Appended after losing at least one race and deciding again.
    Retried,
    /// Answered from the log: the idempotency key was seen before.
    Replayed,
    /// Lost every race up to the attempt limit.
    Aborted,
    /// The decider refused it because the input is bad.
    Invalid,
    /// The decider refused it in the aggregate's state.
    Refused,
    /// The kernel could not run it (NATS unavailable, outcome unknown, corrupt log).
    Failed,
}

impl CommandOutcome {
    fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Retried => "retried",
            Self::Replayed => "replayed",
            Self::Aborted => "aborted",
            Self::Invalid => "invalid",
            Self::Refused => "refused",
            Self::Failed => "failed",
        }
    }
}

/// How a decider's error counts: bad input, or refused in the state. Every decider's
/// error type says which.
pub trait CommandRefusal {
    /// True when the command's input is bad (INVALID_ARGUMENT), not the state.
    fn is_invalid(&self) -> bool {
        false
    }
}

impl CommandRefusal for std::convert::Infallible {}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CommandLabels {
    aggregate: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AggregateLabels {
    aggregate: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StreamLabels {
    stream: String,
}

fn seconds_buckets() -> impl Iterator<Item = f64> {
    // 0.5 ms … about 16 s.
    exponential_buckets(0.0005, 2.0, 16)
}

fn stream_histogram(buckets: fn() -> Histogram) -> Family<StreamLabels, Histogram> {
    Family::new_with_constructor(buckets)
}

/// The kernel's metrics of one service; cheap to clone, registered by the runtime.
#[derive(Clone)]
pub struct KernelMetrics {
    commands: Family<CommandLabels, Counter>,
    conflicts: Family<AggregateLabels, Counter>,
    append: Family<StreamLabels, Histogram>,
    lag: Family<StreamLabels, Gauge>,
    batch: Family<StreamLabels, Histogram>,
    batch_seconds: Family<StreamLabels, Histogram>,
    applied: Family<StreamLabels, Counter>,
    connected: Gauge,
}

impl std::fmt::Debug for KernelMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KernelMetrics")
    }
}

impl Default for KernelMetrics {
    fn default() -> Self {
        Self {
            commands: Family::default(),
            conflicts: Family::default(),
            append: stream_histogram(|| Histogram::new(seconds_buckets())),
            lag: Family::default(),
            batch: stream_histogram(|| Histogram::new(exponential_buckets(1.0, 2.0, 10))),
            batch_seconds: stream_histogram(|| Histogram::new(seconds_buckets())),
            applied: Family::default(),
            connected: Gauge::default(),
        }
    }
}

impl KernelMetrics {
    /// Adds every kernel metric to `registry`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "tillit_commands",
            "Commands executed, by aggregate type and outcome (ok, retried, replayed, aborted, invalid, refused, failed)",
            self.commands.clone(),
        );
        registry.register(
            "tillit_command_conflicts",
            "Appends that lost a race (another writer came first) and were decided again",
            self.conflicts.clone(),
        );
        registry.register(
            "tillit_append_duration_seconds",
            "Time from publishing a commit to JetStream's acknowledgement, by stream",
            self.append.clone(),
        );
        registry.register(
            "tillit_projection_lag_commits",
            "Commits in the stream not yet applied by this service's projections (stream last sequence minus checkpoint)",
            self.lag.clone(),
        );
        registry.register(
            "tillit_projection_batch_commits",
            "Commits applied per projection batch (one redb write transaction)",
            self.batch.clone(),
        );
        registry.register(
            "tillit_projection_batch_duration_seconds",
            "Time to apply one projection batch, write transaction included",
            self.batch_seconds.clone(),
        );
        registry.register(
            "tillit_projection_applied_commits",
            "Commits applied by this service's projections, by stream",
            self.applied.clone(),
        );
        registry.register(
            "tillit_nats_connected",
            "1 while the client is connected to a NATS server, else 0",
            self.connected.clone(),
        );
    }

    pub(crate) fn command(&self, aggregate: &str, outcome: CommandOutcome) {
        self.commands
            .get_or_create(&CommandLabels {
                aggregate: aggregate.to_owned(),
                outcome: outcome.label(),
            })
            .inc();
    }

    pub(crate) fn conflict(&self, aggregate: &str) {
        self.conflicts
            .get_or_create(&AggregateLabels {
                aggregate: aggregate.to_owned(),
            })
            .inc();
    }

    pub(crate) fn appended(&self, stream: &str, took: Duration) {
        self.append
            .get_or_create(&stream_labels(stream))
            .observe(took.as_secs_f64());
    }

    pub(crate) fn lag(&self, stream: &str, commits: u64) {
        self.lag
            .get_or_create(&stream_labels(stream))
            .set(i64::try_from(commits).unwrap_or(i64::MAX));
    }

    pub(crate) fn batch(&self, stream: &str, commits: usize, took: Duration) {
        let labels = stream_labels(stream);
        self.batch.get_or_create(&labels).observe(commits as f64);
        self.batch_seconds
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
        self.applied.get_or_create(&labels).inc_by(commits as u64);
    }

    pub(crate) fn connected(&self, connected: bool) {
        self.connected.set(i64::from(connected));
    }
}

fn stream_labels(stream: &str) -> StreamLabels {
    StreamLabels {
        stream: stream.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_without_a_valid_traceparent_carry_no_context() {
        assert!(trace_context_of(None).is_none());
        let mut headers = HeaderMap::new();
        headers.insert("traceparent", "not a trace");
        assert!(trace_context_of(Some(&headers)).is_none());
    }

    #[test]
    fn metrics_render_under_their_names() {
        let metrics = KernelMetrics::default();
        let mut registry = Registry::default();
        metrics.register(&mut registry);
        metrics.command("incident", CommandOutcome::Retried);
        metrics.appended("INCIDENTS", Duration::from_millis(3));
        metrics.batch("INCIDENTS", 7, Duration::from_millis(1));
        metrics.lag("INCIDENTS", 4);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        for expected in [
            "tillit_commands_total{aggregate=\"incident\",outcome=\"retried\"} 1",
            "tillit_append_duration_seconds_count{stream=\"INCIDENTS\"} 1",
            "tillit_projection_batch_commits_sum{stream=\"INCIDENTS\"} 7.0",
            "tillit_projection_lag_commits{stream=\"INCIDENTS\"} 4",
            "tillit_projection_applied_commits_total{stream=\"INCIDENTS\"} 7",
        ] {
            assert!(text.contains(expected), "{expected} in\n{text}");
        }
    }
}
