//! Personal data (GDPR): everybody's own "my data" page with the Art. 15 export, and the
//! erasure of a data subject (Art. 17) — asked for by a security officer or an admin,
//! confirmed by a second person (a manager or an admin), refused while a legal hold
//! stands. An erased person reads as "erased" wherever they were shown.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::{Form, PrivateCookieJar};
use maud::html;
use tillit_auth::Permission;
use tillit_proto::identity::{
    ApproveErasureRequest, EraseDataSubjectRequest, ExportDataSubjectRequest, ListErasuresRequest,
    PrincipalStatus,
};

use crate::api::{Failure, after_text, parse_after};
use crate::i18n::{Lang, text};
use crate::pages::form::{Draw, Sent};
use crate::pages::layout::{Frame, page as frame_page};
use crate::pages::{errors, poster, reader, viewer, violations, when};
use crate::{State as Shared, bearer, language};

const PART: &str = "part-identity";

/// How the services show a value whose keys are destroyed.
pub const ERASED: &str = "[erased]";

/// A person's name as a page shows it: "erased" in the user's language for an erased one.
pub fn person(lang: Lang, name: &str) -> String {
    if name == ERASED {
        lang.t("audit-erased")
    } else {
        name.to_owned()
    }
}

/// `GET /my-data`: what Tillit holds about the viewer, and the download.
pub async fn mine(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
) -> Response {
    let lang = language(&jar, &headers);
    let (jar, viewer, access) = match viewer(&state, jar, lang, "/my-data").await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let answer = state
        .identity
        .clone()
        .export_data_subject(bearer(&access, ExportDataSubjectRequest::default()))
        .await;
    let export: serde_json::Value = match answer {
        Ok(answer) => serde_json::from_str(&answer.into_inner().json).unwrap_or_default(),
        Err(status) => return errors::failed(lang, jar, "/my-data", &Failure::of(&status), PART),
    };
    let mut by_stream: BTreeMap<String, usize> = BTreeMap::new();
    let records = export["records"].as_array().cloned().unwrap_or_default();
    for record in &records {
        *by_stream
            .entry(record["stream"].as_str().unwrap_or_default().to_owned())
            .or_default() += 1;
    }
    let body = html! {
        h1 { (lang.t("mydata-title")) }
        p { (lang.t("mydata-explain")) }
        section.card aria-labelledby="held" {
            h2 #held { (lang.t("mydata-held")) }
            p { (lang.t_with("mydata-records", &[("count", records.len().into())])) }
            ul.tasks {
                @for (stream, count) in &by_stream {
                    li { (lang.find(&format!("mydata-stream-{}", stream.to_lowercase())).unwrap_or_else(|| stream.clone())) ": " (count) }
                }
            }
            p { a.button href="/my-data/export.json" download { (lang.t("mydata-download")) } }
            p.muted { (lang.t("mydata-erasure")) }
        }
    };
    let frame = Frame {
        lang,
        viewer: Some(&viewer),
        path: "/my-data",
    };
    (jar, frame_page(&frame, &lang.t("mydata-title"), body)).into_response()
}

/// `GET /my-data/export.json`: the export as a file.
pub async fn export(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
) -> Response {
    let lang = language(&jar, &headers);
    let (jar, _, access) = match viewer(&state, jar, lang, "/my-data").await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let answer = state
        .identity
        .clone()
        .export_data_subject(bearer(&access, ExportDataSubjectRequest::default()))
        .await;
    match answer {
        Ok(answer) => {
            let mut response = (jar, answer.into_inner().json).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            headers.insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"my-data.json\""),
            );
            response
        }
        Err(status) => errors::failed(lang, jar, "/my-data", &Failure::of(&status), PART),
    }
}

/// The erasure page's query string.
#[derive(serde::Deserialize, Default)]
pub struct Shown {
    #[serde(default)]
    after: String,
    #[serde(default)]
    done: String,
}

/// `GET /erasure`.
pub async fn erasures(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Query(shown): Query<Shown>,
) -> Response {
    let lang = language(&jar, &headers);
    let notice = match shown.done.as_str() {
        "requested" => Some(lang.t("erasure-requested")),
        "approved" => Some(lang.t("erasure-approved")),
        _ => None,
    };
    erasure_page(&state, jar, lang, &shown.after, notice, None).await
}

async fn erasure_page(
    state: &crate::Portal,
    jar: PrivateCookieJar,
    lang: Lang,
    after: &str,
    notice: Option<String>,
    refused: Option<&Sent>,
) -> Response {
    let (jar, viewer, access) = match reader(state, jar, lang, "/erasure", |viewer| {
        viewer.may_handle_erasures()
    })
    .await
    {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let mut identity = state.identity.clone();
    let (answer, people, deactivated) = tokio::join!(
        identity.list_erasures(bearer(
            &access,
            ListErasuresRequest {
                pending_only: false,
                consistency: parse_after(after),
            },
        )),
        crate::pages::users(state, &access, "", PrincipalStatus::Unspecified),
        crate::pages::users(state, &access, "", PrincipalStatus::Deactivated),
    );
    let erasures = match answer {
        Ok(answer) => answer.into_inner().erasures,
        Err(status) => return errors::failed(lang, jar, "/erasure", &Failure::of(&status), PART),
    };
    let name_of = |id: &str| {
        if id == viewer.subject {
            return lang.t("timeline-you");
        }
        people
            .iter()
            .find(|(user, _)| user == id)
            .map_or_else(|| id.to_owned(), |(_, name)| person(lang, name))
    };
    let candidates: Vec<(String, String)> = deactivated
        .into_iter()
        .filter(|(id, name)| name != ERASED && !erasures.iter().any(|e| e.subject_id == *id))
        .collect();
    let draw = Draw::new(lang, "erasure", refused);
    let body = html! {
        @if let Some(notice) = &notice { p.notice role="status" { (notice) } }
        h1 { (lang.t("erasure-title")) }
        p.muted { (lang.t("erasure-explain")) }
        @if erasures.is_empty() {
            p { (lang.t("erasure-none")) }
        } @else {
            div.table-wrap { table.list #erasures {
                thead { tr {
                    th scope="col" { (lang.t("erasure-subject")) }
                    th scope="col" { (lang.t("erasure-reason")) }
                    th scope="col" { (lang.t("erasure-requested-by")) }
                    th scope="col" { (lang.t("erasure-state")) }
                } }
                tbody { @for erasure in &erasures { tr id={ "erasure-" (erasure.erasure_id) } {
                    td { (name_of(&erasure.subject_id)) br; code.muted { (erasure.subject_id) } }
                    td { (erasure.reason) }
                    td { (name_of(&erasure.requested_by)) br; span.muted { (erasure.requested_at.as_ref().map(when).unwrap_or_default()) } }
                    td {
                        @if erasure.approved_by.is_empty() {
                            (lang.t("erasure-awaiting"))
                            @if viewer.may(Permission::ApproveErasure) && erasure.requested_by != viewer.subject {
                                (crate::pages::form::post(&format!("/erasure/{}/approve", erasure.erasure_id), "erasures", &viewer.csrf, html! {
                                    p.muted { (lang.t("erasure-approve-explain")) }
                                    button.danger type="submit" { (lang.t("erasure-approve")) }
                                }))
                            }
                        } @else {
                            (lang.t_with("erasure-erased-by", &[
                                ("name", text(name_of(&erasure.approved_by))),
                                ("when", text(erasure.erased_at.as_ref().map(when).unwrap_or_default())),
                            ]))
                        }
                    }
                } } }
            } }
        }
        @if viewer.may(Permission::RequestErasure) {
            section.card aria-labelledby="request" {
                h2 #request { (lang.t("erasure-request")) }
                p.muted { (lang.t("erasure-request-explain")) }
                (draw.general(&["subject_id", "contact_id", "reason"]))
                (crate::pages::form::post("/erasure", "request", &viewer.csrf, html! {
                    @if candidates.is_empty() {
                        p { (lang.t("erasure-no-candidates")) }
                    } @else {
                        (draw.select("subject_id", "erasure-subject", &[(String::new(), lang.t("erasure-choose"))].into_iter().chain(candidates.iter().cloned()).collect::<Vec<_>>(), ""))
                    }
                    (draw.input("text", "contact_id", "erasure-contact", String::new(), false))
                    (draw.input("text", "reason", "erasure-reason", String::new(), true))
                    button.primary type="submit" { (lang.t("erasure-request")) }
                }))
            }
        }
    };
    let frame = Frame {
        lang,
        viewer: Some(&viewer),
        path: "/erasure",
    };
    errors::refused_if(
        refused.is_some(),
        (jar, frame_page(&frame, &lang.t("erasure-title"), body)).into_response(),
    )
}

/// `POST /erasure`: ask for a data subject's erasure.
pub async fn request(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Form(posted): Form<BTreeMap<String, String>>,
) -> Response {
    let (lang, jar, _viewer, access) =
        match poster(&state, jar, &headers, &posted, "/erasure", |viewer| {
            viewer.may(Permission::RequestErasure)
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
    let (subject, at) = match (field("subject_id"), field("contact_id")) {
        (user, contact) if user.is_empty() => (contact, "contact_id"),
        (user, _) => (user, "subject_id"),
    };
    let problems = if subject.is_empty() {
        vec![("subject_id".to_owned(), lang.t("reason-REQUIRED"))]
    } else {
        let answer = state
            .identity
            .clone()
            .erase_data_subject(bearer(
                &access,
                EraseDataSubjectRequest {
                    subject_id: subject,
                    reason: field("reason"),
                    consistency: None,
                },
            ))
            .await;
        match answer {
            Ok(answer) => {
                let after = after_text(answer.into_inner().consistency.as_ref());
                let target = format!("/erasure?done=requested&after={after}");
                return (jar, Redirect::to(&target)).into_response();
            }
            Err(status) => match Failure::of(&status) {
                Failure::Invalid(found) => violations(lang, &found)
                    .into_iter()
                    .map(|(f, w)| (if f == "subject_id" { at.to_owned() } else { f }, w))
                    .collect(),
                Failure::NotFound => vec![(at.to_owned(), lang.t("reason-UNKNOWN_REFERENCE"))],
                Failure::Precondition { message, .. } | Failure::Conflict(message) => vec![(
                    String::new(),
                    lang.t_with("step-refused", &[("message", text(message))]),
                )],
                failure => return errors::failed(lang, jar, "/erasure", &failure, PART),
            },
        }
    };
    let sent = Sent {
        form: "erasure".into(),
        posted,
        problems,
    };
    erasure_page(&state, jar, lang, "", None, Some(&sent)).await
}

/// `POST /erasure/{id}/approve`: the second person confirms; the keys are destroyed.
pub async fn approve(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(posted): Form<BTreeMap<String, String>>,
) -> Response {
    let (lang, jar, _viewer, access) =
        match poster(&state, jar, &headers, &posted, "/erasure", |viewer| {
            viewer.may(Permission::ApproveErasure)
        })
        .await
        {
            Ok(signed) => signed,
            Err(response) => return response,
        };
    let answer = state
        .identity
        .clone()
        .approve_erasure(bearer(
            &access,
            ApproveErasureRequest {
                erasure_id: id,
                consistency: None,
            },
        ))
        .await;
    match answer {
        Ok(answer) => {
            let after = after_text(answer.into_inner().consistency.as_ref());
            (
                jar,
                Redirect::to(&format!("/erasure?done=approved&after={after}")),
            )
                .into_response()
        }
        Err(status) => match Failure::of(&status) {
            Failure::Precondition { message, .. }
            | Failure::Conflict(message)
            | Failure::Forbidden(message) => {
                let words = lang.t_with("step-refused", &[("message", text(message))]);
                let page = erasure_page(&state, jar, lang, "", Some(words), None).await;
                errors::with_refused_status(page)
            }
            failure => errors::failed(lang, jar, "/erasure", &failure, PART),
        },
    }
}
