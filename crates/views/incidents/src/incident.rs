//! The incident's events and their fold, shared by the incidents service's decider and
//! every service that runs the incident register. Its state is the API's own `Incident`
//! message: the events' words become the API's enums here ([`crate::convert`]).

use tillit_kernel::AggregateType;
use tillit_proto::Vocabulary as _;
use tillit_proto::incidents::{
    Action, ActionAdded, ActionCompleted, ActionRiskAccepted, DecisionDocumented, Incident,
    IncidentClosed, IncidentContained, IncidentLinked, IncidentRejected, IncidentReopened,
    IncidentReported, IncidentResolved, IncidentTriaged, NotificationRecorded, Obligation,
    ObligationArisen, ObligationDueSet, ObligationNoLongerRequired, ObligationWaived,
    PostIncidentReviewed,
};
use tillit_proto::incidents::{ActionStatus, IncidentStatus, ObligationKind, ObligationStatus};

use crate::convert::{assessment, notification};

/// The aggregate type of an incident's commits.
pub const INCIDENT: AggregateType = AggregateType::new("incident");

tillit_kernel::event_enum! {
    /// Events of an incident.
    pub enum IncidentEvent {
        /// The incident was reported.
        Reported(IncidentReported),
        /// It was triaged (again), with the full triage.
        Triaged(IncidentTriaged),
        /// Linked to a related incident.
        Linked(IncidentLinked),
        /// It was contained.
        Contained(IncidentContained),
        /// It was resolved.
        Resolved(IncidentResolved),
        /// Post-incident review.
        Reviewed(PostIncidentReviewed),
        /// It was closed after its review.
        Closed(IncidentClosed),
        /// It was rejected as not an incident.
        Rejected(IncidentRejected),
        /// It was reopened, with the reason.
        Reopened(IncidentReopened),
        /// Corrective action added.
        ActionAdded(ActionAdded),
        /// Corrective action completed.
        ActionCompleted(ActionCompleted),
        /// Residual risk accepted.
        ActionRiskAccepted(ActionRiskAccepted),
        /// An obligation to notify arose.
        ObligationArisen(ObligationArisen),
        /// The NIS2 final report's due time was fixed.
        ObligationDueSet(ObligationDueSet),
        /// An obligation is no longer required.
        ObligationNoLongerRequired(ObligationNoLongerRequired),
        /// A notification or filing was sent.
        NotificationRecorded(NotificationRecorded),
        /// An obligation was waived.
        ObligationWaived(ObligationWaived),
        /// A decision was documented.
        DecisionDocumented(DecisionDocumented),
    }
}

/// Folds one event into the incident.
pub fn apply(incident: &mut Incident, event: &IncidentEvent) {
    match event {
        IncidentEvent::Reported(e) => {
            incident.incident_id = e.incident_id.clone();
            incident.tenant_id = e.reporter_tenant_id.clone();
            incident.kind = tillit_proto::incidents::IncidentKind::read(&e.kind);
            incident.title = e.title.clone();
            incident.description = e.description.clone();
            incident.reporter = e.reporter.clone();
            incident.detected_at = e.detected_at;
            incident.aware_at = e.aware_at;
            incident.set_status(IncidentStatus::Reported);
        }
        IncidentEvent::Triaged(e) => {
            incident.triage = e.triage.as_ref().map(assessment);
            if incident.status() == IncidentStatus::Reported {
                incident.set_status(IncidentStatus::Triaged);
            }
        }
        IncidentEvent::Linked(e) => incident
            .linked_incident_ids
            .push(e.related_incident_id.clone()),
        IncidentEvent::Contained(e) => {
            incident.set_status(IncidentStatus::Contained);
            incident.contained_at = e.at;
        }
        IncidentEvent::Resolved(e) => {
            incident.set_status(IncidentStatus::Resolved);
            incident.resolved_at = e.at;
        }
        IncidentEvent::Reviewed(e) => {
            incident.root_cause = e.root_cause.clone();
            incident.lessons_learned = e.lessons_learned.clone();
        }
        IncidentEvent::Closed(e) => {
            incident.set_status(IncidentStatus::Closed);
            incident.closed_at = e.at;
        }
        IncidentEvent::Rejected(e) => {
            incident.set_status(IncidentStatus::Rejected);
            incident.reason = e.reason.clone();
        }
        IncidentEvent::Reopened(e) => {
            incident.set_status(if incident.triage.is_some() {
                IncidentStatus::Triaged
            } else {
                IncidentStatus::Reported
            });
            incident.closed_at = None;
            incident.reason = e.reason.clone();
        }
        IncidentEvent::ActionAdded(e) => incident.actions.push(Action {
            action_id: e.action_id.clone(),
            title: e.title.clone(),
            owner_user_id: e.owner_user_id.clone(),
            due_at: e.due_at,
            status: ActionStatus::Open.into(),
            resolution: String::new(),
        }),
        IncidentEvent::ActionCompleted(e) => {
            if let Some(action) = incident
                .actions
                .iter_mut()
                .find(|a| a.action_id == e.action_id)
            {
                action.set_status(ActionStatus::Completed);
                action.resolution = e.evidence.clone();
            }
        }
        IncidentEvent::ActionRiskAccepted(e) => {
            if let Some(action) = incident
                .actions
                .iter_mut()
                .find(|a| a.action_id == e.action_id)
            {
                action.set_status(ActionStatus::RiskAccepted);
                action.resolution = e.reason.clone();
            }
        }
        IncidentEvent::ObligationArisen(e) => {
            let obligation = Obligation {
                obligation_id: e.obligation_id.clone(),
                clock: ObligationKind::read(&e.clock),
                article: e.article.clone(),
                recipient: e.recipient.clone(),
                recipient_tenant_id: e.recipient_tenant_id.clone(),
                due_at: e.due_at,
                status: ObligationStatus::Pending.into(),
                required_fields: e.required_fields.clone(),
                notifications: Vec::new(),
                reason: String::new(),
                incident_id: incident.incident_id.clone(),
                clocks_sha256: e.clocks_sha256.clone(),
            };
            match incident
                .obligations
                .iter_mut()
                .find(|o| o.obligation_id == e.obligation_id)
            {
                Some(existing) => {
                    *existing = Obligation {
                        notifications: std::mem::take(&mut existing.notifications),
                        ..obligation
                    }
                }
                None => incident.obligations.push(obligation),
            }
        }
        IncidentEvent::ObligationDueSet(e) => {
            if let Some(obligation) = incident
                .obligations
                .iter_mut()
                .find(|o| o.obligation_id == e.obligation_id)
            {
                obligation.due_at = e.due_at;
            }
        }
        IncidentEvent::ObligationNoLongerRequired(e) => {
            if let Some(obligation) = incident
                .obligations
                .iter_mut()
                .find(|o| o.obligation_id == e.obligation_id)
            {
                obligation.set_status(ObligationStatus::NotRequired);
                obligation.reason = e.reason.clone();
            }
        }
        IncidentEvent::NotificationRecorded(e) => {
            if let Some(obligation) = incident
                .obligations
                .iter_mut()
                .find(|o| o.obligation_id == e.obligation_id)
            {
                if e.meets {
                    obligation.set_status(if e.late {
                        ObligationStatus::Late
                    } else {
                        ObligationStatus::Met
                    });
                    obligation.reason = e.delay_reason.clone();
                }
                obligation.notifications.push(notification(e));
            }
        }
        IncidentEvent::ObligationWaived(e) => {
            if let Some(obligation) = incident
                .obligations
                .iter_mut()
                .find(|o| o.obligation_id == e.obligation_id)
            {
                obligation.set_status(ObligationStatus::Waived);
                obligation.reason = e.reason.clone();
            }
        }
        IncidentEvent::DecisionDocumented(e) => incident.decisions.push(e.clone()),
    }
}
