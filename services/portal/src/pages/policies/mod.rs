//! The policies (G4): the list with where the viewer stands with each, one policy's
//! version to read and acknowledge with one click, its history, its coverage for managers
//! and auditors, and publishing (a manager). Customers have none of these.
//!
//! - this module: the list, the publish form, and Markdown drawn safely.
//! - [`detail`]: one policy and its POSTs.

pub mod detail;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::PrivateCookieJar;
use maud::{Markup, PreEscaped, html};
use tillit_auth::Permission;
use tillit_proto::identity::ListPoliciesRequest;

use crate::api::{Failure, parse_after};
use crate::i18n::{Lang, text};
use crate::pages::form::{Draw, Sent};
use crate::pages::layout::{Frame, Viewer, page};
use crate::pages::{errors, reader, when};
use crate::{State as Shared, bearer, language};

/// The part of the platform these pages call, for the 503 page.
pub(crate) const PART: &str = "part-identity";

/// The list's query string.
#[derive(serde::Deserialize, Default)]
pub struct Shown {
    #[serde(default)]
    after: String,
}

/// Whether the viewer may read who is missing an acknowledgement.
pub(crate) fn may_read_coverage(viewer: &Viewer) -> bool {
    [
        Permission::ReadReports,
        Permission::ReadEverything,
        Permission::PublishPolicies,
    ]
    .into_iter()
    .any(|p| viewer.may(p))
}

/// `GET /policies`.
pub async fn list(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Query(shown): Query<Shown>,
) -> Response {
    let lang = language(&jar, &headers);
    list_page(&state, jar, lang, &shown.after, None).await
}

/// The list, with the publish form as it was sent when it was refused.
pub(crate) async fn list_page(
    state: &crate::Portal,
    jar: PrivateCookieJar,
    lang: Lang,
    after: &str,
    refused: Option<&Sent>,
) -> Response {
    let (jar, viewer, access) = match reader(state, jar, lang, "/policies", |viewer| {
        viewer.may_read_policies()
    })
    .await
    {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let answer = state
        .identity
        .clone()
        .list_policies(bearer(
            &access,
            ListPoliciesRequest {
                consistency: parse_after(after),
            },
        ))
        .await;
    let policies = match answer {
        Ok(answer) => answer.into_inner().policies,
        Err(status) => {
            return errors::failed(lang, jar, "/policies", &Failure::of(&status), PART);
        }
    };
    let body = html! {
        h1 { (lang.t("policies-title")) }
        @if policies.is_empty() {
            p { (lang.t("policies-none")) }
        } @else {
            div.table-wrap {
                table.list {
                    thead { tr {
                        th scope="col" { (lang.t("policy-title")) }
                        th scope="col" { (lang.t("policy-version")) }
                        th scope="col" { (lang.t("policy-published")) }
                        th scope="col" { (lang.t("policy-yours")) }
                    } }
                    tbody {
                        @for summary in &policies {
                            @if let Some(policy) = summary.policy.as_ref() {
                                tr {
                                    td { a href={ "/policies/" (policy.policy_id) } { (policy.title) } }
                                    td { (policy.version) }
                                    td { (policy.published_at.as_ref().map(when).unwrap_or_default()) }
                                    td { (standing(lang, summary)) }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if viewer.may(Permission::PublishPolicies) {
            section.card aria-labelledby="publish" {
                h2 #publish { (lang.t("policy-new")) }
                (publish_form(lang, &viewer.csrf, None, refused))
            }
        }
    };
    let frame = Frame {
        lang,
        viewer: Some(&viewer),
        path: "/policies",
    };
    errors::refused_if(
        refused.is_some(),
        (jar, page(&frame, &lang.t("policies-title"), body)).into_response(),
    )
}

/// Where the viewer stands with a policy's current version, in words.
pub(crate) fn standing(lang: Lang, summary: &tillit_proto::identity::PolicySummary) -> Markup {
    html! {
        @match summary.outstanding_since.as_ref() {
            Some(since) => span.late { (lang.t_with("policy-outstanding", &[("when", text(when(since)))])) },
            None => span { (lang.t_with("policy-acknowledged", &[
                ("version", summary.acknowledged_version.into()),
                ("when", text(summary.acknowledged_at.as_ref().map(when).unwrap_or_default())),
            ])) },
        }
    }
}

/// The form publishing a policy: a new one (its id typed), or the next version of
/// `current` (id, title, text) filled with what it says now.
pub(crate) fn publish_form(
    lang: Lang,
    csrf: &str,
    current: Option<(&str, &str, &str)>,
    refused: Option<&Sent>,
) -> Markup {
    let stored = current.map(|(id, title, body)| Sent {
        form: "publish".into(),
        posted: [
            ("policy_id".to_owned(), id.to_owned()),
            ("title".to_owned(), title.to_owned()),
            ("text".to_owned(), body.to_owned()),
        ]
        .into(),
        problems: Vec::new(),
    });
    let draw = Draw::new(lang, "publish", refused.or(stored.as_ref()));
    let body = html! {
        (draw.general(&["policy_id", "title", "text"]))
        @match current {
            Some((id, _, _)) => { input type="hidden" name="policy_id" value=(id); }
            None => {
                (draw.input("text", "policy_id", "policy-id", String::new(), true))
                p.muted { (lang.t("policy-id-hint")) }
            }
        }
        (draw.input("text", "title", "policy-title", String::new(), true))
        (draw.textarea("text", "policy-text", Some("policy-text-hint"), true))
        button.primary type="submit" { (lang.t("policy-publish")) }
    };
    crate::pages::form::post("/policies", "publish", csrf, body)
}

/// A policy's Markdown as HTML: raw HTML in it is shown as text, images as their
/// description, and links only to the web, mail or this site.
pub fn markdown(source: &str) -> Markup {
    use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd};
    let safe = |dest: CowStr<'_>| -> bool {
        let lower = dest.to_ascii_lowercase();
        ["https://", "http://", "mailto:", "/", "#"]
            .iter()
            .any(|p| lower.starts_with(p))
            && !lower.starts_with("//")
    };
    let events = Parser::new_ext(
        source,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    )
    .filter_map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Some(Event::Text(raw)),
        Event::Start(Tag::Image { .. }) | Event::End(TagEnd::Image) => None,
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            let dest_url = if safe(dest_url.clone()) {
                dest_url
            } else {
                CowStr::Borrowed("#")
            };
            Some(Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }))
        }
        other => Some(other),
    });
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events);
    PreEscaped(html)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_is_drawn_without_the_html_scripts_or_foreign_images_in_it() {
        let html = markdown(
            "# Rules\n\nBe **careful**.<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n\
             [ok](https://example.se) [bad](javascript:alert(1)) ![tracker](https://evil.example/p.png)",
        )
        .into_string();
        assert!(html.contains("<h1>Rules</h1>"), "{html}");
        assert!(html.contains("<strong>careful</strong>"), "{html}");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(html.contains("href=\"https://example.se\""), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(
            html.contains("tracker"),
            "the image's description stays: {html}"
        );
    }

    #[test]
    fn the_publish_form_reads_in_both_languages_and_keeps_a_refusal_by_its_field() {
        for lang in [Lang::Sv, Lang::En] {
            let html = publish_form(lang, "t", None, None).into_string();
            assert!(!html.contains("Unknown localization key"), "{html}");
            let html = publish_form(lang, "t", Some(("is", "Title", "Text")), None).into_string();
            assert!(html.contains(">Text</textarea>"), "{html}");
        }
        let sent = Sent {
            form: "publish".into(),
            posted: [("title".to_owned(), "x".repeat(3))].into(),
            problems: vec![("title".into(), "Too long".into())],
        };
        let html = publish_form(Lang::En, "t", None, Some(&sent)).into_string();
        assert!(html.contains("id=\"publish-title-problem\""), "{html}");
        assert!(html.contains("value=\"xxx\""), "{html}");
    }
}
