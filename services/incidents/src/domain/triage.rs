//! The rules of a triage, pure: who we are for each affected asset's data (controller of
//! our own, processor of a customer's), which customers an incident affects, and the facts
//! the legal clocks read from a triage.

use std::collections::BTreeMap;

use tillit_incidents_views::register::AssetFact;
use tillit_kernel::Reason;
use tillit_kernel::clock::from_timestamp;
use tillit_kernel::{KernelError, TenantId};
use tillit_proto::common::Severity;
use tillit_proto::incidents::{
    AssetImpact, CustomerImpact, DataRole, DataSubjectRisk, Incident, TriageAssessment,
};
use tillit_rules::clocks::{IncidentFacts, LinkedFacts, Risk, Role};
use time::OffsetDateTime;

use super::DomainError;

/// Our GDPR role for data held in an asset of `tenant`: controller of the consultancy's
/// own (`internal`), processor of a customer's.
pub fn our_role(tenant: &str) -> DataRole {
    if tenant == TenantId::INTERNAL {
        DataRole::Controller
    } else {
        DataRole::Processor
    }
}

/// The affected assets a triage records (name, tenant, levels and our role from the
/// asset's facts) and the customers they make affected, each once. `fact_of` reads an
/// asset's facts; an id it does not know is INVALID_ARGUMENT naming it.
pub fn affected(
    requested: &[AssetImpact],
    fact_of: impl Fn(&str) -> Result<Option<AssetFact>, KernelError>,
) -> Result<(Vec<AssetImpact>, Vec<CustomerImpact>), DomainError> {
    let mut assets = Vec::new();
    let mut customers: BTreeMap<String, DataRole> = BTreeMap::new();
    for (index, wanted) in requested.iter().enumerate() {
        let asset_id = wanted.asset_id.trim();
        let fact = fact_of(asset_id)?.ok_or_else(|| {
            DomainError::refused(
                format!("triage.affected_assets[{index}].asset_id"),
                Reason::UnknownReference,
                format!("no asset {asset_id:?}"),
            )
        })?;
        let role = our_role(&fact.tenant);
        customers.insert(fact.tenant.clone(), role);
        assets.push(AssetImpact {
            asset_id: asset_id.to_owned(),
            name: fact.name,
            tenant_id: fact.tenant,
            our_role: role.into(),
            confidentiality: fact.levels.0,
            integrity: fact.levels.1,
            availability: fact.levels.2,
            personal_data: fact.personal_data,
        });
    }
    let customers = customers
        .into_iter()
        .map(|(tenant_id, our_role)| CustomerImpact {
            tenant_id,
            our_role: our_role.into(),
        })
        .collect();
    Ok((assets, customers))
}

/// The facts the legal clocks read, from the incident and a triage.
pub fn clock_facts(
    incident: &Incident,
    triage: &TriageAssessment,
    linked: Vec<LinkedFacts>,
) -> IncidentFacts {
    let time = |ts: Option<&prost_types::Timestamp>| ts.and_then(from_timestamp);
    IncidentFacts {
        aware_at: time(incident.aware_at.as_ref()).unwrap_or(OffsetDateTime::UNIX_EPOCH),
        personal_data_breach: triage.personal_data_breach,
        risk: match triage.risk_to_data_subjects() {
            DataSubjectRisk::Unspecified => Risk::Unassessed,
            DataSubjectRisk::Unlikely => Risk::Unlikely,
            DataSubjectRisk::Risk => Risk::Risk,
            DataSubjectRisk::High => Risk::High,
        },
        affected: triage
            .affected_customers
            .iter()
            .map(|c| {
                (
                    c.tenant_id.clone(),
                    match c.our_role() {
                        DataRole::Controller => Role::Controller,
                        // Unspecified cannot be stored (triage derives it); processor is
                        // the stricter reading (the customer is told).
                        DataRole::Processor | DataRole::Unspecified => Role::Processor,
                    },
                )
            })
            .collect(),
        serious: matches!(triage.severity(), Severity::High | Severity::Critical),
        suspected_malicious: triage.suspected_malicious,
        data_compromised: triage.data_compromised,
        outage: time(triage.outage_start.as_ref())
            .map(|start| (start, time(triage.outage_end.as_ref()))),
        planned_maintenance: triage.planned_maintenance,
        users_affected_percent: triage.users_affected_percent,
        direct_loss_eur: triage.estimated_direct_loss_eur,
        linked,
    }
}

/// What a linked incident contributes to significance.
pub fn linked_facts(incident: &Incident) -> LinkedFacts {
    let Some(triage) = &incident.triage else {
        return LinkedFacts::default();
    };
    let time = |ts: Option<&prost_types::Timestamp>| ts.and_then(from_timestamp);
    let minutes = match (
        time(triage.outage_start.as_ref()),
        time(triage.outage_end.as_ref()),
    ) {
        (Some(start), Some(end)) if !triage.planned_maintenance => {
            u64::try_from((end - start).whole_minutes()).unwrap_or(0)
        }
        _ => 0,
    };
    LinkedFacts {
        outage_minutes: minutes,
        users_affected_percent: triage.users_affected_percent,
        direct_loss_eur: triage.estimated_direct_loss_eur,
    }
}
