//! One asset: its facts, classification with rationale, personal-data processing, the
//! evidence the control rules read (with when it was recorded), the control gaps with the
//! rule, severity and since when, and the timeline. Its owner, or whoever manages assets,
//! records a restore test or a backup run here; the page it lands on shows the gaps as
//! they are after it.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::{Form, PrivateCookieJar};
use maud::{Markup, html};
use tillit_auth::Permission;
use tillit_proto::assets::record_evidence_request::Evidence;
use tillit_proto::assets::{
    Asset, BackupRunRecorded, GetAssetRequest, GetAssetTimelineRequest, GetControlGapsRequest,
    RecordEvidenceRequest, RestoreTestRecorded,
};
use tillit_proto::common::ConsistencyToken;

use super::{PART, is_staff, levels_of, owner_name};
use crate::api::{Failure, after_text, parse_after};
use crate::i18n::{Lang, text};
use crate::pages::incidents::{Problems, problem_at, word};
use crate::pages::layout::{Frame, Viewer, page as frame_page};
use crate::pages::{checked_form, errors, local_input, parse_local, viewer, violations, when};
use crate::{State as Shared, bearer, language};

/// The query string of an asset's page.
#[derive(serde::Deserialize, Default)]
pub struct Shown {
    #[serde(default)]
    after: String,
    #[serde(default)]
    done: String,
}

/// The evidence forms of the page, by the `kind` they post.
const FORMS: [(&str, &str); 2] = [
    ("restore_test", "evidence-restore"),
    ("backup_run", "evidence-backup"),
];

/// `GET /assets/{id}`.
pub async fn detail(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(shown): Query<Shown>,
) -> Response {
    let lang = language(&jar, &headers);
    let notice = (shown.done == "evidence").then(|| lang.t("evidence-saved"));
    page(
        &state,
        jar,
        lang,
        &id,
        parse_after(&shown.after),
        notice,
        None,
    )
    .await
}

/// A refused evidence form: its kind, what was typed, the problems by field.
pub struct Refused {
    kind: String,
    posted: BTreeMap<String, String>,
    problems: Problems,
}

async fn page(
    state: &crate::Portal,
    jar: PrivateCookieJar,
    lang: Lang,
    id: &str,
    after: Option<ConsistencyToken>,
    notice: Option<String>,
    refused: Option<&Refused>,
) -> Response {
    let path = format!("/assets/{}", crate::urlencode(id));
    let (jar, viewer, access) = match viewer(state, jar, lang, &path).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let mut assets = state.assets.clone();
    let answer = assets
        .get_asset(bearer(
            &access,
            GetAssetRequest {
                asset_id: id.to_owned(),
                consistency: after.clone(),
                ..Default::default()
            },
        ))
        .await;
    let asset = match answer {
        Ok(answer) => answer.into_inner().asset,
        Err(status) => return errors::failed(lang, jar, &path, &Failure::of(&status), PART),
    };
    let Some(asset) = asset else {
        return (jar, errors::not_found(lang)).into_response();
    };
    let internal = !viewer.roles.contains(&tillit_auth::Role::Customer);
    let (mut gaps_client, mut timeline_client) = (state.assets.clone(), state.assets.clone());
    let (gaps, timeline, people) = tokio::join!(
        gaps_client.get_control_gaps(bearer(
            &access,
            GetControlGapsRequest {
                asset_id: id.to_owned(),
                consistency: after.clone(),
                ..Default::default()
            },
        )),
        async {
            if internal {
                timeline_client
                    .get_asset_timeline(bearer(
                        &access,
                        GetAssetTimelineRequest {
                            asset_id: id.to_owned(),
                            consistency: after.clone(),
                        },
                    ))
                    .await
                    .map(|a| a.into_inner().entries)
                    .unwrap_or_default()
            } else {
                Vec::new()
            }
        },
        async {
            if is_staff(&viewer) {
                crate::pages::staff(state, &access).await
            } else {
                Vec::new()
            }
        },
    );
    let gaps = gaps.map(|a| a.into_inner().gaps).unwrap_or_default();
    let may_record = asset.retired.is_none()
        && (viewer.may(Permission::ManageAssets)
            || (viewer.may(Permission::ManageOwnAssets) && asset.owner_user_id == viewer.subject));
    let name_of = |subject: &str| owner_name(lang, &viewer, &people, subject);
    let body = html! {
        @if let Some(notice) = &notice { p.notice role="status" { (notice) } }
        h1 { (asset.name) }
        p.muted {
            (word(lang, "asset-kind", asset.kind())) " · " (asset.tenant_id) " · " (levels_of(lang, &asset))
            @if asset.retired.is_some() { " · " (lang.t("asset-retired")) }
        }
        section.card aria-labelledby="facts" {
            h2 #facts { (lang.t("asset-facts")) }
            dl.facts {
                @if internal {
                    dt { (lang.t("asset-owner")) } dd { (name_of(&asset.owner_user_id)) }
                }
                @if !asset.description.is_empty() { dt { (lang.t("incident-description")) } dd { (asset.description) } }
                dt { (lang.t("asset-classification")) } dd {
                    (levels_of(lang, &asset))
                    @if let Some(at) = asset.classified_at.as_ref() { " · " (when(at)) }
                    @if !asset.classification_rationale.is_empty() { br; span.muted { (asset.classification_rationale) } }
                }
                @if let Some(at) = asset.next_review_due.as_ref() { dt { (lang.t("asset-review-due")) } dd { (when(at)) } }
                @if let Some(p) = asset.processing.as_ref().filter(|p| !p.data_categories.is_empty()) {
                    dt { (lang.t("asset-personal-data")) } dd {
                        (p.data_categories.join(", "))
                        @if !p.purpose.is_empty() { br; span.muted { (p.purpose) } }
                    }
                }
            }
        }
        section.card aria-labelledby="gaps" {
            h2 #gaps { (lang.t("asset-gaps")) }
            @if gaps.is_empty() {
                p { (lang.t("asset-no-gaps")) }
            } @else {
                ul.tasks {
                    @for gap in &gaps {
                        li.gap #{ "gap-" (gap.control) } {
                            strong { (control_words(lang, &gap.control)) } " — "
                            (word(lang, "gap", gap.state())) " · " (word(lang, "severity", gap.severity()))
                            @if let Some(since) = gap.due_since.as_ref() {
                                " · " (lang.t_with("gap-since", &[("when", text(when(since)))]))
                            }
                        }
                    }
                }
            }
        }
        @if internal {
            (evidence(lang, &asset))
        }
        @if may_record {
            (forms(lang, &viewer, &asset, refused))
        }
        (crate::pages::timeline(lang, &timeline, &name_of))
    };
    let frame = Frame {
        lang,
        viewer: Some(&viewer),
        path: "/assets",
    };
    (jar, frame_page(&frame, &asset.name, body)).into_response()
}

/// A control's name in the user's language, else its id.
fn control_words(lang: Lang, control: &str) -> String {
    lang.find(&format!("control-{control}"))
        .unwrap_or_else(|| control.to_owned())
}

/// The evidence the control rules read, each with when it was recorded.
fn evidence(lang: Lang, asset: &Asset) -> Markup {
    let yes_no = |on: bool| lang.t(if on { "print-yes" } else { "print-no" });
    let none = lang.t("print-not-recorded");
    html! {
        section.card aria-labelledby="evidence" {
            h2 #evidence { (lang.t("asset-evidence")) }
            dl.facts {
                dt { (control_words(lang, "backup")) }
                dd {
                    @match asset.backup_schedule.as_ref() {
                        Some(s) => { (s.schedule) " (" (lang.t_with("evidence-every-hours", &[("hours", s.interval_hours.into())])) ")" }
                        None => { (none) }
                    }
                    @if let Some(at) = asset.last_backup_success.as_ref() { br; (lang.t_with("evidence-last-success", &[("when", text(when(at)))])) }
                    @if let Some(run) = asset.last_backup_run.as_ref().filter(|r| !r.success) {
                        br; span.late { (lang.t_with("evidence-last-failed", &[("when", text(run.ran_at.as_ref().map(when).unwrap_or_default()))])) }
                    }
                }
                dt { (control_words(lang, "restore-test")) }
                dd { (asset.last_restore_test_success.as_ref().map_or(none.clone(), |at| lang.t_with("evidence-last-success", &[("when", text(when(at)))]))) }
                dt { (control_words(lang, "critical-patches")) }
                dd {
                    @match asset.patch_policy.as_ref() {
                        Some(p) => { (lang.t_with("evidence-patch-within", &[("days", p.critical_within_days.into())])) }
                        None => { (none) }
                    }
                    @for patch in &asset.open_critical_patches { br; span.late { (patch.patch_id) " " (patch.title) } }
                }
                dt { (control_words(lang, "monitoring")) }
                dd { (asset.monitoring.as_ref().map_or(none.clone(), |m| format!("{} {}", yes_no(m.enabled), m.alert_route))) }
                dt { (control_words(lang, "encryption-at-rest")) }
                dd { (asset.encryption.as_ref().map_or(none.clone(), |e| format!("{} {}", yes_no(e.enabled), e.method))) }
                dt { (control_words(lang, "access-review")) }
                dd { (asset.last_access_review.as_ref().and_then(|r| r.reviewed_at.as_ref()).map_or(none.clone(), when)) }
                dt { (control_words(lang, "asset-review")) }
                dd { (asset.last_review.as_ref().and_then(|r| r.reviewed_at.as_ref()).map_or(none.clone(), when)) }
            }
        }
    }
}

/// The forms to record a restore test or a backup run: when (now by default), whether it
/// worked, a note.
fn forms(lang: Lang, viewer: &Viewer, asset: &Asset, refused: Option<&Refused>) -> Markup {
    let now = local_input(crate::now());
    html! {
        section.card aria-labelledby="record" {
            h2 #record { (lang.t("evidence-record")) }
            @for (kind, title) in FORMS {
                @let sent = refused.filter(|r| r.kind == kind);
                @let empty = Problems::new();
                @let problems = sent.map_or(&empty, |r| &r.problems);
                @let value = |field: &str, default: &str| sent.map_or(default.to_owned(), |r| r.posted.get(field).cloned().unwrap_or_default());
                @let id = |field: &str| format!("{kind}-{field}");
                details open[sent.is_some()] {
                    summary { (lang.t(title)) }
                    @for (field, text) in problems {
                        @if !["at", "note"].contains(&field.as_str()) { p.alert role="alert" { (text) } }
                    }
                    form method="post" action={ "/assets/" (asset.asset_id) "/evidence#record" } {
                        input type="hidden" name="csrf" value=(viewer.csrf);
                        input type="hidden" name="kind" value=(kind);
                        label for=(id("at")) { (lang.t("evidence-at")) }
                        input id=(id("at")) type="datetime-local" name="at" value=(value("at", &now)) required
                            aria-describedby=[problems.iter().any(|(f, _)| f == "at").then(|| format!("{}-problem", id("at")))];
                        (problem_at(&id("at"), problems, "at"))
                        div.choice {
                            input id=(id("success")) type="checkbox" name="success"
                                checked[sent.map_or(true, |r| r.posted.contains_key("success"))];
                            label for=(id("success")) { (lang.t("evidence-success")) }
                        }
                        label for=(id("note")) { (lang.t("evidence-note")) }
                        textarea id=(id("note")) name="note" rows="2"
                            aria-describedby=[problems.iter().any(|(f, _)| f == "note").then(|| format!("{}-problem", id("note")))] { (value("note", "")) }
                        (problem_at(&id("note"), problems, "note"))
                        button.primary type="submit" { (lang.t("evidence-submit")) }
                    }
                }
            }
        }
    }
}

/// `POST /assets/{id}/evidence`.
pub async fn record(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(posted): Form<BTreeMap<String, String>>,
) -> Response {
    let csrf = posted.get("csrf").map_or("", String::as_str);
    let (lang, jar, _) = match checked_form(&state, jar, &headers, csrf) {
        Ok(checked) => checked,
        Err(refused) => return *refused,
    };
    let path = format!("/assets/{}", crate::urlencode(&id));
    let (jar, _, access) = match viewer(&state, jar, lang, &path).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let field = |name: &str| posted.get(name).cloned().unwrap_or_default();
    let kind = field("kind");
    let success = posted.contains_key("success");
    let mut refused = Refused {
        kind: kind.clone(),
        posted: posted.clone(),
        problems: Problems::new(),
    };
    let at = parse_local(field("at").trim());
    if at.is_none() {
        refused
            .problems
            .push(("at".into(), lang.t("reason-MALFORMED")));
    }
    let evidence = match kind.as_str() {
        "restore_test" => Evidence::RestoreTest(RestoreTestRecorded {
            tested_at: at,
            success,
            note: field("note"),
        }),
        "backup_run" => Evidence::BackupRun(BackupRunRecorded {
            ran_at: at,
            success,
            note: field("note"),
        }),
        _ => return (jar, errors::not_found(lang)).into_response(),
    };
    if refused.problems.is_empty() {
        let request = RecordEvidenceRequest {
            asset_id: id.clone(),
            evidence: Some(evidence),
            consistency: None,
        };
        match state
            .assets
            .clone()
            .record_evidence(bearer(&access, request))
            .await
            .map_err(|status| Failure::of(&status))
        {
            Ok(answer) => {
                let after = after_text(answer.into_inner().consistency.as_ref());
                let target = format!("{path}?done=evidence&after={after}#gaps");
                return (jar, Redirect::to(&target)).into_response();
            }
            Err(Failure::Invalid(problems)) => {
                refused.problems = violations(lang, &problems)
                    .into_iter()
                    .map(|(field, text)| {
                        let field = match field.rsplit('.').next().unwrap_or_default() {
                            "tested_at" | "ran_at" => "at".to_owned(),
                            "note" => "note".to_owned(),
                            _ => field,
                        };
                        (field, text)
                    })
                    .collect();
            }
            Err(Failure::Precondition { message, .. } | Failure::Conflict(message)) => {
                refused.problems = vec![(
                    String::new(),
                    lang.t_with("step-refused", &[("message", text(message))]),
                )];
            }
            Err(failure) => return errors::failed(lang, jar, &path, &failure, PART),
        }
    }
    let page = page(&state, jar, lang, &id, None, None, Some(&refused)).await;
    errors::with_refused_status(page)
}
