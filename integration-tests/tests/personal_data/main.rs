//! Personal data at rest: what a person is and wrote is sealed in every stream and every
//! redb file, while the API shows it to those who may see it.

use std::path::Path;

use futures::StreamExt as _;
use prost::Message as _;
use tillit_integration_tests::identity::bearer;
use tillit_integration_tests::platform::Platform;
use tillit_proto::identity::GetUserRequest;
use tillit_proto::incidents::{GetIncidentRequest, IncidentKind, ReportIncidentRequest};
use tillit_proto::kernel::Commit;

const EMAIL: &str = "zlatana.personsdottir@acme.example";
const NAME: &str = "zlatana.personsdottir";
const DESCRIPTION: &str = "Zlatana glömde sin bärbara dator på tåget till Uppsala";
const CONTACT: &str = "ops@acme.example";

/// Every file under `dir` whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<String> {
    files_containing_bytes(dir, needle.as_bytes())
}

/// Every file under `dir` that contains `needle`.
fn files_containing_bytes(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).expect("readable directory") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                todo.push(path);
            } else if std::fs::read(&path)
                .is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
            {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

/// Every commit of every stream of the platform's NATS.
async fn every_commit(url: &str) -> Vec<(String, u64, Commit)> {
    let client = async_nats::connect(url).await.expect("nats");
    let js = async_nats::jetstream::new(client);
    let mut commits = Vec::new();
    let mut names = js.stream_names();
    let mut streams = Vec::new();
    while let Some(name) = names.next().await {
        streams.push(name.expect("stream name"));
    }
    let event_streams = [
        "IDENTITY",
        "CREDENTIALS",
        "ASSETS",
        "INCIDENTS",
        "REPORTING",
    ];
    assert!(
        event_streams
            .iter()
            .take(4)
            .all(|s| streams.iter().any(|n| n == s)),
        "{streams:?}"
    );
    for name in streams
        .into_iter()
        .filter(|n| event_streams.contains(&n.as_str()))
    {
        let mut stream = js.get_stream(&name).await.expect("stream");
        let last = stream.info().await.expect("info").state.last_sequence;
        for sequence in 1..=last {
            let message = stream.get_raw_message(sequence).await.expect("message");
            let commit = Commit::decode(message.payload.as_ref()).expect("a commit");
            commits.push((name.clone(), sequence, commit));
        }
    }
    commits
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_is_sealed_at_rest_and_shown_by_the_api() {
    let platform = Platform::start().await;
    let admin = platform._identity.admin_token().await;
    let (user, login, token) = platform
        ._identity
        .create_user(&admin, "internal", EMAIL, &["employee"])
        .await;
    let reported = platform
        .incidents()
        .await
        .report_incident(bearer(
            &login.access_token,
            ReportIncidentRequest {
                kind: IncidentKind::Deviation.into(),
                title: "Lost laptop".into(),
                description: DESCRIPTION.into(),
                consistency: Some(token),
                ..Default::default()
            },
        ))
        .await
        .expect("report")
        .into_inner();

    // The API shows them to those who may see them.
    let shown = platform
        ._identity
        .client()
        .await
        .get_user(bearer(
            &admin,
            GetUserRequest {
                user_id: user.user_id.clone(),
                consistency: None,
            },
        ))
        .await
        .expect("get user")
        .into_inner()
        .user
        .expect("user");
    assert_eq!(
        (shown.email.as_str(), shown.display_name.as_str()),
        (EMAIL, NAME)
    );
    let incident = platform
        .incidents()
        .await
        .get_incident(bearer(
            &platform.officer.0,
            GetIncidentRequest {
                incident_id: reported.incident_id.clone(),
                consistency: reported.consistency.clone(),
            },
        ))
        .await
        .expect("get incident")
        .into_inner()
        .incident
        .expect("incident");
    assert_eq!(incident.description, DESCRIPTION);

    // No stored commit holds a personal value in clear.
    let commits = every_commit(&platform.nats.url()).await;
    assert!(
        commits.len() > 10,
        "the streams hold the platform's commits"
    );
    for (stream, sequence, commit) in &commits {
        let clear = tillit_kernel::personal::unsealed_fields(commit).expect("decodes");
        assert!(
            clear.is_empty(),
            "{stream} at {sequence} stores {clear:?} in clear"
        );
    }

    // Neither the NATS store nor any redb file holds them in clear.
    for needle in [EMAIL, NAME, DESCRIPTION, CONTACT] {
        for dir in [
            platform.nats.store_dir(),
            platform._data.path().to_path_buf(),
        ] {
            let found = files_containing(&dir, needle);
            assert!(found.is_empty(), "{needle:?} is in clear in {found:?}");
        }
    }
}

mod erasure;
