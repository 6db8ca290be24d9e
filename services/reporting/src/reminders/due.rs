//! Which reminders are due: computed from the projections' rows and the time, pure.
//!
//! Every item has stages, each with the time it fires; at `now` the item's reminder is its
//! latest stage that has fired (earlier stages a down scheduler missed are not sent late:
//! the later one says more). A reminder is identified by (kind, item, due time, stage), so a
//! changed due time is a new reminder and the same one is never issued twice.

use tillit_identity_views::standing::Standing;
use tillit_kernel::clock::{from_timestamp, to_timestamp};
use tillit_proto::Vocabulary as _;
use tillit_proto::assets::Asset;
use tillit_proto::identity::{AccessReview, Policy, User};
use tillit_proto::incidents::{ActionStatus, Incident, IncidentStatus, ObligationStatus};
use tillit_proto::reporting::{Recipient, ReminderIssued};
use tillit_proto::reporting::{ReminderKind, ReminderStage};
use tillit_rules::RuleSet;
use time::{Duration, OffsetDateTime};

use super::decider::reminder_id;
use super::route::{People, Routes};

/// Days after publication before a missing acknowledgement is reminded.
const ACKNOWLEDGE_WITHIN_DAYS: i64 = 14;
/// Days before a training runs out that its holder is reminded.
const TRAINING_NOTICE_DAYS: i64 = 30;

/// Everything the due computation reads, from the reporting service's projections.
pub struct Snapshot<'a> {
    /// Every incident.
    pub incidents: &'a [Incident],
    /// Assets in service.
    pub assets: &'a [Asset],
    /// The control rules.
    pub rules: &'a RuleSet,
    /// Active staff of `internal`.
    pub staff: &'a [User],
    /// Every policy's current version with where each staff member stands.
    pub policies: &'a [(Policy, Vec<(User, Standing)>)],
    /// Open access-review campaigns.
    pub campaigns: &'a [AccessReview],
    /// (course, user id, valid until) of every latest training record.
    pub trainings: &'a [(String, String, OffsetDateTime)],
    /// Who gets which kind.
    pub routes: &'a Routes,
}

/// A reminder that is due now.
#[derive(Clone, Debug, PartialEq)]
pub struct Due {
    /// What the item is.
    pub kind: ReminderKind,
    /// Which of the item's reminders it is.
    pub stage: ReminderStage,
    /// The item, for example `<incident id>/<obligation id>`.
    pub item_id: String,
    /// The item's tenant.
    pub item_tenant_id: String,
    /// When the item is due.
    pub due_at: OffsetDateTime,
    /// One line.
    pub title: String,
    /// More words.
    pub detail: String,
    /// Whom it is for.
    pub recipients: Vec<Recipient>,
}

impl Due {
    /// Its reminder id.
    pub fn reminder_id(&self) -> String {
        reminder_id(
            self.kind.word(),
            &self.item_id,
            self.due_at,
            self.stage.word(),
        )
        .as_str()
        .to_owned()
    }

    /// The event that issues it.
    pub fn issued(&self) -> ReminderIssued {
        ReminderIssued {
            reminder_id: self.reminder_id(),
            kind: self.kind.word().to_owned(),
            stage: self.stage.word().to_owned(),
            item_id: self.item_id.clone(),
            item_tenant_id: self.item_tenant_id.clone(),
            due_at: Some(to_timestamp(self.due_at)),
            title: self.title.clone(),
            detail: self.detail.clone(),
            recipients: self.recipients.clone(),
        }
    }
}

/// The latest stage that has fired at `now`.
fn latest(
    stages: &[(ReminderStage, OffsetDateTime)],
    now: OffsetDateTime,
) -> Option<ReminderStage> {
    stages
        .iter()
        .filter(|(_, at)| *at <= now)
        .max_by_key(|(_, at)| *at)
        .map(|(stage, _)| *stage)
}

fn time(ts: Option<&prost_types::Timestamp>) -> Option<OffsetDateTime> {
    ts.and_then(from_timestamp)
}

fn day(at: OffsetDateTime) -> String {
    at.date().to_string()
}

/// "2026-11-23 21:38 UTC".
fn minute(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!("{} {:02}:{:02} UTC", at.date(), at.hour(), at.minute())
}

/// Every reminder due at `now`.
pub fn due_reminders(snapshot: &Snapshot<'_>, now: OffsetDateTime) -> Vec<Due> {
    let people = People::new(snapshot.staff);
    let mut due = Vec::new();
    let mut push = |kind: ReminderKind,
                    stages: &[(ReminderStage, OffsetDateTime)],
                    item: (String, String),
                    due_at: OffsetDateTime,
                    text: (String, String),
                    who: (Option<&str>, Option<&str>)| {
        let Some(stage) = latest(stages, now) else {
            return;
        };
        let recipients = people.resolve(snapshot.routes.recipients(kind), who.0, who.1);
        if recipients.is_empty() {
            return;
        }
        due.push(Due {
            kind,
            stage,
            item_id: item.0,
            item_tenant_id: item.1,
            due_at,
            title: text.0,
            detail: text.1,
            recipients,
        });
    };

    for incident in snapshot.incidents {
        let start = time(incident.aware_at.as_ref()).or(time(incident.reported_at.as_ref()));
        for obligation in &incident.obligations {
            let (Some(start), Some(deadline)) = (start, time(obligation.due_at.as_ref())) else {
                continue;
            };
            if obligation.status() != ObligationStatus::Pending {
                continue;
            }
            let window = deadline - start;
            push(
                ReminderKind::Obligation,
                &[
                    (ReminderStage::New, start),
                    (ReminderStage::Half, start + window / 2),
                    (ReminderStage::Ninety, start + window * 9 / 10),
                    (ReminderStage::Deadline, deadline),
                ],
                (
                    format!("{}/{}", incident.incident_id, obligation.obligation_id),
                    incident.tenant_id.clone(),
                ),
                deadline,
                (
                    format!(
                        "{} to {} due {}: {}",
                        obligation.article,
                        obligation.recipient,
                        minute(deadline),
                        incident.title
                    ),
                    format!(
                        "Incident {} ({}), obligation {}.",
                        incident.incident_id,
                        incident.status().word(),
                        obligation.obligation_id
                    ),
                ),
                (None, None),
            );
        }
        if matches!(
            incident.status(),
            IncidentStatus::Closed | IncidentStatus::Rejected
        ) {
            continue;
        }
        for action in &incident.actions {
            let Some(deadline) = time(action.due_at.as_ref()) else {
                continue;
            };
            if action.status() != ActionStatus::Open {
                continue;
            }
            push(
                ReminderKind::Action,
                &[
                    (ReminderStage::Due, deadline - Duration::days(1)),
                    (ReminderStage::Overdue, deadline),
                ],
                (
                    format!("{}/{}", incident.incident_id, action.action_id),
                    incident.tenant_id.clone(),
                ),
                deadline,
                (
                    format!("Corrective action due {}: {}", day(deadline), action.title),
                    format!("Incident {}: {}.", incident.incident_id, incident.title),
                ),
                (Some(action.owner_user_id.as_str()), None),
            );
        }
    }

    for asset in snapshot.assets {
        let facts = tillit_assets_views::asset::facts(asset);
        for status in snapshot.rules.evaluate(&facts, now) {
            let (kind, lead_days, what) = match status.control.as_str() {
                "asset-review" => (ReminderKind::AssetReview, 14, "Review"),
                "restore-test" => (ReminderKind::RestoreTest, 7, "Restore test"),
                "critical-patches" => (ReminderKind::CriticalPatch, 3, "Critical patch"),
                _ => continue,
            };
            let Some(deadline) = status.due_at else {
                continue;
            };
            push(
                kind,
                &[
                    (ReminderStage::Due, deadline - Duration::days(lead_days)),
                    (ReminderStage::Overdue, deadline),
                ],
                (asset.asset_id.clone(), asset.tenant_id.clone()),
                deadline,
                (
                    format!("{what} of {} due {}", asset.name, day(deadline)),
                    status.detail.clone(),
                ),
                (Some(asset.owner_user_id.as_str()), None),
            );
        }
    }

    for (policy, standings) in snapshot.policies {
        let published = time(policy.published_at.as_ref()).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        for (user, standing) in standings {
            let Some(since) = standing.outstanding_since else {
                continue;
            };
            let lapsed = standing.last.is_some_and(|(v, _)| v == policy.version);
            let (stage, fires, deadline) = if lapsed {
                (ReminderStage::Expired, since, since)
            } else {
                let by = published + Duration::days(ACKNOWLEDGE_WITHIN_DAYS);
                (ReminderStage::Unacknowledged, by, by)
            };
            push(
                ReminderKind::PolicyAcknowledgement,
                &[(stage, fires)],
                (
                    format!("{}/{}/{}", policy.policy_id, policy.version, user.user_id),
                    "internal".into(),
                ),
                deadline,
                (
                    format!(
                        "Please acknowledge {} (version {})",
                        policy.title, policy.version
                    ),
                    if lapsed {
                        "Your acknowledgement is more than 12 months old.".into()
                    } else {
                        format!("Published {}; not yet acknowledged.", day(published))
                    },
                ),
                (None, Some(user.user_id.as_str())),
            );
        }
    }

    for campaign in snapshot.campaigns {
        let Some(deadline) = time(campaign.due_at.as_ref()) else {
            continue;
        };
        push(
            ReminderKind::AccessReview,
            &[
                (ReminderStage::Due, deadline - Duration::days(7)),
                (ReminderStage::Overdue, deadline),
            ],
            (
                campaign.campaign_id.clone(),
                if campaign.scope_tenant_id.is_empty() {
                    "internal".into()
                } else {
                    campaign.scope_tenant_id.clone()
                },
            ),
            deadline,
            (
                format!("Access review due {}", day(deadline)),
                format!(
                    "{} of {} items undecided.",
                    campaign.undecided, campaign.items
                ),
            ),
            (None, None),
        );
    }

    for (course, user_id, valid_until) in snapshot.trainings {
        if !people.by_id.contains_key(user_id.as_str()) {
            continue;
        }
        push(
            ReminderKind::TrainingExpiry,
            &[
                (
                    ReminderStage::Expiring,
                    *valid_until - Duration::days(TRAINING_NOTICE_DAYS),
                ),
                (ReminderStage::Expired, *valid_until),
            ],
            (format!("{course}/{user_id}"), "internal".into()),
            *valid_until,
            (
                format!("Training {course} valid until {}", day(*valid_until)),
                "Renew it before it runs out.".into(),
            ),
            (None, Some(user_id.as_str())),
        );
    }
    due
}

#[cfg(test)]
mod tests;
