//! The `main` of every service binary: load the settings, start logging, bind the two
//! listeners, run until Ctrl-C or SIGTERM; exit 2 on bad settings, 1 on a failed start.

use std::net::SocketAddr;
use std::process::ExitCode;

use tokio::net::TcpListener;

use crate::StartError;
use crate::config::{ConfigError, Env, PlatformConfig};
use crate::telemetry;

/// A service's settings as `main` needs them.
pub trait ServiceConfig: Sized {
    /// Reads the settings, naming the variable of any bad value.
    fn from_env(env: &Env) -> Result<Self, ConfigError>;
    /// (gRPC, admin HTTP) addresses to bind.
    fn addrs(&self) -> (SocketAddr, SocketAddr);
    /// The shared platform settings (the dev stack points every service at its NATS).
    fn platform_mut(&mut self) -> &mut PlatformConfig;
}

/// Runs the service `tillit-<name>` with `run(config, grpc, admin)`; `run` is given the
/// bound listeners and waits for the shutdown signal itself.
pub async fn service_main<C, F, Fut>(name: &str, run: F) -> ExitCode
where
    C: ServiceConfig,
    F: FnOnce(C, TcpListener, TcpListener) -> Fut,
    Fut: Future<Output = Result<(), StartError>>,
{
    telemetry::init(name);
    let config = match Env::from_process().and_then(|env| C::from_env(&env)) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("tillit-{name}: configuration: {e}");
            return ExitCode::from(2);
        }
    };
    let bind = |addr: SocketAddr| async move {
        TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })
    };
    let (grpc_addr, admin_addr) = config.addrs();
    let listeners = async { Ok((bind(grpc_addr).await?, bind(admin_addr).await?)) };
    let result = match listeners.await {
        Ok((grpc, admin)) => {
            // The addresses actually bound: with port 0 in the settings, this line is how
            // a supervisor (or a test) learns them.
            if let (Ok(grpc), Ok(admin)) = (grpc.local_addr(), admin.local_addr()) {
                tracing::info!(%grpc, %admin, "listening");
            }
            run(config, grpc, admin).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tillit-{name}: {e}");
            ExitCode::FAILURE
        }
    }
}
