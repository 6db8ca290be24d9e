//! The due computation against hand-built snapshots.
use tillit_proto::Vocabulary as _;
use tillit_proto::incidents::{ActionStatus, IncidentStatus, ObligationStatus};

use tillit_proto::assets::Classification;
use tillit_proto::incidents::{Action, Obligation};
use time::macros::datetime;

use tillit_proto::reporting::ReminderKind;

use super::*;

fn user(id: &str, roles: &[&str]) -> User {
    User {
        user_id: id.into(),
        email: format!("{id}@tillit.test"),
        roles: roles
            .iter()
            .map(|r| tillit_proto::identity::Role::read(r))
            .collect(),
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

    fn due(&self, now: OffsetDateTime) -> Vec<(&'static str, &'static str, String, Vec<String>)> {
        due_reminders(&self.snapshot(), now)
            .into_iter()
            .map(|d| {
                (
                    d.kind.word(),
                    d.stage.word(),
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
        status: IncidentStatus::Triaged.into(),
        aware_at: ts(AWARE),
        obligations: vec![Obligation {
            obligation_id: "gdpr-33-1".into(),
            status: ObligationStatus::Pending.into(),
            due_at: ts(AWARE + Duration::hours(72)),
            ..Default::default()
        }],
        actions: vec![Action {
            action_id: "a1".into(),
            owner_user_id: "erik".into(),
            status: ActionStatus::Open.into(),
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
            .find(|d| d.0 == ReminderKind::Obligation.word())
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
    world.incidents[0].obligations[0].status = ObligationStatus::Met.into();
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
    let action = |world: &World, now| {
        world
            .due(now)
            .into_iter()
            .find(|d| d.0 == ReminderKind::Action.word())
    };
    assert!(action(&world, datetime!(2026-11-18 23:59 UTC)).is_none());
    let due = action(&world, datetime!(2026-11-19 00:00 UTC)).unwrap();
    assert_eq!((due.1, due.2.as_str()), ("due", "i1/a1"));
    assert_eq!(due.3, ["erik", "officer"], "owner first, then the officers");
    assert_eq!(
        action(&world, datetime!(2026-11-20 00:00 UTC)).unwrap().1,
        "overdue"
    );
    world.incidents[0].status = IncidentStatus::Closed.into();
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
    let standing = |last: Option<(u32, OffsetDateTime)>, since: Option<OffsetDateTime>| Standing {
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
            .filter(|d| d.0 == ReminderKind::PolicyAcknowledgement.word())
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
            .filter(|d| d.0 == ReminderKind::TrainingExpiry.word())
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
        status: tillit_proto::identity::AccessReviewStatus::Open.into(),
        ..Default::default()
    });
    let found = world.due(datetime!(2026-11-27 12:00 UTC));
    let restore = found
        .iter()
        .find(|d| d.0 == ReminderKind::RestoreTest.word())
        .expect("a never-tested restore is due");
    assert_eq!((restore.1, restore.2.as_str()), ("overdue", "mail"));
    assert_eq!(restore.3, ["erik", "officer"]);
    let campaign = found
        .iter()
        .find(|d| d.0 == ReminderKind::AccessReview.word())
        .expect("the campaign is due within a week");
    assert_eq!(
        (campaign.1, campaign.3.clone()),
        ("due", vec!["officer".to_owned()])
    );
    assert!(
        found
            .iter()
            .all(|d| d.0 != ReminderKind::CriticalPatch.word()),
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
        world
            .due(now)
            .iter()
            .all(|d| d.0 != ReminderKind::Obligation.word()),
        "a reminder for no one is not issued"
    );
}
