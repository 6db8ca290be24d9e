//! The audit trail's CSV download: the search's filter sent to `ExportAudit`, and its
//! pieces passed on to the browser as they come.

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::PrivateCookieJar;
use futures::StreamExt as _;
use tillit_auth::Permission;
use tillit_proto::reporting::ExportAuditRequest;

use super::{PART, Search};
use crate::api::{Failure, parse_after};
use crate::pages::{errors, local_input, reader};
use crate::{State as Shared, bearer, language};

/// `GET /audit/export`: the search's filter as CSV, streamed.
pub async fn export(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Query(search): Query<Search>,
) -> Response {
    let lang = language(&jar, &headers);
    let (jar, _viewer, access) = match reader(&state, jar, lang, "/audit", |viewer| {
        viewer.may(Permission::ReadAuditTrail)
    })
    .await
    {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let Ok(filter) = search.filter(lang) else {
        return (jar, errors::not_found(lang)).into_response();
    };
    let request = ExportAuditRequest {
        filter: Some(filter),
        consistency: parse_after(&search.after),
    };
    let started = state
        .reporting
        .clone()
        .export_audit(bearer(&access, request))
        .await;
    let mut pieces = match started {
        Ok(answer) => answer.into_inner(),
        Err(status) => return errors::failed(lang, jar, "/audit", &Failure::of(&status), PART),
    };
    // The first piece decides between a download and an error page.
    let first = match pieces.message().await {
        Ok(first) => first,
        Err(status) => return errors::failed(lang, jar, "/audit", &Failure::of(&status), PART),
    };
    let head = futures::stream::iter(first.map(|p| Ok::<_, std::io::Error>(Bytes::from(p.csv))));
    let rest = pieces.map(|piece| {
        piece
            .map(|p| Bytes::from(p.csv))
            .map_err(|status| std::io::Error::other(status.message().to_owned()))
    });
    let name = format!(
        "attachment; filename=\"audit-{}.csv\"",
        local_input(crate::now()).get(..10).unwrap_or("trail")
    );
    let mut response = (jar, Body::from_stream(head.chain(rest))).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(&name) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}
