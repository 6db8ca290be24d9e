//! Which reminders are due: computed from the projections' rows and the time, pure.
//!
//! Every item has stages, each with the time it fires; at `now` the item's reminder is its
//! latest stage that has fired (earlier stages a down scheduler missed are not sent late:
//! the later one says more). A reminder is identified by (kind, item, due time, stage), so a
//! changed due time is a new reminder and the same one is never issued twice.

use std::collections::BTreeMap;

use tillit_identity_views::standing::Standing;
use tillit_kernel::clock::{from_timestamp, to_timestamp};
use tillit_proto::assets::Asset;
use tillit_proto::identity::{AccessReview, Policy, User};
use tillit_proto::incidents::Incident;
use tillit_proto::reporting::{Recipient, ReminderIssued};
use tillit_rules::RuleSet;
use time::{Duration, OffsetDateTime};

use super::decider::reminder_id;
use super::route::{Recipients, Routes};

/// Reminder kinds.
pub mod kind {
    /// A legal or contractual obligation of an incident.
    pub const OBLIGATION: &str = "obligation";
    /// A corrective action.
    pub const ACTION: &str = "action";
    /// An asset's periodic review.
    pub const ASSET_REVIEW: &str = "asset_review";
    /// An asset's restore test.
    pub const RESTORE_TEST: &str = "restore_test";
    /// A critical patch open past (or near) its window.
    pub const CRITICAL_PATCH: &str = "critical_patch";
    /// A policy version not acknowledged, or an acknowledgement turning 12 months old.
    pub const POLICY_ACKNOWLEDGEMENT: &str = "policy_acknowledgement";
    /// An access-review campaign.
    pub const ACCESS_REVIEW: &str = "access_review";
    /// A training running out.
    pub const TRAINING_EXPIRY: &str = "training_expiry";
    /// Every kind.
    pub const ALL: [&str; 8] = [
        OBLIGATION,
        ACTION,
        ASSET_REVIEW,
        RESTORE_TEST,
        CRITICAL_PATCH,
        POLICY_ACKNOWLEDGEMENT,
        ACCESS_REVIEW,
        TRAINING_EXPIRY,
    ];
}

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
    /// Kind.
    pub kind: &'static str,
    /// Stage.
    pub stage: &'static str,
    /// Item.
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
        reminder_id(self.kind, &self.item_id, self.due_at, self.stage)
            .as_str()
            .to_owned()
    }

    /// The event that issues it.
    pub fn issued(&self) -> ReminderIssued {
        ReminderIssued {
            reminder_id: self.reminder_id(),
            kind: self.kind.to_owned(),
            stage: self.stage.to_owned(),
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
fn latest(stages: &[(&'static str, OffsetDateTime)], now: OffsetDateTime) -> Option<&'static str> {
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

/// Resolves recipient groups to people.
struct People<'a> {
    by_id: BTreeMap<&'a str, &'a User>,
    officers: Vec<&'a User>,
}

impl<'a> People<'a> {
    fn new(staff: &'a [User]) -> Self {
        Self {
            by_id: staff.iter().map(|u| (u.user_id.as_str(), u)).collect(),
            officers: staff
                .iter()
                .filter(|u| u.roles.iter().any(|r| r == "security_officer"))
                .collect(),
        }
    }

    /// The recipients `groups` name: the item's owner, the person who must act, security
    /// officers; each person once, inactive or unknown users left out.
    fn resolve(
        &self,
        groups: &Recipients,
        owner: Option<&str>,
        subject: Option<&str>,
    ) -> Vec<Recipient> {
        let mut found: Vec<Recipient> = Vec::new();
        let mut add = |user: &User, reason: &str| {
            if !found.iter().any(|r| r.user_id == user.user_id) {
                found.push(Recipient {
                    user_id: user.user_id.clone(),
                    email: user.email.clone(),
                    reason: reason.to_owned(),
                });
            }
        };
        if groups.subject
            && let Some(user) = subject.and_then(|id| self.by_id.get(id))
        {
            add(user, "subject");
        }
        if groups.owner
            && let Some(user) = owner.and_then(|id| self.by_id.get(id))
        {
            add(user, "owner");
        }
        if groups.security_officers {
            for user in &self.officers {
                add(user, "security_officer");
            }
        }
        found
    }
}

/// Every reminder due at `now`.
pub fn due_reminders(snapshot: &Snapshot<'_>, now: OffsetDateTime) -> Vec<Due> {
    let people = People::new(snapshot.staff);
    let mut due = Vec::new();
    let mut push = |kind: &'static str,
                    stages: &[(&'static str, OffsetDateTime)],
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
            if obligation.status != "pending" {
                continue;
            }
            let window = deadline - start;
            push(
                kind::OBLIGATION,
                &[
                    ("new", start),
                    ("half", start + window / 2),
                    ("ninety", start + window * 9 / 10),
                    ("deadline", deadline),
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
                        incident.incident_id, incident.status, obligation.obligation_id
                    ),
                ),
                (None, None),
            );
        }
        if incident.status == "closed" || incident.status == "rejected" {
            continue;
        }
        for action in &incident.actions {
            let Some(deadline) = time(action.due_at.as_ref()) else {
                continue;
            };
            if action.status != "open" {
                continue;
            }
            push(
                kind::ACTION,
                &[("due", deadline - Duration::days(1)), ("overdue", deadline)],
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
                "asset-review" => (kind::ASSET_REVIEW, 14, "Review"),
                "restore-test" => (kind::RESTORE_TEST, 7, "Restore test"),
                "critical-patches" => (kind::CRITICAL_PATCH, 3, "Critical patch"),
                _ => continue,
            };
            let Some(deadline) = status.due_at else {
                continue;
            };
            push(
                kind,
                &[
                    ("due", deadline - Duration::days(lead_days)),
                    ("overdue", deadline),
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
                ("expired", since, since)
            } else {
                let by = published + Duration::days(ACKNOWLEDGE_WITHIN_DAYS);
                ("unacknowledged", by, by)
            };
            push(
                kind::POLICY_ACKNOWLEDGEMENT,
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
            kind::ACCESS_REVIEW,
            &[("due", deadline - Duration::days(7)), ("overdue", deadline)],
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
            kind::TRAINING_EXPIRY,
            &[
                (
                    "expiring",
                    *valid_until - Duration::days(TRAINING_NOTICE_DAYS),
                ),
                ("expired", *valid_until),
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
mod tests {
    use tillit_proto::assets::Classification;
    use tillit_proto::incidents::{Action, Obligation};
    use time::macros::datetime;

    use super::*;

    fn user(id: &str, roles: &[&str]) -> User {
        User {
            user_id: id.into(),
            email: format!("{id}@tillit.test"),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            ..Default::default()
        }
    }

    fn ts(at: OffsetDateTime) -> Option<prost_types::Timestamp> {
        Some(to_timestamp(at))
    }

    struct World {
        incidents: Vec<Incident>,
        assets: Vec<Asset>,
        staff: Vec<User>,
        policies: Vec<(Policy, Vec<(User, Standing)>)>,
        campaigns: Vec<AccessReview>,
        trainings: Vec<(String, String, OffsetDateTime)>,
        rules: RuleSet,
        routes: Routes,
    }

    impl World {
        fn new() -> Self {
            Self {
                incidents: Vec::new(),
                assets: Vec::new(),
                staff: vec![
                    user("officer", &["security_officer"]),
                    user("erik", &["employee"]),
                ],
                policies: Vec::new(),
                campaigns: Vec::new(),
                trainings: Vec::new(),
                rules: RuleSet::default(),
                routes: Routes::default(),
            }
        }

        fn snapshot(&self) -> Snapshot<'_> {
            Snapshot {
                incidents: &self.incidents,
                assets: &self.assets,
                rules: &self.rules,
                staff: &self.staff,
                policies: &self.policies,
                campaigns: &self.campaigns,
                trainings: &self.trainings,
                routes: &self.routes,
            }
        }

        fn due(
            &self,
            now: OffsetDateTime,
        ) -> Vec<(&'static str, &'static str, String, Vec<String>)> {
            due_reminders(&self.snapshot(), now)
                .into_iter()
                .map(|d| {
                    (
                        d.kind,
                        d.stage,
                        d.item_id,
                        d.recipients.into_iter().map(|r| r.user_id).collect(),
                    )
                })
                .collect()
        }
    }

    const AWARE: OffsetDateTime = datetime!(2026-11-02 10:00 UTC);

    fn breach() -> Incident {
        Incident {
            incident_id: "i1".into(),
            tenant_id: "internal".into(),
            status: "triaged".into(),
            aware_at: ts(AWARE),
            obligations: vec![Obligation {
                obligation_id: "gdpr-33-1".into(),
                status: "pending".into(),
                due_at: ts(AWARE + Duration::hours(72)),
                ..Default::default()
            }],
            actions: vec![Action {
                action_id: "a1".into(),
                owner_user_id: "erik".into(),
                status: "open".into(),
                due_at: ts(datetime!(2026-11-20 00:00 UTC)),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn an_obligation_is_new_at_once_then_half_ninety_and_deadline_for_security_officers() {
        let mut world = World::new();
        world.incidents.push(breach());
        let stage = |world: &World, now| {
            world
                .due(now)
                .into_iter()
                .find(|d| d.0 == kind::OBLIGATION)
                .map(|d| (d.1, d.3))
        };
        let officers = vec!["officer".to_owned()];
        assert_eq!(stage(&world, AWARE - Duration::minutes(1)), None);
        assert_eq!(stage(&world, AWARE), Some(("new", officers.clone())));
        let title = &due_reminders(&world.snapshot(), AWARE)[0].title;
        assert!(title.contains("due 2026-11-05 10:00 UTC"), "{title}");
        assert_eq!(stage(&world, AWARE + Duration::hours(35)).unwrap().0, "new");
        assert_eq!(
            stage(&world, AWARE + Duration::hours(36)).unwrap().0,
            "half"
        );
        assert_eq!(
            stage(&world, AWARE + Duration::minutes(64 * 60 + 48))
                .unwrap()
                .0,
            "ninety"
        );
        assert_eq!(
            stage(&world, AWARE + Duration::hours(72)).unwrap().0,
            "deadline"
        );
        world.incidents[0].obligations[0].status = "met".into();
        assert_eq!(
            stage(&world, AWARE + Duration::hours(72)),
            None,
            "a met obligation reminds no one"
        );
    }

    #[test]
    fn an_action_is_due_a_day_before_and_overdue_after_for_its_owner_and_officers() {
        let mut world = World::new();
        world.incidents.push(breach());
        let action = |world: &World, now| world.due(now).into_iter().find(|d| d.0 == kind::ACTION);
        assert!(action(&world, datetime!(2026-11-18 23:59 UTC)).is_none());
        let due = action(&world, datetime!(2026-11-19 00:00 UTC)).unwrap();
        assert_eq!((due.1, due.2.as_str()), ("due", "i1/a1"));
        assert_eq!(due.3, ["erik", "officer"], "owner first, then the officers");
        assert_eq!(
            action(&world, datetime!(2026-11-20 00:00 UTC)).unwrap().1,
            "overdue"
        );
        world.incidents[0].status = "closed".into();
        assert!(action(&world, datetime!(2026-11-21 00:00 UTC)).is_none());
    }

    #[test]
    fn policies_remind_after_fourteen_days_and_when_an_acknowledgement_turns_a_year_old() {
        let mut world = World::new();
        let published = datetime!(2026-11-01 09:00 UTC);
        let policy = Policy {
            policy_id: "infosec".into(),
            version: 2,
            title: "Information security".into(),
            published_at: ts(published),
            ..Default::default()
        };
        let standing =
            |last: Option<(u32, OffsetDateTime)>, since: Option<OffsetDateTime>| Standing {
                user_id: String::new(),
                last,
                outstanding_since: since,
            };
        world.policies.push((
            policy,
            vec![
                (
                    user("erik", &["employee"]),
                    standing(Some((1, published)), Some(published)),
                ),
                (
                    user("officer", &["security_officer"]),
                    standing(
                        Some((2, datetime!(2025-11-10 09:00 UTC))),
                        Some(datetime!(2026-11-10 09:00 UTC)),
                    ),
                ),
            ],
        ));
        let policy_reminders = |now| {
            world
                .due(now)
                .into_iter()
                .filter(|d| d.0 == kind::POLICY_ACKNOWLEDGEMENT)
                .map(|d| (d.1, d.3))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            policy_reminders(datetime!(2026-11-12 00:00 UTC)),
            [("expired", vec!["officer".to_owned()])]
        );
        assert_eq!(
            policy_reminders(datetime!(2026-11-15 09:00 UTC)),
            [
                ("unacknowledged", vec!["erik".to_owned()]),
                ("expired", vec!["officer".to_owned()])
            ]
        );
    }

    #[test]
    fn trainings_expire_with_a_month_of_notice_for_active_staff_only() {
        let mut world = World::new();
        let until = datetime!(2026-12-31 00:00 UTC);
        world.trainings = vec![
            ("security-awareness".into(), "erik".into(), until),
            ("security-awareness".into(), "gone".into(), until),
        ];
        let training = |now| {
            world
                .due(now)
                .into_iter()
                .filter(|d| d.0 == kind::TRAINING_EXPIRY)
                .map(|d| (d.1, d.3))
                .collect::<Vec<_>>()
        };
        assert!(training(datetime!(2026-11-30 23:59 UTC)).is_empty());
        assert_eq!(
            training(datetime!(2026-12-01 00:00 UTC)),
            [("expiring", vec!["erik".to_owned()])]
        );
        assert_eq!(training(until)[0].0, "expired");
    }

    #[test]
    fn asset_controls_remind_the_owner_and_a_campaign_reminds_the_officers() {
        let mut world = World::new();
        world.assets.push(Asset {
            asset_id: "mail".into(),
            tenant_id: "acme".into(),
            name: "Mail".into(),
            owner_user_id: "erik".into(),
            registered_at: ts(datetime!(2026-01-01 00:00 UTC)),
            classification: Some(Classification {
                confidentiality: 1,
                integrity: 1,
                availability: 3,
            }),
            ..Default::default()
        });
        world.campaigns.push(AccessReview {
            campaign_id: "c1".into(),
            due_at: ts(datetime!(2026-12-01 00:00 UTC)),
            status: "open".into(),
            ..Default::default()
        });
        let found = world.due(datetime!(2026-11-27 12:00 UTC));
        let restore = found
            .iter()
            .find(|d| d.0 == kind::RESTORE_TEST)
            .expect("a never-tested restore is due");
        assert_eq!((restore.1, restore.2.as_str()), ("overdue", "mail"));
        assert_eq!(restore.3, ["erik", "officer"]);
        let campaign = found
            .iter()
            .find(|d| d.0 == kind::ACCESS_REVIEW)
            .expect("the campaign is due within a week");
        assert_eq!(
            (campaign.1, campaign.3.clone()),
            ("due", vec!["officer".to_owned()])
        );
        assert!(
            found.iter().all(|d| d.0 != kind::CRITICAL_PATCH),
            "integrity 1 needs no patch window"
        );
    }

    #[test]
    fn the_same_item_due_time_and_stage_give_the_same_reminder() {
        let mut world = World::new();
        world.incidents.push(breach());
        let now = AWARE + Duration::hours(40);
        let one = due_reminders(&world.snapshot(), now);
        let two = due_reminders(&world.snapshot(), now + Duration::minutes(5));
        assert_eq!(
            one.iter().map(Due::reminder_id).collect::<Vec<_>>(),
            two.iter().map(Due::reminder_id).collect::<Vec<_>>()
        );
        world.staff.retain(|u| u.user_id != "officer");
        assert!(
            world.due(now).iter().all(|d| d.0 != kind::OBLIGATION),
            "a reminder for no one is not issued"
        );
    }
}
