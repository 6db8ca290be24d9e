//! Policies, acknowledgements, trainings and access-review campaigns, for the coverage,
//! training-gap and campaign queries. Who counts as staff is joined at query time from the
//! directory (same stream, so a rebuild reproduces it).

use std::collections::BTreeMap;
use std::sync::Arc;

use prost::Message as _;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};
use tillit_kernel::clock::unix_nanos;
use tillit_kernel::projection::open_read;
use tillit_kernel::{EventPayload, KernelError, Projection};
use tillit_proto::Vocabulary as _;
use tillit_proto::common::Position;
use tillit_proto::identity::{AccessDecision, AccessReviewStatus};
use tillit_proto::identity::{
    AccessReview as CampaignRow, AccessReviewItemState, Erasure as ErasureRow,
    GetAccessReviewResponse, Policy as PolicyRow,
};
use tillit_proto::kernel::Commit;
use time::OffsetDateTime;

use crate::events::{
    ACCESS_REVIEW, AccessReviewEvent, AcknowledgementEvent, ERASURE, ErasureEvent, POLICY,
    POLICY_ACKNOWLEDGEMENT, PolicyEvent, TRAINING, TrainingEvent,
};

const POLICIES: TableDefinition<&str, &[u8]> = TableDefinition::new("compliance_policies");
/// Every version of every policy, by (policy id, version).
const POLICY_VERSIONS: TableDefinition<(&str, u32), &[u8]> =
    TableDefinition::new("compliance_policy_versions");
const ACKNOWLEDGEMENTS: TableDefinition<(&str, &str), (u32, i64)> =
    TableDefinition::new("compliance_acknowledgements");
const TRAININGS: TableDefinition<(&str, &str), (i64, i64)> =
    TableDefinition::new("compliance_trainings");
const CAMPAIGNS: TableDefinition<&str, &[u8]> = TableDefinition::new("compliance_campaigns");
/// Erasure requests by erasure id.
const ERASURES: TableDefinition<&str, &[u8]> = TableDefinition::new("compliance_erasures");

fn corrupt(e: prost::DecodeError) -> KernelError {
    KernelError::Corrupt(format!("compliance row: {e}"))
}

/// The time of stored unix nanoseconds.
pub fn time_of(nanos: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The compliance projection.
pub struct Compliance;

impl Projection for Compliance {
    fn name(&self) -> &'static str {
        "identity_compliance"
    }

    /// 2: campaign rows carry status and decisions as the API's enums; 3: every version of
    /// a policy is kept, not only the current one; 4: erasure requests.
    fn schema_version(&self) -> u32 {
        4
    }

    fn streams(&self) -> Vec<String> {
        vec!["IDENTITY".into()]
    }

    fn reset(&self, tx: &WriteTransaction) -> Result<(), KernelError> {
        tx.delete_table(POLICIES)?;
        tx.delete_table(POLICY_VERSIONS)?;
        tx.delete_table(ACKNOWLEDGEMENTS)?;
        tx.delete_table(TRAININGS)?;
        tx.delete_table(CAMPAIGNS)?;
        tx.delete_table(ERASURES)?;
        Ok(())
    }

    fn apply(
        &self,
        tx: &WriteTransaction,
        commit: &Commit,
        _: &Position,
    ) -> Result<(), KernelError> {
        let kind = commit.aggregate_type.as_str();
        for event in &commit.events {
            if kind == POLICY.as_str() {
                let PolicyEvent::Published(e) = PolicyEvent::from_event(event)?;
                let row = PolicyRow {
                    policy_id: e.policy_id.clone(),
                    version: e.version,
                    title: e.title,
                    text: e.text,
                    text_sha256: e.text_sha256,
                    published_at: e.published_at,
                };
                let encoded = row.encode_to_vec();
                tx.open_table(POLICIES)?
                    .insert(e.policy_id.as_str(), encoded.as_slice())?;
                tx.open_table(POLICY_VERSIONS)?
                    .insert((e.policy_id.as_str(), e.version), encoded.as_slice())?;
            } else if kind == POLICY_ACKNOWLEDGEMENT.as_str() {
                let AcknowledgementEvent::Acknowledged(e) =
                    AcknowledgementEvent::from_event(event)?;
                tx.open_table(ACKNOWLEDGEMENTS)?.insert(
                    (e.policy_id.as_str(), e.user_id.as_str()),
                    (e.version, unix_nanos(e.acknowledged_at.as_ref())),
                )?;
            } else if kind == TRAINING.as_str() {
                let TrainingEvent::Recorded(e) = TrainingEvent::from_event(event)?;
                let mut table = tx.open_table(TRAININGS)?;
                let key = (e.course.as_str(), e.user_id.as_str());
                let valid_until = unix_nanos(e.valid_until.as_ref());
                let best = table.get(key)?.map(|row| row.value());
                if best.is_none_or(|(_, until)| until < valid_until) {
                    table.insert(key, (unix_nanos(e.completed_at.as_ref()), valid_until))?;
                }
            } else if kind == ERASURE.as_str() {
                let mut table = tx.open_table(ERASURES)?;
                let id = commit.aggregate_id.as_str();
                let current = table
                    .get(id)?
                    .map(|row| ErasureRow::decode(row.value()))
                    .transpose()
                    .map_err(corrupt)?;
                let row = match (ErasureEvent::from_event(event)?, current) {
                    (ErasureEvent::Requested(e), _) => ErasureRow {
                        erasure_id: id.to_owned(),
                        subject_id: e.subject_id,
                        subject_kind: e.subject_kind,
                        reason: e.reason,
                        requested_by: e.requested_by,
                        requested_at: commit.recorded_at,
                        ..Default::default()
                    },
                    (ErasureEvent::Erased(e), Some(row)) => ErasureRow {
                        approved_by: e.approved_by,
                        erased_at: e.erased_at,
                        ..row
                    },
                    (ErasureEvent::Erased(_), None) => continue,
                };
                table.insert(id, row.encode_to_vec().as_slice())?;
            } else if kind == ACCESS_REVIEW.as_str() {
                let mut table = tx.open_table(CAMPAIGNS)?;
                let id = commit.aggregate_id.as_str();
                let current = table
                    .get(id)?
                    .map(|row| GetAccessReviewResponse::decode(row.value()))
                    .transpose()
                    .map_err(corrupt)?;
                let row = match (AccessReviewEvent::from_event(event)?, current) {
                    (AccessReviewEvent::Started(e), _) => GetAccessReviewResponse {
                        campaign: Some(CampaignRow {
                            campaign_id: e.campaign_id,
                            scope_tenant_id: e.scope_tenant_id,
                            due_at: e.due_at,
                            status: AccessReviewStatus::Open.into(),
                            items: u32::try_from(e.items.len()).unwrap_or(u32::MAX),
                            undecided: u32::try_from(e.items.len()).unwrap_or(u32::MAX),
                        }),
                        items: e
                            .items
                            .into_iter()
                            .map(|item| AccessReviewItemState {
                                item: Some(item),
                                ..Default::default()
                            })
                            .collect(),
                    },
                    (_, None) => continue,
                    (AccessReviewEvent::ItemDecided(e), Some(mut row)) => {
                        for state in &mut row.items {
                            if state.item.as_ref().is_some_and(|i| i.item_id == e.item_id) {
                                state.decision = AccessDecision::read(&e.decision);
                                state.reviewer = e.reviewer.clone();
                            }
                        }
                        if let Some(campaign) = row.campaign.as_mut() {
                            campaign.undecided = campaign.undecided.saturating_sub(1);
                        }
                        row
                    }
                    (AccessReviewEvent::Completed(_), Some(mut row)) => {
                        if let Some(campaign) = row.campaign.as_mut() {
                            campaign.set_status(AccessReviewStatus::Completed);
                        }
                        row
                    }
                };
                table.insert(id, row.encode_to_vec().as_slice())?;
            }
        }
        Ok(())
    }
}

/// Reads the compliance tables.
#[derive(Clone)]
pub struct ComplianceReader {
    db: Arc<Database>,
}

impl ComplianceReader {
    /// A reader over the service's redb file.
    pub fn new(db: Arc<Database>) -> Self {
        Self { db }
    }

    /// A policy's current version.
    pub fn policy(&self, policy_id: &str) -> Result<Option<PolicyRow>, KernelError> {
        let tx = self.db.begin_read()?;
        let Some(table) = open_read(&tx, POLICIES)? else {
            return Ok(None);
        };
        table
            .get(policy_id)?
            .map(|row| PolicyRow::decode(row.value()).map_err(corrupt))
            .transpose()
    }

    /// One version of a policy.
    pub fn policy_version(
        &self,
        policy_id: &str,
        version: u32,
    ) -> Result<Option<PolicyRow>, KernelError> {
        let tx = self.db.begin_read()?;
        let Some(table) = open_read(&tx, POLICY_VERSIONS)? else {
            return Ok(None);
        };
        table
            .get((policy_id, version))?
            .map(|row| PolicyRow::decode(row.value()).map_err(corrupt))
            .transpose()
    }

    /// Every version of a policy, oldest first (none for a policy never published).
    pub fn policy_versions(&self, policy_id: &str) -> Result<Vec<PolicyRow>, KernelError> {
        let tx = self.db.begin_read()?;
        let Some(table) = open_read(&tx, POLICY_VERSIONS)? else {
            return Ok(Vec::new());
        };
        let mut found = Vec::new();
        for entry in table.range((policy_id, 0)..=(policy_id, u32::MAX))? {
            let (_, value) = entry?;
            found.push(PolicyRow::decode(value.value()).map_err(corrupt)?);
        }
        Ok(found)
    }

    /// A user's latest acknowledgement (version, time) of a policy.
    pub fn acknowledgement(
        &self,
        policy_id: &str,
        user_id: &str,
    ) -> Result<Option<(u32, OffsetDateTime)>, KernelError> {
        let tx = self.db.begin_read()?;
        let Some(table) = open_read(&tx, ACKNOWLEDGEMENTS)? else {
            return Ok(None);
        };
        Ok(table.get((policy_id, user_id))?.map(|row| {
            let (version, at) = row.value();
            (version, time_of(at))
        }))
    }

    /// Every policy's current version, by policy id.
    pub fn policies(&self) -> Result<Vec<PolicyRow>, KernelError> {
        let tx = self.db.begin_read()?;
        let Some(table) = open_read(&tx, POLICIES)? else {
            return Ok(Vec::new());
        };
        let mut found = Vec::new();
        for entry in table.iter()? {
            let (_, value) = entry?;
            found.push(PolicyRow::decode(value.value()).map_err(corrupt)?);
        }
        Ok(found)
    }

    /// Latest acknowledgement (version, time) per user of a policy.
    pub fn acknowledgements(
        &self,
        policy_id: &str,
    ) -> Result<BTreeMap<String, (u32, OffsetDateTime)>, KernelError> {
        let tx = self.db.begin_read()?;
        let Some(table) = open_read(&tx, ACKNOWLEDGEMENTS)? else {
            return Ok(BTreeMap::new());
        };
        let mut found = BTreeMap::new();
        for entry in table.range((policy_id, "")..)? {
            let (key, value) = entry?;
            let (policy, user) = key.value();
            if policy != policy_id {
                break;
            }
            let (version, at) = value.value();
            found.insert(user.to_owned(), (version, time_of(at)));
        }
        Ok(found)
    }

    /// Latest validity end per user of a course.
    pub fn trainings(&self, course: &str) -> Result<BTreeMap<String, OffsetDateTime>, KernelError> {
        let tx = self.db.begin_read()?;
        let Some(table) = open_read(&tx, TRAININGS)? else {
            return Ok(BTreeMap::new());
        };
        let mut found = BTreeMap::new();
        for entry in table.range((course, "")..)? {
            let (key, value) = entry?;
            let (c, user) = key.value();
            if c != course {
                break;
            }
            found.insert(user.to_owned(), time_of(value.value().1));
        }
        Ok(found)
    }

    /// (course, user id, valid until) of every user's latest record of every course.
    pub fn all_trainings(&self) -> Result<Vec<(String, String, OffsetDateTime)>, KernelError> {
        let tx = self.db.begin_read()?;
        let Some(table) = open_read(&tx, TRAININGS)? else {
            return Ok(Vec::new());
        };
        let mut found = Vec::new();
        for entry in table.iter()? {
            let (key, value) = entry?;
            let (course, user) = key.value();
            found.push((course.to_owned(), user.to_owned(), time_of(value.value().1)));
        }
        Ok(found)
    }

    /// Every erasure request: awaiting approval first (oldest first), then erased (newest
    /// first).
    pub fn erasures(&self) -> Result<Vec<ErasureRow>, KernelError> {
        let tx = self.db.begin_read()?;
        let Some(table) = open_read(&tx, ERASURES)? else {
            return Ok(Vec::new());
        };
        let mut found = Vec::new();
        for entry in table.iter()? {
            let (_, value) = entry?;
            found.push(ErasureRow::decode(value.value()).map_err(corrupt)?);
        }
        let at = |t: &Option<prost_types::Timestamp>| t.as_ref().map_or(0, |t| t.seconds);
        found.sort_by(|a, b| {
            let (pa, pb) = (a.approved_by.is_empty(), b.approved_by.is_empty());
            pb.cmp(&pa).then_with(|| {
                if pa {
                    at(&a.requested_at).cmp(&at(&b.requested_at))
                } else {
                    at(&b.erased_at).cmp(&at(&a.erased_at))
                }
            })
        });
        Ok(found)
    }

    /// One campaign with its items.
    pub fn campaign(
        &self,
        campaign_id: &str,
    ) -> Result<Option<GetAccessReviewResponse>, KernelError> {
        let tx = self.db.begin_read()?;
        let Some(table) = open_read(&tx, CAMPAIGNS)? else {
            return Ok(None);
        };
        table
            .get(campaign_id)?
            .map(|row| GetAccessReviewResponse::decode(row.value()).map_err(corrupt))
            .transpose()
    }

    /// Every campaign, or only open ones.
    pub fn campaigns(&self, open_only: bool) -> Result<Vec<CampaignRow>, KernelError> {
        let tx = self.db.begin_read()?;
        let Some(table) = open_read(&tx, CAMPAIGNS)? else {
            return Ok(Vec::new());
        };
        let mut found = Vec::new();
        for entry in table.iter()? {
            let (_, value) = entry?;
            let row = GetAccessReviewResponse::decode(value.value()).map_err(corrupt)?;
            if let Some(campaign) = row.campaign
                && (!open_only || campaign.status() == AccessReviewStatus::Open)
            {
                found.push(campaign);
            }
        }
        Ok(found)
    }
}
