//! Reading incidents: one with its timeline, lists filtered as the caller sees them, and
//! the obligations falling due.

use tillit_api::page::Page;
use tillit_auth::Permission;
use tillit_auth::layer::caller;
use tillit_kernel::Reason;
use tillit_kernel::TenantId;
use tillit_kernel::clock::from_timestamp;
use tillit_proto::incidents::*;
use tonic::{Request, Response, Status};

use super::IncidentsApi;
use super::visibility::{View, for_customer, view_of};
use crate::domain::DomainError;
use tillit_api::vocabulary::optional;
use tillit_proto::common::Severity;

const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 500;

impl IncidentsApi {
    pub(super) async fn get_incident(
        &self,
        request: Request<GetIncidentRequest>,
    ) -> Result<Response<GetIncidentResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        let (id, incident, view) = self
            .visible(&caller, &request.get_ref().incident_id)
            .await?;
        if view == View::Customer {
            return Ok(Response::new(GetIncidentResponse {
                incident: Some(for_customer(incident, caller.tenant.as_str())),
                timeline: Vec::new(),
            }));
        }
        let tenant = TenantId::parse(&incident.tenant_id, "incident_id")?;
        let (_, history) = self
            .state
            .incidents
            .load(&self.state.incidents.address(&tenant, id))
            .await?;
        let timeline = history.timeline();
        Ok(Response::new(GetIncidentResponse {
            incident: Some(incident),
            timeline,
        }))
    }

    pub(super) async fn list_incidents(
        &self,
        request: Request<ListIncidentsRequest>,
    ) -> Result<Response<ListIncidentsResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        let body = request.get_ref();
        let status_filter: Option<IncidentStatus> = optional("status", body.status)?;
        let kind: Option<IncidentKind> = optional("kind", body.kind)?;
        let severity: Option<Severity> = optional("severity", body.severity)?;
        let tenant = match body.tenant_id.as_str() {
            "" => None,
            raw => Some(TenantId::parse(raw, "tenant_id")?),
        };
        let page = Page::of(body.page.as_ref(), DEFAULT_PAGE, MAX_PAGE)?;
        let before = page.cursor(|raw| {
            let (nanos, id) = raw.split_once('/')?;
            Some((nanos.parse::<i64>().ok()?, id))
        })?;
        let found = self.state.reader.incidents(before, page.limit, |stored| {
            // Filters see what the caller sees: a customer's filter on another tenant,
            // open actions or links matches exactly what it matches for a tenant that
            // does not exist, so no answer tells of anything the customer cannot see.
            let incident = match view_of(&caller, stored) {
                None => return false,
                Some(View::Customer) => {
                    std::borrow::Cow::Owned(for_customer(stored.clone(), caller.tenant.as_str()))
                }
                Some(_) => std::borrow::Cow::Borrowed(stored),
            };
            let concerns = |t: &str| {
                incident.tenant_id == t
                    || incident
                        .triage
                        .as_ref()
                        .is_some_and(|tr| tr.affected_customers.iter().any(|c| c.tenant_id == t))
            };
            status_filter.is_none_or(|s| s == incident.status())
                && kind.is_none_or(|k| k == incident.kind())
                && severity
                    .is_none_or(|s| incident.triage.as_ref().is_some_and(|t| t.severity() == s))
                && tenant.as_ref().is_none_or(|t| concerns(t.as_str()))
                && (!body.has_open_actions
                    || incident
                        .actions
                        .iter()
                        .any(|a| a.status() == ActionStatus::Open))
                && (body.linked_to.is_empty()
                    || incident.linked_incident_ids.contains(&body.linked_to))
        })?;
        let next = page.next(&found, |(_, (nanos, id))| format!("{nanos}/{id}"));
        let incidents = found
            .into_iter()
            .map(|(incident, _)| match view_of(&caller, &incident) {
                Some(View::Customer) => for_customer(incident, caller.tenant.as_str()),
                _ => incident,
            })
            .collect();
        Ok(Response::new(ListIncidentsResponse {
            incidents,
            page: next,
        }))
    }

    pub(super) async fn list_obligations_due(
        &self,
        request: Request<ListObligationsDueRequest>,
    ) -> Result<Response<ListObligationsDueResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        caller.require_any(&[Permission::ManageObligations, Permission::ReadEverything])?;
        let before = request
            .get_ref()
            .before
            .as_ref()
            .and_then(from_timestamp)
            .ok_or_else(|| {
                DomainError::refused("before", Reason::Required, "a time is required")
            })?;
        let mut due = Vec::new();
        for (incident, _) in self.state.reader.incidents(None, usize::MAX, |_| true)? {
            for obligation in incident.obligations {
                let at = obligation.due_at.as_ref().and_then(from_timestamp);
                if obligation.status() == ObligationStatus::Pending
                    && at.is_some_and(|at| at < before)
                {
                    due.push((at, obligation));
                }
            }
        }
        due.sort_by_key(|(at, _)| *at);
        Ok(Response::new(ListObligationsDueResponse {
            obligations: due.into_iter().map(|(_, o)| o).collect(),
        }))
    }
}
