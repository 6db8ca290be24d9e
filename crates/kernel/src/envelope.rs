//! The commit envelope: what one NATS message of an event stream holds, how its hash chain
//! and message id are computed, and an aggregate's loaded history.

use sha2::{Digest, Sha256};
use tillit_proto::common::{Actor, ConsistencyToken, Position};
use tillit_proto::kernel::Commit;

use crate::error::KernelError;
use crate::ids::{AggregateAddress, AggregateId, TenantId};

/// Who asked and why: the envelope fields a command carries besides its events.
#[derive(Clone, Debug, Default)]
pub struct CommandMeta {
    /// The acting user or service account.
    pub actor: Actor,
    /// The caller's idempotency key, if it sent one.
    pub idempotency_key: Option<String>,
    /// Correlation id of the request.
    pub correlation_id: String,
    /// What caused this command, when it is a reaction to another commit.
    pub causation_id: String,
}

impl CommandMeta {
    /// The caller's idempotency key scoped to the caller: (actor subject, key). A key
    /// belongs to whoever sent it, so another caller reusing it (by chance or on purpose)
    /// gets its own command executed, never the first caller's answer.
    pub fn scoped_key(&self) -> Option<String> {
        self.idempotency_key
            .as_deref()
            .map(|key| format!("{}\u{1f}{key}", self.actor.subject))
    }

    /// The id of an aggregate a create makes for `purpose`: derived from the caller's
    /// scoped key (a retried create lands on the same aggregate), else a fresh UUIDv7.
    pub fn derive_id(&self, tenant: &TenantId, purpose: &str) -> AggregateId {
        self.scoped_key().map_or_else(AggregateId::generate, |key| {
            AggregateId::derived(tenant, purpose, &key)
        })
    }

    /// Meta data of a change the platform makes on its own behalf.
    pub fn system(correlation_id: impl Into<String>) -> Self {
        Self {
            actor: Actor {
                subject: "system".into(),
                tenant: TenantId::INTERNAL.into(),
                roles: Vec::new(),
                on_behalf_of: String::new(),
            },
            idempotency_key: None,
            correlation_id: correlation_id.into(),
            causation_id: String::new(),
        }
    }
}

/// SHA-256 of a commit's payload bytes: the next commit's `prev_hash`.
pub fn payload_hash(payload: &[u8]) -> [u8; 32] {
    Sha256::digest(payload).into()
}

/// The `Nats-Msg-Id` of a command with an idempotency key: hex SHA-256 of (tenant, subject,
/// key), the key scoped to its caller ([`CommandMeta::scoped_key`]). Never the bare key,
/// or one tenant's (or caller's) key would swallow another's command.
pub fn message_id(tenant: &TenantId, subject: &str, key: &str) -> String {
    let mut hasher = Sha256::new();
    for part in [tenant.as_str(), subject, key] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// A token naming one position.
pub fn token(position: Position) -> ConsistencyToken {
    ConsistencyToken {
        positions: vec![position],
    }
}

/// One commit as read back from its stream.
#[derive(Clone, Debug)]
pub struct StoredCommit {
    /// Its stream sequence.
    pub sequence: u64,
    /// The decoded envelope.
    pub commit: Commit,
    /// SHA-256 of its payload bytes.
    pub hash: [u8; 32],
}

/// All commits of one aggregate, oldest first, and the subject's last stream sequence.
#[derive(Clone, Debug)]
pub struct History {
    /// The aggregate.
    pub address: AggregateAddress,
    /// Its stream.
    pub stream: String,
    /// Its commits, oldest first.
    pub commits: Vec<StoredCommit>,
}

impl History {
    /// Checks the envelope of each commit against the one before it (version, hash chain,
    /// address), so a decider never decides on a history that was tampered with.
    pub(crate) fn new(
        address: AggregateAddress,
        stream: String,
        commits: Vec<StoredCommit>,
    ) -> Result<Self, KernelError> {
        let subject = address.subject();
        let mut prev: Option<&StoredCommit> = None;
        for (index, stored) in commits.iter().enumerate() {
            let commit = &stored.commit;
            let expected_prev = prev.map(|p| p.hash.to_vec()).unwrap_or_default();
            let broken = if commit.aggregate_version != index as u64 + 1 {
                Some("aggregate_version is out of order")
            } else if commit.prev_hash != expected_prev {
                Some("prev_hash does not match the previous commit")
            } else if commit.tenant != address.tenant.as_str()
                || commit.aggregate_type != address.aggregate_type.as_str()
                || commit.aggregate_id != address.id.as_str()
            {
                Some("envelope names another aggregate")
            } else {
                None
            };
            if let Some(reason) = broken {
                return Err(KernelError::Corrupt(format!(
                    "{subject} at sequence {}: {reason}",
                    stored.sequence
                )));
            }
            prev = Some(stored);
        }
        Ok(Self {
            address,
            stream,
            commits,
        })
    }

    /// Number of commits: the aggregate's version.
    pub fn version(&self) -> u64 {
        self.commits.len() as u64
    }

    /// The subject's last sequence, 0 for an aggregate that does not exist yet.
    pub fn last_sequence(&self) -> u64 {
        self.commits.last().map_or(0, |c| c.sequence)
    }

    /// The next commit's `prev_hash`.
    pub fn last_hash(&self) -> Vec<u8> {
        self.commits
            .last()
            .map(|c| c.hash.to_vec())
            .unwrap_or_default()
    }

    /// The commit a command of `subject` with this idempotency key produced, if any (the
    /// same key from another caller is another command).
    pub fn find_idempotency_key(&self, key: &str, subject: &str) -> Option<&StoredCommit> {
        self.commits.iter().find(|c| {
            c.commit.idempotency_key == key
                && c.commit
                    .actor
                    .as_ref()
                    .is_some_and(|a| a.subject == subject)
        })
    }

    /// The commit stored at `sequence`, if it is this aggregate's.
    pub fn find_sequence(&self, sequence: u64) -> Option<&StoredCommit> {
        self.commits.iter().find(|c| c.sequence == sequence)
    }

    /// Who did what, when: one entry per commit, oldest first.
    pub fn timeline(&self) -> Vec<tillit_proto::common::TimelineEntry> {
        self.commits
            .iter()
            .map(|stored| tillit_proto::common::TimelineEntry {
                recorded_at: stored.commit.recorded_at,
                actor: stored
                    .commit
                    .actor
                    .as_ref()
                    .map(|a| a.subject.clone())
                    .unwrap_or_default(),
                command: stored.commit.command.clone(),
                events: stored
                    .commit
                    .events
                    .iter()
                    .map(|e| e.r#type.clone())
                    .collect(),
                sequence: stored.sequence,
            })
            .collect()
    }

    /// The position of a commit of this history.
    pub fn position(&self, stored: &StoredCommit) -> Position {
        Position {
            stream: self.stream.clone(),
            sequence: stored.sequence,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_key_in_two_tenants_gives_two_message_ids() {
        let acme = TenantId::parse("acme", "t").unwrap();
        let globex = TenantId::parse("globex", "t").unwrap();
        let subject = "tillit.x.acme.thing.1";
        assert_ne!(
            message_id(&acme, subject, "k"),
            message_id(&globex, subject, "k")
        );
        assert_eq!(
            message_id(&acme, subject, "k"),
            message_id(&acme, subject, "k")
        );
        assert_ne!(message_id(&acme, subject, "k"), "k");
    }

    #[test]
    fn message_id_parts_cannot_be_shifted_into_each_other() {
        let t = TenantId::parse("t", "t").unwrap();
        assert_ne!(message_id(&t, "ab", "c"), message_id(&t, "a", "bc"));
    }
}
