//! The gRPC API of reporting.
//!
//! Who may (DOMAIN.md): the audit trail and integrity checks are for admins, security
//! officers and auditors (`ReadAuditTrail`); the dashboard for whoever reads reports or
//! handles incidents (managers, auditors, admins, security officers). Customers and
//! employees get PERMISSION_DENIED. A caller outside `internal` could only ever see its own
//! tenant's entries; no role outside `internal` reads the audit trail today.
//!
//! - `audit`: querying, exporting and verifying the audit trail.
//! - `dashboard`: the figures across every service, and a user's task list.
//! - `annual`: the annual report and the management review's sign-off.
//! - `errors`: the one place reporting's errors become gRPC statuses.

mod annual;
mod audit;
mod dashboard;
mod errors;

use std::sync::Arc;

use tillit_api::lookup::Consistency;
use tillit_proto::common::ConsistencyToken;
use tillit_proto::reporting::reporting_service_server::ReportingService;
use tillit_proto::reporting::*;
use tonic::{Request, Response, Status};

use crate::Reporting;

/// The `ReportingService` implementation.
#[derive(Clone)]
pub struct ReportingApi {
    state: Arc<Reporting>,
}

impl ReportingApi {
    /// The API over the shared state.
    pub fn new(state: Arc<Reporting>) -> Self {
        Self { state }
    }

    /// Waits until this service's projections have applied the request's token.
    async fn wait(&self, token: Option<&ConsistencyToken>) -> Result<(), Status> {
        let timeout = self.state.config.platform.consistency_timeout;
        Ok(Consistency::new(&self.state.projections, timeout)
            .wait(token)
            .await?)
    }
}

#[tonic::async_trait]
impl ReportingService for ReportingApi {
    async fn query_audit(
        &self,
        request: Request<QueryAuditRequest>,
    ) -> Result<Response<QueryAuditResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.state.store,
            ReportingApi::query_audit(self, request).await,
        )
        .await
    }

    type ExportAuditStream = audit::ExportStream;

    async fn export_audit(
        &self,
        request: Request<ExportAuditRequest>,
    ) -> Result<Response<Self::ExportAuditStream>, Status> {
        ReportingApi::export_audit(self, request).await
    }

    async fn verify_integrity(
        &self,
        request: Request<VerifyIntegrityRequest>,
    ) -> Result<Response<VerifyIntegrityResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.state.store,
            ReportingApi::verify_integrity(self, request).await,
        )
        .await
    }

    async fn get_dashboard(
        &self,
        request: Request<GetDashboardRequest>,
    ) -> Result<Response<GetDashboardResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.state.store,
            ReportingApi::get_dashboard(self, request).await,
        )
        .await
    }

    async fn list_my_tasks(
        &self,
        request: Request<ListMyTasksRequest>,
    ) -> Result<Response<ListMyTasksResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.state.store,
            ReportingApi::list_my_tasks(self, request).await,
        )
        .await
    }

    async fn acknowledge_reminder(
        &self,
        request: Request<AcknowledgeReminderRequest>,
    ) -> Result<Response<AcknowledgeReminderResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.state.store,
            ReportingApi::acknowledge_reminder(self, request).await,
        )
        .await
    }

    async fn get_annual_report(
        &self,
        request: Request<GetAnnualReportRequest>,
    ) -> Result<Response<GetAnnualReportResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.state.store,
            ReportingApi::get_annual_report(self, request).await,
        )
        .await
    }

    async fn sign_off_management_review(
        &self,
        request: Request<SignOffManagementReviewRequest>,
    ) -> Result<Response<SignOffManagementReviewResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.state.store,
            ReportingApi::sign_off_management_review(self, request).await,
        )
        .await
    }

    async fn get_management_review(
        &self,
        request: Request<GetManagementReviewRequest>,
    ) -> Result<Response<GetManagementReviewResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.state.store,
            ReportingApi::get_management_review(self, request).await,
        )
        .await
    }
}
