//! Trainings and access-review campaigns (policies are [`super::policies`]).

use tillit_api::Refusal;
use tillit_auth::Permission;
use tillit_auth::layer::caller;
use tillit_kernel::Reason;
use tillit_kernel::clock::{TimeWindow, parse_time, to_timestamp};
use tillit_kernel::{AggregateId, CommandRequest, Target, TenantId};
use tillit_proto::Vocabulary as _;
use tillit_proto::identity::{AccessDecision, AccessReviewStatus, PrincipalStatus};
use tillit_proto::identity::{
    AccessReview as CampaignRow, AccessReviewItem, AccessReviewStarted,
    DecideAccessReviewItemRequest, DecideAccessReviewItemResponse, GetAccessReviewRequest,
    GetAccessReviewResponse, GetTrainingGapsRequest, GetTrainingGapsResponse,
    ListAccessReviewsRequest, ListAccessReviewsResponse, ListTrainingCoursesRequest,
    ListTrainingCoursesResponse, RecordTrainingRequest, RecordTrainingResponse,
    StartAccessReviewRequest, StartAccessReviewResponse, TrainingCourse, TrainingGap,
    User as UserRow,
};
use tonic::{Request, Response, Status};

use super::{IdentityApi, actor_of, meta, new_aggregate_id, status};
use crate::domain::DomainError;
use crate::domain::access_review::{AccessReviewCommand, AccessReviewEvent, Decision};
use crate::domain::training::RecordTraining;
use crate::domain::user::UserCommand;
use crate::domain::validate;
use tillit_identity_views::UserFilter;

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

    pub(super) async fn list_training_courses(
        &self,
        request: Request<ListTrainingCoursesRequest>,
    ) -> Result<Response<ListTrainingCoursesResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        caller.require_any(&[
            Permission::ReadReports,
            Permission::ReadEverything,
            Permission::RecordTrainings,
        ])?;
        let staff: std::collections::BTreeSet<String> =
            self.staff(0)?.into_iter().map(|u| u.user_id).collect();
        let now = self.identity.store.clock().now();
        let mut courses: std::collections::BTreeMap<String, u32> = Default::default();
        for (course, user, until) in self.identity.compliance.all_trainings()? {
            let valid = courses.entry(course).or_default();
            if staff.contains(&user) && until > now {
                *valid += 1;
            }
        }
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Ok(Response::new(ListTrainingCoursesResponse {
            courses: courses
                .into_iter()
                .map(|(course, valid)| TrainingCourse {
                    course,
                    staff: count(staff.len()),
                    valid,
                })
                .collect(),
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
