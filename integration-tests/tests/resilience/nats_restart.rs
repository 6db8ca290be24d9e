//! NATS restarted (kill -9 and a clean stop) and paused (SIGSTOP) under a running
//! platform: the services follow again by themselves, readiness comes back within
//! seconds, a deactivation made afterwards is refused everywhere, no acknowledged command
//! is lost, a token check fails closed while the identity view cannot be confirmed
//! current, and a service restarted on the same store resumes instead of rebuilding.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tillit_integration_tests::assets::{self, Service, start_assets, start_incidents};
use tillit_integration_tests::identity::{Identity, Stack, bearer};
use tillit_proto::assets::AssetKind;
use tillit_proto::assets::assets_service_client::AssetsServiceClient;
use tillit_proto::assets::{
    Classification, GetAssetRequest, ListAssetsRequest, RegisterAssetRequest,
};
use tillit_proto::identity::{DeactivateUserRequest, WhoAmIRequest};
use tillit_proto::incidents::ListIncidentsRequest;
use tillit_proto::incidents::incidents_service_client::IncidentsServiceClient;
use tonic::Code;

use crate::logs;

/// The staleness bound the services run with here.
const STALENESS_MS: u64 = 2000;
const STALENESS: Duration = Duration::from_millis(STALENESS_MS);

fn extra() -> Vec<(&'static str, &'static str)> {
    vec![
        ("TILLIT_MAX_STALENESS_MS", "2000"),
        ("TILLIT_NATS_TIMEOUT_MS", "2000"),
    ]
}

fn asset(n: u32) -> RegisterAssetRequest {
    RegisterAssetRequest {
        tenant_id: "internal".into(),
        name: format!("load-{n}"),
        kind: AssetKind::Server.into(),
        owner_user_id: String::new(),
        description: "registered while NATS restarts".into(),
        classification: Some(Classification {
            confidentiality: 2,
            integrity: 2,
            availability: 2,
        }),
        classification_rationale: "test load".into(),
        consistency: None,
    }
}

/// Registers assets one after another until stopped, each with its own idempotency key,
/// retrying a failed one with the same key; answers the ids of the acknowledged ones.
fn load(
    grpc: std::net::SocketAddr,
    token: String,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> tokio::task::JoinHandle<(BTreeSet<String>, u32)> {
    tokio::spawn(async move {
        let url = format!("http://{grpc}");
        let channel = tonic::transport::Channel::from_shared(url)
            .expect("url")
            .connect_lazy();
        let mut client = AssetsServiceClient::new(channel);
        let mut acknowledged = BTreeSet::new();
        let mut failures = 0;
        let mut n = 0;
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            let mut request = bearer(&token, asset(n));
            request.metadata_mut().insert(
                "idempotency-key",
                format!("load-{n}").parse().expect("ascii"),
            );
            match client.register_asset(request).await {
                Ok(answer) => {
                    let id = answer.into_inner().asset.expect("asset").asset_id;
                    acknowledged.insert(id);
                    n += 1;
                }
                Err(_) => {
                    failures += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
        (acknowledged, failures)
    })
}

/// Seconds until every service's `/readyz` answers 200 again.
async fn ready_again(identity: &Identity, services: &[&Service]) -> Duration {
    let started = Instant::now();
    loop {
        let mut all = identity.admin_get("/readyz").await.0.contains("200");
        for service in services {
            all &= service.admin_get("/readyz").await.0.contains("200");
        }
        if all {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "not ready 30 s after the restart: identity {:?}, assets {:?}",
            identity.admin_get("/readyz").await,
            services[0].admin_get("/readyz").await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn services_follow_nats_through_restarts_and_fail_closed_while_it_is_paused() {
    let (captured, _guard) = logs::capture();
    let extra = extra();
    let mut stack = Stack::with(&extra).await;
    let admin = stack.identity.admin_token().await;
    let (officer, officer_login, _) = stack
        .identity
        .create_user(
            &admin,
            "internal",
            "olle@tillit.test",
            &["security_officer"],
        )
        .await;
    let (erik, erik_login, _) = stack
        .identity
        .create_user(&admin, "internal", "erik@tillit.test", &["employee"])
        .await;
    let _ = officer;
    let data = stack.data.path().to_owned();
    let url = stack.nats.url();
    let mut assets = start_assets(assets::assets_config_with(&url, &data, &extra)).await;
    let incidents = start_incidents(assets::incidents_config_with(&url, &data, &extra)).await;

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let running = load(
        assets.grpc,
        officer_login.access_token.clone(),
        stop.clone(),
    );
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Twice under load: a crash of nats-server, then a clean stop.
    let mut seconds_to_ready = Vec::new();
    for crash in [true, false] {
        if crash {
            stack.nats.kill();
        } else {
            stack.nats.stop();
        }
        // Down for longer than the staleness bound: readiness drops, and says why.
        tokio::time::sleep(STALENESS + Duration::from_millis(500)).await;
        let (status, body) = assets.admin_get("/readyz").await;
        assert!(
            status.contains("503"),
            "ready while NATS is down: {status} {body}"
        );
        stack.nats.restart();
        seconds_to_ready.push(ready_again(&stack.identity, &[&assets, &incidents]).await);
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (acknowledged, failures) = running.await.expect("load task");
    eprintln!(
        "ready again after the restarts (kill -9, clean stop): {seconds_to_ready:?}; {} registrations acknowledged, {failures} failed attempts retried",
        acknowledged.len()
    );
    assert!(
        acknowledged.len() >= 3,
        "the load made progress: {}",
        acknowledged.len()
    );

    // Every acknowledged command is in the log and the read model.
    let mut client = AssetsServiceClient::new(assets.channel().await);
    for id in &acknowledged {
        client
            .get_asset(bearer(
                &officer_login.access_token,
                GetAssetRequest {
                    asset_id: id.clone(),
                    ..Default::default()
                },
            ))
            .await
            .unwrap_or_else(|e| panic!("acknowledged asset {id} missing: {e}"));
    }

    // A deactivation after the restarts reaches every service's view within the bound.
    let deactivated = stack
        .identity
        .client()
        .await
        .deactivate_user(bearer(
            &admin,
            DeactivateUserRequest {
                user_id: erik.user_id.clone(),
                consistency: None,
            },
        ))
        .await
        .expect("deactivate erik");
    drop(deactivated);
    let since = Instant::now();
    let mut incidents_client = IncidentsServiceClient::new(incidents.channel().await);
    let mut last_accepted = None;
    loop {
        let at_assets = client
            .list_assets(bearer(
                &erik_login.access_token,
                ListAssetsRequest::default(),
            ))
            .await
            .map(drop);
        let at_incidents = incidents_client
            .list_incidents(bearer(
                &erik_login.access_token,
                ListIncidentsRequest::default(),
            ))
            .await
            .map(drop);
        if at_assets.is_ok() || at_incidents.is_ok() {
            last_accepted = Some(since.elapsed());
        }
        let code = |r: &Result<(), tonic::Status>| r.as_ref().err().map(tonic::Status::code);
        if code(&at_assets) == Some(Code::Unauthenticated)
            && code(&at_incidents) == Some(Code::Unauthenticated)
        {
            break;
        }
        assert!(
            since.elapsed() < STALENESS + Duration::from_secs(3),
            "the deactivated user is not refused {:?} after the deactivation: assets {at_assets:?}, incidents {at_incidents:?}",
            since.elapsed(),
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        last_accepted.is_none_or(|at| at <= STALENESS),
        "the deactivated user's token was accepted {last_accepted:?} after the deactivation"
    );
    eprintln!(
        "deactivation refused at assets and incidents {:?} after it",
        since.elapsed()
    );
    if std::env::var_os("DEBUG_LOG").is_some() {
        eprintln!(
            "{}",
            captured
                .text()
                .lines()
                .filter(|l| l.contains("WARN") || l.contains("ERROR"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }

    // A paused server (no TCP reset, no ping for a minute) is noticed within the bound:
    // token checks fail closed, and come back once it runs again.
    stack.nats.pause();
    let paused = Instant::now();
    let refused_after = loop {
        let answer = client
            .list_assets(bearer(
                &officer_login.access_token,
                ListAssetsRequest::default(),
            ))
            .await;
        match answer {
            Err(status) if status.code() == Code::Unavailable => {
                eprintln!("refused: {}", status.message());
                break paused.elapsed();
            }
            other => assert!(
                paused.elapsed() < STALENESS + Duration::from_secs(3),
                "still answering {:?} after the pause: {other:?}",
                paused.elapsed()
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let (status, body) = assets.admin_get("/readyz").await;
    assert!(
        status.contains("503") && body.contains("not confirmed"),
        "{status} {body}"
    );
    stack.nats.resume();
    let back = ready_again(&stack.identity, &[&assets, &incidents]).await;
    client
        .list_assets(bearer(
            &officer_login.access_token,
            ListAssetsRequest::default(),
        ))
        .await
        .expect("answers again after the pause");
    eprintln!(
        "paused NATS: tokens refused as UNAVAILABLE after {refused_after:?}; ready {back:?} after SIGCONT"
    );

    // A service restarted on the same store after all that resumes from its checkpoints.
    let identity_whoami = stack
        .identity
        .client()
        .await
        .who_am_i(bearer(
            &officer_login.access_token,
            WhoAmIRequest::default(),
        ))
        .await;
    assert!(identity_whoami.is_ok(), "{identity_whoami:?}");
    assets.stop().await;
    captured.clear();
    let assets = start_assets(assets::assets_config_with(&url, &data, &extra)).await;
    let log = captured.text();
    assert!(
        log.contains("resuming projection from its checkpoint")
            && !log.contains("rebuilding projection"),
        "the restarted assets service rebuilt instead of resuming:\n{log}"
    );
    assert!(!log.contains("was replaced"), "{log}");
    let listed = AssetsServiceClient::new(assets.channel().await)
        .list_assets(bearer(
            &officer_login.access_token,
            ListAssetsRequest::default(),
        ))
        .await
        .expect("list after the service restart")
        .into_inner();
    assert!(listed.assets.len() >= acknowledged.len().min(50));
}
