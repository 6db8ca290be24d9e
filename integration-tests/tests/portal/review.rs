//! The annual management review in the portal: a manager signs exactly the report shown
//! and the page shows who, when and the hash; the downloads; who else reads it.

use tillit_integration_tests::browser::Chrome;
use tillit_integration_tests::platform::stream_messages;
use tillit_integration_tests::portal::Browser;

use super::{Stack, stack};

/// A manager, Maja.
async fn with_a_manager(stack: &Stack) {
    let admin = stack.platform._identity.admin_token().await;
    stack
        .platform
        ._identity
        .create_user(&admin, "internal", "maja@tillit.test", &["manager"])
        .await;
}

/// The text of the element with id `id` in `body`.
fn text_of(body: &str, id: &str) -> String {
    body.split_once(&format!("id=\"{id}\">"))
        .and_then(|(_, rest)| rest.split_once('<'))
        .map(|(text, _)| text.to_owned())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_signs_the_report_shown_and_the_page_shows_who_when_and_its_hash() {
    let stack = stack().await;
    with_a_manager(&stack).await;
    let platform = &stack.platform;
    let year = time::OffsetDateTime::now_utc().year();
    let mut maja = Browser::signed_in(&stack.portal, "maja@tillit.test").await;
    assert!(maja.get("/").await.body.contains("href=\"/review\""));
    let open = maja.get("/review").await;
    assert_eq!(open.status, 200, "{}", open.body);
    assert!(open.body.contains("Not signed yet"));
    assert!(
        open.body.contains("id=\"section-incidents\""),
        "{}",
        open.body
    );
    let hash = text_of(&open.body, "sign-hash");
    assert_eq!(hash.len(), 64, "{}", open.body);
    let as_of = open.hidden("as_of");
    let csrf = open.hidden("csrf");

    for (file, kind) in [
        ("json", "application/json"),
        ("csv", "text/csv"),
        ("html", "text/html"),
    ] {
        let download = maja.get(&format!("/review/{year}/report.{file}")).await;
        assert_eq!(download.status, 200, "{file}: {}", download.body);
        let header = |name: &str| download.headers[name].to_str().unwrap().to_owned();
        assert!(header("content-type").starts_with(kind), "{file}");
        assert!(header("content-disposition").starts_with("attachment"));
    }
    assert_eq!(
        maja.get(&format!("/review/{year}/report.exe")).await.status,
        404
    );
    assert_eq!(maja.get("/review?year=1999").await.status, 404);

    // Without conclusions it is refused there, and nothing is written.
    let before = stream_messages(&platform.nats, "REPORTING").await;
    let empty = maja
        .post(
            &format!("/review/{year}/sign"),
            &[
                ("summary", ""),
                ("decisions", ""),
                ("as_of", &as_of),
                ("csrf", &csrf),
            ],
        )
        .await;
    empty.assert_refused_at("sign-summary");
    assert_eq!(stream_messages(&platform.nats, "REPORTING").await, before);

    let signed = maja
        .post(
            &format!("/review/{year}/sign"),
            &[
                (
                    "summary",
                    "The ISMS works; incident handling met every deadline.",
                ),
                (
                    "decisions",
                    "Run a restore drill each quarter\r\n\r\nTrain new staff within a month",
                ),
                ("as_of", &as_of),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    let page = maja.get(signed.location()).await;
    assert!(page.body.contains("The review is signed"));
    assert_eq!(
        text_of(&page.body, "signed-hash"),
        hash,
        "the hash signed is the one shown"
    );
    assert!(page.body.contains("Signed by maja"), "{}", page.body);
    assert!(page.body.contains("it is unchanged"));
    assert!(
        page.body
            .contains("<li>Train new staff within a month</li>")
    );
    assert!(
        !page.body.contains("id=\"sign-hash\""),
        "no second signature offered"
    );
    let again = maja
        .post(
            &format!("/review/{year}/sign"),
            &[("summary", "Again"), ("as_of", &as_of), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(again.status, 422, "{}", again.body);
    assert!(again.body.contains("role=\"alert\""));
    assert_eq!(
        stream_messages(&platform.nats, "REPORTING").await,
        before + 1
    );

    // The auditor reads it and signs nothing; an employee has no such page.
    let mut ada = Browser::signed_in(&stack.portal, "ada@tillit.test").await;
    let read = ada.get("/review").await;
    assert_eq!(text_of(&read.body, "signed-hash"), hash);
    let forged = ada
        .post(
            &format!("/review/{year}/sign"),
            &[("summary", "Forged"), ("csrf", &read.hidden("csrf"))],
        )
        .await;
    assert_eq!(forged.status, 403);
    let mut erik = Browser::signed_in(&stack.portal, "erik@tillit.test").await;
    assert!(!erik.get("/").await.body.contains("href=\"/review\""));
    assert_eq!(erik.get("/review").await.status, 403);
    assert_eq!(
        erik.get(&format!("/review/{year}/report.json"))
            .await
            .status,
        403
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_signs_the_annual_review_in_chromium() {
    let stack = stack().await;
    with_a_manager(&stack).await;
    let chrome = Chrome::start(&format!("http://{}", stack.portal.grpc), "sv").await;
    chrome.sign_in("maja@tillit.test").await;
    chrome.click("nav a[href='/review']").await;
    let hash = chrome.text("#sign-hash").await;
    chrome.check("review-open-sv").await;
    chrome
        .fill("#sign-summary", "Ledningssystemet fungerar.")
        .await;
    chrome
        .fill("#sign-decisions", "Återläsningsövning varje kvartal")
        .await;
    chrome.click("form[action*='/sign'] button.primary").await;
    chrome.find("#signed-hash").await;
    assert_eq!(chrome.text("#signed-hash").await, hash);
    chrome.check("review-signed-sv").await;
    let pdf = chrome.pdf("review-signed-sv").await;
    assert!(pdf.starts_with(b"%PDF"), "printed to PDF");
    chrome.screenshot("review-signed-phone", 390).await;
}
