//! The platform's logs at debug level through a whole scenario hold no personal data and
//! no secret: no e-mail address in clear, no JWT, no password or client secret.

use tillit_integration_tests::identity::{ADMIN_EMAIL, ADMIN_PASSWORD, bearer};
use tillit_integration_tests::portal::Browser;
use tillit_integration_tests::processes::ProcessPlatform;
use tillit_proto::identity::identity_service_client::IdentityServiceClient;
use tillit_proto::identity::{
    CreateServiceAccountRequest, IssueServiceTokenRequest, LogoutRequest, RefreshRequest, Role,
};
use tillit_testkit::harness::user_password;

use super::{report_in_portal, triage_in_portal};

/// Every e-mail address in `text` whose local part is not masked (`o***@…`).
fn clear_addresses(text: &str) -> Vec<String> {
    let is_local = |c: char| c.is_ascii_alphanumeric() || "._%+-*".contains(c);
    let mut found = Vec::new();
    for (at, _) in text.match_indices('@') {
        let local: String = text[..at]
            .chars()
            .rev()
            .take_while(|c| is_local(*c))
            .collect();
        let domain: String = text[at + 1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-')
            .collect();
        if !local.is_empty() && domain.contains('.') && !local.starts_with("***") {
            found.push(format!(
                "{}@{domain}",
                local.chars().rev().collect::<String>()
            ));
        }
    }
    found
}

/// Every `eyJ…` token of dot-separated base64url segments in `text`.
fn tokens(text: &str) -> Vec<String> {
    text.match_indices("eyJ")
        .filter_map(|(at, _)| {
            let run: String = text[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
                .collect();
            (run.matches('.').count() >= 1 && run.len() > 20).then_some(run)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_logs_of_a_whole_scenario_hold_no_address_token_password_or_secret() {
    let platform = ProcessPlatform::start(&[("RUST_LOG", "debug".to_owned())]).await;
    let officer = "sara.lind@tillit.test";
    let officer_token = platform.staff(officer, &["security_officer"]).await;

    // Sign in through the portal, report and triage an incident naming a person.
    let mut browser = Browser::at(platform.service("portal").grpc);
    browser.language = Some("en".into());
    let landed = browser.sign_in(officer, &user_password(officer)).await;
    assert_eq!(landed.status, 303, "{}", landed.body);
    let path = report_in_portal(
        &mut browser,
        "Phishing mail",
        "Sent to kim.berg@customer.example, who clicked the link.",
    )
    .await;
    triage_in_portal(&mut browser, &path).await;
    let session_cookies: Vec<String> = browser.cookies.values().cloned().collect();
    let home = browser.get("/").await;
    let signout = browser
        .post("/signout", &[("csrf", &home.hidden("csrf"))])
        .await;
    assert_eq!(signout.status, 303, "{}", signout.body);

    // Refresh and log out over gRPC; a service account and its token.
    let mut identity = IdentityServiceClient::new(platform.channel("identity").await);
    let login = tillit_testkit::harness::login_at(
        platform.channel("identity").await,
        officer,
        &user_password(officer),
    )
    .await
    .expect("login");
    let refreshed = identity
        .refresh(RefreshRequest {
            refresh_token: login.refresh_token.clone(),
            consistency: None,
        })
        .await
        .expect("refresh")
        .into_inner();
    identity
        .logout(LogoutRequest {
            refresh_token: refreshed.refresh_token.clone(),
            consistency: None,
        })
        .await
        .expect("logout");
    let admin = platform.admin_token().await;
    let account = identity
        .create_service_account(bearer(
            &admin,
            CreateServiceAccountRequest {
                tenant_id: "internal".into(),
                name: "SIEM export".into(),
                roles: vec![Role::Auditor.into()],
                consistency: None,
            },
        ))
        .await
        .expect("a service account")
        .into_inner();
    let service_token = identity
        .issue_service_token(IssueServiceTokenRequest {
            client_id: account.client_id.clone(),
            client_secret: account.client_secret.clone(),
            consistency: account.consistency.clone(),
        })
        .await
        .expect("a service token")
        .into_inner();
    // A wrong secret too: its failure is logged, the secret is not.
    let _ = identity
        .issue_service_token(IssueServiceTokenRequest {
            client_id: account.client_id.clone(),
            client_secret: "wrong-secret-0123456789".into(),
            consistency: None,
        })
        .await;

    let logs = platform.logs();
    let debug_lines = logs
        .lines()
        .filter(|l| l.contains("\"level\":\"DEBUG\""))
        .count();
    assert!(
        logs.lines().count() > 200 && debug_lines > 50,
        "the capture holds the scenario at debug level ({debug_lines} debug lines)"
    );
    assert!(
        logs.contains("o***@tillit.test")
            || logs.contains("s***@tillit.test")
            || logs.contains("a***@tillit.test"),
        "masked addresses are what the logs show"
    );
    let addresses = clear_addresses(&logs);
    let lines: Vec<&str> = logs
        .lines()
        .filter(|line| addresses.iter().any(|a| line.contains(a.as_str())))
        .take(3)
        .collect();
    assert!(
        addresses.is_empty(),
        "addresses in clear: {addresses:?} in {lines:#?}"
    );
    let tokens = tokens(&logs);
    assert!(tokens.is_empty(), "tokens in the logs: {tokens:?}");
    for (what, secret) in [
        ("the admin's password", ADMIN_PASSWORD.to_owned()),
        ("the officer's password", user_password(officer)),
        ("the temporary password", "temporary-password-1".to_owned()),
        ("the client secret", account.client_secret.clone()),
        (
            "the wrong client secret",
            "wrong-secret-0123456789".to_owned(),
        ),
        ("a refresh token", login.refresh_token.clone()),
        (
            "the refreshed refresh token",
            refreshed.refresh_token.clone(),
        ),
        ("the service token", service_token.access_token.clone()),
        ("the officer's access token", officer_token.clone()),
    ] {
        assert!(!secret.is_empty(), "{what} is known");
        assert!(!logs.contains(&secret), "{what} is in the logs");
    }
    for name in ["kim.berg", ADMIN_EMAIL] {
        assert!(!logs.contains(name), "{name} is in the logs");
    }
    assert!(!session_cookies.is_empty(), "the portal set its cookies");
    for cookie in &session_cookies {
        assert!(!logs.contains(cookie.as_str()), "a cookie is in the logs");
    }
}
