//! The reporting service: reading across every service.
//!
//! - [`config`]: settings from `TILLIT_*` variables.
//! - [`audit`]: the audit trail, one entry per commit of every stream (CREDENTIALS by its
//!   envelopes only), and its CSV form.
//! - [`dashboard`]: the incident figures of the dashboard; pure.
//! - [`api`]: the `tillit.reporting.v1.ReportingService` handlers and who may call them.
//!
//! Its redb file holds its own copies of the other services' read models, built by the
//! same projection code those services use (identity's directory and compliance tables,
//! the asset register, the incident register), so the dashboard joins them at query time
//! without calling another service.

pub mod api;
pub mod audit;
pub mod config;
pub mod dashboard;

use std::sync::Arc;

use tillit_assets::projection::{Register, RegisterReader};
use tillit_identity::projection::{Compliance, ComplianceReader, Directory, DirectoryReader};
use tillit_incidents::projection::{IncidentRegister, Reader as IncidentReader};
use tillit_kernel::{BoundedContext, Projection};
use tillit_proto::reporting::reporting_service_server::ReportingServiceServer;
use tillit_rules::RuleSet;
use tillit_runtime::Foundation;
use tokio::net::TcpListener;

pub use config::ReportingConfig;

use crate::api::{Reporting, ReportingApi};
use crate::audit::{AuditReader, AuditTrail};

/// The fully qualified gRPC service name.
pub const SERVICE_NAME: &str = "tillit.reporting.v1.ReportingService";

/// Runs the reporting service on the given listeners until `shutdown` resolves.
pub async fn run(
    config: ReportingConfig,
    grpc_listener: TcpListener,
    admin_listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let rules = RuleSet::load(config.rules_file.as_deref())?;
    let projections: Vec<Arc<dyn Projection>> = vec![
        Arc::new(Directory),
        Arc::new(Compliance),
        Arc::new(Register),
        Arc::new(IncidentRegister),
        Arc::new(AuditTrail),
    ];
    let foundation = Foundation::start(
        &config.platform,
        config.clock.clone(),
        &[BoundedContext::REPORTING],
        "reporting.redb",
        projections,
    )
    .await?;
    tracing::info!(rules_sha256 = %rules.sha256(), "control rules loaded");
    let db = &foundation.db;
    let state = Arc::new(Reporting {
        projections: foundation.projections.clone(),
        audit: AuditReader::new(db.clone()),
        directory: DirectoryReader::new(db.clone()),
        compliance: ComplianceReader::new(db.clone()),
        assets: RegisterReader::new(db.clone()),
        incidents: IncidentReader::new(db.clone()),
        rules,
        store: foundation.store.clone(),
        config,
    });
    let routes = tonic::service::Routes::new(ReportingServiceServer::new(ReportingApi::new(state)));
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
