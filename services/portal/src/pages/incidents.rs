//! Reporting something, the list of incidents the user may see, and one incident. What
//! each user sees is what the incidents service answers for their token: a customer only
//! the incidents that affect its tenant, with the customer-facing fields.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::PrivateCookieJar;
use maud::{Markup, html};
use tillit_proto::Vocabulary;
use tillit_proto::common::{ConsistencyToken, PageRequest, Severity};
use tillit_proto::incidents::incidents_service_client::IncidentsServiceClient;
use tillit_proto::incidents::{
    GetIncidentRequest, Incident, IncidentKind, IncidentStatus, ListIncidentsRequest,
    ObligationStatus, ReportIncidentRequest, TriageIncidentRequest,
};
use tonic::transport::Channel;

use super::layout::{Frame, Viewer, page};
use super::{errors, viewer, violations, when};
use crate::api::{Failure, after_text, parse_after};
use crate::i18n::{Lang, text};
use crate::{State as Shared, bearer, language};

/// The report form's fields.
#[derive(serde::Deserialize, Default)]
pub struct ReportForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    system: String,
    #[serde(default)]
    noticed: String,
    #[serde(default)]
    csrf: String,
}

/// The list's filters, as the query string carries them (vocabulary words).
#[derive(serde::Deserialize, Default)]
pub struct Filters {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    page: String,
    /// Positions a page must see (`STREAM.SEQUENCE,…`): what the user just did.
    #[serde(default)]
    after: String,
    /// What the user just did (`report`, `triage`), to confirm it on the page.
    #[serde(default)]
    done: String,
}

/// Problems of the report form, by field.
#[derive(Default)]
struct Problems {
    general: Option<String>,
    kind: Option<String>,
    title: Option<String>,
    description: Option<String>,
    noticed: Option<String>,
}

/// `GET /report`.
pub async fn report_form(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
) -> Response {
    let lang = language(&jar, &headers);
    let (jar, viewer, _) = match viewer(&state, jar, lang, "/report").await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    if !viewer.may_report() {
        return (jar, errors::forbidden(lang)).into_response();
    }
    let form = ReportForm::default();
    (jar, report_page(lang, &viewer, &form, &Problems::default())).into_response()
}

/// `POST /report`: the incidents service decides; its refusals show next to their fields.
pub async fn report_submit(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Form(form): Form<ReportForm>,
) -> Response {
    let lang = language(&jar, &headers);
    let (jar, viewer, access) = match viewer(&state, jar, lang, "/report").await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let (_, jar, _) = match super::checked_form(&state, jar, &headers, &form.csrf) {
        Ok(checked) => checked,
        Err(refused) => return *refused,
    };
    let noticed = match form.noticed.trim() {
        "" => None,
        raw => match super::parse_local(raw) {
            Some(at) => Some(at),
            None => {
                let problems = Problems {
                    noticed: Some(lang.t("reason-MALFORMED")),
                    ..Problems::default()
                };
                let page = report_page(lang, &viewer, &form, &problems);
                return (jar, errors::refused_form(page)).into_response();
            }
        },
    };
    let description = match form.system.trim() {
        "" => form.description.clone(),
        system => format!(
            "{}\n\n{}",
            form.description,
            lang.t_with("report-system-line", &[("system", text(system))])
        ),
    };
    let request = ReportIncidentRequest {
        kind: IncidentKind::from_word(&form.kind).map_or(0, Into::into),
        title: form.title.clone(),
        description,
        detected_at: noticed,
        aware_at: noticed,
        consistency: None,
    };
    let answer = incidents(&state)
        .report_incident(bearer(&access, request))
        .await;
    match answer.map_err(|status| Failure::of(&status)) {
        Ok(answer) => {
            let answer = answer.into_inner();
            let after = after_text(answer.consistency.as_ref());
            let target = format!(
                "/incidents/{}?done=report&after={after}",
                answer.incident_id
            );
            (jar, Redirect::to(&target)).into_response()
        }
        Err(Failure::Invalid(refused)) => {
            let mut problems = Problems::default();
            for (field, problem) in violations(lang, &refused) {
                match field.as_str() {
                    "kind" => problems.kind = Some(problem),
                    "title" => problems.title = Some(problem),
                    "description" => problems.description = Some(problem),
                    "detected_at" | "aware_at" => problems.noticed = Some(problem),
                    _ => problems.general = Some(problem),
                }
            }
            let page = report_page(lang, &viewer, &form, &problems);
            (jar, errors::refused_form(page)).into_response()
        }
        Err(failure) => errors::failed(lang, jar, "/report", &failure, PART),
    }
}

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
    let request = ListIncidentsRequest {
        status: IncidentStatus::from_word(&filters.status).map_or(0, Into::into),
        kind: IncidentKind::from_word(&filters.kind).map_or(0, Into::into),
        severity: Severity::from_word(&filters.severity).map_or(0, Into::into),
        page: Some(PageRequest {
            page_size: 50,
            page_token: filters.page.clone(),
        }),
        consistency: parse_after(&filters.after),
        ..Default::default()
    };
    let answer = match incidents(&state)
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
        form.card method="get" action="/incidents" {
            (choice(lang, "kind", "incidents-kind", IncidentKind::VALUES, &filters.kind))
            (choice(lang, "status", "incidents-status", IncidentStatus::VALUES, &filters.status))
            (choice(lang, "severity", "incidents-severity", Severity::VALUES, &filters.severity))
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
            p { a href={ "/incidents?kind=" (filters.kind) "&status=" (filters.status) "&severity=" (filters.severity) "&page=" (crate::urlencode(&next)) } { (lang.t("incidents-next")) } }
        }
    };
    let frame = Frame {
        lang,
        viewer: Some(&viewer),
        path: "/incidents",
    };
    (jar, page(&frame, &lang.t("incidents-title"), body)).into_response()
}

/// `GET /incidents/{id}`.
pub async fn detail(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(filters): Query<Filters>,
) -> Response {
    let lang = language(&jar, &headers);
    let notice = match filters.done.as_str() {
        "report" => Some(lang.t("report-sent")),
        "triage" => Some(lang.t("triage-saved")),
        _ => None,
    };
    let after = parse_after(&filters.after);
    detail_page(&state, jar, lang, &id, after, notice, None).await
}

/// The page of incident `id`, waiting for `after`, with `notice` (what the user just did)
/// on top; with a refused triage, its form filled as sent and the problems next to their
/// fields.
async fn detail_page(
    state: &crate::Portal,
    jar: PrivateCookieJar,
    lang: Lang,
    id: &str,
    after: Option<ConsistencyToken>,
    notice: Option<String>,
    refused_triage: Option<(&super::triage::TriageForm, &super::triage::Problems)>,
) -> Response {
    let path = format!("/incidents/{}", crate::urlencode(id));
    let (jar, viewer, access) = match viewer(state, jar, lang, &path).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let request = GetIncidentRequest {
        incident_id: id.to_owned(),
        consistency: after,
    };
    let answer = match incidents(state)
        .get_incident(bearer(&access, request))
        .await
    {
        Ok(answer) => answer.into_inner(),
        Err(status) => return errors::failed(lang, jar, &path, &Failure::of(&status), PART),
    };
    let Some(incident) = answer.incident else {
        return (jar, errors::not_found(lang)).into_response();
    };
    let triage_open = viewer.may(tillit_auth::Permission::ManageIncidents)
        && !matches!(
            incident.status(),
            IncidentStatus::Closed | IncidentStatus::Rejected
        );
    let body = html! {
        @if let Some(notice) = &notice { p.notice role="status" { (notice) } }
        h1 { (incident.title) }
        p.muted {
            (word(lang, "kind", incident.kind())) " · " (word(lang, "status", incident.status()))
            " · " (severity_of(lang, &incident))
        }
        p.muted {
            @if let Some(at) = incident.reported_at.as_ref() { (lang.t_with("incident-reported-at", &[("when", text(when(at)))])) }
            @if let Some(at) = incident.aware_at.as_ref() { " · " (lang.t_with("incident-aware-at", &[("when", text(when(at)))])) }
        }
        @if !incident.description.is_empty() {
            section.card {
                h2 { (lang.t("incident-description")) }
                @for line in incident.description.lines() { (line) br; }
            }
        }
        @if !incident.obligations.is_empty() {
            section.card {
                h2 { (lang.t("incident-obligations")) }
                ul.tasks {
                    @for obligation in &incident.obligations {
                        li {
                            (lang.t_with("incident-obligation-due", &[
                                ("recipient", text(obligation.recipient.clone())),
                                ("article", text(obligation.article.clone())),
                                ("due", text(obligation.due_at.as_ref().map(when).unwrap_or_default())),
                            ]))
                            " — " strong { (word(lang, "obligation", obligation.status())) }
                            @if obligation.status() == ObligationStatus::Pending {
                                @if let Some(due) = obligation.due_at.as_ref() {
                                    " · " (super::time_left(lang, due, crate::now()))
                                }
                            }
                        }
                    }
                }
            }
        }
        @if triage_open {
            (super::triage::form(lang, &viewer.csrf, &incident, refused_triage))
        }
        @if !answer.timeline.is_empty() {
            section.card {
                h2 { (lang.t("incident-timeline")) }
                ul.tasks {
                    @for entry in &answer.timeline {
                        li {
                            span.muted { (entry.recorded_at.as_ref().map(when).unwrap_or_default()) } " "
                            (command_words(lang, &entry.command))
                        }
                    }
                }
            }
        }
    };
    let frame = Frame {
        lang,
        viewer: Some(&viewer),
        path: "/incidents",
    };
    (jar, page(&frame, &incident.title, body)).into_response()
}

/// `POST /incidents/{id}/triage`.
pub async fn triage_submit(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<super::triage::TriageForm>,
) -> Response {
    let (lang, jar, _) = match super::checked_form(&state, jar, &headers, &form.csrf) {
        Ok(checked) => checked,
        Err(refused) => return *refused,
    };
    let path = format!("/incidents/{}", crate::urlencode(&id));
    let (jar, _, access) = match viewer(&state, jar, lang, &path).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let (triage, mut problems) = super::triage::assessment(lang, &form);
    if problems.is_empty() {
        let request = TriageIncidentRequest {
            incident_id: id.clone(),
            triage: Some(triage),
            consistency: None,
        };
        let answer = state
            .incidents
            .clone()
            .triage_incident(bearer(&access, request))
            .await;
        match answer.map_err(|status| Failure::of(&status)) {
            Ok(answer) => {
                let after = after_text(answer.into_inner().consistency.as_ref());
                let target = format!("{path}?done=triage&after={after}");
                return (jar, Redirect::to(&target)).into_response();
            }
            Err(Failure::Invalid(refused)) => {
                problems = violations(lang, &refused)
                    .into_iter()
                    .map(|(field, text)| (field.trim_start_matches("triage.").to_owned(), text))
                    .collect();
            }
            Err(failure) => return errors::failed(lang, jar, &path, &failure, PART),
        }
    }
    // Shown again on the incident's page, the problems next to their fields.
    let page =
        super::incidents::detail_page(&state, jar, lang, &id, None, None, Some((&form, &problems)))
            .await;
    errors::with_refused_status(page)
}

fn incidents(state: &crate::Portal) -> IncidentsServiceClient<Channel> {
    state.incidents.clone()
}

/// The part of the platform these pages call, for the 503 page.
const PART: &str = "part-incidents";

/// A timeline entry's command in the user's language (`Triaged`), else its name.
fn command_words(lang: Lang, command: &str) -> String {
    let name = command.rsplit('.').next().unwrap_or_default();
    let key = format!("command-{name}");
    let words = lang.t(&key);
    if words == key { name.to_owned() } else { words }
}

/// A vocabulary word in the user's language (`status-triaged`, …).
fn word<V: Vocabulary>(lang: Lang, group: &str, value: V) -> String {
    lang.t(&format!("{group}-{}", value.word().replace('_', "-")))
}

fn severity_of(lang: Lang, incident: &Incident) -> String {
    match incident.triage.as_ref() {
        Some(triage) if triage.severity() != Severity::Unspecified => {
            word(lang, "severity", triage.severity())
        }
        _ => lang.t("incident-not-triaged"),
    }
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

fn report_page(lang: Lang, viewer: &Viewer, form: &ReportForm, problems: &Problems) -> Markup {
    let problem = |id: &str, text: Option<&String>| {
        html! {
            @if let Some(text) = text { p.problem id=(id) { (text) } }
        }
    };
    let kinds = [
        IncidentKind::Deviation,
        IncidentKind::SecurityIncident,
        IncidentKind::ImprovementProposal,
    ];
    let body = html! {
        div.card {
            h1 { (lang.t("report-title")) }
            p { (lang.t("report-intro")) }
            @if let Some(general) = &problems.general { p.alert role="alert" { (general) } }
            form method="post" action="/report" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                fieldset {
                    legend { (lang.t("report-kind")) }
                    @for kind in kinds {
                        div.choice {
                            input type="radio" name="kind" id={ "kind-" (kind.word()) } value=(kind.word())
                                checked[form.kind == kind.word()] required;
                            label for={ "kind-" (kind.word()) } { (lang.t(&format!("report-kind-{}", kind.word().replace('_', "-")))) }
                        }
                    }
                    (problem("kind-problem", problems.kind.as_ref()))
                }
                label for="title" { (lang.t("report-what")) }
                input #title type="text" name="title" value=(form.title) maxlength="200" required
                    aria-describedby=[problems.title.as_ref().map(|_| "title-problem")];
                (problem("title-problem", problems.title.as_ref()))
                label for="description" { (lang.t("report-description")) }
                p.muted #description-hint { (lang.t("report-description-hint")) }
                textarea #description name="description" rows="6" aria-describedby="description-hint" { (form.description) }
                (problem("description-problem", problems.description.as_ref()))
                label for="system" { (lang.t("report-system")) }
                input #system type="text" name="system" value=(form.system) maxlength="200";
                label for="noticed" { (lang.t("report-noticed")) }
                input #noticed type="datetime-local" name="noticed" value=(form.noticed)
                    aria-describedby=[problems.noticed.as_ref().map(|_| "noticed-problem")];
                (problem("noticed-problem", problems.noticed.as_ref()))
                button.primary type="submit" { (lang.t("report-submit")) }
            }
        }
    };
    let frame = Frame {
        lang,
        viewer: Some(viewer),
        path: "/report",
    };
    page(&frame, &lang.t("report-title"), body)
}
