//! What the reporting tests share.
use tillit_proto::Vocabulary as _;
use tillit_proto::common::Severity;
use tillit_proto::incidents::{
    AssetImpact, DataSubjectRisk, IncidentKind, SecurityProperty, TriageAssessment,
};

use tillit_integration_tests::assets::Service;
use tillit_integration_tests::identity::bearer;
use tillit_integration_tests::platform::Platform;
pub use tillit_integration_tests::platform::everything;
use tillit_kernel::clock::to_timestamp;
use tillit_proto::common::{ConsistencyToken, Position};
use tillit_proto::incidents::{AddActionRequest, ReportIncidentRequest, TriageIncidentRequest};
use tillit_proto::reporting::reporting_service_client::ReportingServiceClient;
use tonic::transport::Channel;

/// Every stream the audit trail covers.
pub use tillit_integration_tests::platform::STREAMS;

/// A reporting client.
pub async fn client(reporting: &Service) -> ReportingServiceClient<Channel> {
    ReportingServiceClient::new(reporting.channel().await)
}

/// How many commits the streams hold together.
pub async fn commits(platform: &Platform) -> u64 {
    let mut total = 0;
    for name in STREAMS {
        total += tillit_integration_tests::platform::stream_messages(&platform.nats, name).await;
    }
    total
}

/// The later position per stream of two tokens.
pub fn merge(tokens: &[&ConsistencyToken]) -> ConsistencyToken {
    let mut positions: Vec<Position> = Vec::new();
    for position in tokens.iter().flat_map(|t| &t.positions) {
        match positions.iter_mut().find(|p| p.stream == position.stream) {
            Some(p) => p.sequence = p.sequence.max(position.sequence),
            None => positions.push(position.clone()),
        }
    }
    ConsistencyToken { positions }
}

pub use tillit_integration_tests::platform::register_asset;

/// Someone reports a deviation; answers its id and token.
pub async fn report(platform: &Platform, token: &str, title: &str) -> (String, ConsistencyToken) {
    let reported = platform
        .incidents()
        .await
        .report_incident(bearer(
            token,
            ReportIncidentRequest {
                kind: IncidentKind::Deviation.into(),
                title: title.into(),
                description: format!("{title}: details"),
                ..Default::default()
            },
        ))
        .await
        .expect("report")
        .into_inner();
    (reported.incident_id, reported.consistency.expect("token"))
}

/// The officer triages an incident at `severity`, a personal-data breach of `assets`.
pub async fn triage(
    platform: &Platform,
    incident: &str,
    severity: &str,
    assets: &[&str],
    after: &ConsistencyToken,
) -> ConsistencyToken {
    platform
        .incidents()
        .await
        .triage_incident(bearer(
            &platform.officer.0,
            TriageIncidentRequest {
                incident_id: incident.into(),
                triage: Some(TriageAssessment {
                    severity: Severity::read(severity),
                    affected_properties: vec![SecurityProperty::Confidentiality.into()],
                    affected_assets: assets
                        .iter()
                        .map(|id| AssetImpact {
                            asset_id: (*id).into(),
                            ..Default::default()
                        })
                        .collect(),
                    personal_data_breach: !assets.is_empty(),
                    data_categories: vec!["contact details".into()],
                    approx_data_subjects: 100,
                    approx_records: 300,
                    risk_to_data_subjects: DataSubjectRisk::Risk.into(),
                    ..Default::default()
                }),
                consistency: Some(after.clone()),
            },
        ))
        .await
        .expect("triage")
        .into_inner()
        .consistency
        .expect("token")
}

/// The officer adds a corrective action due in `days`.
pub async fn add_action(platform: &Platform, incident: &str, days: i64) -> ConsistencyToken {
    platform
        .incidents()
        .await
        .add_action(bearer(
            &platform.officer.0,
            AddActionRequest {
                incident_id: incident.into(),
                title: "Rotate the exposed credentials".into(),
                owner_user_id: platform.officer.1.clone(),
                due_at: Some(to_timestamp(
                    time::OffsetDateTime::now_utc() + time::Duration::days(days),
                )),
                consistency: None,
            },
        ))
        .await
        .expect("action")
        .into_inner()
        .consistency
        .expect("token")
}
