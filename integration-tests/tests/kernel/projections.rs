//! Projections: crash safety, rebuilds, stream identity, consistency-token waits.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tillit_kernel::{
    BoundedContext, Clock, EventStore, KernelError, Projection, ProjectionConfig, ProjectionRunner,
    Runner, Target,
};
use tillit_proto::common::{ConsistencyToken, Position};
use tillit_testkit::NatsServer;

use crate::support::{CONTEXT, Harness, Tally, TallyCommand, id, request, test_config};
use crate::tally_view::{TallyView, digest};

const STREAM: &str = "KERNELTEST";
const SECOND: BoundedContext = BoundedContext::new("secondtest");
const WAIT: Duration = Duration::from_secs(30);

/// Writes `count` commits spread over ten tallies, ten writers at a time; answers the last position.
async fn write_commits(runner: &Runner<Tally>, count: u64) -> Position {
    let mut tasks = Vec::new();
    for writer in 0..10u64 {
        let runner = runner.clone();
        tasks.push(tokio::spawn(async move {
            let mut last = None;
            for n in (0..count).filter(|n| n % 10 == writer) {
                let executed = runner
                    .execute(request(
                        "acme",
                        Target::At(id(&format!("t{writer}"))),
                        TallyCommand::Add(n),
                        None,
                    ))
                    .await
                    .expect("write");
                last = executed.position;
            }
            last
        }));
    }
    let mut last: Option<Position> = None;
    for task in tasks {
        if let Some(position) = task.await.expect("writer")
            && last.as_ref().is_none_or(|l| l.sequence < position.sequence)
        {
            last = Some(position);
        }
    }
    last.expect("something was written")
}

fn token<const N: usize>(positions: [Position; N]) -> ConsistencyToken {
    ConsistencyToken {
        positions: positions.to_vec(),
    }
}

async fn start(
    path: &Path,
    store: &EventStore,
    view: TallyView,
    config: ProjectionConfig,
) -> ProjectionRunner {
    let projections: Vec<Arc<dyn Projection>> = vec![Arc::new(view)];
    ProjectionRunner::start(path, store.clone(), projections, config)
        .await
        .unwrap_or_else(|e| panic!("starting the projection runner: {e}"))
}

/// Runs the view over `streams` on `path` until `last` is applied; answers its digest.
async fn run_to(
    path: &Path,
    store: &EventStore,
    streams: &[&str],
    last: ConsistencyToken,
) -> (String, u64) {
    let runner = start(path, store, TallyView::over(streams), small_batches()).await;
    runner.wait_for(&last, WAIT).await.expect("caught up");
    let digest = digest(runner.database());
    runner.shutdown().await;
    digest
}

/// The state of one uninterrupted run of a fresh projection to `last`.
async fn reference(store: &EventStore, streams: &[&str], last: ConsistencyToken) -> (String, u64) {
    let dir = tempfile::tempdir().expect("dir");
    run_to(&dir.path().join("reference.redb"), store, streams, last).await
}

fn small_batches() -> ProjectionConfig {
    ProjectionConfig {
        batch_size: 50,
        ..ProjectionConfig::default()
    }
}

#[tokio::test]
async fn a_projection_crashed_inside_a_batch_restarts_to_the_state_of_an_uninterrupted_run() {
    let harness = Harness::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("view.redb");
    let first = write_commits(&harness.tallies(), 120).await;

    // Some batches land before the crash run, so it resumes from a real checkpoint.
    let runner = start(
        &path,
        &harness.store,
        TallyView::over(&[STREAM]),
        small_batches(),
    )
    .await;
    runner
        .wait_for(&token([first]), WAIT)
        .await
        .expect("first part");
    runner.shutdown().await;
    let last = write_commits(&harness.tallies(), 180).await;

    let crashing = ProjectionConfig {
        crash_after_applying: Some(17),
        ..small_batches()
    };
    let runner = start(&path, &harness.store, TallyView::over(&[STREAM]), crashing).await;
    assert!(
        runner.wait_failed(WAIT).await,
        "the failpoint crashed the follower"
    );
    assert!(!runner.is_ready());
    assert_eq!(
        runner.applied(STREAM),
        Some(120),
        "the crashed batch left no trace"
    );
    runner.abort().await;

    let recovered = run_to(&path, &harness.store, &[STREAM], token([last.clone()])).await;
    assert_eq!(
        recovered,
        reference(&harness.store, &[STREAM], token([last])).await
    );
    assert_eq!(recovered.1, 300, "every commit applied exactly once");
}

#[tokio::test]
async fn a_projection_aborted_between_batches_restarts_to_the_state_of_an_uninterrupted_run() {
    let harness = Harness::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("view.redb");
    let last = write_commits(&harness.tallies(), 300).await;

    let runner = start(
        &path,
        &harness.store,
        TallyView::over(&[STREAM]),
        small_batches(),
    )
    .await;
    let midway = Position {
        stream: STREAM.into(),
        sequence: 100,
    };
    runner
        .wait_for(&token([midway]), WAIT)
        .await
        .expect("midway");
    runner.abort().await;

    let recovered = run_to(&path, &harness.store, &[STREAM], token([last.clone()])).await;
    assert_eq!(
        recovered,
        reference(&harness.store, &[STREAM], token([last])).await
    );
    assert_eq!(recovered.1, 300);
}

#[tokio::test]
async fn deleting_the_file_rebuilds_identical_tables_over_two_streams_written_concurrently() {
    let harness = Harness::start().await;
    harness
        .store
        .provision(SECOND)
        .await
        .expect("second stream");
    let second = Runner::<Tally>::new(harness.store.clone(), SECOND);
    let first = harness.tallies();
    let (a, b) = tokio::join!(write_commits(&first, 200), write_commits(&second, 200));
    let streams = [STREAM, "SECONDTEST"];

    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("view.redb");
    let runner = start(
        &path,
        &harness.store,
        TallyView::over(&streams),
        small_batches(),
    )
    .await;
    runner
        .wait_for(&token([a.clone(), b.clone()]), WAIT)
        .await
        .expect("live");
    assert!(runner.wait_ready(WAIT).await);
    let live = digest(runner.database());
    runner.shutdown().await;

    std::fs::remove_file(&path).expect("delete the projection file");
    let rebuilt = run_to(&path, &harness.store, &streams, token([a, b])).await;

    assert_eq!(rebuilt, live);
    assert_eq!(live.1, 400);
}

#[tokio::test]
async fn a_schema_version_change_rebuilds_instead_of_applying_twice() {
    let harness = Harness::start().await;
    let last = write_commits(&harness.tallies(), 50).await;
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("view.redb");

    let runner = start(
        &path,
        &harness.store,
        TallyView::over(&[STREAM]),
        small_batches(),
    )
    .await;
    runner
        .wait_for(&token([last.clone()]), WAIT)
        .await
        .expect("v1");
    let v1 = digest(runner.database());
    runner.shutdown().await;

    let v2 = TallyView {
        version: 2,
        ..TallyView::over(&[STREAM])
    };
    let runner = start(&path, &harness.store, v2, small_batches()).await;
    runner.wait_for(&token([last]), WAIT).await.expect("v2");
    assert_eq!(
        digest(runner.database()),
        v1,
        "reset and rebuilt, not applied on top"
    );
    runner.shutdown().await;
}

#[tokio::test]
async fn a_projection_pointed_at_a_fresh_nats_store_rebuilds_instead_of_keeping_old_rows() {
    let old = Harness::start().await;
    write_commits(&old.tallies(), 40).await;
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("view.redb");
    let runner = start(
        &path,
        &old.store,
        TallyView::over(&[STREAM]),
        small_batches(),
    )
    .await;
    assert!(runner.wait_ready(WAIT).await);
    runner.shutdown().await;

    // Another store: same stream name, other contents (and more of them, so sequences overlap).
    let nats = NatsServer::start();
    let store = EventStore::connect(&nats.url(), test_config(), Clock::system())
        .await
        .expect("connect");
    store.provision(CONTEXT).await.expect("provision");
    let fresh = Runner::<Tally>::new(store.clone(), CONTEXT);
    for n in 0..60 {
        fresh
            .execute(request(
                "globex",
                Target::At(id("g")),
                TallyCommand::Add(n),
                None,
            ))
            .await
            .expect("write");
    }
    let last = Position {
        stream: STREAM.into(),
        sequence: 60,
    };
    let runner = start(&path, &store, TallyView::over(&[STREAM]), small_batches()).await;
    runner
        .wait_for(&token([last.clone()]), WAIT)
        .await
        .expect("caught up");
    let pointed = digest(runner.database());
    runner.shutdown().await;

    assert_eq!(pointed, reference(&store, &[STREAM], token([last])).await);
    assert_eq!(pointed.1, 60, "none of the old store's rows survived");
}

#[tokio::test]
async fn wait_for_resolves_once_applied_ignores_foreign_streams_and_refuses_impossible_positions() {
    let harness = Harness::start().await;
    harness
        .store
        .provision(SECOND)
        .await
        .expect("second stream");
    let dir = tempfile::tempdir().expect("dir");
    let runner = start(
        &dir.path().join("view.redb"),
        &harness.store,
        TallyView::over(&[STREAM]),
        ProjectionConfig::default(),
    )
    .await;

    let written = harness
        .tallies()
        .execute(request(
            "acme",
            Target::At(id("w")),
            TallyCommand::Add(7),
            None,
        ))
        .await
        .expect("write");
    runner
        .wait_for(&written.consistency(), WAIT)
        .await
        .expect("applied");
    assert_eq!(
        digest(runner.database()).1,
        1,
        "the write is visible once the wait returns"
    );

    let foreign = Runner::<Tally>::new(harness.store.clone(), SECOND)
        .execute(request(
            "acme",
            Target::At(id("f")),
            TallyCommand::Add(1),
            None,
        ))
        .await
        .expect("foreign write");
    runner
        .wait_for(&foreign.consistency(), Duration::from_millis(1))
        .await
        .expect("ignored");

    let beyond = Position {
        stream: STREAM.into(),
        sequence: 1_000,
    };
    let outcome = runner.wait_for(&token([beyond]), WAIT).await;
    assert!(
        matches!(&outcome, Err(e @ KernelError::InvalidArgument { .. }) if e.field() == Some("consistency.positions[0].sequence")),
        "{outcome:?}"
    );
    let nowhere = Position {
        stream: "NOSUCHSTREAM".into(),
        sequence: 1,
    };
    let outcome = runner.wait_for(&token([nowhere]), WAIT).await;
    assert!(
        matches!(&outcome, Err(e @ KernelError::InvalidArgument { .. }) if e.field() == Some("consistency.positions[0].stream")),
        "{outcome:?}"
    );
    runner.shutdown().await;
}

#[tokio::test]
async fn wait_for_is_unavailable_when_the_projection_does_not_get_there_in_time() {
    let harness = Harness::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let stalled = ProjectionConfig {
        crash_after_applying: Some(1),
        ..ProjectionConfig::default()
    };
    let runner = start(
        &dir.path().join("view.redb"),
        &harness.store,
        TallyView::over(&[STREAM]),
        stalled,
    )
    .await;
    let written = harness
        .tallies()
        .execute(request(
            "acme",
            Target::At(id("w")),
            TallyCommand::Add(7),
            None,
        ))
        .await
        .expect("write");
    let outcome = runner
        .wait_for(&written.consistency(), Duration::from_millis(300))
        .await;
    assert!(
        matches!(outcome, Err(KernelError::Unavailable(_))),
        "{outcome:?}"
    );
    runner.abort().await;
}
