//! What every Tillit service starts with, written once.
//!
//! - [`config`]: typed settings from `TILLIT_*` variables with a dev default for each, an
//!   error naming the variable when one is wrong.
//! - [`telemetry`]: logs (human on a terminal, JSON otherwise, redacted, with trace ids),
//!   OpenTelemetry traces exported over OTLP, trace context in gRPC metadata.
//! - [`server`]: the gRPC server (authentication layer, `grpc.health.v1`, reflection v1
//!   and v1alpha) and the admin HTTP server (`/livez`, `/readyz`, extra routes such as
//!   JWKS) run side by side until the shutdown signal, then drain.
//! - [`metrics`]: the service's own Prometheus registry, served at `/metrics`: gRPC or
//!   page metrics, the kernel's, the process's.
//! - [`StartError`]: why a service did not start, naming what failed.
//!
//! A service's `run(config, grpc_listener, admin_listener, shutdown)` starts a
//! [`Foundation`] (store, streams, projections, verifier), wires its parts and serves;
//! `main` is [`service_main`]: it loads the config, binds, and runs until Ctrl-C or
//! SIGTERM.

pub mod config;
pub mod foundation;
mod main_helper;
pub mod metrics;
pub mod server;
mod start_error;
pub mod telemetry;

pub use config::{ConfigError, Env, PlatformConfig};
pub use foundation::Foundation;
pub use main_helper::{ServiceConfig, Shutdown, service_main};
pub use metrics::Metrics;
pub use server::{
    Readiness, ServeParts, admin_router, grpc_incoming, serve, serve_http, shutdown_signal,
};
pub use start_error::StartError;
