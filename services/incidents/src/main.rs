//! `tillit-incidents`: wiring only — config, logging, listeners, run until Ctrl-C/SIGTERM.

use std::process::ExitCode;

use tillit_incidents::IncidentsConfig;
use tillit_runtime::{service_main, shutdown_signal};

#[tokio::main]
async fn main() -> ExitCode {
    service_main("incidents", |config: IncidentsConfig, grpc, admin| {
        tillit_incidents::run(config, grpc, admin, shutdown_signal())
    })
    .await
}
