//! Issuing access tokens and opaque refresh tokens.

use base64::Engine;
use jsonwebtoken::{Algorithm, Header};
use rand::RngCore;
use sha2::{Digest, Sha256};
use tillit_auth::Claims;
use tillit_auth::claims::AUDIENCE;
use time::OffsetDateTime;

use crate::keys::SigningMaterial;

/// Whom an access token is for.
pub struct Grant {
    /// User or service-account id.
    pub subject: String,
    /// Its tenant.
    pub tenant: String,
    /// Its current roles.
    pub roles: Vec<String>,
    /// Its current session version.
    pub session_version: u64,
    /// The sign-in (refresh chain) it belongs to; `None` for a service account.
    pub session_id: Option<String>,
}

/// Signs an access token for `grant`, valid for `ttl` from `now`.
pub fn access_token(
    key: &SigningMaterial,
    issuer: &str,
    grant: Grant,
    now: OffsetDateTime,
    ttl: std::time::Duration,
) -> Result<String, String> {
    let iat = now.unix_timestamp();
    let claims = Claims {
        iss: issuer.to_owned(),
        aud: AUDIENCE.to_owned(),
        sub: grant.subject,
        tenant: grant.tenant,
        roles: grant.roles,
        sv: grant.session_version,
        exp: iat + i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2),
        iat,
        nbf: iat,
        jti: uuid::Uuid::now_v7().to_string(),
        sid: grant.session_id.unwrap_or_default(),
    };
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&header, &claims, &key.encoding_key).map_err(|e| e.to_string())
}

/// An opaque refresh token: `rt1.<tenant>.<chain id>.<secret>`. Only the SHA-256 of the
/// secret is ever stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshToken {
    /// The user's tenant.
    pub tenant: String,
    /// The chain it belongs to.
    pub chain_id: String,
    /// The random secret.
    pub secret: String,
}

impl RefreshToken {
    /// A fresh token of a chain.
    pub fn new(tenant: &str, chain_id: &str) -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self {
            tenant: tenant.to_owned(),
            chain_id: chain_id.to_owned(),
            secret: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
        }
    }

    /// Parses a presented token.
    pub fn parse(raw: &str) -> Option<Self> {
        let mut parts = raw.trim().splitn(4, '.');
        let (Some("rt1"), Some(tenant), Some(chain_id), Some(secret)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        Some(Self {
            tenant: tenant.to_owned(),
            chain_id: chain_id.to_owned(),
            secret: secret.to_owned(),
        })
    }

    /// The hex SHA-256 of the secret: what the chain stores.
    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.secret.as_bytes()))
    }

    /// The token as handed to the client.
    pub fn encode(&self) -> String {
        format!("rt1.{}.{}.{}", self.tenant, self.chain_id, self.secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refresh_token_round_trips_and_its_hash_hides_the_secret() {
        let token = RefreshToken::new("acme", "0192c3a0-7b7e-7c3e-8f00-0123456789ab");
        assert_eq!(RefreshToken::parse(&token.encode()), Some(token.clone()));
        assert!(!token.hash().contains(&token.secret));
        assert_eq!(RefreshToken::parse("rt2.a.b.c"), None);
        assert_eq!(RefreshToken::parse("garbage"), None);
    }
}
