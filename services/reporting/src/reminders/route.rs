//! Who gets which kind of reminder, and over which channels: built-in defaults, changed in
//! configuration (`TILLIT_REMINDER_RECIPIENTS`, `TILLIT_WEBHOOK_KINDS`, `TILLIT_EMAIL_KINDS`).

use std::collections::BTreeMap;

use tillit_auth::Role;
use tillit_proto::identity::User;
use tillit_proto::reporting::Recipient;

use tillit_proto::Vocabulary;
use tillit_proto::reporting::ReminderKind;

/// The recipient groups of one kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Recipients {
    /// The item's owner (asset owner, action owner).
    pub owner: bool,
    /// Every active security officer.
    pub security_officers: bool,
    /// The person who must act (who must acknowledge, whose training runs out).
    pub subject: bool,
}

impl Recipients {
    fn parse(raw: &str) -> Result<Self, String> {
        let mut groups = Self::default();
        for group in raw.split('+').map(str::trim) {
            match group {
                "owner" => groups.owner = true,
                "security_officers" => groups.security_officers = true,
                "subject" => groups.subject = true,
                other => {
                    return Err(format!(
                        "unknown recipient group {other:?} (owner, security_officers, subject)"
                    ));
                }
            }
        }
        Ok(groups)
    }
}

/// Per kind: recipients, and whether the webhook and e-mail carry it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Routes {
    recipients: BTreeMap<ReminderKind, Recipients>,
    webhook: Vec<ReminderKind>,
    email: Vec<ReminderKind>,
}

fn known(raw: &str) -> Result<ReminderKind, String> {
    ReminderKind::from_word(raw).ok_or_else(|| {
        format!(
            "unknown reminder kind {raw:?} (one of {})",
            ReminderKind::listing()
        )
    })
}

fn kinds(raw: &str) -> Result<Vec<ReminderKind>, String> {
    match raw.trim() {
        "" | "all" => Ok(ReminderKind::VALUES.to_vec()),
        "none" => Ok(Vec::new()),
        list => list.split(',').map(|k| known(k.trim())).collect(),
    }
}

impl Default for Routes {
    fn default() -> Self {
        let officers = Recipients {
            security_officers: true,
            ..Default::default()
        };
        let owner_and_officers = Recipients {
            owner: true,
            security_officers: true,
            ..Default::default()
        };
        let subject = Recipients {
            subject: true,
            ..Default::default()
        };
        Self {
            recipients: BTreeMap::from([
                (ReminderKind::Obligation, officers),
                (ReminderKind::Action, owner_and_officers),
                (ReminderKind::AssetReview, owner_and_officers),
                (ReminderKind::RestoreTest, owner_and_officers),
                (ReminderKind::CriticalPatch, owner_and_officers),
                (ReminderKind::PolicyAcknowledgement, subject),
                (ReminderKind::AccessReview, officers),
                (ReminderKind::TrainingExpiry, subject),
            ]),
            webhook: ReminderKind::VALUES.to_vec(),
            email: ReminderKind::VALUES.to_vec(),
        }
    }
}

impl Routes {
    /// The defaults changed by `recipients` (`kind=group+group;kind=...`) and the kinds the
    /// webhook and e-mail carry (`all`, `none` or a comma list).
    pub fn parse(recipients: &str, webhook: &str, email: &str) -> Result<Self, String> {
        let mut routes = Self::default();
        for rule in recipients
            .split(';')
            .map(str::trim)
            .filter(|r| !r.is_empty())
        {
            let (kind, groups) = rule
                .split_once('=')
                .ok_or_else(|| format!("{rule:?} is not kind=group+group"))?;
            routes
                .recipients
                .insert(known(kind.trim())?, Recipients::parse(groups)?);
        }
        routes.webhook = kinds(webhook)?;
        routes.email = kinds(email)?;
        Ok(routes)
    }

    /// The recipient groups of `kind`.
    pub fn recipients(&self, kind: ReminderKind) -> &Recipients {
        static NOBODY: Recipients = Recipients {
            owner: false,
            security_officers: false,
            subject: false,
        };
        self.recipients.get(&kind).unwrap_or(&NOBODY)
    }

    /// Whether the webhook carries `kind`.
    pub fn by_webhook(&self, kind: ReminderKind) -> bool {
        self.webhook.contains(&kind)
    }

    /// Whether e-mail carries `kind`.
    pub fn by_email(&self, kind: ReminderKind) -> bool {
        self.email.contains(&kind)
    }
}

/// Resolves recipient groups to people.
pub(super) struct People<'a> {
    pub(super) by_id: BTreeMap<&'a str, &'a User>,
    officers: Vec<&'a User>,
}

impl<'a> People<'a> {
    pub(super) fn new(staff: &'a [User]) -> Self {
        Self {
            by_id: staff.iter().map(|u| (u.user_id.as_str(), u)).collect(),
            officers: staff
                .iter()
                .filter(|u| u.roles().any(|r| r == Role::SecurityOfficer.wire()))
                .collect(),
        }
    }

    /// The recipients `groups` name: the item's owner, the person who must act, security
    /// officers; each person once, inactive or unknown users left out.
    pub(super) fn resolve(
        &self,
        groups: &Recipients,
        owner: Option<&str>,
        subject: Option<&str>,
    ) -> Vec<Recipient> {
        let mut found: Vec<Recipient> = Vec::new();
        let mut add = |user: &User, reason: &str| {
            if !found.iter().any(|r| r.user_id == user.user_id) {
                found.push(Recipient {
                    user_id: user.user_id.clone(),
                    // Reminders name user ids: delivery looks the address up when it sends.
                    email: String::new(),
                    reason: reason.to_owned(),
                });
            }
        };
        if groups.subject
            && let Some(user) = subject.and_then(|id| self.by_id.get(id))
        {
            add(user, "subject");
        }
        if groups.owner
            && let Some(user) = owner.and_then(|id| self.by_id.get(id))
        {
            add(user, "owner");
        }
        if groups.security_officers {
            for user in &self.officers {
                add(user, Role::SecurityOfficer.as_str());
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_domain_and_configuration_changes_them() {
        let routes = Routes::default();
        assert!(
            routes
                .recipients(ReminderKind::Obligation)
                .security_officers
        );
        assert!(routes.recipients(ReminderKind::Action).owner);
        assert!(
            routes
                .recipients(ReminderKind::PolicyAcknowledgement)
                .subject
        );
        let changed = Routes::parse(
            "obligation=security_officers+owner; training_expiry = subject+security_officers",
            "obligation,action",
            "none",
        )
        .unwrap();
        assert!(changed.recipients(ReminderKind::Obligation).owner);
        assert!(
            changed
                .recipients(ReminderKind::TrainingExpiry)
                .security_officers
        );
        assert!(
            changed.by_webhook(ReminderKind::Action)
                && !changed.by_webhook(ReminderKind::AssetReview)
        );
        assert!(!changed.by_email(ReminderKind::Obligation));
    }

    #[test]
    fn unknown_kinds_and_groups_are_refused_by_name() {
        assert!(
            Routes::parse("obligations=owner", "", "")
                .unwrap_err()
                .contains("obligations")
        );
        assert!(
            Routes::parse("action=boss", "", "")
                .unwrap_err()
                .contains("boss")
        );
        assert!(
            Routes::parse("", "action,parking", "")
                .unwrap_err()
                .contains("parking")
        );
    }
}
