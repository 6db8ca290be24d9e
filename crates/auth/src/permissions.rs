//! The one role → permission table (DOMAIN.md "Roles"), used by every service and the portal.
//!
//! Staff roles exist only in tenant `internal`; `customer` only in customer tenants. A
//! service account (the table's "service" row) is not a role: it is a principal that holds
//! roles from this table, granted within its tenant, under the same rules.

use std::fmt;

use tillit_proto::Vocabulary as _;
use tillit_proto::identity::Role as WireRole;

/// A role a user or service account can hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Manages users, roles, tenants, service accounts; all a security officer may; reads all.
    Admin,
    /// Manages incidents, obligations, assets, access reviews, trainings; reads the audit trail.
    SecurityOfficer,
    /// Reads reports, publishes policies, accepts residual risk, holds and signs the review.
    Manager,
    /// Reports deviations, acknowledges policies, registers and manages own assets.
    Employee,
    /// Reads everything, the audit trail included; writes nothing.
    Auditor,
    /// A customer's user: only inside its own tenant.
    Customer,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 6] = [
        Role::Admin,
        Role::SecurityOfficer,
        Role::Manager,
        Role::Employee,
        Role::Auditor,
        Role::Customer,
    ];

    /// The role named `name` (as in tokens and events).
    pub fn parse(name: &str) -> Option<Self> {
        WireRole::from_word(name).and_then(Self::from_wire)
    }

    /// The role's name (its word in tokens and events, `tillit_proto::words`).
    pub fn as_str(self) -> &'static str {
        self.wire().word()
    }

    /// The API's enum value of this role.
    pub fn wire(self) -> WireRole {
        match self {
            Role::Admin => WireRole::Admin,
            Role::SecurityOfficer => WireRole::SecurityOfficer,
            Role::Manager => WireRole::Manager,
            Role::Employee => WireRole::Employee,
            Role::Auditor => WireRole::Auditor,
            Role::Customer => WireRole::Customer,
        }
    }

    /// The role an API enum value names; `None` for unspecified.
    pub fn from_wire(role: WireRole) -> Option<Self> {
        Some(match role {
            WireRole::Unspecified => return None,
            WireRole::Admin => Role::Admin,
            WireRole::SecurityOfficer => Role::SecurityOfficer,
            WireRole::Manager => Role::Manager,
            WireRole::Employee => Role::Employee,
            WireRole::Auditor => Role::Auditor,
            WireRole::Customer => Role::Customer,
        })
    }

    /// Staff roles are held only in tenant `internal`.
    pub fn is_staff(self) -> bool {
        self != Role::Customer
    }

    /// Whether a principal of a tenant may hold this role: staff roles in `internal`,
    /// `customer` in every other tenant.
    pub fn allowed_in(self, tenant_is_internal: bool) -> bool {
        self.is_staff() == tenant_is_internal
    }

    /// What the role allows.
    pub fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Role::Admin => &[
                ManageUsers,
                ManageTenants,
                ManageServiceAccounts,
                UnlockAccounts,
                ManageSigningKeys,
                ManageIncidents,
                ManageObligations,
                ManageAssets,
                RunAccessReviews,
                RecordTrainings,
                ReadAuditTrail,
                ReadEverything,
                RequestErasure,
                ApproveErasure,
                ExportPersonalData,
            ],
            Role::SecurityOfficer => &[
                ManageIncidents,
                ManageObligations,
                ManageAssets,
                RunAccessReviews,
                RecordTrainings,
                ReadAuditTrail,
                RequestErasure,
                ExportPersonalData,
            ],
            Role::Manager => &[
                ApproveErasure,
                ReadReports,
                PublishPolicies,
                RecordTrainings,
                AcceptResidualRisk,
                ManageManagementReview,
            ],
            Role::Employee => &[
                ReportDeviation,
                ReadOwnReportedIncidents,
                AcknowledgePolicies,
                RegisterAssets,
                ManageOwnAssets,
                ReadOwnTasks,
            ],
            Role::Auditor => &[ReadEverything, ReadAuditTrail],
            Role::Customer => &[
                ReadOwnTenantUsers,
                ReadOwnTenantAssets,
                ReadAffectingIncidents,
                ReadOwnNotifications,
                ReportIncident,
            ],
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something a caller may be allowed to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Create users, grant and revoke roles, deactivate, reset passwords.
    ManageUsers,
    /// Create and change tenants.
    ManageTenants,
    /// Create service accounts and their secrets.
    ManageServiceAccounts,
    /// Lift login lockouts.
    UnlockAccounts,
    /// Retire signing keys.
    ManageSigningKeys,
    /// All incidents, their notifications and corrective actions.
    ManageIncidents,
    /// Legal obligations, filings and waivers.
    ManageObligations,
    /// Assets and their classification.
    ManageAssets,
    /// Access-review campaigns.
    RunAccessReviews,
    /// Record completed trainings.
    RecordTrainings,
    /// Read the audit trail.
    ReadAuditTrail,
    /// Read everything of every tenant.
    ReadEverything,
    /// Read all reports.
    ReadReports,
    /// Publish policy versions.
    PublishPolicies,
    /// Accept residual risk on corrective actions.
    AcceptResidualRisk,
    /// Hold and sign the annual management review.
    ManageManagementReview,
    /// Report deviations and improvement proposals.
    ReportDeviation,
    /// See the incidents one reported.
    ReadOwnReportedIncidents,
    /// Acknowledge policies.
    AcknowledgePolicies,
    /// Register assets.
    RegisterAssets,
    /// Manage the assets one owns.
    ManageOwnAssets,
    /// See one's own tasks.
    ReadOwnTasks,
    /// See the users of one's own tenant.
    ReadOwnTenantUsers,
    /// See the assets of one's own tenant.
    ReadOwnTenantAssets,
    /// See incidents affecting one's tenant (customer-facing fields).
    ReadAffectingIncidents,
    /// See notifications sent to one's tenant.
    ReadOwnNotifications,
    /// Report an incident.
    ReportIncident,
    /// Ask to erase a data subject (GDPR Art. 17).
    RequestErasure,
    /// Approve another person's erasure request.
    ApproveErasure,
    /// Export everything held about any data subject (GDPR Art. 15); everyone may export
    /// their own.
    ExportPersonalData,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_round_trip_and_unknown_names_are_refused() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
        assert_eq!(Role::parse("Admin"), None);
    }

    #[test]
    fn staff_roles_only_in_internal_and_customer_only_outside() {
        assert!(Role::Admin.allowed_in(true));
        assert!(!Role::Admin.allowed_in(false));
        assert!(Role::Customer.allowed_in(false));
        assert!(!Role::Customer.allowed_in(true));
    }

    #[test]
    fn the_table_follows_the_domain() {
        let may = |role: Role, p: Permission| role.permissions().contains(&p);
        // admin: everything a security officer may, plus users and reading everything.
        for p in Role::SecurityOfficer.permissions() {
            assert!(may(Role::Admin, *p), "{p:?}");
        }
        assert!(
            may(Role::Admin, Permission::ManageUsers)
                && may(Role::Admin, Permission::ReadEverything)
        );
        // auditor reads everything and writes nothing.
        assert_eq!(
            Role::Auditor.permissions(),
            &[Permission::ReadEverything, Permission::ReadAuditTrail]
        );
        // manager and security officer both record trainings; only the manager signs the review.
        assert!(
            may(Role::Manager, Permission::RecordTrainings)
                && may(Role::SecurityOfficer, Permission::RecordTrainings)
        );
        assert!(
            may(Role::Manager, Permission::ManageManagementReview)
                && !may(Role::Admin, Permission::ManageManagementReview)
        );
        // an employee may not manage users; a customer only sees its own tenant.
        assert!(!may(Role::Employee, Permission::ManageUsers));
        assert!(
            may(Role::Customer, Permission::ReadOwnTenantUsers)
                && !may(Role::Customer, Permission::ReadEverything)
        );
    }
}
