//! A personal-data breach of a customer's service handled to the end in the portal, as a
//! security officer does it, and what the customer sees of it.

use tillit_integration_tests::identity::bearer;
use tillit_integration_tests::platform::{register_asset, stream_messages};
use tillit_integration_tests::portal::{Browser, Page, after};
use tillit_proto::incidents::{IncidentKind, ReportIncidentRequest};

use super::stack;

/// The value of the first `<option value="…">` after `marker` that is not empty.
fn first_option_after(page: &Page, marker: &str) -> String {
    let (_, rest) = page.body.split_once(marker).expect("the marker");
    rest.split("<option value=\"")
        .skip(1)
        .map(|o| o.split('"').next().unwrap_or_default())
        .find(|v| !v.is_empty())
        .expect("an option")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breach_is_triaged_notified_late_with_a_reason_and_closed_only_when_nothing_is_missing() {
    let stack = stack().await;
    let platform = &stack.platform;
    let (acme_asset, _) = register_asset(platform, "acme", "Acme CRM").await;
    let (own_asset, _) = register_asset(platform, "internal", "Payroll").await;
    let (globex_asset, _) = register_asset(platform, "globex", "Globex Shop").await;
    // Noticed 30 hours ago: the controller's 24 hours are over, the authority's 72 are not.
    let aware = prost_types::Timestamp {
        seconds: time::OffsetDateTime::now_utc().unix_timestamp() - 30 * 3600,
        nanos: 0,
    };
    let reported = platform
        .incidents()
        .await
        .report_incident(bearer(
            &platform.employee.0,
            ReportIncidentRequest {
                kind: IncidentKind::SecurityIncident.into(),
                title: "Backups readable by anyone".into(),
                description: "A bucket policy was too wide.".into(),
                detected_at: Some(aware),
                aware_at: Some(aware),
                consistency: None,
            },
        ))
        .await
        .expect("report")
        .into_inner();
    let (id, reported) = (reported.incident_id, after(reported.consistency.as_ref()));
    let page_path = format!("/incidents/{id}");

    let officer = "olle@tillit.test";
    let mut browser = Browser::signed_in(&stack.portal, officer).await;
    let page = browser.get(&format!("{page_path}?after={reported}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("Acme CRM · acme"),
        "assets to link: {}",
        page.body
    );
    let csrf = page.hidden("csrf");

    // Triage: a breach of acme's CRM (we are its processor) and of our own payroll.
    let triaged = browser
        .post(
            &format!("{page_path}/triage"),
            &[
                ("severity", "high"),
                ("prop_confidentiality", "on"),
                ("asset", &acme_asset),
                ("asset", &own_asset),
                ("personal_data_breach", "on"),
                ("risk", "risk"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(triaged.status, 303, "{}", triaged.body);
    let page = browser.get(triaged.location()).await;
    assert!(page.body.contains("Acme CRM") && page.body.contains("we are processor"));
    assert!(page.body.contains("GDPR Art. 33(2)"), "{}", page.body);
    assert!(page.body.contains("GDPR Art. 33(1)"), "{}", page.body);
    assert!(
        page.body.contains(" late"),
        "the controller's clock has run out"
    );

    // The authority in time.
    let now = tillit_portal::pages::local_input(time::OffsetDateTime::now_utc().unix_timestamp());
    let notify = format!("{page_path}/notify");
    let met = browser
        .post(
            &notify,
            &[
                ("obligation", "gdpr-33-1"),
                ("stage", "initial"),
                ("sent_at", &now),
                ("channel", "IMY e-service"),
                ("external_reference", "IMY-2026-118"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(met.status, 303, "{}", met.body);
    let page = browser.get(met.location()).await;
    assert!(page.body.contains("The notification is recorded"));
    assert!(page.body.contains("Met in time") && page.body.contains("IMY-2026-118"));

    // The controller late: without a reason it is refused next to the field, and nothing
    // is written.
    let before = stream_messages(&platform.nats, "INCIDENTS").await;
    let obligation = "gdpr-33-2:acme";
    let late = [
        ("obligation", obligation),
        ("stage", "initial"),
        ("sent_at", now.as_str()),
        ("channel", "e-mail to ops@acme.example"),
        ("csrf", csrf.as_str()),
    ];
    let refused = browser.post(&notify, &late).await;
    refused.assert_refused_at("notify-gdpr-33-2-acme-delay_reason");
    assert!(
        refused.body.contains("e-mail to ops@acme.example"),
        "what was typed stays"
    );
    assert!(
        refused.body.contains("<details open"),
        "the form stays open"
    );
    assert_eq!(stream_messages(&platform.nats, "INCIDENTS").await, before);

    // Resolved, then a close that is refused with what is missing, in words.
    let transition = format!("{page_path}/transition");
    let resolved = browser
        .post(
            &transition,
            &[("transition", "resolve"), ("note", ""), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(resolved.status, 303, "{}", resolved.body);
    let owner_page = browser.get(resolved.location()).await;
    assert!(owner_page.body.contains("Resolved"));
    let owner = first_option_after(&owner_page, "name=\"owner_user_id\"");
    let added = browser
        .post(
            &format!("{page_path}/action"),
            &[
                ("title", "Narrow the bucket policy"),
                ("owner_user_id", &owner),
                ("due_at", "2031-01-15T16:00"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(added.status, 303, "{}", added.body);
    let before = stream_messages(&platform.nats, "INCIDENTS").await;
    let close = browser
        .post(
            &transition,
            &[("transition", "close"), ("note", ""), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(close.status, 422, "{}", close.body);
    for missing in [
        "The incident cannot be closed yet",
        "the root cause (post-incident review)",
        "the lessons learned (post-incident review)",
        "the corrective action “Narrow the bucket policy” is still open",
        "GDPR Art. 33(2) to customer acme is still pending",
    ] {
        assert!(close.body.contains(missing), "{missing}: {}", close.body);
    }
    assert!(!close.body.contains("OBLIGATION_PENDING"));
    assert_eq!(stream_messages(&platform.nats, "INCIDENTS").await, before);

    // With a reason the late notification is recorded and shown as late, with the reason.
    let mut with_reason = late.to_vec();
    with_reason.push(("delay_reason", "The weekend on-call missed the alert."));
    let recorded = browser.post(&notify, &with_reason).await;
    assert_eq!(recorded.status, 303, "{}", recorded.body);
    let page = browser.get(recorded.location()).await;
    assert!(page.body.contains("Met late"), "{}", page.body);
    assert!(page.body.contains("The weekend on-call missed the alert."));

    // The contract's outage notice does not apply to a breach without an outage: waived,
    // with the reason on the page.
    let waived = browser
        .post(
            &format!("{page_path}/waive"),
            &[
                ("obligation", "contract-outage-notice:acme"),
                ("reason", "No outage: the service stayed up."),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(waived.status, 303, "{}", waived.body);
    let page = browser.get(waived.location()).await;
    assert!(
        page.body.contains("Waived") && page.body.contains("No outage: the service stayed up.")
    );

    // The review and the action done, the close goes through.
    let reviewed = browser
        .post(
            &format!("{page_path}/review"),
            &[
                ("root_cause", "A wildcard principal in the bucket policy."),
                ("lessons_learned", "Policies are reviewed in pairs."),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(reviewed.status, 303, "{}", reviewed.body);
    let page = browser.get(reviewed.location()).await;
    let action = page
        .body
        .split("name=\"action\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the action's id")
        .to_owned();
    // A second action whose residual risk a manager accepts instead: the manager sees the
    // form to accept the risk and none to complete it or to move the incident.
    let second = browser
        .post(
            &format!("{page_path}/action"),
            &[
                ("title", "Move backups to another vendor"),
                ("owner_user_id", &owner),
                ("due_at", "2031-06-01T09:00"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(second.status, 303, "{}", second.body);
    let admin = platform._identity.admin_token().await;
    platform
        ._identity
        .create_user(&admin, "internal", "maja@tillit.test", &["manager"])
        .await;
    let mut maja = Browser::signed_in(&stack.portal, "maja@tillit.test").await;
    let seen = maja.get(&page_path).await;
    assert_eq!(seen.status, 200, "{}", seen.body);
    assert!(
        seen.body.contains("Accept the residual risk"),
        "{}",
        seen.body
    );
    assert!(
        !seen.body.contains("/transition#transition\"") && !seen.body.contains("/triage#triage\""),
        "no moves and no triage for a manager"
    );
    assert!(
        !seen.body.contains("Mark as done"),
        "not the manager's to complete"
    );
    let second_id = seen
        .body
        .split("name=\"action\" value=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .find(|id| *id != action)
        .expect("the second action's id")
        .to_owned();
    let maja_csrf = seen.hidden("csrf");
    let accepted = maja
        .post(
            &format!("{page_path}/risk"),
            &[
                ("action", second_id.as_str()),
                (
                    "reason",
                    "The current vendor's contract ends in 2031; the risk is low until then.",
                ),
                ("csrf", &maja_csrf),
            ],
        )
        .await;
    assert_eq!(accepted.status, 303, "{}", accepted.body);
    let page = maja.get(accepted.location()).await;
    assert!(
        page.body.contains("Residual risk accepted"),
        "{}",
        page.body
    );
    // An action that is not there: refused, and said, though no form of it is drawn.
    let unknown = maja
        .post(
            &format!("{page_path}/risk"),
            &[
                ("action", "no-such-action"),
                ("reason", "x"),
                ("csrf", &maja_csrf),
            ],
        )
        .await;
    assert_eq!(unknown.status, 422, "{}", unknown.body);
    assert!(
        unknown.body.contains(
            "<div class=\"alert\" role=\"alert\"><p>This refers to something that does not exist.</p>"
        ),
        "{}",
        unknown.body
    );

    let done = browser
        .post(
            &format!("{page_path}/complete"),
            &[
                ("action", action.as_str()),
                ("evidence", "Change CHG-88"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let closed = browser
        .post(
            &transition,
            &[("transition", "close"), ("note", ""), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(closed.status, 303, "{}", closed.body);
    let page = browser.get(closed.location()).await;
    assert!(page.body.contains("The status is changed") && page.body.contains("Closed"));
    assert!(
        page.body.contains("value=\"reopen\""),
        "a closed incident can be reopened"
    );

    // Staff filter the list by tenant, from the tenants identity lists.
    let acme = browser.get("/incidents?tenant=acme").await;
    assert!(
        acme.body
            .contains("<option value=\"acme\" selected>acme AB</option>"),
        "{}",
        acme.body
    );
    assert!(acme.body.contains("Backups readable by anyone"));
    let globex = browser.get("/incidents?tenant=globex").await;
    assert!(
        !globex.body.contains("Backups readable by anyone"),
        "{}",
        globex.body
    );

    // The printable report.
    let report = browser.get(&format!("{page_path}/report")).await;
    assert_eq!(report.status, 200, "{}", report.body);
    for part in [
        "GDPR Art. 33(3)",
        "Nature of the breach",
        "A bucket policy was too wide.",
        "A wildcard principal",
        "IMY-2026-118",
    ] {
        assert!(report.body.contains(part), "{part}: {}", report.body);
    }

    // Acme's customer sees the incident, its obligation and the notice it was sent, and
    // nothing of our payroll, the authority's filing or globex.
    let customer = "alice@acme.example";
    let mut alice = Browser::signed_in(&stack.portal, customer).await;
    let theirs = alice.get(&page_path).await;
    assert_eq!(theirs.status, 200, "{}", theirs.body);
    assert!(theirs.body.contains("Backups readable by anyone"));
    assert!(theirs.body.contains("e-mail to ops@acme.example") && theirs.body.contains("Met late"));
    for hidden in [
        "Payroll",
        "IMY",
        "globex",
        "Globex",
        &globex_asset,
        "bucket policy",
        "<form method=\"post\" action=\"/incidents",
    ] {
        assert!(
            !theirs.body.contains(hidden),
            "{hidden} shown to acme: {}",
            theirs.body
        );
    }
    assert_eq!(alice.get(&format!("{page_path}/report")).await.status, 404);
    let alice_csrf = alice.get("/").await.hidden("csrf");
    let forged = alice
        .post(
            &transition,
            &[
                ("transition", "reopen"),
                ("note", "x"),
                ("csrf", &alice_csrf),
            ],
        )
        .await;
    assert_ne!(forged.status, 303, "a customer cannot move it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_that_is_down_gives_a_page_naming_it_and_the_portal_stays_ready() {
    use tillit_integration_tests::portal::start_portal_with;
    let stack = stack().await;
    // Nothing listens where this portal looks for the incidents service.
    let dead = format!(
        "http://127.0.0.1:{}",
        tillit_integration_tests::receivers::free_port()
    );
    let data = tempfile::tempdir().expect("dir");
    let portal = start_portal_with(
        &stack.platform,
        stack._reporting.0.grpc,
        data.path(),
        &[("TILLIT_PORTAL_INCIDENTS_URL", &dead)],
    )
    .await;
    let officer = "olle@tillit.test";
    for (language, words) in [
        (
            "en",
            "Incidents is unavailable at the moment. Nothing was lost",
        ),
        (
            "sv",
            "Incidenter går inte att nå just nu. Inget har gått förlorat",
        ),
    ] {
        let mut browser = Browser::new(&portal);
        browser.language = Some(language.into());
        browser
            .sign_in(officer, &tillit_testkit::harness::user_password(officer))
            .await;
        let page = browser.get("/incidents").await;
        assert_eq!(page.status, 503, "{}", page.body);
        assert!(page.body.contains(words), "{}", page.body);
        for leak in ["Status {", "tonic", "transport error", "panicked", &dead] {
            assert!(!page.body.contains(leak), "{leak} shown: {}", page.body);
        }
        // The home page still shows what it can, and says which part is missing.
        let home = browser.get("/").await;
        assert_eq!(home.status, 200, "{}", home.body);
    }
    // Its own readiness is the portal's process, not the services behind it.
    let (status, _) = tillit_testkit::harness::http_get(portal.admin, "/readyz").await;
    assert!(status.contains("200"), "{status}");
}
