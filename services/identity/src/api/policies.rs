//! Policies: publishing a version (manager), reading the current or an earlier one, the
//! list with where the caller stands, the version history, acknowledging (every member of
//! staff, for themselves) and coverage.

use tillit_api::Refusal;
use tillit_auth::layer::caller;
use tillit_auth::{Caller, Permission};
use tillit_kernel::Reason;
use tillit_kernel::clock::to_timestamp;
use tillit_kernel::{AggregateId, CommandRequest, Target, TenantId};
use tillit_proto::identity::{
    AcknowledgePolicyRequest, AcknowledgePolicyResponse, GetPolicyCoverageRequest,
    GetPolicyCoverageResponse, GetPolicyRequest, GetPolicyResponse, ListPoliciesRequest,
    ListPoliciesResponse, ListPolicyVersionsRequest, ListPolicyVersionsResponse,
    MissingAcknowledgement, Policy as PolicyRow, PolicyAcknowledged, PolicySummary,
    PublishPolicyRequest, PublishPolicyResponse,
};
use tonic::{Request, Response, Status};

use super::{IdentityApi, actor_of, meta, status};
use crate::domain::DomainError;
use crate::domain::policy::{Acknowledge, PolicyEvent, Publish, coverage};
use crate::domain::validate;
use tillit_identity_views::policy_coverage;

/// Most characters of a policy text.
const MAX_POLICY_TEXT: usize = 1_000_000;

impl IdentityApi {
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
        let body = request.get_ref();
        let policy_id = validate::slug("policy_id", &body.policy_id)?;
        let current = self
            .find("policy", || self.identity.compliance.policy(&policy_id))
            .await?;
        let current_version = current.version;
        let policy = match body.version {
            0 => current,
            asked if asked == current.version => current,
            asked => self
                .identity
                .compliance
                .policy_version(&policy_id, asked)?
                .ok_or_else(|| {
                    Status::from(DomainError::refused(
                        "version",
                        Reason::UnknownReference,
                        "no such version of this policy",
                    ))
                })?,
        };
        Ok(Response::new(GetPolicyResponse {
            policy: Some(policy),
            current_version,
        }))
    }

    pub(super) async fn list_policies(
        &self,
        request: Request<ListPoliciesRequest>,
    ) -> Result<Response<ListPoliciesResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        // Customers have no policies of ours to list.
        if !caller.tenant.is_internal() {
            return Ok(Response::new(ListPoliciesResponse::default()));
        }
        let compliance = &self.identity.compliance;
        let now = self.identity.store.clock().now();
        let mut policies = Vec::new();
        for mut policy in compliance.policies()? {
            let mine = compliance.acknowledgement(&policy.policy_id, &caller.subject)?;
            let published_at = policy
                .published_at
                .as_ref()
                .and_then(tillit_kernel::clock::from_timestamp)
                .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
            let standing = coverage(
                (policy.version, published_at),
                [(caller.subject.clone(), mine)],
                now,
            )
            .pop();
            policy.text = String::new();
            policies.push(PolicySummary {
                policy: Some(policy),
                acknowledged_version: mine.map_or(0, |(version, _)| version),
                acknowledged_at: mine.map(|(_, at)| to_timestamp(at)),
                outstanding_since: standing.and_then(|s| s.outstanding_since).map(to_timestamp),
            });
        }
        Ok(Response::new(ListPoliciesResponse { policies }))
    }

    pub(super) async fn list_policy_versions(
        &self,
        request: Request<ListPolicyVersionsRequest>,
    ) -> Result<Response<ListPolicyVersionsResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        Self::require_staff(&caller, "policy")?;
        let policy_id = validate::slug("policy_id", &request.get_ref().policy_id)?;
        self.find("policy", || self.identity.compliance.policy(&policy_id))
            .await?;
        let versions = self
            .identity
            .compliance
            .policy_versions(&policy_id)?
            .into_iter()
            .map(|version| PolicyRow {
                text: String::new(),
                ..version
            })
            .collect();
        Ok(Response::new(ListPolicyVersionsResponse { versions }))
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
}
