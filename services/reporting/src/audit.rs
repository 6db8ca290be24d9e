//! The audit trail: every commit of every stream as one entry — who (actor), what (command,
//! aggregate, event types), when (recorded at), where (stream position) and the commit's
//! hash — indexed for the audit queries, newest first.
//!
//! For CREDENTIALS only the envelope is read: an entry never holds an event's content, so
//! no password hash or token ever reaches this service's file.
//!
//! Layout in `reporting.redb`:
//! - `audit_entries`: (recorded at in unix ns, stream, sequence) → `AuditEntry`.
//! - `audit_index`: (dimension, recorded at, stream, sequence) → (), where the dimension is
//!   `*` (everything) or `a|<actor>`, `t|<tenant>`, `g|<aggregate>`, `c|<command>`,
//!   `s|<stream>`; a query walks the most selective dimension it names backwards in time
//!   and checks the rest of its filter on each entry.
//! - `audit_subjects`: (stream, aggregate id) → subject, for verifying one aggregate.

use std::sync::Arc;

use prost::Message as _;
use redb::{Database, ReadableDatabase, TableDefinition, WriteTransaction};
use tillit_kernel::clock::{from_timestamp, unix_nanos};
use tillit_kernel::envelope::payload_hash;
use tillit_kernel::projection::open_read;
use tillit_kernel::{KernelError, Projection};
use tillit_proto::common::Position;
use tillit_proto::kernel::Commit;
use tillit_proto::reporting::AuditEntry;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Every stream the trail covers.
pub const STREAMS: [&str; 5] = [
    "IDENTITY",
    "CREDENTIALS",
    "ASSETS",
    "INCIDENTS",
    "REPORTING",
];

const ENTRIES: TableDefinition<(i64, &str, u64), &[u8]> = TableDefinition::new("audit_entries");
const INDEX: TableDefinition<(&str, i64, &str, u64), ()> = TableDefinition::new("audit_index");
const SUBJECTS: TableDefinition<(&str, &str), &str> = TableDefinition::new("audit_subjects");

/// The dimension that holds every entry.
const EVERYTHING: &str = "*";

/// Where an entry stands in the trail's order: (recorded at, unix ns; stream; sequence).
pub type Cursor = (i64, String, u64);

fn corrupt(e: prost::DecodeError) -> KernelError {
    KernelError::Corrupt(format!("audit entry: {e}"))
}

/// The entry a commit makes: its envelope, never its events' content.
pub fn entry_of(commit: &Commit, position: &Position, hash: &[u8; 32]) -> AuditEntry {
    AuditEntry {
        recorded_at: commit.recorded_at,
        actor: commit.actor.clone(),
        command: commit.command.clone(),
        aggregate_type: commit.aggregate_type.clone(),
        aggregate_id: commit.aggregate_id.clone(),
        tenant_id: commit.tenant.clone(),
        event_types: commit.events.iter().map(|e| e.r#type.clone()).collect(),
        position: Some(position.clone()),
        commit_hash: hex::encode(hash),
        commit_id: commit.commit_id.clone(),
        correlation_id: commit.correlation_id.clone(),
        aggregate_version: commit.aggregate_version,
        // Known at query time, from the identity view.
        actor_erased: false,
    }
}

fn dimension(kind: char, value: &str) -> String {
    format!("{kind}|{value}")
}

/// The index dimensions an entry is found under.
fn dimensions(entry: &AuditEntry) -> Vec<String> {
    let mut found = vec![
        EVERYTHING.to_owned(),
        dimension('t', &entry.tenant_id),
        dimension('g', &entry.aggregate_id),
        dimension('c', &entry.command),
    ];
    if let Some(position) = &entry.position {
        found.push(dimension('s', &position.stream));
    }
    if let Some(actor) = &entry.actor {
        found.push(dimension('a', &actor.subject));
        if !actor.on_behalf_of.is_empty() && actor.on_behalf_of != actor.subject {
            found.push(dimension('a', &actor.on_behalf_of));
        }
    }
    found
}

/// The audit-trail projection.
pub struct AuditTrail;

impl AuditTrail {
    fn record(
        tx: &WriteTransaction,
        commit: &Commit,
        position: &Position,
        hash: &[u8; 32],
    ) -> Result<(), KernelError> {
        let entry = entry_of(commit, position, hash);
        let nanos = unix_nanos(entry.recorded_at.as_ref());
        let stream = position.stream.as_str();
        tx.open_table(ENTRIES)?.insert(
            (nanos, stream, position.sequence),
            entry.encode_to_vec().as_slice(),
        )?;
        let mut index = tx.open_table(INDEX)?;
        for dimension in dimensions(&entry) {
            index.insert((dimension.as_str(), nanos, stream, position.sequence), ())?;
        }
        let subject = format!(
            "tillit.{}.{}.{}.{}",
            stream.to_ascii_lowercase(),
            commit.tenant,
            commit.aggregate_type,
            commit.aggregate_id
        );
        tx.open_table(SUBJECTS)?
            .insert((stream, commit.aggregate_id.as_str()), subject.as_str())?;
        Ok(())
    }
}

impl Projection for AuditTrail {
    fn name(&self) -> &'static str {
        "audit_trail"
    }

    fn schema_version(&self) -> u32 {
        1
    }

    fn streams(&self) -> Vec<String> {
        STREAMS.iter().map(|s| (*s).to_owned()).collect()
    }

    fn reset(&self, tx: &WriteTransaction) -> Result<(), KernelError> {
        tx.delete_table(ENTRIES)?;
        tx.delete_table(INDEX)?;
        tx.delete_table(SUBJECTS)?;
        Ok(())
    }

    /// Only reached when the runner has no bytes; the hash is then of the re-encoded commit.
    fn apply(
        &self,
        tx: &WriteTransaction,
        commit: &Commit,
        position: &Position,
    ) -> Result<(), KernelError> {
        Self::record(tx, commit, position, &payload_hash(&commit.encode_to_vec()))
    }

    fn apply_with_bytes(
        &self,
        tx: &WriteTransaction,
        commit: &Commit,
        position: &Position,
        bytes: &[u8],
    ) -> Result<(), KernelError> {
        Self::record(tx, commit, position, &payload_hash(bytes))
    }
}

/// A validated audit filter; every `Some` narrows the answer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// By this subject, or on its behalf.
    pub actor: Option<String>,
    /// In this tenant's log.
    pub tenant: Option<String>,
    /// Of this aggregate.
    pub aggregate: Option<String>,
    /// This command.
    pub command: Option<String>,
    /// In this stream.
    pub stream: Option<String>,
    /// Recorded at or after (unix ns).
    pub from: Option<i64>,
    /// Recorded before (unix ns).
    pub to: Option<i64>,
}

impl AuditQuery {
    /// The most selective index dimension the filter names.
    fn dimension(&self) -> String {
        if let Some(aggregate) = &self.aggregate {
            dimension('g', aggregate)
        } else if let Some(actor) = &self.actor {
            dimension('a', actor)
        } else if let Some(command) = &self.command {
            dimension('c', command)
        } else if let Some(tenant) = &self.tenant {
            dimension('t', tenant)
        } else if let Some(stream) = &self.stream {
            dimension('s', stream)
        } else {
            EVERYTHING.to_owned()
        }
    }

    /// Whether an entry passes every part of the filter.
    pub fn matches(&self, entry: &AuditEntry) -> bool {
        let is =
            |wanted: &Option<String>, value: &str| wanted.as_deref().is_none_or(|w| w == value);
        let actor = entry.actor.clone().unwrap_or_default();
        let nanos = unix_nanos(entry.recorded_at.as_ref());
        is(&self.tenant, &entry.tenant_id)
            && is(&self.aggregate, &entry.aggregate_id)
            && is(&self.command, &entry.command)
            && is(
                &self.stream,
                entry.position.as_ref().map_or("", |p| p.stream.as_str()),
            )
            && self
                .actor
                .as_deref()
                .is_none_or(|a| a == actor.subject || a == actor.on_behalf_of)
            && self.from.is_none_or(|from| nanos >= from)
            && self.to.is_none_or(|to| nanos < to)
    }
}

/// Reads the audit trail.
#[derive(Clone)]
pub struct AuditReader {
    db: Arc<Database>,
}

impl AuditReader {
    /// A reader over the service's redb file.
    pub fn new(db: Arc<Database>) -> Self {
        Self { db }
    }

    /// Entries matching `query`, newest first, strictly older than `before`, at most `limit`,
    /// each with its cursor.
    pub fn page(
        &self,
        query: &AuditQuery,
        before: Option<&Cursor>,
        limit: usize,
    ) -> Result<Vec<(AuditEntry, Cursor)>, KernelError> {
        let tx = self.db.begin_read()?;
        let (Some(index), Some(entries)) = (open_read(&tx, INDEX)?, open_read(&tx, ENTRIES)?)
        else {
            return Ok(Vec::new());
        };
        let dimension = query.dimension();
        let low = (dimension.as_str(), query.from.unwrap_or(i64::MIN), "", 0);
        let mut high = (dimension.as_str(), query.to.unwrap_or(i64::MAX), "", 0);
        if let Some((nanos, stream, sequence)) = before {
            high = high.min((dimension.as_str(), *nanos, stream.as_str(), *sequence));
        }
        let mut found = Vec::new();
        if low >= high || limit == 0 {
            return Ok(found);
        }
        for key in index.range(low..high)?.rev() {
            let (key, _) = key?;
            let (_, nanos, stream, sequence) = key.value();
            let Some(row) = entries.get((nanos, stream, sequence))? else {
                continue;
            };
            let entry = AuditEntry::decode(row.value()).map_err(corrupt)?;
            if query.matches(&entry) {
                found.push((entry, (nanos, stream.to_owned(), sequence)));
                if found.len() == limit {
                    break;
                }
            }
        }
        Ok(found)
    }

    /// The subject of an aggregate in a stream, if the trail has seen it.
    pub fn subject(&self, stream: &str, aggregate_id: &str) -> Result<Option<String>, KernelError> {
        let tx = self.db.begin_read()?;
        let Some(table) = open_read(&tx, SUBJECTS)? else {
            return Ok(None);
        };
        Ok(table
            .get((stream, aggregate_id))?
            .map(|row| row.value().to_owned()))
    }
}

/// The CSV header of an export.
pub const CSV_HEADER: [&str; 17] = [
    "recorded_at",
    "stream",
    "sequence",
    "actor",
    "actor_tenant",
    "actor_roles",
    "on_behalf_of",
    "command",
    "aggregate_type",
    "aggregate_id",
    "tenant",
    "event_types",
    "aggregate_version",
    "commit_id",
    "correlation_id",
    "commit_hash",
    "actor_erased",
];

/// An entry as one CSV record, in [`CSV_HEADER`]'s order.
pub fn csv_record(entry: &AuditEntry) -> [String; 17] {
    let actor = entry.actor.clone().unwrap_or_default();
    let position = entry.position.clone().unwrap_or_default();
    let recorded_at = entry
        .recorded_at
        .as_ref()
        .and_then(from_timestamp)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .format(&Rfc3339)
        .unwrap_or_default();
    [
        recorded_at,
        position.stream,
        position.sequence.to_string(),
        actor.subject,
        actor.tenant,
        actor.roles.join(" "),
        actor.on_behalf_of,
        entry.command.clone(),
        entry.aggregate_type.clone(),
        entry.aggregate_id.clone(),
        entry.tenant_id.clone(),
        entry.event_types.join(" "),
        entry.aggregate_version.to_string(),
        entry.commit_id.clone(),
        entry.correlation_id.clone(),
        entry.commit_hash.clone(),
        entry.actor_erased.to_string(),
    ]
}

/// Writes records as CSV (RFC 4180 quoting, formula cells neutralised).
pub fn write_csv<'a>(
    header: bool,
    entries: impl IntoIterator<Item = &'a AuditEntry>,
) -> Result<Vec<u8>, KernelError> {
    let fail = |e: tillit_text::csv::CsvError| KernelError::Internal(e.to_string());
    let mut writer = tillit_text::csv::SafeCsv::new();
    if header {
        writer.record(CSV_HEADER).map_err(fail)?;
    }
    for entry in entries {
        writer.record(csv_record(entry)).map_err(fail)?;
    }
    writer.into_bytes().map_err(fail)
}

#[cfg(test)]
mod tests {
    use tillit_kernel::clock::to_timestamp;
    use tillit_proto::common::Actor;
    use tillit_proto::kernel::Event;
    use time::macros::datetime;

    use super::*;

    fn commit() -> Commit {
        Commit {
            commit_id: "c1".into(),
            tenant: "internal".into(),
            aggregate_type: "credential".into(),
            aggregate_id: "u1".into(),
            aggregate_version: 3,
            actor: Some(Actor {
                subject: "svc-1".into(),
                tenant: "internal".into(),
                roles: vec!["admin".into(), "auditor".into()],
                on_behalf_of: "u9".into(),
            }),
            recorded_at: Some(to_timestamp(datetime!(2026-11-27 10:00:00.5 UTC))),
            command: "tillit.identity.v1.Login".into(),
            correlation_id: "corr".into(),
            events: vec![Event {
                r#type: "tillit.identity.v1.PasswordSet".into(),
                schema_version: 1,
                payload: b"$argon2id$secret".to_vec(),
            }],
            ..Default::default()
        }
    }

    fn position() -> Position {
        Position {
            stream: "CREDENTIALS".into(),
            sequence: 7,
        }
    }

    #[test]
    fn an_entry_keeps_the_envelope_and_never_an_events_content() {
        let entry = entry_of(&commit(), &position(), &[0xab; 32]);
        assert_eq!(entry.event_types, ["tillit.identity.v1.PasswordSet"]);
        assert_eq!(entry.commit_hash, "ab".repeat(32));
        let bytes = entry.encode_to_vec();
        assert!(
            !bytes.windows(7).any(|w| w == b"$argon2"),
            "the payload leaked into the entry"
        );
        let csv = String::from_utf8(write_csv(true, [&entry]).unwrap()).unwrap();
        assert!(!csv.contains("argon2"));
        assert!(csv.starts_with("recorded_at,stream,sequence,actor,"));
        assert!(csv.contains(
            "2026-11-27T10:00:00.5Z,CREDENTIALS,7,svc-1,internal,admin auditor,u9,tillit.identity.v1.Login,credential,u1,internal,tillit.identity.v1.PasswordSet,3,c1,corr,"
        ));
    }

    #[test]
    fn a_query_walks_the_most_selective_dimension_and_checks_the_rest() {
        let entry = entry_of(&commit(), &position(), &[0; 32]);
        let all = AuditQuery::default();
        assert_eq!(all.dimension(), "*");
        assert!(all.matches(&entry));
        let by_actor = AuditQuery {
            actor: Some("svc-1".into()),
            tenant: Some("internal".into()),
            ..Default::default()
        };
        assert_eq!(by_actor.dimension(), "a|svc-1");
        assert!(by_actor.matches(&entry));
        let on_behalf = AuditQuery {
            actor: Some("u9".into()),
            ..Default::default()
        };
        assert!(
            on_behalf.matches(&entry),
            "acts on a user's behalf are theirs"
        );
        assert!(dimensions(&entry).contains(&"a|u9".to_owned()));
        let other_tenant = AuditQuery {
            actor: Some("svc-1".into()),
            tenant: Some("acme".into()),
            ..Default::default()
        };
        assert!(!other_tenant.matches(&entry));
        let at = unix_nanos(entry.recorded_at.as_ref());
        let window = |from: i64, to: i64| AuditQuery {
            from: Some(from),
            to: Some(to),
            ..Default::default()
        };
        assert!(window(at, at + 1).matches(&entry));
        assert!(!window(at + 1, at + 2).matches(&entry), "from is inclusive");
        assert!(!window(at - 1, at).matches(&entry), "to is exclusive");
        let aggregate = AuditQuery {
            aggregate: Some("u1".into()),
            actor: Some("svc-1".into()),
            ..Default::default()
        };
        assert_eq!(aggregate.dimension(), "g|u1");
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let mut entry = entry_of(&commit(), &position(), &[0; 32]);
        entry.correlation_id = "a,\"b\"\nc".into();
        let csv = String::from_utf8(write_csv(false, [&entry]).unwrap()).unwrap();
        assert!(csv.contains("\"a,\"\"b\"\"\nc\""));
        assert_eq!(
            csv::Reader::from_reader(write_csv(true, [&entry, &entry]).unwrap().as_slice())
                .records()
                .count(),
            2
        );
    }
}
