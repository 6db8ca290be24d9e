//! The incidents service: deviations, security incidents and improvement proposals, from
//! report through triage, containment and resolution to a reviewed closure (D1, D2, R2).
//!
//! - [`config`]: settings from `TILLIT_*` variables.
//! - [`domain`]: the incident decider (state = the API's `Incident`, one fold for decider
//!   and projection), its obligations, the triage rules (our role, affected customers,
//!   clock facts) and input validation; pure.
//! - the read models (asset facts from ASSETS, the incident register) are
//!   `tillit-incidents-views`, which reporting runs too.
//! - [`api`]: the `tillit.incidents.v1.IncidentsService` handlers and who sees what.
//!
//! Triage copies what it needs of each affected asset (tenant, our role, classification,
//! personal data) into its own event, so the legal obligation engine (part 2) computes
//! from what was known at triage.

pub mod api;
pub mod config;
pub mod domain;

use std::sync::Arc;

use tillit_kernel::{BoundedContext, Projection, Runner};
use tillit_proto::incidents::incidents_service_server::IncidentsServiceServer;
use tillit_runtime::{Foundation, StartError};
use tokio::net::TcpListener;

pub use config::IncidentsConfig;

use crate::api::{Incidents, IncidentsApi};
use tillit_incidents_views::register::{AssetFacts, IncidentRegister, Reader};

/// The fully qualified gRPC service name.
pub const SERVICE_NAME: &str = "tillit.incidents.v1.IncidentsService";

/// Runs the incidents service on the given listeners until `shutdown` resolves.
pub async fn run(
    config: IncidentsConfig,
    grpc_listener: TcpListener,
    admin_listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let projections: Vec<Arc<dyn Projection>> =
        vec![Arc::new(AssetFacts), Arc::new(IncidentRegister)];
    let foundation = Foundation::start(
        SERVICE_NAME,
        &config.platform,
        config.clock.clone(),
        &[BoundedContext::INCIDENTS],
        "incidents.redb",
        projections,
    )
    .await?;
    let store = foundation.store.clone();
    let state = Arc::new(Incidents {
        incidents: Runner::new(store.clone(), BoundedContext::INCIDENTS),
        projections: foundation.projections.clone(),
        reader: Reader::new(foundation.db.clone()),
        identity: foundation.identity.clone(),
        store,
        config,
    });
    let routes = tonic::service::Routes::new(IncidentsServiceServer::new(IncidentsApi::new(state)));
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
