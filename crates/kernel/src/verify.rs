//! Tamper evidence: re-reads the raw messages of a stream (or of one subject) and checks
//! every commit's `prev_hash` against the SHA-256 of the previous commit's payload on the
//! same subject, and its version against the count before it.
//!
//! The chain alone does not protect the newest commit of each aggregate, nor stop a forger
//! who may publish and recompute hashes; signed seals of the chain heads come later.

use std::collections::HashMap;

use async_nats::jetstream::consumer::pull::OrderedConfig;
use futures::StreamExt as _;
use prost::Message as _;
use tillit_proto::common::Position;
use tillit_proto::kernel::Commit;

use crate::envelope::payload_hash;
use crate::error::KernelError;
use crate::store::EventStore;

/// The outcome of a chain verification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChainVerdict {
    /// Every link holds.
    Intact {
        /// Commits checked.
        checked: u64,
    },
    /// The first commit whose link does not hold.
    Broken {
        /// Where it is.
        position: Position,
        /// Its subject.
        subject: String,
        /// What does not hold.
        reason: String,
        /// Commits checked before it.
        checked: u64,
    },
}

/// Reads the raw messages of `stream` (only `subject`'s when given) in order, from the
/// first up to sequence `until` (or the end), handing each with its position to `each`;
/// stops early when `each` answers false.
pub async fn read_stream(
    store: &EventStore,
    stream: &str,
    subject: Option<&str>,
    until: Option<u64>,
    mut each: impl FnMut(&str, &[u8], Position) -> Result<bool, KernelError>,
) -> Result<(), KernelError> {
    let unavailable = |e: String| KernelError::Unavailable(format!("reading {stream}: {e}"));
    let handle = store.stream(stream).await?;
    let consumer = store
        .bounded(handle.create_consumer(OrderedConfig {
            filter_subject: subject.unwrap_or_default().to_owned(),
            ..Default::default()
        }))
        .await?
        .map_err(|e| unavailable(e.to_string()))?;
    let mut pending = consumer.cached_info().num_pending;
    let mut messages = store
        .bounded(consumer.messages())
        .await?
        .map_err(|e| unavailable(e.to_string()))?;
    while pending > 0 {
        let message = store
            .bounded(messages.next())
            .await?
            .ok_or_else(|| unavailable("ended early".into()))?
            .map_err(|e| unavailable(e.to_string()))?;
        let info = message.info().map_err(|e| unavailable(e.to_string()))?;
        pending = info.pending;
        if until.is_some_and(|until| info.stream_sequence > until) {
            break;
        }
        let position = Position {
            stream: stream.to_owned(),
            sequence: info.stream_sequence,
        };
        let done = until.is_some_and(|until| info.stream_sequence == until);
        if !each(&message.subject, &message.payload, position)? || done {
            break;
        }
    }
    Ok(())
}

/// Verifies the chains of every subject in `stream`, or only of `subject` when given.
pub async fn verify_chain(
    store: &EventStore,
    stream: &str,
    subject: Option<&str>,
) -> Result<ChainVerdict, KernelError> {
    // Per subject: the hash of its last commit and its version.
    let mut heads: HashMap<String, ([u8; 32], u64)> = HashMap::new();
    let mut checked = 0;
    let mut broken = None;
    read_stream(
        store,
        stream,
        subject,
        None,
        |subject, payload, position| {
            let head = heads.get(subject).copied();
            if let Err(reason) = check_link(payload, subject, head) {
                broken = Some(ChainVerdict::Broken {
                    position,
                    subject: subject.to_owned(),
                    reason,
                    checked,
                });
                return Ok(false);
            }
            let version = head.map_or(1, |(_, version)| version + 1);
            heads.insert(subject.to_owned(), (payload_hash(payload), version));
            checked += 1;
            Ok(true)
        },
    )
    .await?;
    Ok(broken.unwrap_or(ChainVerdict::Intact { checked }))
}

/// Checks one commit (its bytes as the log holds them) against the head of its subject's
/// chain (the previous commit's hash and version, `None` for the first): it must decode,
/// link to that hash, carry the next version, and name `subject`'s aggregate. Pure; the
/// fuzz target `commit_chain` feeds it arbitrary bytes.
pub fn check_link(
    payload: &[u8],
    subject: &str,
    head: Option<([u8; 32], u64)>,
) -> Result<(), String> {
    let commit = Commit::decode(payload).map_err(|e| format!("not a commit: {e}"))?;
    let (expected_hash, expected_version) = match head {
        Some((hash, version)) => (hash.to_vec(), version + 1),
        None => (Vec::new(), 1),
    };
    if commit.prev_hash != expected_hash {
        return Err(format!(
            "prev_hash {} does not match the previous commit's hash {}",
            hex::encode(&commit.prev_hash),
            hex::encode(&expected_hash)
        ));
    }
    if commit.aggregate_version != expected_version {
        return Err(format!(
            "aggregate_version {} where {expected_version} was due",
            commit.aggregate_version
        ));
    }
    let named = format!(
        ".{}.{}.{}",
        commit.tenant, commit.aggregate_type, commit.aggregate_id
    );
    if !subject.ends_with(&named) {
        return Err(format!("the envelope names {named}, not this subject"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(version: u64, prev_hash: Vec<u8>) -> Vec<u8> {
        Commit {
            tenant: "acme".into(),
            aggregate_type: "tally".into(),
            aggregate_id: "t1".into(),
            aggregate_version: version,
            prev_hash,
            ..Default::default()
        }
        .encode_to_vec()
    }

    const SUBJECT: &str = "tillit.x.acme.tally.t1";

    #[test]
    fn a_linked_chain_holds() {
        let first = commit(1, Vec::new());
        assert_eq!(check_link(&first, SUBJECT, None), Ok(()));
        let second = commit(2, payload_hash(&first).to_vec());
        assert_eq!(
            check_link(&second, SUBJECT, Some((payload_hash(&first), 1))),
            Ok(())
        );
    }

    #[test]
    fn a_wrong_hash_a_skipped_version_or_a_moved_commit_breaks_it() {
        let first = commit(1, Vec::new());
        let head = Some((payload_hash(&first), 1));
        assert!(check_link(&commit(2, vec![0; 32]), SUBJECT, head).is_err());
        assert!(check_link(&commit(3, payload_hash(&first).to_vec()), SUBJECT, head).is_err());
        assert!(check_link(&first, "tillit.x.globex.tally.t1", None).is_err());
        assert!(check_link(b"\xff\xff", SUBJECT, None).is_err());
    }
}
