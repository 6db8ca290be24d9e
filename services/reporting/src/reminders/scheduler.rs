//! The scheduler: every interval, the reminders due now are computed from the projections
//! and each not yet issued is issued through the reminder decider. Its id derives from
//! (kind, item, due time, stage) and the first commit on its subject expects an empty
//! subject, so replicas racing on the same reminder write it once.

use std::sync::Arc;
use std::time::Duration;

use tillit_identity_views::{UserFilter, policy_coverage};
use tillit_kernel::{CommandMeta, CommandRequest, KernelError, Target};
use tillit_proto::Vocabulary as _;
use time::OffsetDateTime;

use super::decider::{ReminderCommand, reminder_tenant};
use tracing::Instrument as _;

use super::due::{Due, Snapshot, due_reminders};
use crate::Reporting;

/// Issues due reminders every `interval` until the task is aborted.
pub async fn run(state: Arc<Reporting>, interval: Duration) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if !state.projections.is_ready() {
            continue;
        }
        match issue_due(&state).await {
            Ok(0) => {}
            Ok(issued) => tracing::info!(issued, "reminders issued"),
            Err(e) => {
                tracing::warn!(error = %e, "issuing reminders failed; trying again next interval")
            }
        }
    }
}

/// Issues every due reminder not issued yet; answers how many this call wrote.
pub async fn issue_due(state: &Arc<Reporting>) -> Result<usize, KernelError> {
    let now = state.store.clock().now();
    let due = {
        let state = state.clone();
        tokio::task::spawn_blocking(move || due_now(&state, now))
            .await
            .map_err(|e| KernelError::Internal(format!("computing due reminders: {e}")))??
    };
    let mut issued = 0;
    for item in due {
        let id = item.reminder_id();
        if state.reminders.issued(&id)? {
            continue;
        }
        // Each reminder its own trace: its commit carries it to the delivery.
        let span = tracing::info_span!(
            parent: None,
            "reminder issue",
            tillit.reminder = %id,
            tillit.kind = item.kind.word(),
            tillit.stage = item.stage.word(),
        );
        let executed = state
            .reminder_runner
            .execute(CommandRequest {
                tenant: reminder_tenant(),
                target: Target::At(tillit_kernel::AggregateId::parse(&id, "reminder_id")?),
                name: "tillit.reporting.v1.IssueReminder".into(),
                command: ReminderCommand::Issue(item.issued()),
                meta: CommandMeta::system(format!("reminder-{id}")),
            })
            .instrument(span.clone())
            .await
            .map_err(|e| KernelError::Internal(format!("issuing reminder {id}: {e}")))?;
        if !executed.events.is_empty() {
            let _in = span.enter();
            tracing::info!(reminder = %id, kind = item.kind.word(), stage = item.stage.word(), item = %item.item_id, "reminder issued");
            state.metrics.issued(item.kind.word());
            issued += 1;
        }
    }
    Ok(issued)
}

/// The reminders due at `now`, from the projections.
fn due_now(state: &Reporting, now: OffsetDateTime) -> Result<Vec<Due>, KernelError> {
    let incidents: Vec<_> = state
        .incidents
        .incidents(None, usize::MAX, |_| true)?
        .into_iter()
        .map(|(incident, _)| incident)
        .collect();
    let assets = state
        .assets
        .assets(None, None, usize::MAX, |a| a.retired.is_none())?;
    let staff = state.directory.users(
        &UserFilter {
            tenant: Some("internal".into()),
            role: None,
            status: Some(tillit_proto::identity::PrincipalStatus::Active),
        },
        None,
        usize::MAX,
    )?;
    let mut policies = Vec::new();
    for policy in state.compliance.policies()? {
        let standings = policy_coverage(&state.directory, &state.compliance, &policy, None, now)?;
        policies.push((policy, standings));
    }
    state.metrics.obligations(&incidents, now);
    let campaigns = state.compliance.campaigns(true)?;
    let trainings = state.compliance.all_trainings()?;
    Ok(due_reminders(
        &Snapshot {
            incidents: &incidents,
            assets: &assets,
            rules: &state.rules,
            staff: &staff,
            policies: &policies,
            campaigns: &campaigns,
            trainings: &trainings,
            routes: &state.config.reminders.routes,
        },
        now,
    ))
}
