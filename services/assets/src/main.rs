//! `tillit-assets`: wiring only — config, logging, listeners, run until Ctrl-C/SIGTERM.

use std::process::ExitCode;

use tillit_assets::AssetsConfig;
use tillit_runtime::{service_main, shutdown_signal};

#[tokio::main]
async fn main() -> ExitCode {
    service_main("assets", |config: AssetsConfig, grpc, admin| {
        tillit_assets::run(config, grpc, admin, shutdown_signal())
    })
    .await
}
