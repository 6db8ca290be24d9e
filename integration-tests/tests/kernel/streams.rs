//! The streams are immutable: the server refuses deletes, purges, and turning that off.

use tillit_kernel::BoundedContext;

use crate::support::{CONTEXT, Harness, TallyCommand, id, request};

#[tokio::test]
async fn the_server_refuses_delete_purge_and_weakening_the_stream() {
    let harness = Harness::start().await;
    let executed = harness
        .tallies()
        .execute(request(
            "acme",
            tillit_kernel::Target::At(id("t")),
            TallyCommand::Add(1),
            None,
        ))
        .await
        .expect("a commit");
    let sequence = executed.position.expect("written").sequence;
    let js = harness.store.jetstream();
    let mut stream = js.get_stream(CONTEXT.stream()).await.expect("stream");

    let deleted = stream.delete_message(sequence).await;
    assert!(
        refused(&deleted, "delete"),
        "delete is refused: {deleted:?}"
    );
    let purged = stream.purge().await;
    assert!(refused(&purged, "purge"), "purge is refused: {purged:?}");

    let mut weakened = harness.store.stream_config(CONTEXT);
    weakened.deny_delete = false;
    let updated = js.update_stream(weakened).await;
    assert!(
        refused(&updated, "delete"),
        "deny_delete cannot be turned off: {updated:?}"
    );
    let mut weakened = harness.store.stream_config(CONTEXT);
    weakened.deny_purge = false;
    let updated = js.update_stream(weakened).await;
    assert!(
        refused(&updated, "purge"),
        "deny_purge cannot be turned off: {updated:?}"
    );

    let info = stream.info().await.expect("info");
    assert_eq!(info.state.messages, 1, "the commit is still there");
    assert!(info.config.deny_delete && info.config.deny_purge && !info.config.allow_rollup);
    assert_eq!(info.config.max_age, std::time::Duration::ZERO);
    assert_eq!(info.config.max_messages, -1);
}

#[tokio::test]
async fn provisioning_again_keeps_the_stream_and_its_commits() {
    let harness = Harness::start().await;
    harness
        .tallies()
        .execute(request(
            "acme",
            tillit_kernel::Target::At(id("t")),
            TallyCommand::Add(1),
            None,
        ))
        .await
        .expect("a commit");
    harness
        .store
        .provision(CONTEXT)
        .await
        .expect("second provisioning");
    harness
        .store
        .provision(BoundedContext::new("other"))
        .await
        .expect("another context");
    assert_eq!(harness.commit_count().await, 1);
}

/// Whether the server refused an operation with an error that names `what`.
fn refused<T, E: std::fmt::Display>(outcome: &Result<T, E>, what: &str) -> bool {
    outcome
        .as_ref()
        .err()
        .is_some_and(|e| e.to_string().to_lowercase().contains(what))
}
