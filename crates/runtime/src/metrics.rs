//! One service's metrics, served as Prometheus text at `/metrics` on its admin port.
//!
//! Each service owns a registry of its own (no process-wide recorder), so several
//! services in one test process never count into each other. Every registry has
//! `tillit_build_info{service,version}` and `tillit_ready` (1 while `/readyz` would say
//! ready, read at each scrape); a service registers its own counters with
//! [`Metrics::counter`].

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

use crate::server::Readiness;

/// The content type of the Prometheus text exposition format.
const TEXT_FORMAT: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A service's metrics registry; cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Mutex<Registry>>,
    ready: Gauge,
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
        Self {
            registry: Arc::new(Mutex::new(registry)),
            ready,
        }
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
