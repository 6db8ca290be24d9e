//! (c) The audit export's memory and speed, end to end over gRPC.

use std::time::Instant;

use prost::Message as _;
use tillit_kernel::{BoundedContext, EventStore};
use tillit_proto::common::{ConsistencyToken, PageRequest, Position};
use tillit_proto::reporting::reporting_service_client::ReportingServiceClient;
use tillit_proto::reporting::{AuditFilter, ExportAuditRequest, QueryAuditRequest};
use tillit_testkit::NatsServer;
use tillit_testkit::harness::bearer;
use tonic::transport::Channel;

use crate::{Row, sample_commit, services};

const SIZES: [u64; 2] = [10_000, 50_000];

fn filter() -> Option<AuditFilter> {
    Some(AuditFilter {
        stream: "REPORTING".into(),
        ..Default::default()
    })
}

/// Resident and peak resident memory in KiB.
fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|kib| kib.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Resets the peak to the current resident size (Linux: `5` into clear_refs).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn mib(kib: u64) -> String {
    format!("{:.1} MB", kib as f64 / 1024.0)
}

/// Publishes one-commit aggregates into REPORTING until it holds `total`.
async fn fill(nats: &NatsServer, from: u64, total: u64) -> Result<u64, Box<dyn std::error::Error>> {
    let js = async_nats::jetstream::new(nats.client().await);
    let mut last = 0;
    let mut acks = Vec::with_capacity(1_000);
    for n in from..total {
        let id = format!("e{n}");
        let payload = sample_commit(&id, 1, Vec::new()).encode_to_vec();
        let subject = format!("tillit.reporting.acme.row.{id}");
        acks.push(js.publish(subject, payload.into()).await?);
        if acks.len() == 1_000 {
            for ack in acks.drain(..) {
                last = ack.await?.sequence;
            }
        }
    }
    for ack in acks.drain(..) {
        last = ack.await?.sequence;
    }
    Ok(last)
}

/// Streams the whole export, keeping only a count; answers (entries, bytes).
async fn export(
    client: &mut ReportingServiceClient<Channel>,
    token: &str,
    consistency: ConsistencyToken,
) -> Result<(u64, u64), Box<dyn std::error::Error>> {
    let mut stream = client
        .export_audit(bearer(
            token,
            ExportAuditRequest {
                filter: filter(),
                consistency: Some(consistency),
            },
        ))
        .await?
        .into_inner();
    let (mut entries, mut bytes) = (0, 0);
    while let Some(piece) = stream.message().await? {
        entries += u64::from(piece.entries);
        bytes += piece.csv.len() as u64;
    }
    Ok((entries, bytes))
}

/// Pages through the same entries with QueryAudit, 500 a page; answers the entries.
async fn page_through(
    client: &mut ReportingServiceClient<Channel>,
    token: &str,
    limit: Option<usize>,
    consistency: Option<ConsistencyToken>,
) -> Result<u64, Box<dyn std::error::Error>> {
    let mut page_token = String::new();
    let mut entries = 0;
    loop {
        let page = client
            .query_audit(bearer(
                token,
                QueryAuditRequest {
                    filter: filter(),
                    page: Some(PageRequest {
                        page_size: 500,
                        page_token,
                    }),
                    consistency: consistency.clone(),
                },
            ))
            .await?
            .into_inner();
        entries += page.entries.len() as u64;
        page_token = page.page.unwrap_or_default().next_page_token;
        if page_token.is_empty() || limit.is_some_and(|l| entries >= l as u64) {
            return Ok(entries);
        }
    }
}

pub(crate) async fn measure(
    nats: &NatsServer,
    store: &EventStore,
) -> Result<Vec<Row>, Box<dyn std::error::Error>> {
    let data = tempfile::tempdir()?;
    let identity = services::identity(&nats.url(), data.path(), &[]).await;
    // Reporting is ready once every stream it reads exists; assets and incidents, which
    // own two of them, do not run here.
    for context in [BoundedContext::ASSETS, BoundedContext::INCIDENTS] {
        store.provision(context).await?;
    }
    let reporting = services::reporting(&nats.url(), data.path()).await;
    let admin = identity.admin_token().await;
    let mut client = ReportingServiceClient::new(reporting.channel().await);
    let mut rows = Vec::new();
    let mut published = 0;
    for size in SIZES {
        let last = fill(nats, published, size).await?;
        published = size;
        let consistency = ConsistencyToken {
            positions: vec![Position {
                stream: "REPORTING".into(),
                sequence: last,
            }],
        };
        // Caught up (the first page waits for the token); then one page as the baseline.
        page_through(&mut client, &admin, Some(1), Some(consistency.clone())).await?;
        reset_peak();
        page_through(&mut client, &admin, Some(500), None).await?;
        let (_, page_peak) = memory();

        reset_peak();
        let (before, _) = memory();
        let started = Instant::now();
        let (entries, bytes) = export(&mut client, &admin, consistency).await?;
        let export_rate = entries as f64 / started.elapsed().as_secs_f64();
        let (_, export_peak) = memory();
        rows.push(Row {
            label: format!(
                "(c) audit export memory: CSV of {entries} entries ({:.1} MB), peak resident",
                bytes as f64 / 1e6
            ),
            baseline: format!("one QueryAudit page of 500: {}", mib(page_peak)),
            measured: format!(
                "{} (+{} over the {} before it)",
                mib(export_peak),
                mib(export_peak.saturating_sub(before)),
                mib(before)
            ),
            ratio: export_peak as f64 / page_peak as f64,
        });

        let started = Instant::now();
        let paged = page_through(&mut client, &admin, None, None).await?;
        let page_rate = paged as f64 / started.elapsed().as_secs_f64();
        rows.push(Row {
            label: format!("(c) audit export speed: {entries} entries"),
            baseline: format!("QueryAudit pages of 500: {page_rate:.0} entries/s"),
            measured: format!("ExportAudit CSV: {export_rate:.0} entries/s"),
            ratio: export_rate / page_rate,
        });
    }
    drop(reporting);
    drop(identity);
    Ok(rows)
}
