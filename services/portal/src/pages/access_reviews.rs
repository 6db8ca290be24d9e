//! Access reviews: the campaigns with their progress, starting one (security officer,
//! admin), and one campaign's items, each decided with one click to confirm or with a
//! reason to revoke — and what a revocation does said before it is sent: the role is taken
//! away at once, a service account is deactivated.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::{Form, PrivateCookieJar};
use maud::{Markup, html};
use tillit_auth::Permission;
use tillit_proto::Vocabulary;
use tillit_proto::identity::{
    AccessDecision, AccessReview, AccessReviewItemState, DecideAccessReviewItemRequest,
    GetAccessReviewRequest, ListAccessReviewsRequest, StartAccessReviewRequest,
};

use crate::api::{Failure, after_text, parse_after};
use crate::i18n::{Lang, text};
use crate::pages::form::{Draw, Sent};
use crate::pages::incidents::{dom_id, word};
use crate::pages::layout::{Frame, page as frame_page};
use crate::pages::{
    checked_form, errors, local_input, parse_local, poster, reader, violations, when,
};
use crate::{State as Shared, bearer, language};

const PART: &str = "part-identity";

/// A page's query string.
#[derive(serde::Deserialize, Default)]
pub struct Shown {
    #[serde(default)]
    after: String,
    #[serde(default)]
    undecided: Option<String>,
}

/// `GET /access-reviews`.
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
    let (jar, viewer, access) = match reader(state, jar, lang, "/access-reviews", |viewer| {
        viewer.may_read_access_reviews()
    })
    .await
    {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let mut identity = state.identity.clone();
    let (answer, tenants) = tokio::join!(
        identity.list_access_reviews(bearer(
            &access,
            ListAccessReviewsRequest {
                open_only: false,
                consistency: parse_after(after),
            },
        )),
        crate::pages::tenants(state, &access),
    );
    let campaigns = match answer {
        Ok(answer) => answer.into_inner().campaigns,
        Err(status) => {
            return errors::failed(lang, jar, "/access-reviews", &Failure::of(&status), PART);
        }
    };
    let defaults = Sent {
        form: "start".into(),
        posted: [("due_at".to_owned(), local_input(crate::now() + 14 * 86_400))].into(),
        problems: Vec::new(),
    };
    let draw = Draw::new(lang, "start", Some(refused.unwrap_or(&defaults)));
    let mut scopes = vec![(String::new(), lang.t("access-every-tenant"))];
    scopes.extend(tenants);
    let body = html! {
        h1 { (lang.t("access-title")) }
        @if campaigns.is_empty() {
            p { (lang.t("access-none")) }
        } @else {
            div.table-wrap { table.list {
                thead { tr {
                    th scope="col" { (lang.t("access-campaign")) }
                    th scope="col" { (lang.t("asset-tenant")) }
                    th scope="col" { (lang.t("access-due")) }
                    th scope="col" { (lang.t("access-progress")) }
                } }
                tbody { @for c in campaigns.iter().rev() { tr {
                    td { a href={ "/access-reviews/" (c.campaign_id) } { (word(lang, "access-status", c.status())) " · " (c.campaign_id.get(..8).unwrap_or_default()) } }
                    td { @if c.scope_tenant_id.is_empty() { (lang.t("access-every-tenant")) } @else { (c.scope_tenant_id) } }
                    td { (c.due_at.as_ref().map(when).unwrap_or_default()) }
                    td { (progress(lang, c)) }
                } } }
            } }
        }
        @if viewer.may(Permission::RunAccessReviews) {
            section.card aria-labelledby="start" {
                h2 #start { (lang.t("access-start")) }
                p.muted { (lang.t("access-start-explain")) }
                (draw.general(&["tenant_id", "due_at"]))
                (crate::pages::form::post("/access-reviews", "start", &viewer.csrf, html! {
                    (draw.select("tenant_id", "access-scope", &scopes, ""))
                    (draw.input("datetime-local", "due_at", "access-due", String::new(), true))
                    button.primary type="submit" { (lang.t("access-start")) }
                }))
            }
        }
    };
    let frame = Frame {
        lang,
        viewer: Some(&viewer),
        path: "/access-reviews",
    };
    errors::refused_if(
        refused.is_some(),
        (jar, frame_page(&frame, &lang.t("access-title"), body)).into_response(),
    )
}

/// "12 of 40 decided", with a bar.
fn progress(lang: Lang, campaign: &AccessReview) -> Markup {
    let decided = campaign.items.saturating_sub(campaign.undecided);
    let words = lang.t_with(
        "access-decided-of",
        &[
            ("decided", decided.into()),
            ("items", campaign.items.into()),
        ],
    );
    html! {
        progress value=(decided) max=(campaign.items.max(1)) aria-label=(words) {}
        " " (words)
    }
}

/// `POST /access-reviews`: start a campaign.
pub async fn start(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Form(posted): Form<BTreeMap<String, String>>,
) -> Response {
    let (lang, jar, _viewer, access) = match poster(
        &state,
        jar,
        &headers,
        &posted,
        "/access-reviews",
        |viewer| viewer.may(Permission::RunAccessReviews),
    )
    .await
    {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let raw_due = posted.get("due_at").map_or("", |v| v.trim());
    let problems = match parse_local(raw_due) {
        None => vec![("due_at".to_owned(), lang.t("reason-MALFORMED"))],
        Some(due_at) => {
            let request = StartAccessReviewRequest {
                tenant_id: posted.get("tenant_id").cloned().unwrap_or_default(),
                due_at: Some(due_at),
                consistency: None,
            };
            match state
                .identity
                .clone()
                .start_access_review(bearer(&access, request))
                .await
            {
                Ok(answer) => {
                    let answer = answer.into_inner();
                    let after = after_text(answer.consistency.as_ref());
                    let id = answer.campaign.map(|c| c.campaign_id).unwrap_or_default();
                    let target = format!("/access-reviews/{id}?after={after}");
                    return (jar, Redirect::to(&target)).into_response();
                }
                Err(status) => match Failure::of(&status) {
                    Failure::Invalid(found) => violations(lang, &found),
                    Failure::Precondition { message, .. } | Failure::Conflict(message) => {
                        vec![(
                            String::new(),
                            lang.t_with("step-refused", &[("message", text(message))]),
                        )]
                    }
                    failure => return errors::failed(lang, jar, "/access-reviews", &failure, PART),
                },
            }
        }
    };
    let sent = Sent {
        form: "start".into(),
        posted,
        problems,
    };
    list_page(&state, jar, lang, "", Some(&sent)).await
}

/// `GET /access-reviews/{id}`.
pub async fn campaign(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(shown): Query<Shown>,
) -> Response {
    let lang = language(&jar, &headers);
    campaign_page(&state, jar, lang, &id, &shown, None).await
}

async fn campaign_page(
    state: &crate::Portal,
    jar: PrivateCookieJar,
    lang: Lang,
    id: &str,
    shown: &Shown,
    refused: Option<&Sent>,
) -> Response {
    let path = format!("/access-reviews/{}", crate::urlencode(id));
    let (jar, viewer, access) = match reader(state, jar, lang, &path, |viewer| {
        viewer.may_read_access_reviews()
    })
    .await
    {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let mut identity = state.identity.clone();
    let (answer, people) = tokio::join!(
        identity.get_access_review(bearer(
            &access,
            GetAccessReviewRequest {
                campaign_id: id.to_owned(),
                undecided_only: shown.undecided.is_some(),
                consistency: parse_after(&shown.after),
            },
        )),
        crate::pages::users(
            state,
            &access,
            "",
            tillit_proto::identity::PrincipalStatus::Unspecified
        ),
    );
    let answer = match answer {
        Ok(answer) => answer.into_inner(),
        Err(status) => return errors::failed(lang, jar, &path, &Failure::of(&status), PART),
    };
    let Some(campaign) = answer.campaign else {
        return (jar, errors::not_found(lang)).into_response();
    };
    let may_decide = viewer.may(Permission::RunAccessReviews)
        && campaign.status() == tillit_proto::identity::AccessReviewStatus::Open;
    let name_of = |id: &str| {
        people
            .iter()
            .find(|(user, _)| user == id)
            .map_or_else(|| id.to_owned(), |(_, name)| name.clone())
    };
    let body = html! {
        h1 { (lang.t("access-campaign")) " " (campaign.campaign_id.get(..8).unwrap_or_default()) }
        p.muted {
            (word(lang, "access-status", campaign.status())) " · "
            @if campaign.scope_tenant_id.is_empty() { (lang.t("access-every-tenant")) } @else { (campaign.scope_tenant_id) } " · "
            (lang.t("access-due")) " " (campaign.due_at.as_ref().map(when).unwrap_or_default())
        }
        p { (progress(lang, &campaign)) }
        p {
            @if shown.undecided.is_some() { a href=(path) { (lang.t("access-show-all")) } }
            @else { a href={ (path) "?undecided=on" } { (lang.t("access-show-undecided")) } }
        }
        @if let Some(sent) = refused.filter(|s| !answer.items.iter().any(|i| item_key(i) == s.form)) {
            div.alert role="alert" { @for (_, words) in &sent.problems { p { (words) } } }
        }
        div.table-wrap { table.list #items {
            thead { tr {
                th scope="col" { (lang.t("access-who")) }
                th scope="col" { (lang.t("access-what")) }
                th scope="col" { (lang.t("asset-tenant")) }
                th scope="col" { (lang.t("access-decision")) }
            } }
            tbody { @for item in &answer.items {
                (item_row(lang, &viewer.csrf, &path, item, may_decide, refused, &name_of))
            } }
        } }
    };
    let frame = Frame {
        lang,
        viewer: Some(&viewer),
        path: &path,
    };
    errors::refused_if(
        refused.is_some(),
        (jar, frame_page(&frame, &lang.t("access-title"), body)).into_response(),
    )
}

/// The form key of an item: `item-<its id>`.
fn item_key(state: &AccessReviewItemState) -> String {
    format!(
        "item-{}",
        dom_id(state.item.as_ref().map_or("", |i| i.item_id.as_str()))
    )
}

fn item_row(
    lang: Lang,
    csrf: &str,
    path: &str,
    state: &AccessReviewItemState,
    may_decide: bool,
    refused: Option<&Sent>,
    name_of: &dyn Fn(&str) -> String,
) -> Markup {
    let Some(item) = state.item.as_ref() else {
        return html! {};
    };
    let service_account = item.kind == "service_account";
    let what = if service_account {
        lang.t("access-service-account")
    } else {
        lang.find(&format!("role-{}", item.role.replace('_', "-")))
            .unwrap_or_else(|| item.role.clone())
    };
    let who = if item.label.is_empty() {
        name_of(&item.principal_id)
    } else {
        item.label.clone()
    };
    let key = item_key(state);
    let draw = Draw::new(lang, &key, refused);
    let effect = if service_account {
        lang.t_with("access-revoke-account", &[("who", text(who.clone()))])
    } else {
        lang.t_with(
            "access-revoke-role",
            &[("who", text(who.clone())), ("role", text(what.clone()))],
        )
    };
    html! {
        tr id=(key) {
            td { (who) }
            td { (what) }
            td { (item.tenant_id) }
            td {
                @match state.decision() {
                    AccessDecision::Unspecified if may_decide => {
                        (draw.general(&["reason"]))
                        (crate::pages::form::post(&format!("{path}/decide"), &key, csrf, html! {
                            input type="hidden" name="item_id" value=(item.item_id);
                            input type="hidden" name="decision" value="confirmed";
                            button.primary type="submit" { (lang.t("access-confirm")) }
                        }))
                        details open[draw.refused()] {
                            summary { (lang.t("access-revoke")) }
                            (crate::pages::form::post(&format!("{path}/decide"), &key, csrf, html! {
                                input type="hidden" name="item_id" value=(item.item_id);
                                input type="hidden" name="decision" value="revoked";
                                p.muted { (effect) }
                                (draw.input("text", "reason", "access-reason", String::new(), true))
                                button.danger type="submit" { (lang.t("access-revoke")) }
                            }))
                        }
                    }
                    AccessDecision::Unspecified => { span.muted { (lang.t("access-undecided")) } }
                    decision => {
                        (word(lang, "access-decision", decision))
                        @if !state.reviewer.is_empty() { " · " span.muted { (name_of(&state.reviewer)) } }
                    }
                }
            }
        }
    }
}

/// `POST /access-reviews/{id}/decide`: confirm an item, or revoke it with a reason.
pub async fn decide(
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
    let path = format!("/access-reviews/{}", crate::urlencode(&id));
    let (jar, _viewer, access) = match reader(&state, jar, lang, &path, |viewer| {
        viewer.may(Permission::RunAccessReviews)
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
    let item_id = field("item_id");
    let decision = AccessDecision::from_word(&field("decision")).unwrap_or_default();
    let reason = field("reason");
    let key = format!("item-{}", dom_id(&item_id));
    let problems = if decision == AccessDecision::Revoked && reason.is_empty() {
        vec![("reason".to_owned(), lang.t("reason-REQUIRED"))]
    } else {
        let request = DecideAccessReviewItemRequest {
            campaign_id: id.clone(),
            item_id,
            decision: decision.into(),
            reason,
            consistency: None,
        };
        match state
            .identity
            .clone()
            .decide_access_review_item(bearer(&access, request))
            .await
        {
            Ok(answer) => {
                let after = after_text(answer.into_inner().consistency.as_ref());
                let target = format!("{path}?after={after}#{key}");
                return (jar, Redirect::to(&target)).into_response();
            }
            Err(status) => match Failure::of(&status) {
                Failure::Invalid(found) => violations(lang, &found),
                Failure::Precondition { message, .. } | Failure::Conflict(message) => vec![(
                    String::new(),
                    lang.t_with("step-refused", &[("message", text(message))]),
                )],
                failure => return errors::failed(lang, jar, &path, &failure, PART),
            },
        }
    };
    let sent = Sent {
        form: key,
        posted,
        problems,
    };
    campaign_page(&state, jar, lang, &id, &Shown::default(), Some(&sent)).await
}
