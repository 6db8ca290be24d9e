//! A customer of acme learns nothing of globex: every get and list that takes an id or a
//! tenant answers the same, byte for byte, for globex's ids as for ids that do not exist,
//! also when an incident affects both tenants.
use tillit_proto::common::Severity;
use tillit_proto::incidents::{
    AssetImpact, DataSubjectRisk, IncidentKind, SecurityProperty, TriageAssessment,
};

use prost::Message;
use tillit_integration_tests::identity::bearer;
use tillit_integration_tests::platform::{Platform, register_asset};
use tillit_proto::assets::{
    GetAssetRequest, GetAssetTimelineRequest, GetControlGapsRequest, GetProcessingRecordRequest,
    ListAssetsRequest, ListReviewsDueRequest,
};
use tillit_proto::common::ConsistencyToken;
use tillit_proto::identity::{
    GetTenantRequest, GetUserRequest, ListServiceAccountsRequest, ListUsersRequest, WhoAmIRequest,
};
use tillit_proto::incidents::{
    GetIncidentReportRequest, GetIncidentRequest, ListIncidentsRequest, ListObligationsDueRequest,
    ReportIncidentRequest, TriageIncidentRequest,
};
use tillit_proto::reporting::AcknowledgeReminderRequest;
use tillit_proto::reporting::reporting_service_client::ReportingServiceClient;

/// What a call answered, with the id asked for replaced, so two answers can be compared.
fn answer<T: Message>(result: Result<tonic::Response<T>, tonic::Status>, asked: &str) -> String {
    match result {
        Ok(response) => format!("ok {}", hex::encode(response.into_inner().encode_to_vec())),
        Err(status) => format!(
            "{:?} {} {}",
            status.code(),
            status.message().replace(asked, "<id>"),
            hex::encode(status.details())
        ),
    }
}

/// An incident triaged as affecting `assets`.
async fn incident(
    platform: &Platform,
    title: &str,
    assets: &[&str],
    token: ConsistencyToken,
) -> String {
    let mut incidents = platform.incidents().await;
    let id = incidents
        .report_incident(bearer(
            &platform.officer.0,
            ReportIncidentRequest {
                kind: IncidentKind::SecurityIncident.into(),
                title: title.into(),
                description: format!("{title}: internal details"),
                ..Default::default()
            },
        ))
        .await
        .expect("report")
        .into_inner()
        .incident_id;
    incidents
        .triage_incident(bearer(
            &platform.officer.0,
            TriageIncidentRequest {
                incident_id: id.clone(),
                triage: Some(TriageAssessment {
                    severity: Severity::High.into(),
                    affected_properties: vec![SecurityProperty::Availability.into()],
                    affected_assets: assets
                        .iter()
                        .map(|a| AssetImpact {
                            asset_id: (*a).into(),
                            ..Default::default()
                        })
                        .collect(),
                    personal_data_breach: true,
                    data_categories: vec!["contact details".into()],
                    approx_data_subjects: 10,
                    approx_records: 10,
                    risk_to_data_subjects: DataSubjectRisk::Risk.into(),
                    ..Default::default()
                }),
                consistency: Some(token),
            },
        ))
        .await
        .expect("triage");
    id
}

#[tokio::test]
async fn a_customer_gets_for_another_tenants_ids_exactly_what_it_gets_for_ids_that_do_not_exist() {
    let platform = Platform::start().await;
    let (acme_asset, t1) = register_asset(&platform, "acme", "Acme mail").await;
    let (globex_asset, t2) = register_asset(&platform, "globex", "Globex mail").await;
    let token = ConsistencyToken {
        positions: [t1.positions, t2.positions].concat(),
    };
    let shared = incident(
        &platform,
        "Shared mail outage",
        &[&acme_asset, &globex_asset],
        token.clone(),
    )
    .await;
    let globex_only = incident(&platform, "Globex breach", &[&globex_asset], token).await;
    let bob = platform
        ._identity
        .client()
        .await
        .who_am_i(bearer(&platform.bob, WhoAmIRequest::default()))
        .await
        .expect("bob")
        .into_inner()
        .subject;
    let alice = &platform.alice;
    let mut identity = platform._identity.client().await;
    let mut assets = platform.assets().await;
    let mut incidents = platform.incidents().await;
    let (reporting_service, _data) = platform.reporting(time::Duration::ZERO).await;
    let mut reporting = ReportingServiceClient::new(reporting_service.channel().await);

    // globex's ids beside ids of the same shape that name nothing.
    let pairs = [
        ("globex", "nosuchtenant"),
        (bob.as_str(), "0192f0c4-8a4e-7b51-9d0e-3f1c2b7a9e10"),
        (
            globex_asset.as_str(),
            "0192f0c4-8a4e-7b51-9d0e-3f1c2b7a9e11",
        ),
        (globex_only.as_str(), "0192f0c4-8a4e-7b51-9d0e-3f1c2b7a9e12"),
    ];
    let mut compared = 0;
    for (foreign, missing) in pairs {
        let mut answers = Vec::new();
        for id in [foreign, missing] {
            // One call as alice with `id` in `field`, its answer made comparable.
            macro_rules! ask {
                ($client:ident . $method:ident, $request:ident { $field:ident }) => {
                    answer(
                        $client
                            .$method(bearer(
                                alice,
                                $request {
                                    $field: id.to_owned(),
                                    ..Default::default()
                                },
                            ))
                            .await,
                        id,
                    )
                };
            }
            let asked = vec![
                ask!(identity.get_tenant, GetTenantRequest { tenant_id }),
                ask!(identity.list_users, ListUsersRequest { tenant_id }),
                ask!(identity.get_user, GetUserRequest { user_id }),
                ask!(
                    identity.list_service_accounts,
                    ListServiceAccountsRequest { tenant_id }
                ),
                ask!(assets.get_asset, GetAssetRequest { asset_id }),
                ask!(assets.list_assets, ListAssetsRequest { tenant_id }),
                ask!(
                    assets.get_asset_timeline,
                    GetAssetTimelineRequest { asset_id }
                ),
                ask!(assets.get_control_gaps, GetControlGapsRequest { tenant_id }),
                ask!(assets.get_control_gaps, GetControlGapsRequest { asset_id }),
                ask!(assets.list_reviews_due, ListReviewsDueRequest { tenant_id }),
                ask!(
                    assets.get_processing_record,
                    GetProcessingRecordRequest { tenant_id }
                ),
                ask!(incidents.get_incident, GetIncidentRequest { incident_id }),
                ask!(incidents.list_incidents, ListIncidentsRequest { tenant_id }),
                ask!(incidents.list_incidents, ListIncidentsRequest { linked_to }),
                ask!(
                    incidents.get_incident_report,
                    GetIncidentReportRequest { incident_id }
                ),
                ask!(
                    reporting.acknowledge_reminder,
                    AcknowledgeReminderRequest { reminder_id }
                ),
            ];
            answers.push(asked);
        }
        for (index, (a, b)) in answers[0].iter().zip(&answers[1]).enumerate() {
            assert_eq!(
                a, b,
                "call {index} answers {foreign} differently from {missing}"
            );
            compared += 1;
        }
    }
    eprintln!("{compared} answers compared");

    // The shared incident is alice's to see, without a trace of globex.
    let seen = incidents
        .get_incident(bearer(
            alice,
            GetIncidentRequest {
                incident_id: shared.clone(),
                consistency: None,
            },
        ))
        .await
        .expect("the shared incident")
        .into_inner();
    let bytes = seen.encode_to_vec();
    for trace in ["globex", "Globex", globex_asset.as_str()] {
        assert!(
            !String::from_utf8_lossy(&bytes).contains(trace),
            "{trace} shows in {seen:?}"
        );
    }
    let listed = incidents
        .list_incidents(bearer(alice, ListIncidentsRequest::default()))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.incidents.len(), 1, "only the shared incident");
    let due = incidents
        .list_obligations_due(bearer(alice, ListObligationsDueRequest::default()))
        .await;
    assert!(
        due.as_ref().map_or(true, |d| !String::from_utf8_lossy(
            &d.get_ref().encode_to_vec()
        )
        .contains("globex")),
        "{due:?}"
    );
}
