//! The signed-in user's session: access and refresh token in one encrypted, HttpOnly,
//! SameSite=Lax cookie (axum-extra's private jar, AES-GCM), and the CSRF token every form
//! carries: an HMAC of the visitor's random id under a key derived from the cookie key.

use axum_extra::extract::PrivateCookieJar;
use axum_extra::extract::cookie::{Cookie, Key, SameSite};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The cookie of the tokens.
pub const SESSION: &str = "tillit_session";
/// The cookie of the visitor's random id, which CSRF tokens are bound to.
pub const VISITOR: &str = "tillit_visitor";

/// What the session cookie holds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Session {
    /// The access token.
    pub access: String,
    /// The refresh token.
    pub refresh: String,
    /// Unix seconds when the access token expires.
    pub expires_at: i64,
}

/// The keys of the cookies and of the CSRF tokens.
#[derive(Clone)]
pub struct Keys {
    /// Encrypts and authenticates the cookies.
    pub cookie: Key,
    csrf: [u8; 32],
    secure: bool,
}

impl Keys {
    /// From at least 64 key bytes (fewer panic: the configuration refuses them first);
    /// `secure` puts `Secure` on every cookie.
    pub fn new(material: &[u8], secure: bool) -> Self {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(material).expect("any key length");
        mac.update(b"tillit portal csrf v1");
        Self {
            cookie: Key::from(material),
            csrf: mac.finalize().into_bytes().into(),
            secure,
        }
    }

    /// A cookie as every cookie of the portal is: HttpOnly, SameSite=Lax, whole site,
    /// `Secure` unless the portal serves plain HTTP on localhost.
    pub fn cookie(&self, name: &'static str, value: String) -> Cookie<'static> {
        Cookie::build((name, value))
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.secure)
            .path("/")
            .build()
    }

    /// The CSRF token of visitor id `visitor`.
    pub fn csrf(&self, visitor: &str) -> String {
        hex::encode(self.mac(visitor).finalize().into_bytes())
    }

    /// Whether `token` is `visitor`'s CSRF token (compared in constant time).
    pub fn csrf_holds(&self, visitor: &str, token: &str) -> bool {
        let Ok(bytes) = hex::decode(token) else {
            return false;
        };
        self.mac(visitor).verify_slice(&bytes).is_ok()
    }

    fn mac(&self, visitor: &str) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.csrf).expect("any key length");
        mac.update(visitor.as_bytes());
        mac
    }
}

/// The session in `jar`, if it holds a readable one (a tampered or foreign cookie does not
/// decrypt, so it reads as none).
pub fn session(jar: &PrivateCookieJar) -> Option<Session> {
    serde_json::from_str(jar.get(SESSION)?.value()).ok()
}

/// `jar` with `session` stored.
pub fn store(jar: PrivateCookieJar, keys: &Keys, session: &Session) -> PrivateCookieJar {
    let value = serde_json::to_string(session).expect("a session serialises");
    jar.add(keys.cookie(SESSION, value))
}

/// `jar` without a session.
pub fn clear(jar: PrivateCookieJar) -> PrivateCookieJar {
    jar.remove(Cookie::build(SESSION).path("/"))
}

/// The visitor id of `jar`, made (and stored) when missing.
pub fn visitor(jar: PrivateCookieJar, keys: &Keys) -> (PrivateCookieJar, String) {
    if let Some(id) = jar.get(VISITOR).map(|c| c.value().to_owned()) {
        return (jar, id);
    }
    fresh_visitor(jar, keys)
}

/// A new visitor id (after sign-in, so a planted id is worth nothing).
pub fn fresh_visitor(jar: PrivateCookieJar, keys: &Keys) -> (PrivateCookieJar, String) {
    let id = hex::encode(rand::random::<[u8; 16]>());
    (jar.add(keys.cookie(VISITOR, id.clone())), id)
}

/// Whether a same-origin path is safe to send a user to after sign-in: a path of this
/// site, never another host (`//evil`, `/\\evil`, `https:`).
pub fn safe_next(next: &str) -> &str {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && next
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-_.~?=&%+".contains(&b));
    if ok { next } else { "/" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csrf_token_belongs_to_its_visitor_and_key() {
        let keys = Keys::new(&[7; 64], true);
        let token = keys.csrf("visitor-a");
        assert!(keys.csrf_holds("visitor-a", &token));
        assert!(!keys.csrf_holds("visitor-b", &token));
        assert!(!keys.csrf_holds("visitor-a", "zz"));
        assert!(!Keys::new(&[8; 64], true).csrf_holds("visitor-a", &token));
    }

    #[test]
    fn only_paths_of_this_site_are_followed_after_sign_in() {
        assert_eq!(
            safe_next("/incidents?status=open"),
            "/incidents?status=open"
        );
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil",
            "evil",
            "/a\"b",
            "",
        ] {
            assert_eq!(safe_next(bad), "/", "{bad}");
        }
    }
}
