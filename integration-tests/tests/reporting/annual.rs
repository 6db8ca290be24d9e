//! The annual management review: a scripted year through the API on the kernel's
//! injectable clock, figures with known answers, byte-identical reports for the same
//! positions, and the sign-off.
use tillit_proto::incidents::{IncidentKind, IncidentTransition};

use tillit_integration_tests::identity::bearer;
use tillit_integration_tests::platform::Platform;
use tillit_kernel::Clock;
use tillit_kernel::clock::to_timestamp;
use tillit_proto::Vocabulary as _;
use tillit_proto::common::Position;
use tillit_proto::identity::{
    AcknowledgePolicyRequest, PublishPolicyRequest, RecordTrainingRequest, StartAccessReviewRequest,
};
use tillit_proto::incidents::{
    AddActionRequest, CompleteActionRequest, RecordNotificationRequest, ReportIncidentRequest,
    TransitionIncidentRequest,
};
use tillit_proto::reporting::reporting_service_client::ReportingServiceClient;
use tillit_proto::reporting::{
    AuditFilter, GetAnnualReportRequest, GetAnnualReportResponse, GetManagementReviewRequest,
    QueryAuditRequest, SignOffManagementReviewRequest,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use tonic::Code;
use tonic::transport::Channel;

use crate::support::{client, everything, merge, register_asset, triage};

/// The incident reported at `aware + 1 h` (aware at `aware`), as a security incident.
async fn report_at(
    platform: &Platform,
    clock: &Clock,
    aware: OffsetDateTime,
    kind: &str,
    title: &str,
) -> (String, tillit_proto::common::ConsistencyToken) {
    clock.set(aware + Duration::hours(1));
    let reported = platform
        .incidents()
        .await
        .report_incident(bearer(
            &platform.employee.0,
            ReportIncidentRequest {
                kind: IncidentKind::read(kind),
                title: title.into(),
                description: format!("{title}: details"),
                detected_at: Some(to_timestamp(aware)),
                aware_at: Some(to_timestamp(aware)),
                consistency: None,
            },
        ))
        .await
        .expect("report")
        .into_inner();
    (reported.incident_id, reported.consistency.expect("token"))
}

/// Files the customer notice of `incident` `after` its awareness.
async fn notify(
    platform: &Platform,
    clock: &Clock,
    incident: &str,
    aware: OffsetDateTime,
    after: Duration,
) {
    let sent = aware + after;
    clock.set(sent + Duration::minutes(5));
    platform
        .incidents()
        .await
        .record_notification(bearer(
            &platform.officer.0,
            RecordNotificationRequest {
                incident_id: incident.into(),
                obligation_id: "gdpr-33-2:acme".into(),
                channel: "e-mail to acme's incident contact".into(),
                sent_at: Some(to_timestamp(sent)),
                summary: "customer data exposed".into(),
                delay_reason: if after > Duration::hours(24) {
                    "the contact was unreachable over the weekend".into()
                } else {
                    String::new()
                },
                ..Default::default()
            },
        ))
        .await
        .expect("notification");
}

async fn report(
    reporting: &mut ReportingServiceClient<Channel>,
    token: &str,
    as_of: Vec<Position>,
) -> GetAnnualReportResponse {
    reporting
        .get_annual_report(bearer(token, GetAnnualReportRequest { year: 2026, as_of }))
        .await
        .expect("annual report")
        .into_inner()
}

#[tokio::test]
async fn a_scripted_year_gives_known_figures_the_same_bytes_for_the_same_positions_and_a_signed_review()
 {
    let clock = Clock::fixed(datetime!(2026-01-05 09:00 UTC));
    let platform = Platform::start_with_clock(clock.clone()).await;
    let admin = platform._identity.admin_token().await;
    let (_, manager, _) = platform
        ._identity
        .create_user(&admin, "internal", "maja@tillit.test", &["manager"])
        .await;
    let (asset, asset_token) = register_asset(&platform, "acme", "Mail hosting").await;

    // Four personal-data breaches of acme's mail, each triaged two hours after awareness;
    // acme is told within its 24 hours three times and once after 30 hours.
    let mut first = String::new();
    for (month, after) in [(1, 2), (3, 30), (5, 3), (7, 20)] {
        let aware = OffsetDateTime::new_utc(
            time::Date::from_calendar_date(2026, time::Month::try_from(month).unwrap(), 10)
                .unwrap(),
            time::Time::from_hms(8, 0, 0).unwrap(),
        );
        let (incident, token) = report_at(
            &platform,
            &clock,
            aware,
            "security_incident",
            "Mailbox exposed",
        )
        .await;
        clock.set(aware + Duration::hours(2));
        triage(
            &platform,
            &incident,
            "low",
            &[&asset],
            &merge(&[&asset_token, &token]),
        )
        .await;
        notify(&platform, &clock, &incident, aware, Duration::hours(after)).await;
        if first.is_empty() {
            first = incident;
        }
    }
    // The first is contained and resolved a day after awareness.
    for (transition, at) in [
        ("contain", datetime!(2026-01-10 20:00 UTC)),
        ("resolve", datetime!(2026-01-11 08:00 UTC)),
    ] {
        clock.set(at);
        platform
            .incidents()
            .await
            .transition_incident(bearer(
                &platform.officer.0,
                TransitionIncidentRequest {
                    incident_id: first.clone(),
                    transition: IncidentTransition::read(transition),
                    note: String::new(),
                    consistency: None,
                },
            ))
            .await
            .expect(transition);
    }
    // Two corrective actions on the first: one done, one left open past its due date.
    let mut incidents = platform.incidents().await;
    for (title, due) in [
        ("Encrypt mailbox exports", 14),
        ("Review export permissions", 21),
    ] {
        clock.set(datetime!(2026-01-12 09:00 UTC));
        let action = incidents
            .add_action(bearer(
                &platform.officer.0,
                AddActionRequest {
                    incident_id: first.clone(),
                    title: title.into(),
                    owner_user_id: platform.officer.1.clone(),
                    due_at: Some(to_timestamp(
                        datetime!(2026-01-12 09:00 UTC) + Duration::days(due),
                    )),
                    consistency: None,
                },
            ))
            .await
            .expect("action")
            .into_inner();
        if due == 14 {
            clock.set(datetime!(2026-01-20 09:00 UTC));
            incidents
                .complete_action(bearer(
                    &platform.officer.0,
                    CompleteActionRequest {
                        incident_id: first.clone(),
                        action_id: action.action_id,
                        evidence: "export job encrypts since 2026-01-19".into(),
                        consistency: None,
                    },
                ))
                .await
                .expect("complete");
        }
    }
    // Identity (on the system clock): a policy one of five staff acknowledged, one
    // training, one access review due in December.
    let mut identity = platform._identity.client().await;
    identity
        .publish_policy(bearer(
            &manager.access_token,
            PublishPolicyRequest {
                policy_id: "information-security".into(),
                title: "Information security policy".into(),
                text: "# Be careful".into(),
                consistency: None,
            },
        ))
        .await
        .expect("publish");
    identity
        .acknowledge_policy(bearer(
            &platform.employee.0,
            AcknowledgePolicyRequest {
                policy_id: "information-security".into(),
                version: 1,
                consistency: None,
            },
        ))
        .await
        .expect("acknowledge");
    let today = OffsetDateTime::now_utc();
    identity
        .record_training(bearer(
            &platform.officer.0,
            RecordTrainingRequest {
                user_id: platform.employee.1.clone(),
                course: "security-awareness".into(),
                completed_at: Some(to_timestamp(today - Duration::days(30))),
                valid_until: Some(to_timestamp(today + Duration::days(335))),
                consistency: None,
            },
        ))
        .await
        .expect("training");
    identity
        .start_access_review(bearer(
            &platform.officer.0,
            StartAccessReviewRequest {
                tenant_id: String::new(),
                due_at: Some(to_timestamp(datetime!(2026-12-15 12:00 UTC))),
                consistency: None,
            },
        ))
        .await
        .expect("access review");
    report_at(
        &platform,
        &clock,
        datetime!(2026-09-14 12:00 UTC),
        "deviation",
        "Badge lost",
    )
    .await;
    report_at(
        &platform,
        &clock,
        datetime!(2026-10-01 12:00 UTC),
        "improvement_proposal",
        "Passkeys",
    )
    .await;

    let (reporting_service, _data) = platform.reporting(Duration::ZERO).await;
    let mut reporting = client(&reporting_service).await;
    let now = report(&mut reporting, &manager.access_token, Vec::new()).await;
    if std::env::var_os("TEST_LOG").is_some() {
        println!("{}", now.json);
    }
    let figures: serde_json::Value = serde_json::from_str(&now.json).expect("json");
    assert_eq!(figures["incidents"]["total"], 5);
    assert_eq!(figures["incidents"]["by_kind"]["security_incident"], 4);
    assert_eq!(figures["incidents"]["by_kind"]["deviation"], 1);
    assert_eq!(figures["incidents"]["by_severity"]["low"], 4);
    assert_eq!(figures["incidents"]["by_severity"]["untriaged"], 1);
    assert_eq!(figures["incidents"]["by_property"]["confidentiality"], 4);
    for (month, n) in [
        ("01", 1),
        ("02", 0),
        ("03", 1),
        ("05", 1),
        ("07", 1),
        ("09", 1),
        ("10", 0),
        ("12", 0),
    ] {
        assert_eq!(
            figures["incidents"]["by_month"][format!("2026-{month}")],
            n,
            "{month}"
        );
    }
    assert_eq!(figures["incidents"]["improvement_proposals"], 1);
    assert_eq!(figures["incidents"]["mean_minutes_to_triage"], 120);
    assert_eq!(figures["incidents"]["mean_minutes_to_resolve"], 24 * 60);
    assert_eq!(
        figures["incidents"]["mean_minutes_to_notify"],
        (2 + 30 + 3 + 20) * 60 / 4
    );
    assert_eq!(figures["obligations"]["total"], 4);
    assert_eq!(figures["obligations"]["met_on_time"], 3);
    assert_eq!(figures["obligations"]["late"], 1);
    assert_eq!(figures["obligations"]["on_time_percent"], "75.0");
    assert_eq!(
        (
            &figures["actions"]["total"],
            &figures["actions"]["done"],
            &figures["actions"]["open"],
            &figures["actions"]["overdue"]
        ),
        (&2.into(), &1.into(), &1.into(), &1.into())
    );
    let policy = &figures["coverage"]["policies"]["information-security"];
    assert_eq!(
        (&policy["staff"], &policy["covered"], &policy["percent"]),
        (&5.into(), &1.into(), &"20.0".into())
    );
    let training = &figures["coverage"]["trainings"]["security-awareness"];
    assert_eq!(
        (&training["covered"], &training["percent"]),
        (&1.into(), &"20.0".into())
    );
    assert_eq!(figures["access_reviews"]["campaigns"], 1);
    assert_eq!(figures["access_reviews"]["completed"], 0);
    assert!(figures["access_reviews"]["items"].as_u64() > Some(0));
    assert_eq!(figures["access_reviews"]["decided_percent"], "0.0");
    assert_eq!(figures["controls"]["assets"], 1);
    assert!(figures["controls"]["gaps_by_tenant_and_class"]["acme"]["class 3"].as_u64() > Some(0));
    let as_of = now.as_of.clone();
    assert_eq!(
        as_of.iter().map(|p| p.stream.as_str()).collect::<Vec<_>>(),
        ["IDENTITY", "ASSETS", "INCIDENTS"]
    );
    assert!(now.csv.starts_with("section,figure,value\n"));
    assert!(now.csv.contains("obligations,on_time_percent,75.0\n"));
    assert!(now.html.starts_with("<!DOCTYPE html>"));
    assert!(
        !now.html.contains("src=") && !now.html.contains("href="),
        "no external assets"
    );

    // More events later: the report for the same positions is the same bytes.
    report_at(
        &platform,
        &clock,
        datetime!(2026-10-20 12:00 UTC),
        "deviation",
        "Door left open",
    )
    .await;
    let again = report(&mut reporting, &platform.auditor, as_of.clone()).await;
    assert_eq!(
        (&again.json, &again.csv, &again.html),
        (&now.json, &now.csv, &now.html)
    );
    assert_eq!(again.report_sha256, now.report_sha256);
    let moved = report(&mut reporting, &platform.auditor, Vec::new()).await;
    assert_ne!(
        moved.json, now.json,
        "the current report counts the new deviation"
    );
    // A reporting service with a fresh projection file answers the same bytes.
    let (rebuilt_service, _rebuilt) = platform.reporting(Duration::ZERO).await;
    let rebuilt = report(
        &mut client(&rebuilt_service).await,
        &manager.access_token,
        as_of.clone(),
    )
    .await;
    assert_eq!(rebuilt.json, now.json);
    assert_eq!(rebuilt.html, now.html);

    // Only a manager signs, once; the sign-off verifies and shows in the audit trail.
    let sign = |token: &str| {
        bearer(
            token,
            SignOffManagementReviewRequest {
                year: 2026,
                summary: "Breach handling improved; notice times need work.".into(),
                decisions: vec!["Automate customer notices".into()],
                as_of: as_of.clone(),
            },
        )
    };
    for who in [
        &platform.officer.0,
        &platform.employee.0,
        &platform.auditor,
        &admin,
    ] {
        let denied = reporting
            .sign_off_management_review(sign(who))
            .await
            .expect_err("not a manager");
        assert_eq!(denied.code(), Code::PermissionDenied);
    }
    let signed = reporting
        .sign_off_management_review(sign(&manager.access_token))
        .await
        .expect("the manager signs")
        .into_inner();
    let sign_off = signed.sign_off.clone().expect("sign-off");
    assert_eq!(sign_off.report_sha256, now.report_sha256);
    assert_eq!(sign_off.as_of, as_of);
    let twice = reporting
        .sign_off_management_review(sign(&manager.access_token))
        .await
        .expect_err("once per year");
    assert_eq!(twice.code(), Code::FailedPrecondition);
    let review = reporting
        .get_management_review(bearer(
            &platform.auditor,
            GetManagementReviewRequest { year: 2026 },
        ))
        .await
        .expect("review")
        .into_inner();
    assert!(review.verified);
    assert_eq!(review.json, now.json);
    assert_eq!(review.signed_by_name, "maja", "the signer by name, opened");
    let trail = reporting
        .query_audit(bearer(
            &platform.auditor,
            QueryAuditRequest {
                filter: Some(AuditFilter {
                    command: "tillit.reporting.v1.SignOffManagementReview".into(),
                    ..Default::default()
                }),
                page: None,
                consistency: Some(merge(&[
                    &everything(&platform).await,
                    &signed.consistency.unwrap(),
                ])),
            },
        ))
        .await
        .expect("audit")
        .into_inner()
        .entries;
    assert_eq!(trail.len(), 1);
    assert_eq!(trail[0].actor.clone().unwrap().roles, ["manager"]);

    let bad = reporting
        .get_annual_report(bearer(
            &manager.access_token,
            GetAnnualReportRequest {
                year: 2026,
                as_of: vec![Position {
                    stream: "CREDENTIALS".into(),
                    sequence: 1,
                }],
            },
        ))
        .await
        .expect_err("not a report stream");
    assert_eq!(bad.code(), Code::InvalidArgument);
    let denied = reporting
        .get_annual_report(bearer(
            &platform.employee.0,
            GetAnnualReportRequest {
                year: 2026,
                as_of: Vec::new(),
            },
        ))
        .await
        .expect_err("employees do not read reports");
    assert_eq!(denied.code(), Code::PermissionDenied);
}
