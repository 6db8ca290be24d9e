//! SIGTERM in the middle of a load of commands: every command answered OK is in the
//! stream, the process exits 0 within the grace period, and its last spans reach the
//! collector.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tillit_integration_tests::identity::bearer;
use tillit_integration_tests::otlp::OtlpReceiver;
use tillit_integration_tests::processes::ProcessPlatform;
use tillit_proto::incidents::incidents_service_client::IncidentsServiceClient;
use tillit_proto::incidents::{IncidentKind, ReportIncidentRequest};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_loses_no_acknowledged_command_and_exits_0_in_the_grace_period() {
    let receiver = OtlpReceiver::start().await;
    let grace = Duration::from_secs(10);
    let mut platform = ProcessPlatform::start(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint()),
        // Long enough that nothing is exported before the stop: the stop flushes it all.
        ("OTEL_BSP_SCHEDULE_DELAY", "60000".to_owned()),
        ("TILLIT_SHUTDOWN_GRACE_SECONDS", grace.as_secs().to_string()),
    ])
    .await;
    let token = platform.staff("eva@tillit.test", &["employee"]).await;
    let channel = platform.channel("incidents").await;

    // Eight writers report incidents as fast as they are answered.
    let acknowledged: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut writers = Vec::new();
    for writer in 0..8 {
        let (channel, token, acknowledged) = (channel.clone(), token.clone(), acknowledged.clone());
        writers.push(tokio::spawn(async move {
            let mut client = IncidentsServiceClient::new(channel);
            for n in 0.. {
                let answer = client
                    .report_incident(bearer(
                        &token,
                        ReportIncidentRequest {
                            kind: IncidentKind::SecurityIncident.into(),
                            title: format!("Writer {writer}, incident {n}"),
                            description: "Under load while the service stops.".into(),
                            ..Default::default()
                        },
                    ))
                    .await;
                match answer {
                    Ok(answer) => acknowledged
                        .lock()
                        .expect("lock")
                        .push(answer.into_inner().incident_id),
                    // Refused or cut off once the server stops: not acknowledged.
                    Err(_) => break,
                }
            }
        }));
    }
    while acknowledged.lock().expect("lock").len() < 40 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let incidents = platform.service_mut("incidents");
    let stopped_at = Instant::now();
    incidents.terminate();
    let status = incidents.wait(grace + Duration::from_secs(5)).await;
    let took = stopped_at.elapsed();
    let log = incidents.log();
    for writer in writers {
        writer.await.expect("a writer");
    }
    let status = status.unwrap_or_else(|| panic!("still running after {took:?}; its log:\n{log}"));
    assert!(status.success(), "exit {status}; its log:\n{log}");
    assert!(took < grace, "stopped in {took:?}, within {grace:?}");

    // Every acknowledged incident is in the stream.
    let acknowledged = acknowledged.lock().expect("lock").clone();
    let store = tillit_kernel::EventStore::connect(
        &platform.nats.url(),
        tillit_kernel::StoreConfig::default(),
        tillit_kernel::Clock::system(),
    )
    .await
    .expect("connect");
    let stored: std::collections::HashSet<String> = store
        .read_stream("INCIDENTS")
        .await
        .expect("the stream")
        .into_iter()
        .map(|(_, commit)| commit.aggregate_id)
        .collect();
    let missing: Vec<_> = acknowledged
        .iter()
        .filter(|id| !stored.contains(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "acknowledged but not stored: {missing:?}"
    );

    // Spans are exported every minute here: the stop itself exported them, the last
    // command's too.
    let appends = |spans: &[tillit_integration_tests::otlp::ReceivedSpan]| {
        spans
            .iter()
            .filter(|s| s.service == "tillit-incidents" && s.name == "append")
            .count()
    };
    let spans = receiver
        .wait_for(Duration::from_secs(5), |spans| {
            appends(spans) >= acknowledged.len()
        })
        .await;
    let appends = appends(&spans);
    assert!(
        appends >= acknowledged.len(),
        "{appends} append spans for {} acknowledged commands",
        acknowledged.len()
    );
}
