//! The key store: one data key per data subject, in the JetStream stream `KEYS` that, unlike
//! the event streams, allows deleting. Each key is stored wrapped (XChaCha20-Poly1305) under
//! the platform's wrapping key, created on first use, cached by every service, and
//! destroyed by erasing its message (nats-server overwrites an erased message's bytes)
//! after an erasure marker took its place; every service's cache drops a destroyed key the
//! moment the marker is published.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::{
    self,
    context::PublishErrorKind,
    message::PublishMessage,
    stream::{self, DiscardPolicy, LastRawMessageErrorKind, RetentionPolicy, StorageType},
};
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use futures::StreamExt as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::token::{DataKey, valid_key_id};
use crate::error::KernelError;

/// The key store's stream.
pub const STREAM: &str = "KEYS";
const SUBJECTS: &str = "tillit.keys.>";
/// A wrapped key's record starts with this byte; a destruction marker with [`ERASED`].
const WRAPPED: u8 = 1;
const ERASED: u8 = 2;

/// The platform's personal-data secret (32 bytes from a file or a Secret), from which the
/// key-wrapping key and the lookup pepper are derived.
#[derive(Clone)]
pub struct PersonalDataSecret {
    wrap: [u8; 32],
    pepper: [u8; 32],
}

impl std::fmt::Debug for PersonalDataSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PersonalDataSecret(..)")
    }
}

impl PersonalDataSecret {
    /// The secret from its 32 bytes.
    pub fn from_bytes(secret: [u8; 32]) -> Self {
        let derive = |label: &[u8]| -> [u8; 32] {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&secret).expect("any key length");
            mac.update(label);
            mac.finalize().into_bytes().into()
        };
        Self {
            wrap: derive(b"tillit key wrapping v1"),
            pepper: derive(b"tillit lookup pepper v1"),
        }
    }

    /// The secret from its text form: 64 hex digits (surrounding white space ignored).
    pub fn parse(text: &str) -> Result<Self, String> {
        let bytes = hex::decode(text.trim())
            .map_err(|_| "the personal-data key must be 64 hex digits".to_owned())?;
        let secret: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "the personal-data key must be 32 bytes (64 hex digits)".to_owned())?;
        Ok(Self::from_bytes(secret))
    }

    /// A fresh secret's text form, for a generated development key.
    pub fn generate_text() -> String {
        hex::encode(DataKey::generate().0)
    }

    /// HMAC-SHA-256 (hex) of `value` under the lookup pepper: what indexes and uniqueness
    /// reservations use in place of a personal value. Callers normalise first.
    pub fn lookup(&self, value: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.pepper).expect("any key length");
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    fn wrapper(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new((&self.wrap).into())
    }
}

/// What the store holds for a key id.
#[derive(Clone, Debug)]
enum Entry {
    Key(DataKey),
    Destroyed,
}

/// Whether a data subject is recorded as erased (the identity view's erasure table): a
/// key of such a subject reads as destroyed even before its marker reached this process.
pub type ErasedCheck = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// The key store; cheap to clone.
#[derive(Clone)]
pub struct KeyStore {
    js: jetstream::Context,
    secret: PersonalDataSecret,
    replicas: usize,
    timeout: Duration,
    cache: Arc<Mutex<HashMap<String, Entry>>>,
    erased: Arc<std::sync::OnceLock<ErasedCheck>>,
}

impl std::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyStore").finish_non_exhaustive()
    }
}

impl KeyStore {
    /// A key store over `js`, wrapping keys with `secret`'s key.
    pub fn new(
        js: jetstream::Context,
        secret: PersonalDataSecret,
        replicas: usize,
        timeout: Duration,
    ) -> Self {
        Self {
            js,
            secret,
            replicas,
            timeout,
            cache: Arc::new(Mutex::new(HashMap::new())),
            erased: Arc::new(std::sync::OnceLock::new()),
        }
    }

    /// Consults `check` before every key: a subject the erasure events name is erased here
    /// as soon as this process's view of them says so, so a request carrying the
    /// approval's consistency token never sees the subject's data.
    pub fn follow_erasures(&self, check: ErasedCheck) {
        let _ = self.erased.set(check);
    }

    /// The secret, for lookups.
    pub fn secret(&self) -> &PersonalDataSecret {
        &self.secret
    }

    /// The stream's configuration: file storage, replicated like the event streams, and
    /// deleting allowed (that is how a key is destroyed).
    pub fn stream_config(&self) -> stream::Config {
        stream::Config {
            name: STREAM.into(),
            subjects: vec![SUBJECTS.into()],
            storage: StorageType::File,
            retention: RetentionPolicy::Limits,
            discard: DiscardPolicy::Old,
            max_age: Duration::ZERO,
            max_messages: -1,
            max_bytes: -1,
            max_messages_per_subject: -1,
            num_replicas: self.replicas,
            deny_delete: false,
            deny_purge: false,
            allow_rollup: false,
            ..Default::default()
        }
    }

    /// Creates the stream (or brings it to the configuration above) and starts following
    /// destruction markers, so this process forgets a destroyed key at once. After a
    /// reconnection the whole cache is dropped: a marker may have passed meanwhile.
    pub async fn provision(
        &self,
        mut connections: tokio::sync::watch::Receiver<u64>,
    ) -> Result<(), KernelError> {
        self.bounded(self.js.create_or_update_stream(self.stream_config()))
            .await?
            .map_err(|e| KernelError::Internal(format!("provisioning stream {STREAM}: {e}")))?;
        let mut markers = self
            .bounded(self.js.client().subscribe(SUBJECTS))
            .await?
            .map_err(|e| KernelError::Unavailable(format!("following {SUBJECTS}: {e}")))?;
        let cache = Arc::downgrade(&self.cache);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    message = markers.next() => {
                        let Some(message) = message else { break };
                        let Some(cache) = cache.upgrade() else { break };
                        if message.payload.first() == Some(&ERASED)
                            && let Some(id) = message.subject.strip_prefix("tillit.keys.")
                        {
                            cache.lock().expect("key cache").insert(id.to_owned(), Entry::Destroyed);
                        }
                    }
                    changed = connections.changed() => {
                        if changed.is_err() { break }
                        let Some(cache) = cache.upgrade() else { break };
                        cache.lock().expect("key cache").clear();
                    }
                }
            }
        });
        Ok(())
    }

    /// The key of `id` for sealing a new value: created on first use; a destroyed key is
    /// never made again (its subject is erased for good).
    pub async fn for_sealing(&self, id: &str) -> Result<DataKey, KernelError> {
        check_id(id)?;
        for _ in 0..3 {
            match self.entry(id).await? {
                Some(Entry::Key(key)) => return Ok(key),
                Some(Entry::Destroyed) => {
                    return Err(KernelError::Erased(format!(
                        "data subject {id} is erased: nothing personal is recorded about it any more"
                    )));
                }
                None => {}
            }
            let key = DataKey::generate();
            let publish = PublishMessage::build()
                .payload(self.wrap(id, &key).into())
                .expected_last_subject_sequence(0);
            let outcome = async {
                let ack = self.js.send_publish(subject(id), publish).await?;
                ack.await
            };
            match self.bounded(outcome).await? {
                Ok(_) => {
                    self.remember(id, Entry::Key(key.clone()));
                    return Ok(key);
                }
                // Another process created it first: read theirs.
                Err(e) if e.kind() == PublishErrorKind::WrongLastSequence => continue,
                Err(e) => {
                    return Err(KernelError::Unavailable(format!("storing key {id}: {e}")));
                }
            }
        }
        Err(KernelError::Unavailable(format!(
            "key {id} kept changing while it was created"
        )))
    }

    /// The key of `id` for opening a stored value; `None` when it was destroyed (or never
    /// existed, which only a value from another store can ask for).
    pub async fn for_opening(&self, id: &str) -> Result<Option<DataKey>, KernelError> {
        if !valid_key_id(id) {
            return Ok(None);
        }
        Ok(match self.entry(id).await? {
            Some(Entry::Key(key)) => Some(key),
            _ => None,
        })
    }

    /// Whether `id`'s key has been destroyed.
    pub async fn is_destroyed(&self, id: &str) -> Result<bool, KernelError> {
        Ok(matches!(self.entry(id).await?, Some(Entry::Destroyed)))
    }

    /// Destroys `id`'s key: publishes the marker (which every service follows), then erases
    /// every earlier message of the subject so its bytes are gone from the store. Doing it
    /// again is harmless, which is what redoing erasures after a restore relies on.
    pub async fn destroy(&self, id: &str, erasure: &str) -> Result<(), KernelError> {
        check_id(id)?;
        let stream = self.stream().await?;
        let mut marker = vec![ERASED];
        marker.extend_from_slice(erasure.as_bytes());
        let marker_sequence = match self.last(id).await? {
            Some((sequence, payload)) if payload.first() == Some(&ERASED) => sequence,
            _ => {
                let outcome = async {
                    let ack = self.js.publish(subject(id), marker.into()).await?;
                    ack.await
                };
                self.bounded(outcome)
                    .await?
                    .map_err(|e| KernelError::Unavailable(format!("destroying key {id}: {e}")))?
                    .sequence
            }
        };
        self.remember(id, Entry::Destroyed);
        // Every older message of the subject: the wrapped key (and any copy a race left).
        let mut next = 1;
        loop {
            let request = stream
                .raw_message_builder()
                .sequence(next)
                .next_by_subject(subject(id))
                .send();
            let message = match self.bounded(request).await? {
                Ok(message) if message.sequence < marker_sequence => message,
                Ok(_) => break,
                Err(e) if matches!(e.kind(), LastRawMessageErrorKind::NoMessageFound) => break,
                Err(e) => return Err(KernelError::Unavailable(format!("reading key {id}: {e}"))),
            };
            next = message.sequence + 1;
            self.bounded(stream.delete_message(message.sequence))
                .await?
                .map_err(|e| KernelError::Unavailable(format!("erasing key {id}: {e}")))?;
        }
        Ok(())
    }

    /// Forgets every cached key, so the next use reads the store again.
    pub fn forget_all(&self) {
        self.cache.lock().expect("key cache").clear();
    }

    async fn entry(&self, id: &str) -> Result<Option<Entry>, KernelError> {
        if self.erased.get().is_some_and(|erased| erased(id)) {
            return Ok(Some(Entry::Destroyed));
        }
        if let Some(entry) = self.cache.lock().expect("key cache").get(id).cloned() {
            return Ok(Some(entry));
        }
        let Some((_, payload)) = self.last(id).await? else {
            return Ok(None);
        };
        let entry = match payload.first() {
            Some(&WRAPPED) => Entry::Key(self.unwrap(id, &payload[1..])?),
            Some(&ERASED) => Entry::Destroyed,
            _ => return Err(KernelError::Corrupt(format!("key {id}: unknown record"))),
        };
        self.remember(id, entry.clone());
        Ok(Some(entry))
    }

    async fn last(&self, id: &str) -> Result<Option<(u64, Vec<u8>)>, KernelError> {
        let stream = self.stream().await?;
        match self
            .bounded(stream.get_last_raw_message_by_subject(&subject(id)))
            .await?
        {
            Ok(message) => Ok(Some((message.sequence, message.payload.to_vec()))),
            Err(e) if matches!(e.kind(), LastRawMessageErrorKind::NoMessageFound) => Ok(None),
            Err(e) => Err(KernelError::Unavailable(format!("reading key {id}: {e}"))),
        }
    }

    fn remember(&self, id: &str, entry: Entry) {
        let mut cache = self.cache.lock().expect("key cache");
        // A destruction seen by the follower wins over a key read before it.
        if !matches!(cache.get(id), Some(Entry::Destroyed)) {
            cache.insert(id.to_owned(), entry);
        }
    }

    fn wrap(&self, id: &str, key: &DataKey) -> Vec<u8> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let wrapped = self
            .secret
            .wrapper()
            .encrypt(
                &nonce,
                Payload {
                    msg: &key.0,
                    aad: id.as_bytes(),
                },
            )
            .expect("a key encrypts");
        let mut record = vec![WRAPPED];
        record.extend_from_slice(&nonce);
        record.extend_from_slice(&wrapped);
        record
    }

    fn unwrap(&self, id: &str, record: &[u8]) -> Result<DataKey, KernelError> {
        let wrong = || {
            KernelError::Internal(format!(
                "key {id} does not unwrap: the personal-data key differs from the one it was stored with"
            ))
        };
        if record.len() < 24 {
            return Err(wrong());
        }
        let (nonce, wrapped) = record.split_at(24);
        let plain = self
            .secret
            .wrapper()
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: wrapped,
                    aad: id.as_bytes(),
                },
            )
            .map_err(|_| wrong())?;
        Ok(DataKey(plain.try_into().map_err(|_| wrong())?))
    }

    async fn stream(&self) -> Result<jetstream::stream::Stream<()>, KernelError> {
        self.bounded(self.js.get_stream_no_info(STREAM))
            .await?
            .map_err(|e| KernelError::Unavailable(format!("stream {STREAM}: {e}")))
    }

    async fn bounded<T>(&self, request: impl Future<Output = T>) -> Result<T, KernelError> {
        crate::store::within(self.timeout, request).await
    }
}

fn subject(id: &str) -> String {
    format!("tillit.keys.{id}")
}

fn check_id(id: &str) -> Result<(), KernelError> {
    if valid_key_id(id) {
        Ok(())
    } else {
        Err(KernelError::Internal(format!(
            "{id:?} cannot name a data subject's key"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_depend_on_the_secret_and_hide_the_value() {
        let one = PersonalDataSecret::from_bytes([7; 32]);
        let other = PersonalDataSecret::from_bytes([8; 32]);
        let a = one.lookup("anna@example.se");
        assert_eq!(a, one.lookup("anna@example.se"));
        assert_ne!(a, other.lookup("anna@example.se"));
        assert_eq!(a.len(), 64);
        assert!(PersonalDataSecret::parse("abc").is_err());
        assert!(PersonalDataSecret::parse(&PersonalDataSecret::generate_text()).is_ok());
    }
}
