//! NATS going away: commands fail fast as unavailable, and the same runner works again
//! once the server is back.

use std::time::{Duration, Instant};

use tillit_kernel::{ExecuteError, KernelError, Target};

use crate::support::{Harness, TallyCommand, id, request, test_config};

#[tokio::test]
async fn with_nats_stopped_a_command_is_unavailable_in_time_and_works_after_restart() {
    let mut harness = Harness::start().await;
    let tallies = harness.tallies();
    tallies
        .execute(request(
            "acme",
            Target::At(id("t")),
            TallyCommand::Add(1),
            None,
        ))
        .await
        .expect("before the outage");

    harness.nats.stop();
    let timeout = test_config().request_timeout;
    let started = Instant::now();
    let outcome = tallies
        .execute(request(
            "acme",
            Target::At(id("t")),
            TallyCommand::Add(2),
            Some("k2"),
        ))
        .await;
    let waited = started.elapsed();
    assert!(
        matches!(
            outcome,
            Err(ExecuteError::Kernel(KernelError::Unavailable(_)))
        ),
        "{outcome:?}"
    );
    // Bounded by the configured timeout (load and append each get at most one), not a hang.
    assert!(waited < timeout * 3, "failed after {waited:?}");

    harness.nats.restart();
    let recovered = tillit_testkit::eventually(Duration::from_secs(30), || {
        let tallies = tallies.clone();
        async move {
            tallies
                .execute(request(
                    "acme",
                    Target::At(id("t")),
                    TallyCommand::Add(2),
                    Some("k2"),
                ))
                .await
                .is_ok()
        }
    })
    .await;
    assert!(recovered, "the same runner appends again after the restart");
    let address = tallies.address(&crate::support::tenant("acme"), id("t"));
    let (state, _) = tallies.load(&address).await.expect("load");
    assert_eq!(state.total, 3, "the retried command landed exactly once");
}

#[tokio::test]
async fn a_kill_9_of_nats_loses_no_acknowledged_commit() {
    let mut harness = Harness::start().await;
    let tallies = harness.tallies();
    for n in 1..=20 {
        tallies
            .execute(request(
                "acme",
                Target::At(id("t")),
                TallyCommand::Add(n),
                None,
            ))
            .await
            .expect("acknowledged");
    }
    harness.nats.kill();
    harness.nats.restart();
    let address = tallies.address(&crate::support::tenant("acme"), id("t"));
    let back = tillit_testkit::eventually(Duration::from_secs(30), || {
        let tallies = tallies.clone();
        let address = address.clone();
        async move { tallies.load(&address).await.is_ok() }
    })
    .await;
    assert!(back, "the server came back");
    let (state, history) = tallies.load(&address).await.expect("load");
    assert_eq!(
        (history.version(), state.total),
        (20, (1..=20).sum::<u64>())
    );
}
