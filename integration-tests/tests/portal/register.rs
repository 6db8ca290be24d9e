//! Putting assets into the register in the portal: one by the form, many by a CSV upload
//! whose answer is per line; changing details, owner and processing; the records of
//! processing that follow from them; what a customer sees.

use tillit_integration_tests::browser::Chrome;
use tillit_integration_tests::platform::stream_messages;
use tillit_integration_tests::portal::Browser;

use super::stack;

const CSV: &str = "tenant,name,kind,owner_email,c,i,a,external_key\n\
                   acme,Mail relay,server,olle@tillit.test,2,3,3,srv-001\n\
                   acme,Broken,server,nobody@tillit.test,2,2,2,\n\
                   globex,Billing,saas,erik@tillit.test,3,3,2,\n\
                   globex,Levels,saas,erik@tillit.test,2,2,7,\n";

/// The row of the import's line `line`.
fn line(body: &str, line: u32) -> String {
    body.split(&format!("<tr id=\"line-{line}\">"))
        .nth(1)
        .and_then(|r| r.split("</tr>").next())
        .unwrap_or_else(|| panic!("no line {line}: {body}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officer_registers_changes_and_imports_and_the_records_follow() {
    let stack = stack().await;
    let platform = &stack.platform;
    let mut olle = Browser::signed_in(&stack.portal, "olle@tillit.test").await;
    let list = olle.get("/assets").await;
    assert!(
        list.body.contains("href=\"/assets/new\"") && list.body.contains("href=\"/assets/import\"")
    );
    let form = olle.get("/assets/new").await;
    assert_eq!(form.status, 200, "{}", form.body);
    let csrf = form.hidden("csrf");
    let register = |name: &'static str, rationale: &'static str| {
        vec![
            ("tenant_id", "acme"),
            ("owner_user_id", platform.employee.1.as_str()),
            ("name", name),
            ("kind", "saas"),
            ("description", "Customer support tickets"),
            ("c", "3"),
            ("i", "2"),
            ("a", "2"),
            ("rationale", rationale),
            ("csrf", csrf.as_str()),
        ]
    };
    let before = stream_messages(&platform.nats, "ASSETS").await;
    olle.post("/assets/new", &register("", "Tickets name customers"))
        .await
        .assert_refused_at("register-name");
    let mut too_high = register("Helpdesk", "Tickets name customers");
    too_high.retain(|(k, _)| *k != "c");
    too_high.push(("c", "9"));
    olle.post("/assets/new", &too_high)
        .await
        .assert_refused_at("register-c");
    assert_eq!(stream_messages(&platform.nats, "ASSETS").await, before);
    let made = olle
        .post(
            "/assets/new",
            &register("Helpdesk", "Tickets name customers"),
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.body);
    let path = made
        .location()
        .split('?')
        .next()
        .unwrap_or_default()
        .to_owned();
    let page = olle.get(made.location()).await;
    assert!(page.body.contains("<h1>Helpdesk</h1>") && page.body.contains("C3 I2 A2"));

    // Details, owner and the personal data it processes.
    let renamed = olle
        .post(
            &format!("{path}/details"),
            &[
                ("name", "Helpdesk (Zendesk)"),
                ("kind", "saas"),
                ("description", "Tickets"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(renamed.status, 303, "{}", renamed.body);
    let owned = olle
        .post(
            &format!("{path}/owner"),
            &[("owner", &platform.officer.1), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(owned.status, 303, "{}", owned.body);
    let processed = olle
        .post(
            &format!("{path}/processing"),
            &[
                ("categories", "contact details, ticket contents"),
                ("subjects", "customers' staff"),
                ("purpose", "Customer support"),
                ("retention", "2 years after the ticket closes"),
                ("recipients", ""),
                ("sub_processors", "Zendesk Inc"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(processed.status, 303, "{}", processed.body);
    let page = olle.get(processed.location()).await;
    assert!(page.body.contains("The change is saved"));
    assert!(
        page.body.contains("<h1>Helpdesk (Zendesk)</h1>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("contact details, ticket contents"));
    let after = processed
        .location()
        .split("after=")
        .nth(1)
        .unwrap_or_default();
    let records = olle
        .get(&format!("/records?tenant=acme&after={after}"))
        .await;
    assert_eq!(records.status, 200, "{}", records.body);
    assert!(
        records.body.contains("GDPR Art. 30(2)") && records.body.contains("Helpdesk (Zendesk)")
    );
    assert!(records.body.contains("Zendesk Inc") && records.body.contains("DPA-acme-2026"));
    let csv = olle.get("/records/acme/record.csv").await;
    assert!(
        csv.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(csv.body.contains("Helpdesk (Zendesk)"), "{}", csv.body);
    let json: serde_json::Value =
        serde_json::from_str(&olle.get("/records/acme/record.json").await.body).expect("json");
    assert_eq!(json["article"], "GDPR Art. 30(2)");
    let ours = olle.get("/records?tenant=internal").await;
    assert!(ours.body.contains("GDPR Art. 30(1)"));

    // The CSV upload says what became of each line.
    let page = olle.get("/assets/import").await;
    let imported = olle
        .upload(
            "/assets/import",
            &[("csrf", &page.hidden("csrf"))],
            ("csv", "assets.csv", CSV),
        )
        .await;
    assert_eq!(imported.status, 200, "{}", imported.body);
    assert!(
        imported
            .body
            .contains("2 created, 0 already there, 2 refused"),
        "{}",
        imported.body
    );
    assert!(
        line(&imported.body, 2).contains("Created")
            && line(&imported.body, 2).contains("href=\"/assets/")
    );
    assert!(
        line(&imported.body, 3).contains("Refused")
            && line(&imported.body, 3).contains("owner_email")
    );
    assert!(
        line(&imported.body, 5).contains("Refused")
            && line(&imported.body, 5).contains("<code>a</code>")
    );
    let again = olle
        .upload(
            "/assets/import",
            &[("csrf", &page.hidden("csrf"))],
            ("csv", "assets.csv", CSV),
        )
        .await;
    assert!(
        again.body.contains("0 created, 2 already there, 2 refused"),
        "{}",
        again.body
    );
    assert!(line(&again.body, 4).contains("Already there"));
    let empty = olle
        .upload(
            "/assets/import",
            &[("csrf", &page.hidden("csrf"))],
            ("csv", "empty.csv", ""),
        )
        .await;
    empty.assert_refused_at("import-csv");

    // With control gaps only; a customer sees its own records and nothing of the import form.
    let gaps = olle.get("/assets?gaps=on&tenant=acme").await;
    assert!(gaps.body.contains("Helpdesk (Zendesk)"), "{}", gaps.body);
    let mut alice = Browser::signed_in(&stack.portal, "alice@acme.example").await;
    let hers = alice.get("/records").await;
    assert_eq!(hers.status, 200, "{}", hers.body);
    assert!(hers.body.contains("Helpdesk (Zendesk)") && !hers.body.contains("Billing"));
    assert_eq!(alice.get("/records/globex/record.csv").await.status, 404);
    assert_eq!(alice.get("/assets/import").await.status, 403);
    assert_eq!(alice.get("/assets/new").await.status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_csv_import_with_two_bad_lines_shows_them_by_line_in_chromium() {
    let stack = stack().await;
    let file = tempfile::NamedTempFile::with_suffix(".csv").expect("file");
    std::fs::write(file.path(), CSV).expect("write");
    let chrome = Chrome::start(&format!("http://{}", stack.portal.grpc), "en").await;
    chrome.sign_in("olle@tillit.test").await;
    chrome.open("/assets/import").await;
    chrome.check("assets-import").await;
    chrome.attach("#import-csv", file.path()).await;
    chrome
        .click("form[action='/assets/import'] button.primary")
        .await;
    chrome.find("#import-result").await;
    let summary = chrome.text("#import-summary").await;
    assert!(summary.contains("2 refused"), "{summary}");
    assert!(chrome.text("#line-3").await.contains("owner_email"));
    assert!(chrome.text("#line-5").await.contains("Refused"));
    chrome.check("assets-imported").await;
    chrome.open("/assets/new").await;
    chrome.check("asset-register").await;
    chrome
        .visit_checked("/records?tenant=acme", "records-acme")
        .await;
    chrome
        .visit_checked("/records?tenant=internal", "records-internal")
        .await;
    chrome
        .visit_checked("/assets?gaps=on", "assets-with-gaps")
        .await;
}
