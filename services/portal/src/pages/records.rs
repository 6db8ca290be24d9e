//! Records of processing (GDPR Art. 30): for a customer, where we are processor (30(2)):
//! the controller and its contacts, the DPA, the categories of processing, transfers and
//! security measures, and the customer's assets holding personal data; for `internal`,
//! where we are controller (30(1)): each processing activity. As a page, and as the CSV
//! and JSON the assets service produces. A customer sees its own record only.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::PrivateCookieJar;
use maud::{Markup, html};
use serde_json::Value;
use tillit_proto::assets::GetProcessingRecordRequest;

use crate::api::{Failure, parse_after};
use crate::i18n::Lang;
use crate::pages::layout::{Frame, page as frame_page};
use crate::pages::{errors, reader};
use crate::{State as Shared, bearer, language};

const PART: &str = "part-assets";

/// The page's query string.
#[derive(serde::Deserialize, Default)]
pub struct Shown {
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    after: String,
}

/// `GET /records?tenant=…`.
pub async fn record(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Query(shown): Query<Shown>,
) -> Response {
    let lang = language(&jar, &headers);
    let (jar, viewer, access) = match reader(&state, jar, lang, "/records", |viewer| {
        viewer.may_read_records()
    })
    .await
    {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let customer = viewer.roles.contains(&tillit_auth::Role::Customer);
    let tenants = if customer {
        Vec::new()
    } else {
        crate::pages::tenants(&state, &access).await
    };
    // A customer's own tenant is the only one identity lists to it.
    let own = if customer {
        crate::pages::tenants(&state, &access)
            .await
            .into_iter()
            .next()
            .map(|(slug, _)| slug)
            .unwrap_or_default()
    } else {
        String::new()
    };
    let tenant = match (customer, shown.tenant.trim()) {
        (true, _) => own,
        (false, "") => "internal".to_owned(),
        (false, chosen) => chosen.to_owned(),
    };
    let answer = state
        .assets
        .clone()
        .get_processing_record(bearer(
            &access,
            GetProcessingRecordRequest {
                tenant_id: tenant.clone(),
                consistency: parse_after(&shown.after),
            },
        ))
        .await;
    let answer = match answer {
        Ok(answer) => answer.into_inner(),
        Err(status) => return errors::failed(lang, jar, "/records", &Failure::of(&status), PART),
    };
    let record: Value = serde_json::from_str(&answer.json).unwrap_or_default();
    let body = html! {
        h1 { (lang.t("records-title")) }
        @if !tenants.is_empty() {
            form.card.filters method="get" action="/records" {
                div.field {
                    label for="records-tenant" { (lang.t("asset-tenant")) }
                    select #records-tenant name="tenant" {
                        @for (slug, name) in &tenants {
                            option value=(slug) selected[*slug == tenant] { (name) }
                        }
                    }
                }
                button.primary type="submit" { (lang.t("incidents-filter")) }
            }
        }
        p.muted { (record["article"].as_str().unwrap_or_default()) " · " (lang.t_with("records-assets", &[("count", answer.assets.into())])) }
        p.downloads {
            (lang.t("annual-downloads")) " "
            a href={ "/records/" (crate::urlencode(&tenant)) "/record.csv" } download { "CSV" } " "
            a href={ "/records/" (crate::urlencode(&tenant)) "/record.json" } download { "JSON" }
        }
        (overview(lang, &record))
        (activities(lang, &record))
    };
    let frame = Frame {
        lang,
        viewer: Some(&viewer),
        path: "/records",
    };
    (jar, frame_page(&frame, &lang.t("records-title"), body)).into_response()
}

/// A list of strings as "a, b, c", or "Not recorded".
fn listed(lang: Lang, value: &Value) -> String {
    let items: Vec<String> = value
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    Value::Object(o) => o
                        .values()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(" · "),
                    other => other.to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    if items.is_empty() {
        lang.t("print-not-recorded")
    } else {
        items.join(", ")
    }
}

/// The controller's contacts: "name (e-mail, phone)", each.
fn contacts(lang: Lang, value: &Value) -> String {
    let shown: Vec<String> = value
        .as_array()
        .map(|all| {
            all.iter()
                .map(|c| {
                    let field = |k: &str| c[k].as_str().unwrap_or_default().to_owned();
                    format!("{} ({}, {})", field("name"), field("email"), field("phone"))
                })
                .collect()
        })
        .unwrap_or_default();
    if shown.is_empty() {
        lang.t("print-not-recorded")
    } else {
        shown.join("; ")
    }
}

fn text_or(lang: Lang, value: &Value) -> String {
    match value.as_str() {
        Some(s) if !s.is_empty() => s.to_owned(),
        _ => lang.t("print-not-recorded"),
    }
}

/// Who the parties are and what the contract says.
fn overview(lang: Lang, record: &Value) -> Markup {
    let controller = &record["controller"];
    let processor = &record["processor"];
    html! {
        section.card aria-labelledby="parties" {
            h2 #parties { (lang.t("records-parties")) }
            dl.facts {
                @if processor.is_object() {
                    dt { (lang.t("records-processor")) } dd { (text_or(lang, &processor["name"])) " · " (text_or(lang, &processor["contact"])) }
                    dt { (lang.t("records-controller")) } dd { (text_or(lang, &controller["name"])) " (" (text_or(lang, &controller["organisation_number"])) ")" }
                    dt { (lang.t("records-contacts")) } dd { (contacts(lang, &controller["contacts"])) }
                    dt { (lang.t("tenant-dpa")) } dd { (text_or(lang, &controller["dpa_reference"])) }
                    dt { (lang.t("records-categories")) } dd { (listed(lang, &record["categories_of_processing"])) }
                    dt { (lang.t("records-transfers")) } dd { (listed(lang, &record["transfers_outside_eu"])) }
                    dt { (lang.t("records-measures")) } dd { (text_or(lang, &record["security_measures"])) }
                } @else {
                    dt { (lang.t("records-controller")) } dd { (text_or(lang, &controller["name"])) " · " (text_or(lang, &controller["contact"])) }
                }
            }
        }
    }
}

/// Each processing activity (asset holding personal data).
fn activities(lang: Lang, record: &Value) -> Markup {
    let entries = record["assets"]
        .as_array()
        .or_else(|| record["processing_activities"].as_array())
        .cloned()
        .unwrap_or_default();
    html! {
        section aria-labelledby="activities" {
            h2 #activities { (lang.t("records-activities")) }
            @if entries.is_empty() {
                p { (lang.t("records-none")) }
            }
            @for entry in &entries {
                article.card.activity {
                    h3 { a href={ "/assets/" (entry["asset_id"].as_str().unwrap_or_default()) } { (text_or(lang, &entry["name"])) } }
                    dl.facts {
                        dt { (lang.t("asset-purpose")) } dd { (text_or(lang, &entry["purpose"])) }
                        dt { (lang.t("records-data-categories")) } dd {
                            (listed(lang, &entry["data_categories"]))
                            @if entry["special_categories"].as_bool() == Some(true) { " · " strong { (lang.t("records-special")) } }
                        }
                        dt { (lang.t("records-data-subjects")) } dd { (listed(lang, &entry["data_subjects"])) }
                        dt { (lang.t("records-recipients")) } dd { (listed(lang, &entry["recipients"])) }
                        dt { (lang.t("records-sub-processors")) } dd { (listed(lang, &entry["sub_processors"])) }
                        dt { (lang.t("records-transfers")) } dd { (listed(lang, &entry["transfers_outside_eu"])) }
                        dt { (lang.t("asset-retention")) } dd { (text_or(lang, &entry["retention"])) }
                        dt { (lang.t("records-measures")) } dd { (listed(lang, &entry["security_measures"])) }
                    }
                }
            }
        }
    }
}

/// `GET /records/{tenant}/record.{csv|json}`.
pub async fn download(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path((tenant, file)): Path<(String, String)>,
) -> Response {
    let lang = language(&jar, &headers);
    let (jar, _viewer, access) = match reader(&state, jar, lang, "/records", |viewer| {
        viewer.may_read_records()
    })
    .await
    {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let content_type = match file.as_str() {
        "record.csv" => "text/csv; charset=utf-8",
        "record.json" => "application/json",
        _ => return (jar, errors::not_found(lang)).into_response(),
    };
    let answer = state
        .assets
        .clone()
        .get_processing_record(bearer(
            &access,
            GetProcessingRecordRequest {
                tenant_id: tenant.clone(),
                consistency: None,
            },
        ))
        .await;
    let answer = match answer {
        Ok(answer) => answer.into_inner(),
        Err(status) => return errors::failed(lang, jar, "/records", &Failure::of(&status), PART),
    };
    let body = if file == "record.csv" {
        answer.csv
    } else {
        answer.json
    };
    let mut response = (jar, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    let extension = file.rsplit('.').next().unwrap_or("txt");
    let slug: String = tenant
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    if let Ok(value) = HeaderValue::from_str(&format!(
        "attachment; filename=\"records-of-processing-{slug}.{extension}\""
    )) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}
