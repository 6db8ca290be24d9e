//! Personal data in the portal: a person downloads their own data; a security officer asks
//! for an erasure, a manager confirms it, and the person reads as erased; nobody else
//! handles erasures.

use tillit_integration_tests::browser::Chrome;
use tillit_integration_tests::identity::bearer;
use tillit_integration_tests::platform::stream_messages;
use tillit_integration_tests::portal::Browser;
use tillit_proto::identity::DeactivateUserRequest;

use super::stack;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_downloads_their_data_and_two_people_erase_it() {
    let stack = stack().await;
    let platform = &stack.platform;
    let admin = platform._identity.admin_token().await;
    platform
        ._identity
        .create_user(&admin, "internal", "maja@tillit.test", &["manager"])
        .await;

    let mut erik = Browser::signed_in(&stack.portal, "erik@tillit.test").await;
    let mine = erik.get("/my-data").await;
    assert_eq!(mine.status, 200, "{}", mine.body);
    assert!(mine.body.contains("entries concern you"), "{}", mine.body);
    let file = erik.get("/my-data/export.json").await;
    assert_eq!(file.status, 200);
    assert!(
        file.headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let export: serde_json::Value = serde_json::from_str(&file.body).expect("json");
    assert_eq!(export["subject_id"], platform.employee.1.as_str());
    assert!(
        file.body.contains("erik@tillit.test"),
        "opened: {}",
        file.body
    );
    assert_eq!(
        erik.get("/erasure").await.status,
        403,
        "an employee handles no erasure"
    );

    // The officer asks once the account is deactivated; a reason is required.
    let mut olle = Browser::signed_in(&stack.portal, "olle@tillit.test").await;
    let page = olle.get("/erasure").await;
    assert!(
        page.body
            .contains("No deactivated account waits for erasure"),
        "{}",
        page.body
    );
    let deactivated = platform
        ._identity
        .client()
        .await
        .deactivate_user(bearer(
            &admin,
            DeactivateUserRequest {
                user_id: platform.employee.1.clone(),
                consistency: None,
            },
        ))
        .await
        .expect("deactivate")
        .into_inner();
    let after = tillit_integration_tests::portal::after(deactivated.consistency.as_ref());
    let page = olle.get(&format!("/erasure?after={after}")).await;
    assert!(
        page.body
            .contains(&format!("<option value=\"{}\"", platform.employee.1)),
        "{}",
        page.body
    );
    let csrf = page.hidden("csrf");
    let before = stream_messages(&platform.nats, "IDENTITY").await;
    let unexplained = olle
        .post(
            "/erasure",
            &[
                ("subject_id", &platform.employee.1),
                ("reason", ""),
                ("csrf", &csrf),
            ],
        )
        .await;
    unexplained.assert_refused_at("erasure-reason");
    let nobody = olle
        .post(
            "/erasure",
            &[
                ("subject_id", ""),
                ("contact_id", ""),
                ("reason", "Case 12"),
                ("csrf", &csrf),
            ],
        )
        .await;
    nobody.assert_refused_at("erasure-subject_id");
    assert_eq!(stream_messages(&platform.nats, "IDENTITY").await, before);
    let asked = olle
        .post(
            "/erasure",
            &[
                ("subject_id", &platform.employee.1),
                ("reason", "Case 2026-41"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(asked.status, 303, "{}", asked.body);
    let page = olle.get(asked.location()).await;
    assert!(
        page.body.contains("Awaits a second person"),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("/approve"),
        "the officer does not confirm"
    );

    // The manager confirms; the person reads as erased.
    let mut maja = Browser::signed_in(&stack.portal, "maja@tillit.test").await;
    let page = maja
        .get(&format!(
            "/erasure?{}",
            asked.location().split('?').nth(1).unwrap_or_default()
        ))
        .await;
    let approve = page
        .body
        .split("action=\"/erasure/")
        .nth(1)
        .and_then(|rest| rest.split_once('"'))
        .map(|(path, _)| format!("/erasure/{}", path.split('#').next().unwrap_or_default()))
        .unwrap_or_else(|| panic!("no approve form: {}", page.body));
    let done = maja.post(&approve, &[("csrf", &page.hidden("csrf"))]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let page = maja.get(done.location()).await;
    assert!(page.body.contains("The erasure is done"));
    assert!(
        page.body.contains("Erased; confirmed by you"),
        "{}",
        page.body
    );
    let row = page
        .body
        .split("<tr id=\"erasure-")
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    assert!(
        row.contains("<td>erased<br>"),
        "the person reads as erased: {row}"
    );
    assert!(!page.body.contains("erik@tillit.test"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn my_data_and_the_erasure_page_in_chromium() {
    let stack = stack().await;
    let chrome = Chrome::start(&format!("http://{}", stack.portal.grpc), "sv").await;
    chrome.sign_in("erik@tillit.test").await;
    chrome.click("header a[href='/my-data']").await;
    chrome.find("#held").await;
    chrome.check("my-data-sv").await;
    chrome.sign_out().await;
    chrome.sign_in("olle@tillit.test").await;
    chrome.click("nav a[href='/erasure']").await;
    chrome.find("#request").await;
    chrome.check("erasure-sv").await;
}
