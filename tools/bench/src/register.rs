//! (h) The portal's asset list and audit search at scale: 10 000 assets (imported as CSV,
//! 1 000 rows a file) and 100 000 audit entries (the imports, then evidence recorded on
//! those assets by 16 clients at once), at one signed-in client over HTTP on localhost.
//! Each row is the median of the page against the median of the gRPC call it makes
//! (`ListAssets` of 50, `QueryAudit` of 100) on the same services.

use std::time::{Duration, Instant};

use tillit_integration_tests::identity::bearer;
use tillit_integration_tests::platform::{Platform, everything};
use tillit_integration_tests::portal::{Browser, after, start_portal};
use tillit_proto::assets::record_evidence_request::Evidence;
use tillit_proto::assets::{
    ImportAssetsRequest, ListAssetsRequest, MonitoringSet, RecordEvidenceRequest,
};
use tillit_proto::common::PageRequest;
use tillit_proto::reporting::reporting_service_client::ReportingServiceClient;
use tillit_proto::reporting::{AuditFilter, QueryAuditRequest};

use crate::{CONCURRENCY, Row};

const ASSETS: usize = 10_000;
const ENTRIES: usize = 100_000;
const SAMPLES: usize = 100;

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
    let officer = platform.officer.0.clone();
    let mut assets = platform.assets().await;
    let tenants = ["acme", "globex", "internal"];
    for file in 0..ASSETS / 1_000 {
        let mut csv = String::from("tenant,name,kind,owner_email,c,i,a,external_key\n");
        for row in 0..1_000 {
            let n = file * 1_000 + row;
            csv.push_str(&format!(
                "{},Bench asset {n:05},server,olle@tillit.test,{},{},{},bench-{n}\n",
                tenants[n % 3],
                1 + n % 4,
                1 + (n / 4) % 4,
                1 + (n / 16) % 4
            ));
        }
        let imported = assets
            .import_assets(bearer(
                &officer,
                ImportAssetsRequest {
                    csv,
                    consistency: None,
                },
            ))
            .await?
            .into_inner();
        assert_eq!(imported.created, 1_000, "{:?}", imported.errors.first());
    }
    // Every asset's id, then evidence on them until the log holds 100 000 commits.
    let mut ids = Vec::with_capacity(ASSETS);
    let mut token = String::new();
    loop {
        let page = assets
            .list_assets(bearer(
                &officer,
                ListAssetsRequest {
                    page: Some(PageRequest {
                        page_size: 500,
                        page_token: token.clone(),
                    }),
                    ..Default::default()
                },
            ))
            .await?
            .into_inner();
        ids.extend(page.assets.into_iter().map(|a| a.asset_id));
        token = page.page.map(|p| p.next_page_token).unwrap_or_default();
        if token.is_empty() {
            break;
        }
    }
    let written: u64 = everything(&platform)
        .await
        .positions
        .iter()
        .map(|p| p.sequence)
        .sum();
    let remaining = ENTRIES.saturating_sub(usize::try_from(written).unwrap_or(0));
    let mut workers = Vec::new();
    for worker in 0..CONCURRENCY {
        let mut client = assets.clone();
        let officer = officer.clone();
        let ids = ids.clone();
        workers.push(tokio::spawn(async move {
            let mut n = worker;
            while n < remaining {
                let request = RecordEvidenceRequest {
                    asset_id: ids[n % ids.len()].clone(),
                    evidence: Some(Evidence::Monitoring(MonitoringSet {
                        enabled: n % 2 == 0,
                        alert_route: format!("pager {n}"),
                    })),
                    consistency: None,
                };
                client
                    .record_evidence(bearer(&officer, request))
                    .await
                    .expect("evidence");
                n += CONCURRENCY;
            }
        }));
    }
    for worker in workers {
        worker.await?;
    }
    let all = everything(&platform).await;
    let entries: u64 = all.positions.iter().map(|p| p.sequence).sum();
    let seen = after(Some(&all));

    let mut browser = Browser::signed_in(&portal, "olle@tillit.test").await;
    let assets_path = format!("/assets?tenant=acme&after={seen}");
    let audit_path = format!("/audit?stream=ASSETS&after={seen}");
    let first = browser.get(&assets_path).await;
    assert_eq!(first.status, 200, "the asset list");
    assert!(first.body.matches("<tr>").count() > 50, "a page of 50");
    let audit = browser.get(&audit_path).await;
    assert_eq!(audit.status, 200, "the audit search");
    assert!(audit.body.matches("<tr>").count() > 100, "a page of 100");

    let mut reports = ReportingServiceClient::new(reporting.0.channel().await);
    let list = || ListAssetsRequest {
        tenant_id: "acme".into(),
        page: Some(PageRequest {
            page_size: 50,
            page_token: String::new(),
        }),
        ..Default::default()
    };
    let query = || QueryAuditRequest {
        filter: Some(AuditFilter {
            stream: "ASSETS".into(),
            ..Default::default()
        }),
        page: Some(PageRequest {
            page_size: 100,
            page_token: String::new(),
        }),
        consistency: None,
    };
    let (mut list_pages, mut list_calls, mut audit_pages, mut audit_calls) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..SAMPLES {
        let started = Instant::now();
        browser.get(&assets_path).await;
        list_pages.push(started.elapsed());
        let started = Instant::now();
        assets.list_assets(bearer(&officer, list())).await?;
        list_calls.push(started.elapsed());
        let started = Instant::now();
        browser.get(&audit_path).await;
        audit_pages.push(started.elapsed());
        let started = Instant::now();
        reports.query_audit(bearer(&officer, query())).await?;
        audit_calls.push(started.elapsed());
    }
    let (list_page, list_call) = (median(list_pages), median(list_calls));
    let (audit_page, audit_call) = (median(audit_pages), median(audit_calls));
    Ok(vec![
        Row {
            label: format!(
                "(h) portal asset list page (first 50 of acme, {ASSETS} assets), median vs its ListAssets call"
            ),
            baseline: ms(list_call),
            measured: ms(list_page),
            ratio: list_page.as_secs_f64() / list_call.as_secs_f64(),
        },
        Row {
            label: format!(
                "(h) portal audit search page (100 of the ASSETS log, {entries} entries in all), median vs its QueryAudit call"
            ),
            baseline: ms(audit_call),
            measured: ms(audit_page),
            ratio: audit_page.as_secs_f64() / audit_call.as_secs_f64(),
        },
    ])
}
