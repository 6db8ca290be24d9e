//! One trace of a breach reported and triaged in the portal, and the metrics it leaves.

use std::collections::HashMap;
use std::time::Duration;

use tillit_integration_tests::otlp::{OtlpReceiver, ReceivedSpan};
use tillit_integration_tests::portal::Browser;
use tillit_integration_tests::processes::ProcessPlatform;
use tillit_integration_tests::receivers::WebhookReceiver;
use tillit_testkit::harness::user_password;

use super::{report_in_portal, triage_in_portal};

const OFFICER: &str = "olle@tillit.test";

/// The spans of `trace`, by span id.
fn by_id<'a>(spans: &'a [ReceivedSpan], trace: &str) -> HashMap<&'a str, &'a ReceivedSpan> {
    spans
        .iter()
        .filter(|s| s.trace_id == trace)
        .map(|s| (s.span_id.as_str(), s))
        .collect()
}

/// Whether `ancestor` is `span`'s parent, or its parent's, and so on.
fn descends(
    spans: &HashMap<&str, &ReceivedSpan>,
    span: &ReceivedSpan,
    ancestor: &ReceivedSpan,
) -> bool {
    let mut at = span;
    while let Some(parent) = spans.get(at.parent_span_id.as_str()) {
        if parent.span_id == ancestor.span_id {
            return true;
        }
        at = parent;
    }
    false
}

fn find<'a>(spans: &'a [ReceivedSpan], service: &str, name: &str) -> Vec<&'a ReceivedSpan> {
    spans
        .iter()
        .filter(|s| s.service == service && s.name == name)
        .collect()
}

/// The report's trace: the page, the portal's call, the incidents handler, its command
/// and the append, as parent and children; and reporting's projection batch linked to it.
fn report_trace_is_whole(spans: &[ReceivedSpan]) -> Result<(), String> {
    let page = find(spans, "tillit-portal", "POST /report");
    let page = page.first().ok_or("no span of the portal's POST /report")?;
    let trace = by_id(spans, &page.trace_id);
    let in_trace = |service: &str, name: &str| -> Result<&ReceivedSpan, String> {
        trace
            .values()
            .copied()
            .find(|s| s.service == service && s.name == name)
            .ok_or(format!("no {service} span {name} in the page's trace"))
    };
    let method = "tillit.incidents.v1.IncidentsService/ReportIncident";
    let client = in_trace("tillit-portal", method)?;
    let server = in_trace("tillit-incidents", method)?;
    let command = in_trace("tillit-incidents", "tillit.incidents.v1.ReportIncident")?;
    let append = in_trace("tillit-incidents", "append")?;
    for (child, parent, what) in [
        (client, *page, "the portal's call under its page"),
        (
            server,
            client,
            "the incidents handler under the portal's call",
        ),
        (command, server, "the command under the handler"),
        (append, command, "the append under the command"),
    ] {
        if !descends(&trace, child, parent) {
            return Err(format!("{what}: {child:?} is not under {parent:?}"));
        }
    }
    if server.attribute("rpc.grpc.status_code") != Some("0") {
        return Err(format!("the handler's status: {server:?}"));
    }
    if command.attribute("tillit.attempts") != Some("1") {
        return Err(format!("the command's attempts: {command:?}"));
    }
    let linked = find(spans, "tillit-reporting", "projection batch")
        .into_iter()
        .any(|batch| {
            batch
                .links
                .iter()
                .any(|(t, s)| *t == page.trace_id && *s == append.span_id)
        });
    if !linked {
        return Err("no projection batch of reporting links to the append".into());
    }
    Ok(())
}

/// A reminder issued by reporting's scheduler and its delivery in one trace.
fn reminder_trace_is_whole(spans: &[ReceivedSpan]) -> Result<(), String> {
    for issue in find(spans, "tillit-reporting", "reminder issue") {
        let trace = by_id(spans, &issue.trace_id);
        let named = |name: &'static str| trace.values().filter(move |s| s.name == name);
        let whole = named("reminder delivery").any(|delivery| {
            descends(&trace, delivery, issue)
                && named("reminder delivery attempt")
                    .any(|attempt| descends(&trace, attempt, delivery))
        });
        if whole {
            return Ok(());
        }
    }
    Err("no reminder issue with its delivery and an attempt in one trace".into())
}

/// A metric's samples from Prometheus text: (labels, value) per sample of `name`.
fn samples(text: &str, name: &str) -> Vec<(HashMap<String, String>, f64)> {
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("Prometheus text parses");
    scrape
        .samples
        .into_iter()
        .filter(|s| s.metric == name)
        .map(|s| {
            let value = match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                prometheus_parse::Value::Histogram(buckets) => {
                    buckets.last().map_or(0.0, |b| b.count)
                }
                prometheus_parse::Value::Summary(_) => 0.0,
            };
            (
                s.labels
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                value,
            )
        })
        .collect()
}

/// The sum of `name`'s samples whose labels include `having`.
fn total(text: &str, name: &str, having: &[(&str, &str)]) -> f64 {
    samples(text, name)
        .into_iter()
        .filter(|(labels, _)| {
            having
                .iter()
                .all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, value)| value)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breach_reported_in_the_portal_is_one_trace_and_every_admin_port_counts_it() {
    let receiver = OtlpReceiver::start().await;
    let webhook = WebhookReceiver::start(1).await;
    let platform = ProcessPlatform::start(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint()),
        ("OTEL_BSP_SCHEDULE_DELAY", "200".to_owned()),
        ("TILLIT_REMINDER_INTERVAL_MS", "300".to_owned()),
        ("TILLIT_WEBHOOK_URL", webhook.url.clone()),
        (
            "TILLIT_WEBHOOK_SECRET",
            "a webhook secret of the test".to_owned(),
        ),
        ("TILLIT_DELIVERY_BACKOFF_MS", "100".to_owned()),
        ("TILLIT_THROTTLE_PER_ACCOUNT", "2".to_owned()),
    ])
    .await;
    platform.staff(OFFICER, &["security_officer"]).await;

    // A stranger tries a password three times: failures, then the throttle.
    let mut stranger = Browser::at(platform.service("portal").grpc);
    for _ in 0..3 {
        stranger
            .sign_in("nobody@tillit.test", "not the password")
            .await;
    }

    let mut browser = Browser::at(platform.service("portal").grpc);
    browser.language = Some("en".into());
    let landed = browser.sign_in(OFFICER, &user_password(OFFICER)).await;
    assert_eq!(landed.status, 303, "{}", landed.body);
    let path = report_in_portal(
        &mut browser,
        "Laptop stolen",
        "The laptop held the payroll.",
    )
    .await;
    triage_in_portal(&mut browser, &path).await;

    // The trace.
    let spans = receiver
        .wait_for(Duration::from_secs(30), |spans| {
            report_trace_is_whole(spans).is_ok() && reminder_trace_is_whole(spans).is_ok()
        })
        .await;
    let names = |service: &str| {
        let mut names: Vec<_> = spans
            .iter()
            .filter(|s| s.service == service)
            .map(|s| s.name.as_str())
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    };
    let summary = ["tillit-portal", "tillit-incidents", "tillit-reporting"]
        .map(|service| format!("{service}: {:?}", names(service)))
        .join("\n");
    report_trace_is_whole(&spans).unwrap_or_else(|e| panic!("{e}\n{summary}"));
    reminder_trace_is_whole(&spans).unwrap_or_else(|e| panic!("{e}\n{summary}"));
    assert!(
        !webhook.received().is_empty(),
        "the reminder reached the webhook"
    );

    // The metrics.
    let mut scraped = HashMap::new();
    for service in &platform.services {
        let (status, text) =
            tillit_integration_tests::identity::http_get(service.admin, "/metrics").await;
        assert!(status.contains("200"), "{}: {status}", service.name);
        for name in [
            "process_resident_memory_bytes",
            "process_open_fds",
            "tillit_ready",
        ] {
            assert!(
                total(&text, name, &[]) > 0.0,
                "{}: {name} in\n{text}",
                service.name
            );
        }
        scraped.insert(service.name, text);
    }
    for service in ["identity", "assets", "incidents", "reporting"] {
        let text = &scraped[service];
        for (name, having) in [
            (
                "tillit_grpc_server_handled_total",
                vec![("grpc_code", "OK")],
            ),
            ("tillit_grpc_server_handling_seconds", vec![]),
            ("tillit_nats_connected", vec![]),
            ("tillit_projection_batch_commits", vec![]),
            (
                "tillit_projection_applied_commits_total",
                vec![("stream", "IDENTITY")],
            ),
        ] {
            assert!(
                total(text, name, &having) > 0.0,
                "{service}: {name} {having:?} in\n{text}"
            );
        }
        assert!(
            !samples(text, "tillit_projection_lag_commits").is_empty(),
            "{service}: the lag gauge"
        );
    }
    let incidents = &scraped["incidents"];
    for (name, having) in [
        (
            "tillit_commands_total",
            vec![("aggregate", "incident"), ("outcome", "ok")],
        ),
        (
            "tillit_append_duration_seconds",
            vec![("stream", "INCIDENTS")],
        ),
        (
            "tillit_grpc_server_handled_total",
            vec![("grpc_method", "TriageIncident"), ("grpc_code", "OK")],
        ),
    ] {
        assert!(
            total(incidents, name, &having) > 0.0,
            "incidents: {name} {having:?} in\n{incidents}"
        );
    }
    let identity = &scraped["identity"];
    for name in [
        "tillit_identity_login_failures_total",
        "tillit_identity_login_lockouts_total",
    ] {
        assert!(
            total(identity, name, &[]) > 0.0,
            "identity: {name} in\n{identity}"
        );
    }
    let reporting = &scraped["reporting"];
    for (name, having) in [
        (
            "tillit_reminders_issued_total",
            vec![("kind", "obligation")],
        ),
        (
            "tillit_reminder_deliveries_total",
            vec![("outcome", "delivered")],
        ),
        (
            "tillit_reminder_deliveries_total",
            vec![("outcome", "failed")],
        ),
    ] {
        assert!(
            total(reporting, name, &having) > 0.0,
            "reporting: {name} {having:?} in\n{reporting}"
        );
    }
    assert!(
        !samples(reporting, "tillit_obligations_pending_due_within_hour").is_empty(),
        "the legal clock's gauge"
    );
    let portal = &scraped["portal"];
    for (name, having) in [
        (
            "tillit_http_requests_total",
            vec![("route", "/report"), ("method", "POST"), ("status", "303")],
        ),
        // (prometheus-parse misreads a label value holding `}`, as `/incidents/{id}` does.)
        (
            "tillit_http_request_duration_seconds",
            vec![("route", "/report"), ("method", "GET")],
        ),
    ] {
        assert!(
            total(portal, name, &having) > 0.0,
            "portal: {name} {having:?} in\n{portal}"
        );
    }
}
