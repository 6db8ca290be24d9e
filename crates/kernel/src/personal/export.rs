//! A data subject's export (GDPR Art. 15): every commit of the event streams that concerns
//! the subject (as actor, as the aggregate, named in an event, or whose personal values
//! are sealed under its key), opened, as JSON.

use prost_reflect::DynamicMessage;
use tillit_proto::kernel::Commit;

use super::plan::Plan;
use super::token;
use crate::clock::from_timestamp;
use crate::error::KernelError;
use crate::store::EventStore;

/// The streams an export reads. CREDENTIALS holds password hashes and refresh-token hashes:
/// secrets, not information about the person, and never exported.
pub const EXPORTED_STREAMS: [&str; 4] = ["IDENTITY", "ASSETS", "INCIDENTS", "REPORTING"];

/// The records of `subject` in `streams`, oldest first per stream.
pub async fn records(
    store: &EventStore,
    streams: &[&str],
    subject: &str,
) -> Result<Vec<serde_json::Value>, KernelError> {
    let vault = store.vault()?;
    let mut records = Vec::new();
    for stream in streams {
        for (sequence, mut commit) in store.read_stream(stream).await? {
            if !concerns(&commit, subject) {
                continue;
            }
            vault.open_commit(stream, &mut commit).await?;
            records.push(record(stream, sequence, &commit)?);
        }
    }
    Ok(records)
}

/// Whether `commit` concerns `subject`.
fn concerns(commit: &Commit, subject: &str) -> bool {
    let actor = commit.actor.as_ref();
    if commit.aggregate_id == subject
        || actor.is_some_and(|a| a.subject == subject || a.on_behalf_of == subject)
    {
        return true;
    }
    let plan = Plan::global();
    commit.events.iter().any(|event| {
        let Some(descriptor) = plan.message(&event.r#type) else {
            return false;
        };
        let Ok(mut message) = DynamicMessage::decode(descriptor, event.payload.as_slice()) else {
            return false;
        };
        let mut found = false;
        super::vault::every_string(&mut message, &mut |value| {
            found |= value == subject
                || token::parse(value).is_some_and(|sealed| sealed.key_id == subject);
        });
        found
    })
}

fn record(stream: &str, sequence: u64, commit: &Commit) -> Result<serde_json::Value, KernelError> {
    let plan = Plan::global();
    let mut events = Vec::new();
    for event in &commit.events {
        let data = match plan.message(&event.r#type) {
            Some(descriptor) => {
                let message = DynamicMessage::decode(descriptor, event.payload.as_slice())
                    .map_err(|e| KernelError::Corrupt(format!("{}: {e}", event.r#type)))?;
                serde_json::to_value(&message)
                    .map_err(|e| KernelError::Internal(format!("{}: {e}", event.r#type)))?
            }
            None => serde_json::Value::Null,
        };
        events.push(serde_json::json!({"type": event.r#type, "data": data}));
    }
    let recorded_at = commit
        .recorded_at
        .as_ref()
        .and_then(from_timestamp)
        .map(crate::clock::rfc3339);
    Ok(serde_json::json!({
        "stream": stream,
        "sequence": sequence,
        "recorded_at": recorded_at,
        "actor": commit.actor.as_ref().map(|a| a.subject.clone()),
        "command": commit.command,
        "aggregate": format!("{}/{}/{}", commit.tenant, commit.aggregate_type, commit.aggregate_id),
        "events": events,
    }))
}
