//! Sessions: Login, Refresh, Logout and WhoAmI; access and refresh tokens issued.

use tillit_api::Refusal;
use tillit_auth::layer::caller;
use tillit_kernel::clock::to_timestamp;
use tillit_kernel::{AggregateAddress, AggregateId, CommandMeta, CommandRequest, Target, TenantId};
use tillit_proto::common::{Actor, ConsistencyToken};
use tillit_proto::identity::{
    LoginRequest, LoginResponse, LogoutRequest, LogoutResponse, RefreshChainStarted,
    RefreshRequest, RefreshResponse, SessionEnded, WhoAmIRequest, WhoAmIResponse,
};
use tonic::{Request, Response, Status};

use super::{IdentityApi, meta, status};
use crate::domain::refresh::{RefreshCommand, RefreshEvent, RefreshState};
use crate::domain::user::UserCommand;
use crate::domain::validate;
use crate::tokens::{self, RefreshToken};

use super::credentials::{Authenticated, self_actor};
use super::errors::refresh_refused;
/// Tokens issued at a login or refresh.
struct Issued {
    access_token: String,
    refresh_token: String,
    expires_in: u32,
}

impl IdentityApi {
    /// Signs an access token for a principal's current roles and session version.
    pub(super) fn access_token(
        &self,
        tenant: &TenantId,
        subject: &AggregateId,
        roles: &std::collections::BTreeSet<tillit_auth::Role>,
        session_version: u64,
        session_id: Option<&AggregateId>,
    ) -> Result<(String, u32), Status> {
        let identity = &self.identity;
        let ttl = identity.config.access_token_ttl;
        let grant = tokens::Grant {
            subject: subject.as_str().to_owned(),
            tenant: tenant.as_str().to_owned(),
            roles: roles.iter().map(|r| r.as_str().to_owned()).collect(),
            session_version,
            session_id: session_id.map(|id| id.as_str().to_owned()),
        };
        let token = tokens::access_token(
            &identity.signing,
            &identity.config.platform.issuer,
            grant,
            identity.store.clock().now(),
            ttl,
        )
        .map_err(Status::internal)?;
        Ok((token, u32::try_from(ttl.as_secs()).unwrap_or(u32::MAX)))
    }

    /// Starts a refresh chain and signs the access token of a fresh login.
    async fn issue<T>(
        &self,
        request: &Request<T>,
        account: &Authenticated,
    ) -> Result<Issued, Status> {
        let identity = &self.identity;
        let chain_id = AggregateId::generate();
        let refresh = RefreshToken::new(account.tenant.as_str(), chain_id.as_str());
        let expires_at = identity.store.clock().now() + identity.config.refresh_token_ttl;
        identity
            .chains
            .execute(CommandRequest {
                tenant: account.tenant.clone(),
                target: Target::At(chain_id.clone()),
                name: "tillit.identity.v1.Login".into(),
                command: RefreshCommand::Start(RefreshChainStarted {
                    user_id: account.user_id.as_str().to_owned(),
                    token_hash: refresh.hash(),
                    session_version: account.user.session_version,
                    expires_at: Some(to_timestamp(expires_at)),
                }),
                meta: CommandMeta {
                    idempotency_key: None,
                    ..meta(request, self.user_actor(account))
                },
            })
            .await
            .map_err(status)?;
        let (access_token, expires_in) = self.access_token(
            &account.tenant,
            &account.user_id,
            &account.user.roles,
            account.user.session_version,
            Some(&chain_id),
        )?;
        Ok(Issued {
            access_token,
            refresh_token: refresh.encode(),
            expires_in,
        })
    }

    pub(super) fn user_actor(&self, account: &Authenticated) -> Actor {
        Actor {
            subject: account.user_id.as_str().to_owned(),
            tenant: account.tenant.as_str().to_owned(),
            roles: account
                .user
                .roles
                .iter()
                .map(|r| r.as_str().to_owned())
                .collect(),
            on_behalf_of: String::new(),
        }
    }

    pub(super) async fn login(
        &self,
        request: Request<LoginRequest>,
    ) -> Result<Response<LoginResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let email = validate::email("email", &request.get_ref().email)?;
        let (account, failed_attempts_before) = self
            .authenticate_password(&request, &email, &request.get_ref().password)
            .await?;
        if account.credential.temporary {
            return Err(Refusal::Precondition(
                "password change required: call ChangePassword with the temporary password".into(),
            )
            .into());
        }
        let issued = self.issue(&request, &account).await?;
        Ok(Response::new(LoginResponse {
            access_token: issued.access_token,
            refresh_token: issued.refresh_token,
            expires_in: issued.expires_in,
            // Credentials positions never appear in tokens.
            consistency: Some(ConsistencyToken::default()),
            failed_attempts_before,
        }))
    }

    /// The chain a presented refresh token names, or UNAUTHENTICATED.
    fn chain_of(&self, raw: &str) -> Result<(RefreshToken, TenantId, AggregateId), Status> {
        let refused = refresh_refused;
        let token = RefreshToken::parse(raw).ok_or_else(refused)?;
        let tenant = TenantId::parse(&token.tenant, "refresh_token").map_err(|_| refused())?;
        let chain_id =
            AggregateId::parse(&token.chain_id, "refresh_token").map_err(|_| refused())?;
        Ok((token, tenant, chain_id))
    }

    pub(super) async fn refresh(
        &self,
        request: Request<RefreshRequest>,
    ) -> Result<Response<RefreshResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let identity = &self.identity;
        let (presented, tenant, chain_id) = self.chain_of(&request.get_ref().refresh_token)?;
        let (chain, _) = identity
            .chains
            .load(&identity.chains.address(&tenant, chain_id.clone()))
            .await?;
        let user_id =
            AggregateId::parse(&chain.user_id, "user_id").map_err(|_| refresh_refused())?;
        let (user, _) = identity
            .users
            .load(&identity.users.address(&tenant, user_id.clone()))
            .await?;
        let next = RefreshToken::new(tenant.as_str(), chain_id.as_str());
        let rotate = RefreshCommand::Rotate {
            presented: presented.hash(),
            next: next.hash(),
            expires_at: identity.store.clock().now() + identity.config.refresh_token_ttl,
            session_version: user.active.then_some(user.session_version),
        };
        let rotated = self
            .chain_command(
                &request,
                (&tenant, chain_id.clone()),
                user_id.as_str(),
                "tillit.identity.v1.Refresh",
                rotate,
            )
            .await?;
        if let Some(RefreshEvent::Revoked(revoked)) = rotated.events.first() {
            // A rotated token presented again: the thief's access tokens die too.
            self.end_session(&request, (&tenant, &user_id), &chain_id, &revoked.reason)
                .await?;
            return Err(Refusal::Unauthenticated(format!(
                "refresh token refused; the chain was revoked: {}",
                revoked.reason
            ))
            .into());
        }
        let (access_token, expires_in) = self.access_token(
            &tenant,
            &user_id,
            &user.roles,
            user.session_version,
            Some(&chain_id),
        )?;
        Ok(Response::new(RefreshResponse {
            access_token,
            refresh_token: next.encode(),
            expires_in,
            consistency: Some(ConsistencyToken::default()),
        }))
    }

    /// Runs a command on a refresh chain; a chain that does not exist is an invalid token.
    async fn chain_command<T>(
        &self,
        request: &Request<T>,
        (tenant, chain_id): (&TenantId, AggregateId),
        user_id: &str,
        name: &str,
        command: RefreshCommand,
    ) -> Result<tillit_kernel::Executed<RefreshEvent, RefreshState>, Status> {
        self.identity
            .chains
            .execute(CommandRequest {
                tenant: tenant.clone(),
                target: Target::Existing(chain_id),
                name: name.into(),
                command,
                meta: CommandMeta {
                    idempotency_key: None,
                    ..meta(request, self_actor(user_id, tenant))
                },
            })
            .await
            .map_err(|e| match e {
                tillit_kernel::ExecuteError::Kernel(tillit_kernel::KernelError::NotFound(_)) => {
                    refresh_refused()
                }
                other => status(other),
            })
    }

    pub(super) async fn logout(
        &self,
        request: Request<LogoutRequest>,
    ) -> Result<Response<LogoutResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let identity = &self.identity;
        let (presented, tenant, chain_id) = self.chain_of(&request.get_ref().refresh_token)?;
        let (chain, _) = identity
            .chains
            .load(&identity.chains.address(&tenant, chain_id.clone()))
            .await?;
        let revoke = RefreshCommand::Revoke {
            presented: presented.hash(),
            reason: "logout",
        };
        // A chain already ended refuses this, so a dead token appends nothing.
        self.chain_command(
            &request,
            (&tenant, chain_id.clone()),
            &chain.user_id,
            "tillit.identity.v1.Logout",
            revoke,
        )
        .await?;
        let user_id =
            AggregateId::parse(&chain.user_id, "refresh_token").map_err(|_| refresh_refused())?;
        let ended = self
            .end_session(&request, (&tenant, &user_id), &chain_id, "logout")
            .await?;
        Ok(Response::new(LogoutResponse {
            consistency: Some(ended),
        }))
    }

    /// Ends a session in IDENTITY, so every service refuses its access tokens at once.
    async fn end_session<T>(
        &self,
        request: &Request<T>,
        (tenant, user_id): (&TenantId, &AggregateId),
        session_id: &AggregateId,
        reason: &str,
    ) -> Result<ConsistencyToken, Status> {
        let identity = &self.identity;
        // Every access token of the session was issued before now and lives at most the
        // configured lifetime (plus the verifiers' leeway).
        let tokens_expire_by = identity.store.clock().now()
            + identity.config.access_token_ttl
            + std::time::Duration::from_secs(tillit_auth::verifier::LEEWAY_SECONDS);
        let ended = identity
            .users
            .execute(CommandRequest {
                tenant: tenant.clone(),
                target: Target::Existing(user_id.clone()),
                name: "tillit.identity.v1.EndSession".into(),
                command: UserCommand::EndSession(SessionEnded {
                    session_id: session_id.as_str().to_owned(),
                    tokens_expire_by: Some(to_timestamp(tokens_expire_by)),
                    reason: reason.to_owned(),
                }),
                meta: CommandMeta {
                    idempotency_key: None,
                    ..meta(request, self_actor(user_id.as_str(), tenant))
                },
            })
            .await
            .map_err(status)?;
        Ok(ended.consistency())
    }

    pub(super) async fn who_am_i(
        &self,
        request: Request<WhoAmIRequest>,
    ) -> Result<Response<WhoAmIResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        let user_id = AggregateId::parse(&caller.subject, "sub")
            .map_err(|_| Refusal::Unauthenticated("the token's subject is not an id".into()))?;
        let address: AggregateAddress =
            self.identity.users.address(&caller.tenant, user_id.clone());
        let (user, _) = self.identity.users.load(&address).await?;
        let (email, display_name) = match user.created {
            Some(created) => (created.email, created.display_name),
            None => {
                // Not a user: a service account.
                let address = self
                    .identity
                    .service_accounts
                    .address(&caller.tenant, user_id);
                let (account, _) = self.identity.service_accounts.load(&address).await?;
                (
                    String::new(),
                    account.created.map(|c| c.name).unwrap_or_default(),
                )
            }
        };
        Ok(Response::new(WhoAmIResponse {
            subject: caller.subject,
            tenant_id: caller.tenant.as_str().to_owned(),
            roles: caller.roles.iter().map(|r| r.wire().into()).collect(),
            session_version: caller.session_version,
            expires_at: Some(prost_types::Timestamp {
                seconds: caller.expires_at,
                nanos: 0,
            }),
            email,
            display_name,
        }))
    }
}
