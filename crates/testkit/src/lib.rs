//! Test-only helpers. [`NatsServer`] runs a real `nats-server -js` with a temporary store
//! on a port the server chose itself (no race between picking a free port and binding it),
//! and keeps that port across stop, kill -9 and restart so clients can reconnect.
//! [`init_logging`] sends logs to the test output only when `TEST_LOG=1`. [`harness`] runs
//! any service in-process on free ports, for the end-to-end tests and the benchmark.
//! [`NatsCluster`] runs three nodes of the pinned current release, for the fault tests.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub mod cluster;
pub mod harness;

pub use cluster::NatsCluster;

/// A nats-server child process with JetStream and its own store; stopped on drop.
pub struct NatsServer {
    dir: TempDir,
    binary: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl NatsServer {
    /// Starts a server on a free port, found by the server itself (`-p -1`).
    ///
    /// # Panics
    /// When nats-server cannot be found or does not come up: the test cannot run then.
    pub fn start() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("tillit-nats-")
            .tempdir()
            .expect("a temporary directory for the NATS store");
        let mut server = Self {
            dir,
            binary: binary(),
            port: 0,
            child: None,
        };
        server.spawn();
        server
    }

    /// The client URL, `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The port, kept across restarts.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Where JetStream keeps its files.
    pub fn store_dir(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    /// A connected client.
    pub async fn client(&self) -> async_nats::Client {
        async_nats::connect(self.url())
            .await
            .expect("connecting to the test nats-server")
    }

    /// Stops the server gracefully (SIGTERM) and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal(&child, "TERM");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if matches!(child.try_wait(), Ok(Some(_))) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills the server with SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Freezes the server with SIGSTOP: connections stay open but nothing answers, as
    /// with a hung host. Clients only notice by their own timeouts.
    pub fn pause(&self) {
        if let Some(child) = &self.child {
            signal(child, "STOP");
        }
    }

    /// Lets a paused server run on (SIGCONT).
    pub fn resume(&self) {
        if let Some(child) = &self.child {
            signal(child, "CONT");
        }
    }

    /// Starts the server again on the same port and store.
    ///
    /// # Panics
    /// When it is still running or does not come up.
    pub fn restart(&mut self) {
        assert!(
            self.child.is_none(),
            "stop or kill the server before restarting it"
        );
        self.spawn();
    }

    fn spawn(&mut self) {
        let ports_dir = self.dir.path().join("ports");
        std::fs::create_dir_all(&ports_dir).expect("the ports file directory");
        let port = if self.port == 0 {
            "-1".to_owned()
        } else {
            self.port.to_string()
        };
        let log = self.dir.path().join("nats-server.log");
        let child = Command::new(&self.binary)
            .args(["-js", "-a", "127.0.0.1", "-p", &port])
            .arg("--store_dir")
            .arg(self.store_dir())
            .arg("--ports_file_dir")
            .arg(&ports_dir)
            .arg("--log")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", self.binary.display()));
        let ports_file = ports_dir.join(format!("nats-server_{}.ports", child.id()));
        self.child = Some(child);
        self.port = wait_for_port(&ports_file, &log);
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.resume();
        self.kill();
    }
}

/// The nats-server binary: `NATS_SERVER_BIN`, else `nats-server` on PATH.
fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("NATS_SERVER_BIN") {
        return PathBuf::from(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
        .map(|dir| dir.join("nats-server"))
        .find(|candidate| candidate.is_file())
        .expect("nats-server on PATH or NATS_SERVER_BIN (`just test` installs it)")
}

/// Waits for the ports file the server writes once it listens, and reads the client port.
fn wait_for_port(ports_file: &Path, log: &Path) -> u16 {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(text) = std::fs::read_to_string(ports_file)
            && let Some(port) = client_port(&text)
        {
            return port;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let log = std::fs::read_to_string(log).unwrap_or_default();
    panic!("nats-server did not come up within 20 s; its log:\n{log}");
}

/// The port of the first `nats://host:port` URL in a ports file.
fn client_port(ports_file: &str) -> Option<u16> {
    let start = ports_file.find("nats://")? + "nats://".len();
    let rest = &ports_file[start..];
    let end = rest.find('"')?;
    rest[..end].rsplit(':').next()?.parse().ok()
}

fn signal(child: &Child, name: &str) {
    let _ = Command::new("kill")
        .args([format!("-{name}"), child.id().to_string()])
        .status();
}

/// Logs to the test output when `TEST_LOG=1`, nowhere otherwise. Safe to call repeatedly.
pub fn init_logging() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| "info".into()),
                )
                .with_test_writer()
                .try_init();
        }
    });
}

/// Polls `condition` every 10 ms until it holds or `timeout` passes; answers whether it held.
/// For waiting on another process (a server coming back), never on our own code.
pub async fn eventually<F, Fut>(timeout: Duration, mut condition: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if condition().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::client_port;

    #[test]
    fn the_client_port_is_read_from_the_ports_file() {
        let text = r#"{"nats":["nats://127.0.0.1:39017"],"monitoring":[]}"#;
        assert_eq!(client_port(text), Some(39017));
        assert_eq!(client_port("{}"), None);
    }
}
