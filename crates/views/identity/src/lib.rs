//! Identity's read models as every service that needs them runs them (identity in
//! `identity.redb`, reporting in `reporting.redb`, each beside its identity view):
//!
//! - [`events`]: the events of identity's aggregates and their aggregate types.
//! - [`directory`]: tenants, users and service accounts for the list and get queries.
//! - [`compliance`]: current policy versions, acknowledgements, trainings and access-review
//!   campaigns for the coverage, gap and campaign queries.
//! - [`standing`]: where a staff member stands with a policy (G4), and
//!   [`policy_coverage`] joining it with the directory.
//!
//! No API, runner, configuration or binary: the identity service and reporting both
//! depend on this, not on each other.

pub mod compliance;
pub mod directory;
pub mod events;
pub mod standing;

pub use compliance::{Compliance, ComplianceReader};
pub use directory::{Directory, DirectoryReader, UserFilter};

use tillit_kernel::clock::from_timestamp;
use tillit_kernel::{KernelError, TenantId};
use tillit_proto::identity::{Policy, User};
use time::OffsetDateTime;

use crate::standing::{Standing, coverage};

/// Where each active staff member (of `role`, or all) stands with `policy`'s current
/// version at `now`: joined at query time from the directory and the acknowledgements, for
/// identity's coverage query and reporting's dashboard alike.
pub fn policy_coverage(
    directory: &DirectoryReader,
    compliance: &ComplianceReader,
    policy: &Policy,
    role: Option<tillit_proto::identity::Role>,
    now: OffsetDateTime,
) -> Result<Vec<(User, Standing)>, KernelError> {
    let filter = UserFilter {
        tenant: Some(TenantId::INTERNAL.into()),
        role,
        status: Some(tillit_proto::identity::PrincipalStatus::Active),
    };
    let staff = directory.users(&filter, None, usize::MAX)?;
    let acknowledgements = compliance.acknowledgements(&policy.policy_id)?;
    let published_at = policy
        .published_at
        .as_ref()
        .and_then(from_timestamp)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let standings = coverage(
        (policy.version, published_at),
        staff
            .iter()
            .map(|u| (u.user_id.clone(), acknowledgements.get(&u.user_id).copied())),
        now,
    );
    Ok(staff.into_iter().zip(standings).collect())
}
