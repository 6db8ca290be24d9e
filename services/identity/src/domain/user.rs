//! The user aggregate (IDENTITY): tenant, e-mail, display name, roles, status and the
//! session version. Raising the session version (deactivation, role revocation, password
//! change or reset) makes every service refuse the user's older tokens.

use std::collections::BTreeSet;

use tillit_auth::Role;
use tillit_kernel::Reason;
use tillit_kernel::{AggregateType, Decider};
use tillit_proto::identity::{
    RoleGranted, RoleRevoked, SessionEnded, SessionVersionRaised, UserCreated, UserDeactivated,
};
use time::OffsetDateTime;

use super::DomainError;

pub use tillit_identity_views::events::{USER, UserEvent};

/// Commands on a user.
#[derive(Clone, Debug)]
pub enum UserCommand {
    /// Create the account.
    Create {
        /// Its tenant is `internal`.
        tenant_is_internal: bool,
        /// Validated details.
        created: UserCreated,
        /// Validated roles.
        roles: BTreeSet<Role>,
    },
    /// Grant a role.
    Grant(Role),
    /// Revoke a role.
    Revoke(Role),
    /// Deactivate the account.
    Deactivate,
    /// Refuse the user's existing tokens (password changed or reset).
    RaiseSessionVersion(&'static str),
    /// Refuse the access tokens of one session (its refresh chain just ended).
    EndSession(SessionEnded),
}

/// What the rules know of a user.
#[derive(Default, Debug, Clone)]
pub struct UserState {
    /// The creation event, once created.
    pub created: Option<UserCreated>,
    /// Current roles.
    pub roles: BTreeSet<Role>,
    /// False once deactivated.
    pub active: bool,
    /// Current session version (1 at creation).
    pub session_version: u64,
}

impl UserState {
    fn tenant_is_internal(&self) -> bool {
        self.created
            .as_ref()
            .is_some_and(|c| c.tenant_id == tillit_kernel::TenantId::INTERNAL)
    }
}

/// The user decider.
pub struct User;

pub(crate) fn check_roles(
    roles: &BTreeSet<Role>,
    tenant_is_internal: bool,
) -> Result<(), DomainError> {
    match roles
        .iter()
        .find(|role| !role.allowed_in(tenant_is_internal))
    {
        None => Ok(()),
        Some(role) if tenant_is_internal => Err(DomainError::refused(
            "role",
            Reason::Conflict,
            format!("{role} is only for users of customer tenants"),
        )),
        Some(role) => Err(DomainError::refused(
            "role",
            Reason::Conflict,
            format!("{role} is a staff role, only for users of tenant internal"),
        )),
    }
}

impl Decider for User {
    const TYPE: AggregateType = USER;
    type State = UserState;
    type Command = UserCommand;
    type Event = UserEvent;
    type Error = DomainError;

    fn decide(
        state: &UserState,
        command: UserCommand,
        _now: OffsetDateTime,
    ) -> Result<Vec<UserEvent>, DomainError> {
        if let UserCommand::Create {
            tenant_is_internal,
            created,
            roles,
        } = command
        {
            if state.created.is_some() {
                return Err(DomainError::AlreadyExists("user"));
            }
            check_roles(&roles, tenant_is_internal)?;
            return Ok(vec![UserEvent::Created(UserCreated {
                roles: roles.iter().map(|r| r.as_str().to_owned()).collect(),
                ..created
            })]);
        }
        if state.created.is_none() {
            return Err(DomainError::Precondition("the user does not exist".into()));
        }
        let next = state.session_version + 1;
        match command {
            UserCommand::Create { .. } => unreachable!("handled above"),
            UserCommand::Grant(role) => {
                check_roles(&BTreeSet::from([role]), state.tenant_is_internal())?;
                if !state.active {
                    Err(DomainError::Precondition(format!(
                        "user {} is deactivated",
                        state.created.as_ref().map_or("", |c| c.email.as_str())
                    )))
                } else if state.roles.contains(&role) {
                    Ok(Vec::new())
                } else {
                    Ok(vec![UserEvent::RoleGranted(RoleGranted {
                        role: role.as_str().into(),
                    })])
                }
            }
            UserCommand::Revoke(role) if !state.roles.contains(&role) => Ok(Vec::new()),
            UserCommand::Revoke(role) => Ok(vec![UserEvent::RoleRevoked(RoleRevoked {
                role: role.as_str().into(),
                session_version: next,
            })]),
            UserCommand::Deactivate if !state.active => Ok(Vec::new()),
            UserCommand::Deactivate => Ok(vec![UserEvent::Deactivated(UserDeactivated {
                session_version: next,
            })]),
            UserCommand::EndSession(ended) => Ok(vec![UserEvent::SessionEnded(ended)]),
            UserCommand::RaiseSessionVersion(reason) => Ok(vec![UserEvent::SessionVersionRaised(
                SessionVersionRaised {
                    session_version: next,
                    reason: reason.into(),
                },
            )]),
        }
    }

    fn evolve(mut state: UserState, event: &UserEvent) -> UserState {
        match event {
            UserEvent::Created(created) => {
                state.roles = created
                    .roles
                    .iter()
                    .filter_map(|r| Role::parse(r))
                    .collect();
                state.created = Some(created.clone());
                state.active = true;
                state.session_version = 1;
            }
            UserEvent::RoleGranted(e) => {
                state.roles.extend(Role::parse(&e.role));
            }
            UserEvent::RoleRevoked(e) => {
                if let Some(role) = Role::parse(&e.role) {
                    state.roles.remove(&role);
                }
                state.session_version = e.session_version;
            }
            UserEvent::Deactivated(e) => {
                state.active = false;
                state.session_version = e.session_version;
            }
            UserEvent::SessionVersionRaised(e) => state.session_version = e.session_version,
            UserEvent::SessionEnded(_) => {}
        }
        state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH
    }

    fn given(events: &[UserEvent]) -> UserState {
        events.iter().fold(UserState::default(), User::evolve)
    }

    fn created(tenant: &str, roles: &[&str]) -> UserEvent {
        UserEvent::Created(UserCreated {
            user_id: "u1".into(),
            tenant_id: tenant.into(),
            email: "ada@example.com".into(),
            display_name: "Ada".into(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            email_lookup: String::new(),
        })
    }

    #[test]
    fn staff_roles_are_refused_in_customer_tenants_and_customer_in_internal() {
        let create = |internal: bool, role: Role| UserCommand::Create {
            tenant_is_internal: internal,
            created: UserCreated::default(),
            roles: BTreeSet::from([role]),
        };
        assert!(matches!(
            User::decide(&UserState::default(), create(false, Role::Admin), now()),
            Err(DomainError::Invalid { ref field, .. }) if field == "role"
        ));
        assert!(matches!(
            User::decide(&UserState::default(), create(true, Role::Customer), now()),
            Err(DomainError::Invalid { ref field, .. }) if field == "role"
        ));
        let customer = given(&[created("acme", &["customer"])]);
        assert!(matches!(
            User::decide(&customer, UserCommand::Grant(Role::Admin), now()),
            Err(DomainError::Invalid { ref field, .. }) if field == "role"
        ));
    }

    #[test]
    fn revoking_a_role_and_deactivating_raise_the_session_version() {
        let state = given(&[created("internal", &["employee", "manager"])]);
        assert_eq!(state.session_version, 1);
        let revoked = User::decide(&state, UserCommand::Revoke(Role::Manager), now()).unwrap();
        let state = given(&[
            created("internal", &["employee", "manager"]),
            revoked[0].clone(),
        ]);
        assert_eq!(
            (state.session_version, state.roles.contains(&Role::Manager)),
            (2, false)
        );
        let deactivated = User::decide(&state, UserCommand::Deactivate, now()).unwrap();
        assert_eq!(
            deactivated,
            vec![UserEvent::Deactivated(UserDeactivated {
                session_version: 3
            })]
        );
    }

    #[test]
    fn repeating_a_grant_a_revoke_or_a_deactivation_changes_nothing() {
        let state = given(&[created("internal", &["employee"])]);
        assert!(
            User::decide(&state, UserCommand::Grant(Role::Employee), now())
                .unwrap()
                .is_empty()
        );
        assert!(
            User::decide(&state, UserCommand::Revoke(Role::Auditor), now())
                .unwrap()
                .is_empty()
        );
        let state = given(&[
            created("internal", &["employee"]),
            UserEvent::Deactivated(UserDeactivated { session_version: 2 }),
        ]);
        assert!(
            User::decide(&state, UserCommand::Deactivate, now())
                .unwrap()
                .is_empty()
        );
        assert!(matches!(
            User::decide(&state, UserCommand::Grant(Role::Auditor), now()),
            Err(DomainError::Precondition(_))
        ));
    }
}
