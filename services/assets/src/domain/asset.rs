//! The asset aggregate (ASSETS stream, subject `tillit.assets.<tenant>.asset.<id>`).
//!
//! Its state is the API's own `Asset` message, built by [`apply`] (in
//! `tillit-assets-views`) — the one fold used by the decider, the register projection of
//! assets and of reporting and point-in-time reads, so they never disagree.
//! Evidence carries the time the thing happened; a time in the future is refused.

use tillit_kernel::Reason;
use tillit_kernel::clock::{from_timestamp, to_timestamp};
use tillit_kernel::{AggregateType, Decider};
use tillit_proto::Vocabulary as _;
use tillit_proto::assets::AssetKind;
use tillit_proto::assets::{
    Asset, AssetAccessReviewed, AssetClassified, AssetDetailsChanged, AssetOwnerAssigned,
    AssetRegistered, AssetRetired, AssetReviewed, BackupRunRecorded, BackupScheduleSet,
    Classification, CriticalPatchClosed, CriticalPatchOpened, EncryptionAtRestSet, MonitoringSet,
    PatchPolicySet, PatchRoundRecorded, Processing, ProcessingRecorded, RestoreTestRecorded,
};
use time::OffsetDateTime;

use super::DomainError;

pub use tillit_assets_views::asset::{ASSET, AssetEvent, apply, facts, has_personal_data};

/// Evidence for the control rules.
#[derive(Clone, Debug, PartialEq)]
pub enum Evidence {
    /// Backup schedule.
    BackupSchedule(BackupScheduleSet),
    /// A backup run.
    BackupRun(BackupRunRecorded),
    /// A restore test.
    RestoreTest(RestoreTestRecorded),
    /// Patch policy.
    PatchPolicy(PatchPolicySet),
    /// A patch round.
    PatchRound(PatchRoundRecorded),
    /// A critical patch released.
    CriticalPatchOpened(CriticalPatchOpened),
    /// A critical patch applied.
    CriticalPatchClosed(CriticalPatchClosed),
    /// Record how the asset is monitored.
    Monitoring(MonitoringSet),
    /// Encryption at rest.
    Encryption(EncryptionAtRestSet),
    /// Access review.
    AccessReview(AssetAccessReviewed),
}

/// Commands on an asset.
#[derive(Clone, Debug, PartialEq)]
pub enum AssetCommand {
    /// Register it, optionally classified at once.
    Register {
        /// Validated details (`registered_at` is filled from the clock).
        registered: AssetRegistered,
        /// Levels and rationale.
        classification: Option<(Classification, String)>,
    },
    /// Change name, kind, description.
    UpdateDetails(AssetDetailsChanged),
    /// New owner.
    AssignOwner(String),
    /// (Re)classify.
    Classify(Classification, String),
    /// Record the personal-data processing.
    RecordProcessing(Processing),
    /// Record evidence.
    RecordEvidence(Evidence),
    /// Record a review by `reviewer` at a time (not in the future).
    Review(AssetReviewed),
    /// Retire it.
    Retire(String),
}

/// The asset decider.
pub struct AssetDecider;

fn not_future(
    field: &str,
    at: Option<&prost_types::Timestamp>,
    now: OffsetDateTime,
) -> Result<(), DomainError> {
    match at.and_then(from_timestamp) {
        None => Err(DomainError::refused(
            field,
            Reason::Required,
            "a time is required",
        )),
        Some(at) if at > now => Err(DomainError::refused(
            field,
            Reason::OutOfRange,
            "must not be in the future",
        )),
        Some(_) => Ok(()),
    }
}

fn evidence_events(
    asset: &Asset,
    evidence: Evidence,
    now: OffsetDateTime,
) -> Result<Vec<AssetEvent>, DomainError> {
    let event = match evidence {
        Evidence::BackupSchedule(e) => {
            if e.interval_hours == 0 {
                return Err(DomainError::refused(
                    "backup_schedule.interval_hours",
                    Reason::OutOfRange,
                    "must be at least 1",
                ));
            }
            AssetEvent::BackupScheduleSet(e)
        }
        Evidence::BackupRun(e) => {
            not_future("backup_run.ran_at", e.ran_at.as_ref(), now)?;
            AssetEvent::BackupRunRecorded(e)
        }
        Evidence::RestoreTest(e) => {
            not_future("restore_test.tested_at", e.tested_at.as_ref(), now)?;
            AssetEvent::RestoreTestRecorded(e)
        }
        Evidence::PatchPolicy(e) => {
            if e.critical_within_days == 0 {
                return Err(DomainError::refused(
                    "patch_policy.critical_within_days",
                    Reason::OutOfRange,
                    "must be at least 1",
                ));
            }
            AssetEvent::PatchPolicySet(e)
        }
        Evidence::PatchRound(e) => {
            not_future("patch_round.patched_at", e.patched_at.as_ref(), now)?;
            AssetEvent::PatchRoundRecorded(e)
        }
        Evidence::CriticalPatchOpened(e) => {
            not_future(
                "critical_patch_opened.released_at",
                e.released_at.as_ref(),
                now,
            )?;
            if e.patch_id.trim().is_empty() {
                return Err(DomainError::refused(
                    "critical_patch_opened.patch_id",
                    Reason::Required,
                    "must not be empty",
                ));
            }
            if asset
                .open_critical_patches
                .iter()
                .any(|p| p.patch_id == e.patch_id)
            {
                return Ok(Vec::new());
            }
            AssetEvent::CriticalPatchOpened(e)
        }
        Evidence::CriticalPatchClosed(e) => {
            not_future(
                "critical_patch_closed.applied_at",
                e.applied_at.as_ref(),
                now,
            )?;
            if !asset
                .open_critical_patches
                .iter()
                .any(|p| p.patch_id == e.patch_id)
            {
                return Err(DomainError::refused(
                    "critical_patch_closed.patch_id",
                    Reason::UnknownReference,
                    "no such open critical patch",
                ));
            }
            AssetEvent::CriticalPatchClosed(e)
        }
        Evidence::Monitoring(e) => AssetEvent::MonitoringSet(e),
        Evidence::Encryption(e) => AssetEvent::EncryptionAtRestSet(e),
        Evidence::AccessReview(e) => {
            not_future("access_review.reviewed_at", e.reviewed_at.as_ref(), now)?;
            AssetEvent::AccessReviewed(e)
        }
    };
    Ok(vec![event])
}

impl Decider for AssetDecider {
    const TYPE: AggregateType = ASSET;
    type State = Asset;
    type Command = AssetCommand;
    type Event = AssetEvent;
    type Error = DomainError;

    fn decide(
        asset: &Asset,
        command: AssetCommand,
        now: OffsetDateTime,
    ) -> Result<Vec<AssetEvent>, DomainError> {
        let exists = !asset.asset_id.is_empty();
        if let AssetCommand::Register {
            registered,
            classification,
        } = command
        {
            if exists {
                return Err(DomainError::AlreadyExists("asset"));
            }
            let mut events = vec![AssetEvent::Registered(AssetRegistered {
                registered_at: Some(to_timestamp(now)),
                ..registered
            })];
            if let Some((levels, rationale)) = classification {
                events.push(AssetEvent::Classified(AssetClassified {
                    classification: Some(levels),
                    rationale,
                    classified_at: Some(to_timestamp(now)),
                }));
            }
            return Ok(events);
        }
        if !exists {
            return Err(DomainError::Precondition("the asset does not exist".into()));
        }
        if asset.retired.is_some() {
            return Err(DomainError::Precondition(format!(
                "asset {} ({}) is retired",
                asset.asset_id, asset.name
            )));
        }
        match command {
            AssetCommand::Register { .. } => unreachable!("handled above"),
            AssetCommand::UpdateDetails(change) => {
                let same = change.name == asset.name
                    && AssetKind::read(&change.kind) == asset.kind
                    && change.description == asset.description;
                Ok(if same {
                    Vec::new()
                } else {
                    vec![AssetEvent::DetailsChanged(change)]
                })
            }
            AssetCommand::AssignOwner(owner) if owner == asset.owner_user_id => Ok(Vec::new()),
            AssetCommand::AssignOwner(owner) => {
                Ok(vec![AssetEvent::OwnerAssigned(AssetOwnerAssigned {
                    owner_user_id: owner,
                })])
            }
            AssetCommand::Classify(levels, rationale) => {
                if asset.classification.as_ref() == Some(&levels)
                    && asset.classification_rationale == rationale
                {
                    return Ok(Vec::new());
                }
                Ok(vec![AssetEvent::Classified(AssetClassified {
                    classification: Some(levels),
                    rationale,
                    classified_at: Some(to_timestamp(now)),
                })])
            }
            AssetCommand::RecordProcessing(processing) => {
                Ok(vec![AssetEvent::ProcessingRecorded(ProcessingRecorded {
                    processing: Some(processing),
                })])
            }
            AssetCommand::RecordEvidence(evidence) => evidence_events(asset, evidence, now),
            AssetCommand::Review(review) => {
                not_future("reviewed_at", review.reviewed_at.as_ref(), now)?;
                Ok(vec![AssetEvent::Reviewed(review)])
            }
            AssetCommand::Retire(reason) => Ok(vec![AssetEvent::Retired(AssetRetired {
                retired_at: Some(to_timestamp(now)),
                reason,
            })]),
        }
    }

    fn evolve(mut asset: Asset, event: &AssetEvent) -> Asset {
        apply(&mut asset, event);
        asset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
    }

    fn registered() -> Asset {
        let events = AssetDecider::decide(
            &Asset::default(),
            AssetCommand::Register {
                registered: AssetRegistered {
                    asset_id: "a1".into(),
                    tenant_id: "acme".into(),
                    name: "CRM".into(),
                    kind: "saas".into(),
                    ..Default::default()
                },
                classification: Some((
                    Classification {
                        confidentiality: 3,
                        integrity: 2,
                        availability: 2,
                    },
                    "customer data".into(),
                )),
            },
            now(),
        )
        .unwrap();
        assert_eq!(events.len(), 2, "registered and classified");
        events.iter().fold(Asset::default(), AssetDecider::evolve)
    }

    #[test]
    fn reclassification_keeps_the_new_levels_and_repeating_it_changes_nothing() {
        let asset = registered();
        let levels = Classification {
            confidentiality: 4,
            integrity: 2,
            availability: 2,
        };
        let events = AssetDecider::decide(
            &asset,
            AssetCommand::Classify(levels, "special categories".into()),
            now(),
        )
        .unwrap();
        let asset = events.iter().fold(asset, AssetDecider::evolve);
        assert_eq!(asset.classification, Some(levels));
        assert!(
            AssetDecider::decide(
                &asset,
                AssetCommand::Classify(levels, "special categories".into()),
                now()
            )
            .unwrap()
            .is_empty()
        );
    }

    #[test]
    fn evidence_in_the_future_or_for_an_unknown_patch_is_refused_and_older_evidence_does_not_hide_newer()
     {
        let asset = registered();
        let tomorrow = Some(to_timestamp(now() + time::Duration::days(1)));
        let run = |at, success| {
            AssetCommand::RecordEvidence(Evidence::BackupRun(BackupRunRecorded {
                ran_at: at,
                success,
                note: String::new(),
            }))
        };
        assert!(
            matches!(AssetDecider::decide(&asset, run(tomorrow, true), now()), Err(DomainError::Invalid { field, .. }) if field == "backup_run.ran_at")
        );
        let close =
            AssetCommand::RecordEvidence(Evidence::CriticalPatchClosed(CriticalPatchClosed {
                patch_id: "CVE-1".into(),
                applied_at: Some(to_timestamp(now())),
            }));
        assert!(AssetDecider::decide(&asset, close, now()).is_err());

        let recent = Some(to_timestamp(now() - time::Duration::hours(2)));
        let old = Some(to_timestamp(now() - time::Duration::days(3)));
        let mut state = asset;
        for command in [run(recent, true), run(old, true)] {
            let events = AssetDecider::decide(&state, command, now()).unwrap();
            state = events.iter().fold(state, AssetDecider::evolve);
        }
        assert_eq!(
            state.last_backup_success, recent,
            "a late-recorded old run does not hide the newer one"
        );
    }

    #[test]
    fn a_retired_asset_takes_no_more_changes() {
        let asset = registered();
        let events =
            AssetDecider::decide(&asset, AssetCommand::Retire("decommissioned".into()), now())
                .unwrap();
        let asset = events.iter().fold(asset, AssetDecider::evolve);
        assert!(matches!(
            AssetDecider::decide(&asset, AssetCommand::AssignOwner("u2".into()), now()),
            Err(DomainError::Precondition(_))
        ));
        assert!(facts(&asset).retired);
    }
}
