//! tasks, audit query | export, verify, report annual.

use std::io::Write as _;

use clap::{Args, Subcommand, ValueEnum};
use tillit_proto::Vocabulary as _;
use tillit_proto::common::PageRequest;
use tillit_proto::reporting::reporting_service_client::ReportingServiceClient;
use tillit_proto::reporting::{
    AuditFilter, ExportAuditRequest, GetAnnualReportRequest, ListMyTasksRequest, QueryAuditRequest,
    VerifyIntegrityRequest,
};
use tonic::transport::Channel;

use super::{Context, timestamp};
use crate::failure::Failure;
use crate::output;
use crate::session::Service;

async fn client(ctx: &Context) -> Result<ReportingServiceClient<Channel>, Failure> {
    Ok(ReportingServiceClient::new(
        ctx.channel(Service::Reporting).await?,
    ))
}

/// `tillit tasks`.
#[derive(Args)]
pub struct Tasks {
    /// Also those already acknowledged.
    #[arg(long)]
    all: bool,
}

/// The caller's reminders.
pub async fn tasks(ctx: &Context, args: Tasks) -> Result<(), Failure> {
    let reminders = client(ctx)
        .await?
        .list_my_tasks(
            ctx.request(ListMyTasksRequest {
                include_acknowledged: args.all,
                consistency: None,
            })
            .await?,
        )
        .await?
        .into_inner()
        .reminders;
    output::table(
        ctx.json,
        &["reminder_id", "kind", "stage", "due_at", "title"],
        reminders
            .into_iter()
            .map(|r| {
                let (kind, stage) = (r.kind().word(), r.stage().word());
                vec![
                    r.reminder_id,
                    kind.to_owned(),
                    stage.to_owned(),
                    output::time(r.due_at.as_ref()),
                    r.title,
                ]
            })
            .collect(),
    );
    Ok(())
}

/// Audit filters shared by query and export.
#[derive(Args, Clone)]
pub struct Filter {
    /// By this actor (user or service-account id, or "system").
    #[arg(long)]
    actor: Option<String>,
    /// In this tenant's log.
    #[arg(long)]
    tenant: Option<String>,
    /// Of this aggregate.
    #[arg(long)]
    aggregate: Option<String>,
    /// This command, for example tillit.incidents.v1.TriageIncident.
    #[arg(long)]
    command: Option<String>,
    /// IDENTITY, CREDENTIALS, ASSETS, INCIDENTS or REPORTING.
    #[arg(long)]
    stream: Option<String>,
    /// Recorded at or after (RFC 3339).
    #[arg(long)]
    from: Option<String>,
    /// Recorded before (RFC 3339).
    #[arg(long)]
    to: Option<String>,
}

impl Filter {
    fn build(self) -> Result<AuditFilter, Failure> {
        Ok(AuditFilter {
            actor: self.actor.unwrap_or_default(),
            tenant_id: self.tenant.unwrap_or_default(),
            aggregate_id: self.aggregate.unwrap_or_default(),
            command: self.command.unwrap_or_default(),
            stream: self.stream.unwrap_or_default(),
            from: self.from.map(|raw| timestamp("--from", &raw)).transpose()?,
            to: self.to.map(|raw| timestamp("--to", &raw)).transpose()?,
        })
    }
}

/// `tillit audit`.
#[derive(Subcommand)]
pub enum Audit {
    /// Audit entries, newest first.
    #[command(after_help = "Example:\n  tillit audit query --actor 0192… --limit 20")]
    Query {
        #[command(flatten)]
        filter: Filter,
        /// At most this many entries.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// The audit trail as CSV, streamed.
    #[command(after_help = "Example:\n  tillit audit export --csv --tenant acme -o acme-audit.csv")]
    Export {
        #[command(flatten)]
        filter: Filter,
        /// CSV (the only format; the flag states it in scripts).
        #[arg(long)]
        csv: bool,
        /// Write to this file instead of standard output.
        #[arg(short, long)]
        output: Option<std::path::PathBuf>,
    },
}

/// Runs an audit command.
pub async fn audit(ctx: &Context, command: Audit) -> Result<(), Failure> {
    let mut reporting = client(ctx).await?;
    match command {
        Audit::Query { filter, limit } => {
            let filter = filter.build()?;
            let mut entries = Vec::new();
            let mut token = String::new();
            while entries.len() < limit {
                let page = reporting
                    .query_audit(
                        ctx.request(QueryAuditRequest {
                            filter: Some(filter.clone()),
                            page: Some(PageRequest {
                                page_size: u32::try_from((limit - entries.len()).min(500))
                                    .unwrap_or(500),
                                page_token: token,
                            }),
                            consistency: None,
                        })
                        .await?,
                    )
                    .await?
                    .into_inner();
                entries.extend(page.entries);
                token = page.page.unwrap_or_default().next_page_token;
                if token.is_empty() {
                    break;
                }
            }
            output::table(
                ctx.json,
                &[
                    "recorded_at",
                    "actor",
                    "command",
                    "tenant",
                    "aggregate",
                    "position",
                ],
                entries
                    .into_iter()
                    .map(|e| {
                        let position = e.position.unwrap_or_default();
                        vec![
                            output::time(e.recorded_at.as_ref()),
                            e.actor.map(|a| a.subject).unwrap_or_default(),
                            e.command,
                            e.tenant_id,
                            format!("{}/{}", e.aggregate_type, e.aggregate_id),
                            format!("{}:{}", position.stream, position.sequence),
                        ]
                    })
                    .collect(),
            );
            Ok(())
        }
        Audit::Export { filter, output, .. } => {
            let mut stream = reporting
                .export_audit(
                    ctx.request(ExportAuditRequest {
                        filter: Some(filter.build()?),
                        consistency: None,
                    })
                    .await?,
                )
                .await?
                .into_inner();
            let mut sink: Box<dyn std::io::Write> = match &output {
                Some(path) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(path)
                        .map_err(|e| Failure::Usage(format!("{}: {e}", path.display())))?,
                )),
                None => Box::new(std::io::stdout().lock()),
            };
            let mut entries = 0u64;
            while let Some(piece) = stream.message().await? {
                entries += u64::from(piece.entries);
                sink.write_all(&piece.csv)
                    .map_err(|e| Failure::Other(format!("writing: {e}")))?;
            }
            sink.flush()
                .map_err(|e| Failure::Other(format!("writing: {e}")))?;
            if let Some(path) = output {
                eprintln!("{entries} entries written to {}", path.display());
            }
            Ok(())
        }
    }
}

/// `tillit verify`.
#[derive(Args)]
pub struct Verify {
    /// IDENTITY, CREDENTIALS, ASSETS, INCIDENTS or REPORTING.
    stream: String,
    /// Only this aggregate's chain.
    #[arg(long)]
    aggregate: Option<String>,
}

/// Verifies a chain; a broken one is exit code 1.
pub async fn verify(ctx: &Context, args: Verify) -> Result<(), Failure> {
    let verdict = client(ctx)
        .await?
        .verify_integrity(
            ctx.request(VerifyIntegrityRequest {
                stream: args.stream.clone(),
                aggregate_id: args.aggregate.unwrap_or_default(),
                consistency: None,
            })
            .await?,
        )
        .await?
        .into_inner();
    let at = verdict.broken_at.clone().unwrap_or_default();
    output::record(
        ctx.json,
        vec![
            ("ok", verdict.ok.to_string()),
            ("checked", verdict.checked.to_string()),
            (
                "broken_at",
                if verdict.ok {
                    String::new()
                } else {
                    format!("{}:{}", at.stream, at.sequence)
                },
            ),
            ("subject", verdict.broken_subject),
            ("reason", verdict.reason.clone()),
        ],
    );
    if verdict.ok {
        Ok(())
    } else {
        Err(Failure::Other(format!(
            "{} is broken at sequence {}: {}",
            args.stream, at.sequence, verdict.reason
        )))
    }
}

/// Report formats.
#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    /// Canonical JSON.
    Json,
    /// CSV.
    Csv,
    /// A printable HTML page.
    Html,
}

/// `tillit report`.
#[derive(Subcommand)]
pub enum Report {
    /// The annual management-review report of a year.
    #[command(
        after_help = "Example:\n  tillit report annual 2026 --format html -o review-2026.html\n\n\
        The positions it was computed from are printed on standard error; pass them\n\
        with --as-of STREAM:SEQUENCE to get the same report again."
    )]
    Annual {
        /// The year.
        year: i32,
        /// json, csv or html.
        #[arg(long, value_enum, default_value = "json")]
        format: Format,
        /// Write to this file instead of standard output.
        #[arg(short, long)]
        output: Option<std::path::PathBuf>,
        /// A log position, STREAM:SEQUENCE (repeat per stream).
        #[arg(long = "as-of")]
        as_of: Vec<String>,
    },
}

/// Runs a report command.
pub async fn report(ctx: &Context, command: Report) -> Result<(), Failure> {
    let Report::Annual {
        year,
        format,
        output,
        as_of,
    } = command;
    let mut positions = Vec::new();
    for raw in as_of {
        let (stream, sequence) = raw
            .split_once(':')
            .and_then(|(s, n)| Some((s.to_owned(), n.parse().ok()?)))
            .ok_or_else(|| Failure::Usage(format!("--as-of {raw:?}: STREAM:SEQUENCE")))?;
        positions.push(tillit_proto::common::Position { stream, sequence });
    }
    let report = client(ctx)
        .await?
        .get_annual_report(
            ctx.request(GetAnnualReportRequest {
                year,
                as_of: positions,
            })
            .await?,
        )
        .await?
        .into_inner();
    let body = match format {
        Format::Json => report.json,
        Format::Csv => report.csv,
        Format::Html => report.html,
    };
    match &output {
        Some(path) => std::fs::write(path, body)
            .map_err(|e| Failure::Usage(format!("{}: {e}", path.display())))?,
        None => print!("{body}"),
    }
    let stated: Vec<String> = report
        .as_of
        .iter()
        .map(|p| format!("--as-of {}:{}", p.stream, p.sequence))
        .collect();
    eprintln!(
        "report sha256 {}; {}",
        report.report_sha256,
        stated.join(" ")
    );
    Ok(())
}
