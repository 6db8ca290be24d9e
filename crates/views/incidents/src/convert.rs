//! Between the incident's events and its API: the events keep the words they were
//! written with (`"high"`, `"processor"`), the API and the read models carry enums. Each
//! message that exists in both forms converts here, once per direction; an event word
//! this version does not know reads as unspecified, never as another value.

use tillit_proto::Vocabulary;
use tillit_proto::common::Severity;
use tillit_proto::incidents::{
    AffectedAsset, AffectedCustomer, AssetImpact, CustomerImpact, DataRole, DataSubjectRisk,
    Notification, NotificationRecorded, NotificationStage, SecurityProperty, Triage,
    TriageAssessment,
};

/// A triage as the API shows it, from the event's.
pub fn assessment(triage: &Triage) -> TriageAssessment {
    TriageAssessment {
        severity: Severity::read(&triage.severity),
        affected_properties: triage
            .affected_properties
            .iter()
            .map(|p| SecurityProperty::read(p))
            .collect(),
        affected_assets: triage
            .affected_assets
            .iter()
            .map(|a| AssetImpact {
                asset_id: a.asset_id.clone(),
                name: a.name.clone(),
                tenant_id: a.tenant_id.clone(),
                our_role: DataRole::read(&a.our_role),
                confidentiality: a.confidentiality,
                integrity: a.integrity,
                availability: a.availability,
                personal_data: a.personal_data,
            })
            .collect(),
        affected_customers: triage
            .affected_customers
            .iter()
            .map(|c| CustomerImpact {
                tenant_id: c.tenant_id.clone(),
                our_role: DataRole::read(&c.our_role),
            })
            .collect(),
        personal_data_breach: triage.personal_data_breach,
        data_categories: triage.data_categories.clone(),
        approx_data_subjects: triage.approx_data_subjects,
        approx_records: triage.approx_records,
        risk_to_data_subjects: DataSubjectRisk::read(&triage.risk_to_data_subjects),
        suspected_malicious: triage.suspected_malicious,
        cross_border: triage.cross_border,
        outage_start: triage.outage_start,
        outage_end: triage.outage_end,
        planned_maintenance: triage.planned_maintenance,
        users_affected_percent: triage.users_affected_percent,
        estimated_direct_loss_eur: triage.estimated_direct_loss_eur,
        data_compromised: triage.data_compromised,
        notes: triage.notes.clone(),
    }
}

/// The event's triage from the API's (values the service has validated).
pub fn triage(assessment: &TriageAssessment) -> Triage {
    Triage {
        severity: Severity::word_of(assessment.severity).to_owned(),
        affected_properties: assessment
            .affected_properties
            .iter()
            .map(|p| SecurityProperty::word_of(*p).to_owned())
            .collect(),
        affected_assets: assessment
            .affected_assets
            .iter()
            .map(|a| AffectedAsset {
                asset_id: a.asset_id.clone(),
                name: a.name.clone(),
                tenant_id: a.tenant_id.clone(),
                our_role: DataRole::word_of(a.our_role).to_owned(),
                confidentiality: a.confidentiality,
                integrity: a.integrity,
                availability: a.availability,
                personal_data: a.personal_data,
            })
            .collect(),
        affected_customers: assessment
            .affected_customers
            .iter()
            .map(|c| AffectedCustomer {
                tenant_id: c.tenant_id.clone(),
                our_role: DataRole::word_of(c.our_role).to_owned(),
            })
            .collect(),
        personal_data_breach: assessment.personal_data_breach,
        data_categories: assessment.data_categories.clone(),
        approx_data_subjects: assessment.approx_data_subjects,
        approx_records: assessment.approx_records,
        risk_to_data_subjects: DataSubjectRisk::word_of(assessment.risk_to_data_subjects)
            .to_owned(),
        suspected_malicious: assessment.suspected_malicious,
        cross_border: assessment.cross_border,
        outage_start: assessment.outage_start,
        outage_end: assessment.outage_end,
        planned_maintenance: assessment.planned_maintenance,
        users_affected_percent: assessment.users_affected_percent,
        estimated_direct_loss_eur: assessment.estimated_direct_loss_eur,
        data_compromised: assessment.data_compromised,
        notes: assessment.notes.clone(),
    }
}

/// A recorded notification as the API shows it.
pub fn notification(recorded: &NotificationRecorded) -> Notification {
    Notification {
        obligation_id: recorded.obligation_id.clone(),
        stage: NotificationStage::read(&recorded.stage),
        channel: recorded.channel.clone(),
        sent_at: recorded.sent_at,
        summary: recorded.summary.clone(),
        report_fields: recorded.report_fields.clone(),
        external_reference: recorded.external_reference.clone(),
        meets: recorded.meets,
        late: recorded.late,
        delay_reason: recorded.delay_reason.clone(),
        recorded_by: recorded.recorded_by.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_triage_survives_the_trip_through_the_api_and_keeps_its_words() {
        let stored = Triage {
            severity: "high".into(),
            affected_properties: vec!["confidentiality".into(), "integrity".into()],
            affected_assets: vec![AffectedAsset {
                asset_id: "a1".into(),
                our_role: "processor".into(),
                ..Default::default()
            }],
            affected_customers: vec![AffectedCustomer {
                tenant_id: "acme".into(),
                our_role: "processor".into(),
            }],
            personal_data_breach: true,
            risk_to_data_subjects: "risk".into(),
            ..Default::default()
        };
        let shown = assessment(&stored);
        assert_eq!(shown.severity(), Severity::High);
        assert_eq!(shown.affected_assets[0].our_role(), DataRole::Processor);
        assert_eq!(shown.risk_to_data_subjects(), DataSubjectRisk::Risk);
        assert_eq!(triage(&shown), stored);
    }

    #[test]
    fn a_word_this_version_does_not_know_reads_as_unspecified() {
        let shown = assessment(&Triage {
            severity: "apocalyptic".into(),
            ..Default::default()
        });
        assert_eq!(shown.severity(), Severity::Unspecified);
    }
}
