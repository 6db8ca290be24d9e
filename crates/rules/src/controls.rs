//! The control rule set and its evaluation (DOMAIN.md P2, G3).
//!
//! A rule applies when an axis of the classification reaches a level (or always) and asks
//! for one check. Periodic checks fall due one interval after the last time they were done,
//! or after the rule began to apply when they never were. Evaluation is a pure function of
//! the rules, the asset's facts and `now`.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

/// A classification axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Axis {
    /// The confidentiality level.
    Confidentiality,
    /// The integrity level.
    Integrity,
    /// The availability level.
    Availability,
}

/// When a rule applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "when")]
pub enum Applies {
    /// To every asset.
    Always,
    /// When `axis` is at least `level`.
    AtLeast {
        /// The axis.
        axis: Axis,
        /// The level, 1-4.
        level: u32,
    },
}

/// What a rule checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "check")]
pub enum Check {
    /// A backup schedule with at most `max_interval_hours` and a successful run within it.
    Backup {
        /// Longest allowed interval between successful runs.
        max_interval_hours: u32,
    },
    /// A successful restore test at least every `every_days`.
    RestoreTest {
        /// Days between tests.
        every_days: u32,
    },
    /// Monitored, with an alert route.
    Monitored,
    /// An access review at least every `every_months`.
    AccessReview {
        /// Calendar months between reviews.
        every_months: u32,
    },
    /// Encryption at rest recorded as enabled.
    EncryptionAtRest,
    /// Every critical patch applied within `within_days` of its release.
    CriticalPatches {
        /// Days after release.
        within_days: u32,
    },
    /// An owner.
    Owner,
    /// An asset review every `every_months`, every `at_level_four_months` when any axis is 4.
    AssetReview {
        /// Calendar months between reviews.
        every_months: u32,
        /// Calendar months between reviews at level 4.
        at_level_four_months: u32,
    },
}

/// How bad a gap is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Can wait for the next review.
    Low,
    /// To be done within its period.
    Medium,
    /// To be done soon: the asset's protection depends on it.
    High,
    /// To be done now.
    Critical,
}

impl Severity {
    fn raised(self) -> Self {
        match self {
            Self::Low => Self::Medium,
            Self::Medium => Self::High,
            Self::High | Self::Critical => Self::Critical,
        }
    }
}

/// One control rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlRule {
    /// Control id, for example "restore-test".
    pub id: String,
    /// When it applies.
    pub applies: Applies,
    /// What it checks.
    pub check: Check,
    /// Severity of a gap; raised one step when the deciding axis is at level 4.
    pub severity: Severity,
}

/// A rule set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleSet {
    /// The rules.
    pub controls: Vec<ControlRule>,
}

impl Default for RuleSet {
    /// The rule set of DOMAIN.md "Classification".
    fn default() -> Self {
        let at_least = |axis, level| Applies::AtLeast { axis, level };
        let rule = |id: &str, applies, check, severity| ControlRule {
            id: id.to_owned(),
            applies,
            check,
            severity,
        };
        Self {
            controls: vec![
                rule(
                    "backup",
                    at_least(Axis::Availability, 3),
                    Check::Backup {
                        max_interval_hours: 24,
                    },
                    Severity::High,
                ),
                rule(
                    "restore-test",
                    at_least(Axis::Availability, 3),
                    Check::RestoreTest { every_days: 90 },
                    Severity::High,
                ),
                rule(
                    "monitoring",
                    at_least(Axis::Availability, 3),
                    Check::Monitored,
                    Severity::Medium,
                ),
                rule(
                    "access-review",
                    at_least(Axis::Confidentiality, 3),
                    Check::AccessReview { every_months: 6 },
                    Severity::Medium,
                ),
                rule(
                    "encryption-at-rest",
                    at_least(Axis::Confidentiality, 3),
                    Check::EncryptionAtRest,
                    Severity::High,
                ),
                rule(
                    "critical-patches",
                    at_least(Axis::Integrity, 3),
                    Check::CriticalPatches { within_days: 14 },
                    Severity::High,
                ),
                rule("owner", Applies::Always, Check::Owner, Severity::Medium),
                rule(
                    "asset-review",
                    Applies::Always,
                    Check::AssetReview {
                        every_months: 12,
                        at_level_four_months: 6,
                    },
                    Severity::Low,
                ),
            ],
        }
    }
}

impl RuleSet {
    /// The defaults, or the JSON file at `path` when given.
    pub fn load(path: Option<&std::path::Path>) -> Result<Self, String> {
        match path {
            None => Ok(Self::default()),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
            }
        }
    }

    /// SHA-256 (hex) of the rule set's canonical JSON.
    pub fn sha256(&self) -> String {
        let json = serde_json::to_vec(self).expect("a rule set serialises");
        hex::encode(Sha256::digest(json))
    }

    /// When the asset's next review is due under this rule set's asset-review rule.
    pub fn next_review_due(&self, asset: &AssetFacts) -> Option<OffsetDateTime> {
        self.controls.iter().find_map(|rule| match rule.check {
            Check::AssetReview {
                every_months,
                at_level_four_months,
            } => Some(asset.next_review_due(every_months, at_level_four_months)),
            _ => None,
        })
    }

    /// Every applicable control's status for `asset` at `now`.
    pub fn evaluate(&self, asset: &AssetFacts, now: OffsetDateTime) -> Vec<ControlStatus> {
        if asset.retired {
            return Vec::new();
        }
        self.controls
            .iter()
            .filter_map(|rule| {
                let level = match rule.applies {
                    Applies::Always => asset.max_level(),
                    Applies::AtLeast { axis, level } => {
                        let have = asset.level(axis);
                        if have < level {
                            return None;
                        }
                        have
                    }
                };
                let severity = if level >= 4 {
                    rule.severity.raised()
                } else {
                    rule.severity
                };
                let (state, due_at, detail) = check(rule.check, asset, now);
                Some(ControlStatus {
                    control: rule.id.clone(),
                    severity,
                    state,
                    due_at,
                    detail,
                })
            })
            .collect()
    }
}

/// What the rules need to know about an asset.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AssetFacts {
    /// Levels 1-4 (0 when unclassified).
    pub confidentiality: u32,
    /// Integrity level, 1 to 4.
    pub integrity: u32,
    /// Availability level, 1 to 4.
    pub availability: u32,
    /// When it was registered.
    pub registered_at: Option<OffsetDateTime>,
    /// When it got its current classification (rules apply from then).
    pub classified_at: Option<OffsetDateTime>,
    /// Whether it has an owner.
    pub has_owner: bool,
    /// Hours between scheduled backups, if a schedule is recorded.
    pub backup_interval_hours: Option<u32>,
    /// Last successful backup.
    pub last_backup_success: Option<OffsetDateTime>,
    /// Last successful restore test.
    pub last_restore_test: Option<OffsetDateTime>,
    /// Monitoring enabled.
    pub monitored: bool,
    /// Alert route recorded.
    pub alert_route: bool,
    /// Encryption at rest recorded as enabled.
    pub encrypted_at_rest: bool,
    /// Last access review.
    pub last_access_review: Option<OffsetDateTime>,
    /// Release times of open critical patches.
    pub open_critical_patches: Vec<OffsetDateTime>,
    /// Last asset review.
    pub last_review: Option<OffsetDateTime>,
    /// Retired assets need no controls.
    pub retired: bool,
}

impl AssetFacts {
    fn level(&self, axis: Axis) -> u32 {
        match axis {
            Axis::Confidentiality => self.confidentiality,
            Axis::Integrity => self.integrity,
            Axis::Availability => self.availability,
        }
    }

    fn max_level(&self) -> u32 {
        self.confidentiality
            .max(self.integrity)
            .max(self.availability)
    }

    /// Since when the classification-dependent rules apply.
    fn required_since(&self) -> OffsetDateTime {
        self.classified_at
            .or(self.registered_at)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// When the next asset review is due: last review (or registration) + 12 months, or
    /// + 6 months when any axis is 4.
    pub fn next_review_due(&self, every_months: u32, at_level_four_months: u32) -> OffsetDateTime {
        let months = if self.max_level() >= 4 {
            at_level_four_months
        } else {
            every_months
        };
        add_months(
            self.last_review
                .or(self.registered_at)
                .unwrap_or(OffsetDateTime::UNIX_EPOCH),
            months,
        )
    }
}

/// Where a control stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Done; `due_at` is when it falls due next (if periodic).
    Ok,
    /// Never done or not recorded; due since `due_at`.
    Missing,
    /// Done, but too long ago; due since `due_at`.
    Overdue,
}

/// One control's status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControlStatus {
    /// Control id.
    pub control: String,
    /// Severity of a gap.
    pub severity: Severity,
    /// Done, missing or overdue.
    pub state: State,
    /// When it became (or becomes) due.
    pub due_at: Option<OffsetDateTime>,
    /// In words.
    pub detail: String,
}

impl ControlStatus {
    /// Whether this is a gap.
    pub fn is_gap(&self) -> bool {
        self.state != State::Ok
    }
}

/// A periodic check: due one interval after it was last done, or after `since` if never.
fn periodic(
    last: Option<OffsetDateTime>,
    since: OffsetDateTime,
    next: impl Fn(OffsetDateTime) -> OffsetDateTime,
    now: OffsetDateTime,
    what: &str,
) -> (State, Option<OffsetDateTime>, String) {
    match last {
        Some(last) => {
            let due = next(last);
            if now > due {
                (
                    State::Overdue,
                    Some(due),
                    format!("{what} overdue since {}", date(due)),
                )
            } else {
                (
                    State::Ok,
                    Some(due),
                    format!("{what} next due {}", date(due)),
                )
            }
        }
        None => {
            let due = next(since);
            if now > due {
                (
                    State::Missing,
                    Some(due),
                    format!("no {what} recorded; due since {}", date(due)),
                )
            } else {
                (
                    State::Ok,
                    Some(due),
                    format!("first {what} due {}", date(due)),
                )
            }
        }
    }
}

fn date(at: OffsetDateTime) -> String {
    at.date().to_string()
}

fn check(
    check: Check,
    asset: &AssetFacts,
    now: OffsetDateTime,
) -> (State, Option<OffsetDateTime>, String) {
    let since = asset.required_since();
    match check {
        Check::Backup { max_interval_hours } => match asset.backup_interval_hours {
            None => (
                State::Missing,
                Some(since),
                "no backup schedule recorded".into(),
            ),
            Some(interval) if interval > max_interval_hours => (
                State::Missing,
                Some(since),
                format!("backup every {interval} h; at most every {max_interval_hours} h required"),
            ),
            Some(_) => {
                let hours = Duration::hours(i64::from(max_interval_hours));
                periodic(
                    asset.last_backup_success,
                    since,
                    |t| t + hours,
                    now,
                    "successful backup",
                )
            }
        },
        Check::RestoreTest { every_days } => {
            let days = Duration::days(i64::from(every_days));
            periodic(
                asset.last_restore_test,
                since,
                |t| t + days,
                now,
                "restore test",
            )
        }
        Check::Monitored => match (asset.monitored, asset.alert_route) {
            (true, true) => (State::Ok, None, "monitored with an alert route".into()),
            (false, _) => (State::Missing, Some(since), "not monitored".into()),
            (true, false) => (
                State::Missing,
                Some(since),
                "monitored without an alert route".into(),
            ),
        },
        Check::AccessReview { every_months } => periodic(
            asset.last_access_review,
            since,
            |t| add_months(t, every_months),
            now,
            "access review",
        ),
        Check::EncryptionAtRest if asset.encrypted_at_rest => {
            (State::Ok, None, "encrypted at rest".into())
        }
        Check::EncryptionAtRest => (
            State::Missing,
            Some(since),
            "encryption at rest not recorded".into(),
        ),
        Check::CriticalPatches { within_days } => {
            let window = Duration::days(i64::from(within_days));
            let overdue = asset
                .open_critical_patches
                .iter()
                .map(|released| *released + window)
                .filter(|due| now > *due)
                .min();
            match overdue {
                Some(due) => (
                    State::Overdue,
                    Some(due),
                    format!(
                        "critical patch open for more than {within_days} days since {}",
                        date(due)
                    ),
                ),
                None => {
                    let next = asset
                        .open_critical_patches
                        .iter()
                        .map(|r| *r + window)
                        .min();
                    (State::Ok, next, "no critical patch overdue".into())
                }
            }
        }
        Check::Owner if asset.has_owner => (State::Ok, None, "has an owner".into()),
        Check::Owner => (State::Missing, asset.registered_at, "no owner".into()),
        Check::AssetReview {
            every_months,
            at_level_four_months,
        } => {
            let due = asset.next_review_due(every_months, at_level_four_months);
            if now > due {
                (
                    State::Overdue,
                    Some(due),
                    format!("asset review overdue since {}", date(due)),
                )
            } else {
                (
                    State::Ok,
                    Some(due),
                    format!("asset review due {}", date(due)),
                )
            }
        }
    }
}

/// `at` plus `months` calendar months: the same day, or the month's last day when it has
/// no such day (EU Regulation 1182/71), same time of day.
pub fn add_months(at: OffsetDateTime, months: u32) -> OffsetDateTime {
    let total = i64::from(at.month() as u8 - 1) + i64::from(months);
    let year = at.year() + i32::try_from(total / 12).unwrap_or(0);
    let month = time::Month::try_from(u8::try_from(total % 12 + 1).unwrap_or(1))
        .unwrap_or(time::Month::January);
    let day = at.day().min(time::util::days_in_month(month, year));
    at.replace_date(
        time::Date::from_calendar_date(year, month, day).expect("a clamped day is a valid date"),
    )
}

#[cfg(test)]
mod tests;
