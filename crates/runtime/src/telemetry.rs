//! Logging set-up: human-readable on a terminal, JSON lines otherwise; `RUST_LOG` filters.

use std::io::IsTerminal;

/// Installs the global subscriber once; later calls do nothing.
pub fn init(service: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,async_nats=warn".into());
    let installed = if std::io::stdout().is_terminal() {
        tracing_subscriber::fmt().with_env_filter(filter).try_init()
    } else {
        tracing_subscriber::fmt()
            .json()
            .with_current_span(false)
            .with_env_filter(filter)
            .try_init()
    };
    if installed.is_ok() {
        tracing::info!(service, "logging started");
    }
}
