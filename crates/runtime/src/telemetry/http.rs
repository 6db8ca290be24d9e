//! The portal's pages traced and counted: each request runs in a server span (the parent
//! of every gRPC call it makes; a `traceparent` from a proxy in front is its own parent)
//! and counts into `tillit_http_requests_total` and `tillit_http_request_duration_seconds`
//! by route pattern, method and status.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::metrics::HttpMetrics;

/// The middleware: `axum::middleware::from_fn_with_state(metrics, observe)`.
pub async fn observe(State(metrics): State<HttpMetrics>, request: Request, next: Next) -> Response {
    // The pattern (`/incidents/{id}`), so one label per page rather than per incident.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("(unmatched)", MatchedPath::as_str)
        .to_owned();
    let method = request.method().as_str().to_owned();
    let span = tracing::info_span!(
        "page",
        otel.name = %format!("{method} {route}"),
        otel.kind = "server",
        http.request.method = %method,
        http.route = %route,
        http.response.status_code = tracing::field::Empty,
    );
    let _ = span.set_parent(super::grpc::extract(request.headers()));
    let started = Instant::now();
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    span.record("http.response.status_code", status);
    metrics.observe(&route, &method, status, started.elapsed());
    response
}
