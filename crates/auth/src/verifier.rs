//! Local token verification: no call to identity per request.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use tillit_kernel::ProjectionRunner;
use tillit_kernel::TenantId;

use crate::caller::Caller;
use crate::claims::{AUDIENCE, Claims};
use crate::error::AuthError;
use crate::permissions::Role;
use crate::view::ViewReader;

/// Seconds of clock skew tolerated for `exp` and `nbf`.
pub const LEEWAY_SECONDS: u64 = 5;

/// Seconds beyond the stated maximum lifetime a token's `exp - iat` may reach.
pub const LIFETIME_SKEW_SECONDS: i64 = 60;

/// Verifies access tokens against the identity view.
#[derive(Clone)]
pub struct Verifier {
    view: ViewReader,
    issuer: String,
    catch_up: Option<(Arc<ProjectionRunner>, Duration)>,
}

impl Verifier {
    /// A verifier accepting tokens of `issuer` whose keys and principals are in `view`.
    pub fn new(view: ViewReader, issuer: impl Into<String>) -> Self {
        Self {
            view,
            issuer: issuer.into(),
            catch_up: None,
        }
    }

    /// Lets the verifier wait (at most `timeout`) for `runner` — the one that feeds the
    /// view — to apply the IDENTITY stream's current end when a token names a key or user
    /// the view does not know yet: a user created, or a key activated, a moment ago. It
    /// also makes the verifier fail closed: while the runner has not confirmed for longer
    /// than its `max_staleness` that the view holds the stream's end, every token is
    /// refused as UNAVAILABLE (a deactivation the view has not seen must not let one by).
    pub fn with_catch_up(mut self, runner: Arc<ProjectionRunner>, timeout: Duration) -> Self {
        self.catch_up = Some((runner, timeout));
        self
    }

    /// Like [`Verifier::authenticate`], but a key or principal the view does not know yet
    /// gets one more look once the view has caught up with the IDENTITY stream.
    pub async fn authenticate_fresh(&self, token: &str) -> Result<Caller, AuthError> {
        self.check_view_current()?;
        match (self.authenticate(token), &self.catch_up) {
            (Err(AuthError::Unknown(_)), Some((runner, timeout))) => {
                if let Err(error) = runner
                    .catch_up(crate::view::IDENTITY_STREAM, *timeout)
                    .await
                {
                    tracing::warn!(%error, "identity view could not catch up");
                }
                self.authenticate(token)
            }
            (outcome, _) => outcome,
        }
    }

    /// UNAVAILABLE while the identity view is not known to be current (see
    /// [`Verifier::with_catch_up`]); a verifier without a runner trusts its view.
    pub fn check_view_current(&self) -> Result<(), AuthError> {
        let Some((runner, _)) = &self.catch_up else {
            return Ok(());
        };
        let bound = runner.max_staleness();
        match runner.staleness(crate::view::IDENTITY_STREAM) {
            Some(stale) if stale > bound => Err(AuthError::Unavailable(format!(
                "the identity view has not been confirmed current for over {} s; try again shortly",
                bound.as_secs_f32()
            ))),
            _ => Ok(()),
        }
    }

    /// The view it reads.
    pub fn view(&self) -> &ViewReader {
        &self.view
    }

    /// Checks `token` and answers who it belongs to. EdDSA only (`none` and HMAC are
    /// refused before any key is looked at), an active key by `kid`, `iss`, `aud`, `exp`,
    /// `nbf` with a small leeway, then the principal: it exists in the claimed tenant, is
    /// active, and its session version is not above the token's `sv`.
    pub fn authenticate(&self, token: &str) -> Result<Caller, AuthError> {
        let refuse = |reason: &str| AuthError::Unauthenticated(reason.to_owned());
        let header = jsonwebtoken::decode_header(token).map_err(|_| refuse("malformed token"))?;
        if header.alg != Algorithm::EdDSA {
            return Err(refuse("algorithm not accepted"));
        }
        let kid = header.kid.ok_or_else(|| refuse("token without kid"))?;
        let key = self
            .view
            .key(&kid)
            .map_err(|_| refuse("key lookup failed"))?
            .filter(|key| key.active)
            .ok_or_else(|| AuthError::Unknown("unknown or retired signing key".into()))?;

        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_nbf = true;
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&[self.issuer.as_str()]);
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
        let claims = jsonwebtoken::decode::<Claims>(
            token,
            &DecodingKey::from_ed_der(&key.public_key),
            &validation,
        )
        .map_err(|e| AuthError::Unauthenticated(format!("invalid token: {e}")))?
        .claims;

        let tenant =
            TenantId::parse(&claims.tenant, "tenant").map_err(|_| refuse("bad tenant claim"))?;
        let claimed: Vec<Role> = claims
            .roles
            .iter()
            .map(|name| Role::parse(name).ok_or_else(|| refuse("unknown role in token")))
            .collect::<Result<_, _>>()?;
        let max_lifetime = self
            .view
            .max_token_lifetime()
            .map_err(|_| refuse("token policy lookup failed"))?;
        if let Some(max) = max_lifetime {
            let lifetime = claims.exp.saturating_sub(claims.iat);
            let bound = i64::try_from(max)
                .unwrap_or(i64::MAX)
                .saturating_add(LIFETIME_SKEW_SECONDS);
            if lifetime > bound {
                return Err(refuse("token lifetime exceeds the platform's maximum"));
            }
        }
        let principal = self
            .view
            .principal(&claims.sub)
            .map_err(|_| refuse("principal lookup failed"))?
            .ok_or_else(|| AuthError::Unknown("unknown principal".into()))?;
        if principal.tenant != claims.tenant {
            return Err(refuse("principal belongs to another tenant"));
        }
        if !principal.active {
            return Err(refuse("account deactivated"));
        }
        if claims.sv < principal.session_version {
            return Err(refuse("session revoked; log in again"));
        }
        if !claims.sid.is_empty()
            && self
                .view
                .session_ended(&claims.sid)
                .map_err(|_| refuse("session lookup failed"))?
        {
            return Err(refuse("signed out; sign in again"));
        }
        // Effective roles: what the token claims AND the log says the principal holds, so
        // a validly signed token cannot grant a role its subject does not have.
        let held = self
            .view
            .roles(&claims.sub)
            .map_err(|_| refuse("role lookup failed"))?
            .unwrap_or_default();
        let roles = claimed
            .into_iter()
            .filter(|role| held.iter().any(|h| h == role.as_str()))
            .collect();
        Ok(Caller {
            subject: claims.sub,
            tenant,
            roles,
            session_version: claims.sv,
            expires_at: claims.exp,
        })
    }
}
