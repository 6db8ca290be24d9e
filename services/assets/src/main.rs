//! `tillit-assets`: wiring only — config, logging, listeners, run until Ctrl-C/SIGTERM.

use std::process::ExitCode;

use tillit_assets::AssetsConfig;
use tillit_runtime::{Env, shutdown_signal, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    telemetry::init("assets");
    let env = match Env::from_process() {
        Ok(env) => env,
        Err(e) => {
            eprintln!("configuration: {e}");
            return ExitCode::from(2);
        }
    };
    let config = match AssetsConfig::from_env(&env) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("tillit-assets: configuration: {e}");
            return ExitCode::from(2);
        }
    };
    let bind = |addr| async move {
        tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| format!("binding {addr}: {e}"))
    };
    let listeners = async {
        Ok::<_, String>((
            bind(config.grpc_addr).await?,
            bind(config.admin_addr).await?,
        ))
    };
    let (grpc, admin) = match listeners.await {
        Ok(listeners) => listeners,
        Err(e) => {
            eprintln!("tillit-assets: {e}");
            return ExitCode::FAILURE;
        }
    };
    match tillit_assets::run(config, grpc, admin, shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tillit-assets: {e}");
            ExitCode::FAILURE
        }
    }
}
