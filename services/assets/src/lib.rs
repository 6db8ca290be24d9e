//! The assets service: the register of what the consultancy protects, for whom, how
//! valuable it is (classification), and whether backup, patching and monitoring are kept.
//!
//! - [`config`]: settings from `TILLIT_*` variables.
//! - [`domain`]: the asset decider (its state is the API's `Asset`, one fold for decider,
//!   projection and point-in-time reads) and input validation; pure.
//! - the register read model is `tillit-assets-views` (reporting runs it too).
//! - [`api`]: the `tillit.assets.v1.AssetsService` handlers.
//!
//! The control rules come from `tillit-rules`, shared with reporting.

pub mod api;
pub mod config;
pub mod domain;

use std::sync::Arc;

use tillit_kernel::{BoundedContext, Reservations, Runner};
use tillit_proto::assets::assets_service_server::AssetsServiceServer;
use tillit_rules::RuleSet;
use tillit_runtime::{Foundation, StartError};
use tokio::net::TcpListener;

pub use config::AssetsConfig;

use crate::api::{Assets, AssetsApi};
use tillit_assets_views::register::{Register, RegisterReader};

/// The fully qualified gRPC service name.
pub const SERVICE_NAME: &str = "tillit.assets.v1.AssetsService";

/// Runs the assets service on the given listeners until `shutdown` resolves.
pub async fn run(
    config: AssetsConfig,
    grpc_listener: TcpListener,
    admin_listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let rules = RuleSet::load(config.rules_file.as_deref()).map_err(StartError::Settings)?;
    let foundation = Foundation::start(
        SERVICE_NAME,
        &config.platform,
        config.clock.clone(),
        &[BoundedContext::ASSETS],
        "assets.redb",
        vec![Arc::new(Register)],
    )
    .await?;
    tracing::info!(rules_sha256 = %rules.sha256(), "control rules loaded");
    let store = foundation.store.clone();
    let assets = Arc::new(Assets {
        assets: Runner::new(store.clone(), BoundedContext::ASSETS),
        reservations: Reservations::new(store.clone(), BoundedContext::ASSETS),
        projections: foundation.projections.clone(),
        register: RegisterReader::new(foundation.db.clone()),
        identity: foundation.identity.clone(),
        rules,
        store,
        config,
    });
    let routes = tonic::service::Routes::new(AssetsServiceServer::new(AssetsApi::new(assets)));
    foundation
        .serve(
            routes,
            vec![SERVICE_NAME],
            &[],
            axum::Router::new(),
            (grpc_listener, admin_listener),
            shutdown,
        )
        .await
}
