//! The gRPC API of reporting.
//!
//! Who may (DOMAIN.md): the audit trail and integrity checks are for admins, security
//! officers and auditors (`ReadAuditTrail`); the dashboard for whoever reads reports or
//! handles incidents (managers, auditors, admins, security officers). Customers and
//! employees get PERMISSION_DENIED. A caller outside `internal` could only ever see its own
//! tenant's entries; no role outside `internal` reads the audit trail today.

use std::pin::Pin;
use std::sync::Arc;

use base64::Engine;
use futures::Stream;
use tillit_api::lookup::Consistency;
use tillit_assets_views::asset::facts;
use tillit_assets_views::register::RegisterReader;
use tillit_auth::Permission;
use tillit_auth::caller::ListScope;
use tillit_auth::layer::caller;
use tillit_identity_views::{ComplianceReader, DirectoryReader, policy_coverage};
use tillit_incidents_views::register::Reader as IncidentReader;
use tillit_kernel::clock::{from_timestamp, to_timestamp};
use tillit_kernel::verify::{ChainVerdict, verify_chain};
use tillit_kernel::{
    AggregateId, CommandRequest, EventStore, ExecuteError, KernelError, ProjectionRunner, Runner,
    Target, TenantId,
};
use tillit_proto::common::{ConsistencyToken, PageResponse};
use tillit_proto::reporting::reporting_service_server::ReportingService;
use tillit_proto::reporting::*;
use tillit_rules::RuleSet;
use tokio::sync::mpsc;
use tonic::{Request, Response, Status};

use crate::annual::review::{ManagementReview, ReviewError, review_id};
use crate::annual::{positions, render, report_as_of};
use crate::audit::{AuditQuery, AuditReader, Cursor, STREAMS, write_csv};
use crate::config::ReportingConfig;
use crate::dashboard::incident_figures;
use crate::reminders::decider::{Reminder, ReminderCommand, ReminderError, reminder_tenant};
use crate::reminders::email::Mailer;
use crate::reminders::projection::RemindersReader;

/// What the handlers share.
pub struct Reporting {
    /// Settings.
    pub config: ReportingConfig,
    /// The event store (integrity checks read the raw log).
    pub store: EventStore,
    /// The projections.
    pub projections: Arc<ProjectionRunner>,
    /// The audit trail.
    pub audit: AuditReader,
    /// Identity's directory (who is staff).
    pub directory: DirectoryReader,
    /// Policies and acknowledgements.
    pub compliance: ComplianceReader,
    /// The asset register.
    pub assets: RegisterReader,
    /// The incident register.
    pub incidents: IncidentReader,
    /// The control rules.
    pub rules: RuleSet,
    /// Issued reminders, deliveries, task lists.
    pub reminders: RemindersReader,
    /// Issues and records reminders.
    pub reminder_runner: Runner<Reminder>,
    /// Posts webhooks.
    pub http: reqwest::Client,
    /// Sends e-mail, when an SMTP server is configured.
    pub mailer: Option<Mailer>,
    /// Management-review sign-offs.
    pub reviews: Runner<ManagementReview>,
}

/// The `ReportingService` implementation.
#[derive(Clone)]
pub struct ReportingApi {
    state: Arc<Reporting>,
}

const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 500;
/// Entries per piece of a CSV export: one read transaction and one message each.
const EXPORT_PIECE: usize = 500;
/// Pieces buffered ahead of a slow reader: memory stays bounded whatever the export's size.
const EXPORT_BUFFER: usize = 2;
const MAX_TEXT: usize = 256;
/// Most decisions one management review records.
const MAX_DECISIONS: usize = 200;

fn text(field: &str, raw: &str) -> Result<Option<String>, KernelError> {
    let value = tillit_text::field::optional_line(raw, MAX_TEXT)
        .map_err(|p| KernelError::invalid(field, p.to_string()))?;
    Ok((!value.is_empty()).then_some(value))
}

fn stream_name(field: &str, raw: &str) -> Result<String, KernelError> {
    STREAMS
        .iter()
        .find(|s| s.eq_ignore_ascii_case(raw.trim()))
        .map(|s| (*s).to_owned())
        .ok_or_else(|| KernelError::invalid(field, format!("one of {}", STREAMS.join(", "))))
}

fn nanos(field: &str, ts: Option<&prost_types::Timestamp>) -> Result<Option<i64>, KernelError> {
    ts.map(|ts| {
        from_timestamp(ts)
            .and_then(|t| i64::try_from(t.unix_timestamp_nanos()).ok())
            .ok_or_else(|| KernelError::invalid(field, "not a valid time"))
    })
    .transpose()
}

/// The filter as a query, confined to what the caller may see; `None` when that is nothing.
fn audit_query(
    filter: Option<&AuditFilter>,
    scope: &ListScope,
) -> Result<Option<AuditQuery>, KernelError> {
    let filter = filter.cloned().unwrap_or_default();
    let tenant = match filter.tenant_id.trim() {
        "" => None,
        raw => Some(TenantId::parse(raw, "filter.tenant_id")?),
    };
    let tenant = match (scope, tenant) {
        (ListScope::Nothing, _) => return Ok(None),
        (ListScope::Tenant(own), Some(asked)) if asked != *own => return Ok(None),
        (ListScope::Tenant(own), _) => Some(own.clone()),
        (ListScope::All, asked) => asked,
    };
    let query = AuditQuery {
        actor: text("filter.actor", &filter.actor)?,
        tenant: tenant.map(|t| t.as_str().to_owned()),
        aggregate: text("filter.aggregate_id", &filter.aggregate_id)?,
        command: text("filter.command", &filter.command)?,
        stream: match filter.stream.trim() {
            "" => None,
            raw => Some(stream_name("filter.stream", raw)?),
        },
        from: nanos("filter.from", filter.from.as_ref())?,
        to: nanos("filter.to", filter.to.as_ref())?,
    };
    if let (Some(from), Some(to)) = (query.from, query.to)
        && to <= from
    {
        return Err(KernelError::invalid(
            "filter.to",
            "must be after filter.from",
        ));
    }
    Ok(Some(query))
}

fn encode_cursor((nanos, stream, sequence): &Cursor) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{nanos}/{stream}/{sequence}"))
}

fn decode_cursor(token: &str) -> Result<Option<Cursor>, KernelError> {
    if token.is_empty() {
        return Ok(None);
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|raw| {
            let mut parts = raw.splitn(3, '/');
            let nanos = parts.next()?.parse().ok()?;
            let stream = parts.next()?;
            let sequence = parts.next()?.parse().ok()?;
            STREAMS
                .contains(&stream)
                .then(|| (nanos, stream.to_owned(), sequence))
        })
        .map(Some)
        .ok_or_else(|| KernelError::invalid("page.page_token", "not a token of this listing"))
}

impl ReportingApi {
    /// The API over the shared state.
    pub fn new(state: Arc<Reporting>) -> Self {
        Self { state }
    }

    /// Waits until this service's projections have applied the request's token.
    async fn wait(&self, token: Option<&ConsistencyToken>) -> Result<(), Status> {
        let timeout = self.state.config.platform.consistency_timeout;
        Ok(Consistency::new(&self.state.projections, timeout)
            .wait(token)
            .await?)
    }

    /// The audit query a request may run: permission, scope and a valid filter.
    fn audit_request<T>(
        request: &Request<T>,
        filter: Option<&AuditFilter>,
    ) -> Result<Option<AuditQuery>, Status> {
        let caller = caller(request)?;
        caller.require(Permission::ReadAuditTrail)?;
        Ok(audit_query(filter, &caller.list_scope(None))?)
    }

    async fn read_page(
        &self,
        query: AuditQuery,
        before: Option<Cursor>,
        limit: usize,
    ) -> Result<Vec<(AuditEntry, Cursor)>, KernelError> {
        let audit = self.state.audit.clone();
        tokio::task::spawn_blocking(move || audit.page(&query, before.as_ref(), limit))
            .await
            .map_err(|e| KernelError::Internal(format!("reading the audit trail: {e}")))?
    }
}

type ExportStream = Pin<Box<dyn Stream<Item = Result<ExportAuditResponse, Status>> + Send>>;

#[tonic::async_trait]
impl ReportingService for ReportingApi {
    async fn query_audit(
        &self,
        request: Request<QueryAuditRequest>,
    ) -> Result<Response<QueryAuditResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let body = request.get_ref();
        let query = Self::audit_request(&request, body.filter.as_ref())?;
        let page = body.page.clone().unwrap_or_default();
        let limit = match page.page_size {
            0 => DEFAULT_PAGE,
            n => usize::try_from(n).unwrap_or(MAX_PAGE).min(MAX_PAGE),
        };
        let before = decode_cursor(&page.page_token)?;
        let Some(query) = query else {
            return Ok(Response::new(QueryAuditResponse {
                entries: Vec::new(),
                page: Some(PageResponse::default()),
            }));
        };
        let found = self.read_page(query, before, limit).await?;
        let next = found
            .last()
            .filter(|_| found.len() == limit)
            .map(|(_, cursor)| encode_cursor(cursor))
            .unwrap_or_default();
        Ok(Response::new(QueryAuditResponse {
            entries: found.into_iter().map(|(entry, _)| entry).collect(),
            page: Some(PageResponse {
                next_page_token: next,
            }),
        }))
    }

    type ExportAuditStream = ExportStream;

    async fn export_audit(
        &self,
        request: Request<ExportAuditRequest>,
    ) -> Result<Response<Self::ExportAuditStream>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let query = Self::audit_request(&request, request.get_ref().filter.as_ref())?;
        let (tx, rx) = mpsc::channel(EXPORT_BUFFER);
        let api = self.clone();
        tokio::spawn(async move {
            let mut before = None;
            let mut header = true;
            loop {
                let found = match &query {
                    Some(query) => {
                        api.read_page(query.clone(), before.take(), EXPORT_PIECE)
                            .await
                    }
                    None => Ok(Vec::new()),
                };
                let piece = found.and_then(|found| {
                    let csv = write_csv(header, found.iter().map(|(entry, _)| entry))?;
                    Ok((csv, found))
                });
                let (csv, found) = match piece {
                    Ok(piece) => piece,
                    Err(e) => {
                        tracing::error!(error = %e, "audit export failed");
                        let _ = tx.send(Err(Status::from(e))).await;
                        return;
                    }
                };
                let last = found.len() < EXPORT_PIECE;
                // A full piece that turned out to be the last leaves nothing to send.
                if found.is_empty() && !header {
                    return;
                }
                header = false;
                before = found.last().map(|(_, cursor)| cursor.clone());
                let message = ExportAuditResponse {
                    csv,
                    entries: u32::try_from(found.len()).unwrap_or(u32::MAX),
                };
                // The reader went away: stop reading.
                if tx.send(Ok(message)).await.is_err() || last {
                    return;
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    async fn verify_integrity(
        &self,
        request: Request<VerifyIntegrityRequest>,
    ) -> Result<Response<VerifyIntegrityResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        caller(&request)?.require(Permission::ReadAuditTrail)?;
        let body = request.get_ref();
        let stream = stream_name("stream", &body.stream)?;
        let subject = match text("aggregate_id", &body.aggregate_id)? {
            None => None,
            Some(id) => Some(
                self.state
                    .audit
                    .subject(&stream, &id)?
                    .ok_or_else(|| Status::not_found("aggregate not found in that stream"))?,
            ),
        };
        let verdict = verify_chain(&self.state.store, &stream, subject.as_deref()).await?;
        Ok(Response::new(match verdict {
            ChainVerdict::Intact { checked } => VerifyIntegrityResponse {
                ok: true,
                checked,
                ..Default::default()
            },
            ChainVerdict::Broken {
                position,
                subject,
                reason,
                checked,
            } => {
                tracing::warn!(stream = %position.stream, sequence = position.sequence, %subject, %reason, "the event log's hash chain is broken");
                VerifyIntegrityResponse {
                    ok: false,
                    checked,
                    broken_at: Some(position),
                    broken_subject: subject,
                    reason,
                }
            }
        }))
    }

    async fn get_dashboard(
        &self,
        request: Request<GetDashboardRequest>,
    ) -> Result<Response<GetDashboardResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        caller.require_any(&[
            Permission::ReadReports,
            Permission::ReadEverything,
            Permission::ManageIncidents,
        ])?;
        if !caller.tenant.is_internal() {
            return Err(Status::permission_denied(
                "the dashboard covers every tenant: staff only",
            ));
        }
        let state = self.state.clone();
        let response = tokio::task::spawn_blocking(move || dashboard(&state))
            .await
            .map_err(|e| Status::internal(format!("computing the dashboard: {e}")))??;
        Ok(Response::new(response))
    }

    async fn list_my_tasks(
        &self,
        request: Request<ListMyTasksRequest>,
    ) -> Result<Response<ListMyTasksResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        let reminders = self
            .state
            .reminders
            .tasks(&caller.subject, request.get_ref().include_acknowledged)?;
        Ok(Response::new(ListMyTasksResponse { reminders }))
    }

    async fn acknowledge_reminder(
        &self,
        request: Request<AcknowledgeReminderRequest>,
    ) -> Result<Response<AcknowledgeReminderResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        let id = AggregateId::parse(&request.get_ref().reminder_id, "reminder_id")?;
        let executed = self
            .state
            .reminder_runner
            .execute(CommandRequest {
                tenant: reminder_tenant(),
                target: Target::Existing(id),
                name: "tillit.reporting.v1.AcknowledgeReminder".into(),
                command: ReminderCommand::Acknowledge {
                    user_id: caller.subject.clone(),
                },
                meta: tillit_auth::command_meta(&request, caller.actor()),
            })
            .await
            .map_err(|e| match e {
                ExecuteError::Domain(ReminderError::NotFound)
                | ExecuteError::Kernel(KernelError::NotFound(_)) => {
                    Status::not_found("reminder not found")
                }
                ExecuteError::Domain(e) => Status::failed_precondition(e.to_string()),
                ExecuteError::Kernel(e) => Status::from(e),
            })?;
        Ok(Response::new(AcknowledgeReminderResponse {
            consistency: Some(executed.consistency()),
        }))
    }

    async fn get_annual_report(
        &self,
        request: Request<GetAnnualReportRequest>,
    ) -> Result<Response<GetAnnualReportResponse>, Status> {
        caller(&request)?.require_any(&REPORT_READERS)?;
        let body = request.get_ref();
        let year = report_year(&self.state, body.year)?;
        let as_of = positions(&self.state.store, &body.as_of).await?;
        let report = report_as_of(&self.state.store, &self.state.rules, year, &as_of).await?;
        let json = render::json(&report);
        Ok(Response::new(GetAnnualReportResponse {
            report_sha256: sha256_hex(json.as_bytes()),
            csv: render::csv(&report),
            html: render::html(&report),
            json,
            as_of,
        }))
    }

    async fn sign_off_management_review(
        &self,
        request: Request<SignOffManagementReviewRequest>,
    ) -> Result<Response<SignOffManagementReviewResponse>, Status> {
        let caller = caller(&request)?;
        caller.require(Permission::ManageManagementReview)?;
        let body = request.get_ref();
        let year = report_year(&self.state, body.year)?;
        let summary = body.summary.trim();
        if summary.is_empty() || summary.len() > 20_000 {
            return Err(KernelError::invalid("summary", "1 to 20000 characters").into());
        }
        if body.decisions.len() > MAX_DECISIONS {
            return Err(KernelError::invalid(
                "decisions",
                format!("at most {MAX_DECISIONS} decisions"),
            )
            .into());
        }
        let mut decisions = Vec::new();
        for (index, decision) in body.decisions.iter().enumerate() {
            let decision = decision.trim();
            if decision.is_empty() || decision.len() > 2_000 {
                return Err(KernelError::invalid(
                    &format!("decisions[{index}]"),
                    "1 to 2000 characters",
                )
                .into());
            }
            decisions.push(decision.to_owned());
        }
        let as_of = positions(&self.state.store, &body.as_of).await?;
        let report = report_as_of(&self.state.store, &self.state.rules, year, &as_of).await?;
        let sign_off = ManagementReviewSignedOff {
            year,
            as_of,
            rules_sha256: report.rules_sha256.clone(),
            report_sha256: sha256_hex(render::json(&report).as_bytes()),
            summary: summary.to_owned(),
            decisions,
            signed_by: caller.subject.clone(),
        };
        let executed = self
            .state
            .reviews
            .execute(CommandRequest {
                tenant: TenantId::internal(),
                target: Target::At(review_id(year)),
                name: "tillit.reporting.v1.SignOffManagementReview".into(),
                command: sign_off.clone(),
                meta: tillit_auth::command_meta(&request, caller.actor()),
            })
            .await
            .map_err(|e| match e {
                ExecuteError::Domain(e @ ReviewError::AlreadySignedOff(_)) => {
                    Status::failed_precondition(e.to_string())
                }
                ExecuteError::Kernel(e) => Status::from(e),
            })?;
        Ok(Response::new(SignOffManagementReviewResponse {
            sign_off: Some(sign_off),
            consistency: Some(executed.consistency()),
        }))
    }

    async fn get_management_review(
        &self,
        request: Request<GetManagementReviewRequest>,
    ) -> Result<Response<GetManagementReviewResponse>, Status> {
        caller(&request)?.require_any(&REPORT_READERS)?;
        let year = report_year(&self.state, request.get_ref().year)?;
        let address = self
            .state
            .reviews
            .address(&TenantId::internal(), review_id(year));
        let (signed, history) = self.state.reviews.load(&address).await?;
        let signed = signed.ok_or_else(|| Status::not_found("no sign-off for that year"))?;
        let report =
            report_as_of(&self.state.store, &self.state.rules, year, &signed.as_of).await?;
        let json = render::json(&report);
        Ok(Response::new(GetManagementReviewResponse {
            verified: sha256_hex(json.as_bytes()) == signed.report_sha256,
            signed_at: history.commits.first().and_then(|c| c.commit.recorded_at),
            sign_off: Some(signed),
            json,
        }))
    }
}

/// Who may read annual reports and sign-offs.
const REPORT_READERS: [Permission; 3] = [
    Permission::ReadReports,
    Permission::ReadEverything,
    Permission::ManageManagementReview,
];

/// A year from 2000 up to the current one.
fn report_year(state: &Reporting, year: i32) -> Result<i32, KernelError> {
    let current = state.store.clock().now().year();
    if (2000..=current).contains(&year) {
        Ok(year)
    } else {
        Err(KernelError::invalid("year", format!("2000 to {current}")))
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Every figure, joined now from the projections.
fn dashboard(state: &Reporting) -> Result<GetDashboardResponse, KernelError> {
    let now = state.store.clock().now();
    let incidents = state.incidents.incidents(None, usize::MAX, |_| true)?;
    let figures = incident_figures(incidents.iter().map(|(incident, _)| incident), now);
    let mut control_gaps = 0usize;
    for asset in state
        .assets
        .assets(None, None, usize::MAX, |a| a.retired.is_none())?
    {
        control_gaps += state
            .rules
            .evaluate(&facts(&asset), now)
            .iter()
            .filter(|s| s.is_gap())
            .count();
    }
    let mut policy_coverage = Vec::new();
    for policy in state.compliance.policies()? {
        let standings = policy_coverage_of(&state.directory, &state.compliance, &policy, now)?;
        policy_coverage.push(standings);
    }
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    Ok(GetDashboardResponse {
        computed_at: Some(to_timestamp(now)),
        open_incidents_by_severity: figures.open_by_severity,
        overdue_obligations: figures.overdue_obligations,
        overdue_actions: figures.overdue_actions,
        control_gaps: count(control_gaps),
        policy_coverage,
        incidents_per_month: figures.per_month,
    })
}

fn policy_coverage_of(
    directory: &DirectoryReader,
    compliance: &ComplianceReader,
    policy: &tillit_proto::identity::Policy,
    now: time::OffsetDateTime,
) -> Result<PolicyCoverage, KernelError> {
    let standings = policy_coverage(directory, compliance, policy, None, now)?;
    let covered = standings
        .iter()
        .filter(|(_, s)| s.outstanding_since.is_none())
        .count();
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    Ok(PolicyCoverage {
        policy_id: policy.policy_id.clone(),
        title: policy.title.clone(),
        version: policy.version,
        staff: count(standings.len()),
        covered: count(covered),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_tokens_round_trip_and_foreign_ones_are_refused() {
        let cursor = (1_764_000_000_123_456_789, "INCIDENTS".to_owned(), 42);
        assert_eq!(
            decode_cursor(&encode_cursor(&cursor)).unwrap(),
            Some(cursor)
        );
        assert_eq!(decode_cursor("").unwrap(), None);
        for bad in ["x", "MS9GT08vMw", &encode_cursor(&(1, "NOPE".into(), 1))] {
            match decode_cursor(bad) {
                Err(KernelError::InvalidArgument { field, .. }) => {
                    assert_eq!(field, "page.page_token")
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_filter_is_validated_field_by_field_and_confined_to_the_callers_scope() {
        let acme = TenantId::parse("acme", "t").unwrap();
        let field_of = |filter: AuditFilter| match audit_query(Some(&filter), &ListScope::All) {
            Err(KernelError::InvalidArgument { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field_of(AuditFilter {
                tenant_id: "Not A Slug".into(),
                ..Default::default()
            }),
            "filter.tenant_id"
        );
        assert_eq!(
            field_of(AuditFilter {
                stream: "SECRETS".into(),
                ..Default::default()
            }),
            "filter.stream"
        );
        assert_eq!(
            field_of(AuditFilter {
                actor: "a\nb".into(),
                ..Default::default()
            }),
            "filter.actor"
        );
        let at = |s: i64| {
            Some(prost_types::Timestamp {
                seconds: s,
                nanos: 0,
            })
        };
        assert_eq!(
            field_of(AuditFilter {
                from: at(10),
                to: at(10),
                ..Default::default()
            }),
            "filter.to"
        );
        let own = audit_query(None, &ListScope::Tenant(acme.clone())).unwrap();
        assert_eq!(own.unwrap().tenant.as_deref(), Some("acme"));
        let other = AuditFilter {
            tenant_id: "globex".into(),
            ..Default::default()
        };
        assert_eq!(
            audit_query(Some(&other), &ListScope::Tenant(acme)).unwrap(),
            None
        );
        assert_eq!(audit_query(None, &ListScope::Nothing).unwrap(), None);
        let stream = AuditFilter {
            stream: "assets".into(),
            ..Default::default()
        };
        assert_eq!(
            audit_query(Some(&stream), &ListScope::All)
                .unwrap()
                .unwrap()
                .stream
                .as_deref(),
            Some("ASSETS")
        );
    }
}
