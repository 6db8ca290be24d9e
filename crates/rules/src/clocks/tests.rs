//! Table tests of the legal clocks; each row names the provision it checks. Times in UTC.

use time::macros::datetime;

use super::*;

fn facts(aware: OffsetDateTime) -> IncidentFacts {
    IncidentFacts {
        aware_at: aware,
        personal_data_breach: false,
        risk: Risk::Unassessed,
        affected: Vec::new(),
        serious: false,
        suspected_malicious: false,
        data_compromised: false,
        outage: None,
        planned_maintenance: false,
        users_affected_percent: 0,
        direct_loss_eur: 0,
        linked: Vec::new(),
    }
}

fn due(assessment: &Assessment, id: &str) -> Option<Option<OffsetDateTime>> {
    assessment
        .obligations
        .iter()
        .find(|o| o.id == id)
        .map(|o| o.due_at)
}

fn contracts(rows: &[(&str, u32, u32)]) -> BTreeMap<String, ContractHours> {
    rows.iter()
        .map(|(t, b, o)| {
            (
                (*t).to_owned(),
                ContractHours {
                    breach_notice_hours: *b,
                    outage_notice_hours: *o,
                },
            )
        })
        .collect()
}

const NOW: OffsetDateTime = datetime!(2026-06-01 00:00 UTC);

#[test]
fn gdpr_33_2_processor_breach_notifies_the_customer_within_its_contract_hours_and_not_imy() {
    let breach = IncidentFacts {
        personal_data_breach: true,
        risk: Risk::Risk,
        affected: vec![("acme".into(), Role::Processor)],
        ..facts(datetime!(2026-03-06 08:00 UTC))
    };
    let assessment = assess(
        &breach,
        &contracts(&[("acme", 24, 8)]),
        &ClockConfig::default(),
        NOW,
    );
    assert_eq!(
        due(&assessment, "gdpr-33-2:acme"),
        Some(Some(datetime!(2026-03-07 08:00 UTC)))
    );
    assert_eq!(
        due(&assessment, "gdpr-33-1"),
        None,
        "no IMY obligation of ours as processor"
    );
}

#[test]
fn gdpr_33_1_controller_breach_notifies_imy_within_72_hours_over_a_weekend() {
    let breach = IncidentFacts {
        personal_data_breach: true,
        risk: Risk::Risk,
        affected: vec![("internal".into(), Role::Controller)],
        ..facts(datetime!(2026-05-15 07:00 UTC))
    };
    let assessment = assess(&breach, &BTreeMap::new(), &ClockConfig::default(), NOW);
    assert_eq!(
        due(&assessment, "gdpr-33-1"),
        Some(Some(datetime!(2026-05-18 07:00 UTC))),
        "Friday + 72 h = Monday, calendar hours"
    );
    let imy = assessment
        .obligations
        .iter()
        .find(|o| o.id == "gdpr-33-1")
        .unwrap();
    assert_eq!(imy.recipient, "IMY (Integritetsskyddsmyndigheten)");
    assert!(
        imy.clock.required_fields().contains(&"likely_consequences"),
        "Art. 33(3) contents"
    );
}

#[test]
fn gdpr_33_5_an_unlikely_risk_needs_no_imy_notification_but_a_documented_decision() {
    let breach = IncidentFacts {
        personal_data_breach: true,
        risk: Risk::Unlikely,
        affected: vec![("internal".into(), Role::Controller)],
        ..facts(datetime!(2026-05-15 07:00 UTC))
    };
    let assessment = assess(&breach, &BTreeMap::new(), &ClockConfig::default(), NOW);
    assert!(assessment.obligations.is_empty());
    assert_eq!(assessment.decisions.len(), 1);
    assert_eq!(assessment.decisions[0].article, "GDPR Art. 33(5)");
}

#[test]
fn gdpr_34_high_risk_also_tells_the_data_subjects() {
    let breach = IncidentFacts {
        personal_data_breach: true,
        risk: Risk::High,
        affected: vec![("internal".into(), Role::Controller)],
        ..facts(datetime!(2026-05-15 07:00 UTC))
    };
    let assessment = assess(&breach, &BTreeMap::new(), &ClockConfig::default(), NOW);
    assert_eq!(
        due(&assessment, "gdpr-34"),
        Some(Some(datetime!(2026-05-18 07:00 UTC))),
        "configured 72 h target"
    );
}

#[test]
fn nis2_art_23_a_significant_incident_starts_24_h_72_h_and_final_report_clocks() {
    let significant = IncidentFacts {
        suspected_malicious: true,
        data_compromised: true,
        affected: vec![("acme".into(), Role::Processor)],
        ..facts(datetime!(2026-03-31 10:00 UTC))
    };
    let assessment = assess(&significant, &BTreeMap::new(), &ClockConfig::default(), NOW);
    assert!(assessment.significant.is_some());
    assert_eq!(
        due(&assessment, "nis2-early-warning"),
        Some(Some(datetime!(2026-04-01 10:00 UTC)))
    );
    assert_eq!(
        due(&assessment, "nis2-notification"),
        Some(Some(datetime!(2026-04-03 10:00 UTC)))
    );
    assert_eq!(
        due(&assessment, "nis2-final-report"),
        Some(None),
        "no due time before the notification is sent"
    );
    assert_eq!(
        due(&assessment, "nis2-customer-notice:acme"),
        Some(Some(datetime!(2026-04-01 10:00 UTC))),
        "Art. 23(1)-(2), 24 h target"
    );
    assert_eq!(
        final_report_due(datetime!(2026-04-03 10:00 UTC), &ClockConfig::default()),
        datetime!(2026-05-03 10:00 UTC)
    );
}

#[test]
fn nis2_art_23_4_d_one_month_is_swedish_calendar_time() {
    let config = ClockConfig::default();
    assert_eq!(
        final_report_due(datetime!(2026-03-20 10:00 UTC), &config),
        datetime!(2026-04-20 09:00 UTC),
        "across the daylight-saving change"
    );
    assert_eq!(
        final_report_due(datetime!(2026-01-31 10:00 UTC), &config),
        datetime!(2026-02-28 10:00 UTC),
        "to the month's last day"
    );
}

#[test]
fn implementing_regulation_2024_2690_thresholds() {
    let config = ClockConfig::default().significance;
    let at = datetime!(2026-03-01 10:00 UTC);
    let outage = |minutes: i64, users: u32, planned: bool| IncidentFacts {
        outage: Some((at, Some(at + Duration::minutes(minutes)))),
        users_affected_percent: users,
        planned_maintenance: planned,
        ..facts(at)
    };
    let rows: [(&str, IncidentFacts, bool); 8] = [
        ("complete outage 31 min", outage(31, 100, false), true),
        ("complete outage 30 min", outage(30, 100, false), false),
        ("limited 61 min for 6 %", outage(61, 6, false), true),
        ("limited 61 min for 5 %", outage(61, 5, false), false),
        (
            "planned maintenance does not count",
            outage(600, 100, true),
            false,
        ),
        (
            "loss above 500 000 EUR",
            IncidentFacts {
                direct_loss_eur: 500_001,
                ..facts(at)
            },
            true,
        ),
        (
            "malicious without compromise",
            IncidentFacts {
                suspected_malicious: true,
                ..facts(at)
            },
            false,
        ),
        (
            "repeated: two linked 20-minute complete outages with this 20-minute one",
            IncidentFacts {
                linked: vec![
                    LinkedFacts {
                        outage_minutes: 20,
                        users_affected_percent: 100,
                        direct_loss_eur: 0
                    };
                    2
                ],
                ..outage(20, 100, false)
            },
            true,
        ),
    ];
    for (name, facts, expected) in rows {
        assert_eq!(
            significance(&facts, &config, NOW).is_some(),
            expected,
            "{name}"
        );
    }
}

#[test]
fn planned_maintenance_starts_no_nis2_or_contract_clock() {
    let planned = IncidentFacts {
        outage: Some((
            datetime!(2026-03-01 22:00 UTC),
            Some(datetime!(2026-03-02 04:00 UTC)),
        )),
        planned_maintenance: true,
        affected: vec![("acme".into(), Role::Processor)],
        ..facts(datetime!(2026-03-01 22:00 UTC))
    };
    assert!(
        assess(&planned, &BTreeMap::new(), &ClockConfig::default(), NOW)
            .obligations
            .is_empty()
    );
}

#[test]
fn contract_outage_notices_follow_each_customers_own_hours() {
    let outage = IncidentFacts {
        outage: Some((
            datetime!(2026-03-01 10:00 UTC),
            Some(datetime!(2026-03-01 10:20 UTC)),
        )),
        personal_data_breach: true,
        risk: Risk::Risk,
        affected: vec![
            ("acme".into(), Role::Processor),
            ("globex".into(), Role::Processor),
        ],
        ..facts(datetime!(2026-03-01 10:05 UTC))
    };
    let assessment = assess(
        &outage,
        &contracts(&[("acme", 12, 4), ("globex", 48, 0)]),
        &ClockConfig::default(),
        NOW,
    );
    assert_eq!(
        due(&assessment, "gdpr-33-2:acme"),
        Some(Some(datetime!(2026-03-01 22:05 UTC)))
    );
    assert_eq!(
        due(&assessment, "gdpr-33-2:globex"),
        Some(Some(datetime!(2026-03-03 10:05 UTC)))
    );
    assert_eq!(
        due(&assessment, "contract-outage-notice:acme"),
        Some(Some(datetime!(2026-03-01 14:05 UTC)))
    );
    assert_eq!(
        due(&assessment, "contract-outage-notice:globex"),
        Some(Some(datetime!(2026-03-02 10:05 UTC))),
        "contract silent: default 24 h"
    );
}

#[test]
fn the_configuration_round_trips_and_states_its_hash() {
    let config = ClockConfig::default();
    let back: ClockConfig = serde_json::from_str(&serde_json::to_string(&config).unwrap()).unwrap();
    assert_eq!(back, config);
    let renamed = ClockConfig {
        nis2_authority: "NCSC-SE".into(),
        ..config.clone()
    };
    assert_ne!(renamed.sha256(), config.sha256());
}
