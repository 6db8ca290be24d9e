//! Service accounts: create, rotate the secret, deactivate, list, and issue tokens.

use base64::Engine;
use rand::RngCore;
use tillit_api::Refusal;
use tillit_auth::Permission;
use tillit_auth::layer::caller;
use tillit_kernel::{AggregateId, CommandRequest, Target, TenantId};
use tillit_proto::common::ConsistencyToken;
use tillit_proto::identity::{
    CreateServiceAccountRequest, CreateServiceAccountResponse, DeactivateServiceAccountRequest,
    DeactivateServiceAccountResponse, IssueServiceTokenRequest, IssueServiceTokenResponse,
    ListServiceAccountsRequest, ListServiceAccountsResponse, RotateServiceAccountSecretRequest,
    RotateServiceAccountSecretResponse, ServiceAccount as ServiceAccountRow, ServiceAccountCreated,
};
use tonic::{Request, Response, Status};

use super::errors::reservation;
use super::{IdentityApi, actor_of, meta, new_aggregate_id, status};
use crate::domain::credential::CredentialCommand;
use crate::domain::service_account::ServiceAccountCommand;
use crate::domain::validate;

/// The reservation key that finds a service account by its client id.
fn client_key(client_id: &str) -> String {
    format!("client:{client_id}")
}

/// A random 256-bit secret, base64url.
fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Where a service account lives, from the owner subject of its client-id reservation.
fn account_of_subject(subject: &str) -> Option<(TenantId, AggregateId)> {
    let mut parts = subject.split('.');
    match (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) {
        (Some("tillit"), Some("identity"), Some(tenant), Some("service_account"), Some(id)) => {
            Some((
                TenantId::parse(tenant, "tenant").ok()?,
                AggregateId::parse(id, "client_id").ok()?,
            ))
        }
        _ => None,
    }
}

impl IdentityApi {
    /// The directory row of a service account the caller may see, else NOT_FOUND.
    pub(super) async fn visible_service_account(
        &self,
        caller: &tillit_auth::Caller,
        raw_id: &str,
    ) -> Result<(AggregateId, TenantId, ServiceAccountRow), Status> {
        let id = AggregateId::parse(raw_id, "service_account_id")?;
        let row = self
            .find("service account", || {
                Ok(self
                    .identity
                    .directory
                    .service_account(id.as_str())?
                    .filter(|row| {
                        TenantId::parse(&row.tenant_id, "service_account_id")
                            .is_ok_and(|tenant| caller.sees_tenant(&tenant))
                    }))
            })
            .await?;
        let tenant = TenantId::parse(&row.tenant_id, "service_account_id")?;
        Ok((id, tenant, row))
    }

    /// Stores a new secret's hash for the account (after raising its session version).
    async fn store_secret<T>(
        &self,
        request: &Request<T>,
        tenant: &TenantId,
        id: &AggregateId,
        secret: String,
        initial: bool,
    ) -> Result<(), Status> {
        let hash = self.hash(secret).await?;
        let command = if initial {
            CredentialCommand::SetInitial {
                hash,
                temporary: false,
            }
        } else {
            CredentialCommand::Set {
                hash,
                temporary: false,
            }
        };
        let caller = caller(request)?;
        self.identity
            .credentials
            .execute(CommandRequest {
                tenant: tenant.clone(),
                target: Target::At(id.clone()),
                name: "tillit.identity.v1.SetServiceAccountSecret".into(),
                command,
                meta: meta(request, actor_of(&caller)),
            })
            .await
            .map_err(status)?;
        Ok(())
    }

    pub(super) async fn create_service_account(
        &self,
        request: Request<CreateServiceAccountRequest>,
    ) -> Result<Response<CreateServiceAccountResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        caller.require(Permission::ManageServiceAccounts)?;
        let body = request.get_ref();
        let tenant = TenantId::parse(&body.tenant_id, "tenant_id")?;
        let name = tillit_api::text::line("name", &body.name, 200)?;
        let roles = validate::roles("roles", &body.roles, &tenant)?;
        self.require_tenant(&tenant).await?;

        let command_meta = meta(&request, actor_of(&caller));
        let id = new_aggregate_id(&command_meta, &tenant, "service-account");
        let owner = self.identity.service_accounts.address(&tenant, id.clone());
        self.identity
            .reservations
            .reserve(
                &TenantId::internal(),
                &client_key(id.as_str()),
                &owner,
                command_meta.clone(),
            )
            .await
            .map_err(reservation)?;
        let executed = self
            .identity
            .service_accounts
            .execute(CommandRequest {
                tenant: tenant.clone(),
                target: Target::At(id.clone()),
                name: "tillit.identity.v1.CreateServiceAccount".into(),
                command: ServiceAccountCommand::Create {
                    tenant_is_internal: tenant.is_internal(),
                    created: ServiceAccountCreated {
                        service_account_id: id.as_str().to_owned(),
                        tenant_id: tenant.as_str().to_owned(),
                        name: name.clone(),
                        roles: Vec::new(),
                    },
                    roles: roles.clone(),
                },
                meta: command_meta,
            })
            .await
            .map_err(status)?;
        if executed.replayed {
            return Err(Refusal::AlreadyExists(format!(
                "service account {id} already created with this idempotency key; its secret was shown then (rotate it to get a new one)"
            ))
            .into());
        }
        let secret = new_secret();
        self.store_secret(&request, &tenant, &id, secret.clone(), true)
            .await?;
        Ok(Response::new(CreateServiceAccountResponse {
            service_account: Some(ServiceAccountRow {
                service_account_id: id.as_str().to_owned(),
                tenant_id: tenant.as_str().to_owned(),
                name,
                roles: roles.iter().map(|r| r.wire().into()).collect(),
                status: tillit_proto::identity::PrincipalStatus::Active.into(),
            }),
            client_id: id.as_str().to_owned(),
            client_secret: secret,
            consistency: Some(executed.consistency()),
        }))
    }

    pub(super) async fn rotate_service_account_secret(
        &self,
        request: Request<RotateServiceAccountSecretRequest>,
    ) -> Result<Response<RotateServiceAccountSecretResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        caller.require(Permission::ManageServiceAccounts)?;
        let (id, tenant, _) = self
            .visible_service_account(&caller, &request.get_ref().service_account_id)
            .await?;
        let executed = self
            .identity
            .service_accounts
            .execute(CommandRequest {
                tenant: tenant.clone(),
                target: Target::Existing(id.clone()),
                name: "tillit.identity.v1.RotateServiceAccountSecret".into(),
                command: ServiceAccountCommand::RotateSecret,
                meta: meta(&request, actor_of(&caller)),
            })
            .await
            .map_err(status)?;
        let secret = new_secret();
        self.store_secret(&request, &tenant, &id, secret.clone(), false)
            .await?;
        // A new secret starts with a clean slate: its owner is not throttled by the old one.
        self.identity.throttle.lift(id.as_str()).await;
        Ok(Response::new(RotateServiceAccountSecretResponse {
            client_secret: secret,
            consistency: Some(executed.consistency()),
        }))
    }

    pub(super) async fn deactivate_service_account(
        &self,
        request: Request<DeactivateServiceAccountRequest>,
    ) -> Result<Response<DeactivateServiceAccountResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        caller.require(Permission::ManageServiceAccounts)?;
        let (id, tenant, _) = self
            .visible_service_account(&caller, &request.get_ref().service_account_id)
            .await?;
        let consistency = self.deactivate_account(&request, &tenant, &id).await?;
        Ok(Response::new(DeactivateServiceAccountResponse {
            consistency: Some(consistency),
        }))
    }

    /// Deactivates a service account (also an access-review revocation).
    pub(super) async fn deactivate_account<T>(
        &self,
        request: &Request<T>,
        tenant: &TenantId,
        id: &AggregateId,
    ) -> Result<ConsistencyToken, Status> {
        let caller = caller(request)?;
        let executed = self
            .identity
            .service_accounts
            .execute(CommandRequest {
                tenant: tenant.clone(),
                target: Target::Existing(id.clone()),
                name: "tillit.identity.v1.DeactivateServiceAccount".into(),
                command: ServiceAccountCommand::Deactivate,
                meta: meta(request, actor_of(&caller)),
            })
            .await
            .map_err(status)?;
        Ok(executed.consistency())
    }

    pub(super) async fn list_service_accounts(
        &self,
        request: Request<ListServiceAccountsRequest>,
    ) -> Result<Response<ListServiceAccountsResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        caller.require_any(&[
            Permission::ManageServiceAccounts,
            Permission::ReadEverything,
            Permission::RunAccessReviews,
        ])?;
        let requested = match request.get_ref().tenant_id.as_str() {
            "" => None,
            raw => Some(TenantId::parse(raw, "tenant_id")?),
        };
        let service_accounts = match caller.list_scope(requested) {
            tillit_auth::caller::ListScope::All => {
                self.identity.directory.service_accounts(None)?
            }
            tillit_auth::caller::ListScope::Tenant(t) => {
                self.identity.directory.service_accounts(Some(t.as_str()))?
            }
            tillit_auth::caller::ListScope::Nothing => Vec::new(),
        };
        Ok(Response::new(ListServiceAccountsResponse {
            service_accounts,
        }))
    }

    pub(super) async fn issue_service_token(
        &self,
        request: Request<IssueServiceTokenRequest>,
    ) -> Result<Response<IssueServiceTokenResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let refused = || Status::from(Refusal::Unauthenticated("wrong client id or secret".into()));
        let client_id =
            AggregateId::parse(&request.get_ref().client_id, "client_id").map_err(|_| refused())?;
        let address = self.client_address(&request).await?;
        self.identity
            .throttle
            .check(client_id.as_str(), address)
            .map_err(|wait| {
                self.identity.lockouts.inc();
                super::errors::throttled(wait)
            })?;
        let holder = self
            .identity
            .reservations
            .holder(&TenantId::internal(), &client_key(client_id.as_str()))
            .await?;
        let found = holder.as_deref().and_then(account_of_subject);
        let account = match &found {
            Some((tenant, id)) => Some(
                self.identity
                    .service_accounts
                    .load(&self.identity.service_accounts.address(tenant, id.clone()))
                    .await?
                    .0,
            ),
            None => None,
        };
        let claimed = super::credentials::Claimed {
            account: client_id.as_str().to_owned(),
            principal: found
                .clone()
                .zip(account.as_ref())
                .map(|((tenant, id), account)| (tenant, id, account.active)),
        };
        let checked = self
            .check_secret(
                &request,
                address,
                &claimed,
                &request.get_ref().client_secret,
            )
            .await?;
        let (Some((tenant, id)), Some(account), Some(_)) = (found, account, checked) else {
            return Err(refused());
        };
        let (access_token, expires_in) =
            self.access_token(&tenant, &id, &account.roles, account.session_version, None)?;
        Ok(Response::new(IssueServiceTokenResponse {
            access_token,
            expires_in,
        }))
    }
}
