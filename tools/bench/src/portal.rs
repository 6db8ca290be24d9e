//! (g) The portal's incident pages with 1 000 incidents in the system, at one signed-in
//! client over HTTP on localhost: the median of the list page (the first 50) and of an
//! incident's page against the median of the gRPC calls those pages make (`ListIncidents`
//! of 50, `GetIncident`) on the same services. The ratio is the portal's own cost: the
//! session check (`WhoAmI`), the other look-ups of the page, rendering and HTTP.

use std::time::{Duration, Instant};

use tillit_integration_tests::identity::bearer;
use tillit_integration_tests::platform::{Platform, register_asset};
use tillit_integration_tests::portal::{Browser, after, start_portal};
use tillit_proto::common::PageRequest;
use tillit_proto::incidents::{
    AssetImpact, GetIncidentRequest, IncidentKind, ListIncidentsRequest, ReportIncidentRequest,
    SecurityProperty, TriageAssessment, TriageIncidentRequest,
};

use crate::Row;

const INCIDENTS: usize = 1_000;
const SAMPLES: usize = 200;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

pub(crate) async fn measure() -> Result<Vec<Row>, Box<dyn std::error::Error>> {
    let platform = Platform::start().await;
    let reporting = platform.reporting(time::Duration::ZERO).await;
    let data = tempfile::tempdir()?;
    let portal = start_portal(&platform, reporting.0.grpc, data.path()).await;
    let (asset, _) = register_asset(&platform, "acme", "Acme CRM").await;
    let mut incidents = platform.incidents().await;
    let employee = platform.employee.0.clone();
    let officer = platform.officer.0.clone();
    let mut last = String::new();
    for n in 0..INCIDENTS {
        last = incidents
            .report_incident(bearer(
                &employee,
                ReportIncidentRequest {
                    kind: IncidentKind::SecurityIncident.into(),
                    title: format!("Benchmark incident {n} with a title of ordinary length"),
                    description: "What happened, when it was noticed, and which system. ".repeat(4),
                    ..Default::default()
                },
            ))
            .await?
            .into_inner()
            .incident_id;
    }
    // The incident page measured is a triaged breach: obligations, a timeline, the forms.
    let triaged = incidents
        .triage_incident(bearer(
            &officer,
            TriageIncidentRequest {
                incident_id: last.clone(),
                triage: Some(TriageAssessment {
                    severity: tillit_proto::common::Severity::High.into(),
                    affected_properties: vec![SecurityProperty::Confidentiality.into()],
                    affected_assets: vec![AssetImpact {
                        asset_id: asset,
                        ..Default::default()
                    }],
                    personal_data_breach: true,
                    risk_to_data_subjects: tillit_proto::incidents::DataSubjectRisk::Risk.into(),
                    ..Default::default()
                }),
                consistency: None,
            },
        ))
        .await?
        .into_inner()
        .consistency;

    let mut browser = Browser::signed_in(&portal, "olle@tillit.test").await;
    let after = after(triaged.as_ref());
    let list_path = format!("/incidents?after={after}");
    let detail_path = format!("/incidents/{last}?after={after}");
    let first = browser.get(&list_path).await;
    assert_eq!(first.status, 200, "the list page");
    assert!(first.body.matches("<tr>").count() > 50, "a page of 50");
    let page = browser.get(&detail_path).await;
    assert_eq!(page.status, 200, "the incident page");
    assert!(page.body.contains("GDPR Art. 33(2)"));

    let list = || ListIncidentsRequest {
        page: Some(PageRequest {
            page_size: 50,
            page_token: String::new(),
        }),
        consistency: triaged.clone(),
        ..Default::default()
    };
    let get = || GetIncidentRequest {
        incident_id: last.clone(),
        consistency: triaged.clone(),
    };
    let (mut list_pages, mut list_calls, mut detail_pages, mut detail_calls) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..SAMPLES {
        let started = Instant::now();
        browser.get(&list_path).await;
        list_pages.push(started.elapsed());
        let started = Instant::now();
        incidents.list_incidents(bearer(&officer, list())).await?;
        list_calls.push(started.elapsed());
        let started = Instant::now();
        browser.get(&detail_path).await;
        detail_pages.push(started.elapsed());
        let started = Instant::now();
        incidents.get_incident(bearer(&officer, get())).await?;
        detail_calls.push(started.elapsed());
    }
    let (list_page, list_call) = (median(list_pages), median(list_calls));
    let (detail_page, detail_call) = (median(detail_pages), median(detail_calls));
    Ok(vec![
        Row {
            label: format!(
                "(g) portal incident list page (first 50 of {INCIDENTS}), median vs its ListIncidents call"
            ),
            baseline: ms(list_call),
            measured: ms(list_page),
            ratio: list_page.as_secs_f64() / list_call.as_secs_f64(),
        },
        Row {
            label: format!(
                "(g) portal incident page (a triaged breach, {INCIDENTS} in the system), median vs its GetIncident call"
            ),
            baseline: ms(detail_call),
            measured: ms(detail_page),
            ratio: detail_page.as_secs_f64() / detail_call.as_secs_f64(),
        },
    ])
}
