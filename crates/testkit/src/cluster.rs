//! A three-node nats-server cluster on loopback: three processes with JetStream, cluster
//! routes between them and a store directory each, of the pinned current release
//! (`scripts/ensure-deps.sh nats-latest`; Debian's 2.9.10 has the clustered
//! optimistic-concurrency bug fixed in 2.9.21). Nodes can be killed, restarted on their
//! store, paused and resumed, to play the faults of a real cluster.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// One server of the cluster.
struct Node {
    name: String,
    client_port: u16,
    cluster_port: u16,
    child: Option<Child>,
}

/// Three nats-servers forming the cluster `tillit`; stopped on drop.
pub struct NatsCluster {
    dir: TempDir,
    binary: PathBuf,
    nodes: Vec<Node>,
}

/// A free loopback port (free when asked: the cluster's routes need their ports before
/// the servers start).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The pinned release: `NATS_CLUSTER_SERVER_BIN`, else `.tools/nats-latest/bin/nats-server`.
pub fn latest_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("NATS_CLUSTER_SERVER_BIN") {
        return PathBuf::from(path);
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let binary = root.join(".tools/nats-latest/bin/nats-server");
    assert!(
        binary.is_file(),
        "{} is missing: run scripts/ensure-deps.sh nats-latest (just test does)",
        binary.display()
    );
    binary
}

impl NatsCluster {
    /// Starts three nodes and waits until JetStream has a meta leader.
    ///
    /// # Panics
    /// When the servers do not come up or form a cluster within 30 s.
    pub async fn start() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("tillit-nats-cluster-")
            .tempdir()
            .expect("a temporary directory for the cluster");
        let nodes = (1..=3)
            .map(|n| Node {
                name: format!("n{n}"),
                client_port: free_port(),
                cluster_port: free_port(),
                child: None,
            })
            .collect();
        let mut cluster = Self {
            dir,
            binary: latest_binary(),
            nodes,
        };
        for index in 0..3 {
            cluster.spawn(index);
        }
        cluster.wait_for_jetstream().await;
        cluster
    }

    /// Every node's client URL, comma-separated, as the services take it.
    pub fn urls(&self) -> String {
        (0..self.nodes.len())
            .map(|i| self.url(i))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Node `index`'s client URL.
    pub fn url(&self, index: usize) -> String {
        format!("nats://127.0.0.1:{}", self.nodes[index].client_port)
    }

    /// The index of the node whose server name is `name` (`n1`, `n2`, `n3`).
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.name == name)
    }

    /// Its server's log.
    pub fn log(&self, index: usize) -> String {
        std::fs::read_to_string(self.log_path(index)).unwrap_or_default()
    }

    fn log_path(&self, index: usize) -> PathBuf {
        self.dir
            .path()
            .join(format!("{}.log", self.nodes[index].name))
    }

    /// kill -9 of node `index`.
    pub fn kill(&mut self, index: usize) {
        if let Some(mut child) = self.nodes[index].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts node `index` again on its ports and store.
    pub fn restart(&mut self, index: usize) {
        assert!(self.nodes[index].child.is_none(), "kill the node first");
        self.spawn(index);
    }

    /// SIGSTOP of node `index`: it stops answering clients and its routes, as a node cut
    /// off by the network does.
    pub fn pause(&self, index: usize) {
        self.signal(index, "STOP");
    }

    /// SIGCONT of node `index`.
    pub fn resume(&self, index: usize) {
        self.signal(index, "CONT");
    }

    fn signal(&self, index: usize, name: &str) {
        if let Some(child) = &self.nodes[index].child {
            let _ = Command::new("kill")
                .args([format!("-{name}"), child.id().to_string()])
                .status();
        }
    }

    fn spawn(&mut self, index: usize) {
        let routes = self
            .nodes
            .iter()
            .map(|n| format!("nats://127.0.0.1:{}", n.cluster_port))
            .collect::<Vec<_>>()
            .join(",");
        let node = &self.nodes[index];
        let store = self.dir.path().join(&node.name);
        let child = Command::new(&self.binary)
            .args(["-js", "-a", "127.0.0.1"])
            .args(["-p", &node.client_port.to_string()])
            .args(["-n", &node.name])
            .args(["--cluster_name", "tillit"])
            .args([
                "--cluster",
                &format!("nats://127.0.0.1:{}", node.cluster_port),
            ])
            .args(["--routes", &routes])
            .arg("--store_dir")
            .arg(&store)
            .arg("--log")
            .arg(self.log_path(index))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", self.binary.display()));
        self.nodes[index].child = Some(child);
    }

    /// Waits until every running node answers JetStream requests (a meta leader exists).
    pub async fn wait_for_jetstream(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        for index in (0..self.nodes.len()).filter(|i| self.nodes[*i].child.is_some()) {
            loop {
                let ready = async {
                    let client = async_nats::connect(self.url(index)).await.ok()?;
                    let js = async_nats::jetstream::new(client);
                    tokio::time::timeout(Duration::from_secs(2), js.query_account())
                        .await
                        .ok()?
                        .ok()
                };
                if ready.await.is_some() {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "the cluster has no JetStream meta leader after 30 s; node {index}'s log:\n{}",
                    self.log(index)
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        for index in 0..self.nodes.len() {
            self.resume(index);
            self.kill(index);
        }
    }
}
