//! The sign-off of a year's review (a manager) and the report's downloads.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::{Form, PrivateCookieJar};
use tillit_auth::Permission;
use tillit_proto::reporting::{
    GetAnnualReportRequest, GetManagementReviewRequest, SignOffManagementReviewRequest,
};

use super::{PART, page};
use crate::api::{Failure, parse_after};
use crate::i18n::text;
use crate::pages::form::Sent;
use crate::pages::{checked_form, errors, reader, violations};
use crate::{State as Shared, bearer};

/// `POST /review/{year}/sign`: the summary, the decisions (one a line) and the positions
/// of the report shown, whose hash the page named.
pub async fn sign(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path(year): Path<i32>,
    Form(posted): Form<BTreeMap<String, String>>,
) -> Response {
    let csrf = posted.get("csrf").map_or("", String::as_str);
    let (lang, jar, _) = match checked_form(&state, jar, &headers, csrf) {
        Ok(checked) => checked,
        Err(refused) => return *refused,
    };
    let path = format!("/review?year={year}");
    let (jar, _viewer, access) = match reader(&state, jar, lang, &path, |viewer| {
        viewer.may(Permission::ManageManagementReview)
    })
    .await
    {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let field = |name: &str| posted.get(name).cloned().unwrap_or_default();
    let request = SignOffManagementReviewRequest {
        year,
        summary: field("summary").replace("\r\n", "\n"),
        decisions: field("decisions")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
        as_of: parse_after(&field("as_of"))
            .map(|t| t.positions)
            .unwrap_or_default(),
    };
    let problems = match state
        .reporting
        .clone()
        .sign_off_management_review(bearer(&access, request))
        .await
    {
        Ok(_) => {
            let target = format!("/review?year={year}&done=signed#signed");
            return (jar, Redirect::to(&target)).into_response();
        }
        Err(status) => match Failure::of(&status) {
            Failure::Invalid(found) => violations(lang, &found)
                .into_iter()
                .map(|(field, words)| {
                    let field = field.split('[').next().unwrap_or_default().to_owned();
                    (field, words)
                })
                .collect(),
            Failure::Precondition { message, .. } | Failure::Conflict(message) => vec![(
                String::new(),
                lang.t_with("step-refused", &[("message", text(message))]),
            )],
            failure => return errors::failed(lang, jar, &path, &failure, PART),
        },
    };
    let sent = Sent {
        form: "sign".into(),
        posted,
        problems,
    };
    page(&state, jar, lang, year, None, Some(&sent)).await
}

/// `GET /review/{year}/report.{json|csv|html}`: the signed report of a signed year, the
/// report as of now of an open one, as the reporting service renders it.
pub async fn download(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path((year, file)): Path<(i32, String)>,
) -> Response {
    let lang = crate::language(&jar, &headers);
    let path = format!("/review?year={year}");
    let (jar, _viewer, access) =
        match reader(&state, jar, lang, &path, |viewer| viewer.may_read_reports()).await {
            Ok(signed) => signed,
            Err(response) => return response,
        };
    let content_type = match file.as_str() {
        "report.json" => "application/json",
        "report.csv" => "text/csv; charset=utf-8",
        "report.html" => "text/html; charset=utf-8",
        _ => return (jar, errors::not_found(lang)).into_response(),
    };
    let mut reporting = state.reporting.clone();
    let as_of = match reporting
        .get_management_review(bearer(&access, GetManagementReviewRequest { year }))
        .await
    {
        Ok(review) => review
            .into_inner()
            .sign_off
            .map(|s| s.as_of)
            .unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let report = match reporting
        .get_annual_report(bearer(&access, GetAnnualReportRequest { year, as_of }))
        .await
    {
        Ok(answer) => answer.into_inner(),
        Err(status) if status.code() == tonic::Code::InvalidArgument => {
            return (jar, errors::not_found(lang)).into_response();
        }
        Err(status) => return errors::failed(lang, jar, &path, &Failure::of(&status), PART),
    };
    let body = match file.as_str() {
        "report.json" => report.json,
        "report.csv" => report.csv,
        _ => report.html,
    };
    let mut response = (jar, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    let extension = file.rsplit('.').next().unwrap_or("txt");
    if let Ok(value) = HeaderValue::from_str(&format!(
        "attachment; filename=\"management-review-{year}.{extension}\""
    )) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}
