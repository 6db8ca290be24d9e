//! Identity's read models, in `identity.redb` beside the identity view:
//!
//! - [`directory`]: tenants, users and service accounts for the list and get queries.
//! - [`compliance`]: current policy versions, acknowledgements, trainings and access-review
//!   campaigns for the coverage, gap and campaign queries.

pub mod compliance;
pub mod directory;

pub use compliance::{Compliance, ComplianceReader};
pub use directory::{Directory, DirectoryReader, UserFilter};
