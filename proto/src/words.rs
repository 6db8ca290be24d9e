//! The closed vocabularies of the API as words. The API carries them as enums; event
//! payloads, JWT claims and the CLI's `--json` output keep the lower-case word each value
//! had as a string, so stored commits read the same forever. This is the one conversion
//! per vocabulary, in both directions, and the only place those words are spelt.

use crate::assets::{AssetKind, ControlGapState, ImportOutcome};
use crate::common::Severity;
use crate::identity::{AccessDecision, AccessReviewStatus, PrincipalStatus, Role, TenantStatus};
use crate::incidents::{
    ActionStatus, DataRole, DataSubjectRisk, IncidentKind, IncidentStatus, IncidentTransition,
    NotificationStage, ObligationKind, ObligationStatus, SecurityProperty,
};
use crate::reporting::{DeliveryChannel, DeliveryStatus, ReminderKind, ReminderStage};

/// A closed set of values with a stored word each; `Unspecified` (0) has none.
pub trait Vocabulary: Copy + Eq + Sized + TryFrom<i32> + Into<i32> + 'static {
    /// Every value but the unspecified one, in declaration order.
    const VALUES: &'static [Self];

    /// The word it is stored as; empty for the unspecified value.
    fn word(self) -> &'static str;

    /// The value a stored word names; `None` for an empty or unknown word.
    fn from_word(word: &str) -> Option<Self> {
        Self::VALUES.iter().copied().find(|v| v.word() == word)
    }

    /// The value a stored word names, the unspecified one for an empty or unknown word
    /// (a read model shows what it cannot name as not set, never as something else).
    fn read(word: &str) -> i32 {
        Self::from_word(word).map_or(0, Into::into)
    }

    /// The word of a wire value; empty for 0 or a number this version does not know.
    fn word_of(raw: i32) -> &'static str {
        Self::try_from(raw).map_or("", |v| v.word())
    }

    /// Every word, comma-separated, for messages.
    fn listing() -> String {
        Self::VALUES
            .iter()
            .map(|v| v.word())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

macro_rules! words {
    ($($enum:ident { $($variant:ident => $word:literal),+ $(,)? })+) => {$(
        impl Vocabulary for $enum {
            const VALUES: &'static [Self] = &[$(Self::$variant),+];

            fn word(self) -> &'static str {
                match self {
                    Self::Unspecified => "",
                    $(Self::$variant => $word),+
                }
            }
        }
    )+};
}

words! {
    Role {
        Admin => "admin",
        SecurityOfficer => "security_officer",
        Manager => "manager",
        Employee => "employee",
        Auditor => "auditor",
        Customer => "customer",
    }
    PrincipalStatus {
        Active => "active",
        Deactivated => "deactivated",
    }
    TenantStatus {
        Active => "active",
    }
    AccessReviewStatus {
        Open => "open",
        Completed => "completed",
    }
    AccessDecision {
        Confirmed => "confirmed",
        Revoked => "revoked",
    }
    ImportOutcome {
        Created => "created",
        Unchanged => "unchanged",
        Refused => "refused",
    }
    AssetKind {
        Service => "service",
        System => "system",
        Server => "server",
        Database => "database",
        Dataset => "dataset",
        Document => "document",
        Saas => "saas",
        Network => "network",
    }
    ControlGapState {
        Missing => "missing",
        Overdue => "overdue",
    }
    Severity {
        Low => "low",
        Medium => "medium",
        High => "high",
        Critical => "critical",
    }
    IncidentKind {
        Deviation => "deviation",
        SecurityIncident => "security_incident",
        ImprovementProposal => "improvement_proposal",
    }
    IncidentStatus {
        Reported => "reported",
        Triaged => "triaged",
        Contained => "contained",
        Resolved => "resolved",
        Closed => "closed",
        Rejected => "rejected",
    }
    IncidentTransition {
        Contain => "contain",
        Resolve => "resolve",
        Close => "close",
        Reject => "reject",
        Reopen => "reopen",
    }
    SecurityProperty {
        Availability => "availability",
        Integrity => "integrity",
        Confidentiality => "confidentiality",
        Traceability => "traceability",
    }
    DataSubjectRisk {
        Unlikely => "unlikely",
        Risk => "risk",
        High => "high",
    }
    DataRole {
        Controller => "controller",
        Processor => "processor",
    }
    ObligationKind {
        Gdpr332 => "gdpr-33-2",
        Gdpr331 => "gdpr-33-1",
        Gdpr34 => "gdpr-34",
        Nis2EarlyWarning => "nis2-early-warning",
        Nis2Notification => "nis2-notification",
        Nis2FinalReport => "nis2-final-report",
        Nis2CustomerNotice => "nis2-customer-notice",
        ContractOutageNotice => "contract-outage-notice",
    }
    ObligationStatus {
        Pending => "pending",
        Met => "met",
        Late => "late",
        Waived => "waived",
        NotRequired => "not_required",
    }
    ActionStatus {
        Open => "open",
        Completed => "completed",
        RiskAccepted => "risk_accepted",
    }
    NotificationStage {
        Initial => "initial",
        Intermediate => "intermediate",
        Final => "final",
        Progress => "progress",
    }
    ReminderKind {
        Obligation => "obligation",
        Action => "action",
        AssetReview => "asset_review",
        RestoreTest => "restore_test",
        CriticalPatch => "critical_patch",
        PolicyAcknowledgement => "policy_acknowledgement",
        AccessReview => "access_review",
        TrainingExpiry => "training_expiry",
    }
    ReminderStage {
        New => "new",
        Half => "half",
        Ninety => "ninety",
        Deadline => "deadline",
        Due => "due",
        Overdue => "overdue",
        Unacknowledged => "unacknowledged",
        Expired => "expired",
        Expiring => "expiring",
    }
    DeliveryChannel {
        Webhook => "webhook",
        Email => "email",
    }
    DeliveryStatus {
        Pending => "pending",
        Delivered => "delivered",
        Abandoned => "abandoned",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trips<V: Vocabulary + std::fmt::Debug>() {
        let mut seen = std::collections::BTreeSet::new();
        for value in V::VALUES {
            let word = value.word();
            assert!(!word.is_empty() && seen.insert(word), "{value:?}: {word:?}");
            assert_eq!(V::from_word(word), Some(*value));
            assert_eq!(V::word_of((*value).into()), word);
        }
        assert_eq!(V::from_word(""), None);
        assert_eq!(V::read("no such word"), 0);
        assert_eq!(V::word_of(0), "");
        assert_eq!(V::word_of(999), "");
    }

    #[test]
    fn every_vocabulary_round_trips_through_its_words() {
        round_trips::<Role>();
        round_trips::<PrincipalStatus>();
        round_trips::<TenantStatus>();
        round_trips::<AccessReviewStatus>();
        round_trips::<AccessDecision>();
        round_trips::<AssetKind>();
        round_trips::<ImportOutcome>();
        round_trips::<ControlGapState>();
        round_trips::<Severity>();
        round_trips::<IncidentKind>();
        round_trips::<IncidentStatus>();
        round_trips::<IncidentTransition>();
        round_trips::<SecurityProperty>();
        round_trips::<DataSubjectRisk>();
        round_trips::<DataRole>();
        round_trips::<ObligationKind>();
        round_trips::<ObligationStatus>();
        round_trips::<ActionStatus>();
        round_trips::<NotificationStage>();
        round_trips::<ReminderKind>();
        round_trips::<ReminderStage>();
        round_trips::<DeliveryChannel>();
        round_trips::<DeliveryStatus>();
    }

    #[test]
    fn the_words_of_several_values_are_those_stored_commits_hold() {
        // Written out a second time on purpose: a changed word would strand old events.
        assert_eq!(ObligationStatus::NotRequired.word(), "not_required");
        assert_eq!(IncidentKind::SecurityIncident.word(), "security_incident");
        assert_eq!(ActionStatus::RiskAccepted.word(), "risk_accepted");
        assert_eq!(DataSubjectRisk::High.word(), "high");
        assert_eq!(NotificationStage::Initial.word(), "initial");
    }
}
