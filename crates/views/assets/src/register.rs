//! The asset register's read model: every asset as it stands (the API's `Asset`, folded by
//! the same `apply` as the decider), ordered by (tenant, lower-cased name).

use std::sync::Arc;

use prost::Message as _;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};
use tillit_kernel::projection::open_read;
use tillit_kernel::{EventPayload, KernelError, Projection};
use tillit_proto::assets::Asset;
use tillit_proto::common::Position;
use tillit_proto::kernel::Commit;

use crate::asset::{AssetEvent, apply};

const ASSETS: TableDefinition<&str, &[u8]> = TableDefinition::new("assets");
const BY_TENANT: TableDefinition<(&str, &str, &str), ()> = TableDefinition::new("assets_by_tenant");

fn corrupt(e: prost::DecodeError) -> KernelError {
    KernelError::Corrupt(format!("asset row: {e}"))
}

/// The register projection.
pub struct Register;

impl Projection for Register {
    fn name(&self) -> &'static str {
        "asset_register"
    }

    /// 2: the stored `Asset` rows carry the kind as the API's enum instead of its word.
    /// 3: assets keep their classification history.
    fn schema_version(&self) -> u32 {
        3
    }

    fn streams(&self) -> Vec<String> {
        vec!["ASSETS".into()]
    }

    fn reset(&self, tx: &WriteTransaction) -> Result<(), KernelError> {
        tx.delete_table(ASSETS)?;
        tx.delete_table(BY_TENANT)?;
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
        let mut assets = tx.open_table(ASSETS)?;
        let mut by_tenant = tx.open_table(BY_TENANT)?;
        let id = commit.aggregate_id.as_str();
        let mut asset = assets
            .get(id)?
            .map(|row| Asset::decode(row.value()))
            .transpose()
            .map_err(corrupt)?
            .unwrap_or_default();
        let old_name = asset.name.to_lowercase();
        for event in &commit.events {
            apply(&mut asset, &AssetEvent::from_event(event)?);
        }
        asset.version = commit.aggregate_version;
        if !old_name.is_empty() {
            by_tenant.remove((asset.tenant_id.as_str(), old_name.as_str(), id))?;
        }
        by_tenant.insert(
            (
                asset.tenant_id.as_str(),
                asset.name.to_lowercase().as_str(),
                id,
            ),
            (),
        )?;
        assets.insert(id, asset.encode_to_vec().as_slice())?;
        Ok(())
    }
}

/// Reads the register.
#[derive(Clone)]
pub struct RegisterReader {
    db: Arc<Database>,
}

impl RegisterReader {
    /// A reader over the service's redb file.
    pub fn new(db: Arc<Database>) -> Self {
        Self { db }
    }

    /// One asset as it stands.
    pub fn asset(&self, id: &str) -> Result<Option<Asset>, KernelError> {
        let tx = self.db.begin_read()?;
        let Some(table) = open_read(&tx, ASSETS)? else {
            return Ok(None);
        };
        table
            .get(id)?
            .map(|row| Asset::decode(row.value()).map_err(corrupt))
            .transpose()
    }

    /// Every asset of one tenant, or of all, in (tenant, name) order, starting after the
    /// key `after`; `keep` decides which count towards `limit`.
    pub fn assets(
        &self,
        tenant: Option<&str>,
        after: Option<(&str, &str, &str)>,
        limit: usize,
        mut keep: impl FnMut(&Asset) -> bool,
    ) -> Result<Vec<Asset>, KernelError> {
        let tx = self.db.begin_read()?;
        let (Some(index), Some(assets)) = (open_read(&tx, BY_TENANT)?, open_read(&tx, ASSETS)?)
        else {
            return Ok(Vec::new());
        };
        let start = after.unwrap_or((tenant.unwrap_or(""), "", ""));
        let mut found = Vec::new();
        for entry in index.range(start..)? {
            let (key, _) = entry?;
            let (t, name, id) = key.value();
            if Some((t, name, id)) == after {
                continue;
            }
            if tenant.is_some_and(|wanted| wanted != t) {
                break;
            }
            let Some(row) = assets.get(id)? else {
                continue;
            };
            let asset = Asset::decode(row.value()).map_err(corrupt)?;
            if keep(&asset) {
                found.push(asset);
                if found.len() == limit {
                    break;
                }
            }
        }
        Ok(found)
    }
}
