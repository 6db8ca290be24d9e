//! Triage with affected customers, closure guards, visibility and the timeline.
use tillit_proto::Vocabulary as _;
use tillit_proto::common::Severity;
use tillit_proto::incidents::{
    AssetImpact, DataSubjectRisk, IncidentKind, IncidentTransition, SecurityProperty,
    TriageAssessment,
};
use tillit_proto::incidents::{IncidentStatus, ObligationStatus};

use tillit_integration_tests::identity::bearer;
use tillit_integration_tests::platform::{Platform, register_asset};
use tillit_proto::incidents::{
    AddActionRequest, CompleteActionRequest, GetIncidentRequest, ListIncidentsRequest,
    RecordNotificationRequest, ReportIncidentRequest, ReviewIncidentRequest,
    TransitionIncidentRequest, TriageIncidentRequest,
};
use tonic::Code;

async fn report(platform: &Platform, token: &str, title: &str) -> String {
    platform
        .incidents()
        .await
        .report_incident(bearer(
            token,
            ReportIncidentRequest {
                kind: IncidentKind::SecurityIncident.into(),
                title: title.into(),
                description: format!("{title}: internal details"),
                ..Default::default()
            },
        ))
        .await
        .expect("report")
        .into_inner()
        .incident_id
}

fn triage(assets: &[&str]) -> TriageAssessment {
    TriageAssessment {
        severity: Severity::High.into(),
        affected_properties: vec![
            SecurityProperty::Availability.into(),
            SecurityProperty::Confidentiality.into(),
        ],
        affected_assets: assets
            .iter()
            .map(|id| AssetImpact {
                asset_id: (*id).into(),
                ..Default::default()
            })
            .collect(),
        personal_data_breach: true,
        data_categories: vec!["contact details".into()],
        approx_data_subjects: 1200,
        approx_records: 5000,
        risk_to_data_subjects: DataSubjectRisk::Risk.into(),
        suspected_malicious: true,
        notes: "internal: suspect credential stuffing".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn triage_right_after_registering_an_asset_derives_its_tenant_and_our_role() {
    let platform = Platform::start().await;
    let (customer_asset, first) = register_asset(&platform, "acme", "Acme webshop").await;
    let (own_asset, second) = register_asset(&platform, "internal", "Our ERP").await;
    let incident = report(&platform, &platform.employee.0, "Webshop down").await;

    // The token of the just-registered assets goes along: no sleep, no retry.
    let token = tillit_proto::common::ConsistencyToken {
        positions: [first.positions, second.positions].concat(),
    };
    let triaged = platform
        .incidents()
        .await
        .triage_incident(bearer(
            &platform.officer.0,
            TriageIncidentRequest {
                incident_id: incident,
                triage: Some(triage(&[&customer_asset, &own_asset])),
                consistency: Some(token),
            },
        ))
        .await
        .expect("triage")
        .into_inner()
        .triage
        .expect("triage");
    let assets: Vec<_> = triaged
        .affected_assets
        .iter()
        .map(|a| (a.tenant_id.as_str(), a.our_role().word(), a.confidentiality))
        .collect();
    assert_eq!(
        assets,
        vec![("acme", "processor", 3), ("internal", "controller", 3)]
    );
    let customers: Vec<_> = triaged
        .affected_customers
        .iter()
        .map(|c| (c.tenant_id.as_str(), c.our_role().word()))
        .collect();
    assert_eq!(
        customers,
        vec![("acme", "processor"), ("internal", "controller")]
    );

    let unknown = platform
        .incidents()
        .await
        .triage_incident(bearer(
            &platform.officer.0,
            TriageIncidentRequest {
                incident_id: report(&platform, &platform.officer.0, "x").await,
                triage: Some(triage(&["no-such-asset"])),
                consistency: None,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn closing_with_an_open_action_is_refused_naming_it_and_every_change_is_in_the_timeline() {
    let platform = Platform::start().await;
    let officer = &platform.officer.0;
    let mut client = platform.incidents().await;
    let id = report(&platform, &platform.employee.0, "Lost laptop").await;

    let early = client
        .transition_incident(bearer(
            officer,
            TransitionIncidentRequest {
                incident_id: id.clone(),
                transition: IncidentTransition::Contain.into(),
                note: String::new(),
                consistency: None,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(early.code(), Code::FailedPrecondition);
    assert!(
        early.message().contains("reported"),
        "names the current state: {}",
        early.message()
    );

    client
        .triage_incident(bearer(
            officer,
            TriageIncidentRequest {
                incident_id: id.clone(),
                triage: Some(triage(&[])),
                consistency: None,
            },
        ))
        .await
        .expect("triage");
    let action = client
        .add_action(bearer(
            officer,
            AddActionRequest {
                incident_id: id.clone(),
                title: "Enable disk encryption on all laptops".into(),
                owner_user_id: platform.officer.1.clone(),
                due_at: Some(tillit_kernel::clock::to_timestamp(
                    time::OffsetDateTime::now_utc() + time::Duration::days(14),
                )),
                consistency: None,
            },
        ))
        .await
        .expect("action")
        .into_inner();
    for transition in ["contain", "resolve"] {
        client
            .transition_incident(bearer(
                officer,
                TransitionIncidentRequest {
                    incident_id: id.clone(),
                    transition: IncidentTransition::read(transition),
                    note: String::new(),
                    consistency: None,
                },
            ))
            .await
            .expect(transition);
    }
    client
        .review_incident(bearer(
            officer,
            ReviewIncidentRequest {
                incident_id: id.clone(),
                root_cause: "unencrypted disk".into(),
                lessons_learned: "encrypt every laptop".into(),
                consistency: None,
            },
        ))
        .await
        .expect("review");
    let refused = client
        .transition_incident(bearer(
            officer,
            TransitionIncidentRequest {
                incident_id: id.clone(),
                transition: IncidentTransition::Close.into(),
                note: String::new(),
                consistency: None,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(
        refused
            .message()
            .contains("Enable disk encryption on all laptops"),
        "{}",
        refused.message()
    );

    client
        .complete_action(bearer(
            officer,
            CompleteActionRequest {
                incident_id: id.clone(),
                action_id: action.action_id,
                evidence: "MDM report 2026-11-27".into(),
                consistency: None,
            },
        ))
        .await
        .expect("complete");
    // A breach of our own data: the IMY clock (GDPR Art. 33(1)) still runs.
    let pending = client
        .transition_incident(bearer(
            officer,
            TransitionIncidentRequest {
                incident_id: id.clone(),
                transition: IncidentTransition::Close.into(),
                note: String::new(),
                consistency: None,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(pending.code(), Code::FailedPrecondition);
    assert!(
        pending.message().contains("gdpr-33-1"),
        "names the pending obligation: {}",
        pending.message()
    );
    client
        .record_notification(bearer(
            officer,
            RecordNotificationRequest {
                incident_id: id.clone(),
                obligation_id: "gdpr-33-1".into(),
                channel: "IMY e-service".into(),
                sent_at: Some(tillit_kernel::clock::to_timestamp(
                    time::OffsetDateTime::now_utc(),
                )),
                summary: "lost laptop, unencrypted".into(),
                external_reference: "IMY-2026-1234".into(),
                ..Default::default()
            },
        ))
        .await
        .expect("filed with IMY");
    let closed = client
        .transition_incident(bearer(
            officer,
            TransitionIncidentRequest {
                incident_id: id.clone(),
                transition: IncidentTransition::Close.into(),
                note: String::new(),
                consistency: None,
            },
        ))
        .await
        .expect("close")
        .into_inner();
    assert_eq!(closed.status(), IncidentStatus::Closed);

    let got = client
        .get_incident(bearer(
            officer,
            GetIncidentRequest {
                incident_id: id,
                consistency: closed.consistency,
            },
        ))
        .await
        .expect("get")
        .into_inner();
    let commands: Vec<_> = got
        .timeline
        .iter()
        .map(|e| e.command.rsplit('.').next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        commands,
        vec![
            "ReportIncident",
            "TriageIncident",
            "AddAction",
            "TransitionIncident",
            "TransitionIncident",
            "ReviewIncident",
            "CompleteAction",
            "RecordNotification",
            "TransitionIncident"
        ]
    );
    assert_eq!(
        got.timeline[0].actor, platform.employee.1,
        "reported by the employee"
    );
    assert!(
        got.timeline[1..]
            .iter()
            .all(|e| e.actor == platform.officer.1 && e.recorded_at.is_some()),
        "handled by the officer, each with a time"
    );
}

#[tokio::test]
async fn customers_see_only_what_concerns_them_and_employees_only_what_they_reported() {
    let platform = Platform::start().await;
    let officer = &platform.officer.0;
    let (acme_asset, a) = register_asset(&platform, "acme", "Acme mail").await;
    let (globex_asset, b) = register_asset(&platform, "globex", "Globex mail").await;
    let token = tillit_proto::common::ConsistencyToken {
        positions: [a.positions, b.positions].concat(),
    };
    let mut client = platform.incidents().await;

    let both = report(&platform, officer, "Mail cluster breach").await;
    client
        .triage_incident(bearer(
            officer,
            TriageIncidentRequest {
                incident_id: both.clone(),
                triage: Some(triage(&[&acme_asset, &globex_asset])),
                consistency: Some(token.clone()),
            },
        ))
        .await
        .expect("triage");
    let only_globex = report(&platform, officer, "Globex DNS outage").await;
    let last = client
        .triage_incident(bearer(
            officer,
            TriageIncidentRequest {
                incident_id: only_globex.clone(),
                triage: Some(triage(&[&globex_asset])),
                consistency: Some(token),
            },
        ))
        .await
        .expect("triage")
        .into_inner()
        .consistency;

    let seen = client
        .get_incident(bearer(
            &platform.alice,
            GetIncidentRequest {
                incident_id: both.clone(),
                consistency: last.clone(),
            },
        ))
        .await
        .expect("alice sees the shared incident")
        .into_inner();
    let text = format!("{seen:?}");
    assert!(
        !text.to_lowercase().contains("globex"),
        "no trace of the other customer: {text}"
    );
    assert!(
        !text.contains("credential stuffing") && !text.contains("internal details"),
        "no internal notes"
    );
    assert!(seen.timeline.is_empty());
    let incident = seen.incident.expect("incident");
    assert_eq!(
        incident.triage.as_ref().map(|t| t.affected_customers.len()),
        Some(1)
    );

    let hidden = client
        .get_incident(bearer(
            &platform.alice,
            GetIncidentRequest {
                incident_id: only_globex.clone(),
                consistency: None,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound);
    let listed = client
        .list_incidents(bearer(
            &platform.alice,
            ListIncidentsRequest {
                consistency: last.clone(),
                ..Default::default()
            },
        ))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(
        listed
            .incidents
            .iter()
            .map(|i| i.incident_id.as_str())
            .collect::<Vec<_>>(),
        vec![both.as_str()]
    );
    let bobs = client
        .list_incidents(bearer(
            &platform.bob,
            ListIncidentsRequest {
                consistency: last.clone(),
                ..Default::default()
            },
        ))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(bobs.incidents.len(), 2);
    assert!(
        !format!("{bobs:?}").to_lowercase().contains("acme"),
        "bob learns nothing of acme"
    );

    // An employee sees what it reported, and nothing else.
    let reported = client
        .report_incident(bearer(
            &platform.employee.0,
            ReportIncidentRequest {
                kind: IncidentKind::SecurityIncident.into(),
                title: "Phishing mail".into(),
                description: "Phishing mail: internal details".into(),
                ..Default::default()
            },
        ))
        .await
        .expect("report")
        .into_inner();
    // With the report's token: the list reads what was just written.
    let (own, seen) = (reported.incident_id, reported.consistency.expect("token"));
    let employee = client
        .list_incidents(bearer(
            &platform.employee.0,
            ListIncidentsRequest {
                consistency: Some(seen),
                ..Default::default()
            },
        ))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(
        employee
            .incidents
            .iter()
            .map(|i| i.incident_id.as_str())
            .collect::<Vec<_>>(),
        vec![own.as_str()]
    );
    let other = client
        .get_incident(bearer(
            &platform.employee.0,
            GetIncidentRequest {
                incident_id: both,
                consistency: None,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(other.code(), Code::NotFound);
    let customer_report = client
        .report_incident(bearer(
            &platform.alice,
            ReportIncidentRequest {
                kind: IncidentKind::Deviation.into(),
                title: "t".into(),
                description: "d".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(
        customer_report.code(),
        Code::PermissionDenied,
        "a customer reports security incidents only"
    );
}

#[tokio::test]
async fn a_late_notification_needs_a_reason_which_is_kept() {
    let platform = Platform::start().await;
    let officer = &platform.officer.0;
    let mut client = platform.incidents().await;
    let aware = time::OffsetDateTime::now_utc() - time::Duration::days(4);
    let id = client
        .report_incident(bearer(
            officer,
            ReportIncidentRequest {
                kind: IncidentKind::SecurityIncident.into(),
                title: "Misdirected payroll file".into(),
                description: "payroll sent to the wrong recipient".into(),
                detected_at: Some(tillit_kernel::clock::to_timestamp(aware)),
                aware_at: Some(tillit_kernel::clock::to_timestamp(aware)),
                consistency: None,
            },
        ))
        .await
        .expect("report")
        .into_inner()
        .incident_id;
    let triaged = client
        .triage_incident(bearer(
            officer,
            TriageIncidentRequest {
                incident_id: id.clone(),
                triage: Some(triage(&[])),
                consistency: None,
            },
        ))
        .await
        .expect("triage")
        .into_inner()
        .consistency;
    let notification = |reason: &str| RecordNotificationRequest {
        incident_id: id.clone(),
        obligation_id: "gdpr-33-1".into(),
        channel: "IMY e-service".into(),
        sent_at: Some(tillit_kernel::clock::to_timestamp(
            time::OffsetDateTime::now_utc(),
        )),
        delay_reason: reason.into(),
        ..Default::default()
    };
    let due = client
        .list_obligations_due(bearer(
            officer,
            tillit_proto::incidents::ListObligationsDueRequest {
                before: Some(tillit_kernel::clock::to_timestamp(
                    time::OffsetDateTime::now_utc(),
                )),
                consistency: triaged.clone(),
            },
        ))
        .await
        .expect("due list")
        .into_inner();
    assert_eq!(
        due.obligations
            .iter()
            .map(|o| (o.incident_id.as_str(), o.obligation_id.as_str()))
            .collect::<Vec<_>>(),
        vec![(id.as_str(), "gdpr-33-1")],
        "overdue for the officer's view"
    );
    let report = client
        .get_incident_report(bearer(
            officer,
            tillit_proto::incidents::GetIncidentReportRequest {
                incident_id: id.clone(),
                consistency: None,
            },
        ))
        .await
        .expect("report")
        .into_inner();
    let report: serde_json::Value = serde_json::from_str(&report.json).expect("json");
    assert_eq!(report["gdpr_art_33_3"]["approximate_data_subjects"], 1200);
    assert_eq!(report["gdpr_art_33_3"]["contact_point"], "dpo@tillit.test");
    assert_eq!(report["obligations"][0]["article"], "GDPR Art. 33(1)");
    assert_eq!(
        report["obligations"][0]["clocks_sha256"]
            .as_str()
            .map(str::len),
        Some(64),
        "states the clock configuration used"
    );
    let refused = client
        .record_notification(bearer(officer, notification("")))
        .await
        .unwrap_err();
    assert_eq!(
        refused.code(),
        Code::InvalidArgument,
        "after the 72 hours, a reason is required: {}",
        refused.message()
    );
    assert_eq!(
        tillit_integration_tests::violation_of(&refused),
        Some(("delay_reason".to_owned(), "REQUIRED".to_owned()))
    );
    let due_text = tillit_kernel::clock::rfc3339(aware + time::Duration::hours(72));
    for named in ["gdpr-33-1", "GDPR Art. 33(1)", due_text.as_str()] {
        assert!(
            refused.message().contains(named),
            "names {named}: {}",
            refused.message()
        );
    }
    let late = client
        .record_notification(bearer(
            officer,
            notification("the breach was only understood after the weekend"),
        ))
        .await
        .expect("late with a reason")
        .into_inner();
    assert_eq!(late.status(), ObligationStatus::Late);
    let got = client
        .get_incident(bearer(
            officer,
            GetIncidentRequest {
                incident_id: id,
                consistency: late.consistency,
            },
        ))
        .await
        .expect("get")
        .into_inner();
    let imy = got
        .incident
        .expect("incident")
        .obligations
        .into_iter()
        .find(|o| o.obligation_id == "gdpr-33-1")
        .expect("obligation");
    assert_eq!(
        (imy.status().word(), imy.reason.as_str()),
        ("late", "the breach was only understood after the weekend")
    );
    let due = imy
        .due_at
        .as_ref()
        .and_then(tillit_kernel::clock::from_timestamp)
        .expect("due");
    let aware = tillit_kernel::clock::from_timestamp(&tillit_kernel::clock::to_timestamp(aware))
        .expect("aware");
    assert_eq!(
        due,
        aware + time::Duration::hours(72),
        "due 72 h after awareness, frozen"
    );
}
