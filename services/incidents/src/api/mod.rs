//! The gRPC API of incident handling.
//!
//! Who sees what (DOMAIN.md): security officers and admins handle and see every incident,
//! auditors and managers read all; any employee reports deviations, incidents and proposals
//! and sees what it reported; a customer reports incidents for its own tenant and sees the
//! incidents it reported or that affect its tenant — customer-facing fields only (no
//! internal notes, actions, reviews or other customers). Anything else is NOT_FOUND.

mod errors;

use errors::status;
use std::collections::BTreeMap;
use std::sync::Arc;

use tillit_api::Refusal;
use tillit_api::lookup::Consistency;
use tillit_api::page::Page;
use tillit_auth::layer::caller;
use tillit_auth::view::ViewReader;
use tillit_auth::{Caller, Permission};
use tillit_kernel::clock::{TimeWindow, from_timestamp, parse_time, to_timestamp};
use tillit_kernel::{
    AggregateId, CommandMeta, CommandRequest, EventStore, ProjectionRunner, Runner, Target,
    TenantId,
};
use tillit_proto::common::ConsistencyToken;
use tillit_proto::incidents::incidents_service_server::IncidentsService;
use tillit_proto::incidents::*;
use time::OffsetDateTime;
use tonic::{Request, Response, Status};

use crate::config::IncidentsConfig;
use crate::domain::DomainError;
use crate::domain::incident::{
    ClockContext, IncidentCommand, IncidentDecider, IncidentEvent, Notification, action_status,
    linked_facts, obligation_status,
};
use tillit_incidents_views::register::Reader;
use tillit_rules::clocks::ContractHours;

/// What the handlers share.
pub struct Incidents {
    /// Settings.
    pub config: IncidentsConfig,
    /// The event store.
    pub store: EventStore,
    /// Incidents.
    pub incidents: Runner<IncidentDecider>,
    /// The projections (identity view, asset facts, incident register).
    pub projections: Arc<ProjectionRunner>,
    /// Reads the register and asset facts.
    pub reader: Reader,
    /// Reads the identity view.
    pub identity: ViewReader,
}

/// The `IncidentsService` implementation.
#[derive(Clone)]
pub struct IncidentsApi {
    state: Arc<Incidents>,
}

/// Most assets one triage may name (an incident touching more is recorded in parts).
const MAX_AFFECTED_ASSETS: usize = 1000;
/// Most data categories of one breach.
const MAX_CATEGORIES: usize = 100;
/// How much of an incident a caller sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum View {
    Full,
    Customer,
}

const KINDS: [&str; 3] = ["deviation", "security_incident", "improvement_proposal"];
const SEVERITIES: [&str; 4] = ["low", "medium", "high", "critical"];
const PROPERTIES: [&str; 4] = [
    "availability",
    "integrity",
    "confidentiality",
    "traceability",
];
const RISKS: [&str; 3] = ["unlikely", "risk", "high"];
const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 500;

fn view_of(caller: &Caller, incident: &Incident) -> Option<View> {
    if caller.may(Permission::ManageIncidents)
        || caller.may(Permission::ReadEverything)
        || caller.may(Permission::ReadReports)
    {
        return Some(View::Full);
    }
    if caller.tenant.is_internal()
        && caller.may(Permission::ReadOwnReportedIncidents)
        && incident.reporter == caller.subject
    {
        return Some(View::Full);
    }
    let concerns = incident.tenant_id == caller.tenant.as_str()
        || incident.triage.as_ref().is_some_and(|t| {
            t.affected_customers
                .iter()
                .any(|c| c.tenant_id == caller.tenant.as_str())
        });
    (!caller.tenant.is_internal() && caller.may(Permission::ReadAffectingIncidents) && concerns)
        .then_some(View::Customer)
}

/// The customer-facing fields only, and of the triage only what concerns `tenant`.
fn for_customer(mut incident: Incident, tenant: &str) -> Incident {
    let own_report = incident.tenant_id == tenant;
    if let Some(triage) = incident.triage.as_mut() {
        triage.affected_assets.retain(|a| a.tenant_id == tenant);
        triage.affected_customers.retain(|c| c.tenant_id == tenant);
        triage.notes.clear();
        triage.estimated_direct_loss_eur = 0;
        triage.users_affected_percent = 0;
    }
    Incident {
        description: if own_report {
            incident.description
        } else {
            String::new()
        },
        tenant_id: if own_report {
            incident.tenant_id
        } else {
            String::new()
        },
        reporter: String::new(),
        root_cause: String::new(),
        lessons_learned: String::new(),
        actions: Vec::new(),
        linked_incident_ids: Vec::new(),
        reason: String::new(),
        obligations: incident
            .obligations
            .into_iter()
            .filter(|o| o.recipient_tenant_id == tenant)
            .collect(),
        decisions: Vec::new(),
        ..incident
    }
}

fn pick(field: &str, raw: &str, allowed: &[&str]) -> Result<String, DomainError> {
    let value = raw.trim().to_lowercase();
    if allowed.contains(&value.as_str()) {
        Ok(value)
    } else {
        Err(DomainError::invalid(
            field,
            format!("one of {}", allowed.join(", ")),
        ))
    }
}

/// A required multi-line text of at most `max` characters (`tillit_text::field`).
fn text(field: &str, raw: &str, max: usize) -> Result<String, DomainError> {
    tillit_text::field::required_lines(raw, max)
        .map_err(|p| DomainError::invalid(field, p.to_string()))
}

/// A required single-line text (a title, a channel) of at most `max` characters.
fn line(field: &str, raw: &str, max: usize) -> Result<String, DomainError> {
    tillit_text::field::line(raw, max).map_err(|p| DomainError::invalid(field, p.to_string()))
}

fn past_or_now(
    field: &str,
    raw: Option<&prost_types::Timestamp>,
    now: OffsetDateTime,
) -> Result<OffsetDateTime, DomainError> {
    match raw {
        None => Ok(now),
        Some(ts) => happened(field, ts, now),
    }
}

/// A time something happened, through the kernel's one parser.
fn happened(
    field: &str,
    ts: &prost_types::Timestamp,
    now: OffsetDateTime,
) -> Result<OffsetDateTime, DomainError> {
    parse_time(field, ts, now, TimeWindow::Happened).map_err(DomainError::Kernel)
}

/// Envelope data for a command by `caller`, from the request's metadata.
fn meta<T>(request: &Request<T>, caller: &Caller) -> CommandMeta {
    tillit_auth::command_meta(request, caller.actor())
}

impl IncidentsApi {
    /// The API over shared state.
    pub fn new(state: Arc<Incidents>) -> Self {
        Self { state }
    }

    /// How the handlers wait for this service's projections.
    fn consistency(&self) -> Consistency<'_> {
        Consistency::new(
            &self.state.projections,
            self.state.config.platform.consistency_timeout,
        )
    }

    /// Waits until this service's projections have applied the request's token.
    async fn wait(&self, token: Option<&ConsistencyToken>) -> Result<(), Status> {
        Ok(self.consistency().wait(token).await?)
    }

    /// The incident if the caller sees it at all, with how much it sees.
    async fn visible(
        &self,
        caller: &Caller,
        raw_id: &str,
    ) -> Result<(AggregateId, Incident, View), Refusal> {
        let id = AggregateId::parse(raw_id, "incident_id")?;
        // Invisible and missing incidents take the same path, so timing reveals nothing.
        let (incident, view) = self
            .consistency()
            .find("INCIDENTS", "incident", || {
                Ok(self
                    .state
                    .reader
                    .incident(id.as_str())?
                    .and_then(|i| view_of(caller, &i).map(|v| (i, v))))
            })
            .await?;
        Ok((id, incident, view))
    }

    /// Runs a command on an incident the caller handles.
    async fn handle<T>(
        &self,
        request: &Request<T>,
        raw_id: &str,
        name: &str,
        command: IncidentCommand,
        allowed: &[Permission],
    ) -> Result<tillit_kernel::Executed<IncidentEvent>, Status> {
        let caller = caller(request)?;
        let (id, incident, _) = self.visible(&caller, raw_id).await?;
        caller.require_any(allowed)?;
        self.state
            .incidents
            .execute(CommandRequest {
                tenant: TenantId::parse(&incident.tenant_id, "incident_id")?,
                target: Target::Existing(id),
                name: name.into(),
                command,
                meta: meta(request, &caller),
            })
            .await
            .map_err(status)
    }

    /// Resolves the requested affected assets into what triage records.
    fn affected(
        &self,
        requested: &[AffectedAsset],
    ) -> Result<(Vec<AffectedAsset>, Vec<AffectedCustomer>), DomainError> {
        let mut assets = Vec::new();
        let mut customers: BTreeMap<String, String> = BTreeMap::new();
        for wanted in requested {
            let fact = self
                .state
                .reader
                .asset(wanted.asset_id.trim())?
                .ok_or_else(|| {
                    DomainError::invalid(
                        "triage.affected_assets.asset_id",
                        format!("no asset {:?}", wanted.asset_id),
                    )
                })?;
            let role = if fact.tenant == TenantId::INTERNAL {
                "controller"
            } else {
                "processor"
            };
            customers.insert(fact.tenant.clone(), role.to_owned());
            assets.push(AffectedAsset {
                asset_id: wanted.asset_id.trim().to_owned(),
                name: fact.name,
                tenant_id: fact.tenant,
                our_role: role.into(),
                confidentiality: fact.levels.0,
                integrity: fact.levels.1,
                availability: fact.levels.2,
                personal_data: fact.personal_data,
            });
        }
        let customers = customers
            .into_iter()
            .map(|(tenant_id, our_role)| AffectedCustomer {
                tenant_id,
                our_role,
            })
            .collect();
        Ok((assets, customers))
    }

    fn validated_triage(&self, raw: Option<&Triage>) -> Result<Triage, DomainError> {
        let raw = raw.ok_or_else(|| DomainError::invalid("triage", "required"))?;
        let mut properties = Vec::new();
        for property in &raw.affected_properties {
            let property = pick("triage.affected_properties", property, &PROPERTIES)?;
            if !properties.contains(&property) {
                properties.push(property);
            }
        }
        if raw.users_affected_percent > 100 {
            return Err(DomainError::invalid(
                "triage.users_affected_percent",
                "must be 0 to 100",
            ));
        }
        let now = self.state.store.clock().now();
        let (start, end) = (
            raw.outage_start
                .as_ref()
                .map(|t| happened("triage.outage_start", t, now))
                .transpose()?,
            raw.outage_end
                .as_ref()
                .map(|t| happened("triage.outage_end", t, now))
                .transpose()?,
        );
        if let (Some(start), Some(end)) = (start, end)
            && end < start
        {
            return Err(DomainError::invalid(
                "triage.outage_end",
                "must not be before outage_start",
            ));
        }
        let risk = match raw.risk_to_data_subjects.as_str() {
            "" if !raw.personal_data_breach => String::new(),
            other => pick("triage.risk_to_data_subjects", other, &RISKS)?,
        };
        for (field, count, max) in [
            (
                "triage.affected_assets",
                raw.affected_assets.len(),
                MAX_AFFECTED_ASSETS,
            ),
            (
                "triage.affected_properties",
                raw.affected_properties.len(),
                3,
            ),
        ] {
            tillit_text::field::at_most(count, max)
                .map_err(|p| DomainError::invalid(field, p.to_string()))?;
        }
        let data_categories = tillit_text::field::line_list(
            "triage.data_categories",
            &raw.data_categories,
            MAX_CATEGORIES,
            200,
        )
        .map_err(|(field, p)| DomainError::invalid(field, p.to_string()))?;
        let (affected_assets, affected_customers) = self.affected(&raw.affected_assets)?;
        Ok(Triage {
            severity: pick("triage.severity", &raw.severity, &SEVERITIES)?,
            affected_properties: properties,
            affected_assets,
            affected_customers,
            risk_to_data_subjects: risk,
            data_categories,
            notes: tillit_text::field::lines(&raw.notes, 20_000)
                .map_err(|p| DomainError::invalid("triage.notes", p.to_string()))?,
            ..raw.clone()
        })
    }
}

/// The GDPR Art. 33(3) report and the NIS2 stage contents, from what was recorded.
fn incident_report(incident: &Incident, contact_point: &str) -> serde_json::Value {
    use serde_json::json;
    let triage = incident.triage.clone().unwrap_or_default();
    let measures: Vec<_> = incident
        .actions
        .iter()
        .map(|a| json!({ "action": a.title, "status": a.status }))
        .collect();
    let sent: Vec<_> = incident
        .obligations
        .iter()
        .map(|o| {
            json!({
                "obligation": o.obligation_id,
                "article": o.article,
                "recipient": o.recipient,
                "due_at": o.due_at.as_ref().and_then(from_timestamp).map(|t| t.to_string()),
                "status": o.status,
                "required_fields": o.required_fields,
                "notifications": o.notifications.iter().map(|n| json!({
                    "stage": n.stage, "sent_at": n.sent_at.as_ref().and_then(from_timestamp).map(|t| t.to_string()),
                    "channel": n.channel, "reference": n.external_reference, "late": n.late, "delay_reason": n.delay_reason,
                    "report_fields": n.report_fields,
                })).collect::<Vec<_>>(),
                "reason": o.reason,
                "clocks_sha256": o.clocks_sha256,
            })
        })
        .collect();
    json!({
        "incident_id": incident.incident_id,
        "title": incident.title,
        "aware_at": incident.aware_at.as_ref().and_then(from_timestamp).map(|t| t.to_string()),
        "gdpr_art_33_3": {
            "nature": incident.description,
            "personal_data_breach": triage.personal_data_breach,
            "data_categories": triage.data_categories,
            "approximate_data_subjects": triage.approx_data_subjects,
            "approximate_records": triage.approx_records,
            "contact_point": contact_point,
            "likely_consequences": format!("risk to data subjects: {}", if triage.risk_to_data_subjects.is_empty() { "not assessed" } else { triage.risk_to_data_subjects.as_str() }),
            "measures": measures,
        },
        "nis2": {
            "early_warning": { "suspected_malicious": triage.suspected_malicious, "cross_border_impact": triage.cross_border },
            "notification": { "severity": triage.severity, "affected_properties": triage.affected_properties, "users_affected_percent": triage.users_affected_percent, "estimated_direct_loss_eur": triage.estimated_direct_loss_eur },
            "final_report": { "root_cause_or_threat": incident.root_cause, "mitigation": incident.lessons_learned, "cross_border_impact": triage.cross_border },
        },
        "decisions": incident.decisions.iter().map(|d| json!({ "article": d.article, "decision": d.decision })).collect::<Vec<_>>(),
        "obligations": sent,
    })
}

#[tonic::async_trait]
impl IncidentsService for IncidentsApi {
    async fn record_notification(
        &self,
        request: Request<RecordNotificationRequest>,
    ) -> Result<Response<RecordNotificationResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        let body = request.get_ref();
        let stage = match body.stage.as_str() {
            "" => "initial".to_owned(),
            raw => pick(
                "stage",
                raw,
                &["initial", "intermediate", "final", "progress"],
            )?,
        };
        let sent = NotificationRecorded {
            obligation_id: body.obligation_id.clone(),
            stage,
            channel: line("channel", &body.channel, 200)?,
            sent_at: Some(to_timestamp(happened(
                "sent_at",
                body.sent_at
                    .as_ref()
                    .ok_or_else(|| DomainError::invalid("sent_at", "required"))?,
                self.state.store.clock().now(),
            )?)),
            summary: tillit_text::field::lines(&body.summary, 20_000)
                .map_err(|p| DomainError::invalid("summary", p.to_string()))?,
            report_fields: body.report_fields.clone(),
            external_reference: tillit_text::field::optional_line(&body.external_reference, 200)
                .map_err(|p| DomainError::invalid("external_reference", p.to_string()))?,
            meets: false,
            late: false,
            delay_reason: body.delay_reason.trim().to_owned(),
            recorded_by: caller.subject.clone(),
        };
        let command = IncidentCommand::RecordNotification(Box::new(Notification {
            sent,
            config: self.state.config.clocks.clone(),
        }));
        let executed = self
            .handle(
                &request,
                &body.incident_id,
                "tillit.incidents.v1.RecordNotification",
                command,
                &[Permission::ManageObligations],
            )
            .await?;
        let status = executed
            .events
            .iter()
            .find_map(|e| match e {
                IncidentEvent::NotificationRecorded(n) if n.meets => Some(if n.late {
                    obligation_status::LATE
                } else {
                    obligation_status::MET
                }),
                IncidentEvent::NotificationRecorded(_) => Some(obligation_status::PENDING),
                _ => None,
            })
            .unwrap_or(obligation_status::PENDING);
        Ok(Response::new(RecordNotificationResponse {
            status: status.into(),
            consistency: Some(executed.consistency()),
        }))
    }

    async fn waive_obligation(
        &self,
        request: Request<WaiveObligationRequest>,
    ) -> Result<Response<WaiveObligationResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        let body = request.get_ref();
        let command = IncidentCommand::Waive(ObligationWaived {
            obligation_id: body.obligation_id.clone(),
            reason: text("reason", &body.reason, 4000)?,
            waived_by: caller.subject.clone(),
        });
        let executed = self
            .handle(
                &request,
                &body.incident_id,
                "tillit.incidents.v1.WaiveObligation",
                command,
                &[Permission::ManageObligations],
            )
            .await?;
        Ok(Response::new(WaiveObligationResponse {
            consistency: Some(executed.consistency()),
        }))
    }

    async fn list_obligations_due(
        &self,
        request: Request<ListObligationsDueRequest>,
    ) -> Result<Response<ListObligationsDueResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        caller.require_any(&[Permission::ManageObligations, Permission::ReadEverything])?;
        let before = request
            .get_ref()
            .before
            .as_ref()
            .and_then(from_timestamp)
            .ok_or_else(|| DomainError::invalid("before", "a time is required"))?;
        let mut due = Vec::new();
        for (incident, _) in self.state.reader.incidents(None, usize::MAX, |_| true)? {
            for obligation in incident.obligations {
                let at = obligation.due_at.as_ref().and_then(from_timestamp);
                if obligation.status == obligation_status::PENDING
                    && at.is_some_and(|at| at < before)
                {
                    due.push((at, obligation));
                }
            }
        }
        due.sort_by_key(|(at, _)| *at);
        Ok(Response::new(ListObligationsDueResponse {
            obligations: due.into_iter().map(|(_, o)| o).collect(),
        }))
    }

    async fn get_incident_report(
        &self,
        request: Request<GetIncidentReportRequest>,
    ) -> Result<Response<GetIncidentReportResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        let (_, incident, view) = self
            .visible(&caller, &request.get_ref().incident_id)
            .await?;
        if view != View::Full {
            return Err(Refusal::NotFound("incident").into());
        }
        let report = incident_report(&incident, &self.state.config.dpo_contact);
        Ok(Response::new(GetIncidentReportResponse {
            json: serde_json::to_string_pretty(&report)
                .map_err(|e| Refusal::unwritable("incident report", e))?,
        }))
    }

    async fn report_incident(
        &self,
        request: Request<ReportIncidentRequest>,
    ) -> Result<Response<ReportIncidentResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        let body = request.get_ref();
        let kind = pick("kind", &body.kind, &KINDS)?;
        let allowed = caller.may(Permission::ManageIncidents)
            || caller.may(Permission::ReportDeviation)
            || (caller.may(Permission::ReportIncident) && kind == "security_incident");
        if !allowed {
            return Err(
                Refusal::PermissionDenied(format!("your roles may not report a {kind}")).into(),
            );
        }
        let now = self.state.store.clock().now();
        let detected = past_or_now("detected_at", body.detected_at.as_ref(), now)?;
        let aware = past_or_now("aware_at", body.aware_at.as_ref(), now)?;
        let command_meta = meta(&request, &caller);
        let id = command_meta.derive_id(&caller.tenant, "incident");
        let executed = self
            .state
            .incidents
            .execute(CommandRequest {
                tenant: caller.tenant.clone(),
                target: Target::At(id.clone()),
                name: "tillit.incidents.v1.ReportIncident".into(),
                command: IncidentCommand::Report(IncidentReported {
                    incident_id: id.as_str().to_owned(),
                    kind,
                    title: line("title", &body.title, 300)?,
                    description: text("description", &body.description, 20_000)?,
                    reporter: caller.subject.clone(),
                    reporter_tenant_id: caller.tenant.as_str().to_owned(),
                    detected_at: Some(to_timestamp(detected)),
                    aware_at: Some(to_timestamp(aware)),
                }),
                meta: command_meta,
            })
            .await
            .map_err(status)?;
        Ok(Response::new(ReportIncidentResponse {
            incident_id: id.as_str().to_owned(),
            consistency: Some(executed.consistency()),
        }))
    }

    async fn triage_incident(
        &self,
        request: Request<TriageIncidentRequest>,
    ) -> Result<Response<TriageIncidentResponse>, Status> {
        // The token may carry the position of a just-registered asset: wait for it first.
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        let (_, incident, _) = self
            .visible(&caller, &request.get_ref().incident_id)
            .await?;
        let triage = self.validated_triage(request.get_ref().triage.as_ref())?;
        let mut contracts = BTreeMap::new();
        for customer in &triage.affected_customers {
            let terms = self
                .state
                .identity
                .tenant(&customer.tenant_id)?
                .and_then(|t| t.contract)
                .unwrap_or_default();
            contracts.insert(
                customer.tenant_id.clone(),
                ContractHours {
                    breach_notice_hours: terms.breach_notice_hours,
                    outage_notice_hours: terms.outage_notice_hours,
                },
            );
        }
        let mut linked = Vec::new();
        for id in &incident.linked_incident_ids {
            if let Some(other) = self.state.reader.incident(id)? {
                linked.push(linked_facts(&other));
            }
        }
        let context = ClockContext {
            contracts,
            config: self.state.config.clocks.clone(),
            linked,
        };
        let executed = self
            .handle(
                &request,
                &request.get_ref().incident_id,
                "tillit.incidents.v1.TriageIncident",
                IncidentCommand::Triage(triage.clone(), Box::new(context)),
                &[Permission::ManageIncidents],
            )
            .await?;
        Ok(Response::new(TriageIncidentResponse {
            triage: Some(triage),
            consistency: Some(executed.consistency()),
        }))
    }

    async fn link_incidents(
        &self,
        request: Request<LinkIncidentsRequest>,
    ) -> Result<Response<LinkIncidentsResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        let related = self
            .visible(&caller, &request.get_ref().related_incident_id)
            .await
            .map_err(|refusal| errors::related("related_incident_id", refusal))?;
        let executed = self
            .handle(
                &request,
                &request.get_ref().incident_id,
                "tillit.incidents.v1.LinkIncidents",
                IncidentCommand::Link(related.0.as_str().to_owned()),
                &[Permission::ManageIncidents],
            )
            .await?;
        Ok(Response::new(LinkIncidentsResponse {
            consistency: Some(executed.consistency()),
        }))
    }

    async fn transition_incident(
        &self,
        request: Request<TransitionIncidentRequest>,
    ) -> Result<Response<TransitionIncidentResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let body = request.get_ref();
        let note = body.note.trim().to_owned();
        let command = match body.transition.as_str() {
            "contain" => IncidentCommand::Contain(note),
            "resolve" => IncidentCommand::Resolve(note),
            "close" => IncidentCommand::Close,
            "reject" => IncidentCommand::Reject(text("note", &note, 4000)?),
            "reopen" => IncidentCommand::Reopen(text("note", &note, 4000)?),
            _ => {
                return Err(DomainError::invalid(
                    "transition",
                    "one of contain, resolve, close, reject, reopen",
                )
                .into());
            }
        };
        let executed = self
            .handle(
                &request,
                &body.incident_id,
                "tillit.incidents.v1.TransitionIncident",
                command,
                &[Permission::ManageIncidents],
            )
            .await?;
        let mut incident = self
            .state
            .reader
            .incident(&body.incident_id)?
            .unwrap_or_default();
        for event in &executed.events {
            crate::domain::incident::apply(&mut incident, event);
        }
        Ok(Response::new(TransitionIncidentResponse {
            status: incident.status,
            consistency: Some(executed.consistency()),
        }))
    }

    async fn review_incident(
        &self,
        request: Request<ReviewIncidentRequest>,
    ) -> Result<Response<ReviewIncidentResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let body = request.get_ref();
        let command = IncidentCommand::Review {
            root_cause: text("root_cause", &body.root_cause, 10_000)?,
            lessons_learned: text("lessons_learned", &body.lessons_learned, 10_000)?,
        };
        let executed = self
            .handle(
                &request,
                &body.incident_id,
                "tillit.incidents.v1.ReviewIncident",
                command,
                &[Permission::ManageIncidents],
            )
            .await?;
        Ok(Response::new(ReviewIncidentResponse {
            consistency: Some(executed.consistency()),
        }))
    }

    async fn add_action(
        &self,
        request: Request<AddActionRequest>,
    ) -> Result<Response<AddActionResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let body = request.get_ref();
        let owner = body.owner_user_id.trim();
        if !self
            .state
            .identity
            .principal(owner)?
            .is_some_and(|p| p.active)
        {
            return Err(DomainError::invalid("owner_user_id", "no such user").into());
        }
        let due_at = to_timestamp(
            parse_time(
                "due_at",
                body.due_at
                    .as_ref()
                    .ok_or_else(|| DomainError::invalid("due_at", "required"))?,
                self.state.store.clock().now(),
                TimeWindow::Due,
            )
            .map_err(DomainError::Kernel)?,
        );
        let caller = caller(&request)?;
        let command_meta = meta(&request, &caller);
        let action_id = command_meta.derive_id(&caller.tenant, "action");
        let command = IncidentCommand::AddAction(ActionAdded {
            action_id: action_id.as_str().to_owned(),
            title: line("title", &body.title, 300)?,
            owner_user_id: owner.to_owned(),
            due_at: Some(due_at),
        });
        let executed = self
            .handle(
                &request,
                &body.incident_id,
                "tillit.incidents.v1.AddAction",
                command,
                &[Permission::ManageIncidents],
            )
            .await?;
        Ok(Response::new(AddActionResponse {
            action_id: action_id.as_str().to_owned(),
            consistency: Some(executed.consistency()),
        }))
    }

    async fn complete_action(
        &self,
        request: Request<CompleteActionRequest>,
    ) -> Result<Response<CompleteActionResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        let body = request.get_ref();
        let (_, incident, view) = self.visible(&caller, &body.incident_id).await?;
        let owns = incident
            .actions
            .iter()
            .any(|a| a.action_id == body.action_id && a.owner_user_id == caller.subject);
        if view != View::Full || !(owns || caller.may(Permission::ManageIncidents)) {
            return Err(Refusal::PermissionDenied(format!(
                "action {} of incident {}: only a security officer, an admin or the action's owner completes it",
                body.action_id,
                incident.incident_id
            ))
            .into());
        }
        let command = IncidentCommand::CompleteAction {
            action_id: body.action_id.clone(),
            evidence: text("evidence", &body.evidence, 10_000)?,
        };
        let allowed: &[Permission] = if owns {
            &[
                Permission::ReportDeviation,
                Permission::ManageIncidents,
                Permission::ReadEverything,
            ]
        } else {
            &[Permission::ManageIncidents]
        };
        let executed = self
            .handle(
                &request,
                &body.incident_id,
                "tillit.incidents.v1.CompleteAction",
                command,
                allowed,
            )
            .await?;
        Ok(Response::new(CompleteActionResponse {
            consistency: Some(executed.consistency()),
        }))
    }

    async fn accept_action_risk(
        &self,
        request: Request<AcceptActionRiskRequest>,
    ) -> Result<Response<AcceptActionRiskResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        let body = request.get_ref();
        let command = IncidentCommand::AcceptRisk(ActionRiskAccepted {
            action_id: body.action_id.clone(),
            reason: text("reason", &body.reason, 4000)?,
            accepted_by: caller.subject.clone(),
        });
        let executed = self
            .handle(
                &request,
                &body.incident_id,
                "tillit.incidents.v1.AcceptActionRisk",
                command,
                &[Permission::AcceptResidualRisk, Permission::ManageIncidents],
            )
            .await?;
        Ok(Response::new(AcceptActionRiskResponse {
            consistency: Some(executed.consistency()),
        }))
    }

    async fn get_incident(
        &self,
        request: Request<GetIncidentRequest>,
    ) -> Result<Response<GetIncidentResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        let (id, incident, view) = self
            .visible(&caller, &request.get_ref().incident_id)
            .await?;
        if view == View::Customer {
            return Ok(Response::new(GetIncidentResponse {
                incident: Some(for_customer(incident, caller.tenant.as_str())),
                timeline: Vec::new(),
            }));
        }
        let tenant = TenantId::parse(&incident.tenant_id, "incident_id")?;
        let (_, history) = self
            .state
            .incidents
            .load(&self.state.incidents.address(&tenant, id))
            .await?;
        let timeline = history.timeline();
        Ok(Response::new(GetIncidentResponse {
            incident: Some(incident),
            timeline,
        }))
    }

    async fn list_incidents(
        &self,
        request: Request<ListIncidentsRequest>,
    ) -> Result<Response<ListIncidentsResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        let body = request.get_ref();
        let status_filter = match body.status.as_str() {
            "" => None,
            raw => Some(pick(
                "status",
                raw,
                &[
                    "reported",
                    "triaged",
                    "contained",
                    "resolved",
                    "closed",
                    "rejected",
                ],
            )?),
        };
        let kind = match body.kind.as_str() {
            "" => None,
            raw => Some(pick("kind", raw, &KINDS)?),
        };
        let severity = match body.severity.as_str() {
            "" => None,
            raw => Some(pick("severity", raw, &SEVERITIES)?),
        };
        let tenant = match body.tenant_id.as_str() {
            "" => None,
            raw => Some(TenantId::parse(raw, "tenant_id")?),
        };
        let page = Page::of(body.page.as_ref(), DEFAULT_PAGE, MAX_PAGE)?;
        let before = page.cursor(|raw| {
            let (nanos, id) = raw.split_once('/')?;
            Some((nanos.parse::<i64>().ok()?, id))
        })?;
        let found = self.state.reader.incidents(before, page.limit, |stored| {
            // Filters see what the caller sees: a customer's filter on another tenant,
            // open actions or links matches exactly what it matches for a tenant that
            // does not exist, so no answer tells of anything the customer cannot see.
            let incident = match view_of(&caller, stored) {
                None => return false,
                Some(View::Customer) => {
                    std::borrow::Cow::Owned(for_customer(stored.clone(), caller.tenant.as_str()))
                }
                Some(_) => std::borrow::Cow::Borrowed(stored),
            };
            let concerns = |t: &str| {
                incident.tenant_id == t
                    || incident
                        .triage
                        .as_ref()
                        .is_some_and(|tr| tr.affected_customers.iter().any(|c| c.tenant_id == t))
            };
            status_filter.as_ref().is_none_or(|s| *s == incident.status)
                && kind.as_ref().is_none_or(|k| *k == incident.kind)
                && severity
                    .as_ref()
                    .is_none_or(|s| incident.triage.as_ref().is_some_and(|t| t.severity == *s))
                && tenant.as_ref().is_none_or(|t| concerns(t.as_str()))
                && (!body.has_open_actions
                    || incident
                        .actions
                        .iter()
                        .any(|a| a.status == action_status::OPEN))
                && (body.linked_to.is_empty()
                    || incident.linked_incident_ids.contains(&body.linked_to))
        })?;
        let next = page.next(&found, |(_, (nanos, id))| format!("{nanos}/{id}"));
        let incidents = found
            .into_iter()
            .map(|(incident, _)| match view_of(&caller, &incident) {
                Some(View::Customer) => for_customer(incident, caller.tenant.as_str()),
                _ => incident,
            })
            .collect();
        Ok(Response::new(ListIncidentsResponse {
            incidents,
            page: next,
        }))
    }
}
