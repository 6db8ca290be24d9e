//! Users (admins): the list by tenant and status, creating one with a temporary password
//! shown once, and one user's page: roles granted and revoked, deactivation, unlocking
//! after too many wrong passwords, and a password reset (a new temporary password, shown
//! once).

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::{Form, PrivateCookieJar};
use maud::{Markup, html};
use tillit_auth::Permission;
use tillit_proto::Vocabulary;
use tillit_proto::common::PageRequest;
use tillit_proto::identity::{
    CreateUserRequest, DeactivateUserRequest, GetUserRequest, GrantRoleRequest, ListUsersRequest,
    PrincipalStatus, ResetPasswordRequest, RevokeRoleRequest, Role, UnlockUserRequest, User,
};

use super::{PART, menu, once, roles, temporary_password};
use crate::api::{Failure, after_text, parse_after};
use crate::i18n::{Lang, text};
use crate::pages::form::{Draw, Sent};
use crate::pages::incidents::word;
use crate::pages::layout::{Frame, page as frame_page};
use crate::pages::{checked_form, errors, poster, reader, violations};
use crate::{State as Shared, bearer, language};

/// The list's query string.
#[derive(serde::Deserialize, Default)]
pub struct Filters {
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    page: String,
    #[serde(default)]
    after: String,
    #[serde(default)]
    done: String,
}

/// `GET /admin/users`.
pub async fn list(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Query(filters): Query<Filters>,
) -> Response {
    let lang = language(&jar, &headers);
    list_page(&state, jar, lang, &filters, None, None).await
}

async fn list_page(
    state: &crate::Portal,
    jar: PrivateCookieJar,
    lang: Lang,
    filters: &Filters,
    refused: Option<&Sent>,
    created: Option<(&User, &str)>,
) -> Response {
    let (jar, viewer, access) = match reader(state, jar, lang, "/admin/users", |viewer| {
        viewer.may(Permission::ManageUsers)
    })
    .await
    {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let request = ListUsersRequest {
        tenant_id: filters.tenant.clone(),
        status: PrincipalStatus::from_word(&filters.status).map_or(0, Into::into),
        page: Some(PageRequest {
            page_size: 100,
            page_token: filters.page.clone(),
        }),
        consistency: parse_after(&filters.after),
        ..Default::default()
    };
    let mut identity = state.identity.clone();
    let (answer, tenants) = tokio::join!(
        identity.list_users(bearer(&access, request)),
        crate::pages::tenants(state, &access)
    );
    let answer = match answer {
        Ok(answer) => answer.into_inner(),
        Err(status) => {
            return errors::failed(lang, jar, "/admin/users", &Failure::of(&status), PART);
        }
    };
    let next = answer.page.map(|p| p.next_page_token).unwrap_or_default();
    let statuses: Vec<(String, String)> = PrincipalStatus::VALUES
        .iter()
        .map(|s| (s.word().to_owned(), word(lang, "principal", *s)))
        .collect();
    let defaults = Sent {
        form: "user".into(),
        posted: [("tenant_id".to_owned(), "internal".to_owned())].into(),
        problems: Vec::new(),
    };
    let draw = Draw::new(lang, "user", Some(refused.unwrap_or(&defaults)));
    let ticked = |role: &str| {
        refused.is_some_and(|s| s.posted.contains_key(&format!("role-{role}")))
            || (refused.is_none() && role == "employee")
    };
    let body = html! {
        (menu(lang, &viewer, "/admin/users"))
        @if let Some((user, password)) = created {
            p.notice role="status" { (lang.t_with("admin-user-created", &[("email", text(user.email.clone()))])) }
            (once(lang, "password", "admin-temporary-password", password, "admin-temporary-advice"))
        }
        @if filters.done == "deactivated" { p.notice role="status" { (lang.t("admin-deactivated")) } }
        h1 { (lang.t("admin-users")) }
        form.card.filters method="get" action="/admin/users" {
            (filter_select(lang, "tenant", "incidents-tenant", &tenants, &filters.tenant))
            (filter_select(lang, "status", "admin-status", &statuses, &filters.status))
            button.primary type="submit" { (lang.t("incidents-filter")) }
        }
        div.table-wrap { table.list #users {
            thead { tr {
                th scope="col" { (lang.t("admin-name")) }
                th scope="col" { (lang.t("admin-email")) }
                th scope="col" { (lang.t("asset-tenant")) }
                th scope="col" { (lang.t("admin-roles")) }
                th scope="col" { (lang.t("admin-status")) }
            } }
            tbody { @for user in &answer.users { tr {
                td { a href={ "/admin/users/" (user.user_id) } { (name_of(user)) } }
                td { (user.email) }
                td { (user.tenant_id) }
                td { (role_words(lang, user)) }
                td { (word(lang, "principal", user.status())) }
            } } }
        } }
        @if !next.is_empty() {
            p { a href={ "/admin/users?tenant=" (crate::urlencode(&filters.tenant)) "&status=" (crate::urlencode(&filters.status)) "&page=" (crate::urlencode(&next)) } { (lang.t("incidents-next")) } }
        }
        section.card aria-labelledby="create" {
            h2 #create { (lang.t("admin-create-user")) }
            (draw.general(&["tenant_id", "email", "display_name", "roles"]))
            (crate::pages::form::post("/admin/users", "create", &viewer.csrf, html! {
                (draw.select("tenant_id", "asset-tenant", &tenants, "internal"))
                (draw.input("email", "email", "admin-email", String::new(), true))
                (draw.input("text", "display_name", "admin-name", String::new(), true))
                fieldset aria-describedby=[draw.refused().then_some("user-roles-problem")] {
                    legend { (lang.t("admin-roles")) }
                    @for (role, words) in roles(lang) {
                        div.choice {
                            input type="checkbox" id={ "user-role-" (role) } name={ "role-" (role) } checked[ticked(&role)];
                            label for={ "user-role-" (role) } { (words) }
                        }
                    }
                    (crate::pages::incidents::problem_at("user-roles", draw_problems(refused), "roles"))
                }
                p.muted { (lang.t("admin-create-explain")) }
                button.primary type="submit" { (lang.t("admin-create-user")) }
            }))
        }
    };
    let frame = Frame {
        lang,
        viewer: Some(&viewer),
        path: "/admin/users",
    };
    errors::refused_if(
        refused.is_some(),
        (jar, frame_page(&frame, &lang.t("admin-users"), body)).into_response(),
    )
}

fn draw_problems(refused: Option<&Sent>) -> &crate::pages::incidents::Problems {
    static NONE: crate::pages::incidents::Problems = Vec::new();
    refused.map_or(&NONE, |s| &s.problems)
}

fn name_of(user: &User) -> String {
    if user.display_name.is_empty() {
        user.email.clone()
    } else {
        user.display_name.clone()
    }
}

fn role_words(lang: Lang, user: &User) -> String {
    user.roles()
        .map(|r| word(lang, "role", r))
        .collect::<Vec<_>>()
        .join(", ")
}

fn filter_select(
    lang: Lang,
    name: &str,
    label: &str,
    options: &[(String, String)],
    chosen: &str,
) -> Markup {
    html! {
        div.field {
            label for={ "filter-" (name) } { (lang.t(label)) }
            select id={ "filter-" (name) } name=(name) {
                option value="" { (lang.t("incidents-any")) }
                @for (value, words) in options {
                    option value=(value) selected[value == chosen] { (words) }
                }
            }
        }
    }
}

/// `POST /admin/users`: create a user with a temporary password, shown once.
pub async fn create(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Form(posted): Form<BTreeMap<String, String>>,
) -> Response {
    let (lang, jar, _viewer, access) =
        match poster(&state, jar, &headers, &posted, "/admin/users", |viewer| {
            viewer.may(Permission::ManageUsers)
        })
        .await
        {
            Ok(signed) => signed,
            Err(response) => return response,
        };
    let field = |name: &str| {
        posted
            .get(name)
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    let chosen: Vec<i32> = Role::VALUES
        .iter()
        .filter(|r| posted.contains_key(&format!("role-{}", r.word())))
        .map(|r| (*r).into())
        .collect();
    let password = temporary_password();
    let request = CreateUserRequest {
        tenant_id: field("tenant_id"),
        email: field("email"),
        display_name: field("display_name"),
        roles: chosen,
        temporary_password: password.clone(),
        consistency: None,
    };
    let problems = match state
        .identity
        .clone()
        .create_user(bearer(&access, request))
        .await
    {
        Ok(answer) => {
            let answer = answer.into_inner();
            let filters = Filters {
                after: after_text(answer.consistency.as_ref()),
                ..Default::default()
            };
            let user = answer.user.unwrap_or_default();
            return list_page(&state, jar, lang, &filters, None, Some((&user, &password))).await;
        }
        Err(status) => match Failure::of(&status) {
            Failure::Invalid(found) => violations(lang, &found),
            Failure::Conflict(_) => vec![("email".into(), lang.t("admin-email-taken"))],
            failure => return errors::failed(lang, jar, "/admin/users", &failure, PART),
        },
    };
    let sent = Sent {
        form: "user".into(),
        posted,
        problems,
    };
    list_page(&state, jar, lang, &Filters::default(), Some(&sent), None).await
}

/// The query string of a user's page.
#[derive(serde::Deserialize, Default)]
pub struct Shown {
    #[serde(default)]
    after: String,
    #[serde(default)]
    done: String,
}

/// `GET /admin/users/{id}`.
pub async fn user(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(shown): Query<Shown>,
) -> Response {
    let lang = language(&jar, &headers);
    let notice = match shown.done.as_str() {
        "" => None,
        done => lang.find(&format!("admin-done-{done}")),
    };
    user_page(&state, jar, lang, &id, &shown.after, notice, None).await
}

async fn user_page(
    state: &crate::Portal,
    jar: PrivateCookieJar,
    lang: Lang,
    id: &str,
    after: &str,
    notice: Option<String>,
    password: Option<&str>,
) -> Response {
    let path = format!("/admin/users/{}", crate::urlencode(id));
    let (jar, viewer, access) = match reader(state, jar, lang, &path, |viewer| {
        viewer.may(Permission::ManageUsers)
    })
    .await
    {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let answer = state
        .identity
        .clone()
        .get_user(bearer(
            &access,
            GetUserRequest {
                user_id: id.to_owned(),
                consistency: parse_after(after),
            },
        ))
        .await;
    let user = match answer {
        Ok(answer) => answer.into_inner().user.unwrap_or_default(),
        Err(status) => return errors::failed(lang, jar, &path, &Failure::of(&status), PART),
    };
    let active = user.status() == PrincipalStatus::Active;
    let held: Vec<String> = user.roles().map(|r| r.word().to_owned()).collect();
    let grantable: Vec<(String, String)> = roles(lang)
        .into_iter()
        .filter(|(role, _)| !held.contains(role))
        .collect();
    let action = |name: &str, label: &str, extra: Markup| {
        crate::pages::form::post(
            &format!("{path}/{name}"),
            "actions",
            &viewer.csrf,
            html! { (extra) button type="submit" { (lang.t(label)) } },
        )
    };
    let body = html! {
        (menu(lang, &viewer, "/admin/users"))
        @if let Some(notice) = &notice { p.notice role="status" { (notice) } }
        @if let Some(password) = password {
            (once(lang, "password", "admin-temporary-password", password, "admin-temporary-advice"))
        }
        h1 { (name_of(&user)) }
        dl.facts.card {
            dt { (lang.t("admin-email")) } dd { (user.email) }
            dt { (lang.t("asset-tenant")) } dd { (user.tenant_id) }
            dt { (lang.t("admin-status")) } dd { (word(lang, "principal", user.status())) }
        }
        section.card aria-labelledby="roles" {
            h2 #roles { (lang.t("admin-roles")) }
            ul.tasks {
                @for role in user.roles() {
                    li {
                        (word(lang, "role", role))
                        @if active {
                            " " (action("revoke", "admin-revoke", html! { input type="hidden" name="role" value=(role.word()); }))
                        }
                    }
                }
            }
            @if active && !grantable.is_empty() {
                (action("grant", "admin-grant", html! {
                    label for="grant-role" { (lang.t("admin-grant-role")) }
                    select #grant-role name="role" {
                        @for (role, words) in &grantable { option value=(role) { (words) } }
                    }
                }))
            }
        }
        @if active {
            section.card #actions aria-labelledby="account" {
                h2 #account { (lang.t("admin-account")) }
                p.muted { (lang.t("admin-unlock-explain")) }
                (action("unlock", "admin-unlock", html! {}))
                p.muted { (lang.t("admin-reset-explain")) }
                (action("reset", "admin-reset", html! {}))
                p.muted { (lang.t("admin-deactivate-explain")) }
                (action("deactivate", "admin-deactivate", html! {}))
            }
        }
    };
    let frame = Frame {
        lang,
        viewer: Some(&viewer),
        path: &path,
    };
    (jar, frame_page(&frame, &name_of(&user), body)).into_response()
}

/// `POST /admin/users/{id}/{action}`: grant, revoke, unlock, reset or deactivate.
pub async fn act(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    Form(posted): Form<BTreeMap<String, String>>,
) -> Response {
    let csrf = posted.get("csrf").map_or("", String::as_str);
    let (lang, jar, _) = match checked_form(&state, jar, &headers, csrf) {
        Ok(checked) => checked,
        Err(refused) => return *refused,
    };
    let path = format!("/admin/users/{}", crate::urlencode(&id));
    let (jar, _viewer, access) = match reader(&state, jar, lang, &path, |viewer| {
        viewer.may(Permission::ManageUsers)
    })
    .await
    {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let role = posted
        .get("role")
        .and_then(|r| Role::from_word(r))
        .map_or(0, Into::into);
    let mut identity = state.identity.clone();
    let user_id = id.clone();
    let password = temporary_password();
    let answer = match action.as_str() {
        "grant" => identity
            .grant_role(bearer(
                &access,
                GrantRoleRequest {
                    user_id,
                    role,
                    consistency: None,
                },
            ))
            .await
            .map(|a| a.into_inner().consistency),
        "revoke" => identity
            .revoke_role(bearer(
                &access,
                RevokeRoleRequest {
                    user_id,
                    role,
                    consistency: None,
                },
            ))
            .await
            .map(|a| a.into_inner().consistency),
        "unlock" => identity
            .unlock_user(bearer(
                &access,
                UnlockUserRequest {
                    user_id,
                    consistency: None,
                },
            ))
            .await
            .map(|a| a.into_inner().consistency),
        "deactivate" => identity
            .deactivate_user(bearer(
                &access,
                DeactivateUserRequest {
                    user_id,
                    consistency: None,
                },
            ))
            .await
            .map(|a| a.into_inner().consistency),
        "reset" => identity
            .reset_password(bearer(
                &access,
                ResetPasswordRequest {
                    user_id,
                    temporary_password: password.clone(),
                    consistency: None,
                },
            ))
            .await
            .map(|a| a.into_inner().consistency),
        _ => return (jar, errors::not_found(lang)).into_response(),
    };
    match answer {
        Ok(consistency) if action == "reset" => {
            let after = after_text(consistency.as_ref());
            let notice = Some(lang.t("admin-done-reset"));
            user_page(&state, jar, lang, &id, &after, notice, Some(&password)).await
        }
        Ok(consistency) => {
            let after = after_text(consistency.as_ref());
            let target = format!("{path}?done={action}&after={after}");
            (jar, Redirect::to(&target)).into_response()
        }
        Err(status) => match Failure::of(&status) {
            Failure::Invalid(found) => {
                let words = violations(lang, &found)
                    .into_iter()
                    .map(|(_, w)| w)
                    .collect::<Vec<_>>()
                    .join(" ");
                refused_action(&state, jar, lang, &id, &words).await
            }
            Failure::Precondition { message, .. } | Failure::Conflict(message) => {
                let words = lang.t_with("step-refused", &[("message", text(message))]);
                refused_action(&state, jar, lang, &id, &words).await
            }
            failure => errors::failed(lang, jar, &path, &failure, PART),
        },
    }
}

/// The user's page again with why an action was refused (422).
async fn refused_action(
    state: &crate::Portal,
    jar: PrivateCookieJar,
    lang: Lang,
    id: &str,
    words: &str,
) -> Response {
    let page = user_page(state, jar, lang, id, "", Some(words.to_owned()), None).await;
    errors::with_refused_status(page)
}
