//! The one short form anyone signed in uses to report a deviation, a security incident or
//! an improvement proposal. The system concerned is chosen from the assets the reporter
//! may see, or named in words; the security officer links the assets at triage.

use axum::Form;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::PrivateCookieJar;
use maud::{Markup, html};
use tillit_proto::Vocabulary;
use tillit_proto::incidents::{IncidentKind, ReportIncidentRequest};

use super::{PART, Problems, client, problem_at};
use crate::api::{Failure, after_text};
use crate::i18n::{Lang, text};
use crate::pages::layout::{Frame, Viewer, page};
use crate::pages::{errors, parse_local, viewer, violations};
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
    /// An asset's name, chosen from the list.
    #[serde(default)]
    asset: String,
    /// The system in words.
    #[serde(default)]
    system: String,
    #[serde(default)]
    noticed: String,
    #[serde(default)]
    csrf: String,
}

/// `GET /report`.
pub async fn form(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
) -> Response {
    let lang = language(&jar, &headers);
    let (jar, viewer, access) = match viewer(&state, jar, lang, "/report").await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    if !viewer.may_report() {
        return (jar, errors::forbidden(lang)).into_response();
    }
    let assets = visible_assets(&state, &access).await;
    let page = report_page(
        lang,
        &viewer,
        &assets,
        &ReportForm::default(),
        &Problems::new(),
    );
    (jar, page).into_response()
}

/// `POST /report`: the incidents service decides; its refusals show next to their fields.
pub async fn submit(
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
    let (_, jar, _) = match crate::pages::checked_form(&state, jar, &headers, &form.csrf) {
        Ok(checked) => checked,
        Err(refused) => return *refused,
    };
    let refuse = |problems: Problems, assets: Vec<String>| {
        errors::refused_form(report_page(lang, &viewer, &assets, &form, &problems))
    };
    let noticed = match form.noticed.trim() {
        "" => None,
        raw => match parse_local(raw) {
            Some(at) => Some(at),
            None => {
                let problems = vec![("noticed".to_owned(), lang.t("reason-MALFORMED"))];
                let assets = visible_assets(&state, &access).await;
                return (jar, refuse(problems, assets)).into_response();
            }
        },
    };
    let system = match (form.asset.trim(), form.system.trim()) {
        ("", words) => words,
        (asset, _) => asset,
    };
    let description = match system {
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
    let answer = client(&state)
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
            let problems = violations(lang, &refused)
                .into_iter()
                .map(|(field, problem)| match field.as_str() {
                    "detected_at" | "aware_at" => ("noticed".to_owned(), problem),
                    _ => (field, problem),
                })
                .collect();
            let assets = visible_assets(&state, &access).await;
            (jar, refuse(problems, assets)).into_response()
        }
        Err(failure) => errors::failed(lang, jar, "/report", &failure, PART),
    }
}

/// The names of the assets the user may see, sorted, each once.
async fn visible_assets(state: &crate::Portal, access: &str) -> Vec<String> {
    let mut names: Vec<String> = super::visible_assets(state, access)
        .await
        .into_iter()
        .map(|a| a.name)
        .collect();
    names.sort();
    names.dedup();
    names
}

fn report_page(
    lang: Lang,
    viewer: &Viewer,
    assets: &[String],
    form: &ReportForm,
    problems: &Problems,
) -> Markup {
    const FIELDS: [&str; 4] = ["kind", "title", "description", "noticed"];
    let described = |field: &str| {
        problems
            .iter()
            .any(|(f, _)| f == field)
            .then(|| format!("{field}-problem"))
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
            @for (field, text) in problems {
                @if !FIELDS.contains(&field.as_str()) { p.alert role="alert" { (text) } }
            }
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
                    (problem_at("kind", problems, "kind"))
                }
                label for="title" { (lang.t("report-what")) }
                input #title type="text" name="title" value=(form.title) maxlength="200" required
                    aria-describedby=[described("title")];
                (problem_at("title", problems, "title"))
                label for="description" { (lang.t("report-description")) }
                p.muted #description-hint { (lang.t("report-description-hint")) }
                textarea #description name="description" rows="6"
                    aria-describedby={ "description-hint" @if let Some(id) = described("description") { " " (id) } } { (form.description) }
                (problem_at("description", problems, "description"))
                @if !assets.is_empty() {
                    label for="asset" { (lang.t("report-asset")) }
                    select #asset name="asset" {
                        option value="" { (lang.t("report-asset-none")) }
                        @for name in assets {
                            option value=(name) selected[*name == form.asset] { (name) }
                        }
                    }
                }
                label for="system" {
                    @if assets.is_empty() { (lang.t("report-system")) } @else { (lang.t("report-system-other")) }
                }
                input #system type="text" name="system" value=(form.system) maxlength="200";
                label for="noticed" { (lang.t("report-noticed")) }
                input #noticed type="datetime-local" name="noticed" value=(form.noticed)
                    aria-describedby=[described("noticed")];
                (problem_at("noticed", problems, "noticed"))
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
