//! `tillit-assets`: wiring only — config, logging and tracing, listeners, run until Ctrl-C/SIGTERM.

use std::process::ExitCode;

use tillit_assets::AssetsConfig;
use tillit_runtime::service_main;

#[tokio::main]
async fn main() -> ExitCode {
    service_main("assets", |config: AssetsConfig, grpc, admin, shutdown| {
        tillit_assets::run(config, grpc, admin, shutdown)
    })
    .await
}
