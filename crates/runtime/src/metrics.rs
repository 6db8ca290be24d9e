//! One service's metrics, served as Prometheus text at `/metrics` on its admin port.
//!
//! Each service owns a registry of its own (no process-wide recorder), so several
//! services in one test process never count into each other. Every registry has
//! `tillit_build_info{service,version}`, `tillit_ready` (1 while `/readyz` would say
//! ready), the process's `process_resident_memory_bytes` and `process_open_fds` (read at
//! each scrape), the gRPC server's or the portal's request metrics ([`RpcMetrics`],
//! [`HttpMetrics`]) and, for a service on the event store, the kernel's
//! (`tillit_kernel::KernelMetrics`). A service registers its own with [`Metrics::counter`],
//! [`Metrics::gauge`] and [`Metrics::register`].

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Metric, Registry};

use crate::server::Readiness;

/// The content type of the Prometheus text exposition format.
const TEXT_FORMAT: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A service's metrics registry; cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Mutex<Registry>>,
    ready: Gauge,
    resident: Gauge,
    open_fds: Gauge,
    rpc: RpcMetrics,
    http: HttpMetrics,
    refusals: RefusalMetrics,
}

impl Metrics {
    /// A registry for `service` with its build info and readiness gauge.
    pub fn new(service: &str) -> Self {
        let mut registry = Registry::default();
        registry.register(
            "tillit_build",
            "The service and its version",
            Info::new(vec![
                ("service".to_owned(), service.to_owned()),
                ("version".to_owned(), env!("CARGO_PKG_VERSION").to_owned()),
            ]),
        );
        let ready = Gauge::default();
        registry.register(
            "tillit_ready",
            "1 while the service is ready for traffic (NATS reachable, projections current), else 0",
            ready.clone(),
        );
        let resident = Gauge::default();
        registry.register(
            "process_resident_memory_bytes",
            "Resident memory of the process, in bytes",
            resident.clone(),
        );
        let open_fds = Gauge::default();
        registry.register(
            "process_open_fds",
            "Open file descriptors of the process",
            open_fds.clone(),
        );
        let rpc = RpcMetrics::default();
        rpc.register(&mut registry);
        let http = HttpMetrics::default();
        http.register(&mut registry);
        let refusals = RefusalMetrics::default();
        refusals.register(&mut registry);
        Self {
            registry: Arc::new(Mutex::new(registry)),
            ready,
            resident,
            open_fds,
            rpc,
            http,
            refusals,
        }
    }

    /// Calls the authentication layer refused.
    pub fn refusals(&self) -> &RefusalMetrics {
        &self.refusals
    }

    /// The gRPC server's call metrics.
    pub fn rpc(&self) -> &RpcMetrics {
        &self.rpc
    }

    /// The portal's page metrics.
    pub fn http(&self) -> &HttpMetrics {
        &self.http
    }

    /// Registers a gauge under `name`.
    pub fn gauge(&self, name: &str, help: &str) -> Gauge {
        let gauge = Gauge::default();
        self.register(name, help, gauge.clone());
        gauge
    }

    /// Registers any metric (a family, a histogram) under `name`.
    pub fn register(&self, name: &str, help: &str, metric: impl Metric) {
        self.lock().register(name, help, metric);
    }

    /// Registers the kernel's metrics of the service's event store.
    pub fn register_kernel(&self, kernel: &tillit_kernel::KernelMetrics) {
        kernel.register(&mut self.lock());
    }

    /// Registers a counter; its exposed name is `name` followed by `_total`.
    pub fn counter(&self, name: &str, help: &str) -> Counter {
        let counter = Counter::default();
        self.lock().register(name, help, counter.clone());
        counter
    }

    /// The Prometheus text of every metric, with readiness as of now.
    pub fn render(&self, ready: &Readiness) -> String {
        self.ready.set(i64::from(ready().is_ok()));
        let (resident, open_fds) = process_usage();
        self.resident.set(resident);
        self.open_fds.set(open_fds);
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.lock());
        text
    }

    /// `GET /metrics`.
    pub fn router(&self, ready: Readiness) -> Router {
        let metrics = self.clone();
        Router::new().route(
            "/metrics",
            get(move || {
                let text = metrics.render(&ready);
                async move { ([(CONTENT_TYPE, TEXT_FORMAT)], text).into_response() }
            }),
        )
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        // A panic while holding the lock leaves a registry that is still whole.
        self.registry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Resident bytes and open descriptors of this process, from `/proc` (0 where it is missing).
fn process_usage() -> (i64, i64) {
    let page = 4096;
    let resident = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|statm| statm.split_whitespace().nth(1)?.parse::<i64>().ok())
        .map_or(0, |pages| pages * page);
    let open_fds = std::fs::read_dir("/proc/self/fd").map_or(0, |dir| dir.count() as i64);
    (resident, open_fds)
}

/// 0.5 ms … about 16 s.
fn seconds_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

/// Calls the authentication layer refused, by reason: a security event each.
#[derive(Clone, Default)]
pub struct RefusalMetrics {
    refused: Family<ReasonLabels, Counter>,
}

impl RefusalMetrics {
    fn register(&self, registry: &mut Registry) {
        registry.register(
            "tillit_auth_refused",
            "Calls refused before any handler: no token (missing), not a bearer token (malformed), a token that fails verification (invalid: forged, expired, another audience, issuer or deployment, a revoked session), an unknown key or principal (unknown), the identity view not current (unavailable)",
            self.refused.clone(),
        );
    }

    /// The hook for `AuthLayer::on_refusal`.
    pub fn hook(&self) -> tillit_auth::layer::RefusalHook {
        let refused = self.refused.clone();
        std::sync::Arc::new(move |reason| {
            refused.get_or_create(&ReasonLabels { reason }).inc();
        })
    }
}

/// A count and a latency histogram of requests, under the same labels.
#[derive(Clone)]
struct Requests<
    L: EncodeLabelSet + Clone + std::hash::Hash + Eq + std::fmt::Debug + Send + Sync + 'static,
> {
    count: Family<L, Counter>,
    seconds: Family<L, Histogram, fn() -> Histogram>,
}

impl<L: EncodeLabelSet + Clone + std::hash::Hash + Eq + std::fmt::Debug + Send + Sync + 'static>
    Requests<L>
{
    fn new() -> Self {
        Self {
            count: Family::default(),
            seconds: Family::new_with_constructor(seconds_buckets),
        }
    }

    fn register(&self, registry: &mut Registry, names: [(&str, &str); 2]) {
        let [(count, count_help), (seconds, seconds_help)] = names;
        registry.register(count, count_help, self.count.clone());
        registry.register(seconds, seconds_help, self.seconds.clone());
    }

    fn observe(&self, labels: &L, took: std::time::Duration) {
        self.count.get_or_create(labels).inc();
        self.seconds
            .get_or_create(labels)
            .observe(took.as_secs_f64());
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RpcLabels {
    grpc_service: String,
    grpc_method: String,
    grpc_code: &'static str,
}

/// gRPC calls handled by a server, by service, method and status code.
#[derive(Clone)]
pub struct RpcMetrics(Requests<RpcLabels>);

impl Default for RpcMetrics {
    fn default() -> Self {
        Self(Requests::new())
    }
}

impl RpcMetrics {
    fn register(&self, registry: &mut Registry) {
        self.0.register(
            registry,
            [
                (
                    "tillit_grpc_server_handled",
                    "gRPC calls answered, by service, method and status code",
                ),
                (
                    "tillit_grpc_server_handling_seconds",
                    "Time from receiving a gRPC call to its answer's headers, by service, method and status code",
                ),
            ],
        );
    }

    /// Counts one call.
    pub fn observe(
        &self,
        service: &str,
        method: &str,
        code: &'static str,
        took: std::time::Duration,
    ) {
        let labels = RpcLabels {
            grpc_service: service.to_owned(),
            grpc_method: method.to_owned(),
            grpc_code: code,
        };
        self.0.observe(&labels, took);
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PageLabels {
    route: String,
    method: String,
    status: u16,
}

/// Pages served by the portal, by route (the pattern, not the path), method and status.
#[derive(Clone)]
pub struct HttpMetrics(Requests<PageLabels>);

impl Default for HttpMetrics {
    fn default() -> Self {
        Self(Requests::new())
    }
}

impl HttpMetrics {
    fn register(&self, registry: &mut Registry) {
        self.0.register(
            registry,
            [
                (
                    "tillit_http_requests",
                    "HTTP requests answered, by route, method and status",
                ),
                (
                    "tillit_http_request_duration_seconds",
                    "Time to answer an HTTP request (a page), by route, method and status",
                ),
            ],
        );
    }

    /// Counts one request.
    pub fn observe(&self, route: &str, method: &str, status: u16, took: std::time::Duration) {
        let labels = PageLabels {
            route: route.to_owned(),
            method: method.to_owned(),
            status,
        };
        self.0.observe(&labels, took);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::Metrics;

    #[test]
    fn a_registry_renders_build_info_readiness_and_its_counters() {
        let metrics = Metrics::new("tillit.test.v1.TestService");
        let counter = metrics.counter("tillit_test_things", "Things counted");
        counter.inc();
        counter.inc();
        let text = metrics.render(&(Arc::new(|| Err("catching up".to_owned())) as _));
        assert!(text.contains("tillit_test_things_total 2"), "{text}");
        assert!(text.contains("tillit_ready 0"), "{text}");
        assert!(
            text.contains("tillit_build_info{service=\"tillit.test.v1.TestService\""),
            "{text}"
        );
        let text = metrics.render(&(Arc::new(|| Ok(())) as _));
        assert!(text.contains("tillit_ready 1"), "{text}");
    }

    #[test]
    fn two_services_in_one_process_count_apart() {
        let (a, b) = (Metrics::new("a"), Metrics::new("b"));
        a.counter("tillit_test_things", "Things").inc();
        let b_things = b.counter("tillit_test_things", "Things");
        let text = b.render(&(Arc::new(|| Ok(())) as _));
        assert!(text.contains("tillit_test_things_total 0"), "{text}");
        drop(b_things);
    }
}
