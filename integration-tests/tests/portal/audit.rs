//! The audit trail in the portal: an auditor searches, downloads the CSV of the same
//! filter and verifies the chains, and can write nothing; nobody else sees the trail.

use tillit_integration_tests::browser::Chrome;
use tillit_integration_tests::identity::bearer;
use tillit_integration_tests::platform::{everything, register_asset, stream_messages};
use tillit_integration_tests::portal::{Browser, after};
use tillit_proto::incidents::{IncidentKind, ReportIncidentRequest};

use super::{Stack, stack};

/// An asset registered by the officer and an incident reported by the employee; answers
/// the incident's id and a token after everything.
async fn some_history(stack: &Stack) -> (String, String) {
    let platform = &stack.platform;
    register_asset(platform, "acme", "Acme CRM").await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let at = Some(prost_types::Timestamp {
        seconds: now,
        nanos: 0,
    });
    let incident = platform
        .incidents()
        .await
        .report_incident(bearer(
            &platform.employee.0,
            ReportIncidentRequest {
                kind: IncidentKind::Deviation.into(),
                title: "Laptop left unlocked".into(),
                description: "In the office kitchen.".into(),
                detected_at: at,
                aware_at: at,
                ..Default::default()
            },
        ))
        .await
        .expect("report")
        .into_inner()
        .incident_id;
    (incident, after(Some(&everything(platform).await)))
}

/// The data rows of a CSV page (its header line left out).
fn rows(csv: &str) -> usize {
    csv.lines().skip(1).filter(|l| !l.is_empty()).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auditor_searches_downloads_and_verifies_and_can_write_nothing() {
    let stack = stack().await;
    let platform = &stack.platform;
    let (incident, seen) = some_history(&stack).await;
    let mut ada = Browser::signed_in(&stack.portal, "ada@tillit.test").await;
    assert!(ada.get("/").await.body.contains("href=\"/audit\""));

    let all = ada.get(&format!("/audit?after={seen}")).await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert!(
        all.body
            .contains("<code class=\"muted\">RegisterAsset</code>"),
        "{}",
        all.body
    );
    assert!(
        all.body
            .contains("<code class=\"muted\">ReportIncident</code>")
    );
    assert!(
        all.body
            .contains(&format!("href=\"/incidents/{incident}\"")),
        "the record links to its page"
    );

    // Narrowed by log, by command, by actor.
    let incidents = ada.get("/audit?stream=INCIDENTS").await;
    assert!(incidents.body.contains("ReportIncident</code>"));
    assert!(
        !incidents.body.contains("RegisterAsset</code>"),
        "{}",
        incidents.body
    );
    let registered = ada
        .get("/audit?command=tillit.assets.v1.RegisterAsset")
        .await;
    assert!(registered.body.contains("RegisterAsset</code>"));
    assert!(!registered.body.contains("ReportIncident</code>"));
    let eriks = ada
        .get(&format!("/audit?actor={}", platform.employee.1))
        .await;
    assert!(eriks.body.contains("ReportIncident</code>"));
    assert!(
        !eriks.body.contains("RegisterAsset</code>"),
        "the officer registered it"
    );

    // A time that is no time is refused next to it; an empty range reads as such.
    let bad = ada.get("/audit?from=yesterday").await;
    bad.assert_refused_at("audit-from");
    let backwards = ada
        .get("/audit?from=2026-03-30T10:00&to=2026-03-01T10:00")
        .await;
    backwards.assert_refused_at("audit-to");

    // The download holds the same entries as the page, as CSV.
    let csv = ada.get("/audit/export?stream=INCIDENTS").await;
    assert_eq!(csv.status, 200, "{}", csv.body);
    assert!(
        csv.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        csv.headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"audit-")
    );
    let shown = incidents.body.matches("<tr>").count() - 1;
    assert_eq!(rows(&csv.body), shown, "{}", csv.body);
    assert!(csv.body.contains("tillit.incidents.v1.ReportIncident"));

    // Every chain holds.
    let verified = ada.get("/audit?verify=all").await;
    assert_eq!(
        verified.body.matches("every link holds").count(),
        5,
        "{}",
        verified.body
    );

    // No form of any page writes for the auditor, and a forged one is refused.
    for path in [
        format!("/incidents/{incident}"),
        "/audit".into(),
        "/assets".into(),
    ] {
        let page = ada.get(&path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        let posts = page.body.matches("method=\"post\"").count();
        assert_eq!(posts, 1, "{path}: only sign-out posts: {}", page.body);
    }
    let csrf = ada.get("/").await.hidden("csrf");
    let before = stream_messages(&platform.nats, "INCIDENTS").await;
    let forged = ada
        .post(
            &format!("/incidents/{incident}/transition"),
            &[
                ("transition", "reject"),
                ("note", "Not ours"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    assert_eq!(stream_messages(&platform.nats, "INCIDENTS").await, before);

    // Nobody else has the trail.
    for email in ["erik@tillit.test", "alice@acme.example"] {
        let mut other = Browser::signed_in(&stack.portal, email).await;
        assert!(!other.get("/").await.body.contains("href=\"/audit\""));
        assert_eq!(other.get("/audit").await.status, 403, "{email}");
        assert_eq!(other.get("/audit/export").await.status, 403, "{email}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auditor_searches_the_trail_in_chromium() {
    let stack = stack().await;
    let (_, seen) = some_history(&stack).await;
    let chrome = Chrome::start(&format!("http://{}", stack.portal.grpc), "en").await;
    chrome.sign_in("ada@tillit.test").await;
    chrome
        .visit_checked(&format!("/audit?after={seen}"), "audit")
        .await;
    chrome.choose("#audit-stream", "INCIDENTS").await;
    chrome.click("form[action='/audit'] button.primary").await;
    chrome.find("#audit-entries").await;
    assert!(chrome.path().await.contains("stream=INCIDENTS"));
    assert!(
        !chrome
            .text("#audit-entries")
            .await
            .contains("RegisterAsset")
    );
    chrome.check("audit-filtered").await;
    chrome
        .click("form[action='/audit#verification'] button")
        .await;
    chrome.find("#verification").await;
    assert_eq!(
        chrome
            .text("#verification")
            .await
            .matches("every link holds")
            .count(),
        5
    );
    chrome.check("audit-verified").await;
    chrome.screenshot("audit-phone", 390).await;
}
