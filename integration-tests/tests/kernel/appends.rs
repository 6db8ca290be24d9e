//! Optimistic concurrency: racing commands on one aggregate all land, racing raw appends
//! with the same expectation do not.

use bytes::Bytes;
use tillit_kernel::{AppendError, Target};

use crate::support::{Harness, TallyCommand, id, request};

#[tokio::test]
async fn sixteen_concurrent_commands_on_one_aggregate_all_succeed_in_sixteen_commits() {
    let harness = Harness::start().await;
    let tallies = harness.tallies();
    let target = id("race");

    let mut tasks = Vec::new();
    for n in 1..=16u64 {
        let tallies = tallies.clone();
        let target = target.clone();
        tasks.push(tokio::spawn(async move {
            tallies
                .execute(request(
                    "acme",
                    Target::At(target),
                    TallyCommand::Add(n),
                    None,
                ))
                .await
        }));
    }
    let mut versions = Vec::new();
    for task in tasks {
        let executed = task.await.expect("task").expect("every command succeeds");
        versions.push(executed.version);
    }
    versions.sort_unstable();
    assert_eq!(
        versions,
        (1..=16).collect::<Vec<_>>(),
        "each commit got its own version"
    );

    let address = tallies.address(&crate::support::tenant("acme"), target);
    let (state, history) = tallies.load(&address).await.expect("load");
    assert_eq!(history.version(), 16);
    assert_eq!(state.total, (1..=16).sum::<u64>(), "no update was lost");

    assert_eq!(
        harness.commit_count().await,
        16,
        "the stream holds exactly 16 commits"
    );
}

#[tokio::test]
async fn of_two_appends_expecting_the_same_sequence_exactly_one_is_accepted() {
    let harness = Harness::start().await;
    let subject = "tillit.kerneltest.acme.tally.duel";
    let first = harness
        .store
        .append(subject, Bytes::from_static(b"a"), 0, None);
    let second = harness
        .store
        .append(subject, Bytes::from_static(b"b"), 0, None);
    let (first, second) = tokio::join!(first, second);

    let outcomes = [first, second];
    let accepted = outcomes.iter().filter(|o| o.is_ok()).count();
    let conflicts = outcomes
        .iter()
        .filter(|o| matches!(o, Err(AppendError::Conflict)))
        .count();
    assert_eq!((accepted, conflicts), (1, 1), "{outcomes:?}");

    // The loser's expectation is stale from now on; the winner's sequence is the new one.
    let winner = outcomes
        .iter()
        .find_map(|o| o.clone().ok())
        .expect("a winner");
    let next = harness
        .store
        .append(subject, Bytes::from_static(b"c"), winner, None)
        .await;
    assert!(next.is_ok(), "{next:?}");
}

#[tokio::test]
async fn a_command_on_a_missing_aggregate_is_not_found_and_writes_nothing() {
    let harness = Harness::start().await;
    let outcome = harness
        .tallies()
        .execute(request(
            "acme",
            Target::Existing(id("ghost")),
            TallyCommand::Add(1),
            None,
        ))
        .await;
    assert!(
        matches!(
            outcome,
            Err(tillit_kernel::ExecuteError::Kernel(
                tillit_kernel::KernelError::NotFound(_)
            ))
        ),
        "{outcome:?}"
    );
    assert_eq!(harness.commit_count().await, 0);
}

#[tokio::test]
async fn a_refused_command_writes_nothing_and_commits_carry_the_envelope() {
    let harness = Harness::start().await;
    let tallies = harness.tallies();
    let opened = tallies
        .execute(request("acme", Target::New, TallyCommand::Open, None))
        .await
        .expect("open");
    let again = tallies
        .execute(request(
            "acme",
            Target::Existing(opened.address.id.clone()),
            TallyCommand::Open,
            None,
        ))
        .await;
    assert!(
        matches!(again, Err(tillit_kernel::ExecuteError::Domain(_))),
        "{again:?}"
    );
    tallies
        .execute(request(
            "acme",
            Target::Existing(opened.address.id.clone()),
            TallyCommand::Add(2),
            None,
        ))
        .await
        .expect("add");

    let (_, history) = tallies.load(&opened.address).await.expect("load");
    assert_eq!(history.version(), 2);
    let [first, second] = &history.commits[..] else {
        panic!("two commits")
    };
    assert!(first.commit.prev_hash.is_empty());
    assert_eq!(
        second.commit.prev_hash,
        first.hash.to_vec(),
        "the chain links the commits"
    );
    assert_eq!(second.commit.tenant, "acme");
    assert_eq!(second.commit.aggregate_type, "tally");
    assert_eq!(second.commit.command, "test.v1.Add(2)");
    assert_eq!(
        second.commit.actor.as_ref().map(|a| a.subject.as_str()),
        Some("user-1")
    );
    assert_eq!(second.commit.correlation_id, "corr-1");
    assert!(second.commit.recorded_at.is_some());
    assert_eq!(
        uuid::Uuid::parse_str(&second.commit.commit_id).map(|u| u.get_version_num()),
        Ok(7)
    );
}

#[tokio::test]
async fn a_commit_too_large_for_the_server_is_bad_input_and_writes_nothing() {
    let harness = Harness::start().await;
    let subject = "tillit.kerneltest.acme.tally.huge";
    let outcome = harness
        .store
        .append(subject, Bytes::from(vec![b'x'; 2 * 1024 * 1024]), 0, None)
        .await;
    let Err(error @ AppendError::TooLarge { .. }) = outcome else {
        panic!("{outcome:?}");
    };
    let status = tonic::Status::from(tillit_kernel::KernelError::from(error));
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert!(
        !harness.store.subject_exists(subject).await.expect("read"),
        "nothing was written"
    );
}
