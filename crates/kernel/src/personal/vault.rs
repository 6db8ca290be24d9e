//! The codec's personal-data step: sealing an event's personal fields before its commit
//! is appended, opening them when a decider loads an aggregate, checking where each sealed
//! value sits when a projection applies a commit, and revealing the sealed values of a
//! query's answer. Deciders and projections never hold a key.

use std::collections::{BTreeSet, HashMap};

use prost::Message as _;
use prost_reflect::{DynamicMessage, MapKey, Value};
use tillit_proto::kernel::{Commit, Event};

use super::keys::KeyStore;
use super::plan::{Plan, Subject};
use super::token::{self, DataKey, ERASED, is_sealed};
use crate::error::KernelError;

/// Seals, opens and reveals personal values with the keys of a [`KeyStore`].
#[derive(Clone, Debug)]
pub struct Vault {
    keys: KeyStore,
}

/// The identity of the commit a value belongs to, what its site is computed from: the
/// stream and the aggregate's subject (`tillit.<ctx>.<tenant>.<type>.<id>`, from the
/// envelope).
#[derive(Clone, Debug)]
pub struct CommitSite {
    /// The stream.
    pub stream: String,
    /// The aggregate's subject.
    pub subject: String,
}

impl CommitSite {
    /// The site of `commit` in `stream`.
    pub fn of(stream: &str, commit: &Commit) -> Self {
        Self {
            stream: stream.to_owned(),
            subject: format!(
                "tillit.{}.{}.{}.{}",
                stream.to_ascii_lowercase(),
                commit.tenant,
                commit.aggregate_type,
                commit.aggregate_id
            ),
        }
    }
}

impl Vault {
    /// A vault over `keys`.
    pub fn new(keys: KeyStore) -> Self {
        Self { keys }
    }

    /// The key store.
    pub fn keys(&self) -> &KeyStore {
        &self.keys
    }

    /// Seals every personal value of `commit`'s events in place. A value that arrives
    /// sealed (copied from a projection) is opened and sealed again for its new place.
    pub async fn seal_commit(&self, stream: &str, commit: &mut Commit) -> Result<(), KernelError> {
        let mut decoded = decode_personal(&commit.events)?;
        if decoded.is_empty() {
            return Ok(());
        }
        let at = CommitSite::of(stream, commit);
        let mut sealing = BTreeSet::new();
        let mut opening = BTreeSet::new();
        for (_, message) in &mut decoded {
            Plan::global().walk(message, &mut |_, subject, value| {
                if value.is_empty() {
                    return;
                }
                if let Some(sealed) = token::parse(value) {
                    opening.insert(sealed.key_id.to_owned());
                }
                sealing.insert(key_id(subject, commit).to_owned());
            });
        }
        let mut seal_keys = HashMap::new();
        for id in sealing {
            let key = self.keys.for_sealing(&id).await?;
            seal_keys.insert(id, key);
        }
        let open_keys = self.opening_keys(opening).await?;
        for (index, message) in &mut decoded {
            let event_type = commit.events[*index].r#type.clone();
            let mut failure = None;
            Plan::global().walk(message, &mut |path, subject, value| {
                if value.is_empty() {
                    return;
                }
                let plain = match token::parse(value) {
                    Some(sealed) => match open_with(&open_keys, &sealed) {
                        Ok(plain) => plain,
                        Err(error) => {
                            failure.get_or_insert(error);
                            return;
                        }
                    },
                    None => std::mem::take(value),
                };
                let id = key_id(subject, commit);
                let site = token::site(
                    &at.stream,
                    &at.subject,
                    &place(&event_type, *index, path),
                    id,
                );
                *value = token::seal(&seal_keys[id], id, site, &plain);
            });
            if let Some(error) = failure {
                return Err(error);
            }
            commit.events[*index].payload = message.encode_to_vec();
        }
        Ok(())
    }

    /// Opens every sealed value of `commit`'s events in place, for a decider: a value of an
    /// erased subject reads as [`ERASED`]; one that was altered or moved is corrupt.
    pub async fn open_commit(&self, stream: &str, commit: &mut Commit) -> Result<(), KernelError> {
        let mut decoded = decode_personal(&commit.events)?;
        let mut opening = BTreeSet::new();
        for (_, message) in &mut decoded {
            Plan::global().walk(message, &mut |_, _, value| {
                if let Some(sealed) = token::parse(value) {
                    opening.insert(sealed.key_id.to_owned());
                }
            });
        }
        if opening.is_empty() {
            return Ok(());
        }
        check_sites(stream, commit, &mut decoded)?;
        let keys = self.opening_keys(opening).await?;
        for (index, message) in &mut decoded {
            open_each(&keys, |visit| {
                Plan::global().walk(message, &mut |_, _, value| visit(value));
            })?;
            commit.events[*index].payload = message.encode_to_vec();
        }
        Ok(())
    }

    /// `message` with every sealed value anywhere in it opened (or [`ERASED`]): what a
    /// query answers with, at the edge, from rows a projection stored sealed.
    pub async fn reveal<M>(&self, message: M) -> Result<M, KernelError>
    where
        M: prost::Message + prost::Name + Default,
    {
        let bytes = message.encode_to_vec();
        if !contains(&bytes, token::PREFIX.as_bytes()) {
            return Ok(message);
        }
        let descriptor = Plan::global()
            .message(&M::full_name())
            .ok_or_else(|| KernelError::Internal(format!("no descriptor of {}", M::full_name())))?;
        let mut dynamic = DynamicMessage::decode(descriptor, bytes.as_slice())
            .map_err(|e| KernelError::Internal(format!("{}: {e}", M::full_name())))?;
        let mut opening = BTreeSet::new();
        every_string(&mut dynamic, &mut |value| {
            if let Some(sealed) = token::parse(value) {
                opening.insert(sealed.key_id.to_owned());
            }
        });
        let keys = self.opening_keys(opening).await?;
        open_each(&keys, |visit| every_string(&mut dynamic, visit))?;
        M::decode(dynamic.encode_to_vec().as_slice())
            .map_err(|e| KernelError::Internal(format!("{}: {e}", M::full_name())))
    }

    /// One string, revealed.
    pub async fn reveal_text(&self, value: &str) -> Result<String, KernelError> {
        let Some(sealed) = token::parse(value) else {
            return Ok(value.to_owned());
        };
        let keys = self
            .opening_keys(BTreeSet::from([sealed.key_id.to_owned()]))
            .await?;
        open_with(&keys, &sealed)
    }

    async fn opening_keys(
        &self,
        ids: BTreeSet<String>,
    ) -> Result<HashMap<String, Option<DataKey>>, KernelError> {
        let mut keys = HashMap::new();
        for id in ids {
            let key = self.keys.for_opening(&id).await?;
            keys.insert(id, key);
        }
        Ok(keys)
    }
}

/// Checks, without keys, that every sealed value of `commit` sits where it was sealed for:
/// what a projection runs before it stores a commit's sealed values.
pub fn check_commit(stream: &str, commit: &Commit) -> Result<(), KernelError> {
    let mut decoded = decode_personal(&commit.events)?;
    check_sites(stream, commit, &mut decoded)
}

/// The personal values of `commit` stored in clear, as `<event type>#<index>.<path>`:
/// empty for every commit this code writes (a test reads whole streams with it).
pub fn unsealed_fields(commit: &Commit) -> Result<Vec<String>, KernelError> {
    let mut found = Vec::new();
    for (index, message) in &mut decode_personal(&commit.events)? {
        let event_type = &commit.events[*index].r#type;
        Plan::global().walk(message, &mut |path, _, value| {
            if !value.is_empty() && !is_sealed(value) {
                found.push(place(event_type, *index, path));
            }
        });
    }
    Ok(found)
}

fn check_sites(
    stream: &str,
    commit: &Commit,
    decoded: &mut [(usize, DynamicMessage)],
) -> Result<(), KernelError> {
    let at = CommitSite::of(stream, commit);
    for (index, message) in decoded {
        let event_type = &commit.events[*index].r#type;
        let mut moved = None;
        Plan::global().walk(message, &mut |path, _, value| {
            let Some(sealed) = token::parse(value) else {
                if is_sealed(value) {
                    moved.get_or_insert_with(|| format!("{path} holds a malformed sealed value"));
                }
                return;
            };
            let expected = token::site(
                &at.stream,
                &at.subject,
                &place(event_type, *index, path),
                sealed.key_id,
            );
            if sealed.site != expected {
                moved.get_or_insert_with(|| {
                    format!("{path} holds a value sealed for another place")
                });
            }
        });
        if let Some(problem) = moved {
            return Err(KernelError::Corrupt(format!(
                "{} commit {} event {index} ({event_type}): {problem}",
                at.subject, commit.commit_id
            )));
        }
    }
    Ok(())
}

/// The events of `events` whose type holds personal data, decoded, with their index.
fn decode_personal(events: &[Event]) -> Result<Vec<(usize, DynamicMessage)>, KernelError> {
    let plan = Plan::global();
    let mut decoded = Vec::new();
    for (index, event) in events.iter().enumerate() {
        if !plan.holds_personal(&event.r#type) {
            continue;
        }
        let descriptor = plan
            .message(&event.r#type)
            .ok_or_else(|| KernelError::Corrupt(format!("unknown event type {}", event.r#type)))?;
        let message = DynamicMessage::decode(descriptor, event.payload.as_slice())
            .map_err(|e| KernelError::Corrupt(format!("{}: {e}", event.r#type)))?;
        decoded.push((index, message));
    }
    Ok(decoded)
}

/// The place of a value: event type, its index in the commit, the field path.
fn place(event_type: &str, index: usize, path: &str) -> String {
    format!("{event_type}#{index}.{path}")
}

/// The key id a value of `subject` is sealed under; an empty subject field means the
/// aggregate's own key.
fn key_id<'a>(subject: &'a Subject<'_>, commit: &'a Commit) -> &'a str {
    match subject {
        Subject::Id(id) if !id.is_empty() => id,
        Subject::Actor => commit
            .actor
            .as_ref()
            .map(|a| a.subject.as_str())
            .filter(|s| !s.is_empty())
            .unwrap_or(&commit.aggregate_id),
        _ => &commit.aggregate_id,
    }
}

fn open_with(
    keys: &HashMap<String, Option<DataKey>>,
    sealed: &token::Sealed<'_>,
) -> Result<String, KernelError> {
    match keys.get(sealed.key_id) {
        Some(Some(key)) => token::open(key, sealed).ok_or_else(|| {
            KernelError::Corrupt(format!(
                "a value sealed under key {} does not open: it was altered",
                sealed.key_id
            ))
        }),
        _ => Ok(ERASED.to_owned()),
    }
}

/// Replaces every sealed value `walk` hands to its visitor by its opened text (or
/// [`ERASED`]); the first value that does not open is the error.
fn open_each(
    keys: &HashMap<String, Option<DataKey>>,
    walk: impl FnOnce(&mut dyn FnMut(&mut String)),
) -> Result<(), KernelError> {
    let mut failure = None;
    walk(&mut |value| {
        if let Some(sealed) = token::parse(value) {
            match open_with(keys, &sealed) {
                Ok(plain) => *value = plain,
                Err(error) => {
                    failure.get_or_insert(error);
                }
            }
        }
    });
    failure.map_or(Ok(()), Err)
}

/// Calls `visit` with every string anywhere in `message`.
pub(super) fn every_string(message: &mut DynamicMessage, visit: &mut dyn FnMut(&mut String)) {
    for (_, value) in message.fields_mut() {
        every_string_in(value, visit);
    }
}

fn every_string_in(value: &mut Value, visit: &mut dyn FnMut(&mut String)) {
    match value {
        Value::String(text) => visit(text),
        Value::Message(inner) => every_string(inner, visit),
        Value::List(values) => values.iter_mut().for_each(|v| every_string_in(v, visit)),
        Value::Map(entries) => {
            for (key, value) in entries.iter_mut() {
                debug_assert!(!matches!(key, MapKey::String(k) if is_sealed(k)));
                every_string_in(value, visit);
            }
        }
        _ => {}
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}
