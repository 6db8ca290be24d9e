//! Incidents' read models, in `incidents.redb` beside the identity view:
//!
//! - [`AssetFacts`] over ASSETS: each asset's tenant, name, classification and whether it
//!   holds personal data — what triage copies into its events (so rebuilding the incident
//!   register never depends on how the two streams interleave).
//! - [`IncidentRegister`] over INCIDENTS: every incident as it stands (the same `apply` as
//!   the decider), newest first, with links indexed in both directions.

use std::sync::Arc;

use prost::Message as _;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};
use tillit_kernel::clock::unix_nanos;
use tillit_kernel::decider::decode_event;
use tillit_kernel::projection::open_read;
use tillit_kernel::{EventPayload, KernelError, Projection};
use tillit_proto::assets::{
    AssetClassified, AssetDetailsChanged, AssetRegistered, AssetRetired, ProcessingRecorded,
};
use tillit_proto::common::Position;
use tillit_proto::incidents::Incident;
use tillit_proto::kernel::Commit;

use crate::incident::{IncidentEvent, apply};

/// (tenant, name, C, I, A, personal data, retired)
type FactsRow<'a> = (&'a str, &'a str, u32, u32, u32, bool, bool);

const FACTS: TableDefinition<&str, FactsRow> = TableDefinition::new("incident_asset_facts");
const INCIDENTS: TableDefinition<&str, &[u8]> = TableDefinition::new("incidents");
const BY_TIME: TableDefinition<(i64, &str), ()> = TableDefinition::new("incidents_by_time");

fn corrupt(e: prost::DecodeError) -> KernelError {
    KernelError::Corrupt(format!("incident row: {e}"))
}

/// An asset as triage needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssetFact {
    /// The asset's tenant.
    pub tenant: String,
    /// The asset's name.
    pub name: String,
    /// (confidentiality, integrity, availability) levels, 1 to 4.
    pub levels: (u32, u32, u32),
    /// Holds personal data.
    pub personal_data: bool,
    /// Whether the asset is retired.
    pub retired: bool,
}

/// The asset-facts projection.
pub struct AssetFacts;

impl Projection for AssetFacts {
    fn name(&self) -> &'static str {
        "incident_asset_facts"
    }

    fn schema_version(&self) -> u32 {
        1
    }

    fn streams(&self) -> Vec<String> {
        vec!["ASSETS".into()]
    }

    fn reset(&self, tx: &WriteTransaction) -> Result<(), KernelError> {
        tx.delete_table(FACTS)?;
        Ok(())
    }

    fn apply(
        &self,
        tx: &WriteTransaction,
        commit: &Commit,
        _: &Position,
    ) -> Result<(), KernelError> {
        if commit.aggregate_type != "asset" {
            return Ok(());
        }
        let mut facts = tx.open_table(FACTS)?;
        let id = commit.aggregate_id.as_str();
        let current = facts.get(id)?.map(|row| {
            let (t, n, c, i, a, p, r) = row.value();
            AssetFact {
                tenant: t.to_owned(),
                name: n.to_owned(),
                levels: (c, i, a),
                personal_data: p,
                retired: r,
            }
        });
        let mut fact = current.unwrap_or(AssetFact {
            tenant: commit.tenant.clone(),
            name: String::new(),
            levels: (0, 0, 0),
            personal_data: false,
            retired: false,
        });
        for event in &commit.events {
            match event.r#type.as_str() {
                "tillit.assets.v1.AssetRegistered" => {
                    fact.name = decode_event::<AssetRegistered>(event)?.name
                }
                "tillit.assets.v1.AssetDetailsChanged" => {
                    fact.name = decode_event::<AssetDetailsChanged>(event)?.name
                }
                "tillit.assets.v1.AssetClassified" => {
                    let levels = decode_event::<AssetClassified>(event)?
                        .classification
                        .unwrap_or_default();
                    fact.levels = (
                        levels.confidentiality,
                        levels.integrity,
                        levels.availability,
                    );
                }
                "tillit.assets.v1.ProcessingRecorded" => {
                    fact.personal_data = decode_event::<ProcessingRecorded>(event)?
                        .processing
                        .is_some_and(|p| !p.data_categories.is_empty());
                }
                "tillit.assets.v1.AssetRetired" => {
                    decode_event::<AssetRetired>(event)?;
                    fact.retired = true;
                }
                _ => {}
            }
        }
        let (c, i, a) = fact.levels;
        facts.insert(
            id,
            (
                fact.tenant.as_str(),
                fact.name.as_str(),
                c,
                i,
                a,
                fact.personal_data,
                fact.retired,
            ),
        )?;
        Ok(())
    }
}

/// The incident register projection.
pub struct IncidentRegister;

impl Projection for IncidentRegister {
    fn name(&self) -> &'static str {
        "incident_register"
    }

    /// 3: the stored `Incident` rows carry the API's enums instead of words.
    fn schema_version(&self) -> u32 {
        3
    }

    fn streams(&self) -> Vec<String> {
        vec!["INCIDENTS".into()]
    }

    fn reset(&self, tx: &WriteTransaction) -> Result<(), KernelError> {
        tx.delete_table(INCIDENTS)?;
        tx.delete_table(BY_TIME)?;
        Ok(())
    }

    fn apply(
        &self,
        tx: &WriteTransaction,
        commit: &Commit,
        _: &Position,
    ) -> Result<(), KernelError> {
        if commit.aggregate_type != "incident" {
            return Ok(());
        }
        let mut incidents = tx.open_table(INCIDENTS)?;
        let id = commit.aggregate_id.as_str();
        let load =
            |table: &redb::Table<&str, &[u8]>, id: &str| -> Result<Option<Incident>, KernelError> {
                table
                    .get(id)?
                    .map(|row| Incident::decode(row.value()).map_err(corrupt))
                    .transpose()
            };
        let mut incident = load(&incidents, id)?.unwrap_or_default();
        let first = incident.incident_id.is_empty();
        for event in &commit.events {
            let event = IncidentEvent::from_event(event)?;
            if let IncidentEvent::Linked(link) = &event
                && let Some(mut other) = load(&incidents, &link.related_incident_id)?
                && !other.linked_incident_ids.iter().any(|l| l == id)
            {
                other.linked_incident_ids.push(id.to_owned());
                incidents.insert(
                    link.related_incident_id.as_str(),
                    other.encode_to_vec().as_slice(),
                )?;
            }
            apply(&mut incident, &event);
        }
        if first {
            incident.reported_at = commit.recorded_at;
            let nanos = unix_nanos(commit.recorded_at.as_ref());
            tx.open_table(BY_TIME)?.insert((nanos, id), ())?;
        }
        incident.version = commit.aggregate_version;
        incidents.insert(id, incident.encode_to_vec().as_slice())?;
        Ok(())
    }
}

/// Where an incident stands in the newest-first order: (reported at, unix ns; id).
pub type PageKey = (i64, String);

/// Reads incidents' read models.
#[derive(Clone)]
pub struct Reader {
    db: Arc<Database>,
}

impl Reader {
    /// A reader over the service's redb file.
    pub fn new(db: Arc<Database>) -> Self {
        Self { db }
    }

    /// An asset as triage needs it.
    pub fn asset(&self, id: &str) -> Result<Option<AssetFact>, KernelError> {
        let tx = self.db.begin_read()?;
        let Some(table) = open_read(&tx, FACTS)? else {
            return Ok(None);
        };
        Ok(table.get(id)?.map(|row| {
            let (t, n, c, i, a, p, r) = row.value();
            AssetFact {
                tenant: t.to_owned(),
                name: n.to_owned(),
                levels: (c, i, a),
                personal_data: p,
                retired: r,
            }
        }))
    }

    /// One incident.
    pub fn incident(&self, id: &str) -> Result<Option<Incident>, KernelError> {
        let tx = self.db.begin_read()?;
        let Some(table) = open_read(&tx, INCIDENTS)? else {
            return Ok(None);
        };
        table
            .get(id)?
            .map(|row| Incident::decode(row.value()).map_err(corrupt))
            .transpose()
    }

    /// Incidents newest first, before the key `before`, those `keep` accepts, at most `limit`;
    /// answers them with the key of the last one.
    pub fn incidents(
        &self,
        before: Option<(i64, &str)>,
        limit: usize,
        mut keep: impl FnMut(&Incident) -> bool,
    ) -> Result<Vec<(Incident, PageKey)>, KernelError> {
        let tx = self.db.begin_read()?;
        let (Some(index), Some(table)) = (open_read(&tx, BY_TIME)?, open_read(&tx, INCIDENTS)?)
        else {
            return Ok(Vec::new());
        };
        let mut found = Vec::new();
        let range = match before {
            Some(key) => index.range(..key)?,
            None => index.range::<(i64, &str)>(..)?,
        };
        for entry in range.rev() {
            let (key, _) = entry?;
            let (nanos, id) = key.value();
            let Some(row) = table.get(id)? else {
                continue;
            };
            let incident = Incident::decode(row.value()).map_err(corrupt)?;
            if keep(&incident) {
                found.push((incident, (nanos, id.to_owned())));
                if found.len() == limit {
                    break;
                }
            }
        }
        Ok(found)
    }
}
