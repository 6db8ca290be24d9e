//! The gRPC API: authenticate (the layer did), authorize, parse input into domain values,
//! wait for the request's consistency token, run the command or query, map the answer.
//!
//! - [`session`]: Login, Refresh, Logout, WhoAmI: the tokens a session holds.
//! - [`credentials`]: the client address a sign-in counts under, password and secret
//!   checks under the throttle, ChangePassword.
//! - [`admin`]: tenants, users, roles, deactivation, password reset, unlock, key retirement.
//! - [`service_accounts`]: machine clients and `IssueServiceToken`.
//! - [`compliance`]: policies and acknowledgements, trainings, access reviews.
//! - [`errors`]: the one mapping of identity's errors to gRPC statuses.

mod admin;
mod compliance;
mod credentials;
mod erasure;
pub(crate) mod errors;
mod policies;
mod service_accounts;
mod session;

use std::sync::Arc;

use tillit_api::lookup::Consistency;
use tillit_auth::Caller;
use tillit_kernel::{
    AggregateId, CommandMeta, EventStore, KernelError, ProjectionRunner, Reservations, Runner,
    TenantId,
};
use tillit_proto::common::{Actor, ConsistencyToken};
use tonic::Status;

use crate::config::IdentityConfig;
use crate::domain::access_review::AccessReview;
use crate::domain::credential::Credential;
use crate::domain::policy::{Acknowledgement, Policy};
use crate::domain::refresh::RefreshChain;
use crate::domain::service_account::ServiceAccount;
use crate::domain::signing_key::SigningKey;
use crate::domain::tenant::Tenant;
use crate::domain::training::Training;
use crate::domain::user::User;
use crate::keys::SigningMaterial;
use tillit_identity_views::{ComplianceReader, DirectoryReader};

pub use errors::status;

/// Methods callable without an access token (they prove identity otherwise).
pub const PUBLIC_METHODS: [&str; 5] = [
    "/tillit.identity.v1.IdentityService/Login",
    "/tillit.identity.v1.IdentityService/IssueServiceToken",
    "/tillit.identity.v1.IdentityService/Refresh",
    "/tillit.identity.v1.IdentityService/Logout",
    "/tillit.identity.v1.IdentityService/ChangePassword",
];

/// What the handlers share.
pub struct Identity {
    /// The service's settings.
    pub config: IdentityConfig,
    /// The event store.
    pub store: EventStore,
    /// Runs tenant commands.
    pub tenants: Runner<Tenant>,
    /// Runs user commands.
    pub users: Runner<User>,
    /// Credentials (CREDENTIALS stream).
    pub credentials: Runner<Credential>,
    /// Refresh chains (CREDENTIALS stream).
    pub chains: Runner<RefreshChain>,
    /// Signing keys.
    pub keys: Runner<SigningKey>,
    /// The access-token lifetime every service enforces.
    pub token_policy: Runner<crate::domain::token_policy::TokenPolicy>,
    /// Service accounts.
    pub service_accounts: Runner<ServiceAccount>,
    /// Policy documents.
    pub policies: Runner<Policy>,
    /// Policy acknowledgements.
    pub acknowledgements: Runner<Acknowledgement>,
    /// Training records.
    pub trainings: Runner<Training>,
    /// Access-review campaigns.
    pub access_reviews: Runner<AccessReview>,
    /// Erasure requests, under tenant `internal`.
    pub erasures: Runner<crate::domain::erasure::Erasure>,
    /// E-mail uniqueness, under tenant `internal`.
    pub reservations: Reservations,
    /// The directory and the identity view.
    pub projections: Arc<ProjectionRunner>,
    /// Reads the directory.
    pub directory: DirectoryReader,
    /// Reads policies, acknowledgements, trainings and campaigns.
    pub compliance: ComplianceReader,
    /// The active signing key.
    pub signing: SigningMaterial,
    /// Logins for e-mails nobody has (a metric, never an event).
    pub unknown_email_logins: prometheus_client::metrics::counter::Counter,
    /// Counts failed sign-ins where they expire.
    pub throttle: Arc<crate::throttle::Throttle>,
    /// A hash of nothing, verified against when an account has no hash to verify (an
    /// unknown e-mail, a deactivated user), so every failure costs the same time.
    pub dummy_hash: String,
    /// Verifies tokens of forwarders that state a client address.
    pub verifier: tillit_auth::Verifier,
}

/// The `IdentityService` implementation.
#[derive(Clone)]
pub struct IdentityApi {
    identity: Arc<Identity>,
}

impl IdentityApi {
    /// The API over shared state.
    pub fn new(identity: Arc<Identity>) -> Self {
        Self { identity }
    }

    /// How the handlers wait for this service's projections.
    fn consistency(&self) -> Consistency<'_> {
        Consistency::new(
            &self.identity.projections,
            self.identity.config.platform.consistency_timeout,
        )
    }

    /// What `lookup` finds in this service's projections, catching up with IDENTITY once
    /// on a miss; NOT_FOUND naming `what` when it is still missing or invisible.
    async fn find<T>(
        &self,
        what: &'static str,
        lookup: impl Fn() -> Result<Option<T>, KernelError>,
    ) -> Result<T, Status> {
        Ok(self.consistency().find("IDENTITY", what, lookup).await?)
    }

    /// Waits until this service's projections have applied the request's token.
    async fn wait(&self, token: Option<&ConsistencyToken>) -> Result<(), Status> {
        Ok(self.consistency().wait(token).await?)
    }
}

/// The reservation key of an e-mail address: its lookup HMAC, never the address.
pub(crate) fn email_key(store: &EventStore, email: &str) -> Result<String, KernelError> {
    Ok(format!("email:{}", store.lookup(email)?))
}

/// Envelope data for a command by `actor`, from the request's metadata.
pub(crate) fn meta<T>(request: &tonic::Request<T>, actor: Actor) -> CommandMeta {
    tillit_auth::command_meta(request, actor)
}

/// The id of an aggregate a command creates: derived from the caller's scoped
/// idempotency key (so a retried create lands on the same aggregate), else a fresh UUIDv7.
pub(crate) fn new_aggregate_id(
    meta: &CommandMeta,
    tenant: &TenantId,
    purpose: &str,
) -> AggregateId {
    meta.derive_id(tenant, purpose)
}

/// The actor of an authenticated caller.
pub(crate) fn actor_of(caller: &Caller) -> Actor {
    caller.actor()
}

/// Where a user's aggregates live, read from the owner subject of its e-mail reservation
/// (`tillit.identity.<tenant>.user.<id>`).
pub(crate) fn user_of_subject(subject: &str) -> Option<(TenantId, AggregateId)> {
    let mut parts = subject.split('.');
    match (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) {
        (Some("tillit"), Some("identity"), Some(tenant), Some("user"), Some(id)) => Some((
            TenantId::parse(tenant, "tenant").ok()?,
            AggregateId::parse(id, "user_id").ok()?,
        )),
        _ => None,
    }
}

use tillit_proto::identity::identity_service_server::IdentityService;
use tillit_proto::identity::*;
use tonic::{Request, Response};

#[tonic::async_trait]
impl IdentityService for IdentityApi {
    async fn login(
        &self,
        request: Request<LoginRequest>,
    ) -> Result<Response<LoginResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.identity.store,
            IdentityApi::login(self, request).await,
        )
        .await
    }

    async fn refresh(
        &self,
        request: Request<RefreshRequest>,
    ) -> Result<Response<RefreshResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.identity.store,
            IdentityApi::refresh(self, request).await,
        )
        .await
    }

    async fn logout(
        &self,
        request: Request<LogoutRequest>,
    ) -> Result<Response<LogoutResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.identity.store,
            IdentityApi::logout(self, request).await,
        )
        .await
    }

    async fn change_password(
        &self,
        request: Request<ChangePasswordRequest>,
    ) -> Result<Response<ChangePasswordResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.identity.store,
            IdentityApi::change_password(self, request).await,
        )
        .await
    }

    async fn who_am_i(
        &self,
        request: Request<WhoAmIRequest>,
    ) -> Result<Response<WhoAmIResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.identity.store,
            IdentityApi::who_am_i(self, request).await,
        )
        .await
    }

    async fn create_tenant(
        &self,
        request: Request<CreateTenantRequest>,
    ) -> Result<Response<CreateTenantResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.identity.store,
            IdentityApi::create_tenant(self, request).await,
        )
        .await
    }

    async fn get_tenant(
        &self,
        request: Request<GetTenantRequest>,
    ) -> Result<Response<GetTenantResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.identity.store,
            IdentityApi::get_tenant(self, request).await,
        )
        .await
    }

    async fn list_tenants(
        &self,
        request: Request<ListTenantsRequest>,
    ) -> Result<Response<ListTenantsResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.identity.store,
            IdentityApi::list_tenants(self, request).await,
        )
        .await
    }

    async fn create_user(
        &self,
        request: Request<CreateUserRequest>,
    ) -> Result<Response<CreateUserResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.identity.store,
            IdentityApi::create_user(self, request).await,
        )
        .await
    }

    async fn get_user(
        &self,
        request: Request<GetUserRequest>,
    ) -> Result<Response<GetUserResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.identity.store,
            IdentityApi::get_user(self, request).await,
        )
        .await
    }

    async fn list_users(
        &self,
        request: Request<ListUsersRequest>,
    ) -> Result<Response<ListUsersResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.identity.store,
            IdentityApi::list_users(self, request).await,
        )
        .await
    }

    async fn grant_role(
        &self,
        request: Request<GrantRoleRequest>,
    ) -> Result<Response<GrantRoleResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.identity.store,
            IdentityApi::grant_role(self, request).await,
        )
        .await
    }

    async fn revoke_role(
        &self,
        request: Request<RevokeRoleRequest>,
    ) -> Result<Response<RevokeRoleResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.identity.store,
            IdentityApi::revoke_role(self, request).await,
        )
        .await
    }

    async fn deactivate_user(
        &self,
        request: Request<DeactivateUserRequest>,
    ) -> Result<Response<DeactivateUserResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.identity.store,
            IdentityApi::deactivate_user(self, request).await,
        )
        .await
    }

    async fn reset_password(
        &self,
        request: Request<ResetPasswordRequest>,
    ) -> Result<Response<ResetPasswordResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.identity.store,
            IdentityApi::reset_password(self, request).await,
        )
        .await
    }

    async fn unlock_user(
        &self,
        request: Request<UnlockUserRequest>,
    ) -> Result<Response<UnlockUserResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.identity.store,
            IdentityApi::unlock_user(self, request).await,
        )
        .await
    }

    async fn retire_signing_key(
        &self,
        request: Request<RetireSigningKeyRequest>,
    ) -> Result<Response<RetireSigningKeyResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.identity.store,
            IdentityApi::retire_signing_key(self, request).await,
        )
        .await
    }

    async fn create_service_account(
        &self,
        request: Request<CreateServiceAccountRequest>,
    ) -> Result<Response<CreateServiceAccountResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.identity.store,
            IdentityApi::create_service_account(self, request).await,
        )
        .await
    }

    async fn rotate_service_account_secret(
        &self,
        request: Request<RotateServiceAccountSecretRequest>,
    ) -> Result<Response<RotateServiceAccountSecretResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.identity.store,
            IdentityApi::rotate_service_account_secret(self, request).await,
        )
        .await
    }

    async fn deactivate_service_account(
        &self,
        request: Request<DeactivateServiceAccountRequest>,
    ) -> Result<Response<DeactivateServiceAccountResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.identity.store,
            IdentityApi::deactivate_service_account(self, request).await,
        )
        .await
    }

    async fn list_service_accounts(
        &self,
        request: Request<ListServiceAccountsRequest>,
    ) -> Result<Response<ListServiceAccountsResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.identity.store,
            IdentityApi::list_service_accounts(self, request).await,
        )
        .await
    }

    async fn issue_service_token(
        &self,
        request: Request<IssueServiceTokenRequest>,
    ) -> Result<Response<IssueServiceTokenResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.identity.store,
            IdentityApi::issue_service_token(self, request).await,
        )
        .await
    }

    async fn publish_policy(
        &self,
        request: Request<PublishPolicyRequest>,
    ) -> Result<Response<PublishPolicyResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.identity.store,
            IdentityApi::publish_policy(self, request).await,
        )
        .await
    }

    async fn get_policy(
        &self,
        request: Request<GetPolicyRequest>,
    ) -> Result<Response<GetPolicyResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.identity.store,
            IdentityApi::get_policy(self, request).await,
        )
        .await
    }

    async fn list_policies(
        &self,
        request: Request<ListPoliciesRequest>,
    ) -> Result<Response<ListPoliciesResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.identity.store,
            IdentityApi::list_policies(self, request).await,
        )
        .await
    }

    async fn list_policy_versions(
        &self,
        request: Request<ListPolicyVersionsRequest>,
    ) -> Result<Response<ListPolicyVersionsResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.identity.store,
            IdentityApi::list_policy_versions(self, request).await,
        )
        .await
    }

    async fn acknowledge_policy(
        &self,
        request: Request<AcknowledgePolicyRequest>,
    ) -> Result<Response<AcknowledgePolicyResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.identity.store,
            IdentityApi::acknowledge_policy(self, request).await,
        )
        .await
    }

    async fn get_policy_coverage(
        &self,
        request: Request<GetPolicyCoverageRequest>,
    ) -> Result<Response<GetPolicyCoverageResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.identity.store,
            IdentityApi::get_policy_coverage(self, request).await,
        )
        .await
    }

    async fn record_training(
        &self,
        request: Request<RecordTrainingRequest>,
    ) -> Result<Response<RecordTrainingResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.identity.store,
            IdentityApi::record_training(self, request).await,
        )
        .await
    }

    async fn get_training_gaps(
        &self,
        request: Request<GetTrainingGapsRequest>,
    ) -> Result<Response<GetTrainingGapsResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.identity.store,
            IdentityApi::get_training_gaps(self, request).await,
        )
        .await
    }

    async fn start_access_review(
        &self,
        request: Request<StartAccessReviewRequest>,
    ) -> Result<Response<StartAccessReviewResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.identity.store,
            IdentityApi::start_access_review(self, request).await,
        )
        .await
    }

    async fn decide_access_review_item(
        &self,
        request: Request<DecideAccessReviewItemRequest>,
    ) -> Result<Response<DecideAccessReviewItemResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.identity.store,
            IdentityApi::decide_access_review_item(self, request).await,
        )
        .await
    }

    async fn list_access_reviews(
        &self,
        request: Request<ListAccessReviewsRequest>,
    ) -> Result<Response<ListAccessReviewsResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.identity.store,
            IdentityApi::list_access_reviews(self, request).await,
        )
        .await
    }

    async fn get_access_review(
        &self,
        request: Request<GetAccessReviewRequest>,
    ) -> Result<Response<GetAccessReviewResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.identity.store,
            IdentityApi::get_access_review(self, request).await,
        )
        .await
    }
    async fn erase_data_subject(
        &self,
        request: Request<EraseDataSubjectRequest>,
    ) -> Result<Response<EraseDataSubjectResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.identity.store,
            IdentityApi::erase_data_subject(self, request).await,
        )
        .await
    }

    async fn approve_erasure(
        &self,
        request: Request<ApproveErasureRequest>,
    ) -> Result<Response<ApproveErasureResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.identity.store,
            IdentityApi::approve_erasure(self, request).await,
        )
        .await
    }

    async fn export_data_subject(
        &self,
        request: Request<ExportDataSubjectRequest>,
    ) -> Result<Response<ExportDataSubjectResponse>, Status> {
        tillit_api::reveal::revealed(
            &self.identity.store,
            IdentityApi::export_data_subject(self, request).await,
        )
        .await
    }
}
