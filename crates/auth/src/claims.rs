//! The claims of a Tillit access token (DESIGN.md "Authentication and authorization").

use serde::{Deserialize, Serialize};

/// The audience every Tillit access token is issued for.
pub const AUDIENCE: &str = "tillit";

/// Access-token claims.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// The configured issuer URL.
    pub iss: String,
    /// Always [`AUDIENCE`].
    pub aud: String,
    /// User or service-account id.
    pub sub: String,
    /// Tenant slug.
    pub tenant: String,
    /// Role names.
    pub roles: Vec<String>,
    /// Session version when issued; a higher current one refuses the token.
    pub sv: u64,
    /// Expiry, unix seconds.
    pub exp: i64,
    /// Issued at, unix seconds.
    pub iat: i64,
    /// Not before, unix seconds.
    pub nbf: i64,
    /// Token id.
    pub jti: String,
    /// Session id: the sign-in (refresh chain) the token belongs to; a logout ends it and
    /// its tokens with it. Absent for service-account tokens.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sid: String,
}
