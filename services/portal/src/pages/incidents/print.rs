//! The report of an incident as the recipients of its notifications expect it: what GDPR
//! Art. 33(3) asks a notification to contain, the NIS2 stage contents, the documented
//! decisions and each obligation with what was sent. A page to print or save as PDF; the
//! service's report (`GetIncidentReport`) is its source, so the page says what the API says.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::PrivateCookieJar;
use maud::{Markup, html};
use serde_json::Value;
use tillit_proto::incidents::{DataSubjectRisk, GetIncidentReportRequest, GetIncidentRequest};

use super::{PART, client, severity_of, word};
use crate::api::Failure;
use crate::i18n::{Lang, text};
use crate::pages::layout::{Frame, page};
use crate::pages::{errors, viewer, when};
use crate::{State as Shared, bearer, language};

/// `GET /incidents/{id}/report`.
pub async fn report(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let lang = language(&jar, &headers);
    let path = format!("/incidents/{}/report", crate::urlencode(&id));
    let (jar, viewer, access) = match viewer(&state, jar, lang, &path).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let (mut one, mut other) = (client(&state), client(&state));
    let (incident, report) = tokio::join!(
        one.get_incident(bearer(
            &access,
            GetIncidentRequest {
                incident_id: id.clone(),
                consistency: None,
            }
        )),
        other.get_incident_report(bearer(
            &access,
            GetIncidentReportRequest {
                incident_id: id.clone(),
                consistency: None,
            }
        )),
    );
    let (incident, report) = match (incident, report) {
        (Ok(incident), Ok(report)) => (incident.into_inner().incident, report.into_inner().json),
        (Err(status), _) | (_, Err(status)) => {
            return errors::failed(lang, jar, &path, &Failure::of(&status), PART);
        }
    };
    let (Some(incident), Ok(report)) = (incident, serde_json::from_str::<Value>(&report)) else {
        return (jar, errors::not_found(lang)).into_response();
    };
    let gdpr = &report["gdpr_art_33_3"];
    let nis2 = &report["nis2"];
    let yes_no = |value: &Value| {
        lang.t(if value.as_bool().unwrap_or(false) {
            "print-yes"
        } else {
            "print-no"
        })
    };
    let risk = incident
        .triage
        .as_ref()
        .map(|t| t.risk_to_data_subjects())
        .unwrap_or_default();
    let consequences = match risk {
        DataSubjectRisk::Unspecified => lang.t("print-not-assessed"),
        risk => word(lang, "risk", risk),
    };
    let properties = nis2["notification"]["affected_properties"]
        .as_array()
        .map(|words| {
            words
                .iter()
                .filter_map(Value::as_str)
                .map(|w| lang.t(&format!("triage-{w}")))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    let body = html! {
        article.report {
            p.muted.no-print { a href={ "/incidents/" (incident.incident_id) } { (lang.t("print-back")) } }
            h1 { (lang.t_with("print-title", &[("title", text(incident.title.clone()))])) }
            p.muted {
                (word(lang, "kind", incident.kind())) " · " (word(lang, "status", incident.status()))
                " · " (severity_of(lang, &incident))
                @if let Some(at) = incident.aware_at.as_ref() { " · " (lang.t_with("incident-aware-at", &[("when", text(when(at)))])) }
            }
            section {
                h2 { (lang.t("print-gdpr")) }
                dl {
                    (row(lang, "print-nature", html! { @for line in string(&gdpr["nature"]).lines() { (line) br; } }))
                    (row(lang, "print-breach", html! { (yes_no(&gdpr["personal_data_breach"])) }))
                    (row(lang, "print-categories", html! { (list(&gdpr["data_categories"])) }))
                    (row(lang, "print-subjects", html! { (number(&gdpr["approximate_data_subjects"])) }))
                    (row(lang, "print-records", html! { (number(&gdpr["approximate_records"])) }))
                    (row(lang, "print-contact", html! { (string(&gdpr["contact_point"])) }))
                    (row(lang, "print-consequences", html! { (consequences) }))
                    (row(lang, "print-measures", html! {
                        @if let Some(measures) = gdpr["measures"].as_array().filter(|m| !m.is_empty()) {
                            ul { @for m in measures { li { (string(&m["action"])) " (" (lang.t(&format!("action-{}", string(&m["status"]).replace('_', "-")))) ")" } } }
                        }
                    }))
                }
            }
            section {
                h2 { (lang.t("print-nis2")) }
                dl {
                    (row(lang, "triage-malicious", html! { (yes_no(&nis2["early_warning"]["suspected_malicious"])) }))
                    (row(lang, "triage-cross-border", html! { (yes_no(&nis2["early_warning"]["cross_border_impact"])) }))
                    (row(lang, "triage-properties", html! { (properties) }))
                    (row(lang, "triage-users", html! { (number(&nis2["notification"]["users_affected_percent"])) }))
                    (row(lang, "triage-loss", html! { (number(&nis2["notification"]["estimated_direct_loss_eur"])) }))
                    (row(lang, "review-root-cause", html! { (string(&nis2["final_report"]["root_cause_or_threat"])) }))
                    (row(lang, "review-lessons", html! { (string(&nis2["final_report"]["mitigation"])) }))
                }
            }
            @if let Some(decisions) = report["decisions"].as_array().filter(|d| !d.is_empty()) {
                section {
                    h2 { (lang.t("print-decisions")) }
                    ul { @for d in decisions { li { strong { (string(&d["article"])) } ": " (string(&d["decision"])) } } }
                }
            }
            @if !incident.obligations.is_empty() {
                section {
                    h2 { (lang.t("incident-obligations")) }
                    table.list {
                        thead { tr {
                            th scope="col" { (lang.t("print-recipient")) }
                            th scope="col" { (lang.t("print-article")) }
                            th scope="col" { (lang.t("print-due")) }
                            th scope="col" { (lang.t("print-state")) }
                            th scope="col" { (lang.t("print-sent")) }
                        } }
                        tbody {
                            @for o in &incident.obligations {
                                tr {
                                    td { (o.recipient) }
                                    td { (o.article) }
                                    td { (o.due_at.as_ref().map(when).unwrap_or_default()) }
                                    td { (word(lang, "obligation", o.status())) @if !o.reason.is_empty() { br; span.muted { (o.reason) } } }
                                    td {
                                        @for n in &o.notifications {
                                            (word(lang, "stage", n.stage())) " " (n.sent_at.as_ref().map(when).unwrap_or_default())
                                            " · " (n.channel)
                                            @if !n.external_reference.is_empty() { " · " (n.external_reference) }
                                            br;
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            p.muted { (lang.t_with("print-generated", &[("when", text(when(&prost_types::Timestamp { seconds: crate::now(), nanos: 0 })))])) }
        }
    };
    let frame = Frame {
        lang,
        viewer: Some(&viewer),
        path: &path,
    };
    (jar, page(&frame, &incident.title, body)).into_response()
}

/// A label and its value; an empty value reads "Not recorded" (a report must not pass a
/// blank off as a zero).
fn row(lang: Lang, label: &str, value: Markup) -> Markup {
    let value = if value.0.trim().is_empty() {
        html! { span.muted { (lang.t("print-not-recorded")) } }
    } else {
        value
    };
    html! { dt { (lang.t(label)) } dd { (value) } }
}

fn string(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

/// A count or amount; zero is what the form leaves when nothing was entered.
fn number(value: &Value) -> String {
    value
        .as_u64()
        .filter(|n| *n > 0)
        .map(|n| n.to_string())
        .unwrap_or_default()
}

fn list(value: &Value) -> String {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}
