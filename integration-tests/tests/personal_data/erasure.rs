//! Erasure (GDPR Art. 17) and the export (Art. 15): two people, legal holds, "erased" in
//! place of the person in every answer and every rebuild, the chain whole, the key's bytes
//! gone, and destruction redone after the key store was restored.

use tillit_integration_tests::assets::{incidents_config, start_incidents};
use tillit_integration_tests::identity::{bearer, start_identity, test_config};
use tillit_integration_tests::platform::{Platform, everything, stream_messages};
use tillit_kernel::personal::ERASED;
use tillit_proto::identity::{
    ApproveErasureRequest, DeactivateUserRequest, EraseDataSubjectRequest,
    ExportDataSubjectRequest, GetUserRequest, ListErasuresRequest, User,
};
use tillit_proto::incidents::incidents_service_client::IncidentsServiceClient;
use tillit_proto::incidents::{
    GetIncidentRequest, IncidentKind, ReportIncidentRequest, TriageAssessment,
    TriageIncidentRequest,
};
use tillit_proto::reporting::reporting_service_client::ReportingServiceClient;
use tillit_proto::reporting::{AuditFilter, GetAnnualReportRequest, QueryAuditRequest};
use tonic::Code;

use super::{files_containing, files_containing_bytes};

const EMAIL: &str = "ylva.raderad@tillit.test";
const DESCRIPTION: &str = "Ylva tappade passerkortet vid entrén";

struct People {
    admin: String,
    manager: String,
    ylva: User,
    ylva_token: String,
}

async fn people(platform: &Platform) -> People {
    let identity = &platform._identity;
    let admin = identity.admin_token().await;
    let (_, manager, _) = identity
        .create_user(&admin, "internal", "maja.manager@tillit.test", &["manager"])
        .await;
    let (ylva, login, _) = identity
        .create_user(&admin, "internal", EMAIL, &["employee"])
        .await;
    People {
        admin,
        manager: manager.access_token,
        ylva,
        ylva_token: login.access_token,
    }
}

async fn report(
    platform: &Platform,
    token: &str,
    kind: IncidentKind,
    text: &str,
) -> (String, tillit_proto::common::ConsistencyToken) {
    let reported = platform
        .incidents()
        .await
        .report_incident(bearer(
            token,
            ReportIncidentRequest {
                kind: kind.into(),
                title: "Lost badge".into(),
                description: text.into(),
                ..Default::default()
            },
        ))
        .await
        .expect("report")
        .into_inner();
    (
        reported.incident_id,
        reported.consistency.unwrap_or_default(),
    )
}

async fn deactivate(platform: &Platform, admin: &str, user_id: &str) {
    platform
        ._identity
        .client()
        .await
        .deactivate_user(bearer(
            admin,
            DeactivateUserRequest {
                user_id: user_id.into(),
                consistency: None,
            },
        ))
        .await
        .expect("deactivate");
}

async fn request_erasure(
    platform: &Platform,
    token: &str,
    subject: &str,
) -> Result<String, tonic::Status> {
    platform
        ._identity
        .client()
        .await
        .erase_data_subject(bearer(
            token,
            EraseDataSubjectRequest {
                subject_id: subject.into(),
                reason: "Art. 17 request, case 2026-118".into(),
                consistency: None,
            },
        ))
        .await
        .map(|r| r.into_inner().erasure_id)
}

/// Approves; answers the approval's consistency token.
async fn approve(
    platform: &Platform,
    token: &str,
    erasure: &str,
) -> Result<Option<tillit_proto::common::ConsistencyToken>, tonic::Status> {
    platform
        ._identity
        .client()
        .await
        .approve_erasure(bearer(
            token,
            ApproveErasureRequest {
                erasure_id: erasure.into(),
                consistency: None,
            },
        ))
        .await
        .map(|r| r.into_inner().consistency)
}

async fn user(platform: &Platform, admin: &str, id: &str) -> User {
    platform
        ._identity
        .client()
        .await
        .get_user(bearer(
            admin,
            GetUserRequest {
                user_id: id.into(),
                consistency: None,
            },
        ))
        .await
        .expect("get user")
        .into_inner()
        .user
        .expect("user")
}

async fn export(platform: &Platform, token: &str, subject: &str) -> serde_json::Value {
    let json = platform
        ._identity
        .client()
        .await
        .export_data_subject(bearer(
            token,
            ExportDataSubjectRequest {
                subject_id: subject.into(),
                consistency: None,
            },
        ))
        .await
        .expect("export")
        .into_inner()
        .json;
    serde_json::from_str(&json).expect("the export is JSON")
}

async fn description(
    client: &mut IncidentsServiceClient<tonic::transport::Channel>,
    token: &str,
    id: &str,
    after: Option<tillit_proto::common::ConsistencyToken>,
) -> String {
    client
        .get_incident(bearer(
            token,
            GetIncidentRequest {
                incident_id: id.into(),
                consistency: after,
            },
        ))
        .await
        .expect("get incident")
        .into_inner()
        .incident
        .expect("incident")
        .description
}

/// The annual report's hash as of `as_of`, and `actor`'s audit entries (erased flags) once
/// reporting has applied `as_of` and `seen`.
async fn reporting_view(
    reporting: &mut ReportingServiceClient<tonic::transport::Channel>,
    admin: &str,
    actor: &str,
    as_of: &[tillit_proto::common::Position],
    seen: &[tillit_proto::common::Position],
) -> (String, Vec<bool>) {
    let report = reporting
        .get_annual_report(bearer(
            admin,
            GetAnnualReportRequest {
                year: time::OffsetDateTime::now_utc().year(),
                as_of: as_of
                    .iter()
                    .filter(|p| ["IDENTITY", "ASSETS", "INCIDENTS"].contains(&p.stream.as_str()))
                    .cloned()
                    .collect(),
            },
        ))
        .await
        .expect("annual report")
        .into_inner();
    let entries = reporting
        .query_audit(bearer(
            admin,
            QueryAuditRequest {
                filter: Some(AuditFilter {
                    actor: actor.into(),
                    ..Default::default()
                }),
                page: None,
                consistency: Some(tillit_proto::common::ConsistencyToken {
                    positions: if seen.is_empty() { as_of } else { seen }.to_vec(),
                }),
            },
        ))
        .await
        .expect("audit")
        .into_inner()
        .entries;
    (
        report.report_sha256,
        entries.iter().map(|e| e.actor_erased).collect(),
    )
}

/// The stored record of `subject`'s key in the KEYS stream, as bytes.
async fn key_record(url: &str, subject: &str) -> Option<Vec<u8>> {
    let js = async_nats::jetstream::new(async_nats::connect(url).await.expect("nats"));
    let stream = js.get_stream("KEYS").await.expect("KEYS");
    stream
        .get_last_raw_message_by_subject(&format!("tillit.keys.{subject}"))
        .await
        .ok()
        .map(|m| m.payload.to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasure_takes_two_people_and_leaves_erased_in_place_of_the_person() {
    let platform = Platform::start().await;
    let people = people(&platform).await;
    let ylva = people.ylva.user_id.clone();
    let officer = platform.officer.0.clone();
    let (incident, _) = report(
        &platform,
        &people.ylva_token,
        IncidentKind::Deviation,
        DESCRIPTION,
    )
    .await;

    // The person may export their own data, and it is all there, opened.
    let own = export(&platform, &people.ylva_token, "").await.to_string();
    assert!(own.contains(EMAIL) && own.contains(DESCRIPTION), "{own}");

    // Not while the account is active; not without a second person.
    let active = request_erasure(&platform, &officer, &ylva)
        .await
        .unwrap_err();
    assert_eq!(active.code(), Code::FailedPrecondition, "{active:?}");
    assert_eq!(
        request_erasure(&platform, &people.ylva_token, &ylva)
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied,
        "an employee may not ask"
    );
    deactivate(&platform, &people.admin, &ylva).await;
    let key_before = key_record(&platform.nats.url(), &ylva)
        .await
        .expect("a key");
    let erasure = request_erasure(&platform, &people.admin, &ylva)
        .await
        .expect("request");
    assert_eq!(
        approve(&platform, &people.admin, &erasure)
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied,
        "the requester may not approve"
    );
    assert_eq!(
        approve(&platform, &officer, &erasure)
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied,
        "a security officer does not approve"
    );
    // What the annual report and the audit trail say before.
    let (reporting_service, _reporting_data) = platform.reporting(time::Duration::ZERO).await;
    let mut reporting = ReportingServiceClient::new(reporting_service.channel().await);
    let as_of = everything(&platform).await.positions;
    let (report_before, audit_before) =
        reporting_view(&mut reporting, &people.admin, &ylva, &as_of, &[]).await;
    assert!(!audit_before.is_empty() && audit_before.iter().all(|erased| !erased));

    // Requested but not approved: it waits for the approver, and nothing is erased.
    let listed = |pending_only| ListErasuresRequest {
        pending_only,
        consistency: None,
    };
    let mut identity = platform._identity.client().await;
    let pending = identity
        .list_erasures(bearer(&people.manager, listed(true)))
        .await
        .expect("the approver lists")
        .into_inner()
        .erasures;
    assert_eq!(pending.len(), 1);
    assert_eq!(
        (
            pending[0].erasure_id.as_str(),
            pending[0].subject_id.as_str()
        ),
        (erasure.as_str(), ylva.as_str())
    );
    assert!(pending[0].approved_by.is_empty() && pending[0].requested_at.is_some());
    assert_eq!(
        identity
            .list_erasures(bearer(&platform.employee.0, listed(false)))
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied,
        "an employee lists none"
    );
    assert_eq!(user(&platform, &people.admin, &ylva).await.email, EMAIL);
    let mut incidents = platform.incidents().await;
    assert_eq!(
        description(&mut incidents, &officer, &incident, None).await,
        DESCRIPTION
    );

    let approved = approve(&platform, &people.manager, &erasure)
        .await
        .expect("approve");
    let approval = approved.clone().unwrap_or_default().positions;
    let done = identity
        .list_erasures(bearer(
            &people.manager,
            ListErasuresRequest {
                pending_only: false,
                consistency: approved.clone(),
            },
        ))
        .await
        .expect("list")
        .into_inner()
        .erasures;
    assert!(
        !done[0].approved_by.is_empty()
            && done[0].approved_by != done[0].requested_by
            && done[0].erased_at.is_some(),
        "{done:?}"
    );
    assert!(
        identity
            .list_erasures(bearer(&people.manager, listed(true)))
            .await
            .expect("list")
            .into_inner()
            .erasures
            .is_empty(),
        "none awaits approval"
    );

    // Every answer shows "erased" in place of the person.
    let shown = user(&platform, &people.admin, &ylva).await;
    assert_eq!(
        (shown.email.as_str(), shown.display_name.as_str()),
        (ERASED, ERASED)
    );
    // Another service, given the approval's token, has applied the erasure.
    assert_eq!(
        description(&mut incidents, &officer, &incident, approved).await,
        ERASED
    );
    let exported = export(&platform, &officer, &ylva).await;
    assert_eq!(exported["erased"], true);
    let text = exported.to_string();
    assert!(
        !text.contains(EMAIL) && !text.contains(DESCRIPTION) && !text.contains("ylva.raderad"),
        "{text}"
    );
    assert!(
        exported["records"]
            .as_array()
            .is_some_and(|r| !r.is_empty()),
        "the records stay, erased"
    );

    // The annual report of the same positions is the same; the audit keeps every entry,
    // its actor shown as an erased subject.
    let (report_after, audit_after) =
        reporting_view(&mut reporting, &people.admin, &ylva, &as_of, &approval).await;
    assert_eq!(report_after, report_before);
    assert_eq!(audit_after.len(), audit_before.len());
    assert!(audit_after.iter().all(|erased| *erased), "{audit_after:?}");

    // The chain still verifies; the key's bytes are nowhere in the store.
    let store = tillit_kernel::EventStore::connect(
        &platform.nats.url(),
        Default::default(),
        tillit_kernel::Clock::system(),
    )
    .await
    .expect("store");
    for stream in [
        "IDENTITY",
        "INCIDENTS",
        "ASSETS",
        "CREDENTIALS",
        "REPORTING",
    ] {
        let verdict = tillit_kernel::verify::verify_chain(&store, stream, None)
            .await
            .expect("verify");
        assert!(
            matches!(verdict, tillit_kernel::verify::ChainVerdict::Intact { .. }),
            "{stream}: {verdict:?}"
        );
    }
    let wrapped = &key_before[1..];
    let found = files_containing_bytes(&platform.nats.store_dir(), wrapped);
    assert!(
        found.is_empty(),
        "the destroyed key's bytes are in {found:?}"
    );

    // A rebuild from the streams shows the same; so does a service started after the key
    // store was restored from a backup that still held the key: it destroys it again first.
    let js = async_nats::jetstream::new(async_nats::connect(&platform.nats.url()).await.unwrap());
    js.publish(format!("tillit.keys.{ylva}"), key_before.clone().into())
        .await
        .unwrap()
        .await
        .expect("the old key back, as a restore would bring it");
    let fresh = tempfile::tempdir().unwrap();
    let rebuilt = start_incidents(incidents_config(&platform.nats.url(), fresh.path())).await;
    let mut client = IncidentsServiceClient::connect(format!("http://{}", rebuilt.grpc))
        .await
        .unwrap();
    assert_eq!(
        description(&mut client, &officer, &incident, None).await,
        ERASED
    );
    let identity_data = tempfile::tempdir().unwrap();
    let rebuilt_identity =
        start_identity(test_config(&platform.nats.url(), identity_data.path(), &[])).await;
    let shown = rebuilt_identity
        .client()
        .await
        .get_user(bearer(
            &people.admin,
            GetUserRequest {
                user_id: ylva.clone(),
                consistency: None,
            },
        ))
        .await
        .expect("get user from a rebuilt directory")
        .into_inner()
        .user
        .expect("user");
    assert_eq!(
        (shown.email.as_str(), shown.display_name.as_str()),
        (ERASED, ERASED)
    );
    assert_eq!(
        key_record(&platform.nats.url(), &ylva).await.map(|r| r[0]),
        Some(2),
        "the restored key was destroyed again, the marker is the last record"
    );
    assert!(files_containing(&platform.nats.store_dir(), EMAIL).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breach_record_holds_its_reporter_until_its_retention_ends() {
    let platform = Platform::start().await;
    let people = people(&platform).await;
    let ylva = people.ylva.user_id.clone();
    let (incident, token) = report(
        &platform,
        &people.ylva_token,
        IncidentKind::SecurityIncident,
        DESCRIPTION,
    )
    .await;
    platform
        .incidents()
        .await
        .triage_incident(bearer(
            &platform.officer.0,
            TriageIncidentRequest {
                incident_id: incident.clone(),
                triage: Some(TriageAssessment {
                    severity: tillit_proto::common::Severity::High.into(),
                    personal_data_breach: true,
                    data_categories: vec!["contact details".into()],
                    approx_data_subjects: 10,
                    risk_to_data_subjects: tillit_proto::incidents::DataSubjectRisk::Risk.into(),
                    ..Default::default()
                }),
                consistency: Some(token),
            },
        ))
        .await
        .expect("triage");
    deactivate(&platform, &people.admin, &ylva).await;
    let before = stream_messages(&platform.nats, "IDENTITY").await;
    let held = request_erasure(&platform, &platform.officer.0, &ylva)
        .await
        .unwrap_err();
    assert_eq!(held.code(), Code::FailedPrecondition);
    assert!(
        held.message().contains("legal hold") && held.message().contains(&incident),
        "names the hold: {held:?}"
    );
    // Refused: nothing recorded, nothing erased.
    assert_eq!(stream_messages(&platform.nats, "IDENTITY").await, before);
    assert_eq!(user(&platform, &people.admin, &ylva).await.email, EMAIL);
    let unknown = request_erasure(
        &platform,
        &platform.officer.0,
        "0193a3c2-7f4e-7abc-9def-0123456789ab",
    )
    .await
    .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
}
