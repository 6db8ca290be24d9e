//! Where a staff member stands with a policy's current version (G4): pure, shared by
//! identity's coverage query and reporting's dashboard, reminders and annual figures.

use time::OffsetDateTime;

pub use tillit_rules::controls::add_months;

/// How long an acknowledgement counts (G4).
pub const ACKNOWLEDGEMENT_MONTHS: u32 = 12;

/// One staff member's standing for the current version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Standing {
    /// User id.
    pub user_id: String,
    /// The version last acknowledged and when, if any.
    pub last: Option<(u32, OffsetDateTime)>,
    /// Since when the current version is outstanding; `None` when covered.
    pub outstanding_since: Option<OffsetDateTime>,
}

/// Who has not acknowledged `current` (version, published at) within 12 months at `now`,
/// given each staff member's latest acknowledgement.
pub fn coverage(
    current: (u32, OffsetDateTime),
    staff: impl IntoIterator<Item = (String, Option<(u32, OffsetDateTime)>)>,
    now: OffsetDateTime,
) -> Vec<Standing> {
    let (version, published_at) = current;
    staff
        .into_iter()
        .map(|(user_id, last)| {
            let outstanding_since = match last {
                Some((v, at)) if v == version => {
                    let expires = add_months(at, ACKNOWLEDGEMENT_MONTHS);
                    (expires <= now).then_some(expires)
                }
                _ => Some(published_at),
            };
            Standing {
                user_id,
                last,
                outstanding_since,
            }
        })
        .collect()
}
