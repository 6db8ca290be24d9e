//! A tally aggregate whose commands are valid in any order, and a harness around a fresh
//! nats-server per test.

use std::time::Duration;

use tillit_kernel::{AggregateType, ids::AggregateId};
use tillit_kernel::{
    BoundedContext, Clock, CommandMeta, CommandRequest, Decider, EventPayload, EventStore,
    KernelError, Runner, StoreConfig, Target, TenantId,
};
use tillit_proto::common::Actor;
use tillit_proto::kernel::Event;
use tillit_testkit::NatsServer;

/// The context the tests write to.
pub const CONTEXT: BoundedContext = BoundedContext::new("kerneltest");

/// A tally: `Add` is valid in any state, `Open` only once.
pub struct Tally;

/// What a tally knows.
#[derive(Default, Debug)]
pub struct TallyState {
    pub opened: bool,
    pub total: u64,
}

#[derive(Clone, Debug)]
pub enum TallyCommand {
    Open,
    Add(u64),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TallyEvent {
    Opened,
    Added(u64),
}

#[derive(Debug, thiserror::Error)]
pub enum TallyError {
    #[error("the tally is already open")]
    AlreadyOpen,
}

impl tillit_kernel::CommandRefusal for TallyError {}

impl Decider for Tally {
    const TYPE: AggregateType = AggregateType::new("tally");
    type State = TallyState;
    type Command = TallyCommand;
    type Event = TallyEvent;
    type Error = TallyError;

    fn decide(
        state: &TallyState,
        command: TallyCommand,
        _now: time::OffsetDateTime,
    ) -> Result<Vec<TallyEvent>, TallyError> {
        match command {
            TallyCommand::Open if state.opened => Err(TallyError::AlreadyOpen),
            TallyCommand::Open => Ok(vec![TallyEvent::Opened]),
            TallyCommand::Add(n) => Ok(vec![TallyEvent::Added(n)]),
        }
    }

    fn evolve(state: TallyState, event: &TallyEvent) -> TallyState {
        match event {
            TallyEvent::Opened => TallyState {
                opened: true,
                ..state
            },
            TallyEvent::Added(n) => TallyState {
                total: state.total + n,
                ..state
            },
        }
    }
}

impl EventPayload for TallyEvent {
    fn to_event(&self) -> Event {
        let (r#type, payload) = match self {
            Self::Opened => ("test.v1.Opened", Vec::new()),
            Self::Added(n) => ("test.v1.Added", n.to_be_bytes().to_vec()),
        };
        Event {
            r#type: r#type.into(),
            schema_version: 1,
            payload,
        }
    }

    fn from_event(event: &Event) -> Result<Self, KernelError> {
        match event.r#type.as_str() {
            "test.v1.Opened" => Ok(Self::Opened),
            "test.v1.Added" => {
                let bytes: [u8; 8] = event
                    .payload
                    .as_slice()
                    .try_into()
                    .map_err(|_| KernelError::Corrupt("Added payload".into()))?;
                Ok(Self::Added(u64::from_be_bytes(bytes)))
            }
            other => Err(KernelError::Corrupt(format!("unknown event {other}"))),
        }
    }
}

/// A nats-server of its own, a provisioned stream, and a store on it.
pub struct Harness {
    pub nats: NatsServer,
    pub store: EventStore,
}

impl Harness {
    /// Default store settings, a short request timeout so outage tests stay quick.
    pub async fn start() -> Self {
        Self::with_config(test_config(), Clock::system()).await
    }

    /// Custom store settings and clock.
    pub async fn with_config(config: StoreConfig, clock: Clock) -> Self {
        tillit_testkit::init_logging();
        let nats = NatsServer::start();
        let store = EventStore::connect(&nats.url(), config, clock)
            .await
            .expect("connecting to the test server");
        store
            .provision(CONTEXT)
            .await
            .expect("provisioning the stream");
        Self { nats, store }
    }

    /// How many commits the test stream holds, read from the server.
    pub async fn commit_count(&self) -> u64 {
        let mut stream = self
            .store
            .jetstream()
            .get_stream(CONTEXT.stream())
            .await
            .expect("the test stream");
        stream.info().await.expect("stream info").state.messages
    }

    pub fn tallies(&self) -> Runner<Tally> {
        Runner::new(self.store.clone(), CONTEXT)
    }
}

pub fn test_config() -> StoreConfig {
    StoreConfig {
        request_timeout: Duration::from_secs(2),
        ..StoreConfig::default()
    }
}

pub fn tenant(slug: &str) -> TenantId {
    TenantId::parse(slug, "tenant").expect("a valid slug")
}

pub fn id(value: &str) -> AggregateId {
    AggregateId::parse(value, "id").expect("a valid id")
}

/// A command request by a test user.
pub fn request(
    tenant_slug: &str,
    target: Target,
    command: TallyCommand,
    key: Option<&str>,
) -> CommandRequest<TallyCommand> {
    CommandRequest {
        tenant: tenant(tenant_slug),
        target,
        name: format!("test.v1.{command:?}"),
        command,
        meta: CommandMeta {
            actor: Actor {
                subject: "user-1".into(),
                tenant: tenant_slug.into(),
                roles: vec!["employee".into()],
                on_behalf_of: String::new(),
            },
            idempotency_key: key.map(str::to_owned),
            correlation_id: "corr-1".into(),
            causation_id: String::new(),
        },
    }
}
