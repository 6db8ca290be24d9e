//! What an operator sees of a running platform, with every service as its own process:
//! one trace from a portal page through gRPC and NATS to reporting's projection and the
//! reminder's delivery, Prometheus metrics on every admin port, a stop by SIGTERM that
//! loses nothing, logs without personal data or secrets, and the dashboard and alert
//! rules that read the metrics.

mod dashboards;
mod logs;
mod shutdown;
mod traces;

use tillit_integration_tests::portal::{Browser, Page};

/// The incident the portal reported, by its page's path.
pub async fn report_in_portal(browser: &mut Browser, title: &str, description: &str) -> String {
    let form = browser.get("/report").await;
    assert_eq!(form.status, 200, "{}", form.body);
    let reported = browser
        .post(
            "/report",
            &[
                ("kind", "security_incident"),
                ("title", title),
                ("description", description),
                ("csrf", &form.hidden("csrf")),
            ],
        )
        .await;
    assert_eq!(reported.status, 303, "{}", reported.body);
    reported
        .location()
        .split('?')
        .next()
        .expect("a path")
        .to_owned()
}

/// Triages the incident at `path` as a personal-data breach with a risk: the authority's
/// 72 hours begin.
pub async fn triage_in_portal(browser: &mut Browser, path: &str) -> Page {
    let page = browser.get(path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let triaged = browser
        .post(
            &format!("{path}/triage"),
            &[
                ("severity", "high"),
                ("prop_confidentiality", "on"),
                ("personal_data_breach", "on"),
                ("risk", "risk"),
                ("csrf", &page.hidden("csrf")),
            ],
        )
        .await;
    assert_eq!(triaged.status, 303, "{}", triaged.body);
    triaged
}
