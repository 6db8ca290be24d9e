//! The `main` of every service binary: load the settings, start logging and tracing, bind
//! the two listeners, run until Ctrl-C or SIGTERM, then drain within the grace period and
//! export the last spans; exit 0 after a clean stop, 2 on bad settings, 1 on a failed
//! start or a stop that outlasted `TILLIT_SHUTDOWN_GRACE_SECONDS`. `--version` prints the
//! binary's name and version and exits.

use std::net::SocketAddr;
use std::pin::Pin;
use std::process::ExitCode;
use std::time::{Duration, Instant};

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

/// Resolves when the process is asked to stop (SIGTERM or Ctrl-C).
pub type Shutdown = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Runs the service `tillit-<name>` with `run(config, grpc, admin, shutdown)`; `run` is
/// given the bound listeners and stops accepting when `shutdown` resolves.
pub async fn service_main<C, F, Fut>(name: &str, run: F) -> ExitCode
where
    C: ServiceConfig,
    F: FnOnce(C, TcpListener, TcpListener, Shutdown) -> Fut,
    Fut: Future<Output = Result<(), StartError>>,
{
    if std::env::args()
        .skip(1)
        .any(|arg| arg == "--version" || arg == "-V")
    {
        println!("tillit-{name} {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    let telemetry = telemetry::init(name);
    let env = Env::from_process();
    let mut config = match env.as_ref().map_err(Clone::clone).and_then(C::from_env) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("tillit-{name}: configuration: {e}");
            return ExitCode::from(2);
        }
    };
    let unread = env.map(|env| {
        // Read by logging, before the settings.
        env.note_read("TILLIT_LOG_FORMAT");
        env.unread()
    });
    for variable in unread.unwrap_or_default() {
        tracing::warn!(%variable, "not a setting of tillit-{name}: ignored (misspelled, or meant for another service?)");
    }
    let bind = |addr: SocketAddr| async move {
        TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })
    };
    let (grpc_addr, admin_addr) = config.addrs();
    let grace = config.platform_mut().shutdown_grace;
    let (signalled_tx, signalled) = tokio::sync::watch::channel(None::<Instant>);
    let shutdown: Shutdown = Box::pin(async move {
        crate::shutdown_signal().await;
        tracing::info!(
            grace_seconds = grace.as_secs(),
            "stopping: draining calls and the projection batch in hand"
        );
        let _ = signalled_tx.send(Some(Instant::now()));
    });
    let listeners = async { Ok((bind(grpc_addr).await?, bind(admin_addr).await?)) };
    let result = match listeners.await {
        Ok((grpc, admin)) => {
            // The addresses actually bound: with port 0 in the settings, this line is how
            // a supervisor (or a test) learns them.
            if let (Ok(grpc), Ok(admin)) = (grpc.local_addr(), admin.local_addr()) {
                tracing::info!(%grpc, %admin, "listening");
            }
            within_grace(run(config, grpc, admin, shutdown), signalled, grace).await
        }
        Err(e) => Err(e),
    };
    // The rest of the grace period (at least a second) for the last spans.
    let flush = grace
        .saturating_sub(Duration::from_secs(1))
        .max(Duration::from_secs(1));
    telemetry.shutdown(flush.min(Duration::from_secs(10))).await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tillit-{name}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `running`, cut off when it has not ended `grace` after the stop signal.
async fn within_grace(
    running: impl Future<Output = Result<(), StartError>>,
    mut signalled: tokio::sync::watch::Receiver<Option<Instant>>,
    grace: Duration,
) -> Result<(), StartError> {
    let deadline = async move {
        let Ok(at) = signalled.wait_for(Option::is_some).await else {
            return std::future::pending().await;
        };
        let at = at.unwrap_or_else(Instant::now);
        tokio::time::sleep_until((at + grace).into()).await;
    };
    tokio::select! {
        result = running => result,
        () = deadline => Err(StartError::Grace(grace)),
    }
}
