//! The dashboard (figures across every service, staff only) and a user's own task list.

use tillit_assets_views::asset::facts;
use tillit_auth::Permission;
use tillit_auth::layer::caller;
use tillit_identity_views::{ComplianceReader, DirectoryReader, policy_coverage};
use tillit_kernel::clock::to_timestamp;
use tillit_kernel::{AggregateId, CommandRequest, KernelError, Target};
use tillit_proto::reporting::*;
use tonic::{Request, Response, Status};

use super::ReportingApi;
use super::errors::{reminder_refused, staff_only};
use crate::Reporting;
use crate::dashboard::incident_figures;
use crate::reminders::decider::{ReminderCommand, reminder_tenant};

impl ReportingApi {
    pub(super) async fn get_dashboard(
        &self,
        request: Request<GetDashboardRequest>,
    ) -> Result<Response<GetDashboardResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        caller.require_any(&[
            Permission::ReadReports,
            Permission::ReadEverything,
            Permission::ManageIncidents,
        ])?;
        if !caller.tenant.is_internal() {
            return Err(staff_only("the dashboard"));
        }
        let state = self.state.clone();
        let response = tokio::task::spawn_blocking(move || dashboard(&state))
            .await
            .map_err(|e| KernelError::Internal(format!("computing the dashboard: {e}")))??;
        Ok(Response::new(response))
    }

    pub(super) async fn list_my_tasks(
        &self,
        request: Request<ListMyTasksRequest>,
    ) -> Result<Response<ListMyTasksResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        let reminders = self
            .state
            .reminders
            .tasks(&caller.subject, request.get_ref().include_acknowledged)?;
        Ok(Response::new(ListMyTasksResponse { reminders }))
    }

    pub(super) async fn acknowledge_reminder(
        &self,
        request: Request<AcknowledgeReminderRequest>,
    ) -> Result<Response<AcknowledgeReminderResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        let id = AggregateId::parse(&request.get_ref().reminder_id, "reminder_id")?;
        let executed = self
            .state
            .reminder_runner
            .execute(CommandRequest {
                tenant: reminder_tenant(),
                target: Target::Existing(id),
                name: "tillit.reporting.v1.AcknowledgeReminder".into(),
                command: ReminderCommand::Acknowledge {
                    user_id: caller.subject.clone(),
                },
                meta: tillit_auth::command_meta(&request, caller.actor()),
            })
            .await
            .map_err(reminder_refused)?;
        Ok(Response::new(AcknowledgeReminderResponse {
            consistency: Some(executed.consistency()),
        }))
    }
}

/// Every figure, joined now from the projections.
fn dashboard(state: &Reporting) -> Result<GetDashboardResponse, KernelError> {
    let now = state.store.clock().now();
    let incidents = state.incidents.incidents(None, usize::MAX, |_| true)?;
    let figures = incident_figures(incidents.iter().map(|(incident, _)| incident), now);
    let mut control_gaps = 0usize;
    let mut by_level = [0u32; 5];
    for asset in state
        .assets
        .assets(None, None, usize::MAX, |a| a.retired.is_none())?
    {
        let gaps = state
            .rules
            .evaluate(&facts(&asset), now)
            .iter()
            .filter(|s| s.is_gap())
            .count();
        control_gaps += gaps;
        by_level[level_slot(&asset)] += u32::try_from(gaps).unwrap_or(u32::MAX);
    }
    let mut policy_coverage = Vec::new();
    for policy in state.compliance.policies()? {
        let standings = policy_coverage_of(&state.directory, &state.compliance, &policy, now)?;
        policy_coverage.push(standings);
    }
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    Ok(GetDashboardResponse {
        computed_at: Some(to_timestamp(now)),
        open_incidents_by_severity: figures.open_by_severity,
        overdue_obligations: figures.overdue_obligations,
        overdue_actions: figures.overdue_actions,
        control_gaps: count(control_gaps),
        policy_coverage,
        incidents_per_month: figures.per_month,
        incidents_per_month_by_kind: figures.per_month_by_kind,
        obligations_by_outcome: figures.obligations_by_outcome,
        control_gaps_by_level: LEVELS
            .iter()
            .zip(by_level)
            .map(|(label, count)| Count {
                label: (*label).to_owned(),
                count,
            })
            .collect(),
    })
}

/// The labels of [`GetDashboardResponse::control_gaps_by_level`].
const LEVELS: [&str; 5] = ["1", "2", "3", "4", "unclassified"];

/// An asset's slot in [`LEVELS`]: its highest level of C, I and A.
fn level_slot(asset: &tillit_proto::assets::Asset) -> usize {
    match asset.classification.as_ref() {
        Some(c) => {
            let level = c.confidentiality.max(c.integrity).max(c.availability);
            usize::try_from(level.clamp(1, 4)).unwrap_or(1) - 1
        }
        None => LEVELS.len() - 1,
    }
}

fn policy_coverage_of(
    directory: &DirectoryReader,
    compliance: &ComplianceReader,
    policy: &tillit_proto::identity::Policy,
    now: time::OffsetDateTime,
) -> Result<PolicyCoverage, KernelError> {
    let standings = policy_coverage(directory, compliance, policy, None, now)?;
    let covered = standings
        .iter()
        .filter(|(_, s)| s.outstanding_since.is_none())
        .count();
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    Ok(PolicyCoverage {
        policy_id: policy.policy_id.clone(),
        title: policy.title.clone(),
        version: policy.version,
        staff: count(standings.len()),
        covered: count(covered),
    })
}
