//! The asset register in the portal: the owner records a restore test and its gap goes;
//! who sees which asset.

use tillit_integration_tests::browser::Chrome;
use tillit_integration_tests::identity::bearer;
use tillit_integration_tests::platform::{Platform, stream_messages};
use tillit_integration_tests::portal::{Browser, after};
use tillit_proto::assets::{AssetKind, Classification, RegisterAssetRequest};

use tillit_kernel::Clock;

use super::{Stack, stack_on};

/// A platform whose register was set up 100 days ago: the asset's 90-day restore test is
/// overdue today.
async fn stack_with_an_old_asset(name: &str) -> (Stack, String, String) {
    let clock = Clock::offset(-time::Duration::days(100));
    let stack = stack_on(Platform::start_with_clock(clock.clone()).await).await;
    let (id, seen) = own_asset(&stack.platform, name).await;
    clock.advance(time::Duration::days(100));
    (stack, id, seen)
}

/// The employee registers an asset of its own at level 3 (the rules then ask for backups,
/// restore tests, monitoring and more); answers its id and the `after` of its commit.
async fn own_asset(platform: &Platform, name: &str) -> (String, String) {
    let registered = platform
        .assets()
        .await
        .register_asset(bearer(
            &platform.employee.0,
            RegisterAssetRequest {
                tenant_id: "internal".into(),
                name: name.into(),
                kind: AssetKind::Database.into(),
                classification: Some(Classification {
                    confidentiality: 3,
                    integrity: 3,
                    availability: 3,
                }),
                classification_rationale: "Customer contracts and invoices".into(),
                ..Default::default()
            },
        ))
        .await
        .expect("register")
        .into_inner();
    (
        registered.asset.expect("asset").asset_id,
        after(registered.consistency.as_ref()),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_records_a_restore_test_and_the_gap_goes_and_a_customer_sees_none_of_it() {
    let (stack, id, seen) = stack_with_an_old_asset("Invoice database").await;
    let platform = &stack.platform;
    let page_path = format!("/assets/{id}");
    let employee = "erik@tillit.test";
    let mut browser = Browser::signed_in(&stack.portal, employee).await;
    let home = browser.get("/").await;
    assert!(
        home.body.contains("href=\"/assets\""),
        "the menu offers the register"
    );
    let list = browser.get(&format!("/assets?mine=on&after={seen}")).await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(list.body.contains("Invoice database") && list.body.contains("C3 I3 A3"));
    let page = browser.get(&page_path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("id=\"gap-restore-test\""),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("Restore test</strong> — missing"),
        "{}",
        page.body
    );
    let csrf = page.hidden("csrf");
    let action = format!("{page_path}/restore_test");

    let before = stream_messages(&platform.nats, "ASSETS").await;
    let bad = browser
        .post(
            &action,
            &[("at", "last week"), ("success", "on"), ("csrf", &csrf)],
        )
        .await;
    bad.assert_refused_at("restore_test-at");
    assert!(
        bad.body.contains("value=\"last week\""),
        "what was typed stays"
    );
    assert_eq!(stream_messages(&platform.nats, "ASSETS").await, before);
    let future = tillit_portal::pages::local_input(
        time::OffsetDateTime::now_utc().unix_timestamp() + 86_400,
    );
    let ahead = browser
        .post(
            &action,
            &[("at", &future), ("success", "on"), ("csrf", &csrf)],
        )
        .await;
    ahead.assert_refused_at("restore_test-at");
    assert_eq!(stream_messages(&platform.nats, "ASSETS").await, before);

    let now = tillit_portal::pages::local_input(time::OffsetDateTime::now_utc().unix_timestamp());
    let done = browser
        .post(
            &action,
            &[
                ("at", &now),
                ("success", "on"),
                ("note", "Restored to staging, checksums match"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let page = browser.get(done.location()).await;
    assert!(page.body.contains("The evidence is recorded"));
    assert!(
        !page.body.contains("id=\"gap-restore-test\""),
        "the gap is gone: {}",
        page.body
    );
    assert!(page.body.contains("id=\"gap-backup\""), "the others stay");
    assert!(
        page.body.contains("Evidence recorded"),
        "the timeline says it"
    );

    // Another employee's asset is not this one's to see or change; a customer sees none.
    let customer = "alice@acme.example";
    let mut alice = Browser::signed_in(&stack.portal, customer).await;
    assert_eq!(alice.get(&page_path).await.status, 404);
    let theirs = alice.get("/assets").await;
    assert_eq!(theirs.status, 200, "{}", theirs.body);
    assert!(!theirs.body.contains("Invoice database"));
    let alice_csrf = alice.get("/").await.hidden("csrf");
    let forged = alice
        .post(
            &format!("{page_path}/backup_run"),
            &[("at", &now), ("success", "on"), ("csrf", &alice_csrf)],
        )
        .await;
    assert_eq!(forged.status, 404, "{}", forged.body);
    assert_eq!(
        stream_messages(&platform.nats, "ASSETS").await,
        before + 1,
        "only the owner's restore test was written"
    );

    // Monitoring with an alert route closes that gap; a new classification is kept with
    // its rationale; a retired asset takes no more evidence.
    let monitored = browser
        .post(
            &format!("{page_path}/monitoring"),
            &[
                ("enabled", "on"),
                ("alert_route", "ops pager"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(monitored.status, 303, "{}", monitored.body);
    let page = browser.get(monitored.location()).await;
    assert!(
        !page.body.contains("id=\"gap-monitoring\""),
        "{}",
        page.body
    );
    let unexplained = browser
        .post(
            &format!("{page_path}/classify"),
            &[
                ("c", "4"),
                ("i", "3"),
                ("a", "2"),
                ("note", ""),
                ("csrf", &csrf),
            ],
        )
        .await;
    unexplained.assert_refused_at("classify-note");
    let classified = browser
        .post(
            &format!("{page_path}/classify"),
            &[
                ("c", "4"),
                ("i", "3"),
                ("a", "2"),
                ("note", "Holds card numbers now"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(classified.status, 303, "{}", classified.body);
    let page = browser.get(classified.location()).await;
    assert!(page.body.contains("C4 I3 A2") && page.body.contains("Holds card numbers now"));
    assert!(
        page.body.contains("Earlier classifications")
            && page.body.contains("Customer contracts and invoices"),
        "the first classification stays in the history: {}",
        page.body
    );
    let retired = browser
        .post(
            &format!("{page_path}/retire"),
            &[("note", "Replaced by the new ledger"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(retired.status, 303, "{}", retired.body);
    let page = browser.get(retired.location()).await;
    assert!(
        page.body.contains("retired") && !page.body.contains("/restore_test#record"),
        "{}",
        page.body
    );

    // The security officer sees it with its owner's name and every tenant's filter.
    let officer = "olle@tillit.test";
    let mut olle = Browser::signed_in(&stack.portal, officer).await;
    let all = olle.get("/assets?tenant=internal&retired=on").await;
    assert!(all.body.contains("Invoice database"), "{}", all.body);
    assert!(all.body.contains("<option value=\"acme\">acme AB</option>"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_records_a_restore_test_in_chromium() {
    let (stack, id, seen) = stack_with_an_old_asset("Invoice database").await;
    let chrome = Chrome::start(&format!("http://{}", stack.portal.grpc), "en").await;
    chrome.sign_in("erik@tillit.test").await;
    chrome.find("nav a[href='/assets']").await;
    chrome
        .visit_checked(&format!("/assets?after={seen}"), "assets-employee")
        .await;
    chrome.click(&format!("a[href='/assets/{id}']")).await;
    chrome.find("#gap-restore-test").await;
    chrome.check("asset-detail").await;
    chrome.screenshot("asset-detail-phone", 390).await;
    chrome
        .click("section[aria-labelledby='record'] details summary")
        .await;
    chrome
        .fill("#restore_test-note", "Restored to staging, checksums match")
        .await;
    chrome
        .click("form[action*='/restore_test'] button.primary")
        .await;
    chrome.find("p.notice").await;
    assert!(!chrome.has("#gap-restore-test").await, "the gap is gone");
    assert!(chrome.has("#gap-backup").await);
    chrome.check("asset-recorded").await;
}
