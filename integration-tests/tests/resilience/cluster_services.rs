//! The real services on a three-node cluster of the pinned current nats-server, streams
//! with three replicas: employees report incidents over gRPC while the INCIDENTS stream's
//! leader is killed with SIGKILL and restarted on its store. An UNAVAILABLE answer is
//! retried with the same idempotency key and answers the same incident. Afterwards every
//! acknowledged incident is in the stream exactly once, nothing else is, and the services
//! serve again without a restart.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tillit_integration_tests::assets::{
    assets_config_with, incidents_config_with, start_assets, start_incidents,
};
use tillit_integration_tests::identity::{ADMIN_EMAIL, bearer, start_identity, test_config};
use tillit_kernel::{BoundedContext, Clock, EventStore, StoreConfig};
use tillit_proto::incidents::incidents_service_client::IncidentsServiceClient;
use tillit_proto::incidents::{GetIncidentRequest, IncidentKind, ReportIncidentRequest};
use tillit_testkit::NatsCluster;
use tonic::Code;

/// Idempotency key → the incident id every answer to it named.
type Acknowledged = Arc<Mutex<BTreeMap<String, String>>>;

async fn reporter(
    mut client: IncidentsServiceClient<tonic::transport::Channel>,
    token: String,
    writer: usize,
    reports: usize,
    acknowledged: Acknowledged,
) -> usize {
    let mut retried = 0;
    for n in 0..reports {
        let key = format!("w{writer}-{n}");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let mut request = bearer(
                &token,
                ReportIncidentRequest {
                    kind: IncidentKind::SecurityIncident.into(),
                    title: format!("Writer {writer}, report {n}"),
                    description: "Reported while the cluster loses its leader.".into(),
                    ..Default::default()
                },
            );
            request
                .metadata_mut()
                .insert("idempotency-key", key.parse().expect("ascii"));
            match client.report_incident(request).await {
                Ok(answer) => {
                    let id = answer.into_inner().incident_id;
                    let mut acknowledged = acknowledged.lock().expect("lock");
                    let earlier = acknowledged.insert(key.clone(), id.clone());
                    assert!(
                        earlier.is_none_or(|e| e == id),
                        "{key} answered two incidents"
                    );
                    break;
                }
                Err(status)
                    if matches!(
                        status.code(),
                        Code::Unavailable | Code::Aborted | Code::DeadlineExceeded | Code::Unknown
                    ) && Instant::now() < deadline =>
                {
                    retried += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(status) => panic!("{key}: {status:?}"),
            }
        }
    }
    retried
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn incidents_reported_while_the_stream_leader_dies_are_stored_once_and_the_services_carry_on()
{
    let mut cluster = NatsCluster::start().await;
    let urls = cluster.urls();
    let data = tempfile::tempdir().expect("dir");
    let replicas = [("TILLIT_STREAM_REPLICAS", "3")];
    let identity = start_identity(test_config(&urls, data.path(), &replicas)).await;
    let admin = identity.admin_token().await;
    let (_, employee, _) = identity
        .create_user(&admin, "internal", "eva@tillit.test", &["employee"])
        .await;
    // Incidents follows ASSETS too: assets makes that stream.
    let _assets = start_assets(assets_config_with(&urls, data.path(), &replicas)).await;
    let incidents = start_incidents(incidents_config_with(&urls, data.path(), &replicas)).await;
    let channel = incidents.channel().await;

    let acknowledged: Acknowledged = Arc::default();
    let (writers, reports) = (6, 25);
    let mut running = Vec::new();
    for writer in 0..writers {
        running.push(tokio::spawn(reporter(
            IncidentsServiceClient::new(channel.clone()),
            employee.access_token.clone(),
            writer,
            reports,
            acknowledged.clone(),
        )));
    }
    while acknowledged.lock().expect("lock").len() < 30 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let store = EventStore::connect(&urls, StoreConfig::default(), Clock::system())
        .await
        .expect("a client of the cluster");
    let mut stream = store
        .jetstream()
        .get_stream(BoundedContext::INCIDENTS.stream())
        .await
        .expect("INCIDENTS");
    let leader = stream
        .info()
        .await
        .expect("stream info")
        .cluster
        .as_ref()
        .and_then(|c| c.leader.clone())
        .expect("a leader");
    assert_eq!(
        stream.cached_info().config.num_replicas,
        3,
        "the services made the stream with three replicas"
    );
    let leader = cluster.index_of(&leader).expect("one of ours");
    cluster.kill(leader);
    tokio::time::sleep(Duration::from_secs(5)).await;
    cluster.restart(leader);
    let mut retried = 0;
    for writer in running {
        retried += writer.await.expect("a reporter");
    }
    let acknowledged = acknowledged.lock().expect("lock").clone();
    assert_eq!(acknowledged.len(), writers * reports);

    // The stream: each acknowledged report once, no other report.
    let deadline = Instant::now() + Duration::from_secs(30);
    let commits = loop {
        match store.read_stream(&BoundedContext::INCIDENTS.stream()).await {
            Ok(commits) => break commits,
            Err(e) if Instant::now() < deadline => {
                eprintln!("reading INCIDENTS: {e}; again");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => panic!("reading INCIDENTS: {e}"),
        }
    };
    let reports_stored: Vec<_> = commits
        .iter()
        .filter(|(_, c)| c.command == "tillit.incidents.v1.ReportIncident")
        .collect();
    let mut by_key: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, commit) in &reports_stored {
        *by_key.entry(commit.idempotency_key.as_str()).or_default() += 1;
        assert_eq!(
            acknowledged.get(&commit.idempotency_key),
            Some(&commit.aggregate_id),
            "a stored report is the one its key was answered with"
        );
    }
    let duplicated = by_key.values().filter(|n| **n > 1).count();
    println!(
        "services on a cluster, leader killed: {} acknowledged, {} found, {duplicated} duplicated, {retried} UNAVAILABLE answers retried",
        acknowledged.len(),
        reports_stored.len()
    );
    assert_eq!(duplicated, 0);
    assert_eq!(reports_stored.len(), acknowledged.len());

    // The services carry on by themselves: every incident reads back.
    let mut client = IncidentsServiceClient::new(incidents.channel().await);
    for id in acknowledged.values().take(10) {
        client
            .get_incident(bearer(
                &employee.access_token,
                GetIncidentRequest {
                    incident_id: id.clone(),
                    ..Default::default()
                },
            ))
            .await
            .unwrap_or_else(|e| panic!("incident {id}: {e:?}"));
    }
    assert!(
        identity
            .login(
                ADMIN_EMAIL,
                tillit_integration_tests::identity::ADMIN_PASSWORD
            )
            .await
            .is_ok()
    );
}
