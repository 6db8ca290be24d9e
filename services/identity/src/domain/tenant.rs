//! The tenant aggregate: `internal` (the consultancy) and one per customer. Tenants live
//! under tenant `internal`, with the slug as aggregate id.

use tillit_kernel::{AggregateType, Decider};
use tillit_proto::identity::{TenantCreated, TenantDetailsChanged};
use time::OffsetDateTime;

use super::DomainError;

pub use tillit_identity_views::events::{TENANT, TenantEvent};

/// Commands on a tenant.
#[derive(Clone, Debug)]
pub enum TenantCommand {
    /// Register it with validated details.
    Create(TenantCreated),
    /// Replace its details with validated ones.
    Update(TenantDetailsChanged),
}

/// What the rules know of a tenant.
#[derive(Default, Debug)]
pub struct TenantState {
    /// Its registration, once made.
    pub created: Option<TenantCreated>,
    /// Its details as they are now (the registration's until changed).
    pub current: Option<TenantDetailsChanged>,
}

/// The tenant decider.
pub struct Tenant;

impl Decider for Tenant {
    const TYPE: AggregateType = TENANT;
    type State = TenantState;
    type Command = TenantCommand;
    type Event = TenantEvent;
    type Error = DomainError;

    fn decide(
        state: &TenantState,
        command: TenantCommand,
        _now: OffsetDateTime,
    ) -> Result<Vec<TenantEvent>, DomainError> {
        match command {
            TenantCommand::Create(_) if state.created.is_some() => {
                Err(DomainError::AlreadyExists("tenant"))
            }
            TenantCommand::Create(created) => Ok(vec![TenantEvent::Created(created)]),
            TenantCommand::Update(_) if state.created.is_none() => Err(DomainError::Precondition(
                "the tenant is not registered".into(),
            )),
            TenantCommand::Update(changed) if state.current.as_ref() == Some(&changed) => Err(
                DomainError::Precondition("these are already the tenant's details".into()),
            ),
            TenantCommand::Update(changed) => Ok(vec![TenantEvent::DetailsChanged(changed)]),
        }
    }

    fn evolve(state: TenantState, event: &TenantEvent) -> TenantState {
        match event {
            TenantEvent::Created(created) => TenantState {
                created: Some(created.clone()),
                current: Some(TenantDetailsChanged {
                    tenant_id: created.tenant_id.clone(),
                    name: created.name.clone(),
                    organisation_number: created.organisation_number.clone(),
                    incident_contacts: created.incident_contacts.clone(),
                    contract: created.contract.clone(),
                }),
            },
            TenantEvent::DetailsChanged(changed) => TenantState {
                current: Some(changed.clone()),
                ..state
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_is_registered_once() {
        let created = TenantCreated {
            tenant_id: "acme".into(),
            ..Default::default()
        };
        let now = OffsetDateTime::UNIX_EPOCH;
        let events = Tenant::decide(
            &TenantState::default(),
            TenantCommand::Create(created.clone()),
            now,
        )
        .unwrap();
        let state = Tenant::evolve(TenantState::default(), &events[0]);
        assert_eq!(
            Tenant::decide(&state, TenantCommand::Create(created), now),
            Err(DomainError::AlreadyExists("tenant"))
        );
    }
}
