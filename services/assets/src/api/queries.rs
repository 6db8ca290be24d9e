//! Queries: one asset (now or as of a time or position), lists, timeline, gaps, reviews due.

use tillit_auth::caller::ListScope;
use tillit_auth::layer::caller;
use tillit_kernel::Reason;
use tillit_kernel::TenantId;
use tillit_kernel::clock::{from_timestamp, to_timestamp};
use tillit_proto::assets::{
    Asset, ControlGap, GetAssetRequest, GetAssetResponse, GetAssetTimelineRequest,
    GetAssetTimelineResponse, GetControlGapsRequest, GetControlGapsResponse, ListAssetsRequest,
    ListAssetsResponse, ListReviewsDueRequest, ListReviewsDueResponse,
};
use tillit_proto::assets::{AssetKind, ControlGapState};
use tillit_rules::Severity;
use tonic::{Request, Response, Status};

use super::{AssetsApi, can_read};
use crate::domain::DomainError;
use crate::domain::asset::{AssetEvent, apply, facts, has_personal_data};
use tillit_api::Refusal;
use tillit_api::page::Page;
use tillit_kernel::EventPayload;

const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 500;

impl AssetsApi {
    /// The asset with its next review date filled in.
    fn presented(&self, mut asset: Asset) -> Asset {
        asset.next_review_due = self
            .assets
            .rules
            .next_review_due(&facts(&asset))
            .map(to_timestamp);
        asset
    }

    /// Which tenants a query covers; a customer is confined to its own.
    fn query_scope(&self, caller: &tillit_auth::Caller, raw: &str) -> Result<ListScope, Status> {
        let requested = match raw {
            "" => None,
            raw => Some(TenantId::parse(raw, "tenant_id")?),
        };
        Ok(caller.list_scope(requested))
    }

    /// The readable assets of a scope, filtered by `keep`, paged after `after`.
    fn assets_in(
        &self,
        scope: &ListScope,
        after: Option<(&str, &str, &str)>,
        limit: usize,
        keep: impl FnMut(&Asset) -> bool,
    ) -> Result<Vec<Asset>, Status> {
        let tenant = match scope {
            ListScope::All => None,
            ListScope::Tenant(tenant) => Some(tenant.as_str()),
            // Another tenant asked for by a customer: an empty answer, never an error.
            ListScope::Nothing => return Ok(Vec::new()),
        };
        Ok(self.assets.register.assets(tenant, after, limit, keep)?)
    }

    pub(super) async fn get_asset(
        &self,
        request: Request<GetAssetRequest>,
    ) -> Result<Response<GetAssetResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        let body = request.get_ref();
        let (id, current) = self.readable(&caller, &body.asset_id).await?;
        let cutoff_time = body
            .as_of_time
            .as_ref()
            .map(|t| {
                from_timestamp(t).ok_or_else(|| {
                    DomainError::refused("as_of_time", Reason::Malformed, "not a valid time")
                })
            })
            .transpose()?;
        let cutoff_sequence = match &body.as_of_position {
            None => None,
            Some(token) => Some(
                token
                    .positions
                    .iter()
                    .find(|p| p.stream == "ASSETS")
                    .map(|p| p.sequence)
                    .ok_or_else(|| {
                        DomainError::refused(
                            "as_of_position",
                            Reason::Required,
                            "needs a position on stream ASSETS",
                        )
                    })?,
            ),
        };
        if cutoff_time.is_none() && cutoff_sequence.is_none() {
            return Ok(Response::new(GetAssetResponse {
                asset: Some(self.presented(current)),
            }));
        }
        let tenant = TenantId::parse(&current.tenant_id, "asset_id")?;
        let (_, history) = self
            .assets
            .assets
            .load(&self.assets.assets.address(&tenant, id))
            .await?;
        let mut asset = Asset::default();
        for stored in &history.commits {
            let recorded = stored.commit.recorded_at.as_ref().and_then(from_timestamp);
            let in_time = cutoff_time.is_none_or(|cutoff| recorded.is_some_and(|r| r <= cutoff));
            let in_position = cutoff_sequence.is_none_or(|cutoff| stored.sequence <= cutoff);
            if !(in_time && in_position) {
                break;
            }
            for event in &stored.commit.events {
                apply(&mut asset, &AssetEvent::from_event(event)?);
            }
            asset.version = stored.commit.aggregate_version;
        }
        if asset.asset_id.is_empty() {
            return Err(Refusal::NotFound("asset (at that time)").into());
        }
        Ok(Response::new(GetAssetResponse {
            asset: Some(self.presented(asset)),
        }))
    }

    pub(super) async fn list_assets(
        &self,
        request: Request<ListAssetsRequest>,
    ) -> Result<Response<ListAssetsResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        let body = request.get_ref();
        let scope = self.query_scope(&caller, &body.tenant_id)?;
        let kind: Option<AssetKind> = tillit_api::vocabulary::optional("kind", body.kind)?;
        for (field, value) in [
            ("min_confidentiality", body.min_confidentiality),
            ("min_integrity", body.min_integrity),
            ("min_availability", body.min_availability),
        ] {
            if value > 4 {
                return Err(DomainError::refused(
                    field,
                    Reason::OutOfRange,
                    "must be 0 (any) to 4",
                )
                .into());
            }
        }
        let due_before = body.review_due_before.as_ref().and_then(from_timestamp);
        let page = Page::of(body.page.as_ref(), DEFAULT_PAGE, MAX_PAGE)?;
        let after_key = page.cursor(|raw| {
            let mut parts = raw.splitn(3, '\u{0}');
            Some((parts.next()?, parts.next()?, parts.next()?))
        })?;
        let limit = page.limit;
        let rules = &self.assets.rules;
        let now = self.assets.store.clock().now();
        let assets = self.assets_in(&scope, after_key, limit, |asset| {
            let levels = asset.classification.unwrap_or_default();
            can_read(&caller, asset)
                && (body.include_retired || asset.retired.is_none())
                && (body.owner_user_id.is_empty() || asset.owner_user_id == body.owner_user_id)
                && kind.is_none_or(|k| k == asset.kind())
                && levels.confidentiality >= body.min_confidentiality
                && levels.integrity >= body.min_integrity
                && levels.availability >= body.min_availability
                && (!body.has_personal_data || has_personal_data(asset))
                && due_before.is_none_or(|before| {
                    rules
                        .next_review_due(&facts(asset))
                        .is_some_and(|due| due < before)
                })
                && (!body.with_control_gaps
                    || rules
                        .evaluate(&facts(asset), now)
                        .iter()
                        .any(|s| s.is_gap()))
        })?;
        let next = page.next(&assets, |a| {
            format!(
                "{}\u{0}{}\u{0}{}",
                a.tenant_id,
                a.name.to_lowercase(),
                a.asset_id
            )
        });
        Ok(Response::new(ListAssetsResponse {
            assets: assets.into_iter().map(|a| self.presented(a)).collect(),
            page: next,
        }))
    }

    pub(super) async fn get_asset_timeline(
        &self,
        request: Request<GetAssetTimelineRequest>,
    ) -> Result<Response<GetAssetTimelineResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        let (id, current) = self.readable(&caller, &request.get_ref().asset_id).await?;
        let tenant = TenantId::parse(&current.tenant_id, "asset_id")?;
        let (_, history) = self
            .assets
            .assets
            .load(&self.assets.assets.address(&tenant, id))
            .await?;
        let entries = history.timeline();
        Ok(Response::new(GetAssetTimelineResponse { entries }))
    }

    /// The assets a scoped query covers: one, one tenant's, or all the caller may read.
    async fn scoped_assets(
        &self,
        caller: &tillit_auth::Caller,
        asset_id: &str,
        tenant_id: &str,
    ) -> Result<Vec<Asset>, Status> {
        if !asset_id.is_empty() {
            return Ok(vec![self.readable(caller, asset_id).await?.1]);
        }
        let scope = self.query_scope(caller, tenant_id)?;
        self.assets_in(&scope, None, usize::MAX, |asset| {
            can_read(caller, asset) && asset.retired.is_none()
        })
    }

    pub(super) async fn get_control_gaps(
        &self,
        request: Request<GetControlGapsRequest>,
    ) -> Result<Response<GetControlGapsResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        let body = request.get_ref();
        let min = tillit_api::vocabulary::optional("min_severity", body.min_severity)?
            .map_or(Severity::Low, rules_severity);
        let now = self.assets.store.clock().now();
        let rules = &self.assets.rules;
        let mut gaps: Vec<(Severity, ControlGap)> = Vec::new();
        for asset in self
            .scoped_assets(&caller, &body.asset_id, &body.tenant_id)
            .await?
        {
            for status in rules
                .evaluate(&facts(&asset), now)
                .into_iter()
                .filter(|s| s.is_gap() && s.severity >= min)
            {
                gaps.push((
                    status.severity,
                    ControlGap {
                        asset_id: asset.asset_id.clone(),
                        asset_name: asset.name.clone(),
                        tenant_id: asset.tenant_id.clone(),
                        control: status.control,
                        state: gap_state(status.state).into(),
                        severity: api_severity(status.severity).into(),
                        due_since: status.due_at.map(to_timestamp),
                        detail: status.detail,
                    },
                ));
            }
        }
        gaps.sort_by(|(a, ga), (b, gb)| {
            b.cmp(a).then_with(|| {
                ga.due_since
                    .map(|t| t.seconds)
                    .cmp(&gb.due_since.map(|t| t.seconds))
            })
        });
        Ok(Response::new(GetControlGapsResponse {
            gaps: gaps.into_iter().map(|(_, gap)| gap).collect(),
            rules_sha256: rules.sha256(),
        }))
    }

    pub(super) async fn list_reviews_due(
        &self,
        request: Request<ListReviewsDueRequest>,
    ) -> Result<Response<ListReviewsDueResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        let body = request.get_ref();
        let before = body
            .before
            .as_ref()
            .and_then(from_timestamp)
            .ok_or_else(|| {
                DomainError::refused("before", Reason::Required, "a time is required")
            })?;
        let rules = &self.assets.rules;
        let mut due: Vec<_> = self
            .scoped_assets(&caller, "", &body.tenant_id)
            .await?
            .into_iter()
            .filter_map(|asset| {
                let at = rules.next_review_due(&facts(&asset))?;
                (at < before).then_some((at, asset))
            })
            .collect();
        due.sort_by_key(|(at, _)| *at);
        Ok(Response::new(ListReviewsDueResponse {
            assets: due
                .into_iter()
                .map(|(_, asset)| self.presented(asset))
                .collect(),
        }))
    }
}

/// The API's severity of a control rule's.
fn api_severity(severity: Severity) -> tillit_proto::common::Severity {
    use tillit_proto::common::Severity as Api;
    match severity {
        Severity::Low => Api::Low,
        Severity::Medium => Api::Medium,
        Severity::High => Api::High,
        Severity::Critical => Api::Critical,
    }
}

/// The control rules' severity of the API's (specified) one.
fn rules_severity(severity: tillit_proto::common::Severity) -> Severity {
    use tillit_proto::common::Severity as Api;
    match severity {
        Api::Low | Api::Unspecified => Severity::Low,
        Api::Medium => Severity::Medium,
        Api::High => Severity::High,
        Api::Critical => Severity::Critical,
    }
}

/// Why a control is a gap, as the API says it (only gaps are answered).
fn gap_state(state: tillit_rules::controls::State) -> ControlGapState {
    use tillit_rules::controls::State;
    match state {
        State::Missing => ControlGapState::Missing,
        State::Overdue => ControlGapState::Overdue,
        State::Ok => ControlGapState::Unspecified,
    }
}
