//! The dashboard on the home page: charts drawn on the server as SVG with a bar per figure,
//! named and with their figures as a table, for those who read reports or handle
//! incidents, and for nobody else.

use tillit_integration_tests::browser::Chrome;
use tillit_integration_tests::identity::bearer;
use tillit_integration_tests::platform::{everything, register_asset};
use tillit_integration_tests::portal::{Browser, after};
use tillit_proto::common::Severity;
use tillit_proto::incidents::{
    AssetImpact, IncidentKind, ReportIncidentRequest, SecurityProperty, TriageAssessment,
    TriageIncidentRequest,
};

use super::{Stack, stack};

/// Two deviations and a security incident this month, the incident triaged as low; an asset
/// with its gaps. Answers a token after everything.
async fn demo(stack: &Stack) -> String {
    let platform = &stack.platform;
    let (asset, _) = register_asset(platform, "acme", "Acme CRM").await;
    let mut incidents = platform.incidents().await;
    let report = |kind: IncidentKind, title: &str| ReportIncidentRequest {
        kind: kind.into(),
        title: title.into(),
        description: "Seen today.".into(),
        ..Default::default()
    };
    for title in ["Door left open", "Badge lent out"] {
        incidents
            .report_incident(bearer(
                &platform.employee.0,
                report(IncidentKind::Deviation, title),
            ))
            .await
            .expect("deviation");
    }
    let incident = incidents
        .report_incident(bearer(
            &platform.employee.0,
            report(IncidentKind::SecurityIncident, "CRM slow"),
        ))
        .await
        .expect("incident")
        .into_inner();
    incidents
        .triage_incident(bearer(
            &platform.officer.0,
            TriageIncidentRequest {
                incident_id: incident.incident_id,
                triage: Some(TriageAssessment {
                    severity: Severity::Low.into(),
                    affected_properties: vec![SecurityProperty::Availability.into()],
                    affected_assets: vec![AssetImpact {
                        asset_id: asset,
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
                consistency: incident.consistency,
            },
        ))
        .await
        .expect("triage");
    after(Some(&everything(platform).await))
}

/// The `<tr>` of the table under chart `id` whose header cell is `row`, as its cells' text.
fn row(body: &str, id: &str, row: &str) -> Vec<String> {
    let chart = body
        .split(&format!("id=\"chart-{id}\""))
        .nth(1)
        .and_then(|rest| rest.split("</figure>").next())
        .unwrap_or_else(|| panic!("no chart {id}: {body}"));
    let line = chart
        .split("<tr>")
        .find(|tr| tr.starts_with(&format!("<th scope=\"row\">{row}</th>")))
        .unwrap_or_else(|| panic!("no row {row} in {id}: {chart}"));
    line.split("<td>")
        .skip(1)
        .map(|cell| cell.split('<').next().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_charts_the_figures_with_a_table_and_only_for_staff_who_read_them() {
    let stack = stack().await;
    let seen = demo(&stack).await;
    let mut olle = Browser::signed_in(&stack.portal, "olle@tillit.test").await;
    let home = olle.get(&format!("/?after={seen}")).await;
    assert_eq!(home.status, 200, "{}", home.body);
    for id in [
        "incidents-per-month",
        "open-by-severity",
        "obligations",
        "gaps-by-level",
        "policy-coverage",
    ] {
        assert!(home.body.contains(&format!("id=\"chart-{id}\"")), "{id}");
    }
    assert_eq!(row(&home.body, "open-by-severity", "Low"), ["1"]);
    assert_eq!(
        row(&home.body, "open-by-severity", "Not triaged yet"),
        ["2"]
    );
    let month = time::OffsetDateTime::now_utc();
    let month = format!("{:04}-{:02}", month.year(), u8::from(month.month()));
    assert_eq!(row(&home.body, "incidents-per-month", &month), ["2", "1"]);
    assert!(
        home.body
            .contains("<title>Open incidents by severity</title>")
    );

    for email in ["erik@tillit.test", "alice@acme.example"] {
        let mut other = Browser::signed_in(&stack.portal, email).await;
        let page = other.get("/").await;
        assert!(
            !page.body.contains("id=\"dashboard\""),
            "{email}: {}",
            page.body
        );
        assert!(!page.body.contains("<svg"), "{email}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_charts_render_in_chromium_with_a_bar_per_figure() {
    let stack = stack().await;
    let seen = demo(&stack).await;
    let chrome = Chrome::start(&format!("http://{}", stack.portal.grpc), "sv").await;
    chrome.sign_in("olle@tillit.test").await;
    chrome
        .visit_checked(&format!("/?after={seen}"), "dashboard-sv")
        .await;
    chrome.screenshot("dashboard-phone", 390).await;
    // One background rect per chart, then one per figure: 12 months × 2 kinds, 5 severities
    // (4 and "not triaged"), 6 outcomes, 5 levels; no policy yet, so no chart of them.
    assert_eq!(chrome.count("#chart-policy-coverage svg").await, 0);
    for (id, bars) in [
        ("incidents-per-month", 24),
        ("open-by-severity", 5),
        ("obligations", 6),
        ("gaps-by-level", 5),
    ] {
        let rects = chrome.count(&format!("#chart-{id} svg rect")).await;
        assert_eq!(rects, bars + 1, "{id}");
        assert!(chrome.has(&format!("#chart-{id} svg title")).await, "{id}");
    }
}
