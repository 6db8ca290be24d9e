//! Login, Refresh, Logout, ChangePassword and WhoAmI.

use std::net::{IpAddr, Ipv6Addr};

use tillit_api::Refusal;
use tillit_auth::layer::caller;
use tillit_kernel::clock::to_timestamp;
use tillit_kernel::{AggregateAddress, AggregateId, CommandMeta, CommandRequest, Target, TenantId};
use tillit_proto::common::{Actor, ConsistencyToken};
use tillit_proto::identity::{
    ChangePasswordRequest, ChangePasswordResponse, LoginRequest, LoginResponse, LogoutRequest,
    LogoutResponse, RefreshChainStarted, RefreshRequest, RefreshResponse, SessionEnded,
    WhoAmIRequest, WhoAmIResponse,
};
use tonic::{Request, Response, Status};

use super::errors::throttled;
use super::{IdentityApi, email_key, meta, status, user_of_subject};
use crate::domain::DomainError;
use crate::domain::credential::{CredentialCommand, CredentialState};
use crate::domain::refresh::{RefreshCommand, RefreshEvent, RefreshState};
use crate::domain::user::{UserCommand, UserState};
use crate::domain::validate;
use crate::passwords;
use crate::tokens::{self, RefreshToken};

/// The same answer for an unknown e-mail and a wrong password, so neither is revealed.
pub(super) const WRONG_CREDENTIALS: &str = "wrong e-mail or password";

/// The metadata in which a trusted forwarder states the end user's address.
pub const CLIENT_ADDRESS_HEADER: &str = "x-tillit-client-address";

/// The answer to a wrong e-mail, password or client secret: never says which.
fn wrong_credentials() -> Status {
    Refusal::Unauthenticated(WRONG_CREDENTIALS.into()).into()
}

/// A user whose password was just proven.
pub(super) struct Authenticated {
    pub tenant: TenantId,
    pub user_id: AggregateId,
    pub user: UserState,
    pub credential: CredentialState,
}

/// A new password hash for a user.
pub(super) struct PasswordChange {
    pub tenant: TenantId,
    pub user_id: AggregateId,
    pub hash: String,
    pub temporary: bool,
    pub reason: &'static str,
}

/// The actor of a principal acting for itself before it holds a token (login, refresh).
fn self_actor(subject: &str, tenant: &TenantId) -> Actor {
    Actor {
        subject: subject.to_owned(),
        tenant: tenant.as_str().to_owned(),
        roles: Vec::new(),
        on_behalf_of: String::new(),
    }
}

/// Tokens issued at a login or refresh.
struct Issued {
    access_token: String,
    refresh_token: String,
    expires_in: u32,
}

/// An account a sign-in names, as far as it exists.
pub(super) struct Claimed {
    /// The throttle's account key: the normalised e-mail or the client id as submitted.
    pub account: String,
    /// Tenant, principal id and whether it is active; `None` for an unknown account.
    pub principal: Option<(TenantId, AggregateId, bool)>,
}

impl IdentityApi {
    /// The client address a public call counts under: the connection's peer, or the
    /// `x-tillit-client-address` a trusted forwarder (the portal, by its service-account
    /// token) states for the person behind it.
    pub(super) async fn client_address<T>(&self, request: &Request<T>) -> Result<IpAddr, Status> {
        let peer = request
            .remote_addr()
            .map_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED), |a| a.ip());
        let Some(stated) = request.metadata().get(CLIENT_ADDRESS_HEADER) else {
            return Ok(peer);
        };
        let stated: IpAddr = stated
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| DomainError::invalid(CLIENT_ADDRESS_HEADER, "must be an IP address"))?;
        let bearer = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let forwarder = match bearer {
            Some(token) => self
                .identity
                .verifier
                .authenticate_fresh(token.trim())
                .await
                .ok(),
            None => None,
        };
        match forwarder {
            Some(caller)
                if self
                    .identity
                    .config
                    .trusted_forwarders
                    .contains(&caller.subject) =>
            {
                Ok(stated)
            }
            _ => Err(Refusal::PermissionDenied(format!(
                "{CLIENT_ADDRESS_HEADER} is only accepted from a trusted forwarder's token"
            ))
            .into()),
        }
    }

    /// Checks e-mail and password under the throttle. An unknown e-mail costs and answers
    /// exactly what a wrong password does.
    pub(super) async fn authenticate_password<T>(
        &self,
        request: &Request<T>,
        email: &str,
        password: &str,
    ) -> Result<(Authenticated, u32), Status> {
        let identity = &self.identity;
        let address = self.client_address(request).await?;
        identity.throttle.check(email, address).map_err(throttled)?;
        let holder = identity
            .reservations
            .holder(&TenantId::internal(), &email_key(email))
            .await?;
        let Some((tenant, user_id)) = holder.as_deref().and_then(user_of_subject) else {
            identity.unknown_email_logins.inc();
            // The same reads as for a real account (of one that does not exist), so the
            // time of the answer matches a wrong password's.
            let nobody = AggregateId::derived(&TenantId::internal(), "unknown-login", email);
            identity
                .users
                .load(&identity.users.address(&TenantId::internal(), nobody))
                .await?;
            let claimed = Claimed {
                account: email.to_owned(),
                principal: None,
            };
            // Never passes: an unknown account has only the dummy hash.
            self.check_secret(request, address, &claimed, password)
                .await?;
            return Err(wrong_credentials());
        };
        let user_address = identity.users.address(&tenant, user_id.clone());
        let (user, _) = identity.users.load(&user_address).await?;
        let claimed = Claimed {
            account: email.to_owned(),
            principal: Some((tenant.clone(), user_id.clone(), user.active)),
        };
        let (credential, failures) = self
            .check_secret(request, address, &claimed, password)
            .await?
            .ok_or_else(wrong_credentials)?;
        Ok((
            Authenticated {
                tenant,
                user_id,
                user,
                credential,
            },
            failures,
        ))
    }

    /// Checks a password or client secret under the throttle (already consulted by the
    /// caller for `address`): a failure is counted there, never in the log; a success is
    /// recorded on the credential with the failures before it. Answers the credential as
    /// it was and those failures.
    pub(super) async fn check_secret<T>(
        &self,
        request: &Request<T>,
        address: IpAddr,
        claimed: &Claimed,
        secret: &str,
    ) -> Result<Option<(CredentialState, u32)>, Status> {
        let identity = &self.identity;
        let (tenant, principal) = match &claimed.principal {
            Some((tenant, principal, _)) => (tenant.clone(), principal.clone()),
            None => (
                TenantId::internal(),
                AggregateId::derived(&TenantId::internal(), "unknown-login", &claimed.account),
            ),
        };
        // Loaded for an unknown account too (it is empty), for the time's sake.
        let credential = identity
            .credentials
            .load(&identity.credentials.address(&tenant, principal))
            .await?
            .0;
        let active = claimed
            .principal
            .as_ref()
            .is_some_and(|(_, _, active)| *active);
        // Always one verification, against the dummy hash when there is nothing real to
        // verify against, so the time says nothing about the account.
        let (hash, real) = match credential.password_hash.clone() {
            Some(hash) if active => (hash, true),
            _ => (identity.dummy_hash.clone(), false),
        };
        let presented = secret.to_owned();
        let matches = tokio::task::spawn_blocking(move || passwords::verify(&presented, &hash))
            .await
            .map_err(|e| Refusal::Internal(format!("verifying a password: {e}")))?;
        let (Some((tenant, principal, _)), true, true) = (&claimed.principal, real, matches) else {
            identity.throttle.failed(&claimed.account, address).await;
            return Ok(None);
        };
        let failures = identity.throttle.succeeded(&claimed.account, address).await;
        let actor = self_actor(principal.as_str(), tenant);
        identity
            .credentials
            .execute(CommandRequest {
                tenant: tenant.clone(),
                target: Target::At(principal.clone()),
                name: "tillit.identity.v1.Login".into(),
                command: CredentialCommand::RecordSuccess {
                    failed_attempts_before: failures,
                },
                meta: CommandMeta {
                    idempotency_key: None,
                    ..meta(request, actor)
                },
            })
            .await
            .map_err(status)?;
        Ok(Some((credential, failures)))
    }

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

    fn user_actor(&self, account: &Authenticated) -> Actor {
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
        let refused = || Status::unauthenticated("refresh token not valid");
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
        let user_id = AggregateId::parse(&chain.user_id, "user_id")
            .map_err(|_| Status::unauthenticated("refresh token not valid"))?;
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
            return Err(Status::unauthenticated(format!(
                "refresh token refused; the chain was revoked: {}",
                revoked.reason
            )));
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
                    Status::unauthenticated("refresh token not valid")
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
        let user_id = AggregateId::parse(&chain.user_id, "refresh_token")
            .map_err(|_| Status::unauthenticated("refresh token not valid"))?;
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

    pub(super) async fn change_password(
        &self,
        request: Request<ChangePasswordRequest>,
    ) -> Result<Response<ChangePasswordResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let body = request.get_ref();
        let email = validate::email("email", &body.email)?;
        let new_password = validate::password("new_password", &body.new_password)?;
        if new_password == body.current_password {
            return Err(DomainError::invalid(
                "new_password",
                "must differ from the current password",
            )
            .into());
        }
        let (account, _) = self
            .authenticate_password(&request, &email, &body.current_password)
            .await?;
        let hash = self.hash(new_password).await?;
        let change = PasswordChange {
            tenant: account.tenant.clone(),
            user_id: account.user_id.clone(),
            hash,
            temporary: false,
            reason: "password changed",
        };
        let raised = self
            .set_password(&request, self.user_actor(&account), change)
            .await?;
        Ok(Response::new(ChangePasswordResponse {
            consistency: Some(raised),
        }))
    }

    /// Hashes a password on the blocking pool.
    pub(super) async fn hash(&self, password: String) -> Result<String, Status> {
        let cost = self.identity.config.hash_cost;
        tokio::task::spawn_blocking(move || passwords::hash(&password, cost))
            .await
            .map_err(|e| Status::internal(e.to_string()))?
            .map_err(Status::internal)
    }

    /// Raises the session version (existing tokens die), then stores the new hash.
    pub(super) async fn set_password<T>(
        &self,
        request: &Request<T>,
        actor: Actor,
        change: PasswordChange,
    ) -> Result<ConsistencyToken, Status> {
        let PasswordChange {
            tenant,
            user_id,
            hash,
            temporary,
            reason,
        } = change;
        let (tenant, user_id) = (&tenant, &user_id);
        let identity = &self.identity;
        let command_meta = meta(request, actor);
        let raised = identity
            .users
            .execute(CommandRequest {
                tenant: tenant.clone(),
                target: Target::Existing(user_id.clone()),
                name: "tillit.identity.v1.SetPassword".into(),
                command: UserCommand::RaiseSessionVersion(reason),
                meta: command_meta.clone(),
            })
            .await
            .map_err(status)?;
        identity
            .credentials
            .execute(CommandRequest {
                tenant: tenant.clone(),
                target: Target::At(user_id.clone()),
                name: "tillit.identity.v1.SetPassword".into(),
                command: CredentialCommand::Set { hash, temporary },
                meta: command_meta,
            })
            .await
            .map_err(status)?;
        Ok(raised.consistency())
    }

    pub(super) async fn who_am_i(
        &self,
        request: Request<WhoAmIRequest>,
    ) -> Result<Response<WhoAmIResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        let user_id = AggregateId::parse(&caller.subject, "sub")
            .map_err(|_| Status::unauthenticated("bad subject"))?;
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
            roles: caller.roles.iter().map(|r| r.as_str().to_owned()).collect(),
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
