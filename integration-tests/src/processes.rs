//! The services as their own processes, as an operator runs them: each binary started with
//! its settings in the environment, its log (JSON lines) in a file, stopped by SIGTERM or
//! killed. For tests of what only a process shows: signals, exit codes, its logs, the spans
//! it exports.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::time::Duration;

use crate::identity::{ADMIN_EMAIL, ADMIN_PASSWORD, ISSUER, PERSONAL_DATA_KEY, serving};
use crate::receivers::built_binary;

/// A Tillit binary running as a process.
pub struct ServiceProcess {
    /// `identity`, `assets`, `incidents`, `reporting` or `portal`.
    pub name: &'static str,
    /// Its gRPC address (the portal's: its HTTP address).
    pub grpc: SocketAddr,
    /// Its admin HTTP address (`/metrics`, `/livez`, `/readyz`).
    pub admin: SocketAddr,
    log: PathBuf,
    child: Child,
}

/// The gRPC service a binary serves, whose health says when it is up.
fn health_name(name: &str) -> Option<&'static str> {
    match name {
        "identity" => Some(tillit_identity::SERVICE_NAME),
        "assets" => Some(tillit_assets::SERVICE_NAME),
        "incidents" => Some(tillit_incidents::SERVICE_NAME),
        "reporting" => Some(tillit_reporting::SERVICE_NAME),
        _ => None,
    }
}

impl ServiceProcess {
    /// Starts `tillit-<name>` against `nats_url` with its data (and log) in `data_dir` and
    /// `extra` settings (which win), and waits until it serves. It binds port 0 and its log
    /// says which ports it got, so no other test can take a port in between.
    ///
    /// # Panics
    /// When it exits or does not serve in time; the message holds its log.
    pub async fn start(
        name: &'static str,
        nats_url: &str,
        data_dir: &Path,
        extra: &[(&str, String)],
    ) -> Self {
        let binary = built_binary(&format!("tillit-{name}"));
        let log_path = data_dir.join(format!("{name}.log"));
        let log = std::fs::File::create(&log_path).expect("log file");
        let prefix = name.to_ascii_uppercase();
        let (addr, admin) = if name == "portal" {
            (
                "TILLIT_PORTAL_ADDR".to_owned(),
                "TILLIT_PORTAL_ADMIN_ADDR".to_owned(),
            )
        } else {
            (
                format!("TILLIT_{prefix}_GRPC_ADDR"),
                format!("TILLIT_{prefix}_ADMIN_ADDR"),
            )
        };
        let mut command = Command::new(binary);
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("TILLIT_NATS_URL", nats_url)
            .env("TILLIT_DATA_DIR", data_dir)
            .env("TILLIT_ISSUER", ISSUER)
            // The platform's secret: every service must seal and open personal data alike.
            .env("TILLIT_PERSONAL_DATA_KEY", PERSONAL_DATA_KEY)
            .env("TILLIT_ARGON2_MEMORY_KIB", "1024")
            .env("TILLIT_ARGON2_ITERATIONS", "1")
            .env("TILLIT_BOOTSTRAP_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("TILLIT_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env(addr, "127.0.0.1:0")
            .env(admin, "127.0.0.1:0")
            .env("TILLIT_LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .stdout(log.try_clone().expect("log"))
            .stderr(log);
        for (variable, value) in extra {
            command.env(variable, value);
        }
        let mut child = command.spawn().expect("start the service binary");
        let failed = |why: &str| {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            format!("tillit-{name} {why}; its log:\n{log}")
        };
        let mut bound = None;
        for _ in 0..300 {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("{}", failed(&format!("exited with {status}")));
            }
            bound = listening_at(&log_path);
            if bound.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let Some((grpc, admin)) = bound else {
            let _ = child.kill();
            panic!("{}", failed("never said where it listens"));
        };
        let up = match health_name(name) {
            Some(service) => serving(grpc, service).await,
            None => {
                tillit_testkit::eventually(crate::identity::WAIT, || async move {
                    crate::identity::http_get(admin, "/readyz")
                        .await
                        .0
                        .contains("200")
                })
                .await
            }
        };
        if !up {
            let _ = child.kill();
            panic!("{}", failed("did not become ready"));
        }
        Self {
            name,
            grpc,
            admin,
            log: log_path,
            child,
        }
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM, as Kubernetes does when it stops a pod.
    pub fn terminate(&self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
    }

    /// Waits until it has exited, at most `timeout`; answers its exit status.
    pub async fn wait(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// kill -9.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The (gRPC, admin) addresses in a service log's "listening" line, once it is written.
fn listening_at(log: &Path) -> Option<(SocketAddr, SocketAddr)> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines().find_map(|line| {
        let entry: serde_json::Value = serde_json::from_str(line).ok()?;
        let fields = entry.get("fields")?;
        if fields.get("message")?.as_str()? != "listening" {
            return None;
        }
        let addr = |name: &str| fields.get(name)?.as_str()?.parse().ok();
        Some((addr("grpc")?, addr("admin")?))
    })
}

/// NATS and every service as its own process, identity first and the portal last, all
/// sharing one data directory (each has its own redb file) and `extra` settings.
pub struct ProcessPlatform {
    /// Its nats-server.
    pub nats: tillit_testkit::NatsServer,
    /// Data and logs.
    pub dir: tempfile::TempDir,
    /// identity, assets, incidents, reporting, portal.
    pub services: Vec<ServiceProcess>,
}

impl ProcessPlatform {
    /// Starts it.
    pub async fn start(extra: &[(&str, String)]) -> Self {
        let nats = tillit_testkit::NatsServer::start();
        let dir = tempfile::tempdir().expect("data dir");
        let mut services = Vec::new();
        for name in ["identity", "assets", "incidents", "reporting"] {
            services.push(ServiceProcess::start(name, &nats.url(), dir.path(), extra).await);
        }
        let url = |name: &str| {
            let grpc = services.iter().find(|s| s.name == name).map(|s| s.grpc);
            format!("http://{}", grpc.expect("started"))
        };
        let mut portal = vec![
            ("TILLIT_PORTAL_IDENTITY_URL", url("identity")),
            ("TILLIT_PORTAL_ASSETS_URL", url("assets")),
            ("TILLIT_PORTAL_INCIDENTS_URL", url("incidents")),
            ("TILLIT_PORTAL_REPORTING_URL", url("reporting")),
            ("TILLIT_PORTAL_PLAIN_HTTP", "true".to_owned()),
        ];
        portal.extend(extra.iter().cloned());
        services.push(ServiceProcess::start("portal", &nats.url(), dir.path(), &portal).await);
        Self {
            nats,
            dir,
            services,
        }
    }

    /// The process of service `name`.
    pub fn service(&self, name: &str) -> &ServiceProcess {
        self.services
            .iter()
            .find(|s| s.name == name)
            .expect("a started service")
    }

    /// The process of service `name`, to stop it.
    pub fn service_mut(&mut self, name: &str) -> &mut ServiceProcess {
        self.services
            .iter_mut()
            .find(|s| s.name == name)
            .expect("a started service")
    }

    /// A channel to service `name`'s gRPC port.
    pub async fn channel(&self, name: &str) -> tonic::transport::Channel {
        tonic::transport::Channel::from_shared(format!("http://{}", self.service(name).grpc))
            .expect("url")
            .connect()
            .await
            .expect("connect")
    }

    /// The bootstrap admin's access token.
    pub async fn admin_token(&self) -> String {
        tillit_testkit::harness::login_at(
            self.channel("identity").await,
            ADMIN_EMAIL,
            ADMIN_PASSWORD,
        )
        .await
        .expect("admin login")
        .access_token
    }

    /// Creates a staff user with `roles` whose password is the harness's; answers its
    /// access token.
    pub async fn staff(&self, email: &str, roles: &[&str]) -> String {
        let admin = self.admin_token().await;
        let (_, login, _) = tillit_testkit::harness::create_user_at(
            self.channel("identity").await,
            &admin,
            "internal",
            email,
            roles,
        )
        .await;
        login.access_token
    }

    /// Every service's log so far, one after another.
    pub fn logs(&self) -> String {
        self.services
            .iter()
            .map(|s| format!("=== {}\n{}", s.name, s.log()))
            .collect()
    }
}
