//! The commands on incidents. Each handler checks the caller's permission first, then the
//! input (so a caller without the permission gets PERMISSION_DENIED whatever it sent),
//! then that the incident is one it sees, and runs the command.

use std::collections::BTreeMap;

use tillit_api::Refusal;
use tillit_api::text;
use tillit_api::vocabulary::required;
use tillit_auth::layer::caller;
use tillit_auth::{Caller, Permission};
use tillit_kernel::Reason;
use tillit_kernel::clock::to_timestamp;
use tillit_kernel::{CommandRequest, Target};
use tillit_proto::Vocabulary as _;
use tillit_proto::incidents::*;
use tillit_rules::clocks::ContractHours;
use tonic::{Request, Response, Status};

use super::visibility::View;
use super::{IncidentsApi, errors, meta, status};
use crate::domain::DomainError;
use crate::domain::incident::{ClockContext, IncidentCommand, Notification};
use crate::domain::triage::{affected, linked_facts};
use crate::domain::validate::{self, past_or_now};

/// Who may report what: incident handlers and every employee anything, a customer only a
/// security incident (for its own tenant).
fn may_report(caller: &Caller, kind: Option<IncidentKind>) -> bool {
    caller.may(Permission::ManageIncidents)
        || caller.may(Permission::ReportDeviation)
        || (caller.may(Permission::ReportIncident)
            && kind.is_none_or(|k| k == IncidentKind::SecurityIncident))
}

impl IncidentsApi {
    pub(super) async fn report_incident(
        &self,
        request: Request<ReportIncidentRequest>,
    ) -> Result<Response<ReportIncidentResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        if !may_report(&caller, None) {
            return Err(
                Refusal::PermissionDenied("your roles may not report incidents".into()).into(),
            );
        }
        let body = request.get_ref();
        let kind: IncidentKind = required("kind", body.kind)?;
        if !may_report(&caller, Some(kind)) {
            return Err(Refusal::PermissionDenied(format!(
                "your roles may not report a {}",
                kind.word()
            ))
            .into());
        }
        let now = self.state.store.clock().now();
        let reported = IncidentReported {
            incident_id: String::new(),
            kind: kind.word().to_owned(),
            title: text::line("title", &body.title, 300)?,
            description: text::lines("description", &body.description, 20_000)?,
            reporter: caller.subject.clone(),
            reporter_tenant_id: caller.tenant.as_str().to_owned(),
            detected_at: Some(to_timestamp(past_or_now(
                "detected_at",
                body.detected_at.as_ref(),
                now,
            )?)),
            aware_at: Some(to_timestamp(past_or_now(
                "aware_at",
                body.aware_at.as_ref(),
                now,
            )?)),
        };
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
                    ..reported
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

    pub(super) async fn triage_incident(
        &self,
        request: Request<TriageIncidentRequest>,
    ) -> Result<Response<TriageIncidentResponse>, Status> {
        // The token may carry the position of a just-registered asset: wait for it first.
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        caller.require(Permission::ManageIncidents)?;
        let body = request.get_ref();
        let now = self.state.store.clock().now();
        let mut triage = validate::triage(body.triage.as_ref(), now)?;
        let (assets, customers) =
            affected(&triage.affected_assets, |id| self.state.reader.asset(id))?;
        triage.affected_assets = assets;
        triage.affected_customers = customers;
        let (_, incident, _) = self.visible(&caller, &body.incident_id).await?;
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
                &caller,
                &body.incident_id,
                "tillit.incidents.v1.TriageIncident",
                IncidentCommand::Triage(triage.clone(), Box::new(context)),
            )
            .await?;
        Ok(Response::new(TriageIncidentResponse {
            triage: Some(triage),
            consistency: Some(executed.consistency()),
        }))
    }

    pub(super) async fn link_incidents(
        &self,
        request: Request<LinkIncidentsRequest>,
    ) -> Result<Response<LinkIncidentsResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        caller.require(Permission::ManageIncidents)?;
        let body = request.get_ref();
        let related = self
            .visible(&caller, &body.related_incident_id)
            .await
            .map_err(|refusal| errors::related("related_incident_id", refusal))?;
        let executed = self
            .handle(
                &request,
                &caller,
                &body.incident_id,
                "tillit.incidents.v1.LinkIncidents",
                IncidentCommand::Link(related.0.as_str().to_owned()),
            )
            .await?;
        Ok(Response::new(LinkIncidentsResponse {
            consistency: Some(executed.consistency()),
        }))
    }

    pub(super) async fn transition_incident(
        &self,
        request: Request<TransitionIncidentRequest>,
    ) -> Result<Response<TransitionIncidentResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        caller.require(Permission::ManageIncidents)?;
        let body = request.get_ref();
        let note = body.note.trim().to_owned();
        let command = match required("transition", body.transition)? {
            IncidentTransition::Contain => IncidentCommand::Contain(note),
            IncidentTransition::Resolve => IncidentCommand::Resolve(note),
            IncidentTransition::Close => IncidentCommand::Close,
            IncidentTransition::Reject => {
                IncidentCommand::Reject(text::lines("note", &note, 4000)?)
            }
            IncidentTransition::Reopen => {
                IncidentCommand::Reopen(text::lines("note", &note, 4000)?)
            }
            IncidentTransition::Unspecified => unreachable!("required refuses it"),
        };
        let executed = self
            .handle(
                &request,
                &caller,
                &body.incident_id,
                "tillit.incidents.v1.TransitionIncident",
                command,
            )
            .await?;
        Ok(Response::new(TransitionIncidentResponse {
            status: executed.state.status,
            consistency: Some(executed.consistency()),
        }))
    }

    pub(super) async fn review_incident(
        &self,
        request: Request<ReviewIncidentRequest>,
    ) -> Result<Response<ReviewIncidentResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        caller.require(Permission::ManageIncidents)?;
        let body = request.get_ref();
        let command = IncidentCommand::Review {
            root_cause: text::lines("root_cause", &body.root_cause, 10_000)?,
            lessons_learned: text::lines("lessons_learned", &body.lessons_learned, 10_000)?,
        };
        let executed = self
            .handle(
                &request,
                &caller,
                &body.incident_id,
                "tillit.incidents.v1.ReviewIncident",
                command,
            )
            .await?;
        Ok(Response::new(ReviewIncidentResponse {
            consistency: Some(executed.consistency()),
        }))
    }

    pub(super) async fn add_action(
        &self,
        request: Request<AddActionRequest>,
    ) -> Result<Response<AddActionResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        caller.require(Permission::ManageIncidents)?;
        let body = request.get_ref();
        let title = text::line("title", &body.title, 300)?;
        let owner = body.owner_user_id.trim();
        if !self
            .state
            .identity
            .principal(owner)?
            .is_some_and(|p| p.active)
        {
            return Err(DomainError::refused(
                "owner_user_id",
                Reason::UnknownReference,
                format!("no active user {owner:?}"),
            )
            .into());
        }
        let due_at = validate::due(
            "due_at",
            body.due_at.as_ref(),
            self.state.store.clock().now(),
        )?;
        let command_meta = meta(&request, &caller);
        let action_id = command_meta.derive_id(&caller.tenant, "action");
        let command = IncidentCommand::AddAction(ActionAdded {
            action_id: action_id.as_str().to_owned(),
            title,
            owner_user_id: owner.to_owned(),
            due_at: Some(to_timestamp(due_at)),
        });
        let executed = self
            .handle(
                &request,
                &caller,
                &body.incident_id,
                "tillit.incidents.v1.AddAction",
                command,
            )
            .await?;
        Ok(Response::new(AddActionResponse {
            action_id: action_id.as_str().to_owned(),
            consistency: Some(executed.consistency()),
        }))
    }

    pub(super) async fn complete_action(
        &self,
        request: Request<CompleteActionRequest>,
    ) -> Result<Response<CompleteActionResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        let body = request.get_ref();
        // The action's owner may complete it too: who may is read from the incident.
        let (_, incident, view) = self.visible(&caller, &body.incident_id).await?;
        let owns = view == View::Full
            && incident
                .actions
                .iter()
                .any(|a| a.action_id == body.action_id && a.owner_user_id == caller.subject);
        if !(owns || (view == View::Full && caller.may(Permission::ManageIncidents))) {
            return Err(Refusal::PermissionDenied(format!(
                "action {} of incident {}: only a security officer, an admin or the action's owner completes it",
                body.action_id, incident.incident_id
            ))
            .into());
        }
        if owns && !caller.may(Permission::ManageIncidents) {
            caller.require_any(&[Permission::ReportDeviation, Permission::ReadEverything])?;
        }
        let command = IncidentCommand::CompleteAction {
            action_id: body.action_id.clone(),
            evidence: text::lines("evidence", &body.evidence, 10_000)?,
        };
        let executed = self
            .handle(
                &request,
                &caller,
                &body.incident_id,
                "tillit.incidents.v1.CompleteAction",
                command,
            )
            .await?;
        Ok(Response::new(CompleteActionResponse {
            consistency: Some(executed.consistency()),
        }))
    }

    pub(super) async fn accept_action_risk(
        &self,
        request: Request<AcceptActionRiskRequest>,
    ) -> Result<Response<AcceptActionRiskResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        caller.require_any(&[Permission::AcceptResidualRisk, Permission::ManageIncidents])?;
        let body = request.get_ref();
        let command = IncidentCommand::AcceptRisk(ActionRiskAccepted {
            action_id: body.action_id.clone(),
            reason: text::lines("reason", &body.reason, 4000)?,
            accepted_by: caller.subject.clone(),
        });
        let executed = self
            .handle(
                &request,
                &caller,
                &body.incident_id,
                "tillit.incidents.v1.AcceptActionRisk",
                command,
            )
            .await?;
        Ok(Response::new(AcceptActionRiskResponse {
            consistency: Some(executed.consistency()),
        }))
    }

    pub(super) async fn record_notification(
        &self,
        request: Request<RecordNotificationRequest>,
    ) -> Result<Response<RecordNotificationResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        caller.require(Permission::ManageObligations)?;
        let body = request.get_ref();
        let stage = tillit_api::vocabulary::optional("stage", body.stage)?
            .unwrap_or(NotificationStage::Initial);
        let now = self.state.store.clock().now();
        let sent = NotificationRecorded {
            obligation_id: body.obligation_id.clone(),
            stage: stage.word().to_owned(),
            channel: text::line("channel", &body.channel, 200)?,
            sent_at: Some(to_timestamp(validate::required_happened(
                "sent_at",
                body.sent_at.as_ref(),
                now,
            )?)),
            summary: text::optional_lines("summary", &body.summary, 20_000)?,
            report_fields: body.report_fields.clone(),
            external_reference: text::optional_line(
                "external_reference",
                &body.external_reference,
                200,
            )?,
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
                &caller,
                &body.incident_id,
                "tillit.incidents.v1.RecordNotification",
                command,
            )
            .await?;
        let status = executed
            .state
            .obligations
            .iter()
            .find(|o| o.obligation_id == body.obligation_id)
            .map_or(ObligationStatus::Pending.into(), |o| o.status);
        Ok(Response::new(RecordNotificationResponse {
            status,
            consistency: Some(executed.consistency()),
        }))
    }

    pub(super) async fn waive_obligation(
        &self,
        request: Request<WaiveObligationRequest>,
    ) -> Result<Response<WaiveObligationResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        caller.require(Permission::ManageObligations)?;
        let body = request.get_ref();
        let command = IncidentCommand::Waive(ObligationWaived {
            obligation_id: body.obligation_id.clone(),
            reason: text::lines("reason", &body.reason, 4000)?,
            waived_by: caller.subject.clone(),
        });
        let executed = self
            .handle(
                &request,
                &caller,
                &body.incident_id,
                "tillit.incidents.v1.WaiveObligation",
                command,
            )
            .await?;
        Ok(Response::new(WaiveObligationResponse {
            consistency: Some(executed.consistency()),
        }))
    }
}
