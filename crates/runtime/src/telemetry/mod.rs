//! Logs and traces of one process, set up once by [`init`].
//!
//! - **Logs**: JSON lines, or human lines on a terminal (`TILLIT_LOG_FORMAT=json|human`
//!   decides otherwise), filtered by `RUST_LOG` (default `info,async_nats=warn`). Each line
//!   inside a span carries its `trace_id` and `span_id`. E-mail addresses are masked,
//!   tokens and the values of secret-named fields never written ([`redact`]).
//! - **Traces**: every span of Tillit's own crates at info level or above goes to an
//!   OpenTelemetry tracer; with `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//!   `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) set they are exported over OTLP/gRPC in batches.
//!   `OTEL_SERVICE_NAME` (default `tillit-<service>`), `OTEL_RESOURCE_ATTRIBUTES` and
//!   `OTEL_TRACES_SAMPLER`/`_ARG` are honoured; `service.version` is the build's version.
//!   W3C trace context (`traceparent`, `tracestate`) is the propagator, in gRPC metadata
//!   ([`grpc`]) and NATS headers (`tillit_kernel::telemetry`).

pub mod format;
pub mod grpc;
pub mod http;
pub mod redact;

use std::io::IsTerminal as _;
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

pub use format::LogFormat;

/// The process's tracer provider; [`Telemetry::shutdown`] exports what is left.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Exports every span still buffered (at most `timeout`) and stops the exporter.
    pub async fn shutdown(self, timeout: Duration) {
        let Some(provider) = self.provider else {
            return;
        };
        // The SDK blocks the calling thread while it exports.
        let flushed =
            tokio::task::spawn_blocking(move || provider.shutdown_with_timeout(timeout)).await;
        match flushed {
            Ok(Ok(())) => {}
            Ok(Err(error)) => eprintln!("traces: the last spans were not exported: {error}"),
            Err(error) => eprintln!("traces: flushing failed: {error}"),
        }
    }
}

/// The log format `TILLIT_LOG_FORMAT` asks for, else human on a terminal, JSON otherwise.
pub fn log_format() -> LogFormat {
    match std::env::var("TILLIT_LOG_FORMAT").as_deref() {
        Ok("json") => LogFormat::Json,
        Ok("human") => LogFormat::Human,
        _ if std::io::stdout().is_terminal() => LogFormat::Human,
        _ => LogFormat::Json,
    }
}

/// Whether an exporter endpoint is configured.
fn exporting() -> bool {
    [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]
    .iter()
    .any(|name| std::env::var(name).is_ok_and(|v| !v.is_empty()))
}

/// The tracer provider: the resource (service name and version, `OTEL_*` attributes), the
/// sampler from `OTEL_TRACES_SAMPLER`, and the OTLP exporter when one is configured.
fn provider(service: &str) -> SdkTracerProvider {
    let mut resource = opentelemetry_sdk::Resource::builder()
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")));
    if std::env::var("OTEL_SERVICE_NAME").is_err() {
        resource = resource.with_service_name(format!("tillit-{service}"));
    }
    let mut builder = SdkTracerProvider::builder().with_resource(resource.build());
    if exporting() {
        match opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .build()
        {
            Ok(exporter) => builder = builder.with_batch_exporter(exporter),
            Err(error) => eprintln!("traces: the OTLP exporter could not be built: {error}"),
        }
    }
    builder.build()
}

/// Installs logging and tracing for the process of `service` (e.g. `incidents`) once;
/// later calls change nothing. Call it inside the Tokio runtime.
pub fn init(service: &str) -> Telemetry {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,async_nats=warn".into());
    let provider = provider(service);
    let tracer = provider.tracer("tillit");
    // Only Tillit's own spans become trace spans; libraries' spans stay in the logs.
    let ours = tracing_subscriber::filter::filter_fn(|metadata| {
        metadata.target().starts_with("tillit") && *metadata.level() <= tracing::Level::INFO
    });
    let traces = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_filter(ours);
    let logs = tracing_subscriber::fmt::layer()
        .event_format(format::LineFormat(log_format()))
        .with_filter(filter);
    let installed = tracing_subscriber::registry()
        .with(logs)
        .with(traces)
        .try_init();
    if installed.is_err() {
        return Telemetry { provider: None };
    }
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    opentelemetry::global::set_tracer_provider(provider.clone());
    tracing::info!(service, exporting = exporting(), "logging started");
    Telemetry {
        provider: Some(provider),
    }
}
