//! `tillit-portal`: wiring only — config, logging, listeners, run until Ctrl-C/SIGTERM.

use std::process::ExitCode;

use tillit_portal::PortalConfig;
use tillit_runtime::{service_main, shutdown_signal};

#[tokio::main]
async fn main() -> ExitCode {
    service_main("portal", |config: PortalConfig, http, admin| {
        tillit_portal::run(config, http, admin, shutdown_signal())
    })
    .await
}
