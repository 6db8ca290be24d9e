//! Querying, exporting and verifying the audit trail (`ReadAuditTrail` only).

use std::pin::Pin;

use futures::Stream;
use tillit_api::page::Page;
use tillit_auth::Permission;
use tillit_auth::caller::ListScope;
use tillit_auth::layer::caller;
use tillit_kernel::KernelError;
use tillit_kernel::Reason;
use tillit_kernel::TenantId;
use tillit_kernel::clock::from_timestamp;
use tillit_kernel::verify::{ChainVerdict, verify_chain};
use tillit_proto::common::PageResponse;
use tillit_proto::reporting::*;
use tokio::sync::mpsc;
use tonic::{Request, Response, Status};

use super::ReportingApi;
use super::errors::not_in_stream;
use crate::audit::{AuditQuery, Cursor, STREAMS, write_csv};

const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 500;
/// Entries per piece of a CSV export: one read transaction and one message each.
const EXPORT_PIECE: usize = 500;
/// Pieces buffered ahead of a slow reader: memory stays bounded whatever the export's size.
const EXPORT_BUFFER: usize = 2;
const MAX_TEXT: usize = 256;

/// The CSV pieces of an export, as the stream answers them.
pub(super) type ExportStream =
    Pin<Box<dyn Stream<Item = Result<ExportAuditResponse, Status>> + Send>>;

fn text(field: &str, raw: &str) -> Result<Option<String>, KernelError> {
    let value = tillit_api::text::optional_line(field, raw, MAX_TEXT)?;
    Ok((!value.is_empty()).then_some(value))
}

fn stream_name(field: &str, raw: &str) -> Result<String, KernelError> {
    STREAMS
        .iter()
        .find(|s| s.eq_ignore_ascii_case(raw.trim()))
        .map(|s| (*s).to_owned())
        .ok_or_else(|| {
            KernelError::refused(
                field,
                Reason::NotOneOf,
                format!("one of {}", STREAMS.join(", ")),
            )
        })
}

fn nanos(field: &str, ts: Option<&prost_types::Timestamp>) -> Result<Option<i64>, KernelError> {
    ts.map(|ts| {
        from_timestamp(ts)
            .and_then(|t| i64::try_from(t.unix_timestamp_nanos()).ok())
            .ok_or_else(|| KernelError::refused(field, Reason::Malformed, "not a valid time"))
    })
    .transpose()
}

/// The filter as a query, confined to what the caller may see; `None` when that is nothing.
fn audit_query(
    filter: Option<&AuditFilter>,
    scope: &ListScope,
) -> Result<Option<AuditQuery>, KernelError> {
    let filter = filter.cloned().unwrap_or_default();
    let tenant = match filter.tenant_id.trim() {
        "" => None,
        raw => Some(TenantId::parse(raw, "filter.tenant_id")?),
    };
    let tenant = match (scope, tenant) {
        (ListScope::Nothing, _) => return Ok(None),
        (ListScope::Tenant(own), Some(asked)) if asked != *own => return Ok(None),
        (ListScope::Tenant(own), _) => Some(own.clone()),
        (ListScope::All, asked) => asked,
    };
    let query = AuditQuery {
        actor: text("filter.actor", &filter.actor)?,
        tenant: tenant.map(|t| t.as_str().to_owned()),
        aggregate: text("filter.aggregate_id", &filter.aggregate_id)?,
        command: text("filter.command", &filter.command)?,
        stream: match filter.stream.trim() {
            "" => None,
            raw => Some(stream_name("filter.stream", raw)?),
        },
        from: nanos("filter.from", filter.from.as_ref())?,
        to: nanos("filter.to", filter.to.as_ref())?,
    };
    if let (Some(from), Some(to)) = (query.from, query.to)
        && to <= from
    {
        return Err(KernelError::refused(
            "filter.to",
            Reason::Conflict,
            "must be after filter.from",
        ));
    }
    Ok(Some(query))
}

/// A cursor's text: `<nanos>/<stream>/<sequence>` of the page's last entry.
fn cursor_text((nanos, stream, sequence): &Cursor) -> String {
    format!("{nanos}/{stream}/{sequence}")
}

/// The cursor a page token's text names, if it is one of this listing's.
fn parse_cursor(raw: &str) -> Option<Cursor> {
    let mut parts = raw.splitn(3, '/');
    let nanos = parts.next()?.parse().ok()?;
    let stream = parts.next()?;
    let sequence = parts.next()?.parse().ok()?;
    STREAMS
        .contains(&stream)
        .then(|| (nanos, stream.to_owned(), sequence))
}

impl ReportingApi {
    /// The audit query a request may run: permission, scope and a valid filter.
    fn audit_request<T>(
        request: &Request<T>,
        filter: Option<&AuditFilter>,
    ) -> Result<Option<AuditQuery>, Status> {
        let caller = caller(request)?;
        caller.require(Permission::ReadAuditTrail)?;
        Ok(audit_query(filter, &caller.list_scope(None))?)
    }

    async fn read_page(
        &self,
        query: AuditQuery,
        before: Option<Cursor>,
        limit: usize,
    ) -> Result<Vec<(AuditEntry, Cursor)>, KernelError> {
        let audit = self.state.audit.clone();
        let identity = self.state.identity.clone();
        tokio::task::spawn_blocking(move || {
            let mut found = audit.page(&query, before.as_ref(), limit)?;
            let mut erased = std::collections::HashMap::new();
            for (entry, _) in &mut found {
                let Some(actor) = &entry.actor else { continue };
                let known = match erased.get(&actor.subject) {
                    Some(known) => *known,
                    None => {
                        let known = identity.is_erased(&actor.subject)?;
                        erased.insert(actor.subject.clone(), known);
                        known
                    }
                };
                entry.actor_erased = known;
            }
            Ok(found)
        })
        .await
        .map_err(|e| KernelError::Internal(format!("reading the audit trail: {e}")))?
    }

    pub(super) async fn query_audit(
        &self,
        request: Request<QueryAuditRequest>,
    ) -> Result<Response<QueryAuditResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let body = request.get_ref();
        let query = Self::audit_request(&request, body.filter.as_ref())?;
        let page = Page::of(body.page.as_ref(), DEFAULT_PAGE, MAX_PAGE)?;
        let before = page.cursor(parse_cursor)?;
        let Some(query) = query else {
            return Ok(Response::new(QueryAuditResponse {
                entries: Vec::new(),
                page: Some(PageResponse::default()),
            }));
        };
        let found = self.read_page(query, before, page.limit).await?;
        let next = page.next(&found, |(_, cursor)| cursor_text(cursor));
        Ok(Response::new(QueryAuditResponse {
            entries: found.into_iter().map(|(entry, _)| entry).collect(),
            page: next,
        }))
    }

    pub(super) async fn export_audit(
        &self,
        request: Request<ExportAuditRequest>,
    ) -> Result<Response<ExportStream>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let query = Self::audit_request(&request, request.get_ref().filter.as_ref())?;
        let (tx, rx) = mpsc::channel(EXPORT_BUFFER);
        let api = self.clone();
        tokio::spawn(async move {
            let mut before = None;
            let mut header = true;
            loop {
                let found = match &query {
                    Some(query) => {
                        api.read_page(query.clone(), before.take(), EXPORT_PIECE)
                            .await
                    }
                    None => Ok(Vec::new()),
                };
                let piece = found.and_then(|found| {
                    let csv = write_csv(header, found.iter().map(|(entry, _)| entry))?;
                    Ok((csv, found))
                });
                let (csv, found) = match piece {
                    Ok(piece) => piece,
                    Err(e) => {
                        tracing::error!(error = %e, "audit export failed");
                        let _ = tx.send(Err(Status::from(e))).await;
                        return;
                    }
                };
                let last = found.len() < EXPORT_PIECE;
                // A full piece that turned out to be the last leaves nothing to send.
                if found.is_empty() && !header {
                    return;
                }
                header = false;
                before = found.last().map(|(_, cursor)| cursor.clone());
                let message = ExportAuditResponse {
                    csv,
                    entries: u32::try_from(found.len()).unwrap_or(u32::MAX),
                };
                // The reader went away: stop reading.
                if tx.send(Ok(message)).await.is_err() || last {
                    return;
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    pub(super) async fn verify_integrity(
        &self,
        request: Request<VerifyIntegrityRequest>,
    ) -> Result<Response<VerifyIntegrityResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        caller(&request)?.require(Permission::ReadAuditTrail)?;
        let body = request.get_ref();
        let stream = stream_name("stream", &body.stream)?;
        let subject = match text("aggregate_id", &body.aggregate_id)? {
            None => None,
            Some(id) => Some(
                self.state
                    .audit
                    .subject(&stream, &id)?
                    .ok_or_else(|| not_in_stream(&stream, &id))?,
            ),
        };
        let verdict = verify_chain(&self.state.store, &stream, subject.as_deref()).await?;
        Ok(Response::new(match verdict {
            ChainVerdict::Intact { checked } => VerifyIntegrityResponse {
                ok: true,
                checked,
                ..Default::default()
            },
            ChainVerdict::Broken {
                position,
                subject,
                reason,
                checked,
            } => {
                tracing::warn!(stream = %position.stream, sequence = position.sequence, %subject, %reason, "the event log's hash chain is broken");
                VerifyIntegrityResponse {
                    ok: false,
                    checked,
                    broken_at: Some(position),
                    broken_subject: subject,
                    reason,
                }
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_tokens_round_trip_and_foreign_ones_are_refused() {
        let cursor = (1_764_000_000_123_456_789, "INCIDENTS".to_owned(), 42);
        assert_eq!(parse_cursor(&cursor_text(&cursor)), Some(cursor));
        for bad in [
            "x",
            "1/SECRETS/3",
            "1/INCIDENTS/x",
            &cursor_text(&(1, "NOPE".into(), 1)),
        ] {
            assert_eq!(parse_cursor(bad), None, "{bad}");
        }
        let page = |token: &str| {
            Page::of(
                Some(&tillit_proto::common::PageRequest {
                    page_size: 0,
                    page_token: token.into(),
                }),
                DEFAULT_PAGE,
                MAX_PAGE,
            )
            .and_then(|page| page.cursor(parse_cursor))
        };
        let token = tillit_api::page::token("1/NOPE/1");
        for bad in ["x", token.as_str()] {
            assert_eq!(
                page(bad).unwrap_err().field(),
                Some("page.page_token"),
                "{bad}"
            );
        }
        assert_eq!(page("").unwrap(), None);
    }

    #[test]
    fn a_filter_is_validated_field_by_field_and_confined_to_the_callers_scope() {
        let acme = TenantId::parse("acme", "t").unwrap();
        let field_of = |filter: AuditFilter| match audit_query(Some(&filter), &ListScope::All) {
            Err(KernelError::InvalidArgument { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field_of(AuditFilter {
                tenant_id: "Not A Slug".into(),
                ..Default::default()
            }),
            "filter.tenant_id"
        );
        assert_eq!(
            field_of(AuditFilter {
                stream: "SECRETS".into(),
                ..Default::default()
            }),
            "filter.stream"
        );
        assert_eq!(
            field_of(AuditFilter {
                actor: "a\nb".into(),
                ..Default::default()
            }),
            "filter.actor"
        );
        let at = |s: i64| {
            Some(prost_types::Timestamp {
                seconds: s,
                nanos: 0,
            })
        };
        assert_eq!(
            field_of(AuditFilter {
                from: at(10),
                to: at(10),
                ..Default::default()
            }),
            "filter.to"
        );
        let own = audit_query(None, &ListScope::Tenant(acme.clone())).unwrap();
        assert_eq!(own.unwrap().tenant.as_deref(), Some("acme"));
        let other = AuditFilter {
            tenant_id: "globex".into(),
            ..Default::default()
        };
        assert_eq!(
            audit_query(Some(&other), &ListScope::Tenant(acme)).unwrap(),
            None
        );
        assert_eq!(audit_query(None, &ListScope::Nothing).unwrap(), None);
        let stream = AuditFilter {
            stream: "assets".into(),
            ..Default::default()
        };
        assert_eq!(
            audit_query(Some(&stream), &ListScope::All)
                .unwrap()
                .unwrap()
                .stream
                .as_deref(),
            Some("ASSETS")
        );
    }
}
