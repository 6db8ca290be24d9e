//! The portal over HTTP, no browser: sessions, CSRF, headers, languages, sign-in and
//! sign-out against the real services.

use tillit_integration_tests::identity::{ADMIN_EMAIL, ADMIN_PASSWORD, bearer};
use tillit_integration_tests::platform::{Platform, stream_messages};
use tillit_integration_tests::portal::{Browser, start_portal};
use tillit_proto::identity::{CreateUserRequest, Role};
use tillit_testkit::harness::Service;

mod admin;
mod assets;
mod audit;
mod browser;
mod compliance;
mod crawl;
mod dashboard;
mod flow;
mod personal;
mod policies;
mod register;
mod review;

struct Stack {
    platform: Platform,
    _reporting: (Service, tempfile::TempDir),
    portal: Service,
    _data: tempfile::TempDir,
}

async fn stack() -> Stack {
    stack_on(Platform::start().await).await
}

/// The admin creates Nora Ny, an employee, with the temporary password
/// `temporary-password-1`, which she must change at her first sign-in.
async fn new_employee(stack: &Stack) {
    let admin = stack.platform._identity.admin_token().await;
    stack
        .platform
        ._identity
        .client()
        .await
        .create_user(bearer(
            &admin,
            CreateUserRequest {
                tenant_id: "internal".into(),
                email: "nora.ny@tillit.test".into(),
                display_name: "Nora Ny".into(),
                roles: vec![Role::Employee.into()],
                temporary_password: "temporary-password-1".into(),
                consistency: None,
            },
        ))
        .await
        .expect("create user");
}

/// The portal and a reporting service beside `platform`.
async fn stack_on(platform: Platform) -> Stack {
    let reporting = platform.reporting(time::Duration::ZERO).await;
    let data = tempfile::tempdir().expect("dir");
    let portal = start_portal(&platform, reporting.0.grpc, data.path()).await;
    Stack {
        platform,
        _reporting: reporting,
        portal,
        _data: data,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_needs_a_session_and_every_answer_carries_the_security_headers() {
    let stack = stack().await;
    let mut browser = Browser::new(&stack.portal);
    let home = browser.get("/").await;
    assert_eq!(home.status, 303);
    assert_eq!(home.location(), "/signin?next=%2F");
    let signin = browser.get("/signin?next=%2F").await;
    assert_eq!(signin.status, 200);
    for page in [&home, &signin] {
        let header = |name: &str| {
            page.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        let csp = header("content-security-policy");
        assert!(
            csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert_eq!(header("x-content-type-options"), "nosniff");
        assert_eq!(header("referrer-policy"), "same-origin");
        assert_eq!(header("cache-control"), "no-store");
    }
    assert!(
        !signin.hidden("csrf").is_empty(),
        "the form carries a CSRF token"
    );
    // Cookies: HttpOnly, SameSite=Lax (Secure is off only because this portal is configured
    // for plain HTTP on localhost).
    let cookie = signin
        .headers
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );

    // The stylesheet by its hash, cached for a year; nothing from elsewhere.
    let css_path = signin
        .body
        .split_once("href=\"/static/")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(path, _)| format!("/static/{path}"))
        .expect("a stylesheet link");
    let css = browser.get(&css_path).await;
    assert_eq!(css.status, 200);
    assert!(
        css.headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert!(!signin.body.contains("http://") && !signin.body.contains("https://"));
    assert_eq!(
        browser.get("/static/app.0000000000000000.css").await.status,
        404
    );

    // 404 in Swedish by default, English when the browser asks.
    let missing = browser.get("/no-such-page").await;
    assert_eq!(missing.status, 404);
    assert!(
        missing.body.contains("Sidan finns inte"),
        "{}",
        missing.body
    );
    browser.language = Some("en-GB,en;q=0.9".into());
    assert!(
        browser
            .get("/no-such-page")
            .await
            .body
            .contains("There is no such page")
    );
    assert!(browser.get("/signin").await.body.contains("Sign in"));
    // The switch is remembered over the browser's wish.
    let switched = browser.get("/lang/sv?next=%2Fsignin").await;
    assert_eq!((switched.status, switched.location()), (303, "/signin"));
    assert!(browser.get("/signin").await.body.contains("Logga in"));
    // Never an open redirect.
    assert_eq!(
        browser
            .get("/lang/en?next=%2F%2Fevil.example")
            .await
            .location(),
        "/"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_without_or_with_a_wrong_csrf_token_is_refused_and_changes_nothing() {
    let stack = stack().await;
    let mut browser = Browser::new(&stack.portal);
    let form = browser.get("/signin").await;
    let before = stream_messages(&stack.platform.nats, "CREDENTIALS").await;
    for csrf in ["", "00", &"ab".repeat(32)] {
        let refused = browser
            .post(
                "/signin",
                &[
                    ("email", ADMIN_EMAIL),
                    ("password", ADMIN_PASSWORD),
                    ("csrf", csrf),
                ],
            )
            .await;
        assert_eq!(refused.status, 403, "csrf {csrf:?}");
        assert!(!browser.cookies.contains_key("tillit_session"));
    }
    // Another visitor's token is no token of ours.
    let mut stranger = Browser::new(&stack.portal);
    let theirs = stranger.get("/signin").await.hidden("csrf");
    let refused = browser
        .post(
            "/signin",
            &[
                ("email", ADMIN_EMAIL),
                ("password", ADMIN_PASSWORD),
                ("csrf", &theirs),
            ],
        )
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        stream_messages(&stack.platform.nats, "CREDENTIALS").await,
        before,
        "no login was attempted"
    );
    assert!(!form.hidden("csrf").is_empty());
    let signout = browser.post("/signout", &[("csrf", "")]).await;
    assert_eq!(signout.status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_lands_on_the_home_page_and_sign_out_ends_the_session() {
    let stack = stack().await;
    let mut browser = Browser::new(&stack.portal);
    let wrong = browser.sign_in(ADMIN_EMAIL, "not-the-password").await;
    assert_eq!(wrong.status, 422);
    assert!(
        wrong
            .body
            .contains("E-postadressen eller lösenordet är fel"),
        "{}",
        wrong.body
    );
    let signed = browser.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    // The page asked for, and the one failed attempt said once there.
    assert_eq!(
        (signed.status, signed.location()),
        (303, "/?failed_before=1"),
        "{}",
        signed.body
    );
    let warned = browser.get(signed.location()).await;
    assert!(
        warned.body.contains("utan att lyckas en gång"),
        "{}",
        warned.body
    );
    let home = browser.get("/").await;
    assert_eq!(home.status, 200, "{}", home.body);
    assert!(
        home.body.contains("Välkommen, Administrator"),
        "{}",
        home.body
    );
    assert!(!home.body.contains("utan att lyckas"));
    assert_eq!(home.headers["cache-control"], "no-store");

    // A tampered session cookie reads as none.
    let mut forger = browser.clone();
    let session = forger
        .cookies
        .get_mut("tillit_session")
        .expect("a session cookie");
    let flipped = if session.ends_with('A') { 'B' } else { 'A' };
    session.pop();
    session.push(flipped);
    assert_eq!(forger.get("/").await.status, 303);

    // Sign-out ends the session at identity: the old cookie, replayed, opens nothing.
    let kept = browser.clone();
    let csrf = home.hidden("csrf");
    let out = browser.post("/signout", &[("csrf", &csrf)]).await;
    assert_eq!((out.status, out.location()), (303, "/signin"));
    assert!(!browser.cookies.contains_key("tillit_session"));
    // Every service refuses the session's tokens once its identity view has applied the
    // logout: milliseconds.
    let refused = tillit_testkit::eventually(std::time::Duration::from_secs(5), || {
        let mut replay = kept.clone();
        async move { replay.get("/").await.status == 303 }
    })
    .await;
    assert!(refused, "a signed-out session is refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_user_chooses_a_password_before_anything_else_and_input_is_shown_as_text() {
    let stack = stack().await;
    new_employee(&stack).await;
    let mut browser = Browser::new(&stack.portal);
    browser.language = Some("en".into());
    let forced = browser
        .sign_in("nora.ny@tillit.test", "temporary-password-1")
        .await;
    assert_eq!(forced.status, 200);
    assert!(
        forced.body.contains("Choose a new password"),
        "{}",
        forced.body
    );
    let csrf = forced.hidden("csrf");
    let mismatch = browser
        .post(
            "/password",
            &[
                ("email", "nora.ny@tillit.test"),
                ("current", "temporary-password-1"),
                ("new", "a-long-new-password-1"),
                ("repeat", "a-long-new-password-2"),
                ("csrf", &csrf),
                ("next", "/"),
            ],
        )
        .await;
    assert_eq!(mismatch.status, 422);
    assert!(mismatch.body.contains("The two new passwords differ"));
    let changed = browser
        .post(
            "/password",
            &[
                ("email", "nora.ny@tillit.test"),
                ("current", "temporary-password-1"),
                ("new", "a-long-new-password-1"),
                ("repeat", "a-long-new-password-1"),
                ("csrf", &csrf),
                ("next", "/"),
            ],
        )
        .await;
    assert_eq!(
        (changed.status, changed.location()),
        (303, "/"),
        "{}",
        changed.body
    );
    assert!(browser.get("/").await.body.contains("Welcome, Nora Ny"));

    // What a user typed comes back as text, never as markup.
    let mut other = Browser::new(&stack.portal);
    let hostile = "\"><script>alert(1)</script>@x";
    let form = other.get("/signin").await;
    let echoed = other
        .post(
            "/signin",
            &[
                ("email", hostile),
                ("password", "x"),
                ("csrf", &form.hidden("csrf")),
            ],
        )
        .await;
    assert!(!echoed.body.contains("<script>alert(1)"), "{}", echoed.body);
    assert!(
        echoed.body.contains("&lt;script&gt;") || echoed.body.contains("&quot;&gt;&lt;script"),
        "{}",
        echoed.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_employee_reports_a_deviation_sees_it_at_once_and_a_customer_sees_nothing_of_it() {
    let stack = stack().await;
    let employee = "erik@tillit.test";
    let mut browser = Browser::new(&stack.portal);
    browser.language = Some("en".into());
    let signed = browser
        .sign_in(employee, &tillit_testkit::harness::user_password(employee))
        .await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    let home = browser.get("/").await;
    assert!(
        home.body.contains("href=\"/report\""),
        "the menu offers reporting"
    );

    let form = browser.get("/report").await;
    assert_eq!(form.status, 200);
    let csrf = form.hidden("csrf");
    // A refusal shows next to its field and keeps what was typed.
    let missing = browser
        .post(
            "/report",
            &[
                ("kind", "deviation"),
                ("title", ""),
                ("description", "Kept text"),
                ("csrf", &csrf),
            ],
        )
        .await;
    missing.assert_refused_at("title");
    assert!(missing.body.contains("Kept text"));
    let before = stream_messages(&stack.platform.nats, "INCIDENTS").await;
    let bad_time = browser
        .post(
            "/report",
            &[
                ("kind", "deviation"),
                ("title", "T"),
                ("noticed", "soon"),
                ("csrf", &csrf),
            ],
        )
        .await;
    bad_time.assert_refused_at("noticed");
    assert_eq!(
        stream_messages(&stack.platform.nats, "INCIDENTS").await,
        before
    );

    let title = "Badge reader <b>broken</b> at the side door";
    let sent = browser
        .post(
            "/report",
            &[
                ("kind", "deviation"),
                ("title", title),
                ("description", "The reader accepts any card."),
                ("system", "Door control"),
                ("noticed", "2026-03-30T10:00"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    assert!(
        sent.location().starts_with("/incidents/")
            && sent.location().contains("?done=report&after=INCIDENTS."),
        "{}",
        sent.location()
    );
    // The page it lands on waits for the report: the user sees what they just did.
    let shown = browser.get(sent.location()).await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert!(shown.body.contains("Thank you: your report is registered"));
    assert!(
        shown
            .body
            .contains("Badge reader &lt;b&gt;broken&lt;/b&gt;"),
        "escaped: {}",
        shown.body
    );
    assert!(
        shown.body.contains("Noticed 2026-03-30 10:00 CEST"),
        "{}",
        shown.body
    );
    assert!(shown.body.contains("Door control"));
    let list = browser.get("/incidents").await;
    assert!(
        list.body.contains("Badge reader &lt;b&gt;broken"),
        "{}",
        list.body
    );
    let id = sent
        .location()
        .trim_start_matches("/incidents/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();

    // A customer of acme: no such incident, and not a word of it anywhere.
    let admin = stack.platform._identity.admin_token().await;
    let customer = "carl@acme.example";
    stack
        .platform
        ._identity
        .create_user(&admin, "acme", customer, &["customer"])
        .await;
    let mut outsider = Browser::new(&stack.portal);
    outsider.language = Some("en".into());
    outsider
        .sign_in(customer, &tillit_testkit::harness::user_password(customer))
        .await;
    let theirs = outsider.get(&format!("/incidents/{id}")).await;
    assert_eq!(theirs.status, 404);
    assert!(!theirs.body.contains("Badge reader"));
    let their_list = outsider.get("/incidents").await;
    assert_eq!(their_list.status, 200, "{}", their_list.body);
    assert!(!their_list.body.contains("Badge reader") && !their_list.body.contains("globex"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_security_officer_sees_the_obligations_due_next_with_the_time_left() {
    use tillit_proto::incidents::{
        DataSubjectRisk, IncidentKind, ReportIncidentRequest, TriageAssessment,
        TriageIncidentRequest,
    };
    let stack = stack().await;
    let mut incidents = stack.platform.incidents().await;
    let reported = incidents
        .report_incident(bearer(
            &stack.platform.employee.0,
            ReportIncidentRequest {
                kind: IncidentKind::SecurityIncident.into(),
                title: "Customer list e-mailed to the wrong address".into(),
                description: "Sent to an outside address by mistake.".into(),
                ..Default::default()
            },
        ))
        .await
        .expect("report")
        .into_inner();
    incidents
        .triage_incident(bearer(
            &stack.platform.officer.0,
            TriageIncidentRequest {
                incident_id: reported.incident_id.clone(),
                triage: Some(TriageAssessment {
                    severity: tillit_proto::common::Severity::High.into(),
                    personal_data_breach: true,
                    data_categories: vec!["contact details".into()],
                    approx_data_subjects: 40,
                    risk_to_data_subjects: DataSubjectRisk::Risk.into(),
                    ..Default::default()
                }),
                consistency: reported.consistency,
            },
        ))
        .await
        .expect("triage");

    let officer = "olle@tillit.test";
    let mut browser = Browser::new(&stack.portal);
    browser.language = Some("en".into());
    browser
        .sign_in(officer, &tillit_testkit::harness::user_password(officer))
        .await;
    // The triage was made over gRPC a moment ago: the list follows within milliseconds.
    let mut home = browser.get("/").await;
    for _ in 0..50 {
        if home.body.contains(&reported.incident_id) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        home = browser.get("/").await;
    }
    assert_eq!(home.status, 200, "{}", home.body);
    assert!(home.body.contains("Obligations due next"), "{}", home.body);
    assert!(
        home.body
            .contains(&format!("/incidents/{}", reported.incident_id))
    );
    assert!(
        home.body.contains(" left</strong>"),
        "time left in words: {}",
        home.body
    );

    // An employee has no such section.
    let employee = "erik@tillit.test";
    let mut other = Browser::new(&stack.portal);
    other.language = Some("en".into());
    other
        .sign_in(employee, &tillit_testkit::harness::user_password(employee))
        .await;
    assert!(!other.get("/").await.body.contains("Obligations due next"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_security_officer_triages_a_breach_and_sees_the_obligations_it_brings() {
    use tillit_proto::incidents::{IncidentKind, ReportIncidentRequest};
    let stack = stack().await;
    let reported = stack
        .platform
        .incidents()
        .await
        .report_incident(bearer(
            &stack.platform.employee.0,
            ReportIncidentRequest {
                kind: IncidentKind::SecurityIncident.into(),
                title: "Payroll file on a public share".into(),
                description: "Found by a colleague this morning.".into(),
                ..Default::default()
            },
        ))
        .await
        .expect("report")
        .into_inner();
    let id = reported.incident_id.clone();
    let after = reported
        .consistency
        .unwrap_or_default()
        .positions
        .iter()
        .map(|p| format!("{}.{}", p.stream, p.sequence))
        .collect::<Vec<_>>()
        .join(",");

    let employee = "erik@tillit.test";
    let mut reporter = Browser::new(&stack.portal);
    reporter
        .sign_in(employee, &tillit_testkit::harness::user_password(employee))
        .await;
    let own = reporter
        .get(&format!("/incidents/{id}?after={after}"))
        .await;
    assert_eq!(own.status, 200, "{}", own.body);
    assert!(
        !own.body.contains("/triage#triage\""),
        "no triage form for the reporter"
    );

    let officer = "olle@tillit.test";
    let mut browser = Browser::new(&stack.portal);
    browser.language = Some("en".into());
    browser
        .sign_in(officer, &tillit_testkit::harness::user_password(officer))
        .await;
    let page = browser.get(&format!("/incidents/{id}?after={after}")).await;
    assert!(
        page.body
            .contains(&format!("action=\"/incidents/{id}/triage#triage\"")),
        "{}",
        page.body
    );
    let csrf = page.hidden("csrf");
    let action = format!("/incidents/{id}/triage");

    let before = stream_messages(&stack.platform.nats, "INCIDENTS").await;
    let bad = browser
        .post(
            &action,
            &[
                ("severity", "high"),
                ("personal_data_breach", "on"),
                ("approx_data_subjects", "many"),
                ("csrf", &csrf),
            ],
        )
        .await;
    bad.assert_refused_at("approx_data_subjects");
    assert!(bad.body.contains("value=\"many\""), "what was typed stays");
    assert_eq!(
        stream_messages(&stack.platform.nats, "INCIDENTS").await,
        before
    );

    let saved = browser
        .post(
            &action,
            &[
                ("severity", "high"),
                ("prop_confidentiality", "on"),
                ("personal_data_breach", "on"),
                ("data_categories", "salaries, bank accounts"),
                ("approx_data_subjects", "120"),
                ("risk", "high"),
                ("notes", "Share closed at 09:10."),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert!(
        saved.location().contains("done=triage&after="),
        "{}",
        saved.location()
    );
    let shown = browser.get(saved.location()).await;
    assert!(shown.body.contains("The triage is saved"), "{}", shown.body);
    assert!(shown.body.contains("High"));
    assert!(
        shown.body.contains("Art. 33"),
        "the supervisory authority's obligation: {}",
        shown.body
    );
    assert!(shown.body.contains(" left"), "{}", shown.body);
    assert!(
        shown.body.contains("salaries, bank accounts"),
        "the form shows the saved triage"
    );
}
