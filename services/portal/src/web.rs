//! What every response carries: the security headers, `no-store` on every page (a shared
//! computer's back button shows nothing), and the static files — the stylesheet and the
//! one script (the copy button of a secret shown once) — embedded in the binary and
//! served under their content hash with a year's cache.

use std::sync::OnceLock;

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

const STYLESHEET: &str = include_str!("../static/app.css");
const SCRIPT: &str = include_str!("../static/copy.js");

/// `/static/<name>.<first 16 hex of the content's SHA-256>.<extension>`.
fn hashed(name: &str, extension: &str, content: &str) -> String {
    let hash = hex::encode(Sha256::digest(content.as_bytes()));
    format!("/static/{name}.{}.{extension}", &hash[..16])
}

/// The stylesheet's path.
pub fn stylesheet_path() -> &'static str {
    static PATH: OnceLock<String> = OnceLock::new();
    PATH.get_or_init(|| hashed("app", "css", STYLESHEET))
}

/// The script's path.
pub fn script_path() -> &'static str {
    static PATH: OnceLock<String> = OnceLock::new();
    PATH.get_or_init(|| hashed("copy", "js", SCRIPT))
}

fn immutable(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        body,
    )
        .into_response()
}

/// The stylesheet (any other hash is a 404: an old page asks for a stylesheet we no
/// longer have, and caching the wrong one for a year would be worse).
pub async fn stylesheet() -> Response {
    immutable("text/css; charset=utf-8", STYLESHEET)
}

/// The script.
pub async fn script() -> Response {
    immutable("text/javascript; charset=utf-8", SCRIPT)
}

/// The Content-Security-Policy: our own stylesheet and script files only, nothing inline,
/// no framing, forms only to ourselves.
pub const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; \
                       form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Adds the security headers to every response, and `no-store` to every one that is not
/// the hashed stylesheet.
pub async fn headers(request: Request, next: Next) -> Response {
    let is_static = request.uri().path().starts_with("/static/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !is_static {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
