//! The legal clocks (DOMAIN.md "Legal clocks (Sweden, 2026)"): from an incident's recorded
//! facts, the affected tenants' contract terms and the clock configuration, which
//! obligations arise, to whom, due when, with which report fields — and which decisions
//! not to notify must be documented (GDPR Art. 33(5)).
//!
//! Hours are absolute from the moment of awareness. The NIS2 final report is due one month
//! (Swedish local calendar) after the 72-hour notification was *sent*, so it has no due time
//! until then. Recipients and hours come from [`ClockConfig`], never from code.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

/// Recipients, hours and thresholds of the legal clocks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockConfig {
    /// The GDPR supervisory authority.
    pub gdpr_authority: String,
    /// GDPR Art. 33(1): hours to notify the authority (72).
    pub gdpr_authority_hours: u32,
    /// GDPR Art. 33(2): hours to notify a controller when its contract says nothing (24).
    pub default_breach_notice_hours: u32,
    /// GDPR Art. 34 "without undue delay": target hours to tell data subjects (72).
    pub data_subjects_target_hours: u32,
    /// The NIS2 CSIRT.
    pub nis2_authority: String,
    /// NIS2 Art. 23(4)(a): early warning (24).
    pub nis2_early_warning_hours: u32,
    /// NIS2 Art. 23(4)(b): incident notification (72).
    pub nis2_notification_hours: u32,
    /// NIS2 Art. 23(4)(d): final report, months after the notification was sent (1).
    pub nis2_final_report_months: u32,
    /// NIS2 Art. 23(1)-(2) "without undue delay": target hours to tell affected customers (24).
    pub nis2_customer_notice_target_hours: u32,
    /// Contract/SLA outage notice when the contract says nothing (24).
    pub default_outage_notice_hours: u32,
    /// Significance thresholds (Implementing Regulation 2024/2690).
    pub significance: Significance,
}

/// When an incident is significant under NIS2 (cloud and managed service providers).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Significance {
    /// A service completely unavailable for more than this many minutes (30).
    pub complete_outage_minutes: u32,
    /// Availability limited for more than this many minutes (60) ...
    pub limited_outage_minutes: u32,
    /// ... for more than this share of users, percent (5).
    pub limited_users_percent: u32,
    /// Direct loss above this, EUR (500 000).
    pub direct_loss_eur: u64,
    /// Our annual turnover, EUR, if known (for the 5 % criterion).
    pub annual_turnover_eur: Option<u64>,
    /// Direct loss above this share of turnover, percent (5).
    pub turnover_percent: u32,
}

impl Default for ClockConfig {
    fn default() -> Self {
        Self {
            gdpr_authority: "IMY (Integritetsskyddsmyndigheten)".into(),
            gdpr_authority_hours: 72,
            default_breach_notice_hours: 24,
            data_subjects_target_hours: 72,
            nis2_authority: "CERT-SE at MCF".into(),
            nis2_early_warning_hours: 24,
            nis2_notification_hours: 72,
            nis2_final_report_months: 1,
            nis2_customer_notice_target_hours: 24,
            default_outage_notice_hours: 24,
            significance: Significance {
                complete_outage_minutes: 30,
                limited_outage_minutes: 60,
                limited_users_percent: 5,
                direct_loss_eur: 500_000,
                annual_turnover_eur: None,
                turnover_percent: 5,
            },
        }
    }
}

impl ClockConfig {
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

    /// SHA-256 (hex) of the configuration's canonical JSON.
    pub fn sha256(&self) -> String {
        hex::encode(Sha256::digest(
            serde_json::to_vec(self).expect("a clock config serialises"),
        ))
    }
}

/// Our role towards an affected tenant's data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Their asset: we process on their behalf.
    Processor,
    /// An `internal` asset: we are controller.
    Controller,
}

/// Risk to data subjects of a personal-data breach.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Risk {
    /// Not assessed yet (treated as a risk).
    Unassessed,
    /// Unlikely to result in a risk: no authority notification, decision documented.
    Unlikely,
    /// A risk.
    Risk,
    /// A high risk: data subjects are told too.
    High,
}

/// What one linked incident (same root cause) contributes to significance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkedFacts {
    /// Unplanned outage, minutes.
    pub outage_minutes: u64,
    /// Share of users affected, percent.
    pub users_affected_percent: u32,
    /// Direct loss, EUR.
    pub direct_loss_eur: u64,
}

/// The recorded facts of an incident that the clocks depend on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncidentFacts {
    /// When we became aware: the clocks run from here.
    pub aware_at: OffsetDateTime,
    /// A personal-data breach.
    pub personal_data_breach: bool,
    /// Risk to data subjects.
    pub risk: Risk,
    /// Affected tenants and our role towards each.
    pub affected: Vec<(String, Role)>,
    /// Severity high or critical.
    pub serious: bool,
    /// Suspected malicious act.
    pub suspected_malicious: bool,
    /// Integrity, confidentiality or authenticity compromised.
    pub data_compromised: bool,
    /// Outage start and end (end `None`: ongoing).
    pub outage: Option<(OffsetDateTime, Option<OffsetDateTime>)>,
    /// The outage was planned maintenance.
    pub planned_maintenance: bool,
    /// Share of users affected, percent (0: not stated, read as all).
    pub users_affected_percent: u32,
    /// Direct loss, EUR.
    pub direct_loss_eur: u64,
    /// Linked incidents with the same root cause.
    pub linked: Vec<LinkedFacts>,
}

/// A customer's contract terms, as far as the clocks need them (0: the default).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ContractHours {
    /// Hours to notify the customer of a personal-data breach.
    pub breach_notice_hours: u32,
    /// Hours to notify the customer of an outage or serious incident.
    pub outage_notice_hours: u32,
}

/// Which clock an obligation runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Clock {
    /// GDPR Art. 33(2): processor to controller.
    Gdpr33_2,
    /// GDPR Art. 33(1): controller to the authority.
    Gdpr33_1,
    /// GDPR Art. 34: controller to data subjects.
    Gdpr34,
    /// NIS2 Art. 23(4)(a): early warning.
    Nis2EarlyWarning,
    /// NIS2 Art. 23(4)(b): incident notification.
    Nis2Notification,
    /// NIS2 Art. 23(4)(d): final report.
    Nis2FinalReport,
    /// NIS2 Art. 23(1)-(2): notice to affected customers.
    Nis2CustomerNotice,
    /// Contract/SLA outage notice.
    ContractOutage,
}

impl Clock {
    /// The clock's id (the word of its `ObligationKind`), also the prefix of its
    /// obligation ids.
    pub fn id(self) -> &'static str {
        use tillit_proto::Vocabulary as _;
        self.kind().word()
    }

    /// The API's name of obligations on this clock.
    pub fn kind(self) -> tillit_proto::incidents::ObligationKind {
        use tillit_proto::incidents::ObligationKind;
        match self {
            Self::Gdpr33_2 => ObligationKind::Gdpr332,
            Self::Gdpr33_1 => ObligationKind::Gdpr331,
            Self::Gdpr34 => ObligationKind::Gdpr34,
            Self::Nis2EarlyWarning => ObligationKind::Nis2EarlyWarning,
            Self::Nis2Notification => ObligationKind::Nis2Notification,
            Self::Nis2FinalReport => ObligationKind::Nis2FinalReport,
            Self::Nis2CustomerNotice => ObligationKind::Nis2CustomerNotice,
            Self::ContractOutage => ObligationKind::ContractOutageNotice,
        }
    }

    /// The provision it implements.
    pub fn article(self) -> &'static str {
        match self {
            Self::Gdpr33_2 => "GDPR Art. 33(2)",
            Self::Gdpr33_1 => "GDPR Art. 33(1)",
            Self::Gdpr34 => "GDPR Art. 34",
            Self::Nis2EarlyWarning => "NIS2 Art. 23(4)(a), Cybersäkerhetslagen (SFS 2025:1506)",
            Self::Nis2Notification => "NIS2 Art. 23(4)(b), Cybersäkerhetslagen (SFS 2025:1506)",
            Self::Nis2FinalReport => "NIS2 Art. 23(4)(d), Cybersäkerhetslagen (SFS 2025:1506)",
            Self::Nis2CustomerNotice => "NIS2 Art. 23(1)-(2)",
            Self::ContractOutage => "Contract / SLA",
        }
    }

    /// The report fields the recipient expects.
    pub fn required_fields(self) -> &'static [&'static str] {
        match self {
            Self::Gdpr33_2 | Self::Gdpr33_1 => &[
                "nature",
                "data_subject_categories_and_number",
                "record_categories_and_number",
                "contact_point",
                "likely_consequences",
                "measures",
            ],
            Self::Gdpr34 => &["nature", "contact_point", "likely_consequences", "measures"],
            Self::Nis2EarlyWarning => &["suspected_malicious", "cross_border_impact"],
            Self::Nis2Notification => &["severity_and_impact", "indicators_of_compromise"],
            Self::Nis2FinalReport => &["root_cause_or_threat", "mitigation", "cross_border_impact"],
            Self::Nis2CustomerNotice | Self::ContractOutage => &["summary", "measures"],
        }
    }
}

/// An obligation that arises from the facts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObligationSpec {
    /// Stable id within the incident: clock id, and the tenant for per-customer clocks.
    pub id: String,
    /// The clock.
    pub clock: Clock,
    /// Who must be told.
    pub recipient: String,
    /// The recipient's tenant, for customer notices.
    pub recipient_tenant: Option<String>,
    /// When; `None` for the NIS2 final report until the notification is sent.
    pub due_at: Option<OffsetDateTime>,
}

/// A documented decision not to notify.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The provision.
    pub article: &'static str,
    /// What was decided and why.
    pub decision: String,
}

/// The assessment of an incident.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Assessment {
    /// Obligations that arise.
    pub obligations: Vec<ObligationSpec>,
    /// Decisions not to notify that must be documented.
    pub decisions: Vec<Decision>,
    /// Why the incident is significant under NIS2, if it is.
    pub significant: Option<String>,
}

fn hours(n: u32) -> Duration {
    Duration::hours(i64::from(n))
}

fn or_default(value: u32, default: u32) -> u32 {
    if value == 0 { default } else { value }
}

/// Why the incident is significant (NIS2, Implementing Regulation 2024/2690), if it is.
pub fn significance(
    facts: &IncidentFacts,
    config: &Significance,
    now: OffsetDateTime,
) -> Option<String> {
    let outage_minutes = match facts.outage {
        Some((start, end)) if !facts.planned_maintenance => {
            u64::try_from((end.unwrap_or(now) - start).whole_minutes()).unwrap_or(0)
        }
        _ => 0,
    };
    let users = if facts.users_affected_percent == 0 {
        100
    } else {
        facts.users_affected_percent
    };
    let mut reasons = Vec::new();
    let outage_rule = |minutes: u64, users: u32| {
        (users >= 100 && minutes > u64::from(config.complete_outage_minutes))
            || (users > config.limited_users_percent
                && minutes > u64::from(config.limited_outage_minutes))
    };
    if outage_minutes > 0 && outage_rule(outage_minutes, users) {
        reasons.push(format!(
            "unavailable for {outage_minutes} minutes for {users} % of users"
        ));
    }
    if facts.suspected_malicious && facts.data_compromised {
        reasons.push(
            "integrity, confidentiality or authenticity compromised by a suspected malicious act"
                .to_owned(),
        );
    }
    let loss_threshold = |loss: u64| {
        loss > config.direct_loss_eur
            || config.annual_turnover_eur.is_some_and(|turnover| {
                loss.saturating_mul(100)
                    > turnover.saturating_mul(u64::from(config.turnover_percent))
            })
    };
    if loss_threshold(facts.direct_loss_eur) {
        reasons.push(format!("direct loss of {} EUR", facts.direct_loss_eur));
    }
    if reasons.is_empty() && !facts.linked.is_empty() {
        // Repeated incidents with one root cause are judged together.
        let minutes = outage_minutes + facts.linked.iter().map(|l| l.outage_minutes).sum::<u64>();
        let users = facts
            .linked
            .iter()
            .map(|l| {
                if l.users_affected_percent == 0 {
                    100
                } else {
                    l.users_affected_percent
                }
            })
            .chain([if outage_minutes > 0 { users } else { 0 }])
            .max()
            .unwrap_or(0);
        let loss =
            facts.direct_loss_eur + facts.linked.iter().map(|l| l.direct_loss_eur).sum::<u64>();
        if (minutes > 0 && outage_rule(minutes, users)) || loss_threshold(loss) {
            reasons.push(format!(
                "repeated incidents with one root cause ({} linked): together {minutes} minutes unavailable, {loss} EUR lost",
                facts.linked.len()
            ));
        }
    }
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

/// The obligations and documented decisions that the facts give rise to.
pub fn assess(
    facts: &IncidentFacts,
    contracts: &BTreeMap<String, ContractHours>,
    config: &ClockConfig,
    now: OffsetDateTime,
) -> Assessment {
    let aware = facts.aware_at;
    let mut assessment = Assessment::default();
    let customers: Vec<&String> = facts
        .affected
        .iter()
        .filter(|(_, r)| *r == Role::Processor)
        .map(|(t, _)| t)
        .collect();
    let controller =
        facts.affected.iter().any(|(_, r)| *r == Role::Controller) || facts.affected.is_empty();
    let contract = |tenant: &str| contracts.get(tenant).copied().unwrap_or_default();
    let per_customer = |clock: Clock, tenant: &str, due: OffsetDateTime| ObligationSpec {
        id: format!("{}:{tenant}", clock.id()),
        clock,
        recipient: format!("customer {tenant}"),
        recipient_tenant: Some(tenant.to_owned()),
        due_at: Some(due),
    };
    let to_authority =
        |clock: Clock, recipient: &str, due: Option<OffsetDateTime>| ObligationSpec {
            id: clock.id().to_owned(),
            clock,
            recipient: recipient.to_owned(),
            recipient_tenant: None,
            due_at: due,
        };

    if facts.personal_data_breach {
        for tenant in &customers {
            let h = or_default(
                contract(tenant).breach_notice_hours,
                config.default_breach_notice_hours,
            );
            assessment
                .obligations
                .push(per_customer(Clock::Gdpr33_2, tenant, aware + hours(h)));
        }
        if controller {
            if facts.risk == Risk::Unlikely {
                assessment.decisions.push(Decision {
                    article: "GDPR Art. 33(5)",
                    decision: format!(
                        "not notified to {}: the breach is unlikely to result in a risk to the rights and freedoms of natural persons (Art. 33(1))",
                        config.gdpr_authority
                    ),
                });
            } else {
                assessment.obligations.push(to_authority(
                    Clock::Gdpr33_1,
                    &config.gdpr_authority,
                    Some(aware + hours(config.gdpr_authority_hours)),
                ));
            }
            if facts.risk == Risk::High {
                assessment.obligations.push(ObligationSpec {
                    id: Clock::Gdpr34.id().to_owned(),
                    clock: Clock::Gdpr34,
                    recipient: "the data subjects".into(),
                    recipient_tenant: None,
                    due_at: Some(aware + hours(config.data_subjects_target_hours)),
                });
            }
        }
    }

    assessment.significant = significance(facts, &config.significance, now);
    if assessment.significant.is_some() {
        assessment.obligations.push(to_authority(
            Clock::Nis2EarlyWarning,
            &config.nis2_authority,
            Some(aware + hours(config.nis2_early_warning_hours)),
        ));
        assessment.obligations.push(to_authority(
            Clock::Nis2Notification,
            &config.nis2_authority,
            Some(aware + hours(config.nis2_notification_hours)),
        ));
        assessment.obligations.push(to_authority(
            Clock::Nis2FinalReport,
            &config.nis2_authority,
            None,
        ));
        for tenant in &customers {
            assessment.obligations.push(per_customer(
                Clock::Nis2CustomerNotice,
                tenant,
                aware + hours(config.nis2_customer_notice_target_hours),
            ));
        }
    }

    let outage = facts.outage.is_some() && !facts.planned_maintenance;
    if outage || facts.serious {
        for tenant in &customers {
            let h = or_default(
                contract(tenant).outage_notice_hours,
                config.default_outage_notice_hours,
            );
            assessment.obligations.push(per_customer(
                Clock::ContractOutage,
                tenant,
                aware + hours(h),
            ));
        }
    }
    assessment
}

/// When the NIS2 final report is due: `months` calendar months (Stockholm) after the
/// notification was sent.
pub fn final_report_due(
    notification_sent_at: OffsetDateTime,
    config: &ClockConfig,
) -> OffsetDateTime {
    crate::stockholm::add_months_local(notification_sent_at, config.nis2_final_report_months)
}

#[cfg(test)]
mod tests;
