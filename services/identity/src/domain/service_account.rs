//! Service accounts (IDENTITY): machine clients of other products. They hold roles from
//! the one table under the same tenant rules as users; their secret lives in CREDENTIALS
//! like a password. Rotating the secret or deactivating raises the session version, so
//! tokens issued before are refused.

use std::collections::BTreeSet;

use tillit_auth::Role;
use tillit_kernel::{AggregateType, Decider};
use tillit_proto::identity::{
    ServiceAccountCreated, ServiceAccountDeactivated, ServiceAccountSecretRotated,
};
use time::OffsetDateTime;

use super::DomainError;

use super::user::check_roles;
pub use tillit_identity_views::events::{SERVICE_ACCOUNT, ServiceAccountEvent};

/// Commands on a service account.
#[derive(Clone, Debug)]
pub enum ServiceAccountCommand {
    /// Register it.
    Create {
        /// Its tenant is `internal`.
        tenant_is_internal: bool,
        /// Validated details (roles filled from `roles`).
        created: ServiceAccountCreated,
        /// Validated roles.
        roles: BTreeSet<Role>,
    },
    /// Record that the secret was replaced.
    RotateSecret,
    /// Deactivate it.
    Deactivate,
}

/// What the rules know of a service account.
#[derive(Default, Debug, Clone)]
pub struct ServiceAccountState {
    /// Its registration.
    pub created: Option<ServiceAccountCreated>,
    /// Its roles.
    pub roles: BTreeSet<Role>,
    /// False once deactivated.
    pub active: bool,
    /// Current session version.
    pub session_version: u64,
}

/// The service-account decider.
pub struct ServiceAccount;

impl Decider for ServiceAccount {
    const TYPE: AggregateType = SERVICE_ACCOUNT;
    type State = ServiceAccountState;
    type Command = ServiceAccountCommand;
    type Event = ServiceAccountEvent;
    type Error = DomainError;

    fn decide(
        state: &ServiceAccountState,
        command: ServiceAccountCommand,
        _now: OffsetDateTime,
    ) -> Result<Vec<ServiceAccountEvent>, DomainError> {
        let next = state.session_version + 1;
        match command {
            ServiceAccountCommand::Create { .. } if state.created.is_some() => {
                Err(DomainError::AlreadyExists("service account"))
            }
            ServiceAccountCommand::Create {
                tenant_is_internal,
                created,
                roles,
            } => {
                check_roles(&roles, tenant_is_internal)?;
                Ok(vec![ServiceAccountEvent::Created(ServiceAccountCreated {
                    roles: roles.iter().map(|r| r.as_str().to_owned()).collect(),
                    ..created
                })])
            }
            _ if state.created.is_none() => Err(DomainError::Precondition(
                "the service account does not exist".into(),
            )),
            ServiceAccountCommand::RotateSecret if !state.active => Err(DomainError::Precondition(
                "the service account is deactivated".into(),
            )),
            ServiceAccountCommand::RotateSecret => Ok(vec![ServiceAccountEvent::SecretRotated(
                ServiceAccountSecretRotated {
                    session_version: next,
                },
            )]),
            ServiceAccountCommand::Deactivate if !state.active => Ok(Vec::new()),
            ServiceAccountCommand::Deactivate => Ok(vec![ServiceAccountEvent::Deactivated(
                ServiceAccountDeactivated {
                    session_version: next,
                },
            )]),
        }
    }

    fn evolve(mut state: ServiceAccountState, event: &ServiceAccountEvent) -> ServiceAccountState {
        match event {
            ServiceAccountEvent::Created(e) => {
                state.roles = e.roles.iter().filter_map(|r| Role::parse(r)).collect();
                state.created = Some(e.clone());
                state.active = true;
                state.session_version = 1;
            }
            ServiceAccountEvent::SecretRotated(e) => state.session_version = e.session_version,
            ServiceAccountEvent::Deactivated(e) => {
                state.active = false;
                state.session_version = e.session_version;
            }
        }
        state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_and_deactivation_raise_the_session_version_and_staff_roles_stay_internal() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let create = |internal: bool, role: Role| ServiceAccountCommand::Create {
            tenant_is_internal: internal,
            created: ServiceAccountCreated::default(),
            roles: BTreeSet::from([role]),
        };
        assert!(
            ServiceAccount::decide(
                &ServiceAccountState::default(),
                create(false, Role::Auditor),
                now
            )
            .is_err()
        );
        let events = ServiceAccount::decide(
            &ServiceAccountState::default(),
            create(true, Role::Auditor),
            now,
        )
        .unwrap();
        let state = events
            .iter()
            .fold(ServiceAccountState::default(), ServiceAccount::evolve);
        let rotated =
            ServiceAccount::decide(&state, ServiceAccountCommand::RotateSecret, now).unwrap();
        let state = rotated.iter().fold(state, ServiceAccount::evolve);
        assert_eq!(state.session_version, 2);
        let off = ServiceAccount::decide(&state, ServiceAccountCommand::Deactivate, now).unwrap();
        let state = off.iter().fold(state, ServiceAccount::evolve);
        assert_eq!((state.active, state.session_version), (false, 3));
        assert!(ServiceAccount::decide(&state, ServiceAccountCommand::RotateSecret, now).is_err());
    }
}
