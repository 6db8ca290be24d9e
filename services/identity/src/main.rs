//! `tillit-identity`: wiring only — config, logging, listeners, run until Ctrl-C/SIGTERM.

use std::process::ExitCode;

use tillit_identity::IdentityConfig;
use tillit_runtime::{service_main, shutdown_signal};

#[tokio::main]
async fn main() -> ExitCode {
    service_main("identity", |config: IdentityConfig, grpc, admin| {
        tillit_identity::run(config, grpc, admin, shutdown_signal())
    })
    .await
}
