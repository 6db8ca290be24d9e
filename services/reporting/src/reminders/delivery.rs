//! Delivery: a durable consumer on the reminder subjects of REPORTING, shared by every
//! reporting replica, so each issued reminder goes to one of them. For each of its targets
//! (the webhook, each recipient's e-mail) it attempts delivery with growing pauses, records
//! every attempt and its result as an event, and keeps the message alive with progress
//! acknowledgements while it waits. If the process dies mid-retry, the message is
//! redelivered after the ack wait to another replica, which goes on from the recorded
//! attempts; a target already delivered is never sent again. Receivers get the same
//! delivery id on every attempt (header `X-Tillit-Delivery`, e-mail `Message-ID`).

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::AckKind;
use async_nats::jetstream::consumer::{AckPolicy, pull};
use futures::StreamExt as _;
use hmac::{Hmac, Mac};
use prost::Message as _;
use sha2::Sha256;
use tillit_kernel::clock::from_timestamp;
use tillit_kernel::{CommandMeta, CommandRequest, EventPayload, ExecuteError, KernelError, Target};
use tillit_proto::Vocabulary as _;
use tillit_proto::kernel::Commit;
use tillit_proto::reporting::ReminderIssued;
use tillit_proto::reporting::{DeliveryChannel, ReminderKind};
use tokio::sync::Semaphore;

use opentelemetry::trace::TraceContextExt as _;
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use super::decider::{ReminderCommand, ReminderError, ReminderEvent, reminder_tenant};
use super::metrics::Delivery;
use crate::Reporting;
use crate::config::Channels;

/// The durable consumer's name.
pub const CONSUMER: &str = "reporting-delivery";
/// Reminders delivered at the same time by one replica.
const IN_FLIGHT: usize = 16;

/// One place to deliver a reminder to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryTarget {
    /// How it is delivered.
    pub channel: DeliveryChannel,
    /// Webhook name, or the user id whose address an e-mail goes to.
    pub target: String,
}

/// Where `issued` goes under the configured channels and routes.
pub fn targets(issued: &ReminderIssued, channels: &Channels) -> Vec<DeliveryTarget> {
    let mut found = Vec::new();
    if channels.webhook.is_some()
        && ReminderKind::from_word(&issued.kind).is_some_and(|k| channels.routes.by_webhook(k))
    {
        found.push(DeliveryTarget {
            channel: DeliveryChannel::Webhook,
            target: "default".into(),
        });
    }
    if channels.smtp.is_some()
        && ReminderKind::from_word(&issued.kind).is_some_and(|k| channels.routes.by_email(k))
    {
        for recipient in issued.recipients.iter().filter(|r| !r.user_id.is_empty()) {
            if !found.iter().any(|t| t.target == recipient.user_id) {
                found.push(DeliveryTarget {
                    channel: DeliveryChannel::Email,
                    target: recipient.user_id.clone(),
                });
            }
        }
    }
    found
}

/// The pause before attempt `attempt` (2, 3, ...): `base`, doubling, at most five minutes.
pub fn backoff(base: Duration, attempt: u32) -> Duration {
    let factor = 1u32 << attempt.saturating_sub(2).min(16);
    (base * factor).min(Duration::from_secs(300))
}

/// `sha256=<hex of HMAC-SHA256(secret, body)>`, the `X-Tillit-Signature` header.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The webhook's JSON body of a reminder.
pub fn webhook_body(issued: &ReminderIssued, delivery_id: &str) -> Vec<u8> {
    let due_at = issued
        .due_at
        .as_ref()
        .and_then(from_timestamp)
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default();
    let recipients: Vec<_> = issued
        .recipients
        .iter()
        .map(|r| serde_json::json!({"user_id": r.user_id, "reason": r.reason}))
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "delivery_id": delivery_id,
        "reminder_id": issued.reminder_id,
        "kind": issued.kind,
        "stage": issued.stage,
        "item_id": issued.item_id,
        "tenant_id": issued.item_tenant_id,
        "due_at": due_at,
        "title": issued.title,
        "detail": issued.detail,
        "recipients": recipients,
    }))
    .unwrap_or_default()
}

/// Follows the consumer until the task is aborted, reconnecting after failures.
pub async fn run(state: Arc<Reporting>) {
    loop {
        if let Err(e) = follow(&state).await {
            tracing::warn!(error = %e, "reminder delivery interrupted; resuming in a second");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn follow(state: &Arc<Reporting>) -> Result<(), KernelError> {
    let fail = |e: String| KernelError::Unavailable(format!("reminder delivery: {e}"));
    let stream = state.store.stream("REPORTING").await?;
    let config = &state.config.reminders;
    let consumer = stream
        .get_or_create_consumer(
            CONSUMER,
            pull::Config {
                durable_name: Some(CONSUMER.into()),
                filter_subject: format!(
                    "tillit.reporting.{}.reminder.>",
                    reminder_tenant().as_str()
                ),
                ack_policy: AckPolicy::Explicit,
                ack_wait: config.ack_wait,
                max_deliver: -1,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| fail(e.to_string()))?;
    let mut messages = consumer.messages().await.map_err(|e| fail(e.to_string()))?;
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    while let Some(message) = messages.next().await {
        let message = message.map_err(|e| fail(e.to_string()))?;
        let permit = slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| fail(e.to_string()))?;
        let state = state.clone();
        // A child of the trace the reminder was issued in.
        let span = tracing::info_span!(
            parent: None,
            "reminder delivery",
            otel.kind = "consumer",
            messaging.system = "nats",
            messaging.destination.name = %message.subject,
        );
        if let Some(issued) = tillit_kernel::telemetry::trace_context_of(message.headers.as_ref()) {
            let parent = opentelemetry::Context::new().with_remote_span_context(issued);
            let _ = span.set_parent(parent);
        }
        tokio::spawn(async move {
            let _permit = permit;
            match deliver(&state, &message).instrument(span).await {
                Ok(()) => {
                    if let Err(e) = message.double_ack().await {
                        tracing::warn!(error = %e, "acknowledging a delivered reminder");
                    }
                }
                // Not acknowledged: redelivered after the ack wait, here or elsewhere.
                Err(e) => {
                    tracing::warn!(error = %e, "reminder delivery failed; it will be redelivered")
                }
            }
        });
    }
    Ok(())
}

/// Delivers the reminder a message announces (messages of later commits of a reminder
/// carry no `ReminderIssued` and need nothing).
async fn deliver(
    state: &Reporting,
    message: &async_nats::jetstream::Message,
) -> Result<(), KernelError> {
    let commit = Commit::decode(message.payload.as_ref())
        .map_err(|e| KernelError::Corrupt(format!("reminder commit: {e}")))?;
    let Some(issued) = commit
        .events
        .iter()
        .filter_map(|e| ReminderEvent::from_event(e).ok())
        .find_map(|e| match e {
            ReminderEvent::Issued(issued) => Some(issued),
            _ => None,
        })
    else {
        return Ok(());
    };
    let id = tillit_kernel::AggregateId::parse(&commit.aggregate_id, "reminder_id")?;
    let address = state
        .reminder_runner
        .address(&reminder_tenant(), id.clone());
    let channels = &state.config.reminders;
    for target in targets(&issued, channels) {
        let delivery_id = format!(
            "{}:{}:{}",
            issued.reminder_id,
            target.channel.word(),
            target.target
        );
        loop {
            let (reminder, _) = state.reminder_runner.load(&address).await?;
            let done = reminder.delivery(target.channel.word(), &target.target);
            if done.finished() {
                break;
            }
            let record = |command: ReminderCommand| CommandRequest {
                tenant: reminder_tenant(),
                target: Target::Existing(id.clone()),
                name: "tillit.reporting.v1.RecordDelivery".into(),
                command,
                meta: CommandMeta::system(delivery_id.clone()),
            };
            if done.attempts >= channels.max_attempts {
                record_or_finished(
                    state,
                    record(ReminderCommand::Abandon {
                        channel: target.channel.word().into(),
                        target: target.target.clone(),
                    }),
                )
                .await?;
                state
                    .metrics
                    .delivery(target.channel.word(), Delivery::Abandoned);
                tracing::error!(reminder = %issued.reminder_id, channel = target.channel.word(), target = %target.target, attempts = done.attempts, "reminder delivery abandoned");
                break;
            }
            if done.attempts > 0 {
                wait_alive(
                    message,
                    backoff(channels.backoff, done.attempts + 1),
                    channels.ack_wait,
                )
                .await;
            }
            let _ = message.ack_with(AckKind::Progress).await;
            let attempt = tracing::info_span!(
                "reminder delivery attempt",
                tillit.channel = target.channel.word(),
                tillit.attempt = done.attempts + 1,
                tillit.succeeded = tracing::field::Empty,
            );
            let (succeeded, outcome) = send(state, &issued, &target, &delivery_id)
                .instrument(attempt.clone())
                .await;
            attempt.record("tillit.succeeded", succeeded);
            state.metrics.delivery(
                target.channel.word(),
                if succeeded {
                    Delivery::Delivered
                } else {
                    Delivery::Failed
                },
            );
            tracing::info!(reminder = %issued.reminder_id, channel = target.channel.word(), target = %target.target, attempt = done.attempts + 1, succeeded, %outcome, "reminder delivery attempt");
            let finished = record_or_finished(
                state,
                record(ReminderCommand::RecordAttempt {
                    channel: target.channel.word().into(),
                    target: target.target.clone(),
                    succeeded,
                    outcome,
                    delivery_id: delivery_id.clone(),
                }),
            )
            .await?;
            if succeeded || finished {
                break;
            }
        }
    }
    Ok(())
}

/// Records a delivery event; answers true when another replica had already finished it.
async fn record_or_finished(
    state: &Reporting,
    request: CommandRequest<ReminderCommand>,
) -> Result<bool, KernelError> {
    match state.reminder_runner.execute(request).await {
        Ok(_) => Ok(false),
        Err(ExecuteError::Domain(ReminderError::Finished { .. })) => Ok(true),
        Err(ExecuteError::Domain(e)) => Err(KernelError::Internal(e.to_string())),
        Err(ExecuteError::Kernel(e)) => Err(e),
    }
}

/// Sleeps `pause`, telling the server every third of the ack wait that the message is
/// still being worked on.
async fn wait_alive(message: &async_nats::jetstream::Message, pause: Duration, ack_wait: Duration) {
    let beat = (ack_wait / 3).max(Duration::from_millis(100));
    let mut left = pause;
    while !left.is_zero() {
        let _ = message.ack_with(AckKind::Progress).await;
        let step = left.min(beat);
        tokio::time::sleep(step).await;
        left -= step;
    }
}

/// One attempt; answers (accepted, what happened).
async fn send(
    state: &Reporting,
    issued: &ReminderIssued,
    target: &DeliveryTarget,
    delivery_id: &str,
) -> (bool, String) {
    let channels = &state.config.reminders;
    match target.channel {
        DeliveryChannel::Webhook => {
            let Some(webhook) = &channels.webhook else {
                return (false, "no webhook configured".into());
            };
            let body = webhook_body(issued, delivery_id);
            let sent = state
                .http
                .post(&webhook.url)
                .timeout(channels.timeout)
                .header("content-type", "application/json")
                .header(
                    "x-tillit-signature",
                    signature(webhook.secret.as_bytes(), &body),
                )
                .header("x-tillit-delivery", delivery_id)
                .header(
                    "user-agent",
                    format!(
                        "tillit-reporting/{} (pid {})",
                        env!("CARGO_PKG_VERSION"),
                        std::process::id()
                    ),
                )
                .body(body)
                .send()
                .await;
            match sent {
                Ok(response) => {
                    let status = response.status();
                    (status.is_success(), format!("HTTP {}", status.as_u16()))
                }
                Err(e) => (false, format!("HTTP error: {e}")),
            }
        }
        _ => match &state.mailer {
            Some(mailer) => match address_of(state, &target.target).await {
                Ok(address) => {
                    let (sent, outcome) = mailer.send(issued, &address, delivery_id).await;
                    // The outcome is stored in DeliveryAttempted: a server's reply may
                    // quote the address, which no event may hold in clear.
                    (sent, outcome.replace(&address, "<recipient>"))
                }
                Err(problem) => (false, problem),
            },
            None => (false, "no SMTP server configured".into()),
        },
    }
}

/// The current e-mail address of user `user_id`, opened from the directory at the moment of
/// sending (never stored in a reminder); an erased or unknown user has none.
async fn address_of(state: &Reporting, user_id: &str) -> Result<String, String> {
    let row = state
        .directory
        .user(user_id)
        .map_err(|e| format!("reading the directory: {e}"))?
        .ok_or_else(|| "the user is not in the directory".to_owned())?;
    let address = state
        .store
        .vault()
        .map_err(|e| e.to_string())?
        .reveal_text(&row.email)
        .await
        .map_err(|e| format!("opening the address: {e}"))?;
    if address == tillit_kernel::personal::ERASED {
        return Err("the user's data is erased".into());
    }
    Ok(address)
}

#[cfg(test)]
mod tests {
    use tillit_proto::reporting::Recipient;

    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_the_body_in_hex() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn pauses_double_from_the_base_and_stop_growing_at_five_minutes() {
        let base = Duration::from_millis(200);
        assert_eq!(backoff(base, 2), Duration::from_millis(200));
        assert_eq!(backoff(base, 3), Duration::from_millis(400));
        assert_eq!(backoff(base, 4), Duration::from_millis(800));
        assert_eq!(
            backoff(Duration::from_secs(60), 10),
            Duration::from_secs(300)
        );
    }

    #[test]
    fn targets_are_the_webhook_and_each_recipient_once() {
        let mut channels = Channels::for_tests();
        let issued = ReminderIssued {
            kind: "action".into(),
            recipients: ["u-a", "u-b", "u-a", ""]
                .iter()
                .map(|user_id| Recipient {
                    user_id: (*user_id).into(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        let found: Vec<_> = targets(&issued, &channels)
            .into_iter()
            .map(|t| (t.channel.word(), t.target))
            .collect();
        assert_eq!(
            found,
            [
                ("webhook", "default".to_owned()),
                ("email", "u-a".to_owned()),
                ("email", "u-b".to_owned())
            ]
        );
        channels.webhook = None;
        assert_eq!(targets(&issued, &channels).len(), 2);
    }
}
