//! One log line per event: JSON (`timestamp`, `level`, `target`, `fields`, `span`,
//! `trace_id`, `span_id`) or a human line with the same content; every value passes
//! through [`super::redact`] first.

use std::fmt;

use opentelemetry::trace::TraceContextExt as _;
use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use super::redact::{is_secret_field, redact};

/// How lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// For a person at a terminal.
    Human,
}

/// The event formatter of every Tillit process.
pub struct LineFormat(pub LogFormat);

/// Collects an event's fields, redacted.
#[derive(Default)]
struct Fields(Map<String, Value>);

impl Fields {
    fn put(&mut self, field: &Field, value: Value) {
        let value = if is_secret_field(field.name()) {
            Value::String("[redacted]".into())
        } else {
            value
        };
        self.0.insert(field.name().to_owned(), value);
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::String(redact(value).into_owned()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(
            field,
            Value::String(redact(&format!("{value:?}")).into_owned()),
        );
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::from(value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(
            field,
            Value::String(redact(&value.to_string()).into_owned()),
        );
    }
}

/// The trace and span id of the OpenTelemetry context current here, if any.
fn trace_ids() -> Option<(String, String)> {
    let context = opentelemetry::Context::current();
    let span = context.span();
    let span = span.span_context();
    span.is_valid()
        .then(|| (span.trace_id().to_string(), span.span_id().to_string()))
}

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl<S, N> FormatEvent<S, N> for LineFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let metadata = event.metadata();
        let span = ctx.lookup_current().map(|span| span.name());
        let ids = trace_ids();
        match self.0 {
            LogFormat::Json => {
                let mut line = Map::new();
                line.insert("timestamp".into(), now().into());
                line.insert("level".into(), metadata.level().as_str().into());
                line.insert("target".into(), metadata.target().into());
                line.insert("fields".into(), Value::Object(fields.0));
                if let Some(name) = span {
                    line.insert("span".into(), serde_json::json!({ "name": name }));
                }
                if let Some((trace_id, span_id)) = ids {
                    line.insert("trace_id".into(), trace_id.into());
                    line.insert("span_id".into(), span_id.into());
                }
                writeln!(writer, "{}", Value::Object(line))
            }
            LogFormat::Human => {
                let message = fields
                    .0
                    .remove("message")
                    .map(|m| m.as_str().map(str::to_owned).unwrap_or(m.to_string()))
                    .unwrap_or_default();
                write!(
                    writer,
                    "{} {:>5} {}: {message}",
                    now(),
                    metadata.level(),
                    metadata.target()
                )?;
                for (name, value) in &fields.0 {
                    match value {
                        Value::String(text) => write!(writer, " {name}={text}")?,
                        other => write!(writer, " {name}={other}")?,
                    }
                }
                if let Some(name) = span {
                    write!(writer, " span={name}")?;
                }
                if let Some((trace_id, span_id)) = ids {
                    write!(writer, " trace_id={trace_id} span_id={span_id}")?;
                }
                writeln!(writer)
            }
        }
    }
}
