//! `tillit-reporting`: wiring only — config, logging and tracing, listeners, run until Ctrl-C/SIGTERM.

use std::process::ExitCode;

use tillit_reporting::ReportingConfig;
use tillit_runtime::service_main;

#[tokio::main]
async fn main() -> ExitCode {
    service_main(
        "reporting",
        |config: ReportingConfig, grpc, admin, shutdown| {
            tillit_reporting::run(config, grpc, admin, shutdown)
        },
    )
    .await
}
