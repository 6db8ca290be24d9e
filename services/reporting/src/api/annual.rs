//! The annual management-review report, reproducible from log positions, and its
//! yearly sign-off.

use tillit_auth::Permission;
use tillit_auth::layer::caller;
use tillit_kernel::Reason;
use tillit_kernel::{CommandRequest, KernelError, Target, TenantId};
use tillit_proto::reporting::*;
use tonic::{Request, Response, Status};

use super::ReportingApi;
use super::errors::{not_signed_off, review_refused};
use crate::Reporting;
use crate::annual::review::review_id;
use crate::annual::{positions, render, report_as_of};

/// Most decisions one management review records.
const MAX_DECISIONS: usize = 200;
/// Longest summary of a management review, in characters.
const MAX_SUMMARY: usize = 20_000;
/// Longest decision, in characters.
const MAX_DECISION: usize = 2_000;

impl ReportingApi {
    pub(super) async fn get_annual_report(
        &self,
        request: Request<GetAnnualReportRequest>,
    ) -> Result<Response<GetAnnualReportResponse>, Status> {
        caller(&request)?.require_any(&REPORT_READERS)?;
        let body = request.get_ref();
        let year = report_year(&self.state, body.year)?;
        let as_of = positions(&self.state.store, &body.as_of).await?;
        let report = report_as_of(&self.state.store, &self.state.rules, year, &as_of).await?;
        let json = render::json(&report);
        Ok(Response::new(GetAnnualReportResponse {
            report_sha256: sha256_hex(json.as_bytes()),
            csv: render::csv(&report),
            html: render::html(&report),
            json,
            as_of,
        }))
    }

    pub(super) async fn sign_off_management_review(
        &self,
        request: Request<SignOffManagementReviewRequest>,
    ) -> Result<Response<SignOffManagementReviewResponse>, Status> {
        let caller = caller(&request)?;
        caller.require(Permission::ManageManagementReview)?;
        let body = request.get_ref();
        let year = report_year(&self.state, body.year)?;
        let summary = tillit_api::text::lines("summary", &body.summary, MAX_SUMMARY)?;
        let decisions =
            tillit_api::text::list("decisions", &body.decisions, MAX_DECISIONS, MAX_DECISION)?;
        let as_of = positions(&self.state.store, &body.as_of).await?;
        let report = report_as_of(&self.state.store, &self.state.rules, year, &as_of).await?;
        let sign_off = ManagementReviewSignedOff {
            year,
            as_of,
            rules_sha256: report.rules_sha256.clone(),
            report_sha256: sha256_hex(render::json(&report).as_bytes()),
            summary,
            decisions,
            signed_by: caller.subject.clone(),
        };
        let executed = self
            .state
            .reviews
            .execute(CommandRequest {
                tenant: TenantId::internal(),
                target: Target::At(review_id(year)),
                name: "tillit.reporting.v1.SignOffManagementReview".into(),
                command: sign_off.clone(),
                meta: tillit_auth::command_meta(&request, caller.actor()),
            })
            .await
            .map_err(review_refused)?;
        Ok(Response::new(SignOffManagementReviewResponse {
            sign_off: Some(sign_off),
            consistency: Some(executed.consistency()),
        }))
    }

    pub(super) async fn get_management_review(
        &self,
        request: Request<GetManagementReviewRequest>,
    ) -> Result<Response<GetManagementReviewResponse>, Status> {
        caller(&request)?.require_any(&REPORT_READERS)?;
        let year = report_year(&self.state, request.get_ref().year)?;
        let address = self
            .state
            .reviews
            .address(&TenantId::internal(), review_id(year));
        let (signed, history) = self.state.reviews.load(&address).await?;
        let signed = signed.ok_or_else(|| not_signed_off(year))?;
        let report =
            report_as_of(&self.state.store, &self.state.rules, year, &signed.as_of).await?;
        let json = render::json(&report);
        let signed_by_name = self
            .state
            .directory
            .user(&signed.signed_by)?
            .map(|user| {
                if user.display_name.is_empty() {
                    user.email
                } else {
                    user.display_name
                }
            })
            .unwrap_or_default();
        Ok(Response::new(GetManagementReviewResponse {
            signed_by_name,
            verified: sha256_hex(json.as_bytes()) == signed.report_sha256,
            signed_at: history.commits.first().and_then(|c| c.commit.recorded_at),
            sign_off: Some(signed),
            json,
        }))
    }
}

/// Who may read annual reports and sign-offs.
const REPORT_READERS: [Permission; 3] = [
    Permission::ReadReports,
    Permission::ReadEverything,
    Permission::ManageManagementReview,
];

/// A year from 2000 up to the current one.
fn report_year(state: &Reporting, year: i32) -> Result<i32, KernelError> {
    let current = state.store.clock().now().year();
    if (2000..=current).contains(&year) {
        Ok(year)
    } else {
        Err(KernelError::refused(
            "year",
            Reason::OutOfRange,
            format!("2000 to {current}"),
        ))
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}
