//! Commands: register, change details, assign owner, classify, processing, evidence,
//! review, retire.

use tillit_api::Refusal;
use tillit_auth::layer::caller;
use tillit_auth::{Caller, Permission};
use tillit_kernel::Reason;
use tillit_kernel::clock::{TimeWindow, parse_time, to_timestamp};
use tillit_kernel::{
    AggregateId, CommandMeta, CommandRequest, ExecuteError, Executed, Target, TenantId,
};
use tillit_proto::assets::record_evidence_request::Evidence as EvidenceProto;
use tillit_proto::assets::{
    AssetDetailsChanged, AssetRegistered, AssetReviewed, AssignAssetOwnerRequest,
    AssignAssetOwnerResponse, Classification, ClassifyAssetRequest, ClassifyAssetResponse,
    Processing, RecordEvidenceRequest, RecordEvidenceResponse, RecordProcessingRequest,
    RecordProcessingResponse, RegisterAssetRequest, RegisterAssetResponse, RetireAssetRequest,
    RetireAssetResponse, ReviewAssetRequest, ReviewAssetResponse, Transfer,
    UpdateAssetDetailsRequest, UpdateAssetDetailsResponse,
};
use tillit_proto::common::ConsistencyToken;
use tonic::{Request, Response, Status};

use super::errors::{self, status};
use super::{AssetsApi, can_manage, meta};
use crate::domain::DomainError;
use crate::domain::asset::{AssetCommand, AssetEvent, Evidence, apply};
use crate::domain::validate;

/// A registration that passed validation.
pub(super) struct NewAsset {
    pub tenant: TenantId,
    pub registered: AssetRegistered,
    pub classification: Option<(Classification, String)>,
}

/// What registering did.
pub(super) enum Registration {
    /// A new asset.
    Created(Box<Executed<AssetEvent, tillit_proto::assets::Asset>>),
    /// The asset (same tenant and name or import key) already existed: nothing appended.
    Existed,
    /// Another asset of the tenant holds the name: nothing appended.
    NameTaken,
}

/// Every time an evidence states, through the kernel's one parser: something that
/// happened (a backup ran, a patch was applied), so not in the future nor ages ago.
fn check_evidence_times(
    evidence: Option<&EvidenceProto>,
    now: time::OffsetDateTime,
) -> Result<(), Status> {
    let times: Vec<(&str, Option<&prost_types::Timestamp>)> = match evidence {
        Some(EvidenceProto::BackupRun(e)) => vec![("backup_run.ran_at", e.ran_at.as_ref())],
        Some(EvidenceProto::RestoreTest(e)) => {
            vec![("restore_test.tested_at", e.tested_at.as_ref())]
        }
        Some(EvidenceProto::PatchRound(e)) => {
            vec![("patch_round.patched_at", e.patched_at.as_ref())]
        }
        Some(EvidenceProto::CriticalPatchOpened(e)) => {
            vec![("critical_patch_opened.released_at", e.released_at.as_ref())]
        }
        Some(EvidenceProto::CriticalPatchClosed(e)) => {
            vec![("critical_patch_closed.applied_at", e.applied_at.as_ref())]
        }
        Some(EvidenceProto::AccessReview(e)) => {
            vec![("access_review.reviewed_at", e.reviewed_at.as_ref())]
        }
        _ => Vec::new(),
    };
    for (field, at) in times {
        if let Some(at) = at {
            parse_time(field, at, now, TimeWindow::Happened)?;
        }
    }
    Ok(())
}

/// Most items of a list in an Art. 30 record (categories, subjects, recipients, ...).
const MAX_LIST_ITEMS: usize = 100;
impl AssetsApi {
    /// NOT an error of the caller's making when the tenant is unknown or invisible: the
    /// same INVALID_ARGUMENT either way, so another tenant's existence is not revealed.
    pub(super) fn tenant_for(
        &self,
        caller: &Caller,
        field: &str,
        raw: &str,
    ) -> Result<TenantId, DomainError> {
        let tenant = TenantId::parse(raw, field).map_err(DomainError::Kernel)?;
        let exists = self.assets.identity.tenant_exists(tenant.as_str())?;
        if exists && caller.sees_tenant(&tenant) {
            Ok(tenant)
        } else {
            Err(DomainError::refused(
                field,
                Reason::UnknownReference,
                "no such tenant",
            ))
        }
    }

    /// An active principal of the identity view.
    pub(super) fn owner(&self, field: &str, user_id: &str) -> Result<String, DomainError> {
        let known = self
            .assets
            .identity
            .principal(user_id)?
            .is_some_and(|p| p.active);
        if known {
            Ok(user_id.to_owned())
        } else {
            Err(DomainError::refused(
                field,
                Reason::UnknownReference,
                "no such user",
            ))
        }
    }

    /// Registers an asset under its (tenant, name) — and its import key, if any — and
    /// answers whether it was new.
    pub(super) async fn register(
        &self,
        command_meta: CommandMeta,
        asset: NewAsset,
    ) -> Result<Registration, Status> {
        let NewAsset {
            tenant,
            mut registered,
            classification,
        } = asset;
        let name_key = format!("asset-name:{}", registered.name.to_lowercase());
        let identity_key = match registered.external_key.as_str() {
            "" => name_key.clone(),
            key => format!("asset-key:{key}"),
        };
        let id = AggregateId::derived(&tenant, "asset", &identity_key);
        registered.asset_id = id.as_str().to_owned();
        registered.tenant_id = tenant.as_str().to_owned();
        let owner = self.assets.assets.address(&tenant, id.clone());
        for key in [&identity_key, &name_key] {
            let reserved = self
                .assets
                .reservations
                .reserve(&tenant, key, &owner, command_meta.clone())
                .await;
            match reserved {
                Ok(_) => {}
                Err(tillit_kernel::ReservationError::Taken { .. }) => {
                    return Ok(Registration::NameTaken);
                }
                Err(other) => return Err(errors::reservation(other)),
            }
        }
        let executed = self
            .assets
            .assets
            .execute(CommandRequest {
                tenant,
                target: Target::At(id),
                name: "tillit.assets.v1.RegisterAsset".into(),
                command: AssetCommand::Register {
                    registered,
                    classification,
                },
                meta: command_meta,
            })
            .await;
        match executed {
            Ok(executed) => Ok(Registration::Created(Box::new(executed))),
            Err(ExecuteError::Domain(DomainError::AlreadyExists(_))) => Ok(Registration::Existed),
            Err(e) => Err(status(e)),
        }
    }

    /// Runs a command on an asset the caller may manage.
    async fn manage<T>(
        &self,
        request: &Request<T>,
        raw_id: &str,
        name: &str,
        command: AssetCommand,
    ) -> Result<ConsistencyToken, Status> {
        let caller = caller(request)?;
        let (id, asset) = self.readable(&caller, raw_id).await?;
        if !can_manage(&caller, &asset) {
            return Err(Refusal::PermissionDenied(format!(
                "asset {}: only a security officer, an admin or the asset's owner may change it",
                id.as_str()
            ))
            .into());
        }
        let executed = self
            .assets
            .assets
            .execute(CommandRequest {
                tenant: TenantId::parse(&asset.tenant_id, "asset_id")?,
                target: Target::Existing(id),
                name: name.into(),
                command,
                meta: meta(request, &caller),
            })
            .await
            .map_err(status)?;
        Ok(executed.consistency())
    }

    pub(super) async fn register_asset(
        &self,
        request: Request<RegisterAssetRequest>,
    ) -> Result<Response<RegisterAssetResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        caller.require_any(&[Permission::ManageAssets, Permission::RegisterAssets])?;
        let body = request.get_ref();
        let tenant = self.tenant_for(&caller, "tenant_id", &body.tenant_id)?;
        let name = tillit_api::text::line("name", &body.name, 200)?;
        let kind = validate::kind_value("kind", body.kind)?;
        let description = tillit_api::text::optional_lines("description", &body.description, 4000)?;
        let owner = match body.owner_user_id.as_str() {
            "" => caller.subject.clone(),
            other => self.owner("owner_user_id", other)?,
        };
        if !caller.may(Permission::ManageAssets) && owner != caller.subject {
            return Err(DomainError::invalid(
                "owner_user_id",
                "an employee registers assets it owns itself",
            )
            .into());
        }
        let classification = match &body.classification {
            None => None,
            Some(levels) => Some((
                validate::classification("classification", Some(levels))?,
                tillit_api::text::optional_line(
                    "classification_rationale",
                    &body.classification_rationale,
                    4000,
                )?,
            )),
        };
        let new = NewAsset {
            tenant,
            registered: AssetRegistered {
                name,
                kind,
                owner_user_id: owner,
                description,
                ..Default::default()
            },
            classification,
        };
        match self.register(meta(&request, &caller), new).await? {
            Registration::Created(executed) => {
                let mut asset = Default::default();
                for event in &executed.events {
                    apply(&mut asset, event);
                }
                asset.version = executed.version;
                Ok(Response::new(RegisterAssetResponse {
                    asset: Some(asset),
                    consistency: Some(executed.consistency()),
                }))
            }
            Registration::Existed | Registration::NameTaken => Err(errors::name_taken()),
        }
    }

    pub(super) async fn update_asset_details(
        &self,
        request: Request<UpdateAssetDetailsRequest>,
    ) -> Result<Response<UpdateAssetDetailsResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let body = request.get_ref();
        let change = AssetDetailsChanged {
            name: tillit_api::text::line("name", &body.name, 200)?,
            kind: validate::kind_value("kind", body.kind)?,
            description: tillit_api::text::optional_lines("description", &body.description, 4000)?,
        };
        let consistency = self
            .manage(
                &request,
                &body.asset_id,
                "tillit.assets.v1.UpdateAssetDetails",
                AssetCommand::UpdateDetails(change),
            )
            .await?;
        Ok(Response::new(UpdateAssetDetailsResponse {
            consistency: Some(consistency),
        }))
    }

    pub(super) async fn assign_asset_owner(
        &self,
        request: Request<AssignAssetOwnerRequest>,
    ) -> Result<Response<AssignAssetOwnerResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let body = request.get_ref();
        let owner = self.owner("owner_user_id", &body.owner_user_id)?;
        let consistency = self
            .manage(
                &request,
                &body.asset_id,
                "tillit.assets.v1.AssignAssetOwner",
                AssetCommand::AssignOwner(owner),
            )
            .await?;
        Ok(Response::new(AssignAssetOwnerResponse {
            consistency: Some(consistency),
        }))
    }

    pub(super) async fn classify_asset(
        &self,
        request: Request<ClassifyAssetRequest>,
    ) -> Result<Response<ClassifyAssetResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let body = request.get_ref();
        let levels = validate::classification("classification", body.classification.as_ref())?;
        let rationale = tillit_api::text::lines("rationale", &body.rationale, 4000)?;
        let consistency = self
            .manage(
                &request,
                &body.asset_id,
                "tillit.assets.v1.ClassifyAsset",
                AssetCommand::Classify(levels, rationale),
            )
            .await?;
        Ok(Response::new(ClassifyAssetResponse {
            consistency: Some(consistency),
        }))
    }

    pub(super) async fn record_processing(
        &self,
        request: Request<RecordProcessingRequest>,
    ) -> Result<Response<RecordProcessingResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let body = request.get_ref();
        let raw = body.processing.clone().unwrap_or_default();
        // Lists of the Art. 30 record: bounded, every item one checked line; blanks dropped.
        let list = |field: &str, items: &[String]| {
            tillit_api::text::list(field, items, MAX_LIST_ITEMS, 200)
        };
        if raw.transfers_outside_eu.len() > MAX_LIST_ITEMS {
            return Err(DomainError::refused(
                "processing.transfers_outside_eu",
                Reason::TooMany,
                format!("at most {MAX_LIST_ITEMS} items"),
            )
            .into());
        }
        let processing = Processing {
            data_categories: list("processing.data_categories", &raw.data_categories)?,
            special_categories: raw.special_categories,
            data_subjects: list("processing.data_subjects", &raw.data_subjects)?,
            purpose: tillit_api::text::optional_lines("processing.purpose", &raw.purpose, 2000)?,
            retention: tillit_api::text::optional_line(
                "processing.retention",
                &raw.retention,
                500,
            )?,
            recipients: list("processing.recipients", &raw.recipients)?,
            sub_processors: list("processing.sub_processors", &raw.sub_processors)?,
            transfers_outside_eu: raw
                .transfers_outside_eu
                .iter()
                .map(|t| {
                    Ok(Transfer {
                        recipient: tillit_api::text::line(
                            "processing.transfers_outside_eu.recipient",
                            &t.recipient,
                            200,
                        )?,
                        country: tillit_api::text::line(
                            "processing.transfers_outside_eu.country",
                            &t.country,
                            60,
                        )?,
                        safeguard: tillit_api::text::optional_line(
                            "processing.transfers_outside_eu.safeguard",
                            &t.safeguard,
                            500,
                        )?,
                    })
                })
                .collect::<Result<_, DomainError>>()?,
        };
        if !processing.data_categories.is_empty() {
            if processing.data_subjects.is_empty() {
                return Err(DomainError::refused(
                    "processing.data_subjects",
                    Reason::Required,
                    "required when personal data is held",
                )
                .into());
            }
            tillit_api::text::lines("processing.purpose", &processing.purpose, 2000)?;
            tillit_api::text::line("processing.retention", &processing.retention, 500)?;
        }
        let consistency = self
            .manage(
                &request,
                &body.asset_id,
                "tillit.assets.v1.RecordProcessing",
                AssetCommand::RecordProcessing(processing),
            )
            .await?;
        Ok(Response::new(RecordProcessingResponse {
            consistency: Some(consistency),
        }))
    }

    pub(super) async fn record_evidence(
        &self,
        request: Request<RecordEvidenceRequest>,
    ) -> Result<Response<RecordEvidenceResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let body = request.get_ref();
        check_evidence_times(body.evidence.as_ref(), self.assets.store.clock().now())?;
        let evidence = match body.evidence.clone() {
            None => {
                return Err(DomainError::refused(
                    "evidence",
                    Reason::Required,
                    "one kind of evidence is required",
                )
                .into());
            }
            Some(EvidenceProto::BackupSchedule(e)) => Evidence::BackupSchedule(e),
            Some(EvidenceProto::BackupRun(e)) => Evidence::BackupRun(e),
            Some(EvidenceProto::RestoreTest(e)) => Evidence::RestoreTest(e),
            Some(EvidenceProto::PatchPolicy(e)) => Evidence::PatchPolicy(e),
            Some(EvidenceProto::PatchRound(e)) => Evidence::PatchRound(e),
            Some(EvidenceProto::CriticalPatchOpened(e)) => Evidence::CriticalPatchOpened(e),
            Some(EvidenceProto::CriticalPatchClosed(e)) => Evidence::CriticalPatchClosed(e),
            Some(EvidenceProto::Monitoring(e)) => Evidence::Monitoring(e),
            Some(EvidenceProto::Encryption(e)) => Evidence::Encryption(e),
            Some(EvidenceProto::AccessReview(mut e)) => {
                e.reviewer = caller(&request)?.subject;
                Evidence::AccessReview(e)
            }
        };
        let consistency = self
            .manage(
                &request,
                &body.asset_id,
                "tillit.assets.v1.RecordEvidence",
                AssetCommand::RecordEvidence(evidence),
            )
            .await?;
        Ok(Response::new(RecordEvidenceResponse {
            consistency: Some(consistency),
        }))
    }

    pub(super) async fn review_asset(
        &self,
        request: Request<ReviewAssetRequest>,
    ) -> Result<Response<ReviewAssetResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let body = request.get_ref();
        let now = self.assets.store.clock().now();
        let reviewed_at = match &body.reviewed_at {
            Some(at) => parse_time("reviewed_at", at, now, TimeWindow::Happened)?,
            None => now,
        };
        let review = AssetReviewed {
            reviewed_at: Some(to_timestamp(reviewed_at)),
            reviewer: caller(&request)?.subject,
            notes: tillit_api::text::optional_lines("notes", &body.notes, 4000)?,
        };
        let consistency = self
            .manage(
                &request,
                &body.asset_id,
                "tillit.assets.v1.ReviewAsset",
                AssetCommand::Review(review),
            )
            .await?;
        Ok(Response::new(ReviewAssetResponse {
            consistency: Some(consistency),
        }))
    }

    pub(super) async fn retire_asset(
        &self,
        request: Request<RetireAssetRequest>,
    ) -> Result<Response<RetireAssetResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let body = request.get_ref();
        let reason = tillit_api::text::lines("reason", &body.reason, 2000)?;
        let consistency = self
            .manage(
                &request,
                &body.asset_id,
                "tillit.assets.v1.RetireAsset",
                AssetCommand::Retire(reason),
            )
            .await?;
        Ok(Response::new(RetireAssetResponse {
            consistency: Some(consistency),
        }))
    }
}
