//! The checkpoint table: per (projection, stream) the last applied sequence, the stream's
//! identity (see [`crate::EventStore::stream_identity`]) and the projection's schema version.

use redb::{ReadableTable, TableDefinition, WriteTransaction};

use crate::error::KernelError;

const CHECKPOINTS: TableDefinition<(&str, &str), (u64, &str, u32)> =
    TableDefinition::new("tillit_checkpoints_v2");

/// The table of the first format, which kept the stream's created time as its identity.
/// A file that still has it rebuilds once (no checkpoint of the current format), and the
/// old table is dropped.
const CHECKPOINTS_V1: TableDefinition<(&str, &str), (u64, i64, u32)> =
    TableDefinition::new("tillit_checkpoints");

/// One stored checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Checkpoint {
    /// Last applied stream sequence.
    pub sequence: u64,
    /// Identity of the stream it was read from; empty while the stream held nothing.
    pub stream_identity: String,
    /// Schema version of the projection that wrote it.
    pub schema_version: u32,
}

pub(crate) fn read(
    tx: &WriteTransaction,
    projection: &str,
    stream: &str,
) -> Result<Option<Checkpoint>, KernelError> {
    let table = tx.open_table(CHECKPOINTS)?;
    Ok(table.get((projection, stream))?.map(|guard| {
        let (sequence, stream_identity, schema_version) = guard.value();
        Checkpoint {
            sequence,
            stream_identity: stream_identity.to_owned(),
            schema_version,
        }
    }))
}

pub(crate) fn write(
    tx: &WriteTransaction,
    projection: &str,
    stream: &str,
    checkpoint: &Checkpoint,
) -> Result<(), KernelError> {
    let mut table = tx.open_table(CHECKPOINTS)?;
    table.insert(
        (projection, stream),
        (
            checkpoint.sequence,
            checkpoint.stream_identity.as_str(),
            checkpoint.schema_version,
        ),
    )?;
    Ok(())
}

/// Drops the first format's table, if the file still has it.
pub(crate) fn drop_old_format(tx: &WriteTransaction) -> Result<(), KernelError> {
    tx.delete_table(CHECKPOINTS_V1)?;
    Ok(())
}
