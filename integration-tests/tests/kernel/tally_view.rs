//! A test projection over tally commits: totals per aggregate, and a counter of every
//! application so a commit applied twice would show.

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};
use sha2::{Digest, Sha256};
use tillit_kernel::{EventPayload, KernelError, Projection};
use tillit_proto::common::Position;
use tillit_proto::kernel::Commit;

use crate::support::TallyEvent;

const TOTALS: TableDefinition<(&str, &str), u64> = TableDefinition::new("tally_totals");
const APPLIED: TableDefinition<(&str, u64), u64> = TableDefinition::new("tally_applied");
const COUNTER: TableDefinition<&str, u64> = TableDefinition::new("tally_counter");

/// Totals per (stream, subject) and a count of applications per stream position.
pub struct TallyView {
    pub streams: Vec<String>,
    pub version: u32,
}

impl TallyView {
    pub fn over(streams: &[&str]) -> Self {
        Self {
            streams: streams.iter().map(|s| (*s).to_owned()).collect(),
            version: 1,
        }
    }
}

fn corrupt(e: impl std::fmt::Display) -> KernelError {
    KernelError::Internal(e.to_string())
}

impl Projection for TallyView {
    fn name(&self) -> &'static str {
        "tally_view"
    }

    fn schema_version(&self) -> u32 {
        self.version
    }

    fn streams(&self) -> Vec<String> {
        self.streams.clone()
    }

    fn reset(&self, tx: &WriteTransaction) -> Result<(), KernelError> {
        tx.delete_table(TOTALS).map_err(corrupt)?;
        tx.delete_table(APPLIED).map_err(corrupt)?;
        tx.delete_table(COUNTER).map_err(corrupt)?;
        Ok(())
    }

    fn apply(
        &self,
        tx: &WriteTransaction,
        commit: &Commit,
        position: &Position,
    ) -> Result<(), KernelError> {
        let subject = format!(
            "{}.{}.{}",
            commit.tenant, commit.aggregate_type, commit.aggregate_id
        );
        let mut totals = tx.open_table(TOTALS).map_err(corrupt)?;
        let mut total = totals
            .get((position.stream.as_str(), subject.as_str()))
            .map_err(corrupt)?
            .map_or(0, |v| v.value());
        for event in &commit.events {
            if let Ok(TallyEvent::Added(n)) = TallyEvent::from_event(event) {
                total += n;
            }
        }
        totals
            .insert((position.stream.as_str(), subject.as_str()), total)
            .map_err(corrupt)?;

        let mut applied = tx.open_table(APPLIED).map_err(corrupt)?;
        let key = (position.stream.as_str(), position.sequence);
        let times = applied.get(key).map_err(corrupt)?.map_or(0, |v| v.value());
        applied.insert(key, times + 1).map_err(corrupt)?;

        let mut counter = tx.open_table(COUNTER).map_err(corrupt)?;
        let count = counter
            .get(position.stream.as_str())
            .map_err(corrupt)?
            .map_or(0, |v| v.value());
        counter
            .insert(position.stream.as_str(), count + 1)
            .map_err(corrupt)?;
        Ok(())
    }
}

/// A digest of every row of the view's tables, and how many applications it counted.
pub fn digest(db: &Database) -> (String, u64) {
    let tx = db.begin_read().expect("read");
    let mut hasher = Sha256::new();
    let mut applications = 0;
    match tx.open_table(TOTALS) {
        Ok(table) => {
            for row in table.iter().expect("iter") {
                let (k, v) = row.expect("row");
                let (stream, subject) = k.value();
                hasher.update(format!("{}|{}|{}\n", stream, subject, v.value()));
            }
        }
        Err(redb::TableError::TableDoesNotExist(_)) => {}
        Err(e) => panic!("{e}"),
    }
    match tx.open_table(APPLIED) {
        Ok(table) => {
            for row in table.iter().expect("iter") {
                let (k, v) = row.expect("row");
                let (stream, sequence) = k.value();
                assert_eq!(
                    v.value(),
                    1,
                    "{stream} {sequence} was applied more than once"
                );
                applications += v.value();
                hasher.update(format!("{stream}#{sequence}\n"));
            }
        }
        Err(redb::TableError::TableDoesNotExist(_)) => {}
        Err(e) => panic!("{e}"),
    }
    if let Ok(table) = tx.open_table(COUNTER) {
        let counted: u64 = table
            .iter()
            .expect("iter")
            .map(|r| r.expect("row").1.value())
            .sum();
        assert_eq!(
            counted, applications,
            "the counter agrees with the applications"
        );
    }
    (hex::encode(hasher.finalize()), applications)
}
