//! The authenticated caller handed to every handler, with permission checks and tenant
//! scoping.

use std::collections::BTreeSet;

use tillit_kernel::TenantId;

use crate::error::AuthError;
use crate::permissions::{Permission, Role};

/// Who is calling, as verified from the access token and the identity view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// User or service-account id.
    pub subject: String,
    /// Its tenant.
    pub tenant: TenantId,
    /// Its roles, as the token states them.
    pub roles: BTreeSet<Role>,
    /// Session version of the token.
    pub session_version: u64,
    /// Token expiry, unix seconds.
    pub expires_at: i64,
}

impl Caller {
    /// Whether any of the caller's roles allows `permission`.
    pub fn may(&self, permission: Permission) -> bool {
        self.roles
            .iter()
            .any(|role| role.permissions().contains(&permission))
    }

    /// Refuses with PERMISSION_DENIED unless the caller may do `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), AuthError> {
        if self.may(permission) {
            Ok(())
        } else {
            Err(AuthError::PermissionDenied(format!(
                "{permission:?} is not allowed for roles {:?}",
                self.role_names()
            )))
        }
    }

    /// Refuses unless the caller may do any one of `permissions`.
    pub fn require_any(&self, permissions: &[Permission]) -> Result<(), AuthError> {
        if permissions.iter().any(|p| self.may(*p)) {
            Ok(())
        } else {
            Err(AuthError::PermissionDenied(format!(
                "none of {permissions:?} is allowed for roles {:?}",
                self.role_names()
            )))
        }
    }

    /// Whether the caller may see anything of `tenant` at all: staff of `internal` may
    /// look into every tenant (their permissions decide what), everyone else only into
    /// their own.
    pub fn sees_tenant(&self, tenant: &TenantId) -> bool {
        self.tenant.is_internal() || self.tenant == *tenant
    }

    /// NOT_FOUND (named `what`) for a resource of a tenant the caller may not see: another
    /// tenant's resource looks exactly like a missing one.
    pub fn scope(&self, tenant: &TenantId, what: &str) -> Result<(), AuthError> {
        if self.sees_tenant(tenant) {
            Ok(())
        } else {
            Err(AuthError::NotFound(what.to_owned()))
        }
    }

    /// The tenant a list query is confined to: a customer's own, whatever it asked for;
    /// for `internal` staff, the filter it gave (or none).
    pub fn list_scope(&self, requested: Option<TenantId>) -> ListScope {
        if self.tenant.is_internal() {
            requested.map_or(ListScope::All, ListScope::Tenant)
        } else {
            match requested {
                Some(other) if other != self.tenant => ListScope::Nothing,
                _ => ListScope::Tenant(self.tenant.clone()),
            }
        }
    }

    fn role_names(&self) -> Vec<&'static str> {
        self.roles.iter().map(|r| r.as_str()).collect()
    }
}

/// Which tenants a list query may return.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListScope {
    /// Every tenant.
    All,
    /// One tenant.
    Tenant(TenantId),
    /// None (a customer asking for another tenant: an empty answer, not an error).
    Nothing,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(tenant: &str, roles: &[Role]) -> Caller {
        Caller {
            subject: "u".into(),
            tenant: TenantId::parse(tenant, "t").unwrap(),
            roles: roles.iter().copied().collect(),
            session_version: 1,
            expires_at: 0,
        }
    }

    #[test]
    fn a_customer_sees_only_its_own_tenant_and_others_are_not_found() {
        let acme = caller("acme", &[Role::Customer]);
        let globex = TenantId::parse("globex", "t").unwrap();
        assert_eq!(
            acme.scope(&globex, "user"),
            Err(AuthError::NotFound("user".into()))
        );
        assert!(acme.scope(&acme.tenant.clone(), "user").is_ok());
        assert_eq!(acme.list_scope(Some(globex)), ListScope::Nothing);
        assert_eq!(
            acme.list_scope(None),
            ListScope::Tenant(acme.tenant.clone())
        );
    }

    #[test]
    fn permissions_come_from_the_roles() {
        let employee = caller("internal", &[Role::Employee]);
        assert!(matches!(
            employee.require(Permission::ManageUsers),
            Err(AuthError::PermissionDenied(_))
        ));
        assert!(
            caller("internal", &[Role::Employee, Role::Admin])
                .require(Permission::ManageUsers)
                .is_ok()
        );
        assert_eq!(
            caller("internal", &[Role::Admin]).list_scope(None),
            ListScope::All
        );
    }
}
