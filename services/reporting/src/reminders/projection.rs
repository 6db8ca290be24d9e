//! Reminders as read models, from REPORTING: what was issued (so the scheduler skips it),
//! each delivery's standing, and each recipient's task list.

use std::sync::Arc;

use prost::Message as _;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};
use tillit_kernel::clock::{to_timestamp, unix_nanos};
use tillit_kernel::projection::open_read;
use tillit_kernel::{Decider, EventPayload, KernelError, Projection};
use tillit_proto::Vocabulary;
use tillit_proto::common::Position;
use tillit_proto::kernel::Commit;
use tillit_proto::reporting::{
    Delivery, DeliveryChannel, DeliveryStatus, Reminder as ReminderRow, ReminderIssued,
    ReminderKind, ReminderStage,
};
use time::OffsetDateTime;

use super::decider::{Reminder, ReminderEvent};

/// id → ReminderIssued.
const ISSUED: TableDefinition<&str, &[u8]> = TableDefinition::new("reminders_issued");
/// id → issued at (unix ns).
const ISSUED_AT: TableDefinition<&str, i64> = TableDefinition::new("reminders_issued_at");
/// (id, channel, target) → (attempts, status, last outcome).
const DELIVERIES: TableDefinition<(&str, &str, &str), (u32, &str, &str)> =
    TableDefinition::new("reminders_deliveries");
/// (user id, issued at, id) → acknowledged at (unix ns; 0 while open).
const TASKS: TableDefinition<(&str, i64, &str), i64> = TableDefinition::new("reminders_tasks");

fn at(nanos: i64) -> Option<prost_types::Timestamp> {
    (nanos > 0)
        .then(|| OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos)).ok())
        .flatten()
        .map(to_timestamp)
}

fn corrupt(e: prost::DecodeError) -> KernelError {
    KernelError::Corrupt(format!("reminder row: {e}"))
}

/// The reminders projection.
pub struct Reminders;

impl Projection for Reminders {
    fn name(&self) -> &'static str {
        "reminders"
    }

    fn schema_version(&self) -> u32 {
        1
    }

    fn streams(&self) -> Vec<String> {
        vec!["REPORTING".into()]
    }

    fn reset(&self, tx: &WriteTransaction) -> Result<(), KernelError> {
        tx.delete_table(ISSUED)?;
        tx.delete_table(ISSUED_AT)?;
        tx.delete_table(DELIVERIES)?;
        tx.delete_table(TASKS)?;
        Ok(())
    }

    fn apply(
        &self,
        tx: &WriteTransaction,
        commit: &Commit,
        _: &Position,
    ) -> Result<(), KernelError> {
        if commit.aggregate_type != Reminder::TYPE.as_str() {
            return Ok(());
        }
        let id = commit.aggregate_id.as_str();
        let when = unix_nanos(commit.recorded_at.as_ref());
        for event in &commit.events {
            match ReminderEvent::from_event(event)? {
                ReminderEvent::Issued(issued) => {
                    tx.open_table(ISSUED)?
                        .insert(id, issued.encode_to_vec().as_slice())?;
                    tx.open_table(ISSUED_AT)?.insert(id, when)?;
                    let mut tasks = tx.open_table(TASKS)?;
                    for recipient in issued.recipients.iter().filter(|r| !r.user_id.is_empty()) {
                        tasks.insert((recipient.user_id.as_str(), when, id), 0)?;
                    }
                }
                ReminderEvent::Attempted(attempt) => {
                    let status = if attempt.succeeded {
                        DeliveryStatus::Delivered
                    } else {
                        DeliveryStatus::Pending
                    }
                    .word();
                    tx.open_table(DELIVERIES)?.insert(
                        (id, attempt.channel.as_str(), attempt.target.as_str()),
                        (attempt.attempt, status, attempt.outcome.as_str()),
                    )?;
                }
                ReminderEvent::Abandoned(abandoned) => {
                    let mut deliveries = tx.open_table(DELIVERIES)?;
                    let key = (id, abandoned.channel.as_str(), abandoned.target.as_str());
                    let outcome = deliveries
                        .get(key)?
                        .map(|row| row.value().2.to_owned())
                        .unwrap_or_default();
                    deliveries.insert(
                        key,
                        (
                            abandoned.attempts,
                            DeliveryStatus::Abandoned.word(),
                            outcome.as_str(),
                        ),
                    )?;
                }
                ReminderEvent::Acknowledged(ack) => {
                    let issued_at = tx
                        .open_table(ISSUED_AT)?
                        .get(id)?
                        .map(|row| row.value())
                        .ok_or_else(|| {
                            KernelError::Corrupt(format!(
                                "reminder {id} acknowledged before issued"
                            ))
                        })?;
                    tx.open_table(TASKS)?
                        .insert((ack.user_id.as_str(), issued_at, id), when)?;
                }
            }
        }
        Ok(())
    }
}

/// Reads the reminders.
#[derive(Clone)]
pub struct RemindersReader {
    db: Arc<Database>,
}

impl RemindersReader {
    /// A reader over the service's redb file.
    pub fn new(db: Arc<Database>) -> Self {
        Self { db }
    }

    /// Whether reminder `id` has been issued (as far as this projection has seen).
    pub fn issued(&self, id: &str) -> Result<bool, KernelError> {
        let tx = self.db.begin_read()?;
        Ok(match open_read(&tx, ISSUED_AT)? {
            Some(table) => table.get(id)?.is_some(),
            None => false,
        })
    }

    /// The reminders `user_id` is a recipient of, newest first; open ones only unless
    /// `include_acknowledged`.
    pub fn tasks(
        &self,
        user_id: &str,
        include_acknowledged: bool,
    ) -> Result<Vec<ReminderRow>, KernelError> {
        let tx = self.db.begin_read()?;
        let (Some(tasks), Some(issued)) = (open_read(&tx, TASKS)?, open_read(&tx, ISSUED)?) else {
            return Ok(Vec::new());
        };
        // No table yet while nothing has been delivered (no channel configured, say).
        let deliveries = open_read(&tx, DELIVERIES)?;
        let mut found = Vec::new();
        for entry in tasks
            .range((user_id, i64::MIN, "")..=(user_id, i64::MAX, "\u{10ffff}"))?
            .rev()
        {
            let (key, acknowledged) = entry?;
            let (_, issued_at, id) = key.value();
            let acknowledged = acknowledged.value();
            if acknowledged != 0 && !include_acknowledged {
                continue;
            }
            let Some(row) = issued.get(id)? else {
                continue;
            };
            let reminder = ReminderIssued::decode(row.value()).map_err(corrupt)?;
            let mut sent = Vec::new();
            let rows = match &deliveries {
                Some(table) => Some(table.range((id, "", "")..)?),
                None => None,
            };
            for delivery in rows.into_iter().flatten() {
                let (key, value) = delivery?;
                let (reminder_id, channel, target) = key.value();
                if reminder_id != id {
                    break;
                }
                let (attempts, status, outcome) = value.value();
                sent.push(Delivery {
                    channel: DeliveryChannel::read(channel),
                    target: target.to_owned(),
                    attempts,
                    status: DeliveryStatus::read(status),
                    last_outcome: outcome.to_owned(),
                });
            }
            found.push(ReminderRow {
                reminder_id: id.to_owned(),
                kind: ReminderKind::read(&reminder.kind),
                stage: ReminderStage::read(&reminder.stage),
                item_id: reminder.item_id,
                item_tenant_id: reminder.item_tenant_id,
                due_at: reminder.due_at,
                issued_at: at(issued_at),
                title: reminder.title,
                detail: reminder.detail,
                deliveries: sent,
                acknowledged_at: at(acknowledged),
            });
        }
        Ok(found)
    }
}
