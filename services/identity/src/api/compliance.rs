//! Policies and acknowledgements, trainings, and access-review campaigns.

use tillit_api::Refusal;
use tillit_auth::layer::caller;
use tillit_auth::{Caller, Permission};
use tillit_kernel::Reason;
use tillit_kernel::clock::{TimeWindow, parse_time, to_timestamp};
use tillit_kernel::{AggregateId, CommandRequest, Target, TenantId};
use tillit_proto::Vocabulary as _;
use tillit_proto::identity::{AccessDecision, AccessReviewStatus, PrincipalStatus};
use tillit_proto::identity::{
    AccessReview as CampaignRow, AccessReviewItem, AccessReviewStarted, AcknowledgePolicyRequest,
    AcknowledgePolicyResponse, DecideAccessReviewItemRequest, DecideAccessReviewItemResponse,
    GetAccessReviewRequest, GetAccessReviewResponse, GetPolicyCoverageRequest,
    GetPolicyCoverageResponse, GetPolicyRequest, GetPolicyResponse, GetTrainingGapsRequest,
    GetTrainingGapsResponse, ListAccessReviewsRequest, ListAccessReviewsResponse,
    MissingAcknowledgement, Policy as PolicyRow, PolicyAcknowledged, PublishPolicyRequest,
    PublishPolicyResponse, RecordTrainingRequest, RecordTrainingResponse, StartAccessReviewRequest,
    StartAccessReviewResponse, TrainingGap, User as UserRow,
};
use tonic::{Request, Response, Status};

use super::{IdentityApi, actor_of, meta, new_aggregate_id, status};
use crate::domain::DomainError;
use crate::domain::access_review::{AccessReviewCommand, AccessReviewEvent, Decision};
use crate::domain::policy::{Acknowledge, PolicyEvent, Publish};
use crate::domain::training::RecordTraining;
use crate::domain::user::UserCommand;
use crate::domain::validate;
use tillit_identity_views::{UserFilter, policy_coverage};

/// Most characters of a policy text.
const MAX_POLICY_TEXT: usize = 1_000_000;

/// Item kinds of an access review.
const USER_ROLE: &str = "user_role";
const SERVICE_ACCOUNT: &str = "service_account";

/// A required time through the kernel's one parser, within `window` of `now`.
fn time_field(
    field: &'static str,
    ts: Option<&prost_types::Timestamp>,
    now: time::OffsetDateTime,
    window: TimeWindow,
) -> Result<time::OffsetDateTime, DomainError> {
    let ts =
        ts.ok_or_else(|| DomainError::refused(field, Reason::Required, "a time is required"))?;
    parse_time(field, ts, now, window).map_err(DomainError::Kernel)
}

impl IdentityApi {
    /// Active staff of `internal`, optionally only holders of `role`.
    fn staff(&self, role: i32) -> Result<Vec<UserRow>, Status> {
        let role = validate::role_filter("role", role)?;
        let filter = UserFilter {
            tenant: Some(TenantId::INTERNAL.into()),
            role,
            status: Some(PrincipalStatus::Active),
        };
        Ok(self.identity.directory.users(&filter, None, usize::MAX)?)
    }

    /// Policies are the consultancy's own: customers see none of them.
    fn require_staff(caller: &Caller, what: &'static str) -> Result<(), Status> {
        if caller.tenant.is_internal() {
            Ok(())
        } else {
            Err(Refusal::NotFound(what).into())
        }
    }

    pub(super) async fn publish_policy(
        &self,
        request: Request<PublishPolicyRequest>,
    ) -> Result<Response<PublishPolicyResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        caller.require(Permission::PublishPolicies)?;
        let body = request.get_ref();
        let policy_id = validate::slug("policy_id", &body.policy_id)?;
        let title = tillit_api::text::line("title", &body.title, 200)?;
        let text = tillit_api::text::lines("text", &body.text, MAX_POLICY_TEXT)?;
        let executed = self
            .identity
            .policies
            .execute(CommandRequest {
                tenant: TenantId::internal(),
                target: Target::At(AggregateId::parse(&policy_id, "policy_id")?),
                name: "tillit.identity.v1.PublishPolicy".into(),
                command: Publish {
                    policy_id,
                    title,
                    text,
                },
                meta: meta(&request, actor_of(&caller)),
            })
            .await
            .map_err(status)?;
        let policy = executed
            .events
            .first()
            .map(|PolicyEvent::Published(e)| PolicyRow {
                policy_id: e.policy_id.clone(),
                version: e.version,
                title: e.title.clone(),
                text: e.text.clone(),
                text_sha256: e.text_sha256.clone(),
                published_at: e.published_at,
            });
        Ok(Response::new(PublishPolicyResponse {
            policy,
            consistency: Some(executed.consistency()),
        }))
    }

    pub(super) async fn get_policy(
        &self,
        request: Request<GetPolicyRequest>,
    ) -> Result<Response<GetPolicyResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        Self::require_staff(&caller, "policy")?;
        let policy_id = validate::slug("policy_id", &request.get_ref().policy_id)?;
        let policy = self
            .find("policy", || self.identity.compliance.policy(&policy_id))
            .await?;
        Ok(Response::new(GetPolicyResponse {
            policy: Some(policy),
        }))
    }

    pub(super) async fn acknowledge_policy(
        &self,
        request: Request<AcknowledgePolicyRequest>,
    ) -> Result<Response<AcknowledgePolicyResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        // G4: every member of staff acknowledges for themselves.
        Self::require_staff(&caller, "policy")?;
        let body = request.get_ref();
        let policy_id = validate::slug("policy_id", &body.policy_id)?;
        let (state, _) = self
            .identity
            .policies
            .load(&self.identity.policies.address(
                &TenantId::internal(),
                AggregateId::parse(&policy_id, "policy_id")?,
            ))
            .await?;
        if state.versions.is_empty() {
            return Err(Refusal::NotFound("policy").into());
        }
        let version = state
            .versions
            .iter()
            .find(|v| v.version == body.version)
            .ok_or_else(|| {
                Status::from(DomainError::refused(
                    "version",
                    Reason::UnknownReference,
                    "no such version of this policy",
                ))
            })?;
        let executed = self
            .identity
            .acknowledgements
            .execute(CommandRequest {
                tenant: caller.tenant.clone(),
                target: Target::At(AggregateId::derived(
                    &caller.tenant,
                    "acknowledgement",
                    &format!("{}/{policy_id}", caller.subject),
                )),
                name: "tillit.identity.v1.AcknowledgePolicy".into(),
                command: Acknowledge {
                    acknowledged: PolicyAcknowledged {
                        policy_id: policy_id.clone(),
                        version: version.version,
                        text_sha256: version.text_sha256.clone(),
                        user_id: caller.subject.clone(),
                        acknowledged_at: None,
                    },
                },
                meta: meta(&request, actor_of(&caller)),
            })
            .await
            .map_err(status)?;
        Ok(Response::new(AcknowledgePolicyResponse {
            consistency: Some(executed.consistency()),
        }))
    }

    pub(super) async fn get_policy_coverage(
        &self,
        request: Request<GetPolicyCoverageRequest>,
    ) -> Result<Response<GetPolicyCoverageResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        caller.require_any(&[
            Permission::ReadReports,
            Permission::ReadEverything,
            Permission::PublishPolicies,
        ])?;
        let body = request.get_ref();
        let policy_id = validate::slug("policy_id", &body.policy_id)?;
        let current = self
            .find("policy", || self.identity.compliance.policy(&policy_id))
            .await?;
        let role = validate::role_filter("role", body.role)?;
        let standings = policy_coverage(
            &self.identity.directory,
            &self.identity.compliance,
            &current,
            role,
            self.identity.store.clock().now(),
        )?;
        let staff = standings.len();
        let missing: Vec<_> = standings
            .into_iter()
            .filter_map(|(user, standing)| {
                standing
                    .outstanding_since
                    .map(|since| MissingAcknowledgement {
                        user_id: user.user_id,
                        email: user.email,
                        acknowledged_version: standing.last.map_or(0, |(v, _)| v),
                        acknowledged_at: standing.last.map(|(_, at)| to_timestamp(at)),
                        outstanding_since: Some(to_timestamp(since)),
                    })
            })
            .collect();
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Ok(Response::new(GetPolicyCoverageResponse {
            version: current.version,
            staff: count(staff),
            covered: count(staff - missing.len()),
            missing,
        }))
    }

    pub(super) async fn record_training(
        &self,
        request: Request<RecordTrainingRequest>,
    ) -> Result<Response<RecordTrainingResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        caller.require(Permission::RecordTrainings)?;
        let body = request.get_ref();
        let user_id = AggregateId::parse(&body.user_id, "user_id")?;
        let course = validate::slug("course", &body.course)?;
        let now = self.identity.store.clock().now();
        let completed_at = time_field(
            "completed_at",
            body.completed_at.as_ref(),
            now,
            TimeWindow::Happened,
        )?;
        let valid_until = time_field(
            "valid_until",
            body.valid_until.as_ref(),
            now,
            TimeWindow::Due,
        )?;
        let user = self
            .find("user", || self.identity.directory.user(user_id.as_str()))
            .await?;
        let tenant = TenantId::parse(&user.tenant_id, "user_id")?;
        caller.scope(&tenant, "user")?;
        let executed = self
            .identity
            .trainings
            .execute(CommandRequest {
                tenant: tenant.clone(),
                target: Target::At(AggregateId::derived(
                    &tenant,
                    "training",
                    &format!("{}/{course}", user_id.as_str()),
                )),
                name: "tillit.identity.v1.RecordTraining".into(),
                command: RecordTraining {
                    user_id: user_id.as_str().to_owned(),
                    course,
                    completed_at,
                    valid_until,
                },
                meta: meta(&request, actor_of(&caller)),
            })
            .await
            .map_err(status)?;
        Ok(Response::new(RecordTrainingResponse {
            consistency: Some(executed.consistency()),
        }))
    }

    pub(super) async fn get_training_gaps(
        &self,
        request: Request<GetTrainingGapsRequest>,
    ) -> Result<Response<GetTrainingGapsResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        caller.require_any(&[
            Permission::ReadReports,
            Permission::ReadEverything,
            Permission::RecordTrainings,
        ])?;
        let body = request.get_ref();
        let course = validate::slug("course", &body.course)?;
        let staff = self.staff(body.role)?;
        let records = self.identity.compliance.trainings(&course)?;
        let now = self.identity.store.clock().now();
        let gaps = staff
            .iter()
            .filter_map(|user| {
                let until = records.get(&user.user_id).copied();
                (until.is_none_or(|until| until <= now)).then(|| TrainingGap {
                    user_id: user.user_id.clone(),
                    email: user.email.clone(),
                    last_valid_until: until.map(to_timestamp),
                })
            })
            .collect();
        Ok(Response::new(GetTrainingGapsResponse {
            staff: u32::try_from(staff.len()).unwrap_or(u32::MAX),
            gaps,
        }))
    }

    pub(super) async fn start_access_review(
        &self,
        request: Request<StartAccessReviewRequest>,
    ) -> Result<Response<StartAccessReviewResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        caller.require(Permission::RunAccessReviews)?;
        let body = request.get_ref();
        let scope = match body.tenant_id.as_str() {
            "" => None,
            raw => Some(TenantId::parse(raw, "tenant_id")?),
        };
        let due_at = time_field(
            "due_at",
            body.due_at.as_ref(),
            self.identity.store.clock().now(),
            TimeWindow::Due,
        )?;
        if due_at <= self.identity.store.clock().now() {
            return Err(DomainError::refused(
                "due_at",
                Reason::OutOfRange,
                "must be in the future",
            )
            .into());
        }
        if let Some(tenant) = &scope {
            self.require_tenant(tenant).await?;
        }

        // The items are fixed now: every active user's every role, every active service account.
        let tenant_filter = scope.as_ref().map(|t| t.as_str().to_owned());
        let users = self.identity.directory.users(
            &UserFilter {
                tenant: tenant_filter.clone(),
                role: None,
                status: Some(PrincipalStatus::Active),
            },
            None,
            usize::MAX,
        )?;
        let mut items: Vec<AccessReviewItem> = users
            .iter()
            .flat_map(|user| {
                user.roles().map(move |role| AccessReviewItem {
                    item_id: format!("u-{}-{}", user.user_id, role.word()),
                    kind: USER_ROLE.into(),
                    principal_id: user.user_id.clone(),
                    tenant_id: user.tenant_id.clone(),
                    role: role.word().to_owned(),
                    label: user.email.clone(),
                })
            })
            .collect();
        items.extend(
            self.identity
                .directory
                .service_accounts(tenant_filter.as_deref())?
                .into_iter()
                .filter(|account| account.status() == PrincipalStatus::Active)
                .map(|account| AccessReviewItem {
                    item_id: format!("s-{}", account.service_account_id),
                    kind: SERVICE_ACCOUNT.into(),
                    principal_id: account.service_account_id.clone(),
                    tenant_id: account.tenant_id.clone(),
                    role: account
                        .roles()
                        .map(|r| r.word())
                        .collect::<Vec<_>>()
                        .join(","),
                    label: account.name.clone(),
                }),
        );

        let command_meta = meta(&request, actor_of(&caller));
        let campaign_id = new_aggregate_id(&command_meta, &TenantId::internal(), "access-review");
        let item_count = u32::try_from(items.len()).unwrap_or(u32::MAX);
        let executed = self
            .identity
            .access_reviews
            .execute(CommandRequest {
                tenant: TenantId::internal(),
                target: Target::At(campaign_id.clone()),
                name: "tillit.identity.v1.StartAccessReview".into(),
                command: AccessReviewCommand::Start(AccessReviewStarted {
                    campaign_id: campaign_id.as_str().to_owned(),
                    scope_tenant_id: tenant_filter.unwrap_or_default(),
                    due_at: Some(to_timestamp(due_at)),
                    items,
                    started_by: caller.subject.clone(),
                }),
                meta: command_meta,
            })
            .await
            .map_err(status)?;
        Ok(Response::new(StartAccessReviewResponse {
            campaign: Some(CampaignRow {
                campaign_id: campaign_id.as_str().to_owned(),
                scope_tenant_id: body.tenant_id.clone(),
                due_at: Some(to_timestamp(due_at)),
                status: if item_count == 0 {
                    AccessReviewStatus::Completed
                } else {
                    AccessReviewStatus::Open
                }
                .into(),
                items: item_count,
                undecided: item_count,
            }),
            consistency: Some(executed.consistency()),
        }))
    }

    pub(super) async fn decide_access_review_item(
        &self,
        request: Request<DecideAccessReviewItemRequest>,
    ) -> Result<Response<DecideAccessReviewItemResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        caller.require(Permission::RunAccessReviews)?;
        let body = request.get_ref();
        let campaign_id = AggregateId::parse(&body.campaign_id, "campaign_id")?;
        let decision = Decision::parse(body.decision)?;
        let address = self
            .identity
            .access_reviews
            .address(&TenantId::internal(), campaign_id.clone());
        let (state, _) = self.identity.access_reviews.load(&address).await?;
        if state.started.is_none() {
            return Err(Refusal::NotFound("access review").into());
        }
        let item = state.item(&body.item_id).cloned().ok_or_else(|| {
            Status::from(DomainError::refused(
                "item_id",
                Reason::UnknownReference,
                "no such item in this campaign",
            ))
        })?;
        if decision == Decision::Revoke && !state.decisions.contains_key(&item.item_id) {
            // Take the access away first: a recorded "revoked" is then always true.
            let tenant = TenantId::parse(&item.tenant_id, "item_id")?;
            let principal = AggregateId::parse(&item.principal_id, "item_id")?;
            if item.kind == USER_ROLE {
                let role = validate::role_word("item_id", &item.role)?;
                self.identity
                    .users
                    .execute(CommandRequest {
                        tenant,
                        target: Target::Existing(principal),
                        name: "tillit.identity.v1.DecideAccessReviewItem".into(),
                        command: UserCommand::Revoke(role),
                        meta: meta(&request, actor_of(&caller)),
                    })
                    .await
                    .map_err(status)?;
            } else {
                self.deactivate_account(&request, &tenant, &principal)
                    .await?;
            }
        }
        let executed = self
            .identity
            .access_reviews
            .execute(CommandRequest {
                tenant: TenantId::internal(),
                target: Target::Existing(campaign_id),
                name: "tillit.identity.v1.DecideAccessReviewItem".into(),
                command: AccessReviewCommand::Decide {
                    item_id: item.item_id.clone(),
                    decision,
                    reviewer: caller.subject.clone(),
                    reason: body.reason.trim().to_owned(),
                },
                meta: meta(&request, actor_of(&caller)),
            })
            .await
            .map_err(status)?;
        let completed = executed
            .events
            .iter()
            .any(|e| matches!(e, AccessReviewEvent::Completed(_)));
        Ok(Response::new(DecideAccessReviewItemResponse {
            campaign_completed: completed,
            consistency: Some(executed.consistency()),
        }))
    }

    pub(super) async fn list_access_reviews(
        &self,
        request: Request<ListAccessReviewsRequest>,
    ) -> Result<Response<ListAccessReviewsResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        caller.require_any(&[Permission::RunAccessReviews, Permission::ReadEverything])?;
        let campaigns = self
            .identity
            .compliance
            .campaigns(request.get_ref().open_only)?;
        Ok(Response::new(ListAccessReviewsResponse { campaigns }))
    }

    pub(super) async fn get_access_review(
        &self,
        request: Request<GetAccessReviewRequest>,
    ) -> Result<Response<GetAccessReviewResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        caller.require_any(&[Permission::RunAccessReviews, Permission::ReadEverything])?;
        let campaign_id = AggregateId::parse(&request.get_ref().campaign_id, "campaign_id")?;
        let mut found = self
            .find("access review", || {
                self.identity.compliance.campaign(campaign_id.as_str())
            })
            .await?;
        if request.get_ref().undecided_only {
            found
                .items
                .retain(|i| i.decision() == AccessDecision::Unspecified);
        }
        Ok(Response::new(found))
    }
}
