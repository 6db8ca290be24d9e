//! The kernel on a three-node cluster of the pinned current nats-server, streams with three
//! replicas, under the faults of a real cluster: the stream leader killed with SIGKILL and
//! restarted on its store, a node cut off (SIGSTOP) for 10 s, a rolling restart of every
//! node. Writers on distinct and on shared aggregates keep going throughout, retrying an
//! UNAVAILABLE answer with the same idempotency key. Afterwards: every acknowledged command
//! is in the stream exactly once, nothing else is, each aggregate's versions are
//! contiguous, and a projection that followed the whole time holds the stream's end.
//!
//! The leader kill runs in `just test`; the partition and the rolling restart take longer
//! and run in `just test-cluster`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prost::Message as _;
use tillit_kernel::{
    Clock, EventStore, ExecuteError, Projection, ProjectionConfig, ProjectionRunner, Runner,
    StoreConfig, Target,
};
use tillit_testkit::NatsCluster;

use crate::support::{CONTEXT, Tally, TallyCommand, id, request};
use crate::tally_view::TallyView;

/// What is done to the cluster while the writers write.
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// SIGKILL of the stream leader's server, restarted on its store 5 s later.
    LeaderKill,
    /// SIGSTOP of one node (not the leader) for 10 s, then SIGCONT.
    Partition,
    /// Each node in turn: killed, restarted, waited for.
    RollingRestart,
}

/// The acknowledged commands: idempotency key → aggregate.
type Acknowledged = Arc<Mutex<BTreeMap<String, String>>>;

async fn stream_leader(store: &EventStore) -> Option<String> {
    let mut stream = store.jetstream().get_stream(CONTEXT.stream()).await.ok()?;
    stream.info().await.ok()?.cluster.as_ref()?.leader.clone()
}

/// Runs one writer: `commands` commands on `aggregate`, each retried with the same
/// idempotency key until it is acknowledged; answers how many answers were UNAVAILABLE
/// (or unknown) before an acknowledgement.
async fn writer(
    tallies: Runner<Tally>,
    aggregate: String,
    name: String,
    commands: usize,
    acknowledged: Acknowledged,
) -> usize {
    let mut retried = 0;
    for n in 0..commands {
        let key = format!("{name}-{n}");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let sent = tallies
                .execute(request(
                    "acme",
                    Target::At(id(&aggregate)),
                    TallyCommand::Add(1),
                    Some(&key),
                ))
                .await;
            match sent {
                Ok(_) => {
                    acknowledged
                        .lock()
                        .expect("lock")
                        .insert(key.clone(), aggregate.clone());
                    break;
                }
                Err(ExecuteError::Kernel(e)) => {
                    assert!(
                        Instant::now() < deadline,
                        "{key} not acknowledged within 60 s: {e}"
                    );
                    retried += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(ExecuteError::Domain(e)) => panic!("{key}: refused: {e}"),
            }
        }
    }
    retried
}

async fn under_fault(fault: Fault) {
    tillit_testkit::init_logging();
    let mut cluster = NatsCluster::start().await;
    let config = StoreConfig {
        replicas: 3,
        request_timeout: Duration::from_secs(2),
        ..StoreConfig::default()
    };
    let store = EventStore::connect(&cluster.urls(), config, Clock::system())
        .await
        .expect("connecting to the cluster");
    store
        .provision(CONTEXT)
        .await
        .expect("a stream of 3 replicas");
    let dir = tempfile::tempdir().expect("dir");
    let runner = ProjectionRunner::start(
        &dir.path().join("cluster.redb"),
        store.clone(),
        vec![Arc::new(TallyView::over(&[&CONTEXT.stream()])) as Arc<dyn Projection>],
        ProjectionConfig::default(),
    )
    .await
    .expect("the projection");

    // Six writers with 50 commands each on their own aggregates, six with 20 each racing
    // on one shared aggregate (each load of it reads its whole history).
    let acknowledged: Acknowledged = Arc::default();
    let mut writers = Vec::new();
    let mut total = 0;
    for w in 0..12 {
        let (aggregate, commands) = if w < 6 {
            (format!("own-{w}"), 50)
        } else {
            ("shared".to_owned(), 20)
        };
        total += commands;
        writers.push(tokio::spawn(writer(
            Runner::new(store.clone(), CONTEXT),
            aggregate,
            format!("w{w}"),
            commands,
            acknowledged.clone(),
        )));
    }
    while acknowledged.lock().expect("lock").len() < 100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let leader = stream_leader(&store)
        .await
        .expect("the stream has a leader");
    let leader = cluster.index_of(&leader).expect("a node of ours");
    match fault {
        Fault::LeaderKill => {
            cluster.kill(leader);
            tokio::time::sleep(Duration::from_secs(5)).await;
            cluster.restart(leader);
        }
        Fault::Partition => {
            let other = (leader + 1) % 3;
            cluster.pause(other);
            tokio::time::sleep(Duration::from_secs(10)).await;
            cluster.resume(other);
        }
        Fault::RollingRestart => {
            for node in 0..3 {
                cluster.kill(node);
                tokio::time::sleep(Duration::from_secs(1)).await;
                cluster.restart(node);
                cluster.wait_for_jetstream().await;
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    }
    let mut retried = 0;
    for writer in writers {
        retried += writer.await.expect("a writer");
    }
    let acknowledged = acknowledged.lock().expect("lock").clone();
    assert_eq!(acknowledged.len(), total, "every command was acknowledged");

    // The stream: every acknowledged key once, nothing else, versions contiguous.
    // Right after a node comes back, a read may meet "JetStream temporarily unavailable"
    // (UNAVAILABLE) while the node catches up: a client retries, and so does this test.
    let deadline = Instant::now() + Duration::from_secs(30);
    let commits = loop {
        match store.read_stream(&CONTEXT.stream()).await {
            Ok(commits) => break commits,
            Err(e) if Instant::now() < deadline => {
                eprintln!("reading the stream: {e}; again");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => panic!("reading the stream: {e}"),
        }
    };
    let mut found: BTreeMap<String, usize> = BTreeMap::new();
    let mut versions: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (_, commit) in &commits {
        *found.entry(commit.idempotency_key.clone()).or_default() += 1;
        versions
            .entry(commit.aggregate_id.clone())
            .or_default()
            .push(commit.aggregate_version);
    }
    let duplicated: Vec<_> = found.iter().filter(|(_, n)| **n > 1).collect();
    let strangers: Vec<_> = found
        .keys()
        .filter(|key| !acknowledged.contains_key(*key))
        .collect();
    let missing: Vec<_> = acknowledged
        .keys()
        .filter(|key| !found.contains_key(*key))
        .collect();
    println!(
        "{fault:?}: {} acknowledged, {} found, {} duplicated, {} not acknowledged but stored, {} UNAVAILABLE answers retried",
        acknowledged.len(),
        commits.len(),
        duplicated.len(),
        strangers.len(),
        retried
    );
    assert!(missing.is_empty(), "acknowledged but missing: {missing:?}");
    assert!(duplicated.is_empty(), "stored twice: {duplicated:?}");
    assert!(
        strangers.is_empty(),
        "stored without an acknowledgement: {strangers:?}"
    );
    assert_eq!(commits.len(), acknowledged.len());
    for (aggregate, versions) in &versions {
        let expected: Vec<u64> = (1..=versions.len() as u64).collect();
        assert_eq!(
            versions, &expected,
            "{aggregate}: versions contiguous, in order"
        );
    }
    let aggregates: BTreeSet<&String> = acknowledged.values().collect();
    assert_eq!(versions.len(), aggregates.len());

    // The projection followed the whole time, by itself.
    let end = commits.last().map_or(0, |(sequence, _)| *sequence);
    let deadline = Instant::now() + Duration::from_secs(30);
    while runner.applied(&CONTEXT.stream()) != Some(end) {
        assert!(
            Instant::now() < deadline,
            "the projection applied {:?} of {end}",
            runner.applied(&CONTEXT.stream())
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        runner.wait_ready(Duration::from_secs(30)).await,
        "{:?}",
        runner.readiness()
    );
    // The commits decode as they were written.
    assert!(commits.iter().all(|(_, c)| !c.encode_to_vec().is_empty()));
    runner.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_stream_leader_killed_under_load_loses_and_duplicates_nothing() {
    under_fault(Fault::LeaderKill).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "minutes: just test-cluster"]
async fn a_node_cut_off_for_10_s_under_load_loses_and_duplicates_nothing() {
    under_fault(Fault::Partition).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "minutes: just test-cluster"]
async fn a_rolling_restart_under_load_loses_and_duplicates_nothing() {
    under_fault(Fault::RollingRestart).await;
}
