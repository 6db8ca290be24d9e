//! Reminders end to end: issued once, delivered by webhook (signed) and e-mail (a real SMTP
//! server), listed as tasks, acknowledged; two reporting processes share the work, and a
//! delivering process killed mid-retry still ends in exactly one success.

use std::collections::BTreeMap;
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tillit_integration_tests::identity::bearer;
use tillit_integration_tests::platform::Platform;
use tillit_integration_tests::processes::ServiceProcess;
use tillit_integration_tests::receivers::{SmtpSink, WebhookReceiver};
use tillit_proto::Vocabulary as _;
use tillit_proto::reporting::reporting_service_client::ReportingServiceClient;
use tillit_proto::reporting::{
    AcknowledgeReminderRequest, AuditFilter, ListMyTasksRequest, QueryAuditRequest, Reminder,
};
use tillit_proto::reporting::{DeliveryStatus, ReminderKind, ReminderStage};
use tillit_testkit::eventually;
use tonic::Code;
use tonic::transport::Channel;

use crate::support::{client, everything, merge, register_asset, report, triage};

const SECRET: &str = "a-webhook-secret-for-tests";
const WAIT: Duration = Duration::from_secs(30);

fn verifies(secret: &str, body: &[u8], header: &str) -> bool {
    let Some(hex_mac) = header.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_mac) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

async fn tasks(
    reporting: &mut ReportingServiceClient<Channel>,
    token: &str,
    all: bool,
) -> Vec<Reminder> {
    reporting
        .list_my_tasks(bearer(
            token,
            ListMyTasksRequest {
                include_acknowledged: all,
                consistency: None,
            },
        ))
        .await
        .expect("tasks")
        .into_inner()
        .reminders
}

/// A personal-data breach of acme's asset, triaged low: exactly one obligation arises
/// (GDPR Art. 33(2), notify acme). Answers the incident id.
async fn breach(platform: &Platform) -> String {
    let (asset, t1) = register_asset(platform, "acme", "Customer portal").await;
    let (incident, t2) = report(platform, &platform.employee.0, "Portal database exposed").await;
    triage(platform, &incident, "low", &[&asset], &merge(&[&t1, &t2])).await;
    incident
}

#[tokio::test]
async fn a_new_obligation_alerts_by_signed_webhook_and_email_and_becomes_a_task() {
    let platform = Platform::start().await;
    let webhook = WebhookReceiver::start(0).await;
    let smtp = SmtpSink::start().await;
    let (reporting_service, _data) = platform
        .reporting_with(
            time::Duration::ZERO,
            &[
                ("TILLIT_REMINDER_INTERVAL_MS", "1000"),
                ("TILLIT_WEBHOOK_URL", &webhook.url),
                ("TILLIT_WEBHOOK_SECRET", SECRET),
                ("TILLIT_WEBHOOK_KINDS", "obligation"),
                ("TILLIT_SMTP_URL", &smtp.url),
                ("TILLIT_SMTP_FROM", "Tillit <tillit@tillit.test>"),
                ("TILLIT_EMAIL_KINDS", "obligation"),
            ],
        )
        .await;
    let mut reporting = client(&reporting_service).await;
    let incident = breach(&platform).await;

    assert!(
        eventually(WAIT, || async { !webhook.received().is_empty() }).await,
        "no webhook for the new obligation"
    );
    let hook = webhook.received().remove(0);
    let body = hook.json();
    assert_eq!(body["kind"], "obligation");
    assert_eq!(body["stage"], "new");
    assert_eq!(
        body["tenant_id"], "internal",
        "the incident is in the reporter's log"
    );
    assert!(
        body["item_id"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{incident}/gdpr-33-2"))
    );
    assert!(verifies(
        SECRET,
        &hook.body,
        hook.header("x-tillit-signature")
    ));
    assert!(!verifies(
        "another-secret-entirely",
        &hook.body,
        hook.header("x-tillit-signature")
    ));
    let mut tampered = hook.body.clone();
    tampered[0] = b' ';
    assert!(!verifies(
        SECRET,
        &tampered,
        hook.header("x-tillit-signature")
    ));
    assert_eq!(
        hook.header("x-tillit-delivery"),
        format!("{}:webhook:default", body["reminder_id"].as_str().unwrap())
    );

    // The officer (a security officer) gets the e-mail; the employee does not.
    assert!(
        eventually(WAIT, || async { !smtp.messages().is_empty() }).await,
        "no e-mail arrived"
    );
    let mail = smtp.messages().remove(0);
    assert!(mail.contains("olle@tillit.test"), "{mail}");
    assert!(mail.contains("[Tillit]"), "{mail}");
    assert!(!mail.contains("erik@tillit.test"));

    // Issued within one interval of the triage: the alert's commit follows the triage's.
    let token = everything(&platform).await;
    let audit = |command: &str| QueryAuditRequest {
        filter: Some(AuditFilter {
            command: command.into(),
            ..Default::default()
        }),
        page: None,
        consistency: Some(token.clone()),
    };
    let triaged = reporting
        .query_audit(bearer(
            &platform.auditor,
            audit("tillit.incidents.v1.TriageIncident"),
        ))
        .await
        .expect("audit")
        .into_inner()
        .entries;
    let issued = reporting
        .query_audit(bearer(
            &platform.auditor,
            audit("tillit.reporting.v1.IssueReminder"),
        ))
        .await
        .expect("audit")
        .into_inner()
        .entries;
    let obligation = issued
        .iter()
        .find(|e| e.aggregate_id == body["reminder_id"].as_str().unwrap())
        .expect("the issue commit is in the audit trail");
    let after = obligation.recorded_at.unwrap().seconds - triaged[0].recorded_at.unwrap().seconds;
    assert!(
        (0..=3).contains(&after),
        "issued {after} s after the triage (interval 1 s)"
    );

    // The officer's task list holds it, delivered on both channels; acknowledging closes it.
    let (officer, _) = platform.officer.clone();
    let open = tasks(&mut reporting, &officer, false).await;
    let task = open
        .iter()
        .find(|t| t.kind() == ReminderKind::Obligation)
        .expect("the obligation is the officer's task");
    assert!(
        eventually(WAIT, || async {
            let open = tasks(&mut client(&reporting_service).await, &officer, false).await;
            open.iter()
                .find(|t| t.reminder_id == task.reminder_id)
                .is_some_and(|t| {
                    t.deliveries.len() == 2
                        && t.deliveries
                            .iter()
                            .all(|d| d.status() == DeliveryStatus::Delivered)
                })
        })
        .await
    );
    assert!(
        tasks(&mut reporting, &platform.employee.0, false)
            .await
            .iter()
            .all(|t| t.kind() != ReminderKind::Obligation),
        "the employee is not a recipient"
    );
    let stranger = reporting
        .acknowledge_reminder(bearer(
            &platform.employee.0,
            AcknowledgeReminderRequest {
                reminder_id: task.reminder_id.clone(),
                consistency: None,
            },
        ))
        .await
        .expect_err("not the employee's reminder");
    assert_eq!(stranger.code(), Code::NotFound);
    let acknowledged = reporting
        .acknowledge_reminder(bearer(
            &officer,
            AcknowledgeReminderRequest {
                reminder_id: task.reminder_id.clone(),
                consistency: None,
            },
        ))
        .await
        .expect("acknowledge")
        .into_inner();
    let after: Vec<_> = reporting
        .list_my_tasks(bearer(
            &officer,
            ListMyTasksRequest {
                include_acknowledged: false,
                consistency: acknowledged.consistency.clone(),
            },
        ))
        .await
        .expect("tasks")
        .into_inner()
        .reminders;
    assert!(after.iter().all(|t| t.reminder_id != task.reminder_id));
    let all = tasks(&mut reporting, &officer, true).await;
    assert!(
        all.iter()
            .any(|t| t.reminder_id == task.reminder_id && t.acknowledged_at.is_some())
    );
}

#[tokio::test]
async fn two_processes_issue_once_and_a_kill_mid_retry_still_ends_in_one_success() {
    let platform = Platform::start().await;
    // 500 twice, then 200, for each delivery id.
    let webhook = WebhookReceiver::start(2).await;
    let settings = |url: &str| {
        vec![
            ("TILLIT_REMINDER_INTERVAL_MS", "300".to_owned()),
            ("TILLIT_WEBHOOK_URL", url.to_owned()),
            ("TILLIT_WEBHOOK_SECRET", SECRET.to_owned()),
            ("TILLIT_WEBHOOK_KINDS", "obligation".to_owned()),
            ("TILLIT_DELIVERY_BACKOFF_MS", "1500".to_owned()),
            ("TILLIT_DELIVERY_ACK_WAIT_MS", "2000".to_owned()),
        ]
    };
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut first = ServiceProcess::start(
        "reporting",
        &platform.nats.url(),
        one.path(),
        &settings(&webhook.url),
    )
    .await;
    let mut second = ServiceProcess::start(
        "reporting",
        &platform.nats.url(),
        two.path(),
        &settings(&webhook.url),
    )
    .await;
    breach(&platform).await;

    assert!(
        eventually(WAIT, || async { !webhook.received().is_empty() }).await,
        "no first attempt"
    );
    let sender = webhook.received()[0]
        .header("user-agent")
        .rsplit("pid ")
        .next()
        .unwrap()
        .trim_end_matches(')')
        .parse::<u32>()
        .expect("the sender's pid");
    let (delivering, other) = if sender == first.pid() {
        (&mut first, &second)
    } else {
        (&mut second, &first)
    };
    let mut survivor = ReportingServiceClient::new(
        tonic::transport::Channel::from_shared(format!("http://{}", other.grpc))
            .unwrap()
            .connect()
            .await
            .unwrap(),
    );
    let (officer, _) = platform.officer.clone();
    // Kill it once its first attempt is recorded, while it waits to try again.
    assert!(
        eventually(WAIT, || async {
            tasks(&mut survivor.clone(), &officer, false)
                .await
                .iter()
                .any(|t| {
                    t.kind() == ReminderKind::Obligation
                        && t.deliveries.iter().any(|d| d.attempts == 1)
                })
        })
        .await,
        "the first attempt was not recorded"
    );
    delivering.kill();

    assert!(
        eventually(Duration::from_secs(60), || async {
            tasks(&mut survivor.clone(), &officer, false)
                .await
                .iter()
                .any(|t| {
                    t.kind() == ReminderKind::Obligation
                        && t.deliveries
                            .iter()
                            .any(|d| d.status() == DeliveryStatus::Delivered)
                })
        })
        .await,
        "the surviving process did not finish the delivery"
    );
    let received = webhook.received();
    let statuses: Vec<u16> = received.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [500, 500, 200], "three attempts, one success");
    let pids: Vec<&str> = received
        .iter()
        .map(|r| r.header("user-agent").rsplit("pid ").next().unwrap())
        .collect();
    assert_eq!(pids[0], format!("{sender})"));
    assert!(
        pids[1..].iter().all(|p| *p != pids[0]),
        "the survivor made the later attempts: {pids:?}"
    );
    let ids: Vec<&str> = received
        .iter()
        .map(|r| r.header("x-tillit-delivery"))
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] == w[1]),
        "one delivery id throughout"
    );
    let task = tasks(&mut survivor, &officer, false)
        .await
        .into_iter()
        .find(|t| t.kind() == ReminderKind::Obligation)
        .expect("task");
    assert_eq!(task.deliveries.len(), 1);
    assert_eq!(
        (
            task.deliveries[0].attempts,
            task.deliveries[0].status().word()
        ),
        (3, "delivered"),
        "all three attempts recorded"
    );

    // Every reminder was issued once, though two schedulers saw it due.
    let token = everything(&platform).await;
    let (reporting_service, _data) = platform.reporting(time::Duration::ZERO).await;
    let issued = client(&reporting_service)
        .await
        .query_audit(bearer(
            &platform.auditor,
            QueryAuditRequest {
                filter: Some(AuditFilter {
                    command: "tillit.reporting.v1.IssueReminder".into(),
                    ..Default::default()
                }),
                page: None,
                consistency: Some(token),
            },
        ))
        .await
        .expect("audit")
        .into_inner()
        .entries;
    assert!(!issued.is_empty());
    let mut per_reminder: BTreeMap<&str, usize> = BTreeMap::new();
    for entry in &issued {
        *per_reminder.entry(entry.aggregate_id.as_str()).or_default() += 1;
        assert_eq!(
            entry.aggregate_version, 1,
            "the issue is each reminder's first commit"
        );
    }
    assert!(per_reminder.values().all(|n| *n == 1), "{per_reminder:?}");
}

#[tokio::test]
async fn without_any_channel_a_reminder_is_still_its_recipients_task() {
    let platform = Platform::start().await;
    let (reporting_service, _data) = platform
        .reporting_with(
            time::Duration::ZERO,
            &[("TILLIT_REMINDER_INTERVAL_MS", "500")],
        )
        .await;
    breach(&platform).await;
    let (officer, _) = platform.officer.clone();
    assert!(
        eventually(WAIT, || async {
            tasks(&mut client(&reporting_service).await, &officer, false)
                .await
                .iter()
                .any(|t| {
                    t.kind() == ReminderKind::Obligation
                        && t.stage() == ReminderStage::New
                        && t.deliveries.is_empty()
                })
        })
        .await,
        "the obligation is not the officer's task"
    );
}
