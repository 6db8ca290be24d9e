//! (f) personal data: the cost of sealing. Commands whose event carries an e-mail address
//! and a name, sealed under the subject's key, against the same command whose event holds
//! the same bytes under a type with no personal fields; and a projection rebuild of sealed
//! commits (each value's place checked) against the same commits unsealed.

use std::time::Duration;

use prost::Message as _;
use tillit_kernel::personal::PersonalDataSecret;
use tillit_kernel::{
    AggregateType, BoundedContext, CommandMeta, CommandRequest, Decider, EventPayload, EventStore,
    KernelError, Runner, Target, TenantId,
};
use tillit_proto::identity::UserCreated;
use tillit_proto::kernel::Event;

use crate::{CONCURRENCY, Row, sample_commit, timed};

const COMMANDS: usize = 8_000;
const SUBJECTS: usize = 100;
const REBUILD: u64 = 100_000;

/// The event of both deciders: a user's address and name, for subject `n`.
fn person(n: usize) -> UserCreated {
    UserCreated {
        user_id: format!("bench-subject-{}", n % SUBJECTS),
        tenant_id: "acme".into(),
        email: format!("person.{n}@customer.example"),
        display_name: format!("Person Number {n}"),
        roles: vec!["employee".into()],
        email_lookup: String::new(),
    }
}

#[derive(Clone, Debug)]
struct Personal(UserCreated);

impl EventPayload for Personal {
    fn to_event(&self) -> Event {
        tillit_kernel::decider::encode_event(&self.0, 1)
    }
    fn from_event(event: &Event) -> Result<Self, KernelError> {
        tillit_kernel::decider::decode_event(event).map(Self)
    }
}

/// The same bytes under a type the codec has no plan for.
#[derive(Clone, Debug)]
struct Plain(UserCreated);

impl EventPayload for Plain {
    fn to_event(&self) -> Event {
        Event {
            r#type: "tillit.bench.v1.Plain".into(),
            schema_version: 1,
            payload: self.0.encode_to_vec(),
        }
    }
    fn from_event(event: &Event) -> Result<Self, KernelError> {
        UserCreated::decode(event.payload.as_slice())
            .map(Self)
            .map_err(|e| KernelError::Corrupt(e.to_string()))
    }
}

macro_rules! recorder {
    ($name:ident, $event:ident, $type:literal) => {
        struct $name;
        impl Decider for $name {
            const TYPE: AggregateType = AggregateType::new($type);
            type State = ();
            type Command = usize;
            type Event = $event;
            type Error = std::convert::Infallible;
            fn decide(
                _: &(),
                n: usize,
                _: tillit_kernel::clock::OffsetDateTime,
            ) -> Result<Vec<$event>, Self::Error> {
                Ok(vec![$event(person(n))])
            }
            fn evolve(state: (), _: &$event) {
                state
            }
        }
    };
}
recorder!(SealedRecorder, Personal, "person");
recorder!(PlainRecorder, Plain, "plain");

fn request(n: usize) -> CommandRequest<usize> {
    CommandRequest {
        tenant: TenantId::parse("acme", "tenant").expect("a valid slug"),
        target: Target::New,
        name: "tillit.bench.v1.Record".into(),
        command: n,
        meta: CommandMeta::system("bench"),
    }
}

/// Both rows of (f).
pub(crate) async fn measure(store: &EventStore) -> Result<Vec<Row>, Box<dyn std::error::Error>> {
    let store = store
        .clone()
        .with_personal_data(PersonalDataSecret::from_bytes([42; 32]));
    store.provision_keys().await?;
    let context = BoundedContext::new("benchsealing");
    store.provision(context).await?;
    let per_writer = COMMANDS / CONCURRENCY;

    let sealed = commands(
        Runner::<SealedRecorder>::new(store.clone(), context),
        per_writer,
    )
    .await?;
    let plain = commands(
        Runner::<PlainRecorder>::new(store.clone(), context),
        per_writer,
    )
    .await?;
    let rate = |elapsed: Duration| COMMANDS as f64 / elapsed.as_secs_f64();
    let commands = Row {
        label: format!(
            "(f) command with 2 personal values, {COMMANDS} commands, {SUBJECTS} data subjects, {CONCURRENCY} writers"
        ),
        baseline: format!("same bytes unsealed {:.0} commands/s", rate(plain)),
        measured: format!("sealed {:.0} commands/s", rate(sealed)),
        ratio: rate(sealed) / rate(plain),
    };

    let sealed_stream = fill(&store, "benchsealed", true).await?;
    let plain_stream = fill(&store, "benchplain", false).await?;
    let plain_rebuild = rebuild(&store, plain_stream).await?;
    let sealed_rebuild = rebuild(&store, sealed_stream).await?;
    let rate = |elapsed: Duration| REBUILD as f64 / elapsed.as_secs_f64();
    let rebuilds = Row {
        label: format!("(f) projection rebuild of {REBUILD} commits with 2 personal values each"),
        baseline: format!("unsealed {:.0} events/s", rate(plain_rebuild)),
        measured: format!(
            "sealed, places checked {:.0} events/s",
            rate(sealed_rebuild)
        ),
        ratio: rate(sealed_rebuild) / rate(plain_rebuild),
    };
    Ok(vec![commands, rebuilds])
}

/// The wall time of `per_writer` commands from each of the concurrent writers.
async fn commands<D>(
    runner: Runner<D>,
    per_writer: usize,
) -> Result<Duration, Box<dyn std::error::Error>>
where
    D: Decider<Command = usize>,
{
    timed(|writer| {
        let runner = runner.clone();
        async move {
            for i in 0..per_writer {
                runner
                    .execute(request(writer * per_writer + i))
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        }
    })
    .await
}

/// A stream of `REBUILD` commits whose event is [`person`], sealed or under the plain type;
/// answers (stream, last sequence).
async fn fill(
    store: &EventStore,
    context: &'static str,
    sealed: bool,
) -> Result<(String, u64), Box<dyn std::error::Error>> {
    let context = BoundedContext::new(context);
    store.provision(context).await?;
    let stream = context.stream();
    let js = store.jetstream();
    let mut acks = Vec::with_capacity(1_000);
    let mut last = 0;
    for n in 1..=REBUILD {
        let id = format!("a{}", n % 2_000);
        let mut commit = sample_commit(&id, n / 2_000 + 1, Vec::new());
        let event = person(n as usize);
        commit.events = vec![if sealed {
            Personal(event).to_event()
        } else {
            Plain(event).to_event()
        }];
        store.seal(&stream, &mut commit).await?;
        let subject = format!("tillit.{}.acme.row.{id}", context.name());
        acks.push(js.publish(subject, commit.encode_to_vec().into()).await?);
        if acks.len() == 1_000 {
            for ack in acks.drain(..) {
                last = ack.await?.sequence;
            }
        }
    }
    for ack in acks.drain(..) {
        last = ack.await?.sequence;
    }
    Ok((stream, last))
}

async fn rebuild(
    store: &EventStore,
    (stream, last): (String, u64),
) -> Result<Duration, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    crate::time_rebuild(store, &dir.path().join("projection.redb"), stream, last).await
}
