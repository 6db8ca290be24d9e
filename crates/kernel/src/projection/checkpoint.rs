//! The checkpoint table: per (projection, stream) the last applied sequence, the stream's
//! identity (created time, unix nanoseconds) and the projection's schema version.

use redb::{ReadableTable, TableDefinition, WriteTransaction};

use crate::error::KernelError;

const CHECKPOINTS: TableDefinition<(&str, &str), (u64, i64, u32)> =
    TableDefinition::new("tillit_checkpoints");

/// One stored checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Checkpoint {
    /// Last applied stream sequence.
    pub sequence: u64,
    /// Created time of the stream it was read from (unix ns); 0 when not yet known.
    pub stream_created: i64,
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
        let (sequence, stream_created, schema_version) = guard.value();
        Checkpoint {
            sequence,
            stream_created,
            schema_version,
        }
    }))
}

pub(crate) fn write(
    tx: &WriteTransaction,
    projection: &str,
    stream: &str,
    checkpoint: Checkpoint,
) -> Result<(), KernelError> {
    let mut table = tx.open_table(CHECKPOINTS)?;
    table.insert(
        (projection, stream),
        (
            checkpoint.sequence,
            checkpoint.stream_created,
            checkpoint.schema_version,
        ),
    )?;
    Ok(())
}
