//! The annual management review (R1): a report of a year computed from the event log up
//! to stated positions, reproducible byte for byte, and its sign-off by a manager.
//!
//! - [`figures`]: the figures from the read models; pure.
//! - [`render`]: canonical JSON, CSV and printable HTML.
//! - [`review`]: the sign-off aggregate; pure.
//!
//! [`report_as_of`] reads IDENTITY, ASSETS and INCIDENTS from the first commit to the given
//! positions, takes as "now" the earlier of the year's end and the newest commit read,
//! folds the commits recorded up to "now" with the owning services' own projections into a
//! scratch in-memory database, and computes the figures there. Nothing in it depends on
//! when it is asked or on this service's projection files.

pub mod figures;
pub mod render;
pub mod review;

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use prost::Message as _;
use tillit_assets_views::register::{Register, RegisterReader};
use tillit_identity_views::{
    Compliance, ComplianceReader, Directory, DirectoryReader, UserFilter, policy_coverage,
};
use tillit_incidents_views::register::{IncidentRegister, Reader as IncidentReader};
use tillit_kernel::Reason;
use tillit_kernel::clock::from_timestamp;
use tillit_kernel::verify::read_stream;
use tillit_kernel::{EventStore, KernelError, Projection};
use tillit_proto::common::Position;
use tillit_proto::kernel::Commit;
use tillit_rules::RuleSet;
use time::OffsetDateTime;

use figures::{AnnualReport, Input, annual_report, year_bounds};

/// The streams a report reads.
pub const STREAMS: [&str; 3] = ["IDENTITY", "ASSETS", "INCIDENTS"];

/// The positions to read: the given ones, every other stream to its current end.
pub async fn positions(
    store: &EventStore,
    given: &[Position],
) -> Result<Vec<Position>, KernelError> {
    let mut found = Vec::new();
    for (index, position) in given.iter().enumerate() {
        if !STREAMS.contains(&position.stream.as_str()) {
            return Err(KernelError::refused(
                &format!("as_of[{index}].stream"),
                Reason::NotOneOf,
                format!("one of {}", STREAMS.join(", ")),
            ));
        }
        if given[..index].iter().any(|p| p.stream == position.stream) {
            return Err(KernelError::refused(
                &format!("as_of[{index}].stream"),
                Reason::Conflict,
                "one position per stream",
            ));
        }
    }
    for stream in STREAMS {
        let last = store
            .stream_state(stream)
            .await?
            .map_or(0, |state| state.last_sequence);
        let sequence = match given.iter().position(|p| p.stream == stream) {
            Some(index) if given[index].sequence > last => {
                return Err(KernelError::refused(
                    &format!("as_of[{index}].sequence"),
                    Reason::OutOfRange,
                    format!("beyond the end of {stream}"),
                ));
            }
            Some(index) => given[index].sequence,
            None => last,
        };
        found.push(Position {
            stream: stream.to_owned(),
            sequence,
        });
    }
    Ok(found)
}

/// The report of `year` from the log up to `as_of` (one position per report stream).
pub async fn report_as_of(
    store: &EventStore,
    rules: &RuleSet,
    year: i32,
    as_of: &[Position],
) -> Result<AnnualReport, KernelError> {
    let mut commits: Vec<(Commit, Position, Bytes)> = Vec::new();
    for position in as_of.iter().filter(|p| p.sequence > 0) {
        read_stream(
            store,
            &position.stream,
            None,
            Some(position.sequence),
            |_, payload, at| {
                let commit = Commit::decode(payload).map_err(|e| {
                    KernelError::Corrupt(format!("{} at {}: {e}", at.stream, at.sequence))
                })?;
                commits.push((commit, at, Bytes::copy_from_slice(payload)));
                Ok(true)
            },
        )
        .await?;
    }
    let recorded = |commit: &Commit| commit.recorded_at.as_ref().and_then(from_timestamp);
    let newest = commits
        .iter()
        .filter_map(|(c, _, _)| recorded(c))
        .max()
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let (_, year_end) = year_bounds(year);
    let now = newest.min(year_end - time::Duration::nanoseconds(1));
    let rules = rules.clone();
    let as_of = as_of.to_vec();
    tokio::task::spawn_blocking(move || {
        commits.retain(|(commit, _, _)| recorded(commit).is_some_and(|at| at <= now));
        compute(&rules, year, now, &as_of, &commits)
    })
    .await
    .map_err(|e| KernelError::Internal(format!("computing the report: {e}")))?
}

/// Folds `commits` with the owning services' projections into a scratch database and
/// computes the figures there.
fn compute(
    rules: &RuleSet,
    year: i32,
    now: OffsetDateTime,
    as_of: &[Position],
    commits: &[(Commit, Position, Bytes)],
) -> Result<AnnualReport, KernelError> {
    let db = Arc::new(
        redb::Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .map_err(|e| KernelError::Internal(format!("a scratch database: {e}")))?,
    );
    let projections: Vec<Box<dyn Projection>> = vec![
        Box::new(Directory),
        Box::new(Compliance),
        Box::new(Register),
        Box::new(IncidentRegister),
    ];
    let mut triaged_at: BTreeMap<String, OffsetDateTime> = BTreeMap::new();
    let tx = db.begin_write()?;
    for (commit, position, bytes) in commits {
        for projection in &projections {
            if projection.streams().contains(&position.stream) {
                projection.apply_with_bytes(&tx, commit, position, bytes)?;
            }
        }
        if position.stream == "INCIDENTS"
            && commit
                .events
                .iter()
                .any(|e| e.r#type == "tillit.incidents.v1.IncidentTriaged")
            && let Some(at) = commit.recorded_at.as_ref().and_then(from_timestamp)
        {
            triaged_at.entry(commit.aggregate_id.clone()).or_insert(at);
        }
    }
    tx.commit()?;

    let directory = DirectoryReader::new(db.clone());
    let compliance = ComplianceReader::new(db.clone());
    let incidents: Vec<_> = IncidentReader::new(db.clone())
        .incidents(None, usize::MAX, |_| true)?
        .into_iter()
        .map(|(incident, _)| incident)
        .collect();
    let assets = RegisterReader::new(db).assets(None, None, usize::MAX, |_| true)?;
    let staff = directory.users(
        &UserFilter {
            tenant: Some("internal".into()),
            role: None,
            status: Some(tillit_proto::identity::PrincipalStatus::Active),
        },
        None,
        usize::MAX,
    )?;
    let mut policies = Vec::new();
    for policy in compliance.policies()? {
        let standings = policy_coverage(&directory, &compliance, &policy, None, now)?;
        policies.push((policy, standings));
    }
    let trainings = compliance.all_trainings()?;
    let campaigns = compliance.campaigns(false)?;
    Ok(annual_report(&Input {
        year,
        now,
        as_of,
        rules,
        incidents: &incidents,
        triaged_at: &triaged_at,
        assets: &assets,
        staff: &staff,
        policies: &policies,
        trainings: &trainings,
        campaigns: &campaigns,
    }))
}
