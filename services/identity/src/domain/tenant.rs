//! The tenant aggregate: `internal` (the consultancy) and one per customer. Tenants live
//! under tenant `internal`, with the slug as aggregate id.

use tillit_kernel::{AggregateType, Decider};
use tillit_proto::identity::TenantCreated;
use time::OffsetDateTime;

use super::DomainError;

pub use tillit_identity_views::events::{TENANT, TenantEvent};

/// Commands on a tenant.
#[derive(Clone, Debug)]
pub enum TenantCommand {
    /// Register it with validated details.
    Create(TenantCreated),
}

/// What the rules know of a tenant.
#[derive(Default, Debug)]
pub struct TenantState {
    /// Its registration, once made.
    pub created: Option<TenantCreated>,
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
        }
    }

    fn evolve(_state: TenantState, event: &TenantEvent) -> TenantState {
        match event {
            TenantEvent::Created(created) => TenantState {
                created: Some(created.clone()),
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
