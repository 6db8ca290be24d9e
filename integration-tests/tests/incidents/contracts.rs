//! A customer's contract terms changed: obligations already arisen keep their due times,
//! new ones follow the new terms, and the old terms stay in the tenant's history.

use tillit_integration_tests::identity::bearer;
use tillit_integration_tests::platform::{Platform, register_asset, stream_messages};
use tillit_proto::common::ConsistencyToken;
use tillit_proto::identity::{ContractTerms, GetTenantRequest, UpdateTenantRequest};
use tillit_proto::incidents::{
    AssetImpact, DataSubjectRisk, GetIncidentRequest, Incident, IncidentKind,
    ReportIncidentRequest, SecurityProperty, TriageAssessment, TriageIncidentRequest,
};

/// A personal-data breach of `asset` reported now and triaged; the incident as triaged.
async fn breach(platform: &Platform, asset: &str, token: ConsistencyToken) -> Incident {
    let mut incidents = platform.incidents().await;
    let reported = incidents
        .report_incident(bearer(
            &platform.employee.0,
            ReportIncidentRequest {
                kind: IncidentKind::SecurityIncident.into(),
                title: "Mailbox exposed".into(),
                description: "Found open".into(),
                ..Default::default()
            },
        ))
        .await
        .expect("report")
        .into_inner();
    let triage = TriageAssessment {
        severity: tillit_proto::common::Severity::High.into(),
        affected_properties: vec![SecurityProperty::Confidentiality.into()],
        affected_assets: vec![AssetImpact {
            asset_id: asset.into(),
            ..Default::default()
        }],
        personal_data_breach: true,
        data_categories: vec!["contact details".into()],
        approx_data_subjects: 10,
        approx_records: 10,
        risk_to_data_subjects: DataSubjectRisk::Risk.into(),
        ..Default::default()
    };
    let token = ConsistencyToken {
        positions: [
            token.positions,
            reported
                .consistency
                .map(|c| c.positions)
                .unwrap_or_default(),
        ]
        .concat(),
    };
    let triaged = incidents
        .triage_incident(bearer(
            &platform.officer.0,
            TriageIncidentRequest {
                incident_id: reported.incident_id.clone(),
                triage: Some(triage),
                consistency: Some(token),
            },
        ))
        .await
        .expect("triage")
        .into_inner();
    incidents
        .get_incident(bearer(
            &platform.officer.0,
            GetIncidentRequest {
                incident_id: reported.incident_id,
                consistency: triaged.consistency,
            },
        ))
        .await
        .expect("get")
        .into_inner()
        .incident
        .expect("incident")
}

/// Hours from awareness to the due time of each obligation towards acme, by id.
fn acme_hours(incident: &Incident) -> Vec<(String, i64)> {
    let aware = incident.aware_at.as_ref().map_or(0, |t| t.seconds);
    incident
        .obligations
        .iter()
        .filter(|o| o.recipient_tenant_id == "acme")
        .map(|o| {
            let due = o.due_at.as_ref().map_or(0, |t| t.seconds);
            (o.obligation_id.clone(), (due - aware) / 3600)
        })
        .collect()
}

#[tokio::test]
async fn new_notice_hours_apply_to_new_obligations_and_arisen_ones_keep_their_due_times() {
    let platform = Platform::start().await;
    let (asset, registered) = register_asset(&platform, "acme", "Acme mail").await;
    let first = breach(&platform, &asset, registered.clone()).await;
    let before = acme_hours(&first);

    let admin = platform._identity.admin_token().await;
    let mut identity = platform._identity.client().await;
    let acme = identity
        .get_tenant(bearer(
            &admin,
            GetTenantRequest {
                tenant_id: "acme".into(),
                consistency: None,
            },
        ))
        .await
        .expect("acme")
        .into_inner()
        .tenant
        .expect("tenant");
    let history = stream_messages(&platform.nats, "IDENTITY").await;
    let updated = identity
        .update_tenant(bearer(
            &admin,
            UpdateTenantRequest {
                tenant_id: "acme".into(),
                name: acme.name.clone(),
                organisation_number: acme.organisation_number.clone(),
                incident_contacts: acme.incident_contacts.clone(),
                contract: Some(ContractTerms {
                    breach_notice_hours: 12,
                    ..acme.contract.clone().unwrap_or_default()
                }),
                consistency: None,
            },
        ))
        .await
        .expect("update")
        .into_inner();
    assert_eq!(
        stream_messages(&platform.nats, "IDENTITY").await,
        history + 1,
        "one more event: the old terms stay in the log"
    );
    let token = updated.consistency.expect("token");

    let again = platform
        .incidents()
        .await
        .get_incident(bearer(
            &platform.officer.0,
            GetIncidentRequest {
                incident_id: first.incident_id.clone(),
                consistency: Some(token.clone()),
            },
        ))
        .await
        .expect("get")
        .into_inner()
        .incident
        .expect("incident");
    assert_eq!(
        acme_hours(&again),
        before,
        "arisen obligations keep their due times"
    );

    let second = breach(&platform, &asset, token).await;
    let hours_of = |found: &[(String, i64)], id: &str| {
        found.iter().find(|(o, _)| o == id).map(|(_, hours)| *hours)
    };
    let after = acme_hours(&second);
    assert_eq!(hours_of(&before, "gdpr-33-2:acme"), Some(24), "{before:?}");
    assert_eq!(
        hours_of(&after, "gdpr-33-2:acme"),
        Some(12),
        "a new breach follows the new breach notice hours: {after:?}"
    );
    assert_eq!(
        hours_of(&after, "contract-outage-notice:acme"),
        Some(24),
        "the outage hours were not changed"
    );
}
