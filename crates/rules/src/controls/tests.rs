//! Table tests of the DOMAIN.md control rules, one row per level and evidence combination.

use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::*;

const NOW: OffsetDateTime = datetime!(2026-11-27 12:00 UTC);
const CLASSIFIED: OffsetDateTime = datetime!(2025-01-01 00:00 UTC);

fn days_ago(days: i64) -> Option<OffsetDateTime> {
    Some(NOW - Duration::days(days))
}

/// An asset of the given levels that keeps every control, classified long ago.
fn compliant(c: u32, i: u32, a: u32) -> AssetFacts {
    AssetFacts {
        confidentiality: c,
        integrity: i,
        availability: a,
        registered_at: Some(CLASSIFIED),
        classified_at: Some(CLASSIFIED),
        has_owner: true,
        backup_interval_hours: Some(24),
        last_backup_success: Some(NOW - Duration::hours(3)),
        last_restore_test: days_ago(10),
        monitored: true,
        alert_route: true,
        encrypted_at_rest: true,
        last_access_review: days_ago(30),
        open_critical_patches: Vec::new(),
        last_review: days_ago(30),
        retired: false,
    }
}

fn status(asset: &AssetFacts, control: &str) -> Option<ControlStatus> {
    RuleSet::default()
        .evaluate(asset, NOW)
        .into_iter()
        .find(|s| s.control == control)
}

fn gaps(asset: &AssetFacts) -> Vec<String> {
    RuleSet::default()
        .evaluate(asset, NOW)
        .into_iter()
        .filter(ControlStatus::is_gap)
        .map(|s| s.control)
        .collect()
}

#[test]
fn which_controls_each_level_requires() {
    let ids = |asset: &AssetFacts| -> Vec<String> {
        RuleSet::default()
            .evaluate(asset, NOW)
            .into_iter()
            .map(|s| s.control)
            .collect()
    };
    type Row = ((u32, u32, u32), &'static [&'static str]);
    let table: [Row; 5] = [
        ((1, 1, 1), &["owner", "asset-review"]),
        ((2, 2, 2), &["owner", "asset-review"]),
        (
            (1, 1, 3),
            &[
                "backup",
                "restore-test",
                "monitoring",
                "owner",
                "asset-review",
            ],
        ),
        (
            (3, 1, 1),
            &[
                "access-review",
                "encryption-at-rest",
                "owner",
                "asset-review",
            ],
        ),
        ((1, 3, 1), &["critical-patches", "owner", "asset-review"]),
    ];
    for ((c, i, a), expected) in table {
        assert_eq!(ids(&compliant(c, i, a)), expected, "C{c} I{i} A{a}");
    }
    assert_eq!(
        ids(&compliant(4, 4, 4)).len(),
        8,
        "level 4 everywhere needs every control"
    );
}

#[test]
fn a_compliant_asset_has_no_gap_at_any_level() {
    for level in 1..=4 {
        assert!(
            gaps(&compliant(level, level, level)).is_empty(),
            "level {level}"
        );
    }
}

#[test]
fn availability_three_restore_test_91_days_ago_is_overdue_since_day_90() {
    let asset = AssetFacts {
        last_restore_test: days_ago(91),
        ..compliant(1, 1, 3)
    };
    let restore = status(&asset, "restore-test").expect("applies at A3");
    assert_eq!(restore.state, State::Overdue);
    assert_eq!(restore.due_at, days_ago(1), "day 90 after the last test");
    let on_day_89 = AssetFacts {
        last_restore_test: days_ago(89),
        ..compliant(1, 1, 3)
    };
    assert_eq!(status(&on_day_89, "restore-test").unwrap().state, State::Ok);
    assert_eq!(
        status(&on_day_89, "restore-test").unwrap().due_at,
        Some(NOW + Duration::days(1)),
        "becomes due tomorrow"
    );
}

#[test]
fn availability_three_backups_need_a_daily_schedule_and_a_fresh_success() {
    let rows: [(AssetFacts, State); 4] = [
        (
            AssetFacts {
                backup_interval_hours: None,
                ..compliant(1, 1, 3)
            },
            State::Missing,
        ),
        (
            AssetFacts {
                backup_interval_hours: Some(168),
                ..compliant(1, 1, 3)
            },
            State::Missing,
        ),
        (
            AssetFacts {
                last_backup_success: Some(NOW - Duration::hours(30)),
                ..compliant(1, 1, 3)
            },
            State::Overdue,
        ),
        (
            AssetFacts {
                last_backup_success: None,
                ..compliant(1, 1, 3)
            },
            State::Missing,
        ),
    ];
    for (asset, expected) in rows {
        assert_eq!(
            status(&asset, "backup").unwrap().state,
            expected,
            "{asset:?}"
        );
    }
    let overdue = status(
        &AssetFacts {
            last_backup_success: Some(NOW - Duration::hours(30)),
            ..compliant(1, 1, 3)
        },
        "backup",
    )
    .unwrap();
    assert_eq!(overdue.due_at, Some(NOW - Duration::hours(6)));
}

#[test]
fn availability_three_needs_monitoring_with_an_alert_route() {
    assert_eq!(
        status(
            &AssetFacts {
                monitored: false,
                ..compliant(1, 1, 3)
            },
            "monitoring"
        )
        .unwrap()
        .state,
        State::Missing
    );
    assert_eq!(
        status(
            &AssetFacts {
                alert_route: false,
                ..compliant(1, 1, 3)
            },
            "monitoring"
        )
        .unwrap()
        .state,
        State::Missing
    );
    assert_eq!(
        status(&compliant(1, 1, 2), "monitoring"),
        None,
        "A2 needs no monitoring"
    );
}

#[test]
fn confidentiality_three_needs_encryption_and_an_access_review_every_six_months() {
    assert_eq!(
        status(
            &AssetFacts {
                encrypted_at_rest: false,
                ..compliant(3, 1, 1)
            },
            "encryption-at-rest"
        )
        .unwrap()
        .state,
        State::Missing
    );
    let review = status(
        &AssetFacts {
            last_access_review: Some(datetime!(2026-05-20 12:00 UTC)),
            ..compliant(3, 1, 1)
        },
        "access-review",
    )
    .unwrap();
    assert_eq!(
        (review.state, review.due_at),
        (State::Overdue, Some(datetime!(2026-11-20 12:00 UTC)))
    );
    let never = status(
        &AssetFacts {
            last_access_review: None,
            ..compliant(3, 1, 1)
        },
        "access-review",
    )
    .unwrap();
    assert_eq!(
        (never.state, never.due_at),
        (State::Missing, Some(datetime!(2025-07-01 00:00 UTC))),
        "due six months after the rule began to apply"
    );
}

#[test]
fn integrity_three_with_a_critical_patch_released_15_days_ago_and_open_is_a_gap() {
    let late = AssetFacts {
        open_critical_patches: vec![NOW - Duration::days(15)],
        ..compliant(1, 3, 1)
    };
    let patches = status(&late, "critical-patches").unwrap();
    assert_eq!(
        (patches.state, patches.due_at),
        (State::Overdue, days_ago(1))
    );
    let fresh = AssetFacts {
        open_critical_patches: vec![NOW - Duration::days(13)],
        ..compliant(1, 3, 1)
    };
    assert_eq!(status(&fresh, "critical-patches").unwrap().state, State::Ok);
    assert_eq!(
        status(
            &AssetFacts {
                open_critical_patches: vec![NOW - Duration::days(40)],
                ..compliant(1, 2, 1)
            },
            "critical-patches"
        ),
        None,
        "I2 has no patch rule"
    );
}

#[test]
fn every_asset_needs_an_owner_and_a_review_every_twelve_months_or_six_at_level_four() {
    assert_eq!(
        status(
            &AssetFacts {
                has_owner: false,
                ..compliant(1, 1, 1)
            },
            "owner"
        )
        .unwrap()
        .state,
        State::Missing
    );
    let reviewed = Some(datetime!(2026-04-01 09:00 UTC));
    let level_two = status(
        &AssetFacts {
            last_review: reviewed,
            ..compliant(2, 2, 2)
        },
        "asset-review",
    )
    .unwrap();
    assert_eq!(
        (level_two.state, level_two.due_at),
        (State::Ok, Some(datetime!(2027-04-01 09:00 UTC)))
    );
    let level_four = status(
        &AssetFacts {
            last_review: reviewed,
            ..compliant(4, 1, 1)
        },
        "asset-review",
    )
    .unwrap();
    assert_eq!(
        (level_four.state, level_four.due_at),
        (State::Overdue, Some(datetime!(2026-10-01 09:00 UTC)))
    );
    let never = AssetFacts {
        last_review: None,
        registered_at: Some(datetime!(2025-08-31 10:00 UTC)),
        ..compliant(1, 1, 1)
    };
    assert_eq!(
        status(&never, "asset-review").unwrap().due_at,
        Some(datetime!(2026-08-31 10:00 UTC)),
        "registration + 12 months"
    );
}

#[test]
fn level_four_raises_the_severity_and_retired_assets_need_nothing() {
    let a3 = status(
        &AssetFacts {
            monitored: false,
            ..compliant(1, 1, 3)
        },
        "monitoring",
    )
    .unwrap();
    let a4 = status(
        &AssetFacts {
            monitored: false,
            ..compliant(1, 1, 4)
        },
        "monitoring",
    )
    .unwrap();
    assert_eq!(
        (a3.severity, a4.severity),
        (Severity::Medium, Severity::High)
    );
    assert!(
        RuleSet::default()
            .evaluate(
                &AssetFacts {
                    retired: true,
                    ..compliant(4, 4, 4)
                },
                NOW
            )
            .is_empty()
    );
}

#[test]
fn the_rule_set_round_trips_through_json_and_states_its_hash() {
    let rules = RuleSet::default();
    let json = serde_json::to_string(&rules).unwrap();
    let back: RuleSet = serde_json::from_str(&json).unwrap();
    assert_eq!(back, rules);
    assert_eq!(back.sha256(), rules.sha256());
    let mut stricter = rules.clone();
    stricter.controls[1].check = Check::RestoreTest { every_days: 30 };
    assert_ne!(stricter.sha256(), rules.sha256());
}
