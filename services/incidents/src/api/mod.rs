//! The gRPC API of incident handling.
//!
//! Who sees what (DOMAIN.md): security officers and admins handle and see every incident,
//! auditors and managers read all; any employee reports deviations, incidents and proposals
//! and sees what it reported; a customer reports incidents for its own tenant and sees the
//! incidents it reported or that affect its tenant — customer-facing fields only (no
//! internal notes, actions, reviews or other customers). Anything else is NOT_FOUND.
//!
//! - `commands`: reporting, triage, transitions, actions, notifications;
//! - `queries`: one incident with its timeline, lists, obligations falling due;
//! - `report`: the GDPR Art. 33(3) / NIS2 report of an incident;
//! - `visibility`: who sees which incident and how much of it;
//! - `errors`: the one place this service's errors become gRPC statuses.

mod commands;
mod errors;
mod queries;
mod report;
mod visibility;

use std::sync::Arc;

use errors::status;
use tillit_api::lookup::Consistency;
use tillit_auth::Caller;
use tillit_auth::view::ViewReader;
use tillit_kernel::{
    CommandMeta, CommandRequest, EventStore, Executed, ProjectionRunner, Runner, Target, TenantId,
};
use tillit_proto::common::ConsistencyToken;
use tillit_proto::incidents::incidents_service_server::IncidentsService;
use tillit_proto::incidents::*;
use tonic::{Request, Response, Status};

use crate::config::IncidentsConfig;
use crate::domain::incident::{IncidentCommand, IncidentDecider, IncidentEvent};
use tillit_incidents_views::register::Reader;

/// What the handlers share.
pub struct Incidents {
    /// The service's settings.
    pub config: IncidentsConfig,
    /// The event store.
    pub store: EventStore,
    /// Runs incident commands.
    pub incidents: Runner<IncidentDecider>,
    /// The projections (identity view, asset facts, incident register).
    pub projections: Arc<ProjectionRunner>,
    /// Reads the register and asset facts.
    pub reader: Reader,
    /// Reads the identity view.
    pub identity: ViewReader,
}

/// The `IncidentsService` implementation.
#[derive(Clone)]
pub struct IncidentsApi {
    state: Arc<Incidents>,
}

/// Envelope data for a command by `caller`, from the request's metadata.
fn meta<T>(request: &Request<T>, caller: &Caller) -> CommandMeta {
    tillit_auth::command_meta(request, caller.actor())
}

impl IncidentsApi {
    /// The API over shared state.
    pub fn new(state: Arc<Incidents>) -> Self {
        Self { state }
    }

    /// How the handlers wait for this service's projections.
    fn consistency(&self) -> Consistency<'_> {
        Consistency::new(
            &self.state.projections,
            self.state.config.platform.consistency_timeout,
        )
    }

    /// Waits until this service's projections have applied the request's token.
    async fn wait(&self, token: Option<&ConsistencyToken>) -> Result<(), Status> {
        Ok(self.consistency().wait(token).await?)
    }

    /// Runs a command on an incident the caller sees (NOT_FOUND otherwise); the handler
    /// has checked the caller's permission and the input. The answer carries the
    /// incident as the command left it.
    async fn handle<T>(
        &self,
        request: &Request<T>,
        caller: &Caller,
        raw_id: &str,
        name: &str,
        command: IncidentCommand,
    ) -> Result<Executed<IncidentEvent, Incident>, Status> {
        let (id, incident, _) = self.visible(caller, raw_id).await?;
        self.state
            .incidents
            .execute(CommandRequest {
                tenant: TenantId::parse(&incident.tenant_id, "incident_id")?,
                target: Target::Existing(id),
                name: name.into(),
                command,
                meta: meta(request, caller),
            })
            .await
            .map_err(status)
    }
}

#[tonic::async_trait]
impl IncidentsService for IncidentsApi {
    async fn report_incident(
        &self,
        request: Request<ReportIncidentRequest>,
    ) -> Result<Response<ReportIncidentResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.state.store,
            IncidentsApi::report_incident(self, request).await,
        )
        .await
    }

    async fn triage_incident(
        &self,
        request: Request<TriageIncidentRequest>,
    ) -> Result<Response<TriageIncidentResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.state.store,
            IncidentsApi::triage_incident(self, request).await,
        )
        .await
    }

    async fn link_incidents(
        &self,
        request: Request<LinkIncidentsRequest>,
    ) -> Result<Response<LinkIncidentsResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.state.store,
            IncidentsApi::link_incidents(self, request).await,
        )
        .await
    }

    async fn transition_incident(
        &self,
        request: Request<TransitionIncidentRequest>,
    ) -> Result<Response<TransitionIncidentResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.state.store,
            IncidentsApi::transition_incident(self, request).await,
        )
        .await
    }

    async fn review_incident(
        &self,
        request: Request<ReviewIncidentRequest>,
    ) -> Result<Response<ReviewIncidentResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.state.store,
            IncidentsApi::review_incident(self, request).await,
        )
        .await
    }

    async fn add_action(
        &self,
        request: Request<AddActionRequest>,
    ) -> Result<Response<AddActionResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.state.store,
            IncidentsApi::add_action(self, request).await,
        )
        .await
    }

    async fn complete_action(
        &self,
        request: Request<CompleteActionRequest>,
    ) -> Result<Response<CompleteActionResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.state.store,
            IncidentsApi::complete_action(self, request).await,
        )
        .await
    }

    async fn accept_action_risk(
        &self,
        request: Request<AcceptActionRiskRequest>,
    ) -> Result<Response<AcceptActionRiskResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.state.store,
            IncidentsApi::accept_action_risk(self, request).await,
        )
        .await
    }

    async fn record_notification(
        &self,
        request: Request<RecordNotificationRequest>,
    ) -> Result<Response<RecordNotificationResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.state.store,
            IncidentsApi::record_notification(self, request).await,
        )
        .await
    }

    async fn waive_obligation(
        &self,
        request: Request<WaiveObligationRequest>,
    ) -> Result<Response<WaiveObligationResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.state.store,
            IncidentsApi::waive_obligation(self, request).await,
        )
        .await
    }

    async fn list_obligations_due(
        &self,
        request: Request<ListObligationsDueRequest>,
    ) -> Result<Response<ListObligationsDueResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.state.store,
            IncidentsApi::list_obligations_due(self, request).await,
        )
        .await
    }

    async fn get_incident_report(
        &self,
        request: Request<GetIncidentReportRequest>,
    ) -> Result<Response<GetIncidentReportResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.state.store,
            IncidentsApi::get_incident_report(self, request).await,
        )
        .await
    }

    async fn get_incident(
        &self,
        request: Request<GetIncidentRequest>,
    ) -> Result<Response<GetIncidentResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.state.store,
            IncidentsApi::get_incident(self, request).await,
        )
        .await
    }

    async fn list_incidents(
        &self,
        request: Request<ListIncidentsRequest>,
    ) -> Result<Response<ListIncidentsResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.state.store,
            IncidentsApi::list_incidents(self, request).await,
        )
        .await
    }
}
