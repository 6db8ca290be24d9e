//! Idempotency keys: a retry yields one commit and the same answer, inside and after the
//! dedupe window; creates derive their id from the key; keys are per tenant.

use std::time::Duration;

use bytes::Bytes;
use tillit_kernel::envelope::message_id;
use tillit_kernel::{AggregateId, AppendError, Clock, StoreConfig, Target};

use crate::support::{Harness, TallyCommand, id, request, tenant, test_config};

#[tokio::test]
async fn a_retried_command_yields_one_commit_and_the_same_answer() {
    let harness = Harness::start().await;
    let tallies = harness.tallies();
    let add = || {
        request(
            "acme",
            Target::At(id("t1")),
            TallyCommand::Add(5),
            Some("key-1"),
        )
    };

    let first = tallies.execute(add()).await.expect("first");
    let retry = tallies.execute(add()).await.expect("retry");

    assert!(!first.replayed);
    assert!(retry.replayed, "the retry is answered from the log");
    assert_eq!(retry.position, first.position);
    assert_eq!(retry.version, first.version);
    assert_eq!(retry.events, first.events);
    let (state, history) = tallies.load(&first.address).await.expect("load");
    assert_eq!((history.version(), state.total), (1, 5));
}

#[tokio::test]
async fn a_command_retried_after_the_dedupe_window_still_yields_one_commit() {
    let config = StoreConfig {
        duplicate_window: Duration::from_millis(500),
        ..test_config()
    };
    let harness = Harness::with_config(config, Clock::system()).await;
    let tallies = harness.tallies();
    let add = || {
        request(
            "acme",
            Target::At(id("t1")),
            TallyCommand::Add(5),
            Some("late-key"),
        )
    };
    let first = tallies.execute(add()).await.expect("first");

    // Wait until the server has forgotten the message id: a raw append with that id on the
    // same subject is then no longer reported as a duplicate (proved on a probe subject).
    let probe = "tillit.kerneltest.acme.tally.probe";
    let probe_sequence = harness
        .store
        .append(probe, Bytes::from_static(b"p"), 0, Some("probe-id"))
        .await
        .expect("probe");
    let forgotten = tillit_testkit::eventually(Duration::from_secs(20), || {
        let store = harness.store.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            match store
                .append(
                    probe,
                    Bytes::from_static(b"p"),
                    probe_sequence,
                    Some("probe-id"),
                )
                .await
            {
                Err(AppendError::Duplicate { .. }) => false,
                Ok(_) => true,
                Err(e) => panic!("probe append: {e}"),
            }
        }
    })
    .await;
    assert!(forgotten, "the dedupe window passed");

    let retry = tallies.execute(add()).await.expect("retry");
    assert!(retry.replayed);
    assert_eq!(retry.position, first.position);
    let (state, history) = tallies.load(&first.address).await.expect("load");
    assert_eq!(
        (history.version(), state.total),
        (1, 5),
        "one commit, added once"
    );
}

#[tokio::test]
async fn a_create_retried_with_its_key_creates_one_aggregate() {
    let harness = Harness::start().await;
    let tallies = harness.tallies();
    let open = || request("acme", Target::New, TallyCommand::Open, Some("create-1"));

    let first = tallies.execute(open()).await.expect("create");
    let retry = tallies.execute(open()).await.expect("retried create");

    // Derived from the key as its caller's: (actor subject, key).
    let scoped = open().meta.scoped_key().expect("a key");
    assert!(scoped.ends_with("create-1"), "{scoped}");
    assert_eq!(
        first.address.id,
        AggregateId::from_idempotency_key(&tenant("acme"), &scoped)
    );
    assert_eq!(retry.address, first.address);
    assert!(retry.replayed, "the retry is not refused as 'already open'");
    let (_, history) = tallies.load(&first.address).await.expect("load");
    assert_eq!(history.version(), 1);
}

#[tokio::test]
async fn the_same_key_in_two_tenants_gives_two_commits() {
    let harness = Harness::start().await;
    let tallies = harness.tallies();

    let acme = tallies
        .execute(request(
            "acme",
            Target::New,
            TallyCommand::Open,
            Some("shared"),
        ))
        .await
        .expect("acme");
    let globex = tallies
        .execute(request(
            "globex",
            Target::New,
            TallyCommand::Open,
            Some("shared"),
        ))
        .await
        .expect("globex");
    assert!(!acme.replayed && !globex.replayed);
    assert_ne!(acme.position, globex.position);

    // Also on one aggregate id in both tenants, where only the tenant tells them apart.
    let a = tallies
        .execute(request(
            "acme",
            Target::At(id("same")),
            TallyCommand::Add(1),
            Some("k"),
        ))
        .await
        .expect("acme add");
    let g = tallies
        .execute(request(
            "globex",
            Target::At(id("same")),
            TallyCommand::Add(1),
            Some("k"),
        ))
        .await
        .expect("globex add");
    assert!(!a.replayed && !g.replayed);
    assert_ne!(
        message_id(&tenant("acme"), "tillit.x.y.z", "k"),
        message_id(&tenant("globex"), "tillit.x.y.z", "k")
    );
    assert_eq!(harness.commit_count().await, 4);
}
