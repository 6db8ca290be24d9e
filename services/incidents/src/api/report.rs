//! The incident report: what GDPR Art. 33(3) asks a notification to contain and the NIS2
//! stage contents, from what was recorded (full view only).

use tillit_api::Refusal;
use tillit_auth::layer::caller;
use tillit_kernel::clock::from_timestamp;
use tillit_proto::Vocabulary as _;
use tillit_proto::incidents::{
    DataSubjectRisk, GetIncidentReportRequest, GetIncidentReportResponse, Incident,
};
use tonic::{Request, Response, Status};

use super::IncidentsApi;
use super::visibility::View;

impl IncidentsApi {
    pub(super) async fn get_incident_report(
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
        // Opened before it becomes JSON text, which the answer's reveal does not look into.
        let incident = self.state.store.vault()?.reveal(incident).await?;
        let report = incident_report(&incident, &self.state.config.dpo_contact);
        Ok(Response::new(GetIncidentReportResponse {
            json: serde_json::to_string_pretty(&report)
                .map_err(|e| Refusal::unwritable("incident report", e))?,
        }))
    }
}

/// The GDPR Art. 33(3) report and the NIS2 stage contents, from what was recorded.
fn incident_report(incident: &Incident, contact_point: &str) -> serde_json::Value {
    use serde_json::json;
    let triage = incident.triage.clone().unwrap_or_default();
    let measures: Vec<_> = incident
        .actions
        .iter()
        .map(|a| json!({ "action": a.title, "status": a.status().word() }))
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
                "status": o.status().word(),
                "required_fields": o.required_fields,
                "notifications": o.notifications.iter().map(|n| json!({
                    "stage": n.stage().word(), "sent_at": n.sent_at.as_ref().and_then(from_timestamp).map(|t| t.to_string()),
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
            "likely_consequences": format!("risk to data subjects: {}", match triage.risk_to_data_subjects() { DataSubjectRisk::Unspecified => "not assessed", risk => risk.word() }),
            "measures": measures,
        },
        "nis2": {
            "early_warning": { "suspected_malicious": triage.suspected_malicious, "cross_border_impact": triage.cross_border },
            "notification": { "severity": triage.severity().word(), "affected_properties": triage.affected_properties().map(|p| p.word()).collect::<Vec<_>>(), "users_affected_percent": triage.users_affected_percent, "estimated_direct_loss_eur": triage.estimated_direct_loss_eur },
            "final_report": { "root_cause_or_threat": incident.root_cause, "mitigation": incident.lessons_learned, "cross_border_impact": triage.cross_border },
        },
        "decisions": incident.decisions.iter().map(|d| json!({ "article": d.article, "decision": d.decision })).collect::<Vec<_>>(),
        "obligations": sent,
    })
}
