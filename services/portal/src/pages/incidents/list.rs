//! The incidents the user may see, newest first, with filters and paging.

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::PrivateCookieJar;
use maud::{Markup, html};
use tillit_auth::Permission;
use tillit_proto::Vocabulary;
use tillit_proto::common::{PageRequest, Severity};
use tillit_proto::incidents::{IncidentKind, IncidentStatus, ListIncidentsRequest};

use super::{PART, client, severity_of, word};
use crate::api::{Failure, parse_after};
use crate::i18n::Lang;
use crate::pages::layout::{Frame, page};
use crate::pages::{errors, viewer, when};
use crate::{State as Shared, bearer, language};

/// The query string of the list and of an incident's page (vocabulary words).
#[derive(serde::Deserialize, Default)]
pub struct Filters {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    severity: String,
    /// A tenant's slug (staff only).
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    page: String,
    /// Positions a page must see (`STREAM.SEQUENCE,…`): what the user just did.
    #[serde(default)]
    pub after: String,
    /// What the user just did (`report`, `triage`, …), to confirm it on the page.
    #[serde(default)]
    pub done: String,
}

/// The number of incidents on one page of the list.
const PAGE_SIZE: u32 = 50;

/// `GET /incidents`.
pub async fn list(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Query(filters): Query<Filters>,
) -> Response {
    let lang = language(&jar, &headers);
    let (jar, viewer, access) = match viewer(&state, jar, lang, "/incidents").await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    if !viewer.may_list_incidents() {
        return (jar, errors::forbidden(lang)).into_response();
    }
    // Staff filter by tenant, from the tenants identity lists them; others see only their own.
    let staff = viewer.may(Permission::ManageIncidents)
        || viewer.may(Permission::ReadEverything)
        || viewer.may(Permission::ReadReports);
    let tenants = if staff {
        crate::pages::tenants(&state, &access).await
    } else {
        Vec::new()
    };
    let request = ListIncidentsRequest {
        tenant_id: if staff {
            filters.tenant.clone()
        } else {
            String::new()
        },
        status: IncidentStatus::from_word(&filters.status).map_or(0, Into::into),
        kind: IncidentKind::from_word(&filters.kind).map_or(0, Into::into),
        severity: Severity::from_word(&filters.severity).map_or(0, Into::into),
        page: Some(PageRequest {
            page_size: PAGE_SIZE,
            page_token: filters.page.clone(),
        }),
        consistency: parse_after(&filters.after),
        ..Default::default()
    };
    let answer = match client(&state)
        .list_incidents(bearer(&access, request))
        .await
    {
        Ok(answer) => answer.into_inner(),
        Err(status) => {
            return errors::failed(lang, jar, "/incidents", &Failure::of(&status), PART);
        }
    };
    let next = answer.page.map(|p| p.next_page_token).unwrap_or_default();
    let body = html! {
        h1 { (lang.t("incidents-title")) }
        form.card.filters method="get" action="/incidents" {
            (choice(lang, "kind", "incidents-kind", IncidentKind::VALUES, &filters.kind))
            (choice(lang, "status", "incidents-status", IncidentStatus::VALUES, &filters.status))
            (choice(lang, "severity", "incidents-severity", Severity::VALUES, &filters.severity))
            @if !tenants.is_empty() {
                div.field {
                    label for="tenant" { (lang.t("incidents-tenant")) }
                    select #tenant name="tenant" {
                        option value="" { (lang.t("incidents-any")) }
                        @for (slug, name) in &tenants {
                            option value=(slug) selected[*slug == filters.tenant] { (name) }
                        }
                    }
                }
            }
            button.primary type="submit" { (lang.t("incidents-filter")) }
        }
        @if answer.incidents.is_empty() {
            p { (lang.t("incidents-none")) }
        } @else {
            div.table-wrap {
                table.list {
                    thead { tr {
                        th scope="col" { (lang.t("incidents-heading")) }
                        th scope="col" { (lang.t("incidents-kind")) }
                        th scope="col" { (lang.t("incidents-status")) }
                        th scope="col" { (lang.t("incidents-severity")) }
                        th scope="col" { (lang.t("incidents-reported")) }
                    } }
                    tbody {
                        @for incident in &answer.incidents {
                            tr {
                                td { a href={ "/incidents/" (incident.incident_id) } { (incident.title) } }
                                td { (word(lang, "kind", incident.kind())) }
                                td { (word(lang, "status", incident.status())) }
                                td { (severity_of(lang, incident)) }
                                td { (incident.reported_at.as_ref().map(when).unwrap_or_default()) }
                            }
                        }
                    }
                }
            }
        }
        @if !next.is_empty() {
            p { a href={ "/incidents?kind=" (filters.kind) "&status=" (filters.status) "&severity=" (filters.severity) "&tenant=" (crate::urlencode(&filters.tenant)) "&page=" (crate::urlencode(&next)) } { (lang.t("incidents-next")) } }
        }
    };
    let frame = Frame {
        lang,
        viewer: Some(&viewer),
        path: "/incidents",
    };
    (jar, page(&frame, &lang.t("incidents-title"), body)).into_response()
}

fn choice<V: Vocabulary + Copy>(
    lang: Lang,
    name: &str,
    label: &str,
    values: &[V],
    chosen: &str,
) -> Markup {
    html! {
        div.field {
            label for=(name) { (lang.t(label)) }
            select #(name) name=(name) {
                option value="" { (lang.t("incidents-any")) }
                @for value in values {
                    option value=(value.word()) selected[value.word() == chosen] { (word(lang, name, *value)) }
                }
            }
        }
    }
}
