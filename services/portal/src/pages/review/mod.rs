//! The annual management review (managers, and who reads reports): the report of a year as
//! a page with its sections in the report's order, printable to a clean A4 document; the
//! downloads the reporting service offers (JSON, CSV, HTML); and the sign-off, which shows
//! the SHA-256 of exactly the report being signed. A signed year shows who signed, when,
//! the hash, and whether the report recomputed at the signed positions still has it.
//!
//! - this module: the page.
//! - [`figures`]: the report's JSON as labelled rows in the user's language.
//! - [`sign`]: the sign-off and the downloads.

pub mod figures;
pub mod sign;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::PrivateCookieJar;
use maud::{Markup, html};
use tillit_auth::Permission;
use tillit_proto::common::{ConsistencyToken, Position};
use tillit_proto::reporting::{GetAnnualReportRequest, GetManagementReviewRequest};

use crate::api::{Failure, after_text};
use crate::i18n::{Lang, text};
use crate::pages::form::{Draw, Sent};
use crate::pages::layout::{Frame, page as frame_page};
use crate::pages::{errors, reader, when};
use crate::{State as Shared, bearer, language};

const PART: &str = "part-reporting";

/// The page's query string.
#[derive(serde::Deserialize, Default)]
pub struct Shown {
    #[serde(default)]
    year: String,
    #[serde(default)]
    done: String,
}

/// This year in Stockholm (near enough: the service checks the year itself).
fn this_year() -> i32 {
    time::OffsetDateTime::now_utc().year()
}

/// `GET /review?year=2026`.
pub async fn review(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Query(shown): Query<Shown>,
) -> Response {
    let lang = language(&jar, &headers);
    let year = shown.year.parse().unwrap_or_else(|_| this_year());
    let notice = (shown.done == "signed").then(|| lang.t("annual-signed-now"));
    page(&state, jar, lang, year, notice, None).await
}

/// The review of `year`, with the sign-off form as sent when it was refused.
pub(crate) async fn page(
    state: &crate::Portal,
    jar: PrivateCookieJar,
    lang: Lang,
    year: i32,
    notice: Option<String>,
    refused: Option<&Sent>,
) -> Response {
    let path = format!("/review?year={year}");
    let (jar, viewer, access) =
        match reader(state, jar, lang, &path, |viewer| viewer.may_read_reports()).await {
            Ok(signed) => signed,
            Err(response) => return response,
        };
    let (mut reports, mut reviews) = (state.reporting.clone(), state.reporting.clone());
    let (current, signed, people) = tokio::join!(
        reports.get_annual_report(bearer(
            &access,
            GetAnnualReportRequest {
                year,
                as_of: Vec::new(),
            },
        )),
        reviews.get_management_review(bearer(&access, GetManagementReviewRequest { year })),
        crate::pages::staff(state, &access),
    );
    let current = match current {
        Ok(answer) => answer.into_inner(),
        // A year out of range is no page.
        Err(status) if status.code() == tonic::Code::InvalidArgument => {
            return (jar, errors::not_found(lang)).into_response();
        }
        Err(status) => return errors::failed(lang, jar, &path, &Failure::of(&status), PART),
    };
    let signed = match signed {
        Ok(answer) => Some(answer.into_inner()),
        Err(status) if status.code() == tonic::Code::NotFound => None,
        Err(status) => return errors::failed(lang, jar, &path, &Failure::of(&status), PART),
    };
    let name_of = |id: &str| {
        people
            .iter()
            .find(|(user, _)| user == id)
            .map_or_else(|| id.to_owned(), |(_, name)| name.clone())
    };
    // A signed year shows the report it signed; an open one the report as of now.
    let (json, as_of) = match &signed {
        Some(review) => (
            review.json.clone(),
            review
                .sign_off
                .as_ref()
                .map(|s| s.as_of.clone())
                .unwrap_or_default(),
        ),
        None => (current.json.clone(), current.as_of.clone()),
    };
    let positions = after_text(Some(&ConsistencyToken {
        positions: as_of.clone(),
    }));
    let body = html! {
        @if let Some(notice) = &notice { p.notice.no-print role="status" { (notice) } }
        h1 { (lang.t_with("annual-title", &[("year", year.into())])) }
        nav.no-print aria-label=(lang.t("annual-years")) {
            ul.years {
                @for other in (this_year() - 3..=this_year()).rev() {
                    li {
                        @if other == year { strong aria-current="page" { (other) } }
                        @else { a href={ "/review?year=" (other) } { (other) } }
                    }
                }
            }
        }
        p.muted { (lang.t_with("annual-as-of", &[("positions", text(positions_words(&as_of)))])) }
        @match &signed {
            Some(review) => {
                @if let Some(sent) = refused {
                    div.alert role="alert" { @for (_, words) in &sent.problems { p { (words) } } }
                }
                (signed_box(lang, review, &name_of))
            }
            None => {
                @if viewer.may(Permission::ManageManagementReview) {
                    p { (lang.t("annual-not-signed")) }
                    (sign_form(lang, &viewer.csrf, year, &positions, &current.report_sha256, refused))
                } @else {
                    p { (lang.t("annual-not-signed")) " " (lang.t_with("annual-hash", &[("hash", text(current.report_sha256.clone()))])) }
                }
            }
        }
        p.no-print.downloads {
            (lang.t("annual-downloads")) " "
            @for (format, label) in [("json", "JSON"), ("csv", "CSV"), ("html", "HTML")] {
                a href={ "/review/" (year) "/report." (format) } download { (label) } " "
            }
            " · " (lang.t("annual-print-hint"))
        }
        article.report #report { (figures::sections(lang, &json)) }
    };
    let frame = Frame {
        lang,
        viewer: Some(&viewer),
        path: &path,
    };
    let title = lang.t_with("annual-title", &[("year", year.into())]);
    errors::refused_if(
        refused.is_some(),
        (jar, frame_page(&frame, &title, body)).into_response(),
    )
}

/// "IDENTITY 12, ASSETS 40, …".
fn positions_words(positions: &[Position]) -> String {
    positions
        .iter()
        .map(|p| format!("{} {}", p.stream, p.sequence))
        .collect::<Vec<_>>()
        .join(", ")
}

fn signed_box(
    lang: Lang,
    review: &tillit_proto::reporting::GetManagementReviewResponse,
    name_of: &dyn Fn(&str) -> String,
) -> Markup {
    let Some(sign_off) = review.sign_off.as_ref() else {
        return html! {};
    };
    html! {
        section.card #signed aria-labelledby="signed-title" {
            h2 #signed-title { (lang.t("annual-signed")) }
            p { (lang.t_with("annual-signed-by", &[
                ("name", text(if review.signed_by_name.is_empty() {
                    name_of(&sign_off.signed_by)
                } else {
                    review.signed_by_name.clone()
                })),
                ("when", text(review.signed_at.as_ref().map(when).unwrap_or_default())),
            ])) }
            p { (lang.t("annual-signed-hash")) " " code #signed-hash { (sign_off.report_sha256) } }
            @if review.verified {
                p.ok { (lang.t("annual-verified")) }
            } @else {
                p.late role="alert" { (lang.t("annual-not-verified")) }
            }
            h3 { (lang.t("annual-summary")) }
            p.pre { (sign_off.summary) }
            @if !sign_off.decisions.is_empty() {
                h3 { (lang.t("annual-decisions")) }
                ol { @for decision in &sign_off.decisions { li { (decision) } } }
            }
        }
    }
}

fn sign_form(
    lang: Lang,
    csrf: &str,
    year: i32,
    positions: &str,
    hash: &str,
    refused: Option<&Sent>,
) -> Markup {
    let draw = Draw::new(lang, "sign", refused);
    html! {
        section.card.no-print aria-labelledby="sign" {
            h2 #sign { (lang.t("annual-sign")) }
            p { (lang.t("annual-sign-explain")) " " code #sign-hash { (hash) } }
            (draw.general(&["summary", "decisions"]))
            (crate::pages::form::post(&format!("/review/{year}/sign"), "sign", csrf, html! {
                input type="hidden" name="as_of" value=(positions);
                (draw.textarea("summary", "annual-summary", None, true))
                (draw.textarea("decisions", "annual-decisions", Some("annual-decisions-hint"), false))
                button.primary type="submit" { (lang.t("annual-sign-button")) }
            }))
        }
    }
}
