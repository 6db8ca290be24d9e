//! The pages of what went wrong: 404, 403, a refused form, a service that is down. Never a
//! stack trace.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::html;

use super::layout::{Frame, page};
use crate::i18n::{Lang, text};

/// A page saying what went wrong, with a way back.
pub fn error(lang: Lang, status: StatusCode, message: &str) -> Response {
    let frame = Frame {
        lang,
        viewer: None,
        path: "/",
    };
    let body = html! {
        div.card.narrow {
            h1 { (lang.t("error-title")) }
            p role="alert" { (message) }
            p { a href="/" { (lang.t("error-back-home")) } }
        }
    };
    (status, page(&frame, &lang.t("error-title"), body)).into_response()
}

/// 404.
pub fn not_found(lang: Lang) -> Response {
    error(lang, StatusCode::NOT_FOUND, &lang.t("error-not-found"))
}

/// 403 for a form whose CSRF token is missing or wrong: nothing was changed.
pub fn csrf(lang: Lang) -> Response {
    error(lang, StatusCode::FORBIDDEN, &lang.t("error-csrf"))
}

/// 503 naming the part that is down (a catalogue key such as `part-identity`).
pub fn unavailable(lang: Lang, part: &str) -> Response {
    let message = lang.t_with("error-unavailable", &[("part", text(lang.t(part)))]);
    error(lang, StatusCode::SERVICE_UNAVAILABLE, &message)
}
