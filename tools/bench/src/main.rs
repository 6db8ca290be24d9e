//! `just bench`: measures the kernel against the raw parts it is built on, in one run on
//! one machine, and prints ratios. It never fails on a number: this machine is shared and
//! noisy, so only ratios within one run mean anything.
//!
//! (a) appends: raw JetStream publish-and-ack vs `EventStore::append` (expected subject
//!     sequence + message id) vs `Runner::execute` (load + decide + append), same payload
//!     size and concurrency.
//! (b) projections: raw redb inserts of the rows, batched like the runner batches, vs a
//!     projection rebuild of the same rows from a stream of 200 000 commits.
//! (c) the audit export: identity and reporting run in-process; peak resident memory while
//!     streaming the CSV of 10 000 and of 50 000 entries against the peak while serving one
//!     `QueryAudit` page of 500 (flat memory: ratios near 1), and entries per second of the
//!     export against paging through the same entries with `QueryAudit`.
//! (d) a small list at one client: `ListIncidents` (page of 10) p50 against a health
//!     check's on the same server (TCP_NODELAY keeps it near the listing's own cost).
//! (e) failed logins at the production argon2 cost: unknown e-mail against wrong password
//!     (near 1: the time tells nothing about whether an account exists).
//! (f) personal data: commands whose event carries two personal values, sealed, against
//!     the same bytes unsealed; a rebuild of sealed commits against the same unsealed.
//! (g) the portal's incident list page and incident page with 1 000 incidents, median at
//!     one signed-in client, against the gRPC calls they make.
//! (h) the portal's asset list with 10 000 assets and its audit search with 100 000 audit
//!     entries, the same way.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use bytes::Bytes;
use prost::Message as _;
use redb::{Database, TableDefinition, WriteTransaction};
use tillit_kernel::{
    AggregateType, BoundedContext, Clock, CommandMeta, CommandRequest, Decider, EventPayload,
    EventStore, KernelError, Projection, ProjectionConfig, ProjectionRunner, Runner, StoreConfig,
    Target, TenantId,
};
use tillit_proto::common::{ConsistencyToken, Position};
use tillit_proto::kernel::{Commit, Event};
use tillit_testkit::NatsServer;

mod export;
mod latency;
mod portal;
mod register;
mod sealing;
mod services;

pub(crate) const CONCURRENCY: usize = 16;
const APPENDS: usize = 16_000;
const REBUILD_COMMITS: u64 = 200_000;
const AGGREGATES: u64 = 2_000;
const BATCH: usize = 500;
const ROWS: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("bench_rows");

pub(crate) struct Row {
    pub(crate) label: String,
    pub(crate) baseline: String,
    pub(crate) measured: String,
    pub(crate) ratio: f64,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let nats = NatsServer::start();
    let store = EventStore::connect(&nats.url(), StoreConfig::default(), Clock::system()).await?;
    let mut rows = Vec::new();
    // `just bench` runs every measurement; `just bench g h` only those named.
    let only: Vec<String> = std::env::args().skip(1).collect();
    let run = |letter: &str| only.is_empty() || only.iter().any(|o| o == letter);

    let payload = sample_commit("bench", 1, Vec::new()).encode_to_vec();
    if run("a") {
        rows.extend(appends(&store, &payload).await?);
    }
    if run("b") {
        rows.push(rebuild(&store).await?);
    }
    if run("c") {
        rows.extend(export::measure(&nats, &store).await?);
    }
    if run("d") {
        rows.push(latency::measure(&nats).await?);
    }
    if run("e") {
        rows.push(latency::logins().await?);
    }
    if run("f") {
        rows.extend(sealing::measure(&store).await?);
    }
    if run("g") {
        rows.extend(portal::measure().await?);
    }
    if run("h") {
        rows.extend(register::measure().await?);
    }

    println!();
    println!("Tillit benchmarks (release build; ratio = kernel / baseline, same run)");
    println!();
    println!("| measurement | baseline | kernel | ratio |");
    println!("|---|---|---|---|");
    for row in rows {
        println!(
            "| {} | {} | {} | {:.2} |",
            row.label, row.baseline, row.measured, row.ratio
        );
    }
    println!();
    println!("peak resident memory of this process: {}", peak_rss());
    Ok(())
}

/// (a): the same payload appended by 16 concurrent writers, each on its own subject.
async fn appends(
    store: &EventStore,
    payload: &[u8],
) -> Result<Vec<Row>, Box<dyn std::error::Error>> {
    let raw_context = BoundedContext::new("benchraw");
    let kernel_context = BoundedContext::new("benchkernel");
    let runner_context = BoundedContext::new("benchrunner");
    for context in [raw_context, kernel_context, runner_context] {
        store.provision(context).await?;
    }
    let payload = Bytes::copy_from_slice(payload);
    let per_writer = APPENDS / CONCURRENCY;

    let js = store.jetstream().clone();
    let raw = timed(|writer| {
        let js = js.clone();
        let payload = payload.clone();
        async move {
            let subject = format!("tillit.benchraw.acme.tally.w{writer}");
            for _ in 0..per_writer {
                js.publish(subject.clone(), payload.clone()).await?.await?;
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        }
    })
    .await?;

    let kernel = timed(|writer| {
        let store = store.clone();
        let payload = payload.clone();
        async move {
            let subject = format!("tillit.benchkernel.acme.tally.w{writer}");
            let mut expected = 0;
            for n in 0..per_writer {
                let id = format!("w{writer}-{n}");
                expected = store
                    .append(&subject, payload.clone(), expected, Some(&id))
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        }
    })
    .await?;

    let runner = Runner::<Counter>::new(store.clone(), runner_context);
    let execute = timed(|_| {
        let runner = runner.clone();
        async move {
            for _ in 0..per_writer {
                runner
                    .execute(counter_request())
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        }
    })
    .await?;

    let total = (per_writer * CONCURRENCY) as f64;
    let rate = |elapsed: Duration| total / elapsed.as_secs_f64();
    let label = |what: &str| {
        format!(
            "(a) {what}: {} commits of {} B, {CONCURRENCY} concurrent writers",
            per_writer * CONCURRENCY,
            payload.len()
        )
    };
    Ok(vec![
        Row {
            label: label("append"),
            baseline: format!("raw publish+ack {:.0} commits/s", rate(raw)),
            measured: format!("EventStore::append {:.0} commits/s", rate(kernel)),
            ratio: rate(kernel) / rate(raw),
        },
        Row {
            label: label("command"),
            baseline: format!("raw publish+ack {:.0} commits/s", rate(raw)),
            measured: format!(
                "Runner::execute (new aggregate) {:.0} commits/s",
                rate(execute)
            ),
            ratio: rate(execute) / rate(raw),
        },
    ])
}

/// Runs `CONCURRENCY` writers and answers the wall time until all are done.
pub(crate) async fn timed<F, Fut>(writer: F) -> Result<Duration, Box<dyn std::error::Error>>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<(), Box<dyn std::error::Error + Send + Sync>>> + Send + 'static,
{
    let started = Instant::now();
    let tasks: Vec<_> = (0..CONCURRENCY).map(|w| tokio::spawn(writer(w))).collect();
    for task in tasks {
        task.await?.map_err(|e| e.to_string())?;
    }
    Ok(started.elapsed())
}

/// (b): a projection rebuild of 200 000 commits vs inserting the same rows into redb directly.
async fn rebuild(store: &EventStore) -> Result<Row, Box<dyn std::error::Error>> {
    let context = BoundedContext::new("benchproj");
    store.provision(context).await?;
    let stream = context.stream();
    let last = fill_stream(store.jetstream(), &stream).await?;

    // The rows the projection will write, prepared in memory for the baseline.
    let rows: Vec<(String, u64, Vec<u8>)> = (1..=REBUILD_COMMITS)
        .map(|n| {
            let (subject, version) = slot(n);
            let commit = sample_commit(&subject, version, Vec::new());
            (
                commit.aggregate_id.clone(),
                version,
                commit.events[0].payload.clone(),
            )
        })
        .collect();
    let dir = tempfile::tempdir()?;
    let raw_path = dir.path().join("raw.redb");
    let raw = tokio::task::spawn_blocking(move || -> Result<Duration, redb::Error> {
        let db = Database::create(raw_path)?;
        let started = Instant::now();
        for chunk in rows.chunks(BATCH) {
            let tx = db.begin_write()?;
            {
                let mut table = tx.open_table(ROWS)?;
                for (id, version, payload) in chunk {
                    table.insert((id.as_str(), *version), payload.as_slice())?;
                }
            }
            tx.commit()?;
        }
        Ok(started.elapsed())
    })
    .await??;

    let rebuilt = time_rebuild(store, &dir.path().join("projection.redb"), stream, last).await?;

    let rate = |elapsed: Duration| REBUILD_COMMITS as f64 / elapsed.as_secs_f64();
    Ok(Row {
        label: format!(
            "(b) projection: {REBUILD_COMMITS} commits, one row each, batches of {BATCH}"
        ),
        baseline: format!("raw redb insert {:.0} events/s", rate(raw)),
        measured: format!("rebuild from the stream {:.0} events/s", rate(rebuilt)),
        ratio: rate(rebuilt) / rate(raw),
    })
}

/// How long a [`RowPerCommit`] projection in a new file at `path` takes to apply `stream`
/// up to `last`.
pub(crate) async fn time_rebuild(
    store: &EventStore,
    path: &std::path::Path,
    stream: String,
    last: u64,
) -> Result<Duration, Box<dyn std::error::Error>> {
    let started = Instant::now();
    let projections: Vec<Arc<dyn Projection>> = vec![Arc::new(RowPerCommit {
        stream: stream.clone(),
    })];
    let runner = ProjectionRunner::start(
        path,
        store.clone(),
        projections,
        ProjectionConfig::default(),
    )
    .await?;
    let token = ConsistencyToken {
        positions: vec![Position {
            stream,
            sequence: last,
        }],
    };
    runner.wait_for(&token, Duration::from_secs(600)).await?;
    let rebuilt = started.elapsed();
    runner.shutdown().await;
    Ok(rebuilt)
}

/// Which aggregate and version commit `n` (1-based) is.
fn slot(n: u64) -> (String, u64) {
    (
        format!("a{}", (n - 1) % AGGREGATES),
        (n - 1) / AGGREGATES + 1,
    )
}

/// Publishes 200 000 chained commits, pipelining acknowledgements; answers the last sequence.
async fn fill_stream(
    js: &jetstream::Context,
    stream: &str,
) -> Result<u64, Box<dyn std::error::Error>> {
    let mut heads: Vec<Vec<u8>> = vec![Vec::new(); AGGREGATES as usize];
    let mut last = 0;
    let mut acks = Vec::with_capacity(1_000);
    for n in 1..=REBUILD_COMMITS {
        let (id, version) = slot(n);
        let slot_index = ((n - 1) % AGGREGATES) as usize;
        let commit = sample_commit(&id, version, std::mem::take(&mut heads[slot_index]));
        let payload = commit.encode_to_vec();
        heads[slot_index] = tillit_kernel::envelope::payload_hash(&payload).to_vec();
        let subject = format!("tillit.{}.acme.row.{id}", stream.to_ascii_lowercase());
        acks.push(js.publish(subject, payload.into()).await?);
        if acks.len() == 1_000 {
            for ack in acks.drain(..) {
                last = ack.await?.sequence;
            }
        }
    }
    for ack in acks.drain(..) {
        last = ack.await?.sequence;
    }
    Ok(last)
}

pub(crate) fn sample_commit(id: &str, version: u64, prev_hash: Vec<u8>) -> Commit {
    Commit {
        commit_id: "0192c3a0-7b7e-7c3e-8f00-0123456789ab".into(),
        idempotency_key: String::new(),
        tenant: "acme".into(),
        aggregate_type: "row".into(),
        aggregate_id: id.into(),
        aggregate_version: version,
        actor: Some(tillit_proto::common::Actor {
            subject: "0192c3a0-7b7e-7c3e-8f00-000000000001".into(),
            tenant: "acme".into(),
            roles: vec!["employee".into()],
            on_behalf_of: String::new(),
        }),
        recorded_at: Some(recorded_now()),
        command: "tillit.bench.v1.Record".into(),
        correlation_id: "0192c3a0-7b7e-7c3e-8f00-000000000002".into(),
        causation_id: String::new(),
        prev_hash,
        events: vec![Event {
            r#type: "tillit.bench.v1.Recorded".into(),
            schema_version: 1,
            payload: vec![7; 96],
        }],
    }
}

fn recorded_now() -> tillit_kernel::clock::Timestamp {
    tillit_kernel::clock::to_timestamp(Clock::system().now())
}

/// One row per commit: (aggregate id, version) -> first event's payload.
struct RowPerCommit {
    stream: String,
}

impl Projection for RowPerCommit {
    fn name(&self) -> &'static str {
        "bench_rows"
    }

    fn schema_version(&self) -> u32 {
        1
    }

    fn streams(&self) -> Vec<String> {
        vec![self.stream.clone()]
    }

    fn reset(&self, tx: &WriteTransaction) -> Result<(), KernelError> {
        tx.delete_table(ROWS)?;
        Ok(())
    }

    fn apply(
        &self,
        tx: &WriteTransaction,
        commit: &Commit,
        _: &Position,
    ) -> Result<(), KernelError> {
        let mut table = tx.open_table(ROWS)?;
        let payload = commit
            .events
            .first()
            .map_or(&[][..], |e| e.payload.as_slice());
        table.insert(
            (commit.aggregate_id.as_str(), commit.aggregate_version),
            payload,
        )?;
        Ok(())
    }
}

/// A decider whose every command adds one event: the cheapest possible domain.
struct Counter;

#[derive(Clone, Debug)]
struct Counted;

impl EventPayload for Counted {
    fn to_event(&self) -> Event {
        Event {
            r#type: "tillit.bench.v1.Counted".into(),
            schema_version: 1,
            payload: vec![7; 96],
        }
    }

    fn from_event(_: &Event) -> Result<Self, KernelError> {
        Ok(Self)
    }
}

impl Decider for Counter {
    const TYPE: AggregateType = AggregateType::new("counter");
    type State = ();
    type Command = ();
    type Event = Counted;
    type Error = std::convert::Infallible;

    fn decide(
        _: &(),
        _: (),
        _: tillit_kernel::clock::OffsetDateTime,
    ) -> Result<Vec<Counted>, Self::Error> {
        Ok(vec![Counted])
    }

    fn evolve(state: (), _: &Counted) {
        state
    }
}

fn counter_request() -> CommandRequest<()> {
    CommandRequest {
        tenant: TenantId::parse("acme", "tenant").expect("a valid slug"),
        target: Target::New,
        name: "tillit.bench.v1.Count".into(),
        command: (),
        meta: CommandMeta::system("bench"),
    }
}

/// Peak resident set size from /proc (Linux), or "unknown".
pub(crate) fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmHWM:"))
                .map(|line| line.trim_start_matches("VmHWM:").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into())
}
