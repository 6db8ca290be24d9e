//! The assets service: the register of what the consultancy protects, for whom, how
//! valuable it is (classification), and whether backup, patching and monitoring are kept.
//!
//! - [`config`]: settings from `TILLIT_*` variables.
//! - [`domain`]: the asset decider (its state is the API's `Asset`, one fold for decider,
//!   projection and point-in-time reads) and input validation; pure.
//! - [`projection`]: the register read model.
//! - [`api`]: the `tillit.assets.v1.AssetsService` handlers.
//!
//! The control rules come from `tillit-rules`, shared with reporting.

pub mod api;
pub mod config;
pub mod domain;
pub mod projection;

use std::sync::Arc;

use tillit_auth::view::ViewReader;
use tillit_auth::{AuthLayer, IdentityView, Verifier};
use tillit_kernel::{
    BoundedContext, EventStore, Projection, ProjectionConfig, ProjectionRunner, Reservations,
    Runner,
};
use tillit_proto::assets::assets_service_server::AssetsServiceServer;
use tillit_rules::RuleSet;
use tokio::net::TcpListener;

pub use config::AssetsConfig;

use crate::api::{Assets, AssetsApi};
use crate::projection::{Register, RegisterReader};

/// The fully qualified gRPC service name.
pub const SERVICE_NAME: &str = "tillit.assets.v1.AssetsService";

/// Runs the assets service on the given listeners until `shutdown` resolves.
pub async fn run(
    config: AssetsConfig,
    grpc_listener: TcpListener,
    admin_listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let platform = &config.platform;
    let rules = RuleSet::load(config.rules_file.as_deref())?;
    let store = EventStore::connect(
        &platform.nats_url,
        platform.store.clone(),
        config.clock.clone(),
    )
    .await
    .map_err(|e| e.to_string())?;
    store
        .provision(BoundedContext::ASSETS)
        .await
        .map_err(|e| e.to_string())?;
    std::fs::create_dir_all(&platform.data_dir)
        .map_err(|e| format!("{}: {e}", platform.data_dir.display()))?;

    let projections: Vec<Arc<dyn Projection>> = vec![Arc::new(IdentityView), Arc::new(Register)];
    let projections = Arc::new(
        ProjectionRunner::start(
            &platform.data_dir.join("assets.redb"),
            store.clone(),
            projections,
            ProjectionConfig::default(),
        )
        .await
        .map_err(|e| e.to_string())?,
    );
    let db = projections.database().clone();
    let view = ViewReader::new(db.clone());
    let verifier = Verifier::new(view.clone(), platform.issuer.clone())
        .with_catch_up(projections.clone(), platform.consistency_timeout);
    tracing::info!(rules_sha256 = %rules.sha256(), "control rules loaded");
    let assets = Arc::new(Assets {
        assets: Runner::new(store.clone(), BoundedContext::ASSETS),
        reservations: Reservations::new(store.clone(), BoundedContext::ASSETS),
        projections: projections.clone(),
        register: RegisterReader::new(db),
        identity: view,
        rules,
        store,
        config,
    });
    let ready = projections.clone();
    tillit_runtime::serve(
        tillit_runtime::ServeParts {
            routes: tonic::service::Routes::new(AssetsServiceServer::new(AssetsApi::new(assets))),
            service_names: vec![SERVICE_NAME],
            auth: AuthLayer::new(verifier, &[]),
            admin: axum::Router::new(),
            ready: Arc::new(move || ready.is_ready()),
        },
        grpc_listener,
        admin_listener,
        shutdown,
    )
    .await
    .map_err(|e| e.to_string())?;
    projections.stop().await;
    Ok(())
}
