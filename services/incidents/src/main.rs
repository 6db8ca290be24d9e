//! `tillit-incidents`: wiring only — config, logging and tracing, listeners, run until Ctrl-C/SIGTERM.

use std::process::ExitCode;

use tillit_incidents::IncidentsConfig;
use tillit_runtime::service_main;

#[tokio::main]
async fn main() -> ExitCode {
    service_main(
        "incidents",
        |config: IncidentsConfig, grpc, admin, shutdown| {
            tillit_incidents::run(config, grpc, admin, shutdown)
        },
    )
    .await
}
