//! `tillit-portal`: wiring only — config, logging and tracing, listeners, run until Ctrl-C/SIGTERM.

use std::process::ExitCode;

use tillit_portal::PortalConfig;
use tillit_runtime::service_main;

#[tokio::main]
async fn main() -> ExitCode {
    service_main("portal", |config: PortalConfig, http, admin, shutdown| {
        tillit_portal::run(config, http, admin, shutdown)
    })
    .await
}
