//! Customers (admins): the list, registering one, and changing one's name, incident
//! contacts and contract terms — breach and outage notice hours, whether it is under NIS2,
//! the DPA reference, the processing we do for it, transfers outside the EU and the
//! security measures. A change is a new event; the terms before stay in the history (the
//! audit trail links it), and obligations already arisen keep their due times.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::{Form, PrivateCookieJar};
use maud::{Markup, html};
use tillit_auth::Permission;
use tillit_proto::common::PageRequest;
use tillit_proto::identity::{
    Contact, ContractTerms, CreateTenantRequest, GetTenantRequest, ListTenantsRequest, Tenant,
    TransferOutsideEu, UpdateTenantRequest,
};

use super::{PART, menu};
use crate::api::{Failure, after_text, parse_after};
use crate::i18n::{Lang, text};
use crate::pages::form::{Draw, Posted, Sent};
use crate::pages::layout::{Frame, page as frame_page};
use crate::pages::{errors, poster, reader, violations};
use crate::{State as Shared, bearer, language};

/// Contact rows the form offers.
const CONTACT_ROWS: usize = 3;

/// A page's query string.
#[derive(serde::Deserialize, Default)]
pub struct Shown {
    #[serde(default)]
    after: String,
    #[serde(default)]
    done: String,
}

/// `GET /admin/tenants`.
pub async fn list(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Query(shown): Query<Shown>,
) -> Response {
    let lang = language(&jar, &headers);
    list_page(&state, jar, lang, &shown.after, None).await
}

async fn list_page(
    state: &crate::Portal,
    jar: PrivateCookieJar,
    lang: Lang,
    after: &str,
    refused: Option<&Sent>,
) -> Response {
    let (jar, viewer, access) = match reader(state, jar, lang, "/admin/tenants", |viewer| {
        viewer.may(Permission::ManageTenants)
    })
    .await
    {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let answer = state
        .identity
        .clone()
        .list_tenants(bearer(
            &access,
            ListTenantsRequest {
                page: Some(PageRequest {
                    page_size: 500,
                    page_token: String::new(),
                }),
                consistency: parse_after(after),
            },
        ))
        .await;
    let tenants = match answer {
        Ok(answer) => answer.into_inner().tenants,
        Err(status) => {
            return errors::failed(lang, jar, "/admin/tenants", &Failure::of(&status), PART);
        }
    };
    let body = html! {
        (menu(lang, &viewer, "/admin/tenants"))
        h1 { (lang.t("admin-tenants")) }
        div.table-wrap { table.list #tenants {
            thead { tr {
                th scope="col" { (lang.t("admin-name")) }
                th scope="col" { (lang.t("tenant-slug")) }
                th scope="col" { (lang.t("tenant-org")) }
                th scope="col" { (lang.t("tenant-breach-hours")) }
                th scope="col" { (lang.t("tenant-outage-hours")) }
            } }
            tbody { @for t in &tenants { tr {
                td { @if t.tenant_id == "internal" { (t.name) } @else { a href={ "/admin/tenants/" (t.tenant_id) } { (t.name) } } }
                td { (t.tenant_id) }
                td { (t.organisation_number) }
                td { (t.contract.as_ref().map(|c| c.breach_notice_hours.to_string()).unwrap_or_default()) }
                td { (t.contract.as_ref().map(|c| c.outage_notice_hours.to_string()).unwrap_or_default()) }
            } } }
        } }
        section.card aria-labelledby="create" {
            h2 #create { (lang.t("tenant-create")) }
            (tenant_form(lang, &viewer.csrf, None, refused))
        }
    };
    let frame = Frame {
        lang,
        viewer: Some(&viewer),
        path: "/admin/tenants",
    };
    errors::refused_if(
        refused.is_some(),
        (jar, frame_page(&frame, &lang.t("admin-tenants"), body)).into_response(),
    )
}

/// A tenant's details as the form's fields.
fn posted_of(tenant: &Tenant) -> Posted {
    let contract = tenant.contract.clone().unwrap_or_default();
    let mut posted: Posted = [
        ("tenant_id", tenant.tenant_id.clone()),
        ("name", tenant.name.clone()),
        ("organisation_number", tenant.organisation_number.clone()),
        ("breach_hours", contract.breach_notice_hours.to_string()),
        ("outage_hours", contract.outage_notice_hours.to_string()),
        ("dpa_reference", contract.dpa_reference.clone()),
        ("processing", contract.processing_categories.join(", ")),
        ("security_measures", contract.security_measures.clone()),
        (
            "transfers",
            contract
                .transfers_outside_eu
                .iter()
                .map(|t| format!("{}; {}; {}", t.recipient, t.country, t.safeguard))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    if contract.customer_under_nis2 {
        posted.insert("nis2".into(), "on".into());
    }
    for (i, contact) in tenant.incident_contacts.iter().enumerate() {
        posted.insert(format!("contact{i}-name"), contact.name.clone());
        posted.insert(format!("contact{i}-email"), contact.email.clone());
        posted.insert(format!("contact{i}-phone"), contact.phone.clone());
        posted.insert(format!("contact{i}-id"), contact.contact_id.clone());
    }
    posted
}

/// The form registering a customer (`current` none) or changing one.
fn tenant_form(lang: Lang, csrf: &str, current: Option<&Tenant>, refused: Option<&Sent>) -> Markup {
    let stored = current.map(|t| Sent {
        form: "tenant".into(),
        posted: posted_of(t),
        problems: Vec::new(),
    });
    let draw = Draw::new(lang, "tenant", refused.or(stored.as_ref()));
    let action = match current {
        Some(t) => format!("/admin/tenants/{}", t.tenant_id),
        None => "/admin/tenants".to_owned(),
    };
    let known = [
        "tenant_id",
        "name",
        "organisation_number",
        "incident_contacts",
        "breach_hours",
        "outage_hours",
        "dpa_reference",
        "processing",
        "security_measures",
        "transfers",
    ];
    let nis2 = draw.value("nis2", "") == "on";
    html! {
        (draw.general(&known))
        (crate::pages::form::post(&action, "create", csrf, html! {
            @match current {
                Some(t) => { input type="hidden" name="tenant_id" value=(t.tenant_id); }
                None => { (draw.input("text", "tenant_id", "tenant-slug", String::new(), true)) }
            }
            (draw.input("text", "name", "admin-name", String::new(), true))
            (draw.input("text", "organisation_number", "tenant-org", String::new(), true))
            fieldset {
                legend { (lang.t("tenant-contacts")) }
                @for i in 0..CONTACT_ROWS {
                    div.contact {
                        input type="hidden" name={ "contact" (i) "-id" } value=(draw.value(&format!("contact{i}-id"), ""));
                        (draw.input("text", &format!("contact{i}-name"), "tenant-contact-name", String::new(), i == 0))
                        (draw.input("email", &format!("contact{i}-email"), "admin-email", String::new(), i == 0))
                        (draw.input("tel", &format!("contact{i}-phone"), "tenant-contact-phone", String::new(), i == 0))
                    }
                }
                (draw.problem("incident_contacts"))
            }
            fieldset {
                legend { (lang.t("tenant-contract")) }
                (draw.input("text", "breach_hours", "tenant-breach-hours", String::new(), true))
                (draw.input("text", "outage_hours", "tenant-outage-hours", String::new(), true))
                div.choice {
                    input type="checkbox" id="tenant-nis2" name="nis2" checked[nis2];
                    label for="tenant-nis2" { (lang.t("tenant-nis2")) }
                }
                (draw.input("text", "dpa_reference", "tenant-dpa", String::new(), false))
                (draw.input("text", "processing", "tenant-processing", String::new(), false))
                (draw.textarea("security_measures", "tenant-measures", None, false))
                (draw.textarea("transfers", "tenant-transfers", Some("tenant-transfers-hint"), false))
            }
            @if current.is_some() { p.muted { (lang.t("tenant-change-explain")) } }
            button.primary type="submit" {
                (lang.t(if current.is_some() { "tenant-save" } else { "tenant-create" }))
            }
        }))
    }
}

/// The request's parts read from the form; `Err` the problems found before sending.
struct Read {
    contacts: Vec<Contact>,
    contract: ContractTerms,
}

fn read(lang: Lang, posted: &Posted) -> Result<Read, Vec<(String, String)>> {
    let field = |name: &str| {
        posted
            .get(name)
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    let mut problems = Vec::new();
    let mut hours = |name: &str| match field(name).parse::<u32>() {
        Ok(hours) => hours,
        Err(_) => {
            problems.push((name.to_owned(), lang.t("reason-MALFORMED")));
            0
        }
    };
    let (breach, outage) = (hours("breach_hours"), hours("outage_hours"));
    let contacts: Vec<Contact> = (0..CONTACT_ROWS)
        .map(|i| Contact {
            name: field(&format!("contact{i}-name")),
            email: field(&format!("contact{i}-email")),
            phone: field(&format!("contact{i}-phone")),
            contact_id: field(&format!("contact{i}-id")),
        })
        .filter(|c| !(c.name.is_empty() && c.email.is_empty() && c.phone.is_empty()))
        .collect();
    let mut transfers = Vec::new();
    for line in field("transfers").lines().filter(|l| !l.trim().is_empty()) {
        let parts: Vec<&str> = line.split(';').map(str::trim).collect();
        match parts.as_slice() {
            [recipient, country, safeguard] => transfers.push(TransferOutsideEu {
                recipient: (*recipient).to_owned(),
                country: (*country).to_owned(),
                safeguard: (*safeguard).to_owned(),
            }),
            _ => {
                problems.push(("transfers".to_owned(), lang.t("tenant-transfers-hint")));
                break;
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Read {
        contacts,
        contract: ContractTerms {
            breach_notice_hours: breach,
            outage_notice_hours: outage,
            customer_under_nis2: posted.contains_key("nis2"),
            dpa_reference: field("dpa_reference"),
            processing_categories: field("processing")
                .split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect(),
            transfers_outside_eu: transfers,
            security_measures: field("security_measures"),
        },
    })
}

/// The form field a service's field is shown at.
fn field_of(service: &str) -> String {
    match service {
        s if s.starts_with("incident_contacts") => "incident_contacts".into(),
        "contract.breach_notice_hours" => "breach_hours".into(),
        "contract.outage_notice_hours" => "outage_hours".into(),
        s if s.starts_with("contract.transfers_outside_eu") => "transfers".into(),
        "contract.dpa_reference" => "dpa_reference".into(),
        "contract.security_measures" => "security_measures".into(),
        s if s.starts_with("contract.processing_categories") => "processing".into(),
        other => other.to_owned(),
    }
}

/// `POST /admin/tenants` (register) and `POST /admin/tenants/{id}` (change).
pub async fn save(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    id: Option<Path<String>>,
    Form(posted): Form<BTreeMap<String, String>>,
) -> Response {
    let (lang, jar, _viewer, access) =
        match poster(&state, jar, &headers, &posted, "/admin/tenants", |viewer| {
            viewer.may(Permission::ManageTenants)
        })
        .await
        {
            Ok(signed) => signed,
            Err(response) => return response,
        };
    let updating = id.map(|Path(id)| id);
    let field = |name: &str| {
        posted
            .get(name)
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    let problems = match read(lang, &posted) {
        Err(problems) => problems,
        Ok(parts) => {
            let mut identity = state.identity.clone();
            let answer = match &updating {
                Some(id) => identity
                    .update_tenant(bearer(
                        &access,
                        UpdateTenantRequest {
                            tenant_id: id.clone(),
                            name: field("name"),
                            organisation_number: field("organisation_number"),
                            incident_contacts: parts.contacts,
                            contract: Some(parts.contract),
                            consistency: None,
                        },
                    ))
                    .await
                    .map(|a| a.into_inner().consistency),
                None => identity
                    .create_tenant(bearer(
                        &access,
                        CreateTenantRequest {
                            tenant_id: field("tenant_id"),
                            name: field("name"),
                            organisation_number: field("organisation_number"),
                            incident_contacts: parts.contacts,
                            contract: Some(parts.contract),
                            consistency: None,
                        },
                    ))
                    .await
                    .map(|a| a.into_inner().consistency),
            };
            match answer {
                Ok(consistency) => {
                    let after = after_text(consistency.as_ref());
                    let slug = updating.clone().unwrap_or_else(|| field("tenant_id"));
                    let target = format!("/admin/tenants/{slug}?done=saved&after={after}");
                    return (jar, Redirect::to(&target)).into_response();
                }
                Err(status) => match Failure::of(&status) {
                    Failure::Invalid(found) => violations(lang, &found)
                        .into_iter()
                        .map(|(f, w)| (field_of(&f), w))
                        .collect(),
                    Failure::Precondition { message, .. } | Failure::Conflict(message) => {
                        vec![(
                            String::new(),
                            lang.t_with("step-refused", &[("message", text(message))]),
                        )]
                    }
                    failure => return errors::failed(lang, jar, "/admin/tenants", &failure, PART),
                },
            }
        }
    };
    let sent = Sent {
        form: "tenant".into(),
        posted,
        problems,
    };
    match updating {
        Some(id) => tenant_page(&state, jar, lang, &id, "", None, Some(&sent)).await,
        None => list_page(&state, jar, lang, "", Some(&sent)).await,
    }
}

/// `GET /admin/tenants/{id}`.
pub async fn tenant(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(shown): Query<Shown>,
) -> Response {
    let lang = language(&jar, &headers);
    let notice = (shown.done == "saved").then(|| lang.t("tenant-saved"));
    tenant_page(&state, jar, lang, &id, &shown.after, notice, None).await
}

async fn tenant_page(
    state: &crate::Portal,
    jar: PrivateCookieJar,
    lang: Lang,
    id: &str,
    after: &str,
    notice: Option<String>,
    refused: Option<&Sent>,
) -> Response {
    let path = format!("/admin/tenants/{}", crate::urlencode(id));
    let (jar, viewer, access) = match reader(state, jar, lang, &path, |viewer| {
        viewer.may(Permission::ManageTenants)
    })
    .await
    {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let answer = state
        .identity
        .clone()
        .get_tenant(bearer(
            &access,
            GetTenantRequest {
                tenant_id: id.to_owned(),
                consistency: parse_after(after),
            },
        ))
        .await;
    let tenant = match answer {
        Ok(answer) => answer.into_inner().tenant.unwrap_or_default(),
        Err(status) => return errors::failed(lang, jar, &path, &Failure::of(&status), PART),
    };
    if tenant.tenant_id == "internal" {
        return (jar, errors::not_found(lang)).into_response();
    }
    let body = html! {
        (menu(lang, &viewer, "/admin/tenants"))
        @if let Some(notice) = &notice { p.notice role="status" { (notice) } }
        h1 { (tenant.name) }
        p.muted {
            (tenant.tenant_id) " · " (tenant.organisation_number)
            @if viewer.may(Permission::ReadAuditTrail) {
                " · " a href={ "/audit?aggregate=" (tenant.tenant_id) } { (lang.t("tenant-history")) }
            }
        }
        section.card aria-labelledby="edit" {
            h2 #edit { (lang.t("tenant-edit")) }
            (tenant_form(lang, &viewer.csrf, Some(&tenant), refused))
        }
    };
    let frame = Frame {
        lang,
        viewer: Some(&viewer),
        path: &path,
    };
    errors::refused_if(
        refused.is_some(),
        (jar, frame_page(&frame, &tenant.name, body)).into_response(),
    )
}
