//! `tillit-reporting`: wiring only — config, logging, listeners, run until Ctrl-C/SIGTERM.

use std::process::ExitCode;

use tillit_reporting::ReportingConfig;
use tillit_runtime::{service_main, shutdown_signal};

#[tokio::main]
async fn main() -> ExitCode {
    service_main("reporting", |config: ReportingConfig, grpc, admin| {
        tillit_reporting::run(config, grpc, admin, shutdown_signal())
    })
    .await
}
