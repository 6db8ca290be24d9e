//! The gRPC service: every method is the handler of the same name, its answer passed
//! through the vault on the way out (personal values opened, an erased subject's as
//! `[erased]`).

use tillit_proto::identity::identity_service_server::IdentityService;
use tillit_proto::identity::*;
use tonic::{Request, Response, Status};

use super::IdentityApi;

/// `impl IdentityService`: each `method(Request) -> Response;` delegates to
/// `IdentityApi::method` and reveals its answer.
macro_rules! revealed {
    ($($method:ident($request:ty) -> $response:ty;)*) => {
        #[tonic::async_trait]
        impl IdentityService for IdentityApi {
            $(
                async fn $method(
                    &self,
                    request: Request<$request>,
                ) -> Result<Response<$response>, Status> {
                    tillit_api::reveal::revealed(
                        &self.identity.store,
                        IdentityApi::$method(self, request).await,
                    )
                    .await
                }
            )*
        }
    };
}

revealed! {
    login(LoginRequest) -> LoginResponse;
    refresh(RefreshRequest) -> RefreshResponse;
    logout(LogoutRequest) -> LogoutResponse;
    change_password(ChangePasswordRequest) -> ChangePasswordResponse;
    who_am_i(WhoAmIRequest) -> WhoAmIResponse;
    create_tenant(CreateTenantRequest) -> CreateTenantResponse;
    update_tenant(UpdateTenantRequest) -> UpdateTenantResponse;
    get_tenant(GetTenantRequest) -> GetTenantResponse;
    list_tenants(ListTenantsRequest) -> ListTenantsResponse;
    create_user(CreateUserRequest) -> CreateUserResponse;
    get_user(GetUserRequest) -> GetUserResponse;
    list_users(ListUsersRequest) -> ListUsersResponse;
    grant_role(GrantRoleRequest) -> GrantRoleResponse;
    revoke_role(RevokeRoleRequest) -> RevokeRoleResponse;
    deactivate_user(DeactivateUserRequest) -> DeactivateUserResponse;
    reset_password(ResetPasswordRequest) -> ResetPasswordResponse;
    unlock_user(UnlockUserRequest) -> UnlockUserResponse;
    retire_signing_key(RetireSigningKeyRequest) -> RetireSigningKeyResponse;
    create_service_account(CreateServiceAccountRequest) -> CreateServiceAccountResponse;
    rotate_service_account_secret(RotateServiceAccountSecretRequest) -> RotateServiceAccountSecretResponse;
    deactivate_service_account(DeactivateServiceAccountRequest) -> DeactivateServiceAccountResponse;
    list_service_accounts(ListServiceAccountsRequest) -> ListServiceAccountsResponse;
    issue_service_token(IssueServiceTokenRequest) -> IssueServiceTokenResponse;
    publish_policy(PublishPolicyRequest) -> PublishPolicyResponse;
    get_policy(GetPolicyRequest) -> GetPolicyResponse;
    list_policies(ListPoliciesRequest) -> ListPoliciesResponse;
    list_policy_versions(ListPolicyVersionsRequest) -> ListPolicyVersionsResponse;
    acknowledge_policy(AcknowledgePolicyRequest) -> AcknowledgePolicyResponse;
    get_policy_coverage(GetPolicyCoverageRequest) -> GetPolicyCoverageResponse;
    record_training(RecordTrainingRequest) -> RecordTrainingResponse;
    get_training_gaps(GetTrainingGapsRequest) -> GetTrainingGapsResponse;
    start_access_review(StartAccessReviewRequest) -> StartAccessReviewResponse;
    decide_access_review_item(DecideAccessReviewItemRequest) -> DecideAccessReviewItemResponse;
    list_access_reviews(ListAccessReviewsRequest) -> ListAccessReviewsResponse;
    get_access_review(GetAccessReviewRequest) -> GetAccessReviewResponse;
    erase_data_subject(EraseDataSubjectRequest) -> EraseDataSubjectResponse;
    approve_erasure(ApproveErasureRequest) -> ApproveErasureResponse;
    list_erasures(ListErasuresRequest) -> ListErasuresResponse;
    export_data_subject(ExportDataSubjectRequest) -> ExportDataSubjectResponse;
    list_training_courses(ListTrainingCoursesRequest) -> ListTrainingCoursesResponse;
}
