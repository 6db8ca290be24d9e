//! Proving who a caller is: the client address a sign-in counts under, password and
//! secret checks under the throttle (an unknown account costs and answers what a wrong
//! secret does), and setting a password (ChangePassword, and for the admin ResetPassword).

use std::net::{IpAddr, Ipv6Addr};

use tillit_api::Refusal;
use tillit_kernel::Reason;
use tillit_kernel::{AggregateId, CommandMeta, CommandRequest, Target, TenantId};
use tillit_proto::common::{Actor, ConsistencyToken};
use tillit_proto::identity::{ChangePasswordRequest, ChangePasswordResponse};
use tonic::{Request, Response, Status};

use super::errors::throttled;
use super::{IdentityApi, email_key, meta, status, user_of_subject};
use crate::domain::DomainError;
use crate::domain::credential::{CredentialCommand, CredentialState};
use crate::domain::user::{UserCommand, UserState};
use crate::domain::validate;
use crate::passwords;

/// The same answer for an unknown e-mail and a wrong password, so neither is revealed.
pub(super) const WRONG_CREDENTIALS: &str = "wrong e-mail or password";

/// The metadata in which a trusted forwarder states the end user's address.
pub const CLIENT_ADDRESS_HEADER: &str = "x-tillit-client-address";

/// The answer to a wrong e-mail, password or client secret: never says which.
pub(super) fn wrong_credentials() -> Status {
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
pub(super) fn self_actor(subject: &str, tenant: &TenantId) -> Actor {
    Actor {
        subject: subject.to_owned(),
        tenant: tenant.as_str().to_owned(),
        roles: Vec::new(),
        on_behalf_of: String::new(),
    }
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
            .ok_or_else(|| {
                DomainError::refused(
                    CLIENT_ADDRESS_HEADER,
                    Reason::Malformed,
                    "must be an IP address",
                )
            })?;
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
        identity.throttle.check(email, address).map_err(|wait| {
            identity.lockouts.inc();
            throttled(wait)
        })?;
        let holder = identity
            .reservations
            .holder(&TenantId::internal(), &email_key(&identity.store, email)?)
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
            identity.login_failures.inc();
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

    pub(super) async fn change_password(
        &self,
        request: Request<ChangePasswordRequest>,
    ) -> Result<Response<ChangePasswordResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let body = request.get_ref();
        let email = validate::email("email", &body.email)?;
        let new_password = validate::password("new_password", &body.new_password)?;
        if new_password == body.current_password {
            return Err(DomainError::refused(
                "new_password",
                Reason::Conflict,
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
            .map_err(|e| Refusal::Internal(format!("hashing a password: {e}")))?
            .map_err(|e| Refusal::Internal(format!("hashing a password: {e}")).into())
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
}
