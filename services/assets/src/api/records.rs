//! GDPR Art. 30 records of processing, as JSON and CSV.
//!
//! For a customer tenant we are processor (Art. 30(2)): the customer (controller) and its
//! contacts and contract data from the identity view, us and our contact from
//! configuration, the categories of processing, transfers, the security-measures summary,
//! and each of the tenant's assets that holds personal data. For `internal` we are
//! controller (Art. 30(1)): purposes, data subjects, data categories, recipients,
//! transfers, retention and the security measures recorded on each of our own assets.

use serde_json::json;
use tillit_auth::Permission;
use tillit_auth::layer::caller;
use tillit_kernel::TenantId;
use tillit_proto::assets::{
    Asset, GetProcessingRecordRequest, GetProcessingRecordResponse, Processing,
};
use tonic::{Request, Response, Status};

use super::{AssetsApi, can_read};
use crate::domain::asset::has_personal_data;
use tillit_api::Refusal;

fn transfers(processing: &Processing) -> Vec<serde_json::Value> {
    processing
        .transfers_outside_eu
        .iter()
        .map(
            |t| json!({ "recipient": t.recipient, "country": t.country, "safeguard": t.safeguard }),
        )
        .collect()
}

/// The security measures recorded on an asset, in words.
fn measures(asset: &Asset) -> Vec<String> {
    let mut found = Vec::new();
    if let Some(e) = asset.encryption.as_ref().filter(|e| e.enabled) {
        found.push(format!("encryption at rest ({})", e.method));
    }
    if let Some(s) = &asset.backup_schedule {
        found.push(format!("backup {}", s.schedule));
    }
    if asset.monitoring.as_ref().is_some_and(|m| m.enabled) {
        found.push("monitoring with alerting".into());
    }
    if let Some(levels) = asset.classification {
        found.push(format!(
            "classified C{} I{} A{}",
            levels.confidentiality, levels.integrity, levels.availability
        ));
    }
    found
}

fn asset_entry(asset: &Asset) -> serde_json::Value {
    let p = asset.processing.clone().unwrap_or_default();
    json!({
        "asset_id": asset.asset_id,
        "name": asset.name,
        "purpose": p.purpose,
        "data_categories": p.data_categories,
        "special_categories": p.special_categories,
        "data_subjects": p.data_subjects,
        "recipients": p.recipients,
        "sub_processors": p.sub_processors,
        "transfers_outside_eu": transfers(&p),
        "retention": p.retention,
        "security_measures": measures(asset),
    })
}

fn csv_of(assets: &[Asset]) -> Result<String, Status> {
    let mut writer = tillit_text::csv::SafeCsv::new();
    let internal =
        |e: tillit_text::csv::CsvError| Status::from(Refusal::unwritable("records CSV", e));
    writer
        .record([
            "asset_id",
            "name",
            "purpose",
            "data_categories",
            "special_categories",
            "data_subjects",
            "recipients",
            "sub_processors",
            "transfers_outside_eu",
            "retention",
            "security_measures",
        ])
        .map_err(internal)?;
    for asset in assets {
        let p = asset.processing.clone().unwrap_or_default();
        let transfers: Vec<String> = p
            .transfers_outside_eu
            .iter()
            .map(|t| format!("{} ({})", t.recipient, t.country))
            .collect();
        writer
            .record([
                asset.asset_id.clone(),
                asset.name.clone(),
                p.purpose.clone(),
                p.data_categories.join("; "),
                p.special_categories.to_string(),
                p.data_subjects.join("; "),
                p.recipients.join("; "),
                p.sub_processors.join("; "),
                transfers.join("; "),
                p.retention.clone(),
                measures(asset).join("; "),
            ])
            .map_err(internal)?;
    }
    writer.into_string().map_err(internal)
}

impl AssetsApi {
    pub(super) async fn get_processing_record(
        &self,
        request: Request<GetProcessingRecordRequest>,
    ) -> Result<Response<GetProcessingRecordResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        let tenant = TenantId::parse(&request.get_ref().tenant_id, "tenant_id")?;
        caller.scope(&tenant, "tenant")?;
        if caller.tenant != tenant {
            caller.require_any(&[
                Permission::ReadEverything,
                Permission::ManageAssets,
                Permission::ReadReports,
            ])?;
        } else {
            caller.require_any(&[
                Permission::ReadEverything,
                Permission::ManageAssets,
                Permission::ReadReports,
                Permission::ReadOwnTenantAssets,
            ])?;
        }
        let registration = self
            .assets
            .identity
            .tenant(tenant.as_str())?
            .ok_or(Refusal::NotFound("tenant"))?;
        // The contacts' details go into the JSON text opened: the answer's own reveal
        // only opens whole fields.
        let registration = self.assets.store.vault()?.reveal(registration).await?;
        let assets =
            self.assets
                .register
                .assets(Some(tenant.as_str()), None, usize::MAX, |asset| {
                    asset.retired.is_none() && has_personal_data(asset) && can_read(&caller, asset)
                })?;
        let config = &self.assets.config;
        let us = json!({ "name": config.company_name, "contact": config.dpo_contact });
        let entries: Vec<_> = assets.iter().map(asset_entry).collect();
        let record = if tenant.is_internal() {
            json!({
                "article": "GDPR Art. 30(1)",
                "controller": us,
                "processing_activities": entries,
            })
        } else {
            let contract = registration.contract.unwrap_or_default();
            json!({
                "article": "GDPR Art. 30(2)",
                "processor": us,
                "controller": {
                    "tenant_id": registration.tenant_id,
                    "name": registration.name,
                    "organisation_number": registration.organisation_number,
                    "contacts": registration.incident_contacts.iter().map(|c| json!({ "name": c.name, "email": c.email, "phone": c.phone })).collect::<Vec<_>>(),
                    "dpa_reference": contract.dpa_reference,
                },
                "categories_of_processing": contract.processing_categories,
                "transfers_outside_eu": contract.transfers_outside_eu.iter().map(|t| json!({ "recipient": t.recipient, "country": t.country, "safeguard": t.safeguard })).collect::<Vec<_>>(),
                "security_measures": contract.security_measures,
                "assets": entries,
            })
        };
        Ok(Response::new(GetProcessingRecordResponse {
            json: serde_json::to_string_pretty(&record)
                .map_err(|e| Refusal::unwritable("records JSON", e))?,
            csv: csv_of(&assets)?,
            assets: u32::try_from(assets.len()).unwrap_or(u32::MAX),
        }))
    }
}
