//! Administration in the portal: an admin registers a customer and changes its terms,
//! creates a customer user (temporary password shown once) who then signs in and sees
//! only its tenant, manages a user's roles and account, and a service account's secret;
//! nobody else may.

use tillit_integration_tests::browser::Chrome;
use tillit_integration_tests::identity::{ADMIN_EMAIL, ADMIN_PASSWORD};
use tillit_integration_tests::platform::stream_messages;
use tillit_integration_tests::portal::{Browser, Page};
use tillit_testkit::harness::Service;

use super::stack;

/// The admin, signed in, in English.
async fn admin(portal: &Service) -> Browser {
    let mut browser = Browser::new(portal);
    browser.language = Some("en".into());
    let landed = browser.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(landed.status, 303, "{}", landed.body);
    browser
}

/// The text of the element with id `id`.
fn text_of(page: &Page, id: &str) -> String {
    page.body
        .split_once(&format!("id=\"{id}\">"))
        .and_then(|(_, rest)| rest.split_once('<'))
        .map(|(text, _)| text.to_owned())
        .unwrap_or_else(|| panic!("no #{id}: {}", page.body))
}

/// The value of the input named `name`.
fn value_of(page: &Page, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    page.body
        .split_once(&marker)
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(v, _)| v.to_owned())
        .unwrap_or_default()
}

fn initech<'a>(org: &'a str, hours: &'a str, csrf: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("tenant_id", "initech"),
        ("name", "Initech AB"),
        ("organisation_number", org),
        ("contact0-name", "Bill Lumbergh"),
        ("contact0-email", "ops@initech.example"),
        ("contact0-phone", "+46 8 555 12"),
        ("breach_hours", hours),
        ("outage_hours", "24"),
        ("dpa_reference", "DPA-INI-1"),
        ("processing", "hosting, backup"),
        ("security_measures", "Encrypted backups"),
        ("transfers", ""),
        ("csrf", csrf),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_registers_a_customer_and_its_user_who_sees_only_its_own() {
    let stack = stack().await;
    let platform = &stack.platform;
    let mut ada = admin(&stack.portal).await;
    let home = ada.get("/").await;
    assert!(home.body.contains("href=\"/admin/users\""), "{}", home.body);
    let tenants = ada.get("/admin/tenants").await;
    assert_eq!(tenants.status, 200, "{}", tenants.body);
    let csrf = tenants.hidden("csrf");

    // Refused at their fields, nothing written.
    let before = stream_messages(&platform.nats, "IDENTITY").await;
    let bad = ada
        .post("/admin/tenants", &initech("123", "12", &csrf))
        .await;
    bad.assert_refused_at("tenant-organisation_number");
    assert!(bad.body.contains("Bill Lumbergh"), "what was typed stays");
    let mut nobody = initech("556036-0793", "12", &csrf);
    nobody.retain(|(k, _)| !k.starts_with("contact0"));
    ada.post("/admin/tenants", &nobody)
        .await
        .assert_refused_at("tenant-incident_contacts");
    ada.post("/admin/tenants", &initech("556036-0793", "twelve", &csrf))
        .await
        .assert_refused_at("tenant-breach_hours");
    assert_eq!(stream_messages(&platform.nats, "IDENTITY").await, before);

    let created = ada
        .post("/admin/tenants", &initech("556036-0793", "12", &csrf))
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    let page = ada.get(created.location()).await;
    assert!(page.body.contains("The customer's details are saved"));
    assert_eq!(value_of(&page, "breach_hours"), "12");
    let contact = value_of(&page, "contact0-id");
    assert!(!contact.is_empty(), "{}", page.body);

    // New terms: kept as a change, the contact the same data subject.
    let mut changed = initech("556036-0793", "6", &csrf);
    changed.push(("contact0-id", &contact));
    let saved = ada.post("/admin/tenants/initech", &changed).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let page = ada.get(saved.location()).await;
    assert_eq!(value_of(&page, "breach_hours"), "6");
    assert_eq!(value_of(&page, "contact0-id"), contact);
    assert!(page.body.contains("href=\"/audit?aggregate=initech\""));

    // A customer user, its temporary password shown once.
    let users = ada.get("/admin/users").await;
    let made = ada
        .post(
            "/admin/users",
            &[
                ("tenant_id", "initech"),
                ("email", "peter@initech.example"),
                ("display_name", "Peter Gibbons"),
                ("role-customer", "on"),
                ("csrf", &users.hidden("csrf")),
            ],
        )
        .await;
    assert_eq!(made.status, 200, "{}", made.body);
    let password = text_of(&made, "password");
    assert_eq!(password.len(), 23, "{password}");
    let again = ada.get("/admin/users").await;
    assert!(!again.body.contains(&password), "shown once only");
    let taken = ada
        .post(
            "/admin/users",
            &[
                ("tenant_id", "initech"),
                ("email", "peter@initech.example"),
                ("display_name", "Peter again"),
                ("role-customer", "on"),
                ("csrf", &users.hidden("csrf")),
            ],
        )
        .await;
    taken.assert_refused_at("user-email");

    let mut peter = Browser::new(&stack.portal);
    peter.language = Some("en".into());
    let forced = peter.sign_in("peter@initech.example", &password).await;
    assert!(
        forced.body.contains("Choose a new password"),
        "{}",
        forced.body
    );
    let chosen = peter
        .post(
            "/password",
            &[
                ("email", "peter@initech.example"),
                ("current", &password),
                ("new", "initech-password-2026"),
                ("repeat", "initech-password-2026"),
                ("csrf", &forced.hidden("csrf")),
                ("next", "/"),
            ],
        )
        .await;
    assert_eq!(chosen.status, 303, "{}", chosen.body);
    let home = peter.get("/").await;
    assert!(!home.body.contains("/admin/"), "{}", home.body);
    assert!(!home.body.contains("href=\"/audit\""));
    let assets = peter.get("/assets").await;
    assert_eq!(assets.status, 200, "{}", assets.body);
    assert!(
        !assets.body.contains("acme") && !assets.body.contains("globex"),
        "{}",
        assets.body
    );
    assert_eq!(peter.get("/admin/users").await.status, 403);
    assert_eq!(peter.get("/admin/tenants/acme").await.status, 403);

    // The admin manages Peter's account.
    let id = made
        .body
        .split("href=\"/admin/users/")
        .find_map(|rest| {
            let (id, after) = rest.split_once('"')?;
            after.starts_with(">Peter Gibbons<").then(|| id.to_owned())
        })
        .unwrap_or_else(|| panic!("no link to Peter: {}", made.body));
    let user = format!("/admin/users/{id}");
    let page = ada.get(&user).await;
    let csrf = page.hidden("csrf");
    let reset = ada.post(&format!("{user}/reset"), &[("csrf", &csrf)]).await;
    assert_eq!(reset.status, 200, "{}", reset.body);
    assert_ne!(text_of(&reset, "password"), password);
    let unlocked = ada
        .post(&format!("{user}/unlock"), &[("csrf", &csrf)])
        .await;
    assert_eq!(unlocked.status, 303, "{}", unlocked.body);
    let admin_role = ada
        .post(
            &format!("{user}/grant"),
            &[("role", "admin"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(
        admin_role.status, 422,
        "no admin role for a customer: {}",
        admin_role.body
    );
    let deactivated = ada
        .post(&format!("{user}/deactivate"), &[("csrf", &csrf)])
        .await;
    assert_eq!(deactivated.status, 303);
    let page = ada.get(deactivated.location()).await;
    assert!(page.body.contains("Deactivated"), "{}", page.body);
    assert!(
        !page.body.contains(&format!("{user}/deactivate")),
        "nothing left to do"
    );
    assert_eq!(peter.get("/").await.status, 303, "his session is over");

    // Nobody but an admin administers.
    let mut olle = Browser::signed_in(&stack.portal, "olle@tillit.test").await;
    assert!(!olle.get("/").await.body.contains("/admin/"));
    let olle_csrf = olle.get("/").await.hidden("csrf");
    let before = stream_messages(&platform.nats, "IDENTITY").await;
    let forged = olle
        .post(
            "/admin/users",
            &[
                ("tenant_id", "internal"),
                ("email", "mallory@tillit.test"),
                ("display_name", "Mallory"),
                ("role-admin", "on"),
                ("csrf", &olle_csrf),
            ],
        )
        .await;
    assert_eq!(forged.status, 403);
    assert_eq!(stream_messages(&platform.nats, "IDENTITY").await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_accounts_secret_is_shown_once_rotated_and_the_account_deactivated() {
    let stack = stack().await;
    let mut ada = admin(&stack.portal).await;
    let page = ada.get("/admin/service-accounts").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page.hidden("csrf");
    let unnamed = ada
        .post(
            "/admin/service-accounts",
            &[
                ("tenant_id", "acme"),
                ("name", ""),
                ("role", "customer"),
                ("csrf", &csrf),
            ],
        )
        .await;
    unnamed.assert_refused_at("account-name");
    let created = ada
        .post(
            "/admin/service-accounts",
            &[
                ("tenant_id", "acme"),
                ("name", "Acme ticketing"),
                ("role", "customer"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let client = text_of(&created, "client-id");
    let secret = text_of(&created, "secret");
    assert!(
        created.body.contains("data-copy=\"secret\""),
        "a copy button"
    );
    assert!(
        !ada.get("/admin/service-accounts")
            .await
            .body
            .contains(&secret)
    );
    let rotated = ada
        .post(
            &format!("/admin/service-accounts/{client}/rotate"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    assert_ne!(text_of(&rotated, "secret"), secret);
    let off = ada
        .post(
            &format!("/admin/service-accounts/{client}/deactivate"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(off.status, 303);
    let list = ada.get(off.location()).await;
    let row = list
        .body
        .split(&format!("id=\"account-{client}\""))
        .nth(1)
        .and_then(|r| r.split("</tr>").next())
        .unwrap_or_default()
        .to_owned();
    assert!(
        row.contains("Deactivated") && !row.contains("/rotate"),
        "{row}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_makes_a_customer_and_its_user_in_chromium_who_sees_only_its_tenant() {
    let stack = stack().await;
    let chrome = Chrome::start(&format!("http://{}", stack.portal.grpc), "en").await;
    chrome.open("/signin").await;
    chrome.fill("#email", ADMIN_EMAIL).await;
    chrome.fill("#password", ADMIN_PASSWORD).await;
    chrome.click("form button.primary").await;
    chrome.find("header nav").await;
    chrome.click("nav a[href='/admin/users']").await;
    chrome.check("admin-users").await;
    chrome.open("/admin/tenants").await;
    chrome.fill("#tenant-tenant_id", "initech").await;
    chrome.fill("#tenant-name", "Initech AB").await;
    chrome
        .fill("#tenant-organisation_number", "556036-0793")
        .await;
    chrome.fill("#tenant-contact0-name", "Bill Lumbergh").await;
    chrome
        .fill("#tenant-contact0-email", "ops@initech.example")
        .await;
    chrome.fill("#tenant-contact0-phone", "+46 8 555 12").await;
    chrome.fill("#tenant-breach_hours", "12").await;
    chrome.fill("#tenant-outage_hours", "24").await;
    chrome.check("admin-tenants").await;
    chrome
        .click("form[action='/admin/tenants#create'] button.primary")
        .await;
    chrome.find("p.notice").await;
    chrome.check("admin-tenant").await;
    chrome.open("/admin/users").await;
    chrome.choose("#user-tenant_id", "initech").await;
    chrome.fill("#user-email", "peter@initech.example").await;
    chrome.fill("#user-display_name", "Peter Gibbons").await;
    chrome.click("#user-role-employee").await;
    chrome.click("#user-role-customer").await;
    chrome
        .click("form[action='/admin/users#create'] button.primary")
        .await;
    let password = chrome.text("#password").await;
    chrome.check("admin-user-created").await;
    chrome.click("#users a[href^='/admin/users/']").await;
    chrome.find("#roles").await;
    chrome.check("admin-user").await;
    chrome.open("/admin/service-accounts").await;
    chrome.fill("#account-name", "Acme ticketing").await;
    chrome
        .click("form[action='/admin/service-accounts#create'] button.primary")
        .await;
    chrome.find("#secret").await;
    chrome.check("admin-service-account-created").await;
    chrome.sign_out().await;

    chrome.fill("#email", "peter@initech.example").await;
    chrome.fill("#password", &password).await;
    chrome.click("form button.primary").await;
    chrome.find("#new").await;
    chrome.fill("#current", &password).await;
    chrome.fill("#new", "initech-password-2026").await;
    chrome.fill("#repeat", "initech-password-2026").await;
    chrome.click("form button.primary").await;
    chrome.find("header nav").await;
    assert!(!chrome.has("nav a[href^='/admin']").await);
    chrome.check("customer-home").await;
    chrome.visit_checked("/assets", "customer-assets").await;
    assert!(!chrome.source().await.contains("acme"));
}
