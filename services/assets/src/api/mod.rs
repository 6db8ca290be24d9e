//! The gRPC API of the asset register.
//!
//! - [`commands`]: register, change, classify, processing, evidence, review, retire.
//! - [`queries`]: get (also as of a time or position), list, timeline, gaps, reviews due.
//! - [`records`]: the GDPR Art. 30 records of processing.
//! - [`import`]: CSV import.
//!
//! Who may do what (DOMAIN.md): security officers and admins manage every asset; an
//! employee registers assets and manages those it owns; a customer reads only its own
//! tenant's assets; auditors (and managers, for their reports) read all. An asset the
//! caller may not read answers NOT_FOUND, exactly like a missing one.

mod commands;
mod errors;
mod import;
mod queries;
mod records;

use std::sync::Arc;

use tillit_api::lookup::Consistency;
use tillit_auth::view::ViewReader;
use tillit_auth::{Caller, Permission};
use tillit_kernel::{
    AggregateId, CommandMeta, EventStore, ProjectionRunner, Reservations, Runner, TenantId,
};
use tillit_proto::assets::Asset;
use tillit_proto::common::ConsistencyToken;
use tillit_rules::RuleSet;
use tonic::{Request, Status};

use crate::config::AssetsConfig;
use crate::domain::asset::AssetDecider;
use tillit_assets_views::register::RegisterReader;

/// What the handlers share.
pub struct Assets {
    /// The service's settings.
    pub config: AssetsConfig,
    /// The event store.
    pub store: EventStore,
    /// Runs asset commands.
    pub assets: Runner<AssetDecider>,
    /// Name and import-key uniqueness per tenant.
    pub reservations: Reservations,
    /// The register and the identity view.
    pub projections: Arc<ProjectionRunner>,
    /// Reads the register.
    pub register: RegisterReader,
    /// Reads the identity view (tenants, users).
    pub identity: ViewReader,
    /// The control rules.
    pub rules: RuleSet,
}

/// The `AssetsService` implementation.
#[derive(Clone)]
pub struct AssetsApi {
    assets: Arc<Assets>,
}

impl AssetsApi {
    /// The API over shared state.
    pub fn new(assets: Arc<Assets>) -> Self {
        Self { assets }
    }

    /// How the handlers wait for this service's projections.
    fn consistency(&self) -> Consistency<'_> {
        Consistency::new(
            &self.assets.projections,
            self.assets.config.platform.consistency_timeout,
        )
    }

    /// Waits until this service's projections have applied the request's token.
    async fn wait(&self, token: Option<&ConsistencyToken>) -> Result<(), Status> {
        Ok(self.consistency().wait(token).await?)
    }

    /// The current asset if the caller may read it, else NOT_FOUND.
    async fn readable(
        &self,
        caller: &Caller,
        raw_id: &str,
    ) -> Result<(AggregateId, Asset), Status> {
        let id = AggregateId::parse(raw_id, "asset_id")?;
        // Invisible and missing assets take the same path, so timing reveals nothing.
        let asset = self
            .consistency()
            .find("ASSETS", "asset", || {
                Ok(self
                    .assets
                    .register
                    .asset(id.as_str())?
                    .filter(|asset| can_read(caller, asset)))
            })
            .await?;
        Ok((id, asset))
    }
}

/// Whether the caller may read the asset.
pub(crate) fn can_read(caller: &Caller, asset: &Asset) -> bool {
    let Ok(tenant) = TenantId::parse(&asset.tenant_id, "tenant_id") else {
        return false;
    };
    caller.sees_tenant(&tenant)
        && (can_manage(caller, asset)
            || caller.may(Permission::ReadEverything)
            || caller.may(Permission::ReadReports)
            || (caller.may(Permission::ReadOwnTenantAssets) && caller.tenant == tenant))
}

/// Whether the caller may change the asset.
pub(crate) fn can_manage(caller: &Caller, asset: &Asset) -> bool {
    caller.may(Permission::ManageAssets)
        || (caller.may(Permission::ManageOwnAssets) && asset.owner_user_id == caller.subject)
}

/// Envelope data for a command by `caller`, from the request's metadata.
pub(crate) fn meta<T>(request: &Request<T>, caller: &Caller) -> CommandMeta {
    tillit_auth::command_meta(request, caller.actor())
}

use tillit_proto::assets::assets_service_server::AssetsService;
use tillit_proto::assets::*;
use tonic::Response;

macro_rules! delegate {
    ($($method:ident($request:ty) -> $response:ty;)*) => {
        #[tonic::async_trait]
        impl AssetsService for AssetsApi {
            $(
                async fn $method(&self, request: Request<$request>) -> Result<Response<$response>, Status> {
                    tillit_api::reveal::revealed(&self.assets.store, AssetsApi::$method(self, request).await).await
                }
            )*
        }
    };
}

delegate! {
    register_asset(RegisterAssetRequest) -> RegisterAssetResponse;
    update_asset_details(UpdateAssetDetailsRequest) -> UpdateAssetDetailsResponse;
    assign_asset_owner(AssignAssetOwnerRequest) -> AssignAssetOwnerResponse;
    classify_asset(ClassifyAssetRequest) -> ClassifyAssetResponse;
    record_processing(RecordProcessingRequest) -> RecordProcessingResponse;
    record_evidence(RecordEvidenceRequest) -> RecordEvidenceResponse;
    review_asset(ReviewAssetRequest) -> ReviewAssetResponse;
    retire_asset(RetireAssetRequest) -> RetireAssetResponse;
    get_asset(GetAssetRequest) -> GetAssetResponse;
    list_assets(ListAssetsRequest) -> ListAssetsResponse;
    get_asset_timeline(GetAssetTimelineRequest) -> GetAssetTimelineResponse;
    get_control_gaps(GetControlGapsRequest) -> GetControlGapsResponse;
    list_reviews_due(ListReviewsDueRequest) -> ListReviewsDueResponse;
    get_processing_record(GetProcessingRecordRequest) -> GetProcessingRecordResponse;
    import_assets(ImportAssetsRequest) -> ImportAssetsResponse;
}
