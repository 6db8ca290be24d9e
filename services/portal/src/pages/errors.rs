//! The pages of what went wrong: 404, 403, a refused form, a service that is down. Never a
//! stack trace. Which HTTP status each gets is decided in [`crate::api::errors`].

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::PrivateCookieJar;
use maud::{Markup, html};

use super::layout::{Frame, page};
use crate::api::Failure;
use crate::api::errors::{FORGED, REFUSED};
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
    error(lang, Failure::NotFound.http(), &lang.t("error-not-found"))
}

/// 403: the user's roles do not open this page.
pub fn forbidden(lang: Lang) -> Response {
    let failure = Failure::Forbidden(String::new());
    error(lang, failure.http(), &lang.t("error-forbidden"))
}

/// 403 for a form whose CSRF token is missing or wrong: nothing was changed.
pub fn csrf(lang: Lang) -> Response {
    error(lang, FORGED, &lang.t("error-csrf"))
}

/// 503 naming the part that is down (a catalogue key such as `part-identity`).
pub fn unavailable(lang: Lang, part: &str) -> Response {
    let message = lang.t_with("error-unavailable", &[("part", text(lang.t(part)))]);
    error(lang, Failure::Down.http(), &message)
}

/// A form shown again with what was typed and its problems.
pub fn refused_form(page: Markup) -> Response {
    (REFUSED, page).into_response()
}

/// The page for a failed call of `part` (`part-incidents`) that no form answers: sign in
/// again, 404 for what is not there or not the user's to see, 403, the service's words for
/// a refusal, the 503 page for a part that is down.
pub fn failed(
    lang: Lang,
    jar: PrivateCookieJar,
    path: &str,
    failure: &Failure,
    part: &str,
) -> Response {
    match failure {
        Failure::SignIn => crate::to_signin(jar, path),
        Failure::NotFound => (jar, not_found(lang)).into_response(),
        Failure::Forbidden(_) => (jar, forbidden(lang)).into_response(),
        Failure::Down => (jar, unavailable(lang, part)).into_response(),
        Failure::Throttled(seconds) => {
            let message = lang.t_with("error-throttled", &[("seconds", text(seconds.to_string()))]);
            (jar, error(lang, failure.http(), &message)).into_response()
        }
        Failure::Invalid(_) | Failure::Precondition { .. } | Failure::Conflict(_) => {
            let message = match failure {
                Failure::Precondition { message, .. } | Failure::Conflict(message) => {
                    message.clone()
                }
                _ => lang.t("error-refused"),
            };
            (jar, error(lang, failure.http(), &message)).into_response()
        }
    }
}

/// A failure's HTTP status as a page answering with `page` keeps it: a form shown again
/// after a refusal is 422, whatever status the page itself had.
pub fn with_refused_status(mut page: Response) -> Response {
    if page.status().is_success() {
        *page.status_mut() = REFUSED;
    }
    page
}

/// `page`, answered as a refused form (422) when `refused`.
pub fn refused_if(refused: bool, page: Response) -> Response {
    if refused {
        with_refused_status(page)
    } else {
        page
    }
}
