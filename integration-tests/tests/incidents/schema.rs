//! Event schemas evolve without stranding what is stored (docs/events.md): the commits in
//! `fixtures/commits-2026-12-02.txt` were written by the services on 2026-12-02 (IDENTITY,
//! ASSETS and INCIDENTS after a breach was reported, triaged, notified and given an
//! action). Today's code must decode every one of them with the decider of its aggregate
//! and read the incident as it was: the events' words become today's enums.
//!
//! When events change, run the ignored writer: it writes `fixtures/commits-<today>.txt`
//! from a fresh platform (and refuses to overwrite one), for a test of its own beside this
//! one; the old fixtures stay, since old commits stay in every store:
//! `cargo test -p tillit-integration-tests --test incidents -- --ignored write_the_fixture`.

use base64::Engine as _;
use prost::Message as _;
use tillit_integration_tests::identity::bearer;
use tillit_integration_tests::platform::{Platform, register_asset};
use tillit_kernel::{Decider, EventPayload};
use tillit_proto::common::Severity;
use tillit_proto::incidents::{
    ActionStatus, AddActionRequest, AssetImpact, DataRole, DataSubjectRisk, Incident, IncidentKind,
    IncidentStatus, NotificationStage, ObligationStatus, RecordNotificationRequest,
    ReportIncidentRequest, SecurityProperty, TriageAssessment, TriageIncidentRequest,
};
use tillit_proto::kernel::Commit;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/commits-2026-12-02.txt"
);
/// The streams the fixture holds (CREDENTIALS is left out: it holds password hashes).
const STREAMS: [&str; 3] = ["IDENTITY", "ASSETS", "INCIDENTS"];

/// Folds one aggregate's commits with decider `D`; panics naming the commit that fails.
fn fold<D: Decider>(commits: &[&Commit]) -> D::State {
    let mut state = D::State::default();
    for commit in commits {
        for event in &commit.events {
            let event = D::Event::from_event(event).unwrap_or_else(|e| {
                panic!(
                    "{} {} v{}: {}: {e}",
                    commit.aggregate_type,
                    commit.aggregate_id,
                    commit.aggregate_version,
                    event.r#type
                )
            });
            state = D::evolve(state, &event);
        }
    }
    state
}

/// Decodes every commit of one aggregate with its decider; answers the incident's state
/// when it is one.
fn read_aggregate(commits: &[&Commit]) -> Option<Incident> {
    use tillit_identity::domain::{
        access_review::AccessReview, credential::Credential, policy::Acknowledgement,
        policy::Policy, refresh::RefreshChain, service_account::ServiceAccount,
        signing_key::SigningKey, tenant::Tenant, token_policy::TokenPolicy, training::Training,
        user::User,
    };
    let kind = commits[0].aggregate_type.as_str();
    macro_rules! decoded {
        ($($decider:ty),+) => {
            $(if kind == <$decider>::TYPE.as_str() {
                fold::<$decider>(commits);
                return None;
            })+
        };
    }
    if kind == tillit_incidents::domain::incident::IncidentDecider::TYPE.as_str() {
        return Some(fold::<tillit_incidents::domain::incident::IncidentDecider>(
            commits,
        ));
    }
    decoded!(
        tillit_assets::domain::asset::AssetDecider,
        Tenant,
        User,
        ServiceAccount,
        Policy,
        Acknowledgement,
        Training,
        AccessReview,
        SigningKey,
        TokenPolicy,
        Credential,
        RefreshChain,
        tillit_kernel::reservation::ReservationDecider
    );
    panic!("no decider reads aggregate type {kind:?}: add it here");
}

#[test]
fn commits_written_on_2026_12_02_read_as_they_were() {
    let text = std::fs::read_to_string(FIXTURE).expect("fixture");
    let mut commits = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let mut parts = line.split(' ');
        let (stream, sequence, payload) = (
            parts.next().expect("stream"),
            parts.next().expect("sequence"),
            parts.next().expect("payload"),
        );
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(payload)
            .expect("base64");
        let commit = Commit::decode(bytes.as_slice())
            .unwrap_or_else(|e| panic!("{stream} {sequence}: the envelope no longer decodes: {e}"));
        commits.push(commit);
    }
    assert!(commits.len() >= 10, "{} commits", commits.len());
    let mut aggregates: std::collections::BTreeMap<(String, String), Vec<&Commit>> =
        Default::default();
    for commit in &commits {
        aggregates
            .entry((commit.aggregate_type.clone(), commit.aggregate_id.clone()))
            .or_default()
            .push(commit);
    }
    let incidents: Vec<Incident> = aggregates
        .values()
        .filter_map(|commits| read_aggregate(commits))
        .collect();
    let [incident] = incidents.as_slice() else {
        panic!("{} incidents in the fixture", incidents.len());
    };
    assert_eq!(incident.kind(), IncidentKind::SecurityIncident);
    assert_eq!(incident.status(), IncidentStatus::Triaged);
    let triage = incident.triage.as_ref().expect("triage");
    assert_eq!(triage.severity(), Severity::High);
    assert_eq!(
        triage.affected_properties().collect::<Vec<_>>(),
        [SecurityProperty::Confidentiality]
    );
    assert_eq!(triage.risk_to_data_subjects(), DataSubjectRisk::Risk);
    let customers: Vec<(&str, DataRole)> = triage
        .affected_customers
        .iter()
        .map(|c| (c.tenant_id.as_str(), c.our_role()))
        .collect();
    assert_eq!(
        customers,
        [
            ("acme", DataRole::Processor),
            ("internal", DataRole::Controller)
        ]
    );
    let imy = incident
        .obligations
        .iter()
        .find(|o| o.obligation_id == "gdpr-33-1")
        .expect("the authority's obligation");
    assert_eq!(imy.status(), ObligationStatus::Met);
    assert_eq!(imy.notifications[0].stage(), NotificationStage::Initial);
    assert!(
        incident
            .obligations
            .iter()
            .any(|o| o.status() == ObligationStatus::Pending),
        "the customer's notice is still pending"
    );
    assert_eq!(incident.actions[0].status(), ActionStatus::Open);
}

#[tokio::test]
#[ignore = "writes a new fixture from a fresh platform; run by hand when events change"]
async fn write_the_fixture() {
    let platform = Platform::start().await;
    let officer = &platform.officer.0;
    let (asset, first) = register_asset(&platform, "acme", "Acme CRM").await;
    let (own, second) = register_asset(&platform, "internal", "Our mail archive").await;
    let registered = tillit_proto::common::ConsistencyToken {
        positions: [first.positions, second.positions].concat(),
    };
    let mut client = platform.incidents().await;
    let id = client
        .report_incident(bearer(
            officer,
            ReportIncidentRequest {
                kind: IncidentKind::SecurityIncident.into(),
                title: "CRM export mailed to the wrong customer".into(),
                description: "an export of Acme's CRM went to another customer".into(),
                ..Default::default()
            },
        ))
        .await
        .expect("report")
        .into_inner()
        .incident_id;
    client
        .triage_incident(bearer(
            officer,
            TriageIncidentRequest {
                incident_id: id.clone(),
                triage: Some(TriageAssessment {
                    severity: Severity::High.into(),
                    affected_properties: vec![SecurityProperty::Confidentiality.into()],
                    affected_assets: [asset, own]
                        .into_iter()
                        .map(|asset_id| AssetImpact {
                            asset_id,
                            ..Default::default()
                        })
                        .collect(),
                    personal_data_breach: true,
                    data_categories: vec!["contact details".into()],
                    approx_data_subjects: 40,
                    risk_to_data_subjects: DataSubjectRisk::Risk.into(),
                    ..Default::default()
                }),
                consistency: Some(registered),
            },
        ))
        .await
        .expect("triage");
    client
        .record_notification(bearer(
            officer,
            RecordNotificationRequest {
                incident_id: id.clone(),
                obligation_id: "gdpr-33-1".into(),
                channel: "IMY e-service".into(),
                sent_at: Some(tillit_kernel::clock::to_timestamp(
                    time::OffsetDateTime::now_utc(),
                )),
                ..Default::default()
            },
        ))
        .await
        .expect("notification");
    client
        .add_action(bearer(
            officer,
            AddActionRequest {
                incident_id: id,
                title: "Check export recipients before sending".into(),
                owner_user_id: platform.employee.1.clone(),
                due_at: Some(tillit_kernel::clock::to_timestamp(
                    time::OffsetDateTime::now_utc() + time::Duration::days(14),
                )),
                consistency: None,
            },
        ))
        .await
        .expect("action");

    let nats = async_nats::connect(platform.nats.url())
        .await
        .expect("nats");
    let js = async_nats::jetstream::new(nats);
    let mut lines = vec![
        "# STREAM SEQUENCE base64(commit): written by write_the_fixture; see schema.rs".to_owned(),
    ];
    for name in STREAMS {
        let stream = js.get_stream(name).await.expect("stream");
        let last = stream.cached_info().state.last_sequence;
        for sequence in 1..=last {
            let message = stream.get_raw_message(sequence).await.expect("message");
            lines.push(format!(
                "{name} {sequence} {}",
                base64::engine::general_purpose::STANDARD.encode(&message.payload)
            ));
        }
    }
    let today = time::OffsetDateTime::now_utc().date();
    let path = std::path::Path::new(FIXTURE).with_file_name(format!("commits-{today}.txt"));
    assert!(
        !path.exists(),
        "{} exists: fixtures are never rewritten",
        path.display()
    );
    std::fs::write(&path, lines.join("\n") + "\n").expect("write");
    println!("wrote {}", path.display());
}
