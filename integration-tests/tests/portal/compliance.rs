//! Trainings and access reviews in the portal: a manager records a training and the gap
//! closes; a security officer starts a campaign, confirms with one click, revokes with a
//! reason and the role is gone; an auditor reads and decides nothing.

use tillit_integration_tests::browser::Chrome;
use tillit_integration_tests::platform::stream_messages;
use tillit_integration_tests::portal::Browser;

use super::stack;

/// The item id of the campaign row whose text holds `who` and `what`.
fn item_of(body: &str, who: &str, what: &str) -> String {
    body.split("<tr id=\"item-")
        .skip(1)
        .find(|row| {
            let row = row.split("</tr>").next().unwrap_or_default();
            row.contains(who) && row.contains(what)
        })
        .and_then(|row| row.split_once('"'))
        .map(|(id, _)| id.to_owned())
        .unwrap_or_else(|| panic!("no row of {who} as {what}: {body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_records_a_training_and_its_gap_closes() {
    let stack = stack().await;
    let platform = &stack.platform;
    let admin = platform._identity.admin_token().await;
    platform
        ._identity
        .create_user(&admin, "internal", "maja@tillit.test", &["manager"])
        .await;
    let mut maja = Browser::signed_in(&stack.portal, "maja@tillit.test").await;
    let page = maja.get("/trainings").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("No training has been recorded yet"));
    assert!(
        page.body
            .contains("<option value=\"\" selected>Choose the person</option>"),
        "nobody is chosen for the user: {}",
        page.body
    );
    assert!(
        page.body
            .contains(&format!("<option value=\"{}\"", platform.employee.1)),
        "erik can be chosen: {}",
        page.body
    );
    let csrf = page.hidden("csrf");
    let now = tillit_portal::pages::local_input(tillit_portal::now());
    let year = tillit_portal::pages::local_input(tillit_portal::now() + 365 * 86_400);
    let before = stream_messages(&platform.nats, "IDENTITY").await;
    let bad = maja
        .post(
            "/trainings",
            &[
                ("user_id", &platform.employee.1),
                ("course", "security-awareness"),
                ("completed_at", "last spring"),
                ("valid_until", &year),
                ("csrf", &csrf),
            ],
        )
        .await;
    bad.assert_refused_at("training-completed_at");
    let ahead = maja
        .post(
            "/trainings",
            &[
                ("user_id", &platform.employee.1),
                ("course", "security-awareness"),
                ("completed_at", &year),
                ("valid_until", &year),
                ("csrf", &csrf),
            ],
        )
        .await;
    ahead.assert_refused_at("training-completed_at");
    let unnamed = maja
        .post(
            "/trainings",
            &[
                ("user_id", &platform.employee.1),
                ("course", "Security Awareness!"),
                ("completed_at", &now),
                ("valid_until", &year),
                ("csrf", &csrf),
            ],
        )
        .await;
    unnamed.assert_refused_at("training-course");
    assert_eq!(stream_messages(&platform.nats, "IDENTITY").await, before);

    let recorded = maja
        .post(
            "/trainings",
            &[
                ("user_id", &platform.employee.1),
                ("course", "security-awareness"),
                ("completed_at", &now),
                ("valid_until", &year),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(recorded.status, 303, "{}", recorded.body);
    let page = maja.get(recorded.location()).await;
    assert!(page.body.contains("The training is recorded"));
    let gaps = page
        .body
        .split("id=\"training-gaps\"")
        .nth(1)
        .unwrap_or_default();
    assert!(!gaps.contains("erik@tillit.test"), "{}", page.body);
    assert!(
        gaps.contains("olle@tillit.test"),
        "the others still lack it"
    );
    assert!(page.body.contains("1 of"), "{}", page.body);

    let mut erik = Browser::signed_in(&stack.portal, "erik@tillit.test").await;
    assert!(!erik.get("/").await.body.contains("href=\"/trainings\""));
    assert_eq!(erik.get("/trainings").await.status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officer_runs_an_access_review_and_a_revocation_takes_the_role_away() {
    let stack = stack().await;
    let platform = &stack.platform;
    let mut olle = Browser::signed_in(&stack.portal, "olle@tillit.test").await;
    let list = olle.get("/access-reviews").await;
    assert_eq!(list.status, 200, "{}", list.body);
    let csrf = list.hidden("csrf");
    let due = tillit_portal::pages::local_input(tillit_portal::now() + 7 * 86_400);
    let started = olle
        .post(
            "/access-reviews",
            &[("tenant_id", ""), ("due_at", &due), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(started.status, 303, "{}", started.body);
    let campaign = olle.get(started.location()).await;
    assert_eq!(campaign.status, 200, "{}", campaign.body);
    assert!(campaign.body.contains("0 of"), "{}", campaign.body);
    let path = started
        .location()
        .split('?')
        .next()
        .unwrap_or_default()
        .to_owned();
    let eriks = item_of(&campaign.body, "erik@tillit.test", "Employee");
    let adas = item_of(&campaign.body, "ada@tillit.test", "Auditor");
    assert!(
        campaign
            .body
            .contains("Revoking takes the role Employee away from erik@tillit.test at once"),
        "the effect is said before: {}",
        campaign.body
    );

    // A revocation needs its reason; refused, nothing is written.
    let before = stream_messages(&platform.nats, "IDENTITY").await;
    let unexplained = olle
        .post(
            &format!("{path}/decide"),
            &[
                ("item_id", &eriks),
                ("decision", "revoked"),
                ("reason", ""),
                ("csrf", &csrf),
            ],
        )
        .await;
    unexplained.assert_refused_at(&format!("item-{eriks}-reason"));
    assert_eq!(stream_messages(&platform.nats, "IDENTITY").await, before);

    let confirmed = olle
        .post(
            &format!("{path}/decide"),
            &[
                ("item_id", &adas),
                ("decision", "confirmed"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(confirmed.status, 303, "{}", confirmed.body);
    let revoked = olle
        .post(
            &format!("{path}/decide"),
            &[
                ("item_id", &eriks),
                ("decision", "revoked"),
                ("reason", "Left the company"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(revoked.status, 303, "{}", revoked.body);
    let page = olle.get(revoked.location()).await;
    let row = page
        .body
        .split(&format!("<tr id=\"item-{eriks}\""))
        .nth(1)
        .and_then(|r| r.split("</tr>").next())
        .unwrap_or_default()
        .to_owned();
    assert!(row.contains("Revoked"), "{row}");
    assert!(page.body.contains("2 of"), "{}", page.body);
    let undecided = olle.get(&format!("{path}?undecided=on")).await;
    assert!(!undecided.body.contains(&format!("item-{eriks}")));

    // Erik no longer holds the role: reporting is gone from his menu and his pages.
    let mut erik = Browser::signed_in(&stack.portal, "erik@tillit.test").await;
    let home = erik.get("/").await;
    assert!(!home.body.contains("href=\"/report\""), "{}", home.body);
    assert_eq!(erik.get("/report").await.status, 403);

    // The auditor reads the campaign and decides nothing.
    let mut ada = Browser::signed_in(&stack.portal, "ada@tillit.test").await;
    let read = ada.get(&path).await;
    assert_eq!(read.status, 200);
    assert_eq!(
        read.body.matches("method=\"post\"").count(),
        1,
        "sign-out only"
    );
    let before = stream_messages(&platform.nats, "IDENTITY").await;
    let forged = ada
        .post(
            &format!("{path}/decide"),
            &[
                ("item_id", &adas),
                ("decision", "revoked"),
                ("reason", "x"),
                ("csrf", &read.hidden("csrf")),
            ],
        )
        .await;
    assert_eq!(forged.status, 403);
    assert_eq!(stream_messages(&platform.nats, "IDENTITY").await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trainings_and_an_access_review_in_chromium() {
    let stack = stack().await;
    let chrome = Chrome::start(&format!("http://{}", stack.portal.grpc), "en").await;
    chrome.sign_in("olle@tillit.test").await;
    chrome.click("nav a[href='/trainings']").await;
    chrome
        .choose("#training-user_id", &stack.platform.employee.1)
        .await;
    chrome.fill("#training-course", "security-awareness").await;
    chrome.check("trainings").await;
    chrome
        .click("form[action='/trainings#record'] button.primary")
        .await;
    chrome.find("#training-gaps").await;
    chrome.check("training-gaps").await;
    chrome.open("/access-reviews").await;
    chrome.check("access-reviews").await;
    chrome
        .click("form[action='/access-reviews#start'] button.primary")
        .await;
    chrome.find("#items").await;
    chrome.check("access-review").await;
    chrome.click("#items form button.primary").await;
    chrome.find("#items").await;
    chrome.check("access-review-decided").await;
    chrome.screenshot("access-review-phone", 390).await;
}
