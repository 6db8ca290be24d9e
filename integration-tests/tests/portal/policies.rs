//! Policies in the portal: a manager publishes, an employee acknowledges with one click,
//! coverage shows who is missing; an earlier version stays readable; an auditor reads
//! coverage and writes nothing; a customer sees none of it.

use tillit_integration_tests::browser::Chrome;
use tillit_integration_tests::platform::stream_messages;
use tillit_integration_tests::portal::Browser;

use super::stack;

const TEXT: &str =
    "# Information security\n\nWe keep **customer data** safe.\n\n<script>alert(1)</script>";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_publishes_an_employee_acknowledges_and_coverage_shows_who_is_missing() {
    let stack = stack().await;
    let platform = &stack.platform;
    let admin = platform._identity.admin_token().await;
    platform
        ._identity
        .create_user(&admin, "internal", "maja@tillit.test", &["manager"])
        .await;
    let mut maja = Browser::signed_in(&stack.portal, "maja@tillit.test").await;
    let list = maja.get("/policies").await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(list.body.contains("No policy has been published yet"));
    let csrf = list.hidden("csrf");

    // Refused next to the field, nothing written.
    let before = stream_messages(&platform.nats, "IDENTITY").await;
    let untitled = maja
        .post(
            "/policies",
            &[
                ("policy_id", "information-security"),
                ("title", ""),
                ("text", TEXT),
                ("csrf", &csrf),
            ],
        )
        .await;
    untitled.assert_refused_at("publish-title");
    assert!(
        untitled.body.contains("We keep **customer data** safe."),
        "the text typed stays"
    );
    let badly_named = maja
        .post(
            "/policies",
            &[
                ("policy_id", "Information Security!"),
                ("title", "Information security policy"),
                ("text", TEXT),
                ("csrf", &csrf),
            ],
        )
        .await;
    badly_named.assert_refused_at("publish-policy_id");
    assert_eq!(stream_messages(&platform.nats, "IDENTITY").await, before);

    let published = maja
        .post(
            "/policies",
            &[
                ("policy_id", "information-security"),
                ("title", "Information security policy"),
                ("text", TEXT),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(published.status, 303, "{}", published.body);
    assert!(
        published
            .location()
            .starts_with("/policies/information-security?done=published")
    );
    let page = maja.get(published.location()).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("<strong>customer data</strong>"),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("<script>alert"),
        "HTML in a policy is shown as text: {}",
        page.body
    );
    assert!(
        page.body.contains("id=\"coverage\""),
        "a manager sees coverage"
    );
    assert!(
        page.body.contains("erik@tillit.test"),
        "erik has not acknowledged"
    );

    // Erik reads it, acknowledges with one click, and is covered.
    let mut erik = Browser::signed_in(&stack.portal, "erik@tillit.test").await;
    let home = erik.get("/").await;
    assert!(
        home.body.contains("href=\"/policies\""),
        "the menu offers policies"
    );
    let his = erik.get("/policies").await;
    assert!(his.body.contains("To acknowledge"), "{}", his.body);
    let page = erik.get("/policies/information-security").await;
    assert!(page.body.contains("id=\"acknowledge\""), "{}", page.body);
    assert!(
        !page.body.contains("id=\"coverage\""),
        "an employee sees no coverage"
    );
    assert!(
        !page.body.contains("id=\"publish\""),
        "nor the publish form"
    );
    let acknowledged = erik
        .post(
            "/policies/information-security/acknowledge",
            &[("version", "1"), ("csrf", &page.hidden("csrf"))],
        )
        .await;
    assert_eq!(acknowledged.status, 303, "{}", acknowledged.body);
    let page = erik.get(acknowledged.location()).await;
    assert!(page.body.contains("Your acknowledgement is recorded"));
    assert!(
        page.body.contains("Version 1 acknowledged"),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("id=\"acknowledge\""),
        "nothing left to do"
    );
    let after = acknowledged
        .location()
        .split("after=")
        .nth(1)
        .and_then(|rest| rest.split('#').next())
        .unwrap_or_default()
        .to_owned();
    let coverage = maja
        .get(&format!("/policies/information-security?after={after}"))
        .await;
    let missing = coverage
        .body
        .split("id=\"coverage\"")
        .nth(1)
        .unwrap_or_default();
    assert!(!missing.contains("erik@tillit.test"), "{}", coverage.body);
    assert!(
        missing.contains("olle@tillit.test"),
        "the officer still misses it"
    );

    // Version 2; erik must acknowledge again, and version 1 stays readable.
    let next = maja
        .post(
            "/policies",
            &[
                ("policy_id", "information-security"),
                ("title", "Information security policy"),
                ("text", "# Information security\n\nVersion two."),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(next.status, 303, "{}", next.body);
    let again = maja
        .post(
            "/policies",
            &[
                ("policy_id", "information-security"),
                ("title", "Information security policy"),
                ("text", "# Information security\n\nVersion two."),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(again.status, 422, "the same text twice is no new version");
    assert!(
        again.body.contains("already has this title and text"),
        "{}",
        again.body
    );
    let after = next.location().split("after=").nth(1).unwrap_or_default();
    let his = erik.get(&format!("/policies?after={after}")).await;
    assert!(his.body.contains("To acknowledge"), "{}", his.body);
    let old = erik.get("/policies/information-security?version=1").await;
    assert!(
        old.body.contains("This is an earlier version"),
        "{}",
        old.body
    );
    assert!(old.body.contains("customer data"));
    assert!(
        !old.body.contains("id=\"acknowledge\""),
        "only the current version is acknowledged"
    );
    assert_eq!(
        erik.get("/policies/information-security?version=9")
            .await
            .status,
        404
    );

    // The auditor reads coverage and may publish nothing; a forged POST changes nothing.
    let mut ada = Browser::signed_in(&stack.portal, "ada@tillit.test").await;
    let page = ada.get("/policies/information-security").await;
    assert!(page.body.contains("id=\"coverage\""));
    assert!(
        !page.body.contains("action=\"/policies#publish\""),
        "{}",
        page.body
    );
    let before = stream_messages(&platform.nats, "IDENTITY").await;
    let forged = ada
        .post(
            "/policies",
            &[
                ("policy_id", "information-security"),
                ("title", "Hijacked"),
                ("text", "Nothing applies."),
                ("csrf", &page.hidden("csrf")),
            ],
        )
        .await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    assert_eq!(stream_messages(&platform.nats, "IDENTITY").await, before);

    // A customer has neither the menu entry nor the pages.
    let mut alice = Browser::signed_in(&stack.portal, "alice@acme.example").await;
    assert!(!alice.get("/").await.body.contains("href=\"/policies\""));
    assert_eq!(alice.get("/policies").await.status, 403);
    assert_eq!(
        alice.get("/policies/information-security").await.status,
        403
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_is_published_acknowledged_and_covered_in_chromium() {
    let stack = stack().await;
    let admin = stack.platform._identity.admin_token().await;
    stack
        .platform
        ._identity
        .create_user(&admin, "internal", "maja@tillit.test", &["manager"])
        .await;
    let chrome = Chrome::start(&format!("http://{}", stack.portal.grpc), "en").await;
    chrome.sign_in("maja@tillit.test").await;
    chrome.click("nav a[href='/policies']").await;
    chrome
        .fill("#publish-policy_id", "information-security")
        .await;
    chrome
        .fill("#publish-title", "Information security policy")
        .await;
    chrome
        .fill(
            "#publish-text",
            "# Information security\n\nWe keep **customer data** safe.\n\n- Lock your screen\n- Report deviations at once",
        )
        .await;
    chrome.check("policies-new").await;
    chrome
        .click("form[action='/policies#publish'] button.primary")
        .await;
    chrome.find("p.notice").await;
    assert!(chrome.text("#coverage + p").await.starts_with("0 of"));
    chrome.check("policy-manager").await;
    chrome.sign_out().await;

    chrome.sign_in("erik@tillit.test").await;
    chrome.visit_checked("/policies", "policies-employee").await;
    chrome
        .click("a[href='/policies/information-security']")
        .await;
    chrome.find("#acknowledge").await;
    chrome.check("policy-to-acknowledge").await;
    chrome.screenshot("policy-to-acknowledge-phone", 390).await;
    chrome.click("#acknowledge").await;
    chrome.find("p.notice").await;
    assert!(!chrome.has("#acknowledge").await);
    assert!(
        chrome
            .text("#yours + p")
            .await
            .contains("Version 1 acknowledged")
    );
    chrome.check("policy-acknowledged").await;
    chrome.sign_out().await;

    chrome.sign_in("maja@tillit.test").await;
    chrome.open("/policies/information-security").await;
    let coverage = chrome.text("section[aria-labelledby='coverage']").await;
    assert!(coverage.contains("1 of"), "{coverage}");
    assert!(!coverage.contains("erik@tillit.test"), "{coverage}");
    chrome.check("policy-coverage").await;
}
