//! One policy: the version asked for (the current one by default) as formatted text, where
//! the viewer stands with it and the one-click acknowledgement, its version history, the
//! coverage (who is missing, since when) for managers and auditors, and for a manager the
//! form publishing the next version.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::{Form, PrivateCookieJar};
use maud::html;
use tillit_auth::Permission;
use tillit_proto::common::ConsistencyToken;
use tillit_proto::identity::{
    AcknowledgePolicyRequest, GetPolicyCoverageRequest, GetPolicyRequest, ListPoliciesRequest,
    ListPolicyVersionsRequest, PublishPolicyRequest,
};

use super::{PART, list_page, markdown, may_read_coverage, publish_form, standing};
use crate::api::{Failure, after_text, parse_after};
use crate::i18n::{Lang, text};
use crate::pages::form::Sent;
use crate::pages::layout::{Frame, page as frame_page};
use crate::pages::{checked_form, errors, poster, reader, viewer, violations, when};
use crate::{State as Shared, bearer, language};

/// The query string of a policy's page.
#[derive(serde::Deserialize, Default)]
pub struct Shown {
    /// The version to show; empty for the current one.
    #[serde(default)]
    version: String,
    #[serde(default)]
    after: String,
    #[serde(default)]
    done: String,
}

/// `GET /policies/{id}`.
pub async fn detail(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(shown): Query<Shown>,
) -> Response {
    let lang = language(&jar, &headers);
    let notice = match shown.done.as_str() {
        "acknowledged" => Some(lang.t("policy-acknowledged-now")),
        "published" => Some(lang.t("policy-published-now")),
        _ => None,
    };
    let version = shown.version.parse().unwrap_or(0);
    let after = parse_after(&shown.after);
    page(&state, jar, lang, &id, version, after, notice, None).await
}

#[allow(clippy::too_many_arguments)]
async fn page(
    state: &crate::Portal,
    jar: PrivateCookieJar,
    lang: Lang,
    id: &str,
    version: u32,
    after: Option<ConsistencyToken>,
    notice: Option<String>,
    refused: Option<&Sent>,
) -> Response {
    let path = format!("/policies/{}", crate::urlencode(id));
    let (jar, viewer, access) =
        match reader(state, jar, lang, &path, |viewer| viewer.may_read_policies()).await {
            Ok(signed) => signed,
            Err(response) => return response,
        };
    let (mut one, mut all, mut history, mut coverage) = (
        state.identity.clone(),
        state.identity.clone(),
        state.identity.clone(),
        state.identity.clone(),
    );
    let (answer, listed, versions, covered) = tokio::join!(
        one.get_policy(bearer(
            &access,
            GetPolicyRequest {
                policy_id: id.to_owned(),
                consistency: after.clone(),
                version,
            },
        )),
        all.list_policies(bearer(
            &access,
            ListPoliciesRequest {
                consistency: after.clone(),
            },
        )),
        history.list_policy_versions(bearer(
            &access,
            ListPolicyVersionsRequest {
                policy_id: id.to_owned(),
                consistency: after.clone(),
            },
        )),
        async {
            if may_read_coverage(&viewer) {
                coverage
                    .get_policy_coverage(bearer(
                        &access,
                        GetPolicyCoverageRequest {
                            policy_id: id.to_owned(),
                            role: 0,
                            consistency: after.clone(),
                        },
                    ))
                    .await
                    .ok()
                    .map(tonic::Response::into_inner)
            } else {
                None
            }
        },
    );
    let (policy, current_version) = match answer {
        Ok(answer) => {
            let answer = answer.into_inner();
            match answer.policy {
                Some(policy) => (policy, answer.current_version),
                None => return (jar, errors::not_found(lang)).into_response(),
            }
        }
        // A version that is not there is no page either.
        Err(status) if status.code() == tonic::Code::InvalidArgument => {
            return (jar, errors::not_found(lang)).into_response();
        }
        Err(status) => return errors::failed(lang, jar, &path, &Failure::of(&status), PART),
    };
    let mine = listed.ok().and_then(|a| {
        a.into_inner()
            .policies
            .into_iter()
            .find(|s| s.policy.as_ref().is_some_and(|p| p.policy_id == id))
    });
    let versions = versions
        .map(|a| a.into_inner().versions)
        .unwrap_or_default();
    let is_current = policy.version == current_version;
    let body = html! {
        @if let Some(notice) = &notice { p.notice role="status" { (notice) } }
        h1 { (policy.title) }
        p.muted {
            (lang.t_with("policy-version-of", &[("version", policy.version.into())])) " · "
            (policy.published_at.as_ref().map(when).unwrap_or_default()) " · "
            abbr title=(policy.text_sha256) { "SHA-256 " (policy.text_sha256.get(..12).unwrap_or_default()) "…" }
        }
        @if !is_current {
            p.alert role="note" {
                (lang.t_with("policy-old-version", &[("current", current_version.into())])) " "
                a href=(path) { (lang.t("policy-read-current")) }
            }
        }
        article.card.policy-text { (markdown(&policy.text)) }
        @if let Some(summary) = mine.as_ref().filter(|_| is_current) {
            section.card aria-labelledby="yours" {
                h2 #yours { (lang.t("policy-yours")) }
                p { (standing(lang, summary)) }
                @if summary.acknowledged_version != policy.version || summary.outstanding_since.is_some() {
                    form method="post" action={ (path) "/acknowledge" } {
                        input type="hidden" name="csrf" value=(viewer.csrf);
                        input type="hidden" name="version" value=(policy.version);
                        button.primary type="submit" #acknowledge {
                            (lang.t_with("policy-acknowledge", &[("version", policy.version.into())]))
                        }
                    }
                }
            }
        }
        @if let Some(coverage) = covered.as_ref() {
            section.card aria-labelledby="coverage" {
                h2 #coverage { (lang.t("policy-coverage")) }
                p { (lang.t_with("policy-coverage-figures", &[
                    ("covered", coverage.covered.into()),
                    ("staff", coverage.staff.into()),
                    ("version", coverage.version.into()),
                ])) }
                @if !coverage.missing.is_empty() {
                    div.table-wrap { table.list {
                        thead { tr {
                            th scope="col" { (lang.t("policy-person")) }
                            th scope="col" { (lang.t("policy-last-acknowledged")) }
                            th scope="col" { (lang.t("policy-missing-since")) }
                        } }
                        tbody { @for missing in &coverage.missing { tr {
                            td { (missing.email) }
                            td {
                                @if missing.acknowledged_version == 0 { (lang.t("policy-never")) }
                                @else { (lang.t_with("policy-acknowledged", &[
                                    ("version", missing.acknowledged_version.into()),
                                    ("when", text(missing.acknowledged_at.as_ref().map(when).unwrap_or_default())),
                                ])) }
                            }
                            td { (missing.outstanding_since.as_ref().map(when).unwrap_or_default()) }
                        } } }
                    } }
                }
            }
        }
        @if !versions.is_empty() {
            section.card aria-labelledby="history" {
                h2 #history { (lang.t("policy-history")) }
                ul.tasks {
                    @for v in versions.iter().rev() {
                        li {
                            @if v.version == policy.version { strong { (lang.t_with("policy-version-of", &[("version", v.version.into())])) } }
                            @else { a href={ (path) "?version=" (v.version) } { (lang.t_with("policy-version-of", &[("version", v.version.into())])) } }
                            " · " (v.title) " · " span.muted { (v.published_at.as_ref().map(when).unwrap_or_default()) }
                        }
                    }
                }
            }
        }
        @if viewer.may(Permission::PublishPolicies) && is_current {
            section.card aria-labelledby="publish" {
                details open[refused.is_some()] {
                    summary #publish { (lang.t("policy-publish-next")) }
                    (publish_form(lang, &viewer.csrf, Some((&policy.policy_id, &policy.title, &policy.text)), refused))
                }
            }
        }
    };
    let frame = Frame {
        lang,
        viewer: Some(&viewer),
        path: &path,
    };
    errors::refused_if(
        refused.is_some(),
        (jar, frame_page(&frame, &policy.title, body)).into_response(),
    )
}

/// `POST /policies/{id}/acknowledge`: the viewer has read this version.
pub async fn acknowledge(
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
    let path = format!("/policies/{}", crate::urlencode(&id));
    let (jar, _, access) = match viewer(&state, jar, lang, &path).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let version = posted
        .get("version")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let answer = state
        .identity
        .clone()
        .acknowledge_policy(bearer(
            &access,
            AcknowledgePolicyRequest {
                policy_id: id.clone(),
                version,
                consistency: None,
            },
        ))
        .await;
    match answer {
        Ok(answer) => {
            let after = after_text(answer.into_inner().consistency.as_ref());
            let target = format!("{path}?done=acknowledged&after={after}#yours");
            (jar, Redirect::to(&target)).into_response()
        }
        Err(status) => errors::failed(lang, jar, &path, &Failure::of(&status), PART),
    }
}

/// `POST /policies`: publish a new policy or the next version of one (a manager).
pub async fn publish(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Form(posted): Form<BTreeMap<String, String>>,
) -> Response {
    let (lang, jar, _viewer, access) =
        match poster(&state, jar, &headers, &posted, "/policies", |viewer| {
            viewer.may(Permission::PublishPolicies)
        })
        .await
        {
            Ok(signed) => signed,
            Err(response) => return response,
        };
    let field = |name: &str| posted.get(name).cloned().unwrap_or_default();
    let id = field("policy_id").trim().to_owned();
    let request = PublishPolicyRequest {
        policy_id: id.clone(),
        title: field("title"),
        text: field("text").replace("\r\n", "\n"),
        consistency: None,
    };
    let problems = match state
        .identity
        .clone()
        .publish_policy(bearer(&access, request))
        .await
    {
        Ok(answer) => {
            let answer = answer.into_inner();
            let after = after_text(answer.consistency.as_ref());
            let id = answer.policy.map_or(id, |p| p.policy_id);
            let target = format!(
                "/policies/{}?done=published&after={after}",
                crate::urlencode(&id)
            );
            return (jar, Redirect::to(&target)).into_response();
        }
        Err(status) => match Failure::of(&status) {
            Failure::Invalid(problems) => violations(lang, &problems),
            Failure::Precondition { message, .. } | Failure::Conflict(message) => vec![(
                String::new(),
                lang.t_with("step-refused", &[("message", text(message))]),
            )],
            failure => return errors::failed(lang, jar, "/policies", &failure, PART),
        },
    };
    let sent = Sent {
        form: "publish".into(),
        posted,
        problems,
    };
    // The next version is refused on its policy's page; a new policy on the list.
    let exists = state
        .identity
        .clone()
        .get_policy(bearer(
            &access,
            GetPolicyRequest {
                policy_id: id.clone(),
                ..Default::default()
            },
        ))
        .await
        .is_ok();
    if exists {
        page(&state, jar, lang, &id, 0, None, None, Some(&sent)).await
    } else {
        list_page(&state, jar, lang, "", Some(&sent)).await
    }
}
