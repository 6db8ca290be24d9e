//! Users, roles, deactivation, password reset, unlock and key retirement.

use tillit_api::Refusal;
use tillit_api::page::Page;
use tillit_auth::caller::ListScope;
use tillit_auth::layer::caller;
use tillit_auth::{Caller, Permission};
use tillit_kernel::{AggregateId, CommandRequest, Target, TenantId};
use tillit_proto::common::PageResponse;
use tillit_proto::identity::PrincipalStatus;
use tillit_proto::identity::{
    CreateUserRequest, CreateUserResponse, DeactivateUserRequest, DeactivateUserResponse,
    GetUserRequest, GetUserResponse, GrantRoleRequest, GrantRoleResponse, ListUsersRequest,
    ListUsersResponse, ResetPasswordRequest, ResetPasswordResponse, RetireSigningKeyRequest,
    RetireSigningKeyResponse, RevokeRoleRequest, RevokeRoleResponse, UnlockUserRequest,
    UnlockUserResponse, User as UserRow, UserCreated,
};
use tonic::{Request, Response, Status};

use super::errors::reservation;
use super::{IdentityApi, actor_of, email_key, meta, new_aggregate_id, status};
use crate::domain::credential::CredentialCommand;
use crate::domain::signing_key::SigningKeyCommand;
use crate::domain::user::UserCommand;
use crate::domain::validate;
use tillit_identity_views::UserFilter;

/// Default and largest page sizes of list queries.
const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 500;

pub(super) fn tenant_id(field: &'static str, raw: &str) -> Result<TenantId, Status> {
    TenantId::parse(raw, field).map_err(Status::from)
}

fn user_id(raw: &str) -> Result<AggregateId, Status> {
    AggregateId::parse(raw, "user_id").map_err(Status::from)
}

impl IdentityApi {
    /// NOT_FOUND unless the tenant exists (read from the log, not a projection).
    pub(super) async fn require_tenant(&self, tenant: &TenantId) -> Result<(), Status> {
        let id = AggregateId::parse(tenant.as_str(), "tenant_id")?;
        let (state, _) = self
            .identity
            .tenants
            .load(&self.identity.tenants.address(&TenantId::internal(), id))
            .await?;
        match state.created {
            Some(_) => Ok(()),
            None => Err(Refusal::NotFound("tenant").into()),
        }
    }

    /// The directory row of a user the caller may see, else NOT_FOUND.
    pub(super) async fn visible_user(
        &self,
        caller: &Caller,
        id: &AggregateId,
    ) -> Result<UserRow, Status> {
        // Perhaps created a moment ago by a caller that passed no token. Invisible and
        // missing users take the same path, so timing reveals nothing either.
        self.find("user", || {
            Ok(self.identity.directory.user(id.as_str())?.filter(|row| {
                TenantId::parse(&row.tenant_id, "user_id")
                    .is_ok_and(|tenant| caller.sees_tenant(&tenant))
            }))
        })
        .await
    }

    /// May the caller read users (of the tenants it sees)?
    fn require_user_reader(caller: &Caller) -> Result<(), Status> {
        Ok(caller.require_any(&[
            Permission::ManageUsers,
            Permission::ReadEverything,
            Permission::RunAccessReviews,
            // Recording a training names the person who took it.
            Permission::RecordTrainings,
            Permission::ReadOwnTenantUsers,
        ])?)
    }

    /// Runs a user command for an admin on a user it may see.
    async fn user_command<T>(
        &self,
        request: &Request<T>,
        raw_user_id: &str,
        name: &str,
        command: UserCommand,
    ) -> Result<tillit_proto::common::ConsistencyToken, Status> {
        let caller = caller(request)?;
        caller.require(Permission::ManageUsers)?;
        let id = user_id(raw_user_id)?;
        let row = self.visible_user(&caller, &id).await?;
        let executed = self
            .identity
            .users
            .execute(CommandRequest {
                tenant: tenant_id("user_id", &row.tenant_id)?,
                target: Target::Existing(id),
                name: name.into(),
                command,
                meta: meta(request, actor_of(&caller)),
            })
            .await
            .map_err(status)?;
        Ok(executed.consistency())
    }

    pub(super) async fn create_user(
        &self,
        request: Request<CreateUserRequest>,
    ) -> Result<Response<CreateUserResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        caller.require(Permission::ManageUsers)?;
        let body = request.get_ref();
        // Every field is checked before anything is written.
        let tenant = tenant_id("tenant_id", &body.tenant_id)?;
        let email = validate::email("email", &body.email)?;
        let display_name = tillit_api::text::line("display_name", &body.display_name, 200)?;
        let roles = validate::roles("roles", &body.roles, &tenant)?;
        let password = validate::password("temporary_password", &body.temporary_password)?;
        self.require_tenant(&tenant).await?;

        let command_meta = meta(&request, actor_of(&caller));
        let id = new_aggregate_id(&command_meta, &tenant, "user");
        let owner = self.identity.users.address(&tenant, id.clone());
        self.identity
            .reservations
            .reserve(
                &TenantId::internal(),
                &email_key(&self.identity.store, &email)?,
                &owner,
                command_meta.clone(),
            )
            .await
            .map_err(reservation)?;
        let created = UserCreated {
            user_id: id.as_str().to_owned(),
            tenant_id: tenant.as_str().to_owned(),
            email_lookup: self.identity.store.lookup(&email)?,
            email,
            display_name,
            roles: Vec::new(),
        };
        let executed = self
            .identity
            .users
            .execute(CommandRequest {
                tenant: tenant.clone(),
                target: Target::At(id.clone()),
                name: "tillit.identity.v1.CreateUser".into(),
                command: UserCommand::Create {
                    tenant_is_internal: tenant.is_internal(),
                    created,
                    roles,
                },
                meta: command_meta.clone(),
            })
            .await
            .map_err(status)?;
        let hash = self.hash(password).await?;
        self.identity
            .credentials
            .execute(CommandRequest {
                tenant,
                target: Target::At(id),
                name: "tillit.identity.v1.CreateUser".into(),
                command: CredentialCommand::SetInitial {
                    hash,
                    temporary: true,
                },
                meta: command_meta,
            })
            .await
            .map_err(status)?;
        let user = executed.events.first().and_then(|event| match event {
            crate::domain::user::UserEvent::Created(e) => Some(UserRow {
                user_id: e.user_id.clone(),
                tenant_id: e.tenant_id.clone(),
                email: e.email.clone(),
                display_name: e.display_name.clone(),
                roles: tillit_identity_views::directory::words_to_roles(&e.roles),
                status: PrincipalStatus::Active.into(),
            }),
            _ => None,
        });
        Ok(Response::new(CreateUserResponse {
            user,
            consistency: Some(executed.consistency()),
        }))
    }

    pub(super) async fn get_user(
        &self,
        request: Request<GetUserRequest>,
    ) -> Result<Response<GetUserResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        let id = user_id(&request.get_ref().user_id)?;
        if id.as_str() != caller.subject {
            Self::require_user_reader(&caller)?;
        }
        let user = self.visible_user(&caller, &id).await?;
        Ok(Response::new(GetUserResponse { user: Some(user) }))
    }

    pub(super) async fn list_users(
        &self,
        request: Request<ListUsersRequest>,
    ) -> Result<Response<ListUsersResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        Self::require_user_reader(&caller)?;
        let body = request.get_ref();
        let requested = match body.tenant_id.as_str() {
            "" => None,
            raw => Some(tenant_id("tenant_id", raw)?),
        };
        let role = validate::role_filter("role", body.role)?;
        let status_filter: Option<PrincipalStatus> =
            tillit_api::vocabulary::optional("status", body.status)?;
        let tenant = match caller.list_scope(requested) {
            ListScope::All => None,
            ListScope::Tenant(tenant) => Some(tenant.as_str().to_owned()),
            ListScope::Nothing => {
                return Ok(Response::new(ListUsersResponse {
                    users: Vec::new(),
                    page: Some(PageResponse::default()),
                }));
            }
        };
        let filter = UserFilter {
            tenant,
            role,
            status: status_filter,
        };
        let page = Page::of(body.page.as_ref(), DEFAULT_PAGE, MAX_PAGE)?;
        let after_key = page.cursor(|raw| raw.split_once('\u{0}'))?;
        let users = self
            .identity
            .directory
            .users(&filter, after_key, page.limit)?;
        let next = page.next(&users, |u| format!("{}\u{0}{}", u.tenant_id, u.user_id));
        Ok(Response::new(ListUsersResponse { users, page: next }))
    }

    pub(super) async fn grant_role(
        &self,
        request: Request<GrantRoleRequest>,
    ) -> Result<Response<GrantRoleResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let role = validate::role("role", request.get_ref().role)?;
        let consistency = self
            .user_command(
                &request,
                &request.get_ref().user_id,
                "tillit.identity.v1.GrantRole",
                UserCommand::Grant(role),
            )
            .await?;
        Ok(Response::new(GrantRoleResponse {
            consistency: Some(consistency),
        }))
    }

    pub(super) async fn revoke_role(
        &self,
        request: Request<RevokeRoleRequest>,
    ) -> Result<Response<RevokeRoleResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let role = validate::role("role", request.get_ref().role)?;
        let consistency = self
            .user_command(
                &request,
                &request.get_ref().user_id,
                "tillit.identity.v1.RevokeRole",
                UserCommand::Revoke(role),
            )
            .await?;
        Ok(Response::new(RevokeRoleResponse {
            consistency: Some(consistency),
        }))
    }

    pub(super) async fn deactivate_user(
        &self,
        request: Request<DeactivateUserRequest>,
    ) -> Result<Response<DeactivateUserResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let consistency = self
            .user_command(
                &request,
                &request.get_ref().user_id,
                "tillit.identity.v1.DeactivateUser",
                UserCommand::Deactivate,
            )
            .await?;
        Ok(Response::new(DeactivateUserResponse {
            consistency: Some(consistency),
        }))
    }

    pub(super) async fn reset_password(
        &self,
        request: Request<ResetPasswordRequest>,
    ) -> Result<Response<ResetPasswordResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        caller.require(Permission::ManageUsers)?;
        let id = user_id(&request.get_ref().user_id)?;
        let password =
            validate::password("temporary_password", &request.get_ref().temporary_password)?;
        let row = self.visible_user(&caller, &id).await?;
        let tenant = tenant_id("user_id", &row.tenant_id)?;
        let hash = self.hash(password).await?;
        let change = super::credentials::PasswordChange {
            tenant,
            user_id: id,
            hash,
            temporary: true,
            reason: "password reset by an admin",
        };
        let consistency = self
            .set_password(&request, actor_of(&caller), change)
            .await?;
        Ok(Response::new(ResetPasswordResponse {
            consistency: Some(consistency),
        }))
    }

    pub(super) async fn unlock_user(
        &self,
        request: Request<UnlockUserRequest>,
    ) -> Result<Response<UnlockUserResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        caller.require(Permission::UnlockAccounts)?;
        let id = user_id(&request.get_ref().user_id)?;
        // A user by its e-mail, a service account by its client id (= its id).
        let (tenant, account) = match self.identity.directory.user(id.as_str())? {
            Some(_) => {
                let row = self.visible_user(&caller, &id).await?;
                let email = self.identity.store.vault()?.reveal_text(&row.email).await?;
                (tenant_id("user_id", &row.tenant_id)?, email)
            }
            None => match self.visible_service_account(&caller, id.as_str()).await {
                Ok((_, tenant, _)) => (tenant, id.as_str().to_owned()),
                Err(_) => {
                    // Perhaps a user created a moment ago: the user lookup catches up, and
                    // answers NOT_FOUND for neither, like for any missing user.
                    let row = self.visible_user(&caller, &id).await?;
                    let email = self.identity.store.vault()?.reveal_text(&row.email).await?;
                    (tenant_id("user_id", &row.tenant_id)?, email)
                }
            },
        };
        self.identity
            .credentials
            .execute(CommandRequest {
                tenant,
                target: Target::At(id),
                name: "tillit.identity.v1.UnlockUser".into(),
                command: CredentialCommand::LiftThrottle,
                meta: meta(&request, actor_of(&caller)),
            })
            .await
            .map_err(status)?;
        self.identity.throttle.lift(&account).await;
        // Credentials positions never appear in tokens.
        Ok(Response::new(UnlockUserResponse {
            consistency: Some(Default::default()),
        }))
    }

    pub(super) async fn retire_signing_key(
        &self,
        request: Request<RetireSigningKeyRequest>,
    ) -> Result<Response<RetireSigningKeyResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        caller.require(Permission::ManageSigningKeys)?;
        let kid = AggregateId::parse(&request.get_ref().kid, "kid")?;
        let executed = self
            .identity
            .keys
            .execute(CommandRequest {
                tenant: TenantId::internal(),
                target: Target::Existing(kid),
                name: "tillit.identity.v1.RetireSigningKey".into(),
                command: SigningKeyCommand::Retire,
                meta: meta(&request, actor_of(&caller)),
            })
            .await
            .map_err(status)?;
        Ok(Response::new(RetireSigningKeyResponse {
            consistency: Some(executed.consistency()),
        }))
    }
}
