//! Sign-in, the forced change of a temporary password, and sign-out. Identity decides;
//! the portal shows its answer in the user's language and keeps the tokens in the
//! encrypted session cookie.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::PrivateCookieJar;
use maud::{Markup, html};
use tillit_proto::identity::{ChangePasswordRequest, LoginRequest, LoginResponse, LogoutRequest};

use super::errors;
use super::layout::{Frame, page};
use crate::api::Failure;
use crate::i18n::{Lang, text};
use crate::session::{self, Session};
use crate::{State as Shared, language, now};

#[derive(serde::Deserialize)]
pub struct Asked {
    #[serde(default)]
    next: String,
}

/// The sign-in form's fields.
#[derive(serde::Deserialize)]
pub struct Credentials {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: String,
}

/// The password-change form's fields.
#[derive(serde::Deserialize)]
pub struct NewPassword {
    #[serde(default)]
    email: String,
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    repeat: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: String,
}

/// A problem to show: above the form, or next to a field.
#[derive(Default)]
struct Problems {
    general: Option<String>,
    email: Option<String>,
    password: Option<String>,
    new: Option<String>,
    repeat: Option<String>,
}

/// `GET /signin`.
pub async fn form(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Query(asked): Query<Asked>,
) -> Response {
    let lang = language(&jar, &headers);
    let (jar, visitor) = session::visitor(jar, &state.keys);
    let csrf = state.keys.csrf(&visitor);
    let next = session::safe_next(&asked.next);
    (
        jar,
        signin_page(lang, &csrf, next, "", &Problems::default()),
    )
        .into_response()
}

/// `POST /signin`.
pub async fn submit(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Form(form): Form<Credentials>,
) -> Response {
    let (lang, jar, csrf) = match super::checked_form(&state, jar, &headers, &form.csrf) {
        Ok(checked) => checked,
        Err(refused) => return *refused,
    };
    let next = session::safe_next(&form.next).to_owned();
    let answer = state
        .identity
        .clone()
        .login(LoginRequest {
            email: form.email.clone(),
            password: form.password,
            ..Default::default()
        })
        .await;
    match answer {
        Ok(login) => signed_in(&state, jar, login.into_inner(), &next),
        // A temporary password: it must be changed before anything else.
        Err(status) if matches!(Failure::of(&status), Failure::Precondition { .. }) => (
            jar,
            password_page(lang, &csrf, &next, &form.email, &Problems::default()),
        )
            .into_response(),
        Err(status) => {
            let problems = match refused(lang, &status) {
                Some(problems) => problems,
                None => return (jar, unavailable(lang, &status)).into_response(),
            };
            let page = signin_page(lang, &csrf, &next, &form.email, &problems);
            (jar, errors::refused_form(page)).into_response()
        }
    }
}

/// `POST /password`: change the temporary password, then sign in with the new one.
pub async fn change_password(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Form(form): Form<NewPassword>,
) -> Response {
    let (lang, jar, csrf) = match super::checked_form(&state, jar, &headers, &form.csrf) {
        Ok(checked) => checked,
        Err(refused) => return *refused,
    };
    let next = session::safe_next(&form.next).to_owned();
    if form.new != form.repeat {
        let problems = Problems {
            repeat: Some(lang.t("password-mismatch")),
            ..Problems::default()
        };
        let page = password_page(lang, &csrf, &next, &form.email, &problems);
        return (jar, errors::refused_form(page)).into_response();
    }
    let mut identity = state.identity.clone();
    let changed = identity
        .change_password(ChangePasswordRequest {
            email: form.email.clone(),
            current_password: form.current,
            new_password: form.new.clone(),
            ..Default::default()
        })
        .await;
    if let Err(status) = changed {
        let Some(mut problems) = refused(lang, &status) else {
            return (jar, unavailable(lang, &status)).into_response();
        };
        // A bad new password is the new password's problem; anything else, the current one.
        if let Some(field) = problems.email.take().or(problems.password.take()) {
            problems.general = Some(field);
        }
        let page = password_page(lang, &csrf, &next, &form.email, &problems);
        return (jar, errors::refused_form(page)).into_response();
    }
    match identity
        .login(LoginRequest {
            email: form.email,
            password: form.new,
            ..Default::default()
        })
        .await
    {
        Ok(login) => signed_in(&state, jar, login.into_inner(), &next),
        Err(status) => (jar, unavailable(lang, &status)).into_response(),
    }
}

/// `POST /signout`: ends the session at identity (the refresh chain and every access token
/// of the session), then forgets the cookie.
pub async fn sign_out(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Form(form): Form<Asked2>,
) -> Response {
    let (_, jar, _) = match super::checked_form(&state, jar, &headers, &form.csrf) {
        Ok(checked) => checked,
        Err(refused) => return *refused,
    };
    if let Some(current) = session::session(&jar) {
        let ended = state
            .identity
            .clone()
            .logout(LogoutRequest {
                refresh_token: current.refresh,
                ..Default::default()
            })
            .await;
        if let Err(status) = ended {
            tracing::warn!(%status, "logout at identity failed; the cookie is forgotten anyway");
        }
    }
    (session::clear(jar), Redirect::to("/signin")).into_response()
}

/// The sign-out form's field.
#[derive(serde::Deserialize)]
pub struct Asked2 {
    #[serde(default)]
    csrf: String,
}

fn signed_in(
    state: &crate::Portal,
    jar: PrivateCookieJar,
    login: LoginResponse,
    next: &str,
) -> Response {
    let session = Session {
        access: login.access_token,
        refresh: login.refresh_token,
        expires_at: now() + i64::from(login.expires_in),
    };
    let jar = session::store(jar, &state.keys, &session);
    // A new visitor id: one planted before sign-in is worth nothing after it.
    let (jar, _) = session::fresh_visitor(jar, &state.keys);
    // The page asked for; failed attempts before this sign-in are said there once.
    let target = if login.failed_attempts_before > 0 {
        let separator = if next.contains('?') { '&' } else { '?' };
        format!(
            "{next}{separator}failed_before={}",
            login.failed_attempts_before
        )
    } else {
        next.to_owned()
    };
    (jar, Redirect::to(&target)).into_response()
}

/// The problems of a refused sign-in or password change, in the user's language; `None`
/// when the service is down (a 503 page, not a form error).
fn refused(lang: Lang, status: &tonic::Status) -> Option<Problems> {
    match Failure::of(status) {
        Failure::SignIn | Failure::NotFound => Some(Problems {
            general: Some(lang.t("signin-wrong")),
            ..Problems::default()
        }),
        Failure::Throttled(seconds) => Some(Problems {
            general: Some(lang.t_with(
                "signin-throttled",
                &[("seconds", text(seconds.to_string()))],
            )),
            ..Problems::default()
        }),
        Failure::Invalid(refused) => {
            let mut problems = Problems::default();
            for (field, problem) in crate::pages::violations(lang, &refused) {
                match field.as_str() {
                    "email" => problems.email = Some(problem),
                    "password" | "current_password" => problems.password = Some(problem),
                    "new_password" => problems.new = Some(problem),
                    _ => problems.general = Some(problem),
                }
            }
            Some(problems)
        }
        Failure::Down => None,
        Failure::Forbidden(_) | Failure::Precondition { .. } | Failure::Conflict(_) => {
            Some(Problems {
                general: Some(status.message().to_owned()),
                ..Problems::default()
            })
        }
    }
}

fn unavailable(lang: Lang, status: &tonic::Status) -> Response {
    tracing::warn!(%status, "identity did not answer");
    errors::unavailable(lang, "part-identity")
}

fn field_problem(id: &str, problem: Option<&String>) -> Markup {
    html! {
        @if let Some(problem) = problem {
            p.problem id=(id) { (problem) }
        }
    }
}

fn signin_page(lang: Lang, csrf: &str, next: &str, email: &str, problems: &Problems) -> Markup {
    let frame = Frame {
        lang,
        viewer: None,
        path: "/signin",
    };
    let body = html! {
        div.card.narrow {
            h1 { (lang.t("signin-title")) }
            @if let Some(general) = &problems.general {
                p.alert role="alert" { (general) }
            }
            form method="post" action="/signin" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="next" value=(next);
                label for="email" { (lang.t("signin-email")) }
                input #email type="email" name="email" value=(email) autocomplete="username" required
                    aria-describedby=[problems.email.as_ref().map(|_| "email-problem")];
                (field_problem("email-problem", problems.email.as_ref()))
                label for="password" { (lang.t("signin-password")) }
                input #password type="password" name="password" autocomplete="current-password" required
                    aria-describedby=[problems.password.as_ref().map(|_| "password-problem")];
                (field_problem("password-problem", problems.password.as_ref()))
                button.primary type="submit" { (lang.t("signin-submit")) }
            }
        }
    };
    page(&frame, &lang.t("signin-title"), body)
}

fn password_page(lang: Lang, csrf: &str, next: &str, email: &str, problems: &Problems) -> Markup {
    let frame = Frame {
        lang,
        viewer: None,
        path: "/signin",
    };
    let body = html! {
        div.card.narrow {
            h1 { (lang.t("password-title")) }
            p.notice { (lang.t("password-intro")) }
            @if let Some(general) = &problems.general {
                p.alert role="alert" { (general) }
            }
            form method="post" action="/password" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="next" value=(next);
                input type="hidden" name="email" value=(email);
                label for="current" { (lang.t("password-current")) }
                input #current type="password" name="current" autocomplete="current-password" required;
                label for="new" { (lang.t("password-new")) }
                input #new type="password" name="new" autocomplete="new-password" minlength="12" required
                    aria-describedby=[problems.new.as_ref().map(|_| "new-problem")];
                (field_problem("new-problem", problems.new.as_ref()))
                label for="repeat" { (lang.t("password-repeat")) }
                input #repeat type="password" name="repeat" autocomplete="new-password" minlength="12" required
                    aria-describedby=[problems.repeat.as_ref().map(|_| "repeat-problem")];
                (field_problem("repeat-problem", problems.repeat.as_ref()))
                button.primary type="submit" { (lang.t("password-submit")) }
            }
        }
    };
    page(&frame, &lang.t("password-title"), body)
}
