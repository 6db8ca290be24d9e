//! Deciders and the runner that executes commands against them.
//!
//! A decider is pure: `decide(&State, Command, now)` answers the events a command produces
//! (or a domain error) and `evolve(State, &Event)` folds one event into the state. The
//! runner is the shell around it, written once: load the aggregate's commits, fold them,
//! decide, append with the subject's last sequence as the expected one, and on a lost race
//! load and decide again (bounded, with jitter). Idempotency keys are honoured twice over:
//! JetStream's dedupe window catches a quick retry, and the key stored in each commit
//! catches a retry that comes after the window has passed.

use std::marker::PhantomData;
use std::time::Duration;

use prost::Message as _;
use tillit_proto::common::{ConsistencyToken, Position};
use tillit_proto::kernel::{Commit, Event};
use time::OffsetDateTime;

use crate::clock::to_timestamp;
use crate::envelope::{CommandMeta, History, StoredCommit, message_id, token};
use crate::error::{AppendError, KernelError};
use crate::ids::{AggregateAddress, AggregateId, AggregateType, BoundedContext, TenantId};
use crate::store::EventStore;
use crate::telemetry::{CommandOutcome, CommandRefusal};
use tracing::Instrument as _;

/// A domain event that travels inside a commit as a typed, versioned payload.
pub trait EventPayload: Sized {
    /// Encodes the event with its fully qualified type name and schema version.
    fn to_event(&self) -> Event;
    /// Decodes a stored event; an unknown type or bad payload is [`KernelError::Corrupt`].
    fn from_event(event: &Event) -> Result<Self, KernelError>;
}

/// An aggregate's pure business rules.
pub trait Decider: Send + Sync + 'static {
    /// The aggregate type, part of every subject.
    const TYPE: AggregateType;
    /// What the rules need to know about the past.
    type State: Default + Send;
    /// What a caller asks for.
    type Command: Clone + Send + Sync;
    /// What happened.
    type Event: EventPayload + Clone + Send + Sync;
    /// Why a command is refused (bad input or the state: [`CommandRefusal`]).
    type Error: std::error::Error + CommandRefusal + Send + Sync + 'static;

    /// The events `command` produces in `state` at time `now`, or why it is refused.
    fn decide(
        state: &Self::State,
        command: Self::Command,
        now: OffsetDateTime,
    ) -> Result<Vec<Self::Event>, Self::Error>;

    /// The state after `event`.
    fn evolve(state: Self::State, event: &Self::Event) -> Self::State;
}

/// Which aggregate a command addresses.
#[derive(Clone, Debug)]
pub enum Target {
    /// An aggregate that must exist; a missing one is NOT_FOUND.
    Existing(AggregateId),
    /// A new aggregate: its id derives from the idempotency key when there is one (so a
    /// retried create lands on the same subject), else a fresh UUIDv7.
    New,
    /// The aggregate at a known id, existing or not (ids derived from a natural key).
    At(AggregateId),
}

/// A command on its way to a decider, with the envelope data of the commit it may produce.
#[derive(Clone, Debug)]
pub struct CommandRequest<C> {
    /// The tenant that owns the aggregate.
    pub tenant: TenantId,
    /// Which aggregate.
    pub target: Target,
    /// The fully qualified command name recorded in the commit.
    pub name: String,
    /// The command itself.
    pub command: C,
    /// Actor, idempotency key, correlation.
    pub meta: CommandMeta,
}

/// What an executed command produced, with the aggregate's state after it, so a handler
/// answers from the decider's own fold instead of re-reading a projection.
#[derive(Clone, Debug)]
pub struct Executed<E, S> {
    /// The aggregate it addressed.
    pub address: AggregateAddress,
    /// The aggregate's version after it.
    pub version: u64,
    /// Where its commit is; `None` when the decider produced no events and nothing was written.
    pub position: Option<Position>,
    /// The events it produced.
    pub events: Vec<E>,
    /// True when this is the stored answer of an earlier run with the same idempotency key.
    pub replayed: bool,
    /// The aggregate's state after the command: for a replay, after the stored commit.
    pub state: S,
}

impl<E, S> Executed<E, S> {
    /// The consistency token of the answer (empty when nothing was written).
    pub fn consistency(&self) -> ConsistencyToken {
        self.position.clone().map(token).unwrap_or_default()
    }
}

/// Why a command was not executed.
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError<E> {
    /// The decider refused it.
    #[error(transparent)]
    Domain(E),
    /// The kernel could not run it.
    #[error(transparent)]
    Kernel(#[from] KernelError),
}

/// Executes commands of one decider in one bounded context.
pub struct Runner<D> {
    store: EventStore,
    context: BoundedContext,
    decider: PhantomData<fn() -> D>,
}

impl<D> Clone for Runner<D> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            context: self.context,
            decider: PhantomData,
        }
    }
}

impl<D: Decider> Runner<D> {
    /// A runner writing to `context`'s stream.
    pub fn new(store: EventStore, context: BoundedContext) -> Self {
        Self {
            store,
            context,
            decider: PhantomData,
        }
    }

    /// The address of aggregate `id` of this decider's type.
    pub fn address(&self, tenant: &TenantId, id: AggregateId) -> AggregateAddress {
        AggregateAddress {
            context: self.context,
            tenant: tenant.clone(),
            aggregate_type: D::TYPE,
            id,
        }
    }

    /// Loads an aggregate and folds its events: the state a command would be decided on.
    pub async fn load(
        &self,
        address: &AggregateAddress,
    ) -> Result<(D::State, History), KernelError> {
        let history = self.store.load(address).await?;
        Ok((fold::<D>(&history.commits)?, history))
    }

    /// Load, decide, append; retried on a lost race, answered from the log for a key it
    /// has already seen. Runs in a `command` span (the attempts it took, its outcome) and
    /// counts into `tillit_commands_total`.
    pub async fn execute(
        &self,
        request: CommandRequest<D::Command>,
    ) -> Result<Executed<D::Event, D::State>, ExecuteError<D::Error>> {
        let span = tracing::info_span!(
            "command",
            otel.name = %request.name,
            tillit.aggregate = D::TYPE.as_str(),
            tillit.tenant = request.tenant.as_str(),
            tillit.attempts = tracing::field::Empty,
            tillit.outcome = tracing::field::Empty,
        );
        let mut attempts = 0;
        let result = self
            .attempt(request, &mut attempts)
            .instrument(span.clone())
            .await;
        let outcome = match &result {
            Ok(executed) if executed.replayed => CommandOutcome::Replayed,
            Ok(_) if attempts > 1 => CommandOutcome::Retried,
            Ok(_) => CommandOutcome::Ok,
            Err(ExecuteError::Domain(error)) if error.is_invalid() => CommandOutcome::Invalid,
            Err(ExecuteError::Domain(_)) => CommandOutcome::Refused,
            Err(ExecuteError::Kernel(KernelError::Aborted { .. })) => CommandOutcome::Aborted,
            Err(ExecuteError::Kernel(_)) => CommandOutcome::Failed,
        };
        span.record("tillit.attempts", attempts);
        span.record("tillit.outcome", format!("{outcome:?}").to_lowercase());
        self.store.metrics().command(D::TYPE.as_str(), outcome);
        result
    }

    /// [`Runner::execute`]'s attempts, counted in `attempts`.
    async fn attempt(
        &self,
        request: CommandRequest<D::Command>,
        attempts: &mut u32,
    ) -> Result<Executed<D::Event, D::State>, ExecuteError<D::Error>> {
        let key = request.meta.idempotency_key.as_deref();
        let scoped = request.meta.scoped_key();
        let caller = request.meta.actor.subject.as_str();
        let id = match &request.target {
            Target::Existing(id) | Target::At(id) => id.clone(),
            Target::New => scoped.as_deref().map_or_else(AggregateId::generate, |key| {
                AggregateId::from_idempotency_key(&request.tenant, key)
            }),
        };
        let address = self.address(&request.tenant, id);
        let subject = address.subject();
        // One message id for every attempt of this execution: when an attempt's outcome
        // was unknown, the next one with the same id cannot store it twice.
        let msg_id = match &scoped {
            Some(key) => message_id(&request.tenant, &subject, key),
            None => uuid::Uuid::now_v7().to_string(),
        };
        let max_attempts = self.store.config().max_attempts.max(1);

        for attempt in 1..=max_attempts {
            *attempts = attempt;
            let (state, history) = self.load(&address).await?;
            if let Some(stored) = key.and_then(|key| history.find_idempotency_key(key, caller)) {
                return Ok(replay::<D>(&history, stored)?);
            }
            if history.commits.is_empty() && matches!(request.target, Target::Existing(_)) {
                return Err(
                    KernelError::NotFound(format!("{} {}", D::TYPE.as_str(), address.id)).into(),
                );
            }
            let now = self.store.clock().now();
            let events = tracing::info_span!("decide", tillit.attempt = attempt)
                .in_scope(|| D::decide(&state, request.command.clone(), now))
                .map_err(ExecuteError::Domain)?;
            if events.is_empty() {
                return Ok(Executed {
                    version: history.version(),
                    position: history.commits.last().map(|c| history.position(c)),
                    address,
                    events,
                    replayed: false,
                    state,
                });
            }
            let mut commit = Commit {
                commit_id: uuid::Uuid::now_v7().to_string(),
                idempotency_key: key.unwrap_or_default().to_owned(),
                tenant: request.tenant.as_str().to_owned(),
                aggregate_type: D::TYPE.as_str().to_owned(),
                aggregate_id: address.id.as_str().to_owned(),
                aggregate_version: history.version() + 1,
                actor: Some(request.meta.actor.clone()),
                recorded_at: Some(to_timestamp(now)),
                command: request.name.clone(),
                correlation_id: request.meta.correlation_id.clone(),
                causation_id: request.meta.causation_id.clone(),
                prev_hash: history.last_hash(),
                events: events.iter().map(EventPayload::to_event).collect(),
            };
            self.store.seal(&history.stream, &mut commit).await?;
            let payload = commit.encode_to_vec().into();
            match self
                .store
                .append(&subject, payload, history.last_sequence(), Some(&msg_id))
                .instrument(tracing::info_span!(
                    "append",
                    otel.kind = "producer",
                    messaging.system = "nats",
                    messaging.destination.name = %subject,
                    tillit.attempt = attempt,
                ))
                .await
            {
                Ok(sequence) => {
                    return Ok(Executed {
                        position: Some(Position {
                            stream: history.stream.clone(),
                            sequence,
                        }),
                        version: commit.aggregate_version,
                        address,
                        state: events.iter().fold(state, D::evolve),
                        events,
                        replayed: false,
                    });
                }
                Err(AppendError::Conflict) => {
                    self.store.metrics().conflict(D::TYPE.as_str());
                    tracing::debug!(%subject, attempt, "concurrent modification, deciding again");
                    tokio::time::sleep(backoff(attempt)).await;
                }
                Err(AppendError::Duplicate { sequence }) => {
                    let history = self.store.load(&address).await?;
                    let stored = history.find_sequence(sequence).ok_or_else(|| {
                        KernelError::Corrupt(format!(
                            "message id of {subject} names sequence {sequence} of another subject"
                        ))
                    })?;
                    return Ok(replay::<D>(&history, stored)?);
                }
                Err(error) => return Err(KernelError::from(error).into()),
            }
        }
        Err(KernelError::Aborted {
            attempts: max_attempts,
        }
        .into())
    }
}

/// The stored answer of a command that already ran, with the state its commit left.
fn replay<D: Decider>(
    history: &History,
    stored: &StoredCommit,
) -> Result<Executed<D::Event, D::State>, KernelError> {
    let upto = history
        .commits
        .iter()
        .take_while(|c| c.sequence <= stored.sequence)
        .count();
    let state = fold::<D>(&history.commits[..upto])?;
    Ok(Executed {
        address: history.address.clone(),
        version: stored.commit.aggregate_version,
        position: Some(history.position(stored)),
        events: decode_events(stored)?,
        replayed: true,
        state,
    })
}

/// The state `commits` fold to, from the default.
fn fold<D: Decider>(commits: &[StoredCommit]) -> Result<D::State, KernelError> {
    let mut state = D::State::default();
    for stored in commits {
        for event in decode_events::<D::Event>(stored)? {
            state = D::evolve(state, &event);
        }
    }
    Ok(state)
}

fn decode_events<E: EventPayload>(stored: &StoredCommit) -> Result<Vec<E>, KernelError> {
    stored.commit.events.iter().map(E::from_event).collect()
}

/// Random sleep before retry `attempt`, growing to at most ~64 ms, so racing writers spread out.
fn backoff(attempt: u32) -> Duration {
    let ceiling_ms = 1u64 << attempt.min(6);
    Duration::from_micros(fastrand::u64(0..=ceiling_ms * 1_000))
}

/// Encodes a protobuf event payload under its fully qualified type name.
pub fn encode_event<M: prost::Name>(message: &M, schema_version: u32) -> Event {
    Event {
        r#type: M::full_name(),
        schema_version,
        payload: message.encode_to_vec(),
    }
}

/// Decodes an event payload of type `M`; a bad payload is [`KernelError::Corrupt`].
pub fn decode_event<M: prost::Name + Default>(event: &Event) -> Result<M, KernelError> {
    M::decode(event.payload.as_slice())
        .map_err(|e| KernelError::Corrupt(format!("{}: {e}", event.r#type)))
}

/// Declares an enum of protobuf event payloads and its [`EventPayload`] impl: each variant
/// is stored under its message's fully qualified name, schema version 1.
///
/// ```ignore
/// tillit_kernel::event_enum! {
///     /// Events of a user.
///     pub enum UserEvent {
///         Created(UserCreated),
///         Deactivated(UserDeactivated),
///     }
/// }
/// ```
#[macro_export]
macro_rules! event_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident($payload:ty)),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq)]
        $vis enum $name {
            $($(#[$vmeta])* $variant($payload)),+
        }

        impl $crate::EventPayload for $name {
            fn to_event(&self) -> $crate::reexports::Event {
                match self {
                    $(Self::$variant(payload) => $crate::decider::encode_event(payload, 1)),+
                }
            }

            fn from_event(event: &$crate::reexports::Event) -> Result<Self, $crate::KernelError> {
                $(
                    if event.r#type == <$payload as $crate::reexports::prost::Name>::full_name() {
                        return $crate::decider::decode_event::<$payload>(event).map(Self::$variant);
                    }
                )+
                Err($crate::KernelError::Corrupt(format!(
                    "{} is not an event of {}",
                    event.r#type,
                    stringify!($name)
                )))
            }
        }
    };
}
