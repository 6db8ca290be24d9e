//! Running the assets, incidents and reporting services beside identity, on the same
//! nats-server.

use std::net::SocketAddr;
use std::path::Path;

use tillit_assets::AssetsConfig;
use tillit_incidents::IncidentsConfig;
use tillit_reporting::ReportingConfig;
use tillit_runtime::Env;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;

use crate::identity::{ISSUER, wait_serving};

/// A service running in-process through its `run(config, listeners, shutdown)`.
pub struct Service {
    /// gRPC address.
    pub grpc: SocketAddr,
    /// Admin HTTP address (`/livez`, `/readyz`, `/metrics`).
    pub admin: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), String>>>,
}

fn env_with(nats_url: &str, data_dir: &Path, extra: &[(&str, &str)]) -> Env {
    let data = data_dir.display().to_string();
    let mut pairs = vec![
        ("TILLIT_NATS_URL", nats_url),
        ("TILLIT_DATA_DIR", data.as_str()),
        ("TILLIT_ISSUER", ISSUER),
        ("TILLIT_COMPANY_NAME", "Tillit Test AB"),
        ("TILLIT_DPO_CONTACT", "dpo@tillit.test"),
    ];
    pairs.extend_from_slice(extra);
    Env::from_pairs(pairs)
}

fn env(nats_url: &str, data_dir: &Path) -> Env {
    env_with(nats_url, data_dir, &[])
}

/// Assets settings for tests.
pub fn test_config(nats_url: &str, data_dir: &Path) -> AssetsConfig {
    AssetsConfig::from_env(&env(nats_url, data_dir)).expect("test configuration")
}

/// Assets settings for tests with `extra` settings.
pub fn assets_config_with(nats_url: &str, data_dir: &Path, extra: &[(&str, &str)]) -> AssetsConfig {
    AssetsConfig::from_env(&env_with(nats_url, data_dir, extra)).expect("test configuration")
}

/// Incidents settings for tests.
pub fn incidents_config(nats_url: &str, data_dir: &Path) -> IncidentsConfig {
    incidents_config_with(nats_url, data_dir, &[])
}

/// Incidents settings for tests with `extra` settings.
pub fn incidents_config_with(
    nats_url: &str,
    data_dir: &Path,
    extra: &[(&str, &str)],
) -> IncidentsConfig {
    IncidentsConfig::from_env(&env_with(nats_url, data_dir, extra)).expect("test configuration")
}

/// Reporting settings for tests.
pub fn reporting_config(nats_url: &str, data_dir: &Path) -> ReportingConfig {
    reporting_config_with(nats_url, data_dir, &[])
}

/// Reporting settings for tests with `extra` settings (reminder channels, intervals).
pub fn reporting_config_with(
    nats_url: &str,
    data_dir: &Path,
    extra: &[(&str, &str)],
) -> ReportingConfig {
    ReportingConfig::from_env(&env_with(nats_url, data_dir, extra)).expect("test configuration")
}

impl Service {
    /// Runs a service on free ports and waits until its health says SERVING.
    pub async fn start<F, Fut>(name: &str, run: F) -> Self
    where
        F: FnOnce(
            tokio::net::TcpListener,
            tokio::net::TcpListener,
            std::pin::Pin<Box<dyn Future<Output = ()> + Send>>,
        ) -> Fut,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        let grpc_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let admin_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let grpc = grpc_listener.local_addr().expect("addr");
        let admin = admin_listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(run(
            grpc_listener,
            admin_listener,
            Box::pin(async move {
                let _ = stopped.await;
            }),
        ));
        wait_serving(grpc, name).await;
        Self {
            grpc,
            admin,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// The assets service.
    pub async fn assets(config: AssetsConfig) -> Self {
        Self::start(tillit_assets::SERVICE_NAME, move |g, a, s| {
            tillit_assets::run(config, g, a, s)
        })
        .await
    }

    /// The incidents service.
    pub async fn incidents(config: IncidentsConfig) -> Self {
        Self::start(tillit_incidents::SERVICE_NAME, move |g, a, s| {
            tillit_incidents::run(config, g, a, s)
        })
        .await
    }

    /// The reporting service.
    pub async fn reporting(config: ReportingConfig) -> Self {
        Self::start(tillit_reporting::SERVICE_NAME, move |g, a, s| {
            tillit_reporting::run(config, g, a, s)
        })
        .await
    }

    /// A channel to it.
    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.grpc))
            .expect("url")
            .connect()
            .await
            .expect("connect")
    }

    /// Raw GET on the admin port; answers the status line and body.
    pub async fn admin_get(&self, path: &str) -> (String, String) {
        crate::identity::http_get(self.admin, path).await
    }

    /// Stops it and waits until it has let go of its files.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .expect("service task")
                .expect("service ran cleanly");
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
