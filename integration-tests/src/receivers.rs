//! What reminders are delivered to in tests: a webhook receiver (HTTP, in-process) and a
//! real SMTP server (Python's aiosmtpd, installed by `scripts/ensure-deps.sh smtp`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};

/// The workspace's root directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace holds integration-tests")
        .to_path_buf()
}

/// A binary of the workspace, built by `just test` before the tests run (cargo gives one
/// package's tests no path to another package's binaries).
pub fn built_binary(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let binary = target.join("debug").join(name);
    assert!(
        binary.exists(),
        "{} is missing: run `cargo build --workspace --bins` (just test does)",
        binary.display()
    );
    binary
}

/// The Python of `.tools/venv` (made by `scripts/ensure-deps.sh smtp grpc`), or
/// `TILLIT_TEST_PYTHON`.
pub fn venv_python() -> PathBuf {
    let python = std::env::var_os("TILLIT_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".tools/venv/bin/python"));
    assert!(
        python.exists(),
        "{} is missing: run scripts/ensure-deps.sh smtp grpc (just test does)",
        python.display()
    );
    python
}

/// A free TCP port on 127.0.0.1 (free when asked; good enough for a test).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// One request the webhook receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    /// Lower-cased header names.
    pub headers: HashMap<String, String>,
    /// The body.
    pub body: Vec<u8>,
    /// What the receiver answered.
    pub status: u16,
}

impl Received {
    /// A header's value (empty when absent).
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// An HTTP server that records every POST to `/hook` and answers 500 to the first
/// `failures` requests of each delivery id, 200 after.
pub struct WebhookReceiver {
    /// Where to post.
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl WebhookReceiver {
    /// Starts it on a free port.
    pub async fn start(failures: usize) -> Self {
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let log = received.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
                let log = log.clone();
                async move {
                    let headers: HashMap<String, String> = headers
                        .iter()
                        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
                        .collect();
                    let mut log = log.lock().expect("log");
                    let delivery = headers
                        .get("x-tillit-delivery")
                        .cloned()
                        .unwrap_or_default();
                    let before = log
                        .iter()
                        .filter(|r| r.header("x-tillit-delivery") == delivery)
                        .count();
                    let status = if before < failures {
                        StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        StatusCode::OK
                    };
                    log.push(Received {
                        headers,
                        body: body.to_vec(),
                        status: status.as_u16(),
                    });
                    status
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr: SocketAddr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url: format!("http://{addr}/hook"),
            received,
            task,
        }
    }

    /// Every request so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("log").clone()
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A real SMTP server writing every message it accepts into a Maildir.
pub struct SmtpSink {
    /// `smtp://127.0.0.1:<port>`.
    pub url: String,
    dir: tempfile::TempDir,
    child: Child,
}

impl SmtpSink {
    /// Starts aiosmtpd on a free port and waits until it accepts connections. A port
    /// taken between choosing and binding it makes aiosmtpd exit: it is tried again on
    /// another.
    pub async fn start() -> Self {
        let python = venv_python();
        let dir = tempfile::tempdir().expect("dir");
        for _ in 0..5 {
            let port = free_port();
            let mut child = Command::new(&python)
                .args(["-m", "aiosmtpd", "-n", "-l"])
                .arg(format!("127.0.0.1:{port}"))
                .args(["-c", "aiosmtpd.handlers.Mailbox"])
                .arg(dir.path().join("mail"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start aiosmtpd");
            for _ in 0..100 {
                if matches!(child.try_wait(), Ok(Some(_))) {
                    break;
                }
                if tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .is_ok()
                {
                    return Self {
                        url: format!("smtp://127.0.0.1:{port}"),
                        dir,
                        child,
                    };
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("aiosmtpd did not listen on any of five free ports");
    }

    /// Every message received, as text.
    pub fn messages(&self) -> Vec<String> {
        let mut found = Vec::new();
        for sub in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(self.dir.path().join("mail").join(sub)) else {
                continue;
            };
            for entry in entries.flatten() {
                if let Ok(text) = std::fs::read_to_string(entry.path()) {
                    found.push(text);
                }
            }
        }
        found
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
