//! One incident: what happened, what it affects, each obligation with its clock, the
//! corrective actions, the review, its timeline (who did what, when), and the forms of
//! what the viewer may do next. A customer sees the customer-facing fields and the
//! obligations addressed to it with the notifications it was sent, and no form.

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::PrivateCookieJar;
use maud::{Markup, html};
use tillit_auth::{Permission, Role};
use tillit_proto::common::ConsistencyToken;
use tillit_proto::incidents::{DataRole, GetIncidentRequest, Incident, IncidentStatus};

use super::list::Filters;
use super::{PART, Refused, client, severity_of, steps, triage, word};
use crate::api::{Failure, parse_after};
use crate::i18n::{Lang, text};
use crate::pages::layout::{Frame, page as frame_page};
use crate::pages::{errors, viewer, when};
use crate::{State as Shared, bearer, language};

/// `GET /incidents/{id}`.
pub async fn detail(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(filters): Query<Filters>,
) -> Response {
    let lang = language(&jar, &headers);
    // What the user just did, confirmed on top (a known step's key only).
    let notice = match filters.done.as_str() {
        "report" => Some(lang.t("report-sent")),
        done @ ("triage" | "notify" | "waive" | "action" | "complete" | "risk" | "transition"
        | "review") => Some(lang.t(&format!("{done}-saved"))),
        _ => None,
    };
    let after = parse_after(&filters.after);
    page(&state, jar, lang, &id, after, notice, None).await
}

/// The page of incident `id`, waiting for `after`, with `notice` (what the user just did)
/// on top; a `refused` form is drawn open as it was sent, its problems next to its fields.
pub async fn page(
    state: &crate::Portal,
    jar: PrivateCookieJar,
    lang: Lang,
    id: &str,
    after: Option<ConsistencyToken>,
    notice: Option<String>,
    refused: Option<Refused<'_>>,
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
    let answer = match client(state).get_incident(bearer(&access, request)).await {
        Ok(answer) => answer.into_inner(),
        Err(status) => return errors::failed(lang, jar, &path, &Failure::of(&status), PART),
    };
    let Some(incident) = answer.incident else {
        return (jar, errors::not_found(lang)).into_response();
    };
    let manage = viewer.may(Permission::ManageIncidents);
    let open = !matches!(
        incident.status(),
        IncidentStatus::Closed | IncidentStatus::Rejected
    );
    // Names for owners and actors, and the assets to link, for those who handle it.
    let (users, assets) = if manage {
        tokio::join!(crate::pages::staff(state, &access), assets(state, &access))
    } else {
        (Vec::new(), Vec::new())
    };
    let name_of = |subject: &str| {
        if subject == viewer.subject {
            lang.t("timeline-you")
        } else {
            users
                .iter()
                .find(|(id, _)| id == subject)
                .map_or_else(|| subject.to_owned(), |(_, name)| name.clone())
        }
    };
    let (triage_refused, step_refused) = match &refused {
        Some(Refused::Triage(form, problems)) => (Some((*form, *problems)), None),
        Some(Refused::Step(sent)) => (None, Some(*sent)),
        None => (None, None),
    };
    let internal = !viewer.roles.contains(&Role::Customer);
    // The forms of what the viewer may do next; a refusal of a form that is no longer
    // drawn (the incident moved on meanwhile, or the post named something not there) is
    // shown above them, so it never goes unsaid.
    let handling = html! {
        @if !incident.obligations.is_empty() {
            section.card aria-labelledby="obligations" {
                h2 #obligations { (lang.t("incident-obligations")) }
                ul.tasks {
                    @for obligation in &incident.obligations {
                        (steps::obligation(lang, &viewer, &incident, obligation, step_refused))
                    }
                }
            }
        }
        @if manage && open {
            (triage::form(lang, &viewer.csrf, &incident, &assets, triage_refused))
        }
        @if internal {
            (steps::actions(lang, &viewer, &incident, &users, step_refused))
        }
        (steps::review(lang, &viewer, &incident, step_refused))
        (steps::transitions(lang, &viewer, &incident, step_refused))
    };
    let unplaced = step_refused.filter(|sent| !steps::drawn(&handling, sent));
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
        @if internal {
            p { a href={ "/incidents/" (incident.incident_id) "/report" } { (lang.t("incident-print-link")) } }
        }
        @if !incident.description.is_empty() {
            section.card {
                h2 { (lang.t("incident-description")) }
                @for line in incident.description.lines() { (line) br; }
            }
        }
        @if !incident.reason.is_empty() {
            section.card {
                h2 { (lang.t("incident-reason")) }
                p { (incident.reason) }
            }
        }
        (affected(lang, &incident))
        @if let Some(sent) = unplaced { (steps::unplaced(lang, &incident, sent)) }
        (handling)
        (crate::pages::timeline(lang, &answer.timeline, &name_of))
    };
    let frame = Frame {
        lang,
        viewer: Some(&viewer),
        path: "/incidents",
    };
    (jar, frame_page(&frame, &incident.title, body)).into_response()
}

/// The affected assets and customers as triage found them (a customer: its own only).
fn affected(lang: Lang, incident: &Incident) -> Markup {
    let Some(triage) = incident.triage.as_ref() else {
        return html! {};
    };
    if triage.affected_assets.is_empty() && triage.affected_customers.is_empty() {
        return html! {};
    }
    let role = |role: DataRole| match role {
        DataRole::Unspecified => String::new(),
        role => word(lang, "role-data", role),
    };
    html! {
        section.card aria-labelledby="affected" {
            h2 #affected { (lang.t("incident-affected")) }
            @if !triage.affected_assets.is_empty() {
                h3 { (lang.t("incident-assets")) }
                ul {
                    @for asset in &triage.affected_assets {
                        li {
                            strong { (asset.name) } " · " (asset.tenant_id)
                            @if asset.our_role() != DataRole::Unspecified { " · " (role(asset.our_role())) }
                            @if asset.personal_data { " · " (lang.t("incident-asset-personal-data")) }
                        }
                    }
                }
            }
            @if !triage.affected_customers.is_empty() {
                h3 { (lang.t("incident-customers")) }
                ul {
                    @for customer in &triage.affected_customers {
                        li { (customer.tenant_id) " · " (role(customer.our_role())) }
                    }
                }
            }
        }
    }
}

/// (id, "name · tenant") of the assets the user may link at triage.
async fn assets(state: &crate::Portal, access: &str) -> Vec<(String, String)> {
    super::visible_assets(state, access)
        .await
        .into_iter()
        .map(|a| (a.asset_id, format!("{} · {}", a.name, a.tenant_id)))
        .collect()
}
