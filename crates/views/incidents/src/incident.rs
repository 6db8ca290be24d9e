//! The incident's events, its status vocabularies and their fold, shared by the
//! incidents service's decider and every service that runs the incident register. Its
//! state is the API's own `Incident` message.

use tillit_kernel::AggregateType;
use tillit_proto::incidents::{
    Action, ActionAdded, ActionCompleted, ActionRiskAccepted, DecisionDocumented, Incident,
    IncidentClosed, IncidentContained, IncidentLinked, IncidentRejected, IncidentReopened,
    IncidentReported, IncidentResolved, IncidentTriaged, NotificationRecorded, Obligation,
    ObligationArisen, ObligationDueSet, ObligationNoLongerRequired, ObligationWaived,
    PostIncidentReviewed,
};

/// The aggregate type of an incident's commits.
pub const INCIDENT: AggregateType = AggregateType::new("incident");

tillit_kernel::event_enum! {
    /// Events of an incident.
    pub enum IncidentEvent {
        /// Reported.
        Reported(IncidentReported),
        /// Triaged.
        Triaged(IncidentTriaged),
        /// Linked to a related incident.
        Linked(IncidentLinked),
        /// Contained.
        Contained(IncidentContained),
        /// Resolved.
        Resolved(IncidentResolved),
        /// Post-incident review.
        Reviewed(PostIncidentReviewed),
        /// Closed.
        Closed(IncidentClosed),
        /// Rejected.
        Rejected(IncidentRejected),
        /// Reopened.
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

/// Obligation statuses.
pub mod obligation_status {
    /// Not yet met.
    pub const PENDING: &str = "pending";
    /// Met in time.
    pub const MET: &str = "met";
    /// Met after the due time, with a reason.
    pub const LATE: &str = "late";
    /// Waived, with a reason.
    pub const WAIVED: &str = "waived";
    /// A re-triage found it no longer required.
    pub const NOT_REQUIRED: &str = "not_required";
}

/// Statuses.
pub mod status {
    /// Reported, not yet triaged.
    pub const REPORTED: &str = "reported";
    /// Triaged.
    pub const TRIAGED: &str = "triaged";
    /// Contained.
    pub const CONTAINED: &str = "contained";
    /// Resolved.
    pub const RESOLVED: &str = "resolved";
    /// Closed.
    pub const CLOSED: &str = "closed";
    /// Rejected.
    pub const REJECTED: &str = "rejected";
}

/// Action statuses.
pub mod action_status {
    /// To do.
    pub const OPEN: &str = "open";
    /// Done.
    pub const COMPLETED: &str = "completed";
    /// Not done; the residual risk was accepted.
    pub const RISK_ACCEPTED: &str = "risk_accepted";
}

/// Folds one event into the incident.
pub fn apply(incident: &mut Incident, event: &IncidentEvent) {
    use status::*;
    match event {
        IncidentEvent::Reported(e) => {
            incident.incident_id = e.incident_id.clone();
            incident.tenant_id = e.reporter_tenant_id.clone();
            incident.kind = e.kind.clone();
            incident.title = e.title.clone();
            incident.description = e.description.clone();
            incident.reporter = e.reporter.clone();
            incident.detected_at = e.detected_at;
            incident.aware_at = e.aware_at;
            incident.status = REPORTED.into();
        }
        IncidentEvent::Triaged(e) => {
            incident.triage = e.triage.clone();
            if incident.status == REPORTED {
                incident.status = TRIAGED.into();
            }
        }
        IncidentEvent::Linked(e) => incident
            .linked_incident_ids
            .push(e.related_incident_id.clone()),
        IncidentEvent::Contained(e) => {
            incident.status = CONTAINED.into();
            incident.contained_at = e.at;
        }
        IncidentEvent::Resolved(e) => {
            incident.status = RESOLVED.into();
            incident.resolved_at = e.at;
        }
        IncidentEvent::Reviewed(e) => {
            incident.root_cause = e.root_cause.clone();
            incident.lessons_learned = e.lessons_learned.clone();
        }
        IncidentEvent::Closed(e) => {
            incident.status = CLOSED.into();
            incident.closed_at = e.at;
        }
        IncidentEvent::Rejected(e) => {
            incident.status = REJECTED.into();
            incident.reason = e.reason.clone();
        }
        IncidentEvent::Reopened(e) => {
            incident.status = if incident.triage.is_some() {
                TRIAGED
            } else {
                REPORTED
            }
            .into();
            incident.closed_at = None;
            incident.reason = e.reason.clone();
        }
        IncidentEvent::ActionAdded(e) => incident.actions.push(Action {
            action_id: e.action_id.clone(),
            title: e.title.clone(),
            owner_user_id: e.owner_user_id.clone(),
            due_at: e.due_at,
            status: action_status::OPEN.into(),
            resolution: String::new(),
        }),
        IncidentEvent::ActionCompleted(e) => {
            if let Some(action) = incident
                .actions
                .iter_mut()
                .find(|a| a.action_id == e.action_id)
            {
                action.status = action_status::COMPLETED.into();
                action.resolution = e.evidence.clone();
            }
        }
        IncidentEvent::ActionRiskAccepted(e) => {
            if let Some(action) = incident
                .actions
                .iter_mut()
                .find(|a| a.action_id == e.action_id)
            {
                action.status = action_status::RISK_ACCEPTED.into();
                action.resolution = e.reason.clone();
            }
        }
        IncidentEvent::ObligationArisen(e) => {
            let obligation = Obligation {
                obligation_id: e.obligation_id.clone(),
                clock: e.clock.clone(),
                article: e.article.clone(),
                recipient: e.recipient.clone(),
                recipient_tenant_id: e.recipient_tenant_id.clone(),
                due_at: e.due_at,
                status: obligation_status::PENDING.into(),
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
                obligation.status = obligation_status::NOT_REQUIRED.into();
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
                    obligation.status = if e.late {
                        obligation_status::LATE
                    } else {
                        obligation_status::MET
                    }
                    .into();
                    obligation.reason = e.delay_reason.clone();
                }
                obligation.notifications.push(e.clone());
            }
        }
        IncidentEvent::ObligationWaived(e) => {
            if let Some(obligation) = incident
                .obligations
                .iter_mut()
                .find(|o| o.obligation_id == e.obligation_id)
            {
                obligation.status = obligation_status::WAIVED.into();
                obligation.reason = e.reason.clone();
            }
        }
        IncidentEvent::DecisionDocumented(e) => incident.decisions.push(e.clone()),
    }
}
