//! `tillit-dev up`: the whole platform on one machine, for `just up`.
//!
//! Starts the project's own nats-server with JetStream on 127.0.0.1:14222 and its store
//! under `<data dir>/nats` (so deleting `.data` resets everything), or uses the server at
//! `TILLIT_NATS_URL` after checking it has JetStream, then runs every service built so far
//! in this process (identity), each through its `run(listeners, shutdown)` like the tests
//! do. Stays in the foreground until Ctrl-C (or SIGTERM), then stops everything it started.

use std::path::PathBuf;
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

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
    tillit_runtime::telemetry::init("tillit-dev");
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

    let outcome = match Identity::start(&config, &url).await {
        Ok(mut identity) => {
            print_banner(&config, &url, &identity);
            let outcome = tokio::select! {
                () = tillit_runtime::shutdown_signal() => Ok(()),
                status = wait_child(&mut nats) => Err(format!("nats-server exited unexpectedly ({status})")),
                ended = &mut identity.task => Err(format!("identity stopped: {}", ended.map_err(|e| e.to_string()).and_then(|r| r).err().unwrap_or_default())),
            };
            identity.stop().await;
            outcome
        }
        Err(e) => Err(e),
    };
    if let Some(child) = nats.as_mut() {
        stop(child).await;
    }
    println!("Stopped.");
    outcome
}

/// Identity running in this process.
struct Identity {
    grpc: std::net::SocketAddr,
    admin: std::net::SocketAddr,
    email: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), String>>,
}

impl Identity {
    /// Starts identity with the `TILLIT_*` settings, on this NATS and data directory.
    async fn start(config: &DevConfig, nats_url: &str) -> Result<Self, String> {
        let mut settings =
            tillit_identity::IdentityConfig::from_env(&tillit_runtime::Env::from_process())
                .map_err(|e| format!("configuration: {e}"))?;
        settings.platform.nats_url = nats_url.to_owned();
        settings.platform.data_dir = config.data_dir.clone();
        let bind = |addr| async move {
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| format!("binding {addr}: {e} (is another `just up` running?)"))
        };
        let grpc_listener = bind(settings.grpc_addr).await?;
        let admin_listener = bind(settings.admin_addr).await?;
        let (grpc, admin) = (settings.grpc_addr, settings.admin_addr);
        let email = settings.bootstrap_admin_email.clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(tillit_identity::run(
            settings,
            grpc_listener,
            admin_listener,
            async move {
                let _ = stopped.await;
            },
        ));
        let identity = Self {
            grpc,
            admin,
            email,
            stop: Some(stop),
            task,
        };
        identity.wait_ready().await?;
        Ok(identity)
    }

    /// Waits until `/readyz` answers 200 (projections caught up), or identity fails.
    async fn wait_ready(&self) -> Result<(), String> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if self.task.is_finished() {
                return Err("identity failed to start (see the log above)".into());
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
        Err("identity did not become ready within 120 s".into())
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match tokio::time::timeout(Duration::from_secs(15), &mut self.task).await {
            Ok(Ok(Err(e))) => eprintln!("identity: {e}"),
            Err(_) => self.task.abort(),
            _ => {}
        }
    }
}

fn print_banner(config: &DevConfig, url: &str, identity: &Identity) {
    println!();
    println!("Tillit is running locally.");
    println!("  NATS JetStream   {url}");
    println!("  data             {}", config.data_dir.display());
    println!(
        "  identity gRPC    {}  (tillit.identity.v1.IdentityService, reflection on)",
        identity.grpc
    );
    println!(
        "  identity admin   http://{}  (/readyz, /livez, /.well-known/jwks.json)",
        identity.admin
    );
    println!(
        "  admin login      {} with the password printed above on the first start",
        identity.email
    );
    println!("                   (or TILLIT_BOOTSTRAP_ADMIN_PASSWORD); `just reset` starts over.");
    println!(
        "  try              grpcurl -plaintext -d '{{\"email\":\"{}\",\"password\":\"...\"}}' \\",
        identity.email
    );
    println!(
        "                     {} tillit.identity.v1.IdentityService/Login",
        identity.grpc
    );
    println!("Press Ctrl-C to stop everything started here.");
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
