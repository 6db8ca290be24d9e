//! The reporting service: reading across every service.
//!
//! - [`config`]: settings from `TILLIT_*` variables.
//! - [`audit`]: the audit trail, one entry per commit of every stream (CREDENTIALS by its
//!   envelopes only), and its CSV form.
//! - [`dashboard`]: the incident figures of the dashboard; pure.
//! - [`reminders`]: due items, the scheduler that issues each reminder once, delivery by
//!   webhook and e-mail, task lists.
//! - [`annual`]: the annual management-review report, reproducible from log positions,
//!   and its sign-off.
//! - [`api`]: the `tillit.reporting.v1.ReportingService` handlers and who may call them.
//! - [`Reporting`] (here): what the handlers and the background tasks (reminder
//!   scheduler and delivery) share.
//!
//! Its redb file holds its own copies of the other services' read models, built by the
//! same projection code those services use (identity's directory and compliance tables,
//! the asset register, the incident register), so the dashboard joins them at query time
//! without calling another service.

pub mod annual;
pub mod api;
pub mod audit;
pub mod config;
pub mod dashboard;
pub mod reminders;

use std::sync::Arc;

use tillit_assets_views::register::{Register, RegisterReader};
use tillit_identity_views::{Compliance, ComplianceReader, Directory, DirectoryReader};
use tillit_incidents_views::register::{IncidentRegister, Reader as IncidentReader};
use tillit_kernel::{BoundedContext, EventStore, Projection, ProjectionRunner, Runner};
use tillit_proto::reporting::reporting_service_server::ReportingServiceServer;
use tillit_rules::RuleSet;
use tillit_runtime::{Foundation, StartError};
use tokio::net::TcpListener;

pub use config::ReportingConfig;

use crate::annual::review::ManagementReview;
use crate::api::ReportingApi;
use crate::audit::{AuditReader, AuditTrail};
use crate::reminders::decider::Reminder;
use crate::reminders::email::Mailer;
use crate::reminders::projection::{Reminders, RemindersReader};

/// What the handlers and the background tasks (reminder scheduler and delivery) share.
pub struct Reporting {
    /// The service's settings.
    pub config: ReportingConfig,
    /// The event store (integrity checks read the raw log).
    pub store: EventStore,
    /// The projections.
    pub projections: Arc<ProjectionRunner>,
    /// The audit trail.
    pub audit: AuditReader,
    /// The identity view: which actors are erased data subjects.
    pub identity: tillit_auth::view::ViewReader,
    /// Identity's directory (who is staff).
    pub directory: DirectoryReader,
    /// Policies and acknowledgements.
    pub compliance: ComplianceReader,
    /// The asset register.
    pub assets: RegisterReader,
    /// The incident register.
    pub incidents: IncidentReader,
    /// The control rules.
    pub rules: RuleSet,
    /// Issued reminders, deliveries, task lists.
    pub reminders: RemindersReader,
    /// Issues and records reminders.
    pub reminder_runner: Runner<Reminder>,
    /// Posts webhooks.
    pub http: reqwest::Client,
    /// Sends e-mail, when an SMTP server is configured.
    pub mailer: Option<Mailer>,
    /// Management-review sign-offs.
    pub reviews: Runner<ManagementReview>,
    /// Reminders issued and delivered, the legal clock.
    pub metrics: reminders::metrics::ReminderMetrics,
}

/// The fully qualified gRPC service name.
pub const SERVICE_NAME: &str = "tillit.reporting.v1.ReportingService";

/// Runs the reporting service on the given listeners until `shutdown` resolves.
pub async fn run(
    config: ReportingConfig,
    grpc_listener: TcpListener,
    admin_listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let rules = RuleSet::load(config.rules_file.as_deref()).map_err(StartError::Settings)?;
    let projections: Vec<Arc<dyn Projection>> = vec![
        Arc::new(Directory),
        Arc::new(Compliance),
        Arc::new(Register),
        Arc::new(IncidentRegister),
        Arc::new(AuditTrail),
        Arc::new(Reminders),
    ];
    let foundation = Foundation::start(
        SERVICE_NAME,
        &config.platform,
        config.clock.clone(),
        &[BoundedContext::REPORTING],
        "reporting.redb",
        projections,
    )
    .await?;
    tracing::info!(rules_sha256 = %rules.sha256(), "control rules loaded");
    let db = &foundation.db;
    let mailer = match &config.reminders.smtp {
        Some(smtp) => Some(
            Mailer::new(&smtp.url, &smtp.from, config.reminders.timeout)
                .map_err(|e| StartError::step("the SMTP client", e))?,
        ),
        None => None,
    };
    let http = reqwest::Client::builder()
        .build()
        .map_err(|e| StartError::step("the webhook client", e))?;
    let state = Arc::new(Reporting {
        projections: foundation.projections.clone(),
        audit: AuditReader::new(db.clone()),
        directory: DirectoryReader::new(db.clone()),
        identity: foundation.identity.clone(),
        compliance: ComplianceReader::new(db.clone()),
        assets: RegisterReader::new(db.clone()),
        incidents: IncidentReader::new(db.clone()),
        rules,
        reminders: RemindersReader::new(db.clone()),
        reminder_runner: Runner::new(foundation.store.clone(), BoundedContext::REPORTING),
        http,
        mailer,
        reviews: Runner::new(foundation.store.clone(), BoundedContext::REPORTING),
        metrics: reminders::metrics::ReminderMetrics::new(&foundation.metrics),
        store: foundation.store.clone(),
        config,
    });
    let background = [
        tokio::spawn(reminders::scheduler::run(
            state.clone(),
            state.config.reminders.interval,
        )),
        tokio::spawn(reminders::delivery::run(state.clone())),
    ];
    let routes = tonic::service::Routes::new(ReportingServiceServer::new(ReportingApi::new(state)));
    let served = foundation
        .serve(
            routes,
            vec![SERVICE_NAME],
            &[],
            axum::Router::new(),
            (grpc_listener, admin_listener),
            shutdown,
        )
        .await;
    // A delivery cut short here is redelivered (to another replica) after the ack wait.
    for task in background {
        task.abort();
    }
    served
}
