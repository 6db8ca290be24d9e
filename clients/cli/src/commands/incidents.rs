//! incidents report | list | show | triage | notify | close.

use clap::{Args, Subcommand};
use tillit_proto::Vocabulary as _;
use tillit_proto::common::PageRequest;
use tillit_proto::common::Severity;
use tillit_proto::incidents::incidents_service_client::IncidentsServiceClient;
use tillit_proto::incidents::{
    AssetImpact, DataSubjectRisk, GetIncidentRequest, IncidentKind, IncidentStatus,
    IncidentTransition, ListIncidentsRequest, RecordNotificationRequest, ReportIncidentRequest,
    SecurityProperty, TransitionIncidentRequest, TriageAssessment, TriageIncidentRequest,
};

use super::identity::all_pages;
use super::{Context, timestamp, word_value};
use crate::failure::Failure;
use crate::output;
use crate::session::Service;

/// `tillit incidents`.
#[derive(Subcommand)]
pub enum Incidents {
    /// Report a deviation, security incident or improvement proposal.
    #[command(
        after_help = "Example:\n  tillit incidents report --kind deviation \\\n    \
        --title \"Laptop lost\" --description \"On the train to Malmö\""
    )]
    Report(Report),
    /// List incidents, newest first.
    #[command(after_help = "Example:\n  tillit incidents list --status triaged --json")]
    List(List),
    /// Show one incident with its obligations and actions.
    #[command(after_help = "Example:\n  tillit incidents show 0192…")]
    Show {
        /// Incident id.
        id: String,
    },
    /// Triage an incident (security officer).
    #[command(
        after_help = "Example:\n  tillit incidents triage 0192… --severity high \\\n    \
        --property confidentiality --asset 0193… --personal-data \\\n    \
        --data-category \"contact details\" --subjects 120 --records 400 --risk risk"
    )]
    Triage(TriageArgs),
    /// Record a notification or filing that meets an obligation.
    #[command(
        after_help = "Example:\n  tillit incidents notify 0192… --obligation gdpr-33-2:acme \\\n    \
        --channel e-mail --summary \"Mailbox exposed\""
    )]
    Notify(Notify),
    /// Close an incident (needs root cause, lessons learned, actions and obligations done).
    #[command(
        after_help = "Example:\n  tillit incidents close 0192… --note \"Reviewed in the team\""
    )]
    Close {
        /// Incident id.
        id: String,
        /// A note.
        #[arg(long, default_value = "")]
        note: String,
    },
}

/// `tillit incidents report`.
#[derive(Args)]
pub struct Report {
    /// deviation, security_incident or improvement_proposal.
    #[arg(long, default_value = "deviation")]
    kind: String,
    /// A title.
    #[arg(long)]
    title: String,
    /// What happened.
    #[arg(long)]
    description: String,
    /// When you became aware of it (RFC 3339; default now).
    #[arg(long)]
    aware_at: Option<String>,
}

/// `tillit incidents list`.
#[derive(Args)]
pub struct List {
    /// reported, triaged, contained, resolved, closed or rejected.
    #[arg(long)]
    status: Option<String>,
    /// deviation, security_incident or improvement_proposal.
    #[arg(long)]
    kind: Option<String>,
    /// low, medium, high or critical.
    #[arg(long)]
    severity: Option<String>,
}

/// `tillit incidents triage`.
#[derive(Args)]
pub struct TriageArgs {
    /// Incident id.
    id: String,
    /// low, medium, high or critical.
    #[arg(long)]
    severity: String,
    /// availability, integrity, confidentiality or traceability (repeat for several).
    #[arg(long = "property")]
    properties: Vec<String>,
    /// An affected asset's id (repeat for several).
    #[arg(long = "asset")]
    assets: Vec<String>,
    /// A personal-data breach.
    #[arg(long)]
    personal_data: bool,
    /// A category of personal data (repeat for several).
    #[arg(long = "data-category")]
    data_categories: Vec<String>,
    /// Approximate number of data subjects.
    #[arg(long, default_value_t = 0)]
    subjects: u64,
    /// Approximate number of records.
    #[arg(long, default_value_t = 0)]
    records: u64,
    /// Risk to data subjects: unlikely, risk or high.
    #[arg(long, default_value = "")]
    risk: String,
    /// A suspected malicious act.
    #[arg(long)]
    malicious: bool,
    /// Internal notes.
    #[arg(long, default_value = "")]
    notes: String,
}

/// `tillit incidents notify`.
#[derive(Args)]
pub struct Notify {
    /// Incident id.
    id: String,
    /// The obligation met, for example gdpr-33-2:acme.
    #[arg(long, value_name = "ID")]
    obligation: String,
    /// How it was sent, for example "e-mail" or "IMY e-service".
    #[arg(long, value_name = "HOW")]
    channel: String,
    /// When it was sent (RFC 3339; default now).
    #[arg(long)]
    sent_at: Option<String>,
    /// What was said.
    #[arg(long, value_name = "TEXT")]
    summary: String,
    /// The recipient's reference, if any.
    #[arg(long, default_value = "")]
    reference: String,
    /// Why it is late, when it is.
    #[arg(long, default_value = "")]
    delay_reason: String,
}

/// Runs an incidents command.
pub async fn run(ctx: &Context, command: Incidents) -> Result<(), Failure> {
    let mut incidents = IncidentsServiceClient::new(ctx.channel(Service::Incidents).await?);
    match command {
        Incidents::Report(args) => {
            let aware_at = args
                .aware_at
                .as_deref()
                .map(|raw| timestamp("--aware-at", raw))
                .transpose()?;
            let reported = incidents
                .report_incident(
                    ctx.request(ReportIncidentRequest {
                        kind: word_value::<IncidentKind>("--kind", &args.kind)?,
                        title: args.title,
                        description: args.description,
                        detected_at: aware_at,
                        aware_at,
                        consistency: None,
                    })
                    .await?,
                )
                .await?
                .into_inner();
            ctx.session.remember(reported.consistency.as_ref());
            output::record(ctx.json, vec![("incident_id", reported.incident_id)]);
        }
        Incidents::List(args) => {
            let status =
                word_value::<IncidentStatus>("--status", args.status.as_deref().unwrap_or(""))?;
            let kind = word_value::<IncidentKind>("--kind", args.kind.as_deref().unwrap_or(""))?;
            let severity =
                word_value::<Severity>("--severity", args.severity.as_deref().unwrap_or(""))?;
            let found = all_pages!(
                async |page| {
                    let request = ctx
                        .request(ListIncidentsRequest {
                            status,
                            kind,
                            severity,
                            page: Some(page),
                            consistency: ctx.session.seen(),
                            ..Default::default()
                        })
                        .await?;
                    incidents
                        .list_incidents(request)
                        .await
                        .map_err(Failure::from)
                },
                incidents
            );
            output::table(
                ctx.json,
                &[
                    "incident_id",
                    "kind",
                    "status",
                    "severity",
                    "reported_at",
                    "title",
                ],
                found
                    .into_iter()
                    .map(|i| {
                        let (kind, status) = (i.kind().word(), i.status().word());
                        vec![
                            i.incident_id,
                            kind.to_owned(),
                            status.to_owned(),
                            i.triage
                                .map(|t| t.severity().word().to_owned())
                                .unwrap_or_default(),
                            output::time(i.reported_at.as_ref()),
                            i.title,
                        ]
                    })
                    .collect(),
            );
        }
        Incidents::Show { id } => {
            let incident = incidents
                .get_incident(
                    ctx.request(GetIncidentRequest {
                        incident_id: id,
                        consistency: ctx.session.seen(),
                    })
                    .await?,
                )
                .await?
                .into_inner()
                .incident
                .unwrap_or_default();
            let obligations: Vec<String> = incident
                .obligations
                .iter()
                .map(|o| {
                    format!(
                        "{} {} due {}",
                        o.obligation_id,
                        o.status().word(),
                        output::time(o.due_at.as_ref())
                    )
                })
                .collect();
            let actions: Vec<String> = incident
                .actions
                .iter()
                .map(|a| {
                    format!(
                        "{} {} due {}",
                        a.title,
                        a.status().word(),
                        output::time(a.due_at.as_ref())
                    )
                })
                .collect();
            let (kind, status) = (incident.kind().word(), incident.status().word());
            output::record(
                ctx.json,
                vec![
                    ("incident_id", incident.incident_id),
                    ("kind", kind.to_owned()),
                    ("status", status.to_owned()),
                    ("title", incident.title),
                    (
                        "severity",
                        incident
                            .triage
                            .map(|t| t.severity().word().to_owned())
                            .unwrap_or_default(),
                    ),
                    ("reported_at", output::time(incident.reported_at.as_ref())),
                    ("aware_at", output::time(incident.aware_at.as_ref())),
                    ("obligations", obligations.join("; ")),
                    ("actions", actions.join("; ")),
                ],
            );
        }
        Incidents::Triage(args) => {
            let triaged = incidents
                .triage_incident(
                    ctx.request(TriageIncidentRequest {
                        incident_id: args.id,
                        triage: Some(TriageAssessment {
                            severity: word_value::<Severity>("--severity", &args.severity)?,
                            affected_properties: args
                                .properties
                                .iter()
                                .map(|p| word_value::<SecurityProperty>("--property", p))
                                .collect::<Result<_, _>>()?,
                            affected_assets: args
                                .assets
                                .into_iter()
                                .map(|asset_id| AssetImpact {
                                    asset_id,
                                    ..Default::default()
                                })
                                .collect(),
                            personal_data_breach: args.personal_data,
                            data_categories: args.data_categories,
                            approx_data_subjects: args.subjects,
                            approx_records: args.records,
                            risk_to_data_subjects: word_value::<DataSubjectRisk>(
                                "--risk", &args.risk,
                            )?,
                            suspected_malicious: args.malicious,
                            notes: args.notes,
                            ..Default::default()
                        }),
                        consistency: ctx.session.seen(),
                    })
                    .await?,
                )
                .await?
                .into_inner();
            ctx.session.remember(triaged.consistency.as_ref());
            let customers: Vec<String> = triaged
                .triage
                .unwrap_or_default()
                .affected_customers
                .into_iter()
                .map(|c| format!("{} ({})", c.tenant_id, c.our_role().word()))
                .collect();
            output::record(ctx.json, vec![("affected_customers", customers.join(", "))]);
        }
        Incidents::Notify(args) => {
            let sent_at = match args.sent_at.as_deref() {
                Some(raw) => timestamp("--sent-at", raw)?,
                None => timestamp(
                    "--sent-at",
                    &time::OffsetDateTime::now_utc()
                        .format(&time::format_description::well_known::Rfc3339)
                        .unwrap_or_default(),
                )?,
            };
            incidents
                .record_notification(
                    ctx.request(RecordNotificationRequest {
                        incident_id: args.id,
                        obligation_id: args.obligation,
                        channel: args.channel,
                        sent_at: Some(sent_at),
                        summary: args.summary,
                        external_reference: args.reference,
                        delay_reason: args.delay_reason,
                        ..Default::default()
                    })
                    .await?,
                )
                .await?;
            output::record(ctx.json, vec![("recorded", "yes".into())]);
        }
        Incidents::Close { id, note } => {
            let closed = incidents
                .transition_incident(
                    ctx.request(TransitionIncidentRequest {
                        incident_id: id,
                        transition: IncidentTransition::Close.into(),
                        note,
                        consistency: None,
                    })
                    .await?,
                )
                .await?
                .into_inner();
            output::record(
                ctx.json,
                vec![("status", closed.status().word().to_owned())],
            );
        }
    }
    Ok(())
}
