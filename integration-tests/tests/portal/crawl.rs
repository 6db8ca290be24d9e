//! The crawl: signed in as each role, follow every link of every page reachable from the
//! home page (sign-out, the language switch and downloads left out, at most a few hundred
//! pages a role). No page may be missing (404), fail (500) or refuse (403) — every link a
//! page shows, the menu's first of all, must open — and no page may lack a translation.

use std::collections::{BTreeSet, VecDeque};

use tillit_integration_tests::identity::{ADMIN_EMAIL, ADMIN_PASSWORD, bearer};
use tillit_integration_tests::platform::{everything, register_asset};
use tillit_integration_tests::portal::{Browser, after};
use tillit_proto::identity::PublishPolicyRequest;
use tillit_proto::incidents::{IncidentKind, ReportIncidentRequest};

use super::{Stack, stack};

/// Most pages visited per role.
const LIMIT: usize = 300;

/// Something of everything: an asset of acme, an incident reported, a policy published.
async fn seed(stack: &Stack) -> String {
    let platform = &stack.platform;
    let admin = platform._identity.admin_token().await;
    let (_, manager, _) = platform
        ._identity
        .create_user(&admin, "internal", "maja@tillit.test", &["manager"])
        .await;
    register_asset(platform, "acme", "Acme CRM").await;
    platform
        .incidents()
        .await
        .report_incident(bearer(
            &platform.employee.0,
            ReportIncidentRequest {
                kind: IncidentKind::Deviation.into(),
                title: "Door left open".into(),
                description: "Back door".into(),
                ..Default::default()
            },
        ))
        .await
        .expect("report");
    platform
        ._identity
        .client()
        .await
        .publish_policy(bearer(
            &manager.access_token,
            PublishPolicyRequest {
                policy_id: "information-security".into(),
                title: "Information security policy".into(),
                text: "# Rules\n\nBe careful.".into(),
                consistency: None,
            },
        ))
        .await
        .expect("policy");
    after(Some(&everything(platform).await))
}

/// The links of a page to follow: this site's paths, not sign-out, the language switch,
/// downloads or the static files.
fn links(body: &str) -> Vec<String> {
    body.split("<a ")
        .skip(1)
        .filter_map(|tag| {
            let tag = tag.split('>').next()?;
            let href = tag.split("href=\"").nth(1)?.split('"').next()?;
            let download = tag.contains(" download");
            let href = href.replace("&amp;", "&");
            let path = href.split('#').next().unwrap_or_default().to_owned();
            let skip = download
                || !path.starts_with('/')
                || path.starts_with("//")
                || path.starts_with("/lang/")
                || path.starts_with("/static/")
                || path.starts_with("/signout")
                || [".csv", ".json", ".html", "/export"]
                    .iter()
                    .any(|end| path.split('?').next().unwrap_or_default().ends_with(end));
            (!skip && !path.is_empty()).then_some(path)
        })
        .collect()
}

/// Crawls as `browser`; answers how many pages it opened, and every problem found.
async fn crawl(browser: &mut Browser, start: &str) -> (usize, Vec<String>) {
    let mut seen = BTreeSet::new();
    let mut queue = VecDeque::from([(start.to_owned(), "(start)".to_owned())]);
    let mut problems = Vec::new();
    let mut visited = 0;
    while let Some((path, from)) = queue.pop_front() {
        if visited >= LIMIT || !seen.insert(path.clone()) {
            continue;
        }
        visited += 1;
        let mut page = browser.get(&path).await;
        // Follow a redirect once (a list's default filter, a language choice).
        if page.status == 303
            && page.location().starts_with('/')
            && !page.location().starts_with("/signin")
        {
            let target = page.location().to_owned();
            page = browser.get(&target).await;
        }
        if page.status != 200 {
            problems.push(format!(
                "{path} (linked from {from}) answered {}",
                page.status
            ));
            continue;
        }
        if page.body.contains("Unknown localization key") {
            problems.push(format!("{path} misses a translation"));
        }
        for link in links(&page.body) {
            if !seen.contains(&link) {
                queue.push_back((link, path.clone()));
            }
        }
    }
    (visited, problems)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_link_every_role_can_reach_opens_in_both_languages() {
    let stack = stack().await;
    let seen = seed(&stack).await;
    let start = format!("/?after={seen}");
    let mut report = Vec::new();
    let mut problems = Vec::new();
    for (role, email) in [
        ("admin", ADMIN_EMAIL),
        ("security officer", "olle@tillit.test"),
        ("manager", "maja@tillit.test"),
        ("employee", "erik@tillit.test"),
        ("auditor", "ada@tillit.test"),
        ("customer", "alice@acme.example"),
    ] {
        for language in ["en", "sv"] {
            let mut browser = Browser::new(&stack.portal);
            browser.language = Some(language.into());
            let password = if email == ADMIN_EMAIL {
                ADMIN_PASSWORD.to_owned()
            } else {
                tillit_testkit::harness::user_password(email)
            };
            let landed = browser.sign_in(email, &password).await;
            assert_eq!(landed.status, 303, "{email} signs in");
            let (pages, found) = crawl(&mut browser, &start).await;
            report.push(format!("{role} ({language}): {pages} pages"));
            problems.extend(
                found
                    .into_iter()
                    .map(|p| format!("{role} ({language}): {p}")),
            );
            assert!(pages > 3, "{role} reached only {pages} pages");
        }
    }
    let summary = report.join("\n");
    println!("{summary}");
    let out = tillit_integration_tests::browser::screenshot_dir().join("crawl.txt");
    let _ = std::fs::write(out, format!("{summary}\n"));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
