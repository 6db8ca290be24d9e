//! Service accounts (admins): the list, creating one (its client id and secret shown once,
//! with a copy button), rotating a secret (the new one shown once; the old one stops
//! working) and deactivating one (its tokens are refused).

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::{Form, PrivateCookieJar};
use maud::{Markup, html};
use tillit_auth::Permission;
use tillit_proto::Vocabulary;
use tillit_proto::identity::{
    CreateServiceAccountRequest, DeactivateServiceAccountRequest, ListServiceAccountsRequest,
    PrincipalStatus, Role, RotateServiceAccountSecretRequest,
};

use super::{PART, menu, once, roles};
use crate::api::{Failure, after_text, parse_after};
use crate::i18n::{Lang, text};
use crate::pages::form::{Draw, Sent};
use crate::pages::incidents::word;
use crate::pages::layout::{Frame, page as frame_page};
use crate::pages::{errors, poster, reader, violations};
use crate::{State as Shared, bearer, language};

const PATH: &str = "/admin/service-accounts";

/// The list's query string.
#[derive(serde::Deserialize, Default)]
pub struct Shown {
    #[serde(default)]
    after: String,
    #[serde(default)]
    done: String,
}

/// A secret just made, to show once: (client id, secret).
type Issued<'a> = Option<(&'a str, &'a str)>;

/// `GET /admin/service-accounts`.
pub async fn list(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Query(shown): Query<Shown>,
) -> Response {
    let lang = language(&jar, &headers);
    let notice = (shown.done == "deactivated").then(|| lang.t("admin-account-deactivated"));
    page(&state, jar, lang, &shown.after, notice, None, None).await
}

async fn page(
    state: &crate::Portal,
    jar: PrivateCookieJar,
    lang: Lang,
    after: &str,
    notice: Option<String>,
    issued: Issued<'_>,
    refused: Option<&Sent>,
) -> Response {
    let (jar, viewer, access) = match reader(state, jar, lang, PATH, |viewer| {
        viewer.may(Permission::ManageServiceAccounts)
    })
    .await
    {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let mut identity = state.identity.clone();
    let (answer, tenants) = tokio::join!(
        identity.list_service_accounts(bearer(
            &access,
            ListServiceAccountsRequest {
                tenant_id: String::new(),
                consistency: parse_after(after),
            },
        )),
        crate::pages::tenants(state, &access)
    );
    let accounts = match answer {
        Ok(answer) => answer.into_inner().service_accounts,
        Err(status) => return errors::failed(lang, jar, PATH, &Failure::of(&status), PART),
    };
    let draw = Draw::new(lang, "account", refused);
    let button = |action: &str, label: &str, id: &str| -> Markup {
        crate::pages::form::post(
            &format!("{PATH}/{id}/{action}"),
            "accounts",
            &viewer.csrf,
            html! { button type="submit" { (lang.t(label)) } },
        )
    };
    let body = html! {
        (menu(lang, &viewer, PATH))
        @if let Some(notice) = &notice { p.notice role="status" { (notice) } }
        @if let Some((client_id, secret)) = issued {
            p { (lang.t("admin-client-id")) " " code #client-id { (client_id) } }
            (once(lang, "secret", "admin-client-secret", secret, "admin-secret-advice"))
        }
        h1 { (lang.t("admin-service-accounts")) }
        div.table-wrap { table.list #accounts {
            thead { tr {
                th scope="col" { (lang.t("admin-name")) }
                th scope="col" { (lang.t("asset-tenant")) }
                th scope="col" { (lang.t("admin-roles")) }
                th scope="col" { (lang.t("admin-status")) }
                th scope="col" { span.visually-hidden { (lang.t("admin-actions")) } }
            } }
            tbody { @for account in &accounts { tr id={ "account-" (account.service_account_id) } {
                td { (account.name) br; code.muted { (account.service_account_id) } }
                td { (account.tenant_id) }
                td { (account.roles().map(|r| word(lang, "role", r)).collect::<Vec<_>>().join(", ")) }
                td { (word(lang, "principal", account.status())) }
                td {
                    @if account.status() == PrincipalStatus::Active {
                        (button("rotate", "admin-rotate", &account.service_account_id))
                        (button("deactivate", "admin-deactivate", &account.service_account_id))
                    }
                }
            } } }
        } }
        section.card aria-labelledby="create" {
            h2 #create { (lang.t("admin-create-account")) }
            (draw.general(&["tenant_id", "name", "roles"]))
            (crate::pages::form::post(PATH, "create", &viewer.csrf, html! {
                (draw.select("tenant_id", "asset-tenant", &tenants, "internal"))
                (draw.input("text", "name", "admin-name", String::new(), true))
                (draw.select("role", "admin-grant-role", &roles(lang), "employee"))
                button.primary type="submit" { (lang.t("admin-create-account")) }
            }))
        }
    };
    let frame = Frame {
        lang,
        viewer: Some(&viewer),
        path: PATH,
    };
    let page = (
        jar,
        frame_page(&frame, &lang.t("admin-service-accounts"), body),
    )
        .into_response();
    if refused.is_some() {
        errors::with_refused_status(page)
    } else {
        page
    }
}

/// `POST /admin/service-accounts`: create one; its secret is shown once.
pub async fn create(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Form(posted): Form<BTreeMap<String, String>>,
) -> Response {
    let (lang, jar, _viewer, access) =
        match poster(&state, jar, &headers, &posted, PATH, |viewer| {
            viewer.may(Permission::ManageServiceAccounts)
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
    let request = CreateServiceAccountRequest {
        tenant_id: field("tenant_id"),
        name: field("name"),
        roles: Role::from_word(&field("role"))
            .map(|r| vec![r.into()])
            .unwrap_or_default(),
        consistency: None,
    };
    let problems = match state
        .identity
        .clone()
        .create_service_account(bearer(&access, request))
        .await
    {
        Ok(answer) => {
            let answer = answer.into_inner();
            let after = after_text(answer.consistency.as_ref());
            let notice = Some(lang.t("admin-account-created"));
            let issued = Some((answer.client_id.as_str(), answer.client_secret.as_str()));
            return page(&state, jar, lang, &after, notice, issued, None).await;
        }
        Err(status) => match Failure::of(&status) {
            Failure::Invalid(found) => violations(lang, &found)
                .into_iter()
                .map(|(f, w)| (if f == "roles" { "role".to_owned() } else { f }, w))
                .collect(),
            Failure::Precondition { message, .. } | Failure::Conflict(message) => vec![(
                String::new(),
                lang.t_with("step-refused", &[("message", text(message))]),
            )],
            failure => return errors::failed(lang, jar, PATH, &failure, PART),
        },
    };
    let sent = Sent {
        form: "account".into(),
        posted,
        problems,
    };
    page(&state, jar, lang, "", None, None, Some(&sent)).await
}

/// `POST /admin/service-accounts/{id}/{rotate|deactivate}`.
pub async fn act(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    Form(posted): Form<BTreeMap<String, String>>,
) -> Response {
    let (lang, jar, _viewer, access) =
        match poster(&state, jar, &headers, &posted, PATH, |viewer| {
            viewer.may(Permission::ManageServiceAccounts)
        })
        .await
        {
            Ok(signed) => signed,
            Err(response) => return response,
        };
    let mut identity = state.identity.clone();
    match action.as_str() {
        "rotate" => {
            let answer = identity
                .rotate_service_account_secret(bearer(
                    &access,
                    RotateServiceAccountSecretRequest {
                        service_account_id: id.clone(),
                        consistency: None,
                    },
                ))
                .await;
            match answer {
                Ok(answer) => {
                    let answer = answer.into_inner();
                    let after = after_text(answer.consistency.as_ref());
                    let notice = Some(lang.t("admin-secret-rotated"));
                    let issued = Some((id.as_str(), answer.client_secret.as_str()));
                    page(&state, jar, lang, &after, notice, issued, None).await
                }
                Err(status) => errors::failed(lang, jar, PATH, &Failure::of(&status), PART),
            }
        }
        "deactivate" => {
            let answer = identity
                .deactivate_service_account(bearer(
                    &access,
                    DeactivateServiceAccountRequest {
                        service_account_id: id,
                        consistency: None,
                    },
                ))
                .await;
            match answer {
                Ok(answer) => {
                    let after = after_text(answer.into_inner().consistency.as_ref());
                    let target = format!("{PATH}?done=deactivated&after={after}");
                    (jar, Redirect::to(&target)).into_response()
                }
                Err(status) => errors::failed(lang, jar, PATH, &Failure::of(&status), PART),
            }
        }
        _ => (jar, errors::not_found(lang)).into_response(),
    }
}
