//! The event store: JetStream streams per bounded context, appends with optimistic
//! concurrency and dedupe, and loading one aggregate's commits.
//!
//! Every call is bounded by the configured request timeout, so a NATS outage surfaces as
//! `Unavailable` (or `OutcomeUnknown` for an append) instead of a hung request; the client
//! reconnects on its own, so the same store works again once the server is back.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{
    self, ErrorCode,
    context::{GetStreamErrorKind, PublishErrorKind},
    message::PublishMessage,
    stream::{self, DiscardPolicy, LastRawMessageErrorKind, RetentionPolicy, StorageType},
};
use bytes::Bytes;
use prost::Message as _;
use tillit_proto::kernel::Commit;

use crate::clock::Clock;
use crate::envelope::{History, StoredCommit, payload_hash};
use crate::error::{AppendError, KernelError};
use crate::ids::{AggregateAddress, BoundedContext};
use crate::personal::{KeyStore, PersonalDataSecret, Vault};
use crate::telemetry::KernelMetrics;

/// Settings of the event store; every one has a sensible default.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// Stream replicas: 1 locally, 3 in a cluster (power loss needs 3).
    pub replicas: usize,
    /// JetStream's `Nats-Msg-Id` dedupe window.
    pub duplicate_window: Duration,
    /// Upper bound of every request to NATS, an append's acknowledgement included.
    pub request_timeout: Duration,
    /// How often a command is decided again after losing a concurrency race.
    pub max_attempts: u32,
    /// How old a reservation must be before another owner may take it over when its owner
    /// never came to exist (protects a reserver between reserving and creating).
    pub reservation_takeover_after: Duration,
    /// TLS and credentials of the connection to NATS.
    pub connection: NatsConnection,
}

/// How the client proves itself to NATS and checks the server: files, as Kubernetes
/// mounts Secrets. All unset: plain TCP without credentials (a local server).
#[derive(Clone, Debug, Default)]
pub struct NatsConnection {
    /// PEM CA bundle the server's certificate must chain to; TLS is then required.
    pub ca_file: Option<std::path::PathBuf>,
    /// Client certificate and its key (PEM), for servers that verify clients.
    pub client_cert: Option<(std::path::PathBuf, std::path::PathBuf)>,
    /// A `.creds` file (user JWT and nkey seed) of a NATS account user.
    pub creds_file: Option<std::path::PathBuf>,
    /// A file holding an nkey seed (`SU…`).
    pub nkey_file: Option<std::path::PathBuf>,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            replicas: 1,
            duplicate_window: Duration::from_secs(120),
            request_timeout: Duration::from_secs(5),
            max_attempts: 32,
            reservation_takeover_after: Duration::from_secs(60),
            connection: NatsConnection::default(),
        }
    }
}

/// What a projection needs to know about a stream's extent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamState {
    /// Its last sequence, 0 when empty.
    pub last_sequence: u64,
}

/// A handle on the event log; cheap to clone.
#[derive(Clone, Debug)]
pub struct EventStore {
    js: jetstream::Context,
    config: StoreConfig,
    clock: Clock,
    /// Counts the client's (re)connections, so consumers that died with a server can be
    /// made again at once.
    connections: Arc<tokio::sync::watch::Sender<u64>>,
    /// Seals and opens personal data; `None` in a store that may hold none.
    vault: Option<Vault>,
    /// Commands, appends, projections and the connection, for `/metrics`.
    metrics: KernelMetrics,
}

impl EventStore {
    /// Connects to NATS at `url`. The client keeps reconnecting after an outage.
    pub async fn connect(
        url: &str,
        config: StoreConfig,
        clock: Clock,
    ) -> Result<Self, KernelError> {
        let connections = Arc::new(tokio::sync::watch::Sender::new(0u64));
        let counter = connections.clone();
        let metrics = KernelMetrics::default();
        let connected = metrics.clone();
        let client = connect_options(&config.connection)
            .await?
            .connection_timeout(config.request_timeout)
            .request_timeout(Some(config.request_timeout))
            .event_callback(move |event| {
                let counter = counter.clone();
                let connected = connected.clone();
                async move {
                    match event {
                        async_nats::Event::Connected => {
                            tracing::info!("connected to NATS");
                            connected.connected(true);
                            counter.send_modify(|n| *n += 1);
                        }
                        async_nats::Event::Disconnected => {
                            connected.connected(false);
                            tracing::warn!("disconnected from NATS");
                        }
                        other => tracing::debug!(event = %other, "NATS client event"),
                    }
                }
            })
            .connect(server_addrs(url)?)
            .await
            .map_err(|e| KernelError::Unavailable(format!("connecting to NATS at {url}: {e}")))?;
        metrics.connected(true);
        let mut store = Self::with_client(client, config, clock);
        store.connections = connections;
        store.metrics = metrics;
        Ok(store)
    }

    /// A store over an existing client (whose reconnections it does not see).
    pub fn with_client(client: async_nats::Client, config: StoreConfig, clock: Clock) -> Self {
        let js = jetstream::ContextBuilder::new()
            .timeout(config.request_timeout)
            .build(client);
        Self {
            js,
            config,
            clock,
            connections: Arc::new(tokio::sync::watch::Sender::new(0)),
            vault: None,
            metrics: KernelMetrics::default(),
        }
    }

    /// The kernel's metrics of this store, for the service's registry.
    pub fn metrics(&self) -> &KernelMetrics {
        &self.metrics
    }

    /// The same store, sealing personal data with keys wrapped under `secret`'s key.
    pub fn with_personal_data(mut self, secret: PersonalDataSecret) -> Self {
        let keys = KeyStore::new(
            self.js.clone(),
            secret,
            self.config.replicas,
            self.config.request_timeout,
        );
        self.vault = Some(Vault::new(keys));
        self
    }

    /// Creates the key store's stream and starts following key destructions.
    pub async fn provision_keys(&self) -> Result<(), KernelError> {
        self.vault()?.keys().provision(self.connections()).await
    }

    /// The vault that seals and opens personal data.
    pub fn vault(&self) -> Result<&Vault, KernelError> {
        self.vault.as_ref().ok_or_else(|| {
            KernelError::Internal("no personal-data key is configured for this store".into())
        })
    }

    /// HMAC of a normalised personal value under the platform's lookup pepper: the key of
    /// indexes and reservations that would otherwise hold the value.
    pub fn lookup(&self, value: &str) -> Result<String, KernelError> {
        Ok(self.vault()?.keys().secret().lookup(value))
    }

    /// Seals the personal values of a commit about to be appended to `stream`.
    pub async fn seal(&self, stream: &str, commit: &mut Commit) -> Result<(), KernelError> {
        match &self.vault {
            Some(vault) => vault.seal_commit(stream, commit).await,
            None if crate::personal::unsealed_fields(commit)?.is_empty() => Ok(()),
            None => Err(KernelError::Internal(format!(
                "{} carries personal data and no personal-data key is configured",
                commit.command
            ))),
        }
    }

    /// Whether the client is connected to a NATS server right now.
    pub fn is_connected(&self) -> bool {
        matches!(
            self.js.client().connection_state(),
            async_nats::connection::State::Connected
        )
    }

    /// Changes each time the client (re)connects to a server.
    pub fn connections(&self) -> tokio::sync::watch::Receiver<u64> {
        self.connections.subscribe()
    }

    /// The JetStream context, for the projection runner and tests.
    pub fn jetstream(&self) -> &jetstream::Context {
        &self.js
    }

    /// The store's settings.
    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// The clock every `recorded_at` comes from.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The stream configuration DESIGN.md fixes for a context: file storage, kept forever,
    /// no delete, no purge, no rollup.
    pub fn stream_config(&self, context: BoundedContext) -> stream::Config {
        stream::Config {
            name: context.stream(),
            subjects: vec![context.subjects()],
            storage: StorageType::File,
            retention: RetentionPolicy::Limits,
            discard: DiscardPolicy::Old,
            max_age: Duration::ZERO,
            max_messages: -1,
            max_bytes: -1,
            max_messages_per_subject: -1,
            max_message_size: -1,
            max_consumers: -1,
            num_replicas: self.config.replicas,
            duplicate_window: self.config.duplicate_window,
            deny_delete: true,
            deny_purge: true,
            allow_rollup: false,
            ..Default::default()
        }
    }

    /// Creates the context's stream, or brings an existing one to the configuration above.
    pub async fn provision(&self, context: BoundedContext) -> Result<(), KernelError> {
        let config = self.stream_config(context);
        self.bounded(self.js.create_or_update_stream(config))
            .await?
            .map(drop)
            .map_err(|e| {
                KernelError::Internal(format!("provisioning stream {}: {e}", context.stream()))
            })
    }

    /// Appends one commit's payload to `subject`, expecting the subject's last sequence to
    /// be `expected` (0 for a new aggregate). Answers the stored sequence.
    pub async fn append(
        &self,
        subject: &str,
        payload: Bytes,
        expected: u64,
        message_id: Option<&str>,
    ) -> Result<u64, AppendError> {
        // Headers and the subject take a little of the server's limit too. (0: not known
        // yet; the server then decides.)
        let limit = self.js.client().max_payload();
        let max = limit.saturating_sub(1024);
        if limit > 0 && payload.len() > max {
            return Err(AppendError::TooLarge {
                size: payload.len(),
                max,
            });
        }
        // The trace context of the command travels with its commit, so whoever applies it
        // can link its work to the request that caused it.
        let mut publish = PublishMessage::build()
            .headers(crate::telemetry::current_trace_headers())
            .payload(payload)
            .expected_last_subject_sequence(expected);
        if let Some(id) = message_id {
            publish = publish.message_id(id);
        }
        let publish_and_ack = async {
            let ack = self.js.send_publish(subject.to_owned(), publish).await?;
            ack.await
        };
        let started = std::time::Instant::now();
        let ack = tokio::time::timeout(self.config.request_timeout, publish_and_ack)
            .await
            .map_err(|_| AppendError::OutcomeUnknown("no acknowledgement in time".into()))?
            .map_err(|e| match e.kind() {
                PublishErrorKind::WrongLastSequence => AppendError::Conflict,
                PublishErrorKind::TimedOut | PublishErrorKind::BrokenPipe => {
                    AppendError::OutcomeUnknown(e.to_string())
                }
                PublishErrorKind::MaxAckPending => AppendError::OutcomeUnknown(e.to_string()),
                _ => AppendError::Refused(e.to_string()),
            })?;
        self.metrics.appended(&ack.stream, started.elapsed());
        if ack.duplicate {
            Err(AppendError::Duplicate {
                sequence: ack.sequence,
            })
        } else {
            Ok(ack.sequence)
        }
    }

    /// Loads every commit of one aggregate, checking its envelope chain.
    pub async fn load(&self, address: &AggregateAddress) -> Result<History, KernelError> {
        let stream_name = address.context.stream();
        let subject = address.subject();
        let stream = self.stream(&stream_name).await?;
        let mut commits = Vec::new();
        let mut next = 1;
        loop {
            let request = stream
                .raw_message_builder()
                .sequence(next)
                .next_by_subject(subject.clone())
                .send();
            let message = match self.bounded(request).await? {
                Ok(message) => message,
                Err(e) if matches!(e.kind(), LastRawMessageErrorKind::NoMessageFound) => break,
                Err(e) => return Err(KernelError::Unavailable(format!("reading {subject}: {e}"))),
            };
            let commit = Commit::decode(message.payload.as_ref()).map_err(|e| {
                KernelError::Corrupt(format!("{subject} at {}: {e}", message.sequence))
            })?;
            next = message.sequence + 1;
            commits.push(StoredCommit {
                sequence: message.sequence,
                hash: payload_hash(&message.payload),
                commit,
            });
        }
        let mut history = History::new(address.clone(), stream_name, commits)?;
        if let Some(vault) = &self.vault {
            for stored in &mut history.commits {
                vault
                    .open_commit(&history.stream, &mut stored.commit)
                    .await?;
            }
        }
        Ok(history)
    }

    /// Every commit of stream `name`, oldest first, as stored (sealed values sealed): for
    /// the rare reads of a whole stream (a data subject's export, legal-hold checks).
    /// Empty when the stream does not exist.
    pub async fn read_stream(&self, name: &str) -> Result<Vec<(u64, Commit)>, KernelError> {
        let Some(state) = self.stream_state(name).await? else {
            return Ok(Vec::new());
        };
        let stream = self.stream(name).await?;
        let mut commits = Vec::new();
        let mut next = 1;
        while next <= state.last_sequence {
            let request = stream.raw_message_builder().sequence(next).send();
            let message = match self.bounded(request).await? {
                Ok(message) => message,
                Err(e) if matches!(e.kind(), LastRawMessageErrorKind::NoMessageFound) => break,
                Err(e) => return Err(KernelError::Unavailable(format!("reading {name}: {e}"))),
            };
            next = message.sequence + 1;
            let commit = Commit::decode(message.payload.as_ref()).map_err(|e| {
                KernelError::Corrupt(format!("{name} at {}: {e}", message.sequence))
            })?;
            commits.push((message.sequence, commit));
        }
        Ok(commits)
    }

    /// Whether any commit exists on an aggregate subject `tillit.<ctx>.…` (in `<CTX>`'s stream).
    pub async fn subject_exists(&self, subject: &str) -> Result<bool, KernelError> {
        let context = subject
            .strip_prefix("tillit.")
            .and_then(|rest| rest.split('.').next())
            .filter(|name| !name.is_empty())
            .ok_or_else(|| {
                KernelError::Corrupt(format!("{subject} is not an aggregate subject"))
            })?;
        let stream = self.stream(&context.to_ascii_uppercase()).await?;
        match self
            .bounded(stream.get_last_raw_message_by_subject(subject))
            .await?
        {
            Ok(_) => Ok(true),
            Err(e) if matches!(e.kind(), LastRawMessageErrorKind::NoMessageFound) => Ok(false),
            Err(e) => Err(KernelError::Unavailable(format!("reading {subject}: {e}"))),
        }
    }

    /// The last sequence of a stream, `None` when it does not exist.
    pub async fn stream_state(&self, name: &str) -> Result<Option<StreamState>, KernelError> {
        match self.bounded(self.js.get_stream(name)).await? {
            Ok(stream) => Ok(Some(StreamState {
                last_sequence: stream.cached_info().state.last_sequence,
            })),
            Err(e) => match e.kind() {
                GetStreamErrorKind::JetStream(js)
                    if js.error_code() == ErrorCode::STREAM_NOT_FOUND =>
                {
                    Ok(None)
                }
                _ => Err(KernelError::Unavailable(format!("stream {name}: {e}"))),
            },
        }
    }

    /// A stream's identity: the hex SHA-256 (first 16 bytes) of its first message, `None`
    /// while it holds none. Streams are never deleted from or purged, so the first message
    /// stays what it was for the life of the store, through restarts of any kind; a stream
    /// of the same name in another store (or recreated) starts with another commit. (The
    /// stream's `created` time is no identity: nats-server 2.9 does not keep it across an
    /// unclean restart.)
    pub async fn stream_identity(&self, name: &str) -> Result<Option<String>, KernelError> {
        let stream = self.stream(name).await?;
        match self.bounded(stream.get_raw_message(1)).await? {
            Ok(message) => Ok(Some(hex::encode(&payload_hash(&message.payload)[..16]))),
            Err(e) if matches!(e.kind(), LastRawMessageErrorKind::NoMessageFound) => Ok(None),
            Err(e) => Err(KernelError::Unavailable(format!(
                "reading the first message of {name}: {e}"
            ))),
        }
    }

    /// A handle on a stream, without a round trip.
    pub async fn stream(&self, name: &str) -> Result<jetstream::stream::Stream<()>, KernelError> {
        self.bounded(self.js.get_stream_no_info(name))
            .await?
            .map_err(|e| KernelError::Unavailable(format!("stream {name}: {e}")))
    }

    /// Runs a NATS request with the configured upper bound.
    pub(crate) async fn bounded<T>(
        &self,
        request: impl Future<Output = T>,
    ) -> Result<T, KernelError> {
        within(self.config.request_timeout, request).await
    }
}

/// The servers of `urls`, a comma-separated list (`nats://a:4222,nats://b:4222`): the
/// client connects to one and fails over to the others.
fn server_addrs(urls: &str) -> Result<Vec<async_nats::ServerAddr>, KernelError> {
    urls.split(',')
        .map(str::trim)
        .filter(|url| !url.is_empty())
        .map(|url| {
            url.parse()
                .map_err(|e| KernelError::Unavailable(format!("NATS address {url:?}: {e}")))
        })
        .collect()
}

/// Connect options with the TLS and credentials of `connection`.
async fn connect_options(
    connection: &NatsConnection,
) -> Result<async_nats::ConnectOptions, KernelError> {
    let unreadable =
        |what: &str, e: std::io::Error| KernelError::Unavailable(format!("NATS {what}: {e}"));
    let mut options = match &connection.creds_file {
        Some(path) => async_nats::ConnectOptions::with_credentials_file(path.clone())
            .await
            .map_err(|e| unreadable(&format!("credentials {}", path.display()), e))?,
        None => async_nats::ConnectOptions::new(),
    };
    if let Some(path) = &connection.nkey_file {
        let seed = std::fs::read_to_string(path)
            .map_err(|e| unreadable(&format!("nkey {}", path.display()), e))?;
        options = options.nkey(seed.trim().to_owned());
    }
    if let Some(ca) = &connection.ca_file {
        options = options.add_root_certificates(ca.clone()).require_tls(true);
    }
    if let Some((cert, key)) = &connection.client_cert {
        options = options
            .add_client_certificate(cert.clone(), key.clone())
            .require_tls(true);
    }
    Ok(options)
}

/// `request`, or UNAVAILABLE when NATS does not answer within `timeout`.
pub(crate) async fn within<T>(
    timeout: Duration,
    request: impl Future<Output = T>,
) -> Result<T, KernelError> {
    tokio::time::timeout(timeout, request)
        .await
        .map_err(|_| KernelError::Unavailable(format!("NATS did not answer within {timeout:?}")))
}
