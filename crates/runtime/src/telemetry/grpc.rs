//! gRPC calls traced and counted on both ends.
//!
//! - [`ServerLayer`] wraps a service's gRPC server: each call runs in a server span whose
//!   parent is the caller's `traceparent`, and counts into
//!   `tillit_grpc_server_handled_total` and `tillit_grpc_server_handling_seconds` by
//!   service, method and status code.
//! - [`Traced`] wraps a client's channel: each call runs in a client span and carries that
//!   span's context in its metadata, so the server's span is its child.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use http::{HeaderMap, HeaderName, HeaderValue, Request, Response};
use opentelemetry::propagation::{Extractor, Injector};
use tower::{Layer, Service};
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::metrics::RpcMetrics;

/// Reads trace context from HTTP/2 headers (gRPC metadata).
struct Extract<'a>(&'a HeaderMap);

impl Extractor for Extract<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

/// Writes trace context into HTTP/2 headers.
struct Inject<'a>(&'a mut HeaderMap);

impl Injector for Inject<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

/// The trace context an incoming request's headers carry.
pub fn extract(headers: &HeaderMap) -> opentelemetry::Context {
    opentelemetry::global::get_text_map_propagator(|p| p.extract(&Extract(headers)))
}

/// Writes the current span's trace context into outgoing headers.
pub fn inject(headers: &mut HeaderMap) {
    let context = opentelemetry::Context::current();
    opentelemetry::global::get_text_map_propagator(|p| {
        p.inject_context(&context, &mut Inject(headers))
    });
}

/// `(service, method)` of a gRPC path `/pkg.Service/Method`.
pub fn split_path(path: &str) -> (&str, &str) {
    let path = path.trim_start_matches('/');
    path.split_once('/').unwrap_or((path, ""))
}

/// Health checks and reflection are counted but not traced: probes would bury the traces.
fn is_plumbing(service: &str) -> bool {
    service.starts_with("grpc.health.") || service.starts_with("grpc.reflection.")
}

/// The status code of a gRPC response: `grpc-status` in its headers (a trailers-only
/// answer, which every refusal is), else OK (a streamed answer's trailers come later).
fn status_code<B>(response: &Response<B>) -> i32 {
    response
        .headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The name of a gRPC status code, as metrics label it (`NOT_FOUND`).
pub fn code_name(code: i32) -> &'static str {
    use tonic::Code;
    match Code::from_i32(code) {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// The service that was polled ready, for this call; a fresh clone stays behind for the
/// next (tower's rule for services that are cloned into their futures).
fn take_ready<S: Clone>(inner: &mut S) -> S {
    let clone = inner.clone();
    std::mem::replace(inner, clone)
}

/// Traces and counts every call of a gRPC server.
#[derive(Clone)]
pub struct ServerLayer {
    metrics: RpcMetrics,
}

impl ServerLayer {
    /// Counting into `metrics`.
    pub fn new(metrics: RpcMetrics) -> Self {
        Self { metrics }
    }
}

impl<S> Layer<S> for ServerLayer {
    type Service = Server<S>;

    fn layer(&self, inner: S) -> Server<S> {
        Server {
            metrics: self.metrics.clone(),
            inner,
        }
    }
}

/// The service [`ServerLayer`] wraps around the routes.
#[derive(Clone)]
pub struct Server<S> {
    metrics: RpcMetrics,
    inner: S,
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, B, R> Service<Request<B>> for Server<S>
where
    S: Service<Request<B>, Response = Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<S::Response, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let mut inner = take_ready(&mut self.inner);
        let metrics = self.metrics.clone();
        let path = request.uri().path().to_owned();
        let (service, method) = split_path(&path);
        let (service, method) = (service.to_owned(), method.to_owned());
        let span = if is_plumbing(&service) {
            tracing::Span::none()
        } else {
            let span = tracing::info_span!(
                "rpc server",
                otel.name = %path.trim_start_matches('/'),
                otel.kind = "server",
                rpc.system = "grpc",
                rpc.service = %service,
                rpc.method = %method,
                rpc.grpc.status_code = tracing::field::Empty,
            );
            let _ = span.set_parent(extract(request.headers()));
            span
        };
        let started = Instant::now();
        Box::pin(
            async move {
                let answer = inner.call(request).await;
                let code = match &answer {
                    Ok(response) => status_code(response),
                    // The transport failed: the caller sees no status at all.
                    Err(_) => tonic::Code::Unknown as i32,
                };
                tracing::Span::current().record("rpc.grpc.status_code", code);
                metrics.observe(&service, &method, code_name(code), started.elapsed());
                answer
            }
            .instrument(span),
        )
    }
}

/// A client channel whose calls are traced and carry their trace context.
#[derive(Clone, Debug)]
pub struct Traced<S> {
    inner: S,
}

impl<S> Traced<S> {
    /// Wraps a channel.
    pub fn new(inner: S) -> Self {
        Self { inner }
    }
}

impl<S, B, R> Service<Request<B>> for Traced<S>
where
    S: Service<Request<B>, Response = Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<S::Response, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let mut inner = take_ready(&mut self.inner);
        let path = request.uri().path().to_owned();
        let (service, method) = split_path(&path);
        let span = tracing::info_span!(
            "rpc client",
            otel.name = %path.trim_start_matches('/'),
            otel.kind = "client",
            rpc.system = "grpc",
            rpc.service = %service,
            rpc.method = %method,
            rpc.grpc.status_code = tracing::field::Empty,
        );
        span.in_scope(|| inject(request.headers_mut()));
        Box::pin(
            async move {
                let answer = inner.call(request).await;
                if let Ok(response) = &answer {
                    tracing::Span::current().record("rpc.grpc.status_code", status_code(response));
                }
                answer
            }
            .instrument(span),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_into_service_and_method() {
        assert_eq!(
            split_path("/tillit.incidents.v1.IncidentsService/ReportIncident"),
            ("tillit.incidents.v1.IncidentsService", "ReportIncident")
        );
        assert_eq!(split_path("/odd"), ("odd", ""));
        assert_eq!(code_name(5), "NOT_FOUND");
        assert_eq!(code_name(99), "UNKNOWN");
    }
}
