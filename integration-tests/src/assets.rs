//! Starting the assets service beside identity, on the same nats-server.

use std::net::SocketAddr;
use std::path::Path;

use tillit_assets::AssetsConfig;
use tillit_proto::assets::assets_service_client::AssetsServiceClient;
use tillit_runtime::Env;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;

use crate::identity::{ISSUER, wait_serving};

/// A running assets service.
pub struct Assets {
    /// gRPC address.
    pub grpc: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), String>>>,
}

/// Settings for tests.
pub fn test_config(nats_url: &str, data_dir: &Path) -> AssetsConfig {
    let data = data_dir.display().to_string();
    let pairs = [
        ("TILLIT_NATS_URL", nats_url),
        ("TILLIT_DATA_DIR", data.as_str()),
        ("TILLIT_ISSUER", ISSUER),
        ("TILLIT_COMPANY_NAME", "Tillit Test AB"),
        ("TILLIT_DPO_CONTACT", "dpo@tillit.test"),
    ];
    AssetsConfig::from_env(&Env::from_pairs(pairs)).expect("test configuration")
}

impl Assets {
    /// Starts assets on free ports and waits until its health says SERVING.
    pub async fn start(config: AssetsConfig) -> Self {
        let grpc_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let admin_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let grpc = grpc_listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(tillit_assets::run(
            config,
            grpc_listener,
            admin_listener,
            async move {
                let _ = stopped.await;
            },
        ));
        wait_serving(grpc, tillit_assets::SERVICE_NAME).await;
        Self {
            grpc,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// A gRPC client.
    pub async fn client(&self) -> AssetsServiceClient<Channel> {
        AssetsServiceClient::connect(format!("http://{}", self.grpc))
            .await
            .expect("connect")
    }

    /// Stops it and waits until it has let go of its files.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .expect("assets task")
                .expect("assets ran cleanly");
        }
    }
}

impl Drop for Assets {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
