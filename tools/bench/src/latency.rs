//! (d) A small list at one client, end to end over gRPC: the p50 of `ListIncidents` with a
//! page of 10 against the p50 of a gRPC health check on the same server (one segment each
//! way). The ratio shows the cost of the listing itself; an answer spanning several TCP
//! segments that waited for the client's delayed ACK (no TCP_NODELAY) would show as a
//! ratio of about 50 (≈ 44 ms against ≈ 0.8 ms).
use tillit_proto::incidents::IncidentKind;

use std::time::{Duration, Instant};

use tillit_proto::common::PageRequest;
use tillit_proto::identity::LoginRequest;
use tillit_proto::incidents::incidents_service_client::IncidentsServiceClient;
use tillit_proto::incidents::{ListIncidentsRequest, ReportIncidentRequest};
use tillit_testkit::NatsServer;
use tillit_testkit::harness::{ADMIN_EMAIL, bearer};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use crate::{Row, services};

const SAMPLES: usize = 300;

fn p50(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

pub(crate) async fn measure(nats: &NatsServer) -> Result<Row, Box<dyn std::error::Error>> {
    let data = tempfile::tempdir()?;
    let identity = services::identity(&nats.url(), data.path(), &[]).await;
    let incidents = services::incidents(&nats.url(), data.path()).await;
    let admin = identity.admin_token().await;
    let channel = incidents.channel().await;
    let mut client = IncidentsServiceClient::new(channel.clone());
    let mut last = None;
    for n in 0..10 {
        last = client
            .report_incident(bearer(
                &admin,
                ReportIncidentRequest {
                    kind: IncidentKind::Deviation.into(),
                    title: format!("Benchmark deviation {n} with a title of ordinary length"),
                    description: "What happened, when it was noticed, and which system. ".repeat(4),
                    ..Default::default()
                },
            ))
            .await?
            .into_inner()
            .consistency;
    }
    let list = || ListIncidentsRequest {
        page: Some(PageRequest {
            page_size: 10,
            page_token: String::new(),
        }),
        consistency: last.clone(),
        ..Default::default()
    };
    let page = client
        .list_incidents(bearer(&admin, list()))
        .await?
        .into_inner();
    let bytes = prost::Message::encoded_len(&page);
    let mut health = HealthClient::new(channel);
    let (mut listed, mut checked) = (Vec::new(), Vec::new());
    for _ in 0..SAMPLES {
        let started = Instant::now();
        client.list_incidents(bearer(&admin, list())).await?;
        listed.push(started.elapsed());
        let started = Instant::now();
        health.check(HealthCheckRequest::default()).await?;
        checked.push(started.elapsed());
    }
    let (listed, checked) = (p50(listed), p50(checked));
    Ok(Row {
        label: format!(
            "(d) ListIncidents page of 10 ({bytes} bytes) at one client, p50 vs a health check"
        ),
        baseline: format!("{:.2} ms", checked.as_secs_f64() * 1000.0),
        measured: format!("{:.2} ms", listed.as_secs_f64() * 1000.0),
        ratio: listed.as_secs_f64() / checked.as_secs_f64(),
    })
}

/// (e) A failed login for an unknown e-mail against one for a known e-mail with a wrong
/// password, medians at the production argon2 cost: a ratio near 1 says the answer's time
/// tells nothing about whether the account exists.
pub(crate) async fn logins() -> Result<Row, Box<dyn std::error::Error>> {
    // A NATS of its own: the admin's password must be hashed at this cost too (on a
    // shared one the first identity's test-cost hash would stay, and a cheap hash
    // verifies faster than the dummy one).
    let nats = NatsServer::start();
    let data = tempfile::tempdir()?;
    let identity = services::identity(
        &nats.url(),
        data.path(),
        &[
            ("TILLIT_ARGON2_MEMORY_KIB", "19456"),
            ("TILLIT_ARGON2_ITERATIONS", "2"),
            ("TILLIT_THROTTLE_PER_ACCOUNT", "1000000"),
            ("TILLIT_THROTTLE_PER_ADDRESS", "1000000"),
        ],
    )
    .await;
    let mut client = identity.client().await;
    let (mut unknown, mut wrong) = (Vec::new(), Vec::new());
    for n in 0..40 {
        for (email, times) in [
            (format!("nobody{n}@tillit.test"), &mut unknown),
            (ADMIN_EMAIL.to_owned(), &mut wrong),
        ] {
            let started = Instant::now();
            let refused = client
                .login(LoginRequest {
                    email,
                    password: "guess-123456".into(),
                    consistency: None,
                })
                .await;
            times.push(started.elapsed());
            assert!(refused.is_err(), "a guess signed in");
        }
    }
    let (unknown, wrong) = (p50(unknown), p50(wrong));
    Ok(Row {
        label: "(e) failed login at the production argon2 cost, median: unknown e-mail vs wrong password".into(),
        baseline: format!("wrong password {:.1} ms", wrong.as_secs_f64() * 1000.0),
        measured: format!("unknown e-mail {:.1} ms", unknown.as_secs_f64() * 1000.0),
        ratio: unknown.as_secs_f64() / wrong.as_secs_f64(),
    })
}
