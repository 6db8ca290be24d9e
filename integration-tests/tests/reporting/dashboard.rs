//! The dashboard's figures, computed at query time from the projections, checked against
//! what the owning services answer themselves.
use tillit_proto::incidents::IncidentKind;
use tillit_proto::incidents::ObligationStatus;

use tillit_integration_tests::identity::bearer;
use tillit_integration_tests::platform::Platform;
use tillit_proto::assets::GetControlGapsRequest;
use tillit_proto::identity::{
    AcknowledgePolicyRequest, GetPolicyCoverageRequest, PublishPolicyRequest,
};
use tillit_proto::incidents::{GetIncidentRequest, ReportIncidentRequest};
use tillit_proto::reporting::{Count, GetDashboardRequest, GetDashboardResponse};

use crate::support::{add_action, client, everything, register_asset, report, triage};

fn counts(counts: &[Count]) -> Vec<(&str, u32)> {
    counts.iter().map(|c| (c.label.as_str(), c.count)).collect()
}

async fn dashboard(
    platform: &Platform,
    shift: time::Duration,
    token: &str,
) -> GetDashboardResponse {
    let (service, _data) = platform.reporting(shift).await;
    client(&service)
        .await
        .get_dashboard(bearer(
            token,
            GetDashboardRequest {
                consistency: Some(everything(platform).await),
            },
        ))
        .await
        .expect("dashboard")
        .into_inner()
}

#[tokio::test]
async fn the_dashboard_joins_incidents_assets_and_policies_at_query_time() {
    let platform = Platform::start().await;
    let admin = platform._identity.admin_token().await;
    let (_, manager, _) = platform
        ._identity
        .create_user(&admin, "internal", "maja@tillit.test", &["manager"])
        .await;
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

    let (asset, t1) = register_asset(&platform, "acme", "Mail hosting").await;
    let (breach, t2) = report(&platform, &platform.employee.0, "Mailbox exposed").await;
    triage(
        &platform,
        &breach,
        "critical",
        &[&asset],
        &crate::support::merge(&[&t1, &t2]),
    )
    .await;
    add_action(&platform, &breach, 14).await;
    let (minor, t3) = report(&platform, &platform.employee.0, "Badge lost").await;
    triage(&platform, &minor, "low", &[], &t3).await;
    report(&platform, &platform.employee.0, "Printer jammed").await;
    platform
        .incidents()
        .await
        .report_incident(bearer(
            &platform.employee.0,
            ReportIncidentRequest {
                kind: IncidentKind::ImprovementProposal.into(),
                title: "Use passkeys".into(),
                description: "Fewer passwords".into(),
                ..Default::default()
            },
        ))
        .await
        .expect("proposal");

    let now = dashboard(&platform, time::Duration::ZERO, &manager.access_token).await;
    assert_eq!(
        counts(&now.open_incidents_by_severity),
        [
            ("critical", 1),
            ("high", 0),
            ("medium", 0),
            ("low", 1),
            ("untriaged", 1)
        ]
    );
    assert_eq!((now.overdue_obligations, now.overdue_actions), (0, 0));
    assert_eq!(now.incidents_per_month.len(), 12);
    assert_eq!(now.incidents_per_month.last().map(|c| c.count), Some(3));
    assert_eq!(
        now.incidents_per_month.iter().map(|c| c.count).sum::<u32>(),
        3
    );

    let token = everything(&platform).await;
    let gaps = platform
        .assets()
        .await
        .get_control_gaps(bearer(
            &platform.officer.0,
            GetControlGapsRequest {
                consistency: Some(token.clone()),
                ..Default::default()
            },
        ))
        .await
        .expect("gaps")
        .into_inner()
        .gaps;
    assert!(!gaps.is_empty());
    assert_eq!(
        now.control_gaps as usize,
        gaps.len(),
        "the assets service agrees"
    );
    let by_level: u32 = now.control_gaps_by_level.iter().map(|c| c.count).sum();
    assert_eq!(by_level, now.control_gaps, "every gap under one level");
    assert_eq!(
        now.control_gaps_by_level
            .iter()
            .map(|c| c.label.as_str())
            .collect::<Vec<_>>(),
        ["1", "2", "3", "4", "unclassified"]
    );
    assert_eq!(
        now.incidents_per_month_by_kind.last().map(|m| m
            .counts
            .iter()
            .map(|c| c.count)
            .sum::<u32>()),
        Some(3),
        "this month's incidents, by kind"
    );

    let coverage = identity
        .get_policy_coverage(bearer(
            &manager.access_token,
            GetPolicyCoverageRequest {
                policy_id: "information-security".into(),
                role: 0,
                consistency: Some(token.clone()),
            },
        ))
        .await
        .expect("coverage")
        .into_inner();
    assert_eq!(now.policy_coverage.len(), 1);
    let figure = &now.policy_coverage[0];
    assert_eq!(
        (
            figure.policy_id.as_str(),
            figure.version,
            figure.staff,
            figure.covered
        ),
        ("information-security", 1, coverage.staff, coverage.covered)
    );
    assert_eq!(
        (figure.staff, figure.covered),
        (5, 1),
        "five staff, the employee acknowledged"
    );

    // A month on, the breach's obligations and the action are overdue.
    let pending = platform
        .incidents()
        .await
        .get_incident(bearer(
            &platform.officer.0,
            GetIncidentRequest {
                incident_id: breach.clone(),
                consistency: Some(token.clone()),
            },
        ))
        .await
        .expect("incident")
        .into_inner()
        .incident
        .expect("incident")
        .obligations
        .iter()
        .filter(|o| o.status() == ObligationStatus::Pending && o.due_at.is_some())
        .count();
    assert!(
        pending > 0,
        "a breach of a customer's personal data obliges"
    );
    let later = dashboard(&platform, time::Duration::days(31), &platform.auditor).await;
    assert_eq!(later.overdue_obligations as usize, pending);
    assert_eq!(later.overdue_actions, 1);
    assert_eq!(
        later
            .incidents_per_month
            .iter()
            .map(|c| c.count)
            .sum::<u32>(),
        3
    );
    assert_eq!(later.policy_coverage[0].covered, 1);
}
