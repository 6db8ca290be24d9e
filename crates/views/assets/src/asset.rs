//! The asset's events and their fold, shared by the assets service's decider and every
//! service that runs the asset register. Its state is the API's own `Asset` message.

use tillit_kernel::AggregateType;
use tillit_kernel::clock::from_timestamp;
use tillit_proto::Vocabulary as _;
use tillit_proto::assets::AssetKind;
use tillit_proto::assets::{
    Asset, AssetAccessReviewed, AssetClassified, AssetDetailsChanged, AssetOwnerAssigned,
    AssetRegistered, AssetRetired, AssetReviewed, BackupRunRecorded, BackupScheduleSet,
    CriticalPatchClosed, CriticalPatchOpened, EncryptionAtRestSet, MonitoringSet, PatchPolicySet,
    PatchRoundRecorded, ProcessingRecorded, RestoreTestRecorded,
};

/// The aggregate type of an asset's commits.
pub const ASSET: AggregateType = AggregateType::new("asset");

tillit_kernel::event_enum! {
    /// Events of an asset.
    pub enum AssetEvent {
        /// The asset was registered.
        Registered(AssetRegistered),
        /// Details changed.
        DetailsChanged(AssetDetailsChanged),
        /// New owner.
        OwnerAssigned(AssetOwnerAssigned),
        /// (Re)classified.
        Classified(AssetClassified),
        /// Personal-data processing recorded.
        ProcessingRecorded(ProcessingRecorded),
        /// Backup schedule.
        BackupScheduleSet(BackupScheduleSet),
        /// Backup run.
        BackupRunRecorded(BackupRunRecorded),
        /// Restore test.
        RestoreTestRecorded(RestoreTestRecorded),
        /// Patch policy.
        PatchPolicySet(PatchPolicySet),
        /// Patch round.
        PatchRoundRecorded(PatchRoundRecorded),
        /// Critical patch released and open.
        CriticalPatchOpened(CriticalPatchOpened),
        /// Critical patch applied.
        CriticalPatchClosed(CriticalPatchClosed),
        /// Its monitoring was recorded.
        MonitoringSet(MonitoringSet),
        /// Encryption at rest.
        EncryptionAtRestSet(EncryptionAtRestSet),
        /// Access review of the asset.
        AccessReviewed(AssetAccessReviewed),
        /// Asset review.
        Reviewed(AssetReviewed),
        /// It was retired: no longer in service, kept in the register.
        Retired(AssetRetired),
    }
}

/// Folds one event into the asset. Later evidence never hides newer evidence recorded
/// earlier: "last" fields keep the latest valid time.
pub fn apply(asset: &mut Asset, event: &AssetEvent) {
    let later = |current: Option<&prost_types::Timestamp>,
                 candidate: Option<&prost_types::Timestamp>| {
        let current = current.and_then(from_timestamp);
        let candidate = candidate.and_then(from_timestamp);
        candidate.is_some() && (current.is_none() || candidate > current)
    };
    match event {
        AssetEvent::Registered(e) => {
            asset.asset_id = e.asset_id.clone();
            asset.tenant_id = e.tenant_id.clone();
            asset.name = e.name.clone();
            asset.kind = AssetKind::read(&e.kind);
            asset.owner_user_id = e.owner_user_id.clone();
            asset.description = e.description.clone();
            asset.external_key = e.external_key.clone();
            asset.registered_at = e.registered_at;
        }
        AssetEvent::DetailsChanged(e) => {
            asset.name = e.name.clone();
            asset.kind = AssetKind::read(&e.kind);
            asset.description = e.description.clone();
        }
        AssetEvent::OwnerAssigned(e) => asset.owner_user_id = e.owner_user_id.clone(),
        AssetEvent::Classified(e) => {
            asset.classification = e.classification;
            asset.classification_rationale = e.rationale.clone();
            asset.classified_at = e.classified_at;
            asset.classification_history.push(e.clone());
        }
        AssetEvent::ProcessingRecorded(e) => asset.processing = e.processing.clone(),
        AssetEvent::BackupScheduleSet(e) => asset.backup_schedule = Some(e.clone()),
        AssetEvent::BackupRunRecorded(e) => {
            if later(
                asset
                    .last_backup_run
                    .as_ref()
                    .and_then(|r| r.ran_at.as_ref()),
                e.ran_at.as_ref(),
            ) {
                asset.last_backup_run = Some(e.clone());
            }
            if e.success && later(asset.last_backup_success.as_ref(), e.ran_at.as_ref()) {
                asset.last_backup_success = e.ran_at;
            }
        }
        AssetEvent::RestoreTestRecorded(e) => {
            if e.success
                && later(
                    asset.last_restore_test_success.as_ref(),
                    e.tested_at.as_ref(),
                )
            {
                asset.last_restore_test_success = e.tested_at;
            }
        }
        AssetEvent::PatchPolicySet(e) => asset.patch_policy = Some(*e),
        AssetEvent::PatchRoundRecorded(e) => {
            if later(
                asset
                    .last_patch_round
                    .as_ref()
                    .and_then(|r| r.patched_at.as_ref()),
                e.patched_at.as_ref(),
            ) {
                asset.last_patch_round = Some(e.clone());
            }
        }
        AssetEvent::CriticalPatchOpened(e) => asset.open_critical_patches.push(e.clone()),
        AssetEvent::CriticalPatchClosed(e) => asset
            .open_critical_patches
            .retain(|p| p.patch_id != e.patch_id),
        AssetEvent::MonitoringSet(e) => asset.monitoring = Some(e.clone()),
        AssetEvent::EncryptionAtRestSet(e) => asset.encryption = Some(e.clone()),
        AssetEvent::AccessReviewed(e) => {
            if later(
                asset
                    .last_access_review
                    .as_ref()
                    .and_then(|r| r.reviewed_at.as_ref()),
                e.reviewed_at.as_ref(),
            ) {
                asset.last_access_review = Some(e.clone());
            }
        }
        AssetEvent::Reviewed(e) => {
            if later(
                asset
                    .last_review
                    .as_ref()
                    .and_then(|r| r.reviewed_at.as_ref()),
                e.reviewed_at.as_ref(),
            ) {
                asset.last_review = Some(e.clone());
            }
        }
        AssetEvent::Retired(e) => asset.retired = Some(e.clone()),
    }
}

/// Whether the asset holds personal data.
pub fn has_personal_data(asset: &Asset) -> bool {
    asset
        .processing
        .as_ref()
        .is_some_and(|p| !p.data_categories.is_empty())
}

/// What the control rules need to know about the asset.
pub fn facts(asset: &Asset) -> tillit_rules::AssetFacts {
    let time = |ts: Option<&prost_types::Timestamp>| ts.and_then(from_timestamp);
    let levels = asset.classification.unwrap_or_default();
    tillit_rules::AssetFacts {
        confidentiality: levels.confidentiality,
        integrity: levels.integrity,
        availability: levels.availability,
        registered_at: time(asset.registered_at.as_ref()),
        classified_at: time(asset.classified_at.as_ref()),
        has_owner: !asset.owner_user_id.is_empty(),
        backup_interval_hours: asset.backup_schedule.as_ref().map(|s| s.interval_hours),
        last_backup_success: time(asset.last_backup_success.as_ref()),
        last_restore_test: time(asset.last_restore_test_success.as_ref()),
        monitored: asset.monitoring.as_ref().is_some_and(|m| m.enabled),
        alert_route: asset
            .monitoring
            .as_ref()
            .is_some_and(|m| !m.alert_route.trim().is_empty()),
        encrypted_at_rest: asset.encryption.as_ref().is_some_and(|e| e.enabled),
        last_access_review: time(
            asset
                .last_access_review
                .as_ref()
                .and_then(|r| r.reviewed_at.as_ref()),
        ),
        open_critical_patches: asset
            .open_critical_patches
            .iter()
            .filter_map(|p| time(p.released_at.as_ref()))
            .collect(),
        last_review: time(
            asset
                .last_review
                .as_ref()
                .and_then(|r| r.reviewed_at.as_ref()),
        ),
        retired: asset.retired.is_some(),
    }
}
