//! The incidents service: deviations, security incidents and improvement proposals, from
//! report through triage, containment and resolution to a reviewed closure (D1, D2, R2).
//!
//! - [`config`]: settings from `TILLIT_*` variables.
//! - [`domain`]: the incident decider (state = the API's `Incident`, one fold for decider
//!   and projection); pure.
//! - [`projection`]: asset facts (from ASSETS) and the incident register.
//! - [`api`]: the `tillit.incidents.v1.IncidentsService` handlers and who sees what.
//!
//! Triage copies what it needs of each affected asset (tenant, our role, classification,
//! personal data) into its own event, so the legal obligation engine (part 2) computes
//! from what was known at triage.

pub mod api;
pub mod config;
pub mod domain;
pub mod projection;

use std::sync::Arc;

use tillit_auth::view::ViewReader;
use tillit_auth::{AuthLayer, IdentityView, Verifier};
use tillit_kernel::{
    BoundedContext, EventStore, Projection, ProjectionConfig, ProjectionRunner, Runner,
};
use tillit_proto::incidents::incidents_service_server::IncidentsServiceServer;
use tokio::net::TcpListener;

pub use config::IncidentsConfig;

use crate::api::{Incidents, IncidentsApi};
use crate::projection::{AssetFacts, IncidentRegister, Reader};

/// The fully qualified gRPC service name.
pub const SERVICE_NAME: &str = "tillit.incidents.v1.IncidentsService";

/// Runs the incidents service on the given listeners until `shutdown` resolves.
pub async fn run(
    config: IncidentsConfig,
    grpc_listener: TcpListener,
    admin_listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let platform = &config.platform;
    let store = EventStore::connect(
        &platform.nats_url,
        platform.store.clone(),
        config.clock.clone(),
    )
    .await
    .map_err(|e| e.to_string())?;
    store
        .provision(BoundedContext::INCIDENTS)
        .await
        .map_err(|e| e.to_string())?;
    std::fs::create_dir_all(&platform.data_dir)
        .map_err(|e| format!("{}: {e}", platform.data_dir.display()))?;
    let projections: Vec<Arc<dyn Projection>> = vec![
        Arc::new(IdentityView),
        Arc::new(AssetFacts),
        Arc::new(IncidentRegister),
    ];
    let projections = Arc::new(
        ProjectionRunner::start(
            &platform.data_dir.join("incidents.redb"),
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
    let state = Arc::new(Incidents {
        incidents: Runner::new(store.clone(), BoundedContext::INCIDENTS),
        projections: projections.clone(),
        reader: Reader::new(db),
        identity: view,
        store,
        config,
    });
    let ready = projections.clone();
    tillit_runtime::serve(
        tillit_runtime::ServeParts {
            routes: tonic::service::Routes::new(IncidentsServiceServer::new(IncidentsApi::new(
                state,
            ))),
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
