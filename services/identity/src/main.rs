//! `tillit-identity`: wiring only — config, logging and tracing, listeners, run until Ctrl-C/SIGTERM.

use std::process::ExitCode;

use tillit_identity::IdentityConfig;
use tillit_runtime::service_main;

#[tokio::main]
async fn main() -> ExitCode {
    service_main(
        "identity",
        |config: IdentityConfig, grpc, admin, shutdown| {
            tillit_identity::run(config, grpc, admin, shutdown)
        },
    )
    .await
}
