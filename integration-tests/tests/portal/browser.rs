//! The portal in the real Chromium: the incident flow as the employee, the security
//! officer and a customer go through it, sign-in with the forced password change, sign-out,
//! and both languages. Every page visited is checked with axe-core (no serious or critical
//! violation) and saved as a screenshot under `target/portal-screenshots/`.

use std::time::Duration;

use tillit_integration_tests::browser::Chrome;
use tillit_integration_tests::identity::bearer;
use tillit_integration_tests::platform::register_asset;
use tillit_integration_tests::portal::after;
use tillit_proto::incidents::{
    AssetImpact, IncidentKind, ReportIncidentRequest, TriageAssessment, TriageIncidentRequest,
};

use tillit_portal::pages::incidents::dom_id;

use super::stack;

const ENTER: &str = "\u{E007}";
const ARROW_DOWN: &str = "\u{E015}";

/// Waits until the browser's path starts with `prefix`; answers the path.
async fn arrives(chrome: &Chrome, prefix: &str) -> String {
    for _ in 0..200 {
        let path = chrome.path().await;
        if path.starts_with(prefix) {
            return path;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("never reached {prefix}: at {}", chrome.path().await);
}

/// Waits until the browser is no longer at a path starting with `prefix`.
async fn leaves(chrome: &Chrome, prefix: &str) {
    for _ in 0..200 {
        if !chrome.path().await.starts_with(prefix) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("still at {}", chrome.path().await);
}

/// Triages incident `id` on its page into a breach of `asset` with `risk` to the people
/// concerned.
async fn triage_breach(chrome: &Chrome, id: &str, asset: &str, risk: &str) {
    chrome.open(&format!("/incidents/{id}")).await;
    chrome.choose("#severity", "high").await;
    chrome.click("#prop_confidentiality").await;
    chrome.click(&format!("#asset-{}", dom_id(asset))).await;
    chrome.click("#personal_data_breach").await;
    chrome.choose("#risk", risk).await;
    chrome.click("form[action*='/triage'] button.primary").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_from_report_to_late_notice_and_refused_close_in_chromium() {
    let stack = stack().await;
    let platform = &stack.platform;
    let (acme_asset, _) = register_asset(platform, "acme", "Acme CRM").await;
    let (globex_asset, _) = register_asset(platform, "globex", "Globex Shop").await;
    let mut incidents = platform.incidents().await;
    let report = |title: &str, aware: i64| ReportIncidentRequest {
        kind: IncidentKind::SecurityIncident.into(),
        title: title.into(),
        description: "Seen in the logs.".into(),
        detected_at: Some(prost_types::Timestamp {
            seconds: aware,
            nanos: 0,
        }),
        aware_at: Some(prost_types::Timestamp {
            seconds: aware,
            nanos: 0,
        }),
        consistency: None,
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    // Another tenant's incident, which acme's customer must not see a trace of.
    let globex_incident = incidents
        .report_incident(bearer(
            &platform.employee.0,
            report("Globex checkout down", now),
        ))
        .await
        .expect("report")
        .into_inner()
        .incident_id;
    incidents
        .triage_incident(bearer(
            &platform.officer.0,
            TriageIncidentRequest {
                incident_id: globex_incident,
                triage: Some(TriageAssessment {
                    severity: tillit_proto::common::Severity::Low.into(),
                    affected_properties: vec![
                        tillit_proto::incidents::SecurityProperty::Availability.into(),
                    ],
                    affected_assets: vec![AssetImpact {
                        asset_id: globex_asset,
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
                consistency: None,
            },
        ))
        .await
        .expect("triage");
    // Noticed 30 hours ago: its controller notice is already late.
    let old = incidents
        .report_incident(bearer(
            &platform.employee.0,
            report("Old log export found", now - 30 * 3600),
        ))
        .await
        .expect("report")
        .into_inner();
    let (old, old_seen) = (old.incident_id, after(old.consistency.as_ref()));

    let chrome = Chrome::start(&format!("http://{}", stack.portal.grpc), "en").await;
    chrome.visit_checked("/signin", "signin").await;

    // The employee reports a deviation with the keyboard alone and sees it in its list.
    chrome.sign_in("erik@tillit.test").await;
    chrome.check("home-employee").await;
    chrome.open("/report").await;
    chrome.check("report").await;
    // Into the group of kinds, then the arrow key to the second one, as a radio group goes.
    chrome.tab_to("kind-deviation").await;
    chrome.keys(ARROW_DOWN).await;
    chrome.tab_to("title").await;
    chrome.keys("Customer CRM export on a laptop").await;
    chrome.tab_to("description").await;
    chrome
        .keys("An unencrypted export of the CRM was left on a shared laptop.")
        .await;
    chrome.tab_to("system").await;
    chrome.keys("Acme CRM").await;
    chrome.keys(ENTER).await;
    let reported = arrives(&chrome, "/incidents/").await;
    let id = reported
        .trim_start_matches("/incidents/")
        .split('?')
        .next()
        .expect("an id")
        .to_owned();
    assert!(
        chrome
            .text("p.notice")
            .await
            .contains("your report is registered")
    );
    chrome.check("incident-reported").await;
    chrome
        .visit_checked("/incidents", "incidents-employee")
        .await;
    assert!(
        chrome
            .source()
            .await
            .contains("Customer CRM export on a laptop")
    );
    // Sign-out ends the session: the next page asks to sign in again.
    chrome.sign_out().await;
    chrome.open("/incidents").await;
    arrives(&chrome, "/signin").await;

    // The security officer triages it into a breach of acme's CRM and notifies acme in time.
    chrome.sign_in("olle@tillit.test").await;
    chrome.check("home-officer").await;
    chrome
        .visit_checked("/incidents", "incidents-officer")
        .await;
    triage_breach(&chrome, &id, &acme_asset, "risk").await;
    arrives(&chrome, &format!("/incidents/{id}?done=triage")).await;
    let obligation = "#obligation-gdpr-33-2-acme";
    let shown = chrome.text(obligation).await;
    assert!(
        shown.contains("customer acme") && shown.contains("GDPR Art. 33(2)"),
        "{shown}"
    );
    assert!(shown.contains("due ") && shown.contains(" left"), "{shown}");
    chrome.check("incident-triaged").await;
    chrome.screenshot("incident-detail-phone", 390).await;
    chrome.click(&format!("{obligation} details summary")).await;
    chrome
        .fill(
            "#notify-gdpr-33-2-acme-channel",
            "e-mail to ops@acme.example",
        )
        .await;
    chrome
        .click(&format!(
            "{obligation} form[action*='/notify'] button.primary"
        ))
        .await;
    arrives(&chrome, &format!("/incidents/{id}?done=notify")).await;
    assert!(chrome.text(obligation).await.contains("Met in time"));
    chrome.check("incident-notified").await;
    chrome
        .visit_checked(&format!("/incidents/{id}/report"), "incident-report")
        .await;

    // The old one: late without a reason is refused next to the field; with one, late.
    // Its page waits for the report the test made behind the portal's back.
    chrome
        .open(&format!("/incidents/{old}?after={old_seen}"))
        .await;
    triage_breach(&chrome, &old, &acme_asset, "unlikely").await;
    arrives(&chrome, &format!("/incidents/{old}?done=triage")).await;
    assert!(chrome.text(obligation).await.contains(" late"));
    chrome.click(&format!("{obligation} details summary")).await;
    chrome
        .fill("#notify-gdpr-33-2-acme-channel", "phone call to Acme's DPO")
        .await;
    chrome
        .click(&format!(
            "{obligation} form[action*='/notify'] button.primary"
        ))
        .await;
    arrives(&chrome, &format!("/incidents/{old}/notify")).await;
    let problem = chrome
        .text("#notify-gdpr-33-2-acme-delay_reason-problem")
        .await;
    assert!(problem.contains("required"), "{problem}");
    let described = chrome
        .find("#notify-gdpr-33-2-acme-delay_reason")
        .await
        .attr("aria-describedby")
        .await
        .expect("attr")
        .unwrap_or_default();
    assert!(
        described.contains("notify-gdpr-33-2-acme-delay_reason-problem"),
        "{described}"
    );
    chrome.check("incident-late-refused").await;
    chrome
        .fill(
            "#notify-gdpr-33-2-acme-delay_reason",
            "The alert went to a closed mailbox.",
        )
        .await;
    chrome
        .click(&format!(
            "{obligation} form[action*='/notify'] button.primary"
        ))
        .await;
    arrives(&chrome, &format!("/incidents/{old}?done=notify")).await;
    let late = chrome.text(obligation).await;
    assert!(
        late.contains("Met late") && late.contains("The alert went to a closed mailbox."),
        "{late}"
    );

    // Resolved, then closing with the contract's notice still pending says what is missing.
    chrome.click("#transition-resolve").await;
    chrome
        .click("form[action*='/transition'] button.primary")
        .await;
    arrives(&chrome, &format!("/incidents/{old}?done=transition")).await;
    chrome
        .click("form[action*='/transition'] button.primary")
        .await;
    arrives(&chrome, &format!("/incidents/{old}/transition")).await;
    let missing = chrome.text("#transition-unmet").await;
    assert!(missing.contains("cannot be closed yet"), "{missing}");
    assert!(
        missing.contains("the root cause") && missing.contains("still pending"),
        "{missing}"
    );
    chrome.check("incident-close-refused").await;
    chrome.sign_out().await;

    // Acme's customer sees the incidents that affect acme, and nothing of globex.
    chrome.sign_in("alice@acme.example").await;
    chrome.check("home-customer").await;
    chrome
        .visit_checked("/incidents", "incidents-customer")
        .await;
    let list = chrome.source().await;
    assert!(list.contains("Customer CRM export on a laptop"), "{list}");
    assert!(
        !list.contains("Globex") && !list.contains("globex"),
        "{list}"
    );
    chrome
        .visit_checked(&format!("/incidents/{id}"), "incident-customer")
        .await;
    let page = chrome.source().await;
    assert!(page.contains("e-mail to ops@acme.example") && page.contains("Met in time"));
    for hidden in [
        "Globex",
        "globex",
        "An unencrypted export",
        "<form method=\"post\" action=\"/incidents",
    ] {
        assert!(!page.contains(hidden), "{hidden} shown to acme");
    }
    // Its menu offers only what a customer may use: home, reporting, its incidents, its
    // tenant's assets and its records of processing.
    let menu = chrome
        .client
        .execute(
            "return [...document.querySelectorAll('header nav a')].map(a => a.getAttribute('href'))",
            vec![],
        )
        .await
        .expect("the menu");
    assert_eq!(
        menu,
        serde_json::json!(["/", "/report", "/incidents", "/assets", "/records"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_with_a_new_password_in_swedish_and_english_in_chromium() {
    let stack = stack().await;
    super::new_employee(&stack).await;
    let base = format!("http://{}", stack.portal.grpc);

    // Swedish from the browser's language; the forced change of a temporary password.
    let chrome = Chrome::start(&base, "sv-SE").await;
    chrome.open("/signin").await;
    assert_eq!(chrome.text("h1").await, "Logga in");
    chrome.check("signin-sv").await;
    chrome.fill("#email", "nora.ny@tillit.test").await;
    chrome.fill("#password", "temporary-password-1").await;
    chrome.click("form button.primary").await;
    chrome.find("#new").await; // the password form comes first
    chrome.check("password-change-sv").await;
    chrome.fill("#current", "temporary-password-1").await;
    chrome.fill("#new", "a-password-of-her-own").await;
    chrome.fill("#repeat", "a-password-of-her-own").await;
    chrome.click("form button.primary").await;
    leaves(&chrome, "/password").await;
    leaves(&chrome, "/signin").await;
    assert!(chrome.text("h1").await.contains("Nora Ny"));
    assert_eq!(
        chrome
            .find("html")
            .await
            .attr("lang")
            .await
            .expect("lang")
            .as_deref(),
        Some("sv")
    );
    chrome.check("home-sv").await;
    // The switch in the header, remembered on the next page.
    chrome.click("header a[lang='en']").await;
    for _ in 0..50 {
        if chrome
            .find("html")
            .await
            .attr("lang")
            .await
            .expect("lang")
            .as_deref()
            == Some("en")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    chrome.open("/report").await;
    assert_eq!(chrome.text("h1").await, "Report something");
    chrome.check("report-en").await;
    drop(chrome);

    // English from the browser's language.
    let english = Chrome::start(&base, "en-GB").await;
    english.open("/signin").await;
    assert_eq!(english.text("h1").await, "Sign in");
    english.fill("#email", "nora.ny@tillit.test").await;
    english.fill("#password", "a-password-of-her-own").await;
    english.click("form button.primary").await;
    leaves(&english, "/signin").await;
    assert!(english.text("h1").await.contains("Welcome"));
    english.visit_checked("/no-such-page", "not-found-en").await;
    assert_eq!(english.text("h1").await, "Something went wrong");
}
