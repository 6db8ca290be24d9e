//! `/readyz` while a projection rebuilds: 503 with the reason until it has caught up, 200
//! after; once caught up, a burst of writes beyond `ready_max_lag` is 503 again until it
//! is applied. The projection sleeps per commit (a test delay) so the rebuild lasts long
//! enough to be seen; the admin routes are the runtime's, as every service serves them.

use std::sync::Arc;
use std::time::Duration;

use redb::WriteTransaction;
use tillit_kernel::{KernelError, Projection, ProjectionConfig, ProjectionRunner, Target};
use tillit_proto::common::Position;
use tillit_proto::kernel::Commit;

use crate::support::{CONTEXT, Harness, TallyCommand, id, request};

/// Applies nothing but takes its time over each commit.
struct Slow;

impl Projection for Slow {
    fn name(&self) -> &'static str {
        "slow"
    }

    fn schema_version(&self) -> u32 {
        1
    }

    fn streams(&self) -> Vec<String> {
        vec![CONTEXT.stream()]
    }

    fn reset(&self, _tx: &WriteTransaction) -> Result<(), KernelError> {
        Ok(())
    }

    fn apply(&self, _: &WriteTransaction, _: &Commit, _: &Position) -> Result<(), KernelError> {
        std::thread::sleep(Duration::from_millis(3));
        Ok(())
    }
}

async fn add(harness: &Harness, commits: u64) {
    let tallies = harness.tallies();
    for n in 0..commits {
        tallies
            .execute(request(
                "acme",
                Target::At(id("r")),
                TallyCommand::Add(n),
                None,
            ))
            .await
            .expect("append");
    }
}

/// The status codes `/readyz` answers over `window`, polled every 10 ms, in order and
/// without repeats, with the first not-ready reason.
async fn statuses(admin: std::net::SocketAddr, window: Duration) -> (Vec<String>, String) {
    let mut seen: Vec<String> = Vec::new();
    let mut reason = String::new();
    let deadline = tokio::time::Instant::now() + window;
    while tokio::time::Instant::now() < deadline {
        let (status, body) = tillit_integration_tests::identity::http_get(admin, "/readyz").await;
        let code = status
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        if code == "503" && reason.is_empty() {
            reason = body;
        }
        if seen.last() != Some(&code) {
            seen.push(code.clone());
        }
        if code == "200" && seen.len() > 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    (seen, reason)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_is_503_while_a_projection_rebuilds_and_200_after() {
    let harness = Harness::start().await;
    add(&harness, 300).await;
    let dir = tempfile::tempdir().expect("dir");
    let runner = Arc::new(
        ProjectionRunner::start(
            &dir.path().join("slow.redb"),
            harness.store.clone(),
            vec![Arc::new(Slow) as Arc<dyn Projection>],
            ProjectionConfig {
                batch_size: 20,
                ready_max_lag: 10,
                confirm_every: Duration::from_millis(100),
                ..ProjectionConfig::default()
            },
        )
        .await
        .expect("start"),
    );
    let ready = runner.clone();
    let admin = tillit_runtime::admin_router(
        axum::Router::new(),
        &tillit_runtime::Metrics::new("test"),
        Arc::new(move || ready.readiness()),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, admin).await });

    // 300 commits at 3 ms each: about a second of rebuilding.
    let (seen, reason) = statuses(addr, Duration::from_secs(20)).await;
    assert_eq!(
        seen,
        ["503", "200"],
        "not ready while rebuilding, then ready"
    );
    assert!(reason.contains("catching up"), "{reason}");

    // Caught up: a burst of 400 commits is more than 10 behind until applied.
    let burst = {
        let harness_store = harness.store.clone();
        tokio::spawn(async move {
            let tallies =
                tillit_kernel::Runner::<crate::support::Tally>::new(harness_store, CONTEXT);
            let requests: Vec<_> = (0..400)
                .map(|n| {
                    tallies.execute(request(
                        "acme",
                        Target::At(id(&format!("b{n}"))),
                        TallyCommand::Add(n),
                        None,
                    ))
                })
                .collect();
            for done in futures::future::join_all(requests).await {
                done.expect("append");
            }
        })
    };
    let (seen, reason) = statuses(addr, Duration::from_secs(20)).await;
    burst.await.expect("the burst");
    assert!(
        seen.ends_with(&["503".to_owned(), "200".to_owned()]),
        "a burst beyond the lag, then caught up: {seen:?}"
    );
    assert!(reason.contains("commits behind"), "{reason}");
    runner.stop().await;
}
