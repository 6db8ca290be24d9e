//! `tillit-dev up`: the whole platform on one machine, for `just up`.
//!
//! Starts the project's own nats-server with JetStream on 127.0.0.1:14222 and its store
//! under `<data dir>/nats` (so deleting `.data` resets everything), or uses the server at
//! `TILLIT_NATS_URL` after checking it has JetStream, then runs every service in this
//! process (identity, assets, incidents, reporting, then the portal), each through its
//! `run(listeners, shutdown)` like the tests do. Stays in the foreground until Ctrl-C (or SIGTERM), then stops everything it started.

use std::path::PathBuf;
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use tillit_runtime::{ServiceConfig, StartError};
use tokio::process::{Child, Command};

/// The settings of `tillit-dev up`, from `TILLIT_*` variables with dev defaults.
struct DevConfig {
    /// `TILLIT_DATA_DIR`: where everything local lives (default `.data`).
    data_dir: PathBuf,
    /// `TILLIT_NATS_URL`: an existing NATS to use instead of starting one.
    nats_url: Option<String>,
    /// `TILLIT_DEV_NATS_PORT`: the port of the nats-server started here (default 14222).
    nats_port: u16,
}

impl DevConfig {
    fn from_env() -> Result<Self, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let nats_port = match var("TILLIT_DEV_NATS_PORT") {
            Some(port) => port
                .parse()
                .map_err(|_| format!("TILLIT_DEV_NATS_PORT: {port:?} is not a port number"))?,
            None => 14222,
        };
        Ok(Self {
            data_dir: var("TILLIT_DATA_DIR").map_or_else(|| PathBuf::from(".data"), PathBuf::from),
            nats_url: var("TILLIT_NATS_URL"),
            nats_port,
        })
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let command = std::env::args().nth(1).unwrap_or_default();
    if command != "up" {
        eprintln!("usage: tillit-dev up");
        return ExitCode::from(2);
    }
    let config = match DevConfig::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("tillit-dev: {e}");
            return ExitCode::from(2);
        }
    };
    match up(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tillit-dev: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn up(config: DevConfig) -> Result<(), String> {
    // One process for every service: its spans carry service.name tillit-dev.
    let telemetry = tillit_runtime::telemetry::init("dev");
    let (url, mut nats) = match &config.nats_url {
        Some(url) => {
            check_jetstream(url).await?;
            println!("Using NATS at {url} (TILLIT_NATS_URL); JetStream is enabled.");
            (url.clone(), None)
        }
        None => {
            let (url, child) = start_nats(&config).await?;
            (url, Some(child))
        }
    };

    let outcome = match start_services(&config, &url).await {
        Ok(mut services) => {
            print_banner(&config, &url, &services);
            let outcome = tokio::select! {
                () = tillit_runtime::shutdown_signal() => Ok(()),
                status = wait_child(&mut nats) => Err(format!("nats-server exited unexpectedly ({status})")),
                name = first_to_end(&mut services) => Err(format!("{name} stopped unexpectedly (see the log above)")),
            };
            // Stop in reverse order of starting.
            for service in services.into_iter().rev() {
                service.stop().await;
            }
            outcome
        }
        Err(e) => Err(e),
    };
    if let Some(child) = nats.as_mut() {
        stop(child).await;
    }
    telemetry.shutdown(Duration::from_secs(5)).await;
    println!("Stopped.");
    outcome
}

/// Starts every service built so far, identity first (the others learn users from it),
/// reporting last (it reads every other service's stream).
async fn start_services(config: &DevConfig, nats_url: &str) -> Result<Vec<Service>, String> {
    let env = tillit_runtime::Env::from_process().map_err(|e| format!("configuration: {e}"))?;
    let identity: tillit_identity::IdentityConfig = settings(&env, config, nats_url)?;
    let admin_email = identity.bootstrap_admin_email.clone();
    let mut services = vec![Service::run("identity", identity, tillit_identity::run).await?];
    // The generated first password, from the file identity keeps it in (a terminal, not a log).
    let initial = tillit_identity::bootstrap::initial_password_path(&config.data_dir);
    services[0].note = match std::fs::read_to_string(&initial) {
        Ok(password) => format!(
            "admin login {admin_email} / {} (from {}; delete it once you have changed the password)",
            password.trim(),
            initial.display()
        ),
        Err(_) => format!("admin login {admin_email} (the password you chose or changed)"),
    };
    let started = Service::run(
        "assets",
        settings(&env, config, nats_url)?,
        tillit_assets::run,
    );
    let services = keep_or_stop(services, started.await).await?;
    let started = Service::run(
        "incidents",
        settings(&env, config, nats_url)?,
        tillit_incidents::run,
    );
    let services = keep_or_stop(services, started.await).await?;
    let started = Service::run(
        "reporting",
        settings(&env, config, nats_url)?,
        tillit_reporting::run,
    );
    let services = keep_or_stop(services, started.await).await?;
    // The portal last, pointed at the services just started.
    let mut portal: tillit_portal::PortalConfig = settings(&env, config, nats_url)?;
    let url = |name: &str| {
        services
            .iter()
            .find(|s| s.name == name)
            .map(|s| format!("http://{}", s.grpc))
            .unwrap_or_default()
    };
    portal.identity_url = url("identity");
    portal.assets_url = url("assets");
    portal.incidents_url = url("incidents");
    portal.reporting_url = url("reporting");
    // Explicitly plain HTTP on this machine's loopback only: cookies without `Secure`.
    portal.plain_http = portal.addr.ip().is_loopback();
    let started = Service::run("portal", portal, tillit_portal::run);
    let mut services = keep_or_stop(services, started.await).await?;
    if let Some(portal) = services.iter_mut().find(|s| s.name == "portal") {
        portal.note = format!("sign in as {admin_email}");
    }
    Ok(services)
}

/// A service's settings from the environment, pointed at the dev stack's NATS and data.
fn settings<C: ServiceConfig>(
    env: &tillit_runtime::Env,
    config: &DevConfig,
    nats_url: &str,
) -> Result<C, String> {
    let mut settings = C::from_env(env).map_err(|e| format!("configuration: {e}"))?;
    let platform = settings.platform_mut();
    platform.nats_url = nats_url.to_owned();
    platform.data_dir = config.data_dir.clone();
    Ok(settings)
}

/// Adds a started service, or stops the ones already running when it failed.
async fn keep_or_stop(
    mut services: Vec<Service>,
    started: Result<Service, String>,
) -> Result<Vec<Service>, String> {
    match started {
        Ok(service) => {
            services.push(service);
            Ok(services)
        }
        Err(e) => {
            for service in services.into_iter().rev() {
                service.stop().await;
            }
            Err(e)
        }
    }
}

/// Resolves with the name of the first service whose task ends.
async fn first_to_end(services: &mut [Service]) -> &'static str {
    let ends: Vec<_> = services
        .iter_mut()
        .map(|s| {
            let name = s.name;
            Box::pin(async move {
                let _ = (&mut s.task).await;
                name
            })
        })
        .collect();
    if ends.is_empty() {
        return std::future::pending().await;
    }
    futures::future::select_all(ends).await.0
}

/// A service running in this process.
struct Service {
    name: &'static str,
    grpc: std::net::SocketAddr,
    admin: std::net::SocketAddr,
    note: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), StartError>>,
}

/// The shutdown signal handed to a service's `run`.
type Stop = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

impl Service {
    /// Runs a service's `run(config, grpc, admin, shutdown)` on its configured addresses.
    async fn run<C, F, Fut>(name: &'static str, config: C, run: F) -> Result<Self, String>
    where
        C: ServiceConfig,
        F: FnOnce(C, tokio::net::TcpListener, tokio::net::TcpListener, Stop) -> Fut,
        Fut: Future<Output = Result<(), StartError>> + Send + 'static,
    {
        let (grpc, admin) = config.addrs();
        Self::start(name, grpc, admin, move |g, a, stop| run(config, g, a, stop)).await
    }

    /// Binds its ports, runs it, and waits until `/readyz` answers 200.
    async fn start<F, Fut>(
        name: &'static str,
        grpc: std::net::SocketAddr,
        admin: std::net::SocketAddr,
        run: F,
    ) -> Result<Self, String>
    where
        F: FnOnce(tokio::net::TcpListener, tokio::net::TcpListener, Stop) -> Fut,
        Fut: Future<Output = Result<(), StartError>> + Send + 'static,
    {
        let bind = |addr| async move {
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| format!("{name}: binding {addr}: {e} (is another `just up` running?)"))
        };
        let grpc_listener = bind(grpc).await?;
        let admin_listener = bind(admin).await?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let shutdown: Stop = Box::pin(async move {
            let _ = stopped.await;
        });
        let task = tokio::spawn(run(grpc_listener, admin_listener, shutdown));
        let mut service = Self {
            name,
            grpc,
            admin,
            note: String::new(),
            stop: Some(stop),
            task,
        };
        service.wait_ready().await?;
        Ok(service)
    }

    /// Waits until `/readyz` answers 200 (projections caught up), or the service fails.
    async fn wait_ready(&mut self) -> Result<(), String> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if self.task.is_finished() {
                let why = match (&mut self.task).await {
                    Ok(Err(e)) => e.to_string(),
                    Ok(Ok(())) => "it stopped".to_owned(),
                    Err(e) => e.to_string(),
                };
                return Err(format!("{} failed to start: {why}", self.name));
            }
            if let Ok(mut stream) = tokio::net::TcpStream::connect(self.admin).await {
                let _ = stream.write_all(b"GET /readyz HTTP/1.0\r\n\r\n").await;
                let mut answer = String::new();
                let _ = stream.read_to_string(&mut answer).await;
                if answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200") {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!("{} did not become ready within 120 s", self.name))
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match tokio::time::timeout(Duration::from_secs(15), &mut self.task).await {
            Ok(Ok(Err(e))) => eprintln!("{}: {e}", self.name),
            Err(_) => self.task.abort(),
            _ => {}
        }
    }
}

fn print_banner(config: &DevConfig, url: &str, services: &[Service]) {
    println!();
    println!("Tillit is running locally.");
    println!("  NATS JetStream  {url}");
    println!("  data            {}", config.data_dir.display());
    if let Some(portal) = services.iter().find(|s| s.name == "portal") {
        println!(
            "  open the portal http://{}  ({})",
            portal.grpc, portal.note
        );
    }
    for service in services.iter().filter(|s| s.name != "portal") {
        println!(
            "  {:<15} gRPC {}  admin http://{} (/readyz, /livez, /metrics)",
            service.name, service.grpc, service.admin
        );
        if !service.note.is_empty() {
            println!("                  {}", service.note);
        }
    }
    println!(
        "  JWKS            http://{}/.well-known/jwks.json",
        services[0].admin
    );
    println!(
        "  try             grpcurl -plaintext -d '{{\"email\":\"...\",\"password\":\"...\"}}' \\"
    );
    println!(
        "                    {} tillit.identity.v1.IdentityService/Login",
        services[0].grpc
    );
    if let Some(reporting) = services.iter().find(|s| s.name == "reporting") {
        println!(
            "  audit trail     grpcurl -plaintext -H \"authorization: Bearer $TOKEN\" -d '{{}}' \\"
        );
        println!(
            "                    {} tillit.reporting.v1.ReportingService/QueryAudit",
            reporting.grpc
        );
    }
    println!("  import assets   TILLIT_EMAIL=... TILLIT_PASSWORD=... just import-assets FILE.csv");
    println!("Press Ctrl-C to stop everything started here. `just reset` deletes all local data.");
}

/// Starts nats-server with JetStream on 127.0.0.1 and the store under the data dir.
async fn start_nats(config: &DevConfig) -> Result<(String, Child), String> {
    let store = config.data_dir.join("nats");
    std::fs::create_dir_all(&store).map_err(|e| format!("creating {}: {e}", store.display()))?;
    let log = store.join("nats-server.log");
    let mut child = Command::new(nats_server_binary())
        .args([
            "-js",
            "-a",
            "127.0.0.1",
            "-p",
            &config.nats_port.to_string(),
        ])
        .arg("--store_dir")
        .arg(&store)
        .arg("--log")
        .arg(&log)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("starting nats-server: {e} (run scripts/ensure-deps.sh nats)"))?;
    let url = format!("nats://127.0.0.1:{}", config.nats_port);

    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "nats-server exited ({status}); is port {} taken? Its log is {}",
                config.nats_port,
                log.display()
            ));
        }
        if check_jetstream(&url).await.is_ok() {
            return Ok((url, child));
        }
        if Instant::now() > deadline {
            stop(&mut child).await;
            return Err(format!(
                "nats-server did not come up; see {}",
                log.display()
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Asks the server for its JetStream account info with a raw request (async-nats cannot
/// parse nats-server 2.9's reply to its typed call).
async fn check_jetstream(url: &str) -> Result<(), String> {
    let client = async_nats::ConnectOptions::new()
        .connection_timeout(Duration::from_secs(2))
        .request_timeout(Some(Duration::from_secs(2)))
        .connect(url)
        .await
        .map_err(|e| format!("cannot connect to NATS at {url}: {e}"))?;
    let reply = client
        .request("$JS.API.INFO", "".into())
        .await
        .map_err(|e| {
            format!("NATS at {url} did not answer a JetStream request ({e}); start it with -js")
        })?;
    let info: serde_json::Value = serde_json::from_slice(&reply.payload)
        .map_err(|e| format!("NATS at {url} gave an unreadable JetStream reply: {e}"))?;
    match info.get("error") {
        Some(error) => Err(format!("NATS at {url} has no usable JetStream: {error}")),
        None => Ok(()),
    }
}

/// `NATS_SERVER_BIN`, else `nats-server` on PATH, else Debian's `/usr/sbin/nats-server`.
fn nats_server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("NATS_SERVER_BIN") {
        return PathBuf::from(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("nats-server"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| PathBuf::from("nats-server"))
}

async fn wait_child(child: &mut Option<Child>) -> String {
    match child {
        Some(child) => child
            .wait()
            .await
            .map_or_else(|e| e.to_string(), |s| s.to_string()),
        None => std::future::pending().await,
    }
}

/// Asks a child to stop (SIGTERM) and kills it if it has not within 10 s.
async fn stop(child: &mut Child) {
    if let Some(pid) = child.id() {
        let _ = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await;
        if tokio::time::timeout(Duration::from_secs(10), child.wait())
            .await
            .is_ok()
        {
            return;
        }
    }
    let _ = child.kill().await;
}
