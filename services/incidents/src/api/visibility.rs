//! Who sees which incident, and how much of it (DOMAIN.md): staff who handle, audit or
//! report on incidents see all of every one; an employee sees in full what it reported; a
//! customer sees the incidents it reported or that affect its tenant, customer-facing
//! fields only. Everything else is NOT_FOUND, the same as an id that does not exist.

use tillit_api::Refusal;
use tillit_auth::{Caller, Permission};
use tillit_kernel::AggregateId;
use tillit_proto::incidents::Incident;

use super::IncidentsApi;

/// How much of an incident a caller sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum View {
    /// Every field.
    Full,
    /// The customer-facing fields, and of the triage only what concerns its tenant.
    Customer,
}

/// How much of `incident` the caller sees, if anything.
pub(super) fn view_of(caller: &Caller, incident: &Incident) -> Option<View> {
    if caller.may(Permission::ManageIncidents)
        || caller.may(Permission::ReadEverything)
        || caller.may(Permission::ReadReports)
    {
        return Some(View::Full);
    }
    if caller.tenant.is_internal()
        && caller.may(Permission::ReadOwnReportedIncidents)
        && incident.reporter == caller.subject
    {
        return Some(View::Full);
    }
    let concerns = incident.tenant_id == caller.tenant.as_str()
        || incident.triage.as_ref().is_some_and(|t| {
            t.affected_customers
                .iter()
                .any(|c| c.tenant_id == caller.tenant.as_str())
        });
    (!caller.tenant.is_internal() && caller.may(Permission::ReadAffectingIncidents) && concerns)
        .then_some(View::Customer)
}

/// The customer-facing fields only, and of the triage only what concerns `tenant`.
pub(super) fn for_customer(mut incident: Incident, tenant: &str) -> Incident {
    let own_report = incident.tenant_id == tenant;
    if let Some(triage) = incident.triage.as_mut() {
        triage.affected_assets.retain(|a| a.tenant_id == tenant);
        triage.affected_customers.retain(|c| c.tenant_id == tenant);
        triage.notes.clear();
        triage.estimated_direct_loss_eur = 0;
        triage.users_affected_percent = 0;
    }
    Incident {
        description: if own_report {
            incident.description
        } else {
            String::new()
        },
        tenant_id: if own_report {
            incident.tenant_id
        } else {
            String::new()
        },
        reporter: String::new(),
        root_cause: String::new(),
        lessons_learned: String::new(),
        actions: Vec::new(),
        linked_incident_ids: Vec::new(),
        reason: String::new(),
        obligations: incident
            .obligations
            .into_iter()
            .filter(|o| o.recipient_tenant_id == tenant)
            .collect(),
        decisions: Vec::new(),
        ..incident
    }
}

impl IncidentsApi {
    /// The incident if the caller sees it at all, with how much it sees.
    pub(super) async fn visible(
        &self,
        caller: &Caller,
        raw_id: &str,
    ) -> Result<(AggregateId, Incident, View), Refusal> {
        let id = AggregateId::parse(raw_id, "incident_id")?;
        // Invisible and missing incidents take the same path, so timing reveals nothing.
        let (incident, view) = self
            .consistency()
            .find("INCIDENTS", "incident", || {
                Ok(self
                    .state
                    .reader
                    .incident(id.as_str())?
                    .and_then(|i| view_of(caller, &i).map(|v| (i, v))))
            })
            .await?;
        Ok((id, incident, view))
    }
}
