//! Where each projection starts: its checkpoints are read against what NATS says of each
//! stream now, and a projection whose checkpoint does not fit (none, another schema
//! version, a stream that ends before it or is another stream) is reset to rebuild from
//! sequence 1.

use std::collections::BTreeMap;
use std::sync::Arc;

use redb::Database;

use super::Projection;
use super::checkpoint::{self, Checkpoint};
use crate::error::KernelError;
use crate::store::StreamState;

/// Reads every projection's checkpoints, resets the projections that must be rebuilt, and
/// answers the checkpoint each (projection, stream) continues after. `found` is what NATS
/// says of each stream now: its extent and identity.
pub(super) fn prepare(
    db: &Database,
    projections: &[Arc<dyn Projection>],
    found: &BTreeMap<String, (Option<StreamState>, Option<String>)>,
) -> Result<Prepared, KernelError> {
    let tx = db.begin_write()?;
    checkpoint::drop_old_format(&tx)?;
    let mut continue_after = BTreeMap::new();
    let mut decisions = Vec::new();
    for projection in projections {
        let name = projection.name();
        let version = projection.schema_version();
        let mut reason = None;
        let mut stored = Vec::new();
        for stream in projection.streams() {
            let (state, identity) = &found[&stream];
            let checkpoint = checkpoint::read(&tx, name, &stream)?;
            reason = reason.or_else(|| {
                rebuild_reason(
                    &stream,
                    checkpoint.as_ref(),
                    *state,
                    identity.as_deref(),
                    version,
                )
            });
            stored.push((stream, checkpoint, identity.clone()));
        }
        if reason.is_some() {
            projection.reset(&tx)?;
        }
        let positions: Vec<String> = stored
            .iter()
            .map(|(stream, cp, _)| format!("{stream}:{}", cp.as_ref().map_or(0, |c| c.sequence)))
            .collect();
        decisions.push(Decision {
            projection: name,
            rebuild: reason.clone(),
            checkpoints: positions.join(","),
        });
        for (stream, checkpoint, identity) in stored {
            let sequence = match (&reason, &checkpoint) {
                (None, Some(cp)) => cp.sequence,
                _ => 0,
            };
            let checkpoint = Checkpoint {
                sequence,
                stream_identity: identity.unwrap_or_default(),
                schema_version: version,
            };
            checkpoint::write(&tx, name, &stream, &checkpoint)?;
            continue_after.insert((name.to_owned(), stream), checkpoint);
        }
    }
    tx.commit()?;
    Ok((continue_after, decisions))
}

/// What [`prepare`] decided for one projection, logged once the file is written.
pub(super) struct Decision {
    pub(super) projection: &'static str,
    /// Why it is rebuilt from sequence 1, if it is.
    pub(super) rebuild: Option<String>,
    /// `STREAM:sequence` of each checkpoint found.
    pub(super) checkpoints: String,
}

/// A prepared start: where each (projection, stream) continues after, and the decisions.
pub(super) type Prepared = (BTreeMap<(String, String), Checkpoint>, Vec<Decision>);

/// Why a projection must be rebuilt from sequence 1 rather than continue, if it must.
fn rebuild_reason(
    stream: &str,
    checkpoint: Option<&Checkpoint>,
    state: Option<StreamState>,
    identity: Option<&str>,
    version: u32,
) -> Option<String> {
    let cp = match checkpoint {
        None => return Some("no checkpoint (a new or deleted projection file)".to_owned()),
        Some(cp) => cp,
    };
    if cp.schema_version != version {
        return Some(format!(
            "schema version changed from {} to {version}",
            cp.schema_version
        ));
    }
    match (state, identity) {
        (None, _) if cp.sequence > 0 => Some(format!("stream {stream} no longer exists")),
        (Some(state), _) if state.last_sequence < cp.sequence => Some(format!(
            "stream {stream} ends before the checkpoint (another NATS store, or one that lost data)"
        )),
        (_, Some(identity)) if !cp.stream_identity.is_empty() && cp.stream_identity != identity => {
            Some(format!(
                "stream {stream} is another stream than the one projected (a different NATS store)"
            ))
        }
        _ => None,
    }
}
