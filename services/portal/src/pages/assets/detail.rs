//! One asset: its facts, classification with rationale, personal-data processing, the
//! evidence the control rules read (with when it was recorded), the control gaps with the
//! rule, severity and since when, and the timeline. Its owner, or whoever manages assets,
//! records a restore test or a backup run here; the page it lands on shows the gaps as
//! they are after it. The forms themselves are described in [`super::forms`].

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::{Form, PrivateCookieJar};
use maud::{Markup, html};
use tillit_auth::Permission;
use tillit_proto::assets::{
    Asset, GetAssetRequest, GetAssetTimelineRequest, GetControlGapsRequest,
};
use tillit_proto::common::ConsistencyToken;

use super::forms::{self, Sent};
use super::{PART, is_staff, levels_of, owner_name};
use crate::api::{Failure, after_text, parse_after};
use crate::i18n::{Lang, text};
use crate::pages::incidents::{Problems, word};
use crate::pages::layout::{Frame, Viewer, page as frame_page};
use crate::pages::{checked_form, errors, viewer, violations, when};
use crate::{State as Shared, bearer, language};

/// The query string of an asset's page.
#[derive(serde::Deserialize, Default)]
pub struct Shown {
    #[serde(default)]
    after: String,
    #[serde(default)]
    done: String,
}

/// `GET /assets/{id}`.
pub async fn detail(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(shown): Query<Shown>,
) -> Response {
    let lang = language(&jar, &headers);
    let notice = match shown.done.as_str() {
        "evidence" => Some(lang.t("evidence-saved")),
        "saved" => Some(lang.t("asset-saved")),
        _ => None,
    };
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

async fn page(
    state: &crate::Portal,
    jar: PrivateCookieJar,
    lang: Lang,
    id: &str,
    after: Option<ConsistencyToken>,
    notice: Option<String>,
    refused: Option<&Sent>,
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
                    @if asset.classification_history.len() > 1 {
                        details.history {
                            summary { (lang.t("asset-classification-history")) }
                            ol {
                                @for earlier in asset.classification_history.iter().rev() {
                                    li {
                                        @if let Some(c) = earlier.classification.as_ref() {
                                            "C" (c.confidentiality) " I" (c.integrity) " A" (c.availability)
                                        }
                                        @if let Some(at) = earlier.classified_at.as_ref() { " · " (when(at)) }
                                        @if !earlier.rationale.is_empty() { " · " span.muted { (earlier.rationale) } }
                                    }
                                }
                            }
                        }
                    }
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
            (forms(lang, &viewer, &asset, &people, refused))
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

/// The forms the viewer may send, filled with the asset's present values.
fn forms(
    lang: Lang,
    viewer: &Viewer,
    asset: &Asset,
    people: &[(String, String)],
    refused: Option<&Sent>,
) -> Markup {
    let mut current: BTreeMap<&str, String> = BTreeMap::new();
    current.insert("name", asset.name.clone());
    current.insert(
        "kind",
        tillit_proto::Vocabulary::word(asset.kind()).to_owned(),
    );
    current.insert("description", asset.description.clone());
    current.insert("owner", asset.owner_user_id.clone());
    if let Some(p) = asset.processing.as_ref() {
        current.insert("categories", p.data_categories.join(", "));
        current.insert("subjects", p.data_subjects.join(", "));
        current.insert("purpose", p.purpose.clone());
        current.insert("retention", p.retention.clone());
        current.insert("recipients", p.recipients.join(", "));
        current.insert("sub_processors", p.sub_processors.join(", "));
        if p.special_categories {
            current.insert("special", "on".into());
        }
    }
    let manages = viewer.may(Permission::ManageAssets);
    if let Some(s) = asset.backup_schedule.as_ref() {
        current.insert("schedule", s.schedule.clone());
        current.insert("interval_hours", s.interval_hours.to_string());
    }
    if let Some(p) = asset.patch_policy.as_ref() {
        current.insert("days", p.critical_within_days.to_string());
    }
    if let Some(c) = asset.classification.as_ref() {
        current.insert("c", c.confidentiality.to_string());
        current.insert("i", c.integrity.to_string());
        current.insert("a", c.availability.to_string());
    }
    html! {
        section.card aria-labelledby="record" {
            h2 #record { (lang.t("evidence-record")) }
            @for spec in forms::SPECS.iter().filter(|s| manages || !s.managers_only) {
                (forms::draw(lang, &viewer.csrf, &asset.asset_id, spec, &current, people, refused))
            }
        }
    }
}

/// `POST /assets/{id}/{form}`: one of the page's forms.
pub async fn submit(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path((id, key)): Path<(String, String)>,
    Form(posted): Form<BTreeMap<String, String>>,
) -> Response {
    let csrf = posted.get("csrf").map_or("", String::as_str);
    let (lang, jar, _) = match checked_form(&state, jar, &headers, csrf) {
        Ok(checked) => checked,
        Err(refused) => return *refused,
    };
    let Some(spec) = forms::spec(&key) else {
        return (jar, errors::not_found(lang)).into_response();
    };
    let path = format!("/assets/{}", crate::urlencode(&id));
    let (jar, _, access) = match viewer(&state, jar, lang, &path).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let mut sent = Sent {
        key: key.clone(),
        posted,
        problems: Problems::new(),
    };
    match forms::read(lang, spec, &id, &sent.posted) {
        Err(problems) => sent.problems = problems,
        Ok(request) => match send(&state, &access, request).await {
            Ok(consistency) => {
                let after = after_text(consistency.as_ref());
                let done = match key.as_str() {
                    "details" | "owner" | "processing" | "classify" => "saved",
                    _ => "evidence",
                };
                let target = format!("{path}?done={done}&after={after}#gaps");
                return (jar, Redirect::to(&target)).into_response();
            }
            Err(Failure::Invalid(problems)) => {
                sent.problems = violations(lang, &problems)
                    .into_iter()
                    .map(|(field, text)| (forms::field_of(&field), text))
                    .collect();
            }
            Err(Failure::Precondition { message, .. } | Failure::Conflict(message)) => {
                sent.problems = vec![(
                    String::new(),
                    lang.t_with("step-refused", &[("message", text(message))]),
                )];
            }
            Err(failure) => return errors::failed(lang, jar, &path, &failure, PART),
        },
    }
    let page = page(&state, jar, lang, &id, None, None, Some(&sent)).await;
    errors::with_refused_status(page)
}

/// Sends a form's request; answers its consistency token.
async fn send(
    state: &crate::Portal,
    access: &str,
    request: forms::Request,
) -> Result<Option<ConsistencyToken>, Failure> {
    let mut assets = state.assets.clone();
    let answer = match request {
        forms::Request::Evidence(r) => assets
            .record_evidence(bearer(access, r))
            .await
            .map(|a| a.into_inner().consistency),
        forms::Request::Classify(r) => assets
            .classify_asset(bearer(access, r))
            .await
            .map(|a| a.into_inner().consistency),
        forms::Request::Review(r) => assets
            .review_asset(bearer(access, r))
            .await
            .map(|a| a.into_inner().consistency),
        forms::Request::Retire(r) => assets
            .retire_asset(bearer(access, r))
            .await
            .map(|a| a.into_inner().consistency),
        forms::Request::Details(r) => assets
            .update_asset_details(bearer(access, r))
            .await
            .map(|a| a.into_inner().consistency),
        forms::Request::Owner(r) => assets
            .assign_asset_owner(bearer(access, r))
            .await
            .map(|a| a.into_inner().consistency),
        forms::Request::Processing(r) => assets
            .record_processing(bearer(access, r))
            .await
            .map(|a| a.into_inner().consistency),
    };
    answer.map_err(|status| Failure::of(&status))
}
