//! The annual management-review figures (R1), computed from the read models as they stood
//! at the report's "now"; pure. Every map is ordered and every ratio is a string with one
//! decimal computed in integers, so the canonical JSON is the same bytes whenever the same
//! inputs are given.

use std::collections::BTreeMap;

use serde::Serialize;
use tillit_identity_views::standing::Standing;
use tillit_kernel::clock::from_timestamp;
use tillit_proto::Vocabulary as _;
use tillit_proto::assets::Asset;
use tillit_proto::common::Position;
use tillit_proto::identity::{AccessReview, Policy, User};
use tillit_proto::incidents::{ActionStatus, Incident, IncidentKind, ObligationStatus};

use crate::dashboard::UNTRIAGED;
use tillit_rules::RuleSet;
use tillit_rules::stockholm::{from_local, offset_at};
use time::format_description::well_known::Rfc3339;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// What the figures are computed from.
pub struct Input<'a> {
    /// The calendar year (Stockholm).
    pub year: i32,
    /// The report's "now": the earlier of the year's end and the newest commit it read.
    pub now: OffsetDateTime,
    /// The log positions read.
    pub as_of: &'a [Position],
    /// The control rules.
    pub rules: &'a RuleSet,
    /// Every incident as it stood at `now`.
    pub incidents: &'a [Incident],
    /// When each incident was first triaged.
    pub triaged_at: &'a BTreeMap<String, OffsetDateTime>,
    /// Every asset as it stood at `now`.
    pub assets: &'a [Asset],
    /// Active staff of `internal` at `now`.
    pub staff: &'a [User],
    /// Each policy's current version with every staff member's standing at `now`.
    pub policies: &'a [(Policy, Vec<(User, Standing)>)],
    /// (course, user, valid until) of every latest training record.
    pub trainings: &'a [(String, String, OffsetDateTime)],
    /// Every access-review campaign.
    pub campaigns: &'a [AccessReview],
}

/// The report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AnnualReport {
    /// The year.
    pub year: i32,
    /// The positions it was computed from (stream → sequence).
    pub as_of: BTreeMap<String, u64>,
    /// Its "now".
    pub now: String,
    /// SHA-256 of the control rule set.
    pub rules_sha256: String,
    /// Incidents and deviations reported in the year.
    pub incidents: Incidents,
    /// Their legal and contractual obligations.
    pub obligations: Obligations,
    /// Their corrective actions.
    pub actions: Actions,
    /// Control gaps at `now`.
    pub controls: Controls,
    /// Policy acknowledgement and training coverage at `now`.
    pub coverage: Coverage,
    /// Access reviews due in the year.
    pub access_reviews: AccessReviews,
}

/// Incident figures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Incidents {
    /// Deviations and security incidents reported in the year.
    pub total: u32,
    /// By kind (improvement proposals counted apart).
    pub by_kind: BTreeMap<String, u32>,
    /// By affected property (an incident may count under several).
    pub by_property: BTreeMap<String, u32>,
    /// By triage severity; "untriaged" for the rest.
    pub by_severity: BTreeMap<String, u32>,
    /// By Stockholm month, every month of the year present.
    pub by_month: BTreeMap<String, u32>,
    /// Improvement proposals filed in the year.
    pub improvement_proposals: u32,
    /// Mean minutes from awareness to the first triage (of those triaged).
    pub mean_minutes_to_triage: Option<i64>,
    /// Mean minutes from awareness to resolution (of those resolved).
    pub mean_minutes_to_resolve: Option<i64>,
    /// Mean minutes from awareness to the first notification sent (per notified obligation).
    pub mean_minutes_to_notify: Option<i64>,
}

/// Obligation figures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Obligations {
    /// All that arose.
    pub total: u32,
    /// Met in time.
    pub met_on_time: u32,
    /// Met late.
    pub late: u32,
    /// Obligations waived with a reason.
    pub waived: u32,
    /// Found no longer required.
    pub not_required: u32,
    /// Still pending.
    pub pending: u32,
    /// Pending past their due time at `now`.
    pub overdue: u32,
    /// Met in time of those required (total − not required), "75.0".
    pub on_time_percent: String,
}

/// Corrective-action figures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Actions {
    /// All of the year's incidents.
    pub total: u32,
    /// Open at `now`.
    pub open: u32,
    /// Open and past due at `now`.
    pub overdue: u32,
    /// Actions completed with evidence.
    pub done: u32,
    /// Not done, residual risk accepted.
    pub risk_accepted: u32,
}

/// Control figures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Controls {
    /// Assets in service.
    pub assets: u32,
    /// Gaps by tenant, then by class (the asset's highest C/I/A level).
    pub gaps_by_tenant_and_class: BTreeMap<String, BTreeMap<String, u32>>,
    /// Assets whose periodic review is not overdue.
    pub asset_reviews_current: u32,
    /// Of the assets, "90.0".
    pub asset_review_percent: String,
}

/// One policy's or course's coverage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Covered {
    /// Active staff.
    pub staff: u32,
    /// Staff covered.
    pub covered: u32,
    /// "80.0".
    pub percent: String,
}

/// Coverage figures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Coverage {
    /// Per policy id: acknowledgement of its current version within 12 months.
    pub policies: BTreeMap<String, Covered>,
    /// Per course: a valid training record.
    pub trainings: BTreeMap<String, Covered>,
}

/// Access-review figures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccessReviews {
    /// Campaigns due in the year.
    pub campaigns: u32,
    /// Of them completed.
    pub completed: u32,
    /// Their items.
    pub items: u32,
    /// Items decided.
    pub decided: u32,
    /// Decided of items, "100.0".
    pub decided_percent: String,
}

/// `part` of `whole` in per cent with one decimal, rounded down; "-" of nothing.
pub fn percent(part: u32, whole: u32) -> String {
    if whole == 0 {
        return "-".into();
    }
    let tenths = u64::from(part) * 1000 / u64::from(whole);
    format!("{}.{}", tenths / 10, tenths % 10)
}

fn time(ts: Option<&prost_types::Timestamp>) -> Option<OffsetDateTime> {
    ts.and_then(from_timestamp)
}

/// [start, end) of a Stockholm calendar year.
pub fn year_bounds(year: i32) -> (OffsetDateTime, OffsetDateTime) {
    let start = |year: i32| {
        Date::from_calendar_date(year, Month::January, 1)
            .map(|date| from_local(PrimitiveDateTime::new(date, Time::MIDNIGHT)))
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    };
    (start(year), start(year + 1))
}

fn month_label(at: OffsetDateTime) -> String {
    let local = at.to_offset(offset_at(at));
    format!("{:04}-{:02}", local.year(), u8::from(local.month()))
}

fn mean_minutes(spans: &[i64]) -> Option<i64> {
    (!spans.is_empty()).then(|| spans.iter().sum::<i64>() / spans.len() as i64)
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The report.
pub fn annual_report(input: &Input<'_>) -> AnnualReport {
    let (start, end) = year_bounds(input.year);
    let now = input.now;
    let in_year = |incident: &Incident| {
        time(incident.reported_at.as_ref()).is_some_and(|at| start <= at && at < end)
    };

    let mut incidents = Incidents {
        total: 0,
        by_kind: BTreeMap::new(),
        by_property: BTreeMap::new(),
        by_severity: BTreeMap::new(),
        by_month: (1..=12)
            .map(|m| (format!("{:04}-{m:02}", input.year), 0))
            .collect(),
        improvement_proposals: 0,
        mean_minutes_to_triage: None,
        mean_minutes_to_resolve: None,
        mean_minutes_to_notify: None,
    };
    let mut obligations = Obligations {
        total: 0,
        met_on_time: 0,
        late: 0,
        waived: 0,
        not_required: 0,
        pending: 0,
        overdue: 0,
        on_time_percent: String::new(),
    };
    let mut actions = Actions {
        total: 0,
        open: 0,
        overdue: 0,
        done: 0,
        risk_accepted: 0,
    };
    let (mut to_triage, mut to_resolve, mut to_notify) = (Vec::new(), Vec::new(), Vec::new());
    for incident in input.incidents.iter().filter(|i| in_year(i)) {
        if incident.kind() == IncidentKind::ImprovementProposal {
            incidents.improvement_proposals += 1;
            continue;
        }
        incidents.total += 1;
        *incidents
            .by_kind
            .entry(incident.kind().word().to_owned())
            .or_default() += 1;
        let severity = incident
            .triage
            .as_ref()
            .map_or(UNTRIAGED, |t| t.severity().word());
        *incidents
            .by_severity
            .entry(severity.to_owned())
            .or_default() += 1;
        for property in incident.triage.iter().flat_map(|t| t.affected_properties()) {
            *incidents
                .by_property
                .entry(property.word().to_owned())
                .or_default() += 1;
        }
        if let Some(reported) = time(incident.reported_at.as_ref()) {
            *incidents.by_month.entry(month_label(reported)).or_default() += 1;
        }
        let aware = time(incident.aware_at.as_ref()).or(time(incident.reported_at.as_ref()));
        let minutes = |at: OffsetDateTime| aware.map(|aware| (at - aware).whole_minutes());
        if let Some(span) = input
            .triaged_at
            .get(&incident.incident_id)
            .and_then(|at| minutes(*at))
        {
            to_triage.push(span);
        }
        if let Some(span) = time(incident.resolved_at.as_ref()).and_then(minutes) {
            to_resolve.push(span);
        }
        for obligation in &incident.obligations {
            obligations.total += 1;
            match obligation.status() {
                ObligationStatus::Met => obligations.met_on_time += 1,
                ObligationStatus::Late => obligations.late += 1,
                ObligationStatus::Waived => obligations.waived += 1,
                ObligationStatus::NotRequired => obligations.not_required += 1,
                ObligationStatus::Pending | ObligationStatus::Unspecified => {
                    obligations.pending += 1;
                    if time(obligation.due_at.as_ref()).is_some_and(|due| due < now) {
                        obligations.overdue += 1;
                    }
                }
            }
            if let Some(span) = obligation
                .notifications
                .iter()
                .filter_map(|n| time(n.sent_at.as_ref()))
                .min()
                .and_then(minutes)
            {
                to_notify.push(span);
            }
        }
        for action in &incident.actions {
            actions.total += 1;
            match action.status() {
                ActionStatus::Completed => actions.done += 1,
                ActionStatus::RiskAccepted => actions.risk_accepted += 1,
                ActionStatus::Open | ActionStatus::Unspecified => {
                    actions.open += 1;
                    if time(action.due_at.as_ref()).is_some_and(|due| due < now) {
                        actions.overdue += 1;
                    }
                }
            }
        }
    }
    incidents.mean_minutes_to_triage = mean_minutes(&to_triage);
    incidents.mean_minutes_to_resolve = mean_minutes(&to_resolve);
    incidents.mean_minutes_to_notify = mean_minutes(&to_notify);
    obligations.on_time_percent = percent(
        obligations.met_on_time,
        obligations.total - obligations.not_required,
    );

    let mut controls = Controls {
        assets: 0,
        gaps_by_tenant_and_class: BTreeMap::new(),
        asset_reviews_current: 0,
        asset_review_percent: String::new(),
    };
    for asset in input.assets.iter().filter(|a| a.retired.is_none()) {
        controls.assets += 1;
        let facts = tillit_assets_views::asset::facts(asset);
        let class = format!(
            "class {}",
            facts
                .confidentiality
                .max(facts.integrity)
                .max(facts.availability)
        );
        let statuses = input.rules.evaluate(&facts, now);
        let gaps = count(statuses.iter().filter(|s| s.is_gap()).count());
        if gaps > 0 {
            *controls
                .gaps_by_tenant_and_class
                .entry(asset.tenant_id.clone())
                .or_default()
                .entry(class)
                .or_default() += gaps;
        }
        if statuses
            .iter()
            .any(|s| s.control == "asset-review" && !s.is_gap())
        {
            controls.asset_reviews_current += 1;
        }
    }
    controls.asset_review_percent = percent(controls.asset_reviews_current, controls.assets);

    let mut coverage = Coverage {
        policies: BTreeMap::new(),
        trainings: BTreeMap::new(),
    };
    for (policy, standings) in input.policies {
        let staff = count(standings.len());
        let covered = count(
            standings
                .iter()
                .filter(|(_, s)| s.outstanding_since.is_none())
                .count(),
        );
        coverage.policies.insert(
            policy.policy_id.clone(),
            Covered {
                staff,
                covered,
                percent: percent(covered, staff),
            },
        );
    }
    let staff_ids: Vec<&str> = input.staff.iter().map(|u| u.user_id.as_str()).collect();
    let mut courses: BTreeMap<&str, u32> = BTreeMap::new();
    for (course, user, valid_until) in input.trainings {
        let entry = courses.entry(course.as_str()).or_default();
        if staff_ids.contains(&user.as_str()) && *valid_until > now {
            *entry += 1;
        }
    }
    let staff = count(staff_ids.len());
    for (course, covered) in courses {
        coverage.trainings.insert(
            course.to_owned(),
            Covered {
                staff,
                covered,
                percent: percent(covered, staff),
            },
        );
    }

    let mut reviews = AccessReviews {
        campaigns: 0,
        completed: 0,
        items: 0,
        decided: 0,
        decided_percent: String::new(),
    };
    for campaign in input.campaigns {
        if !time(campaign.due_at.as_ref()).is_some_and(|due| start <= due && due < end) {
            continue;
        }
        reviews.campaigns += 1;
        reviews.completed +=
            u32::from(campaign.status() == tillit_proto::identity::AccessReviewStatus::Completed);
        reviews.items += campaign.items;
        reviews.decided += campaign.items.saturating_sub(campaign.undecided);
    }
    reviews.decided_percent = percent(reviews.decided, reviews.items);

    AnnualReport {
        year: input.year,
        as_of: input
            .as_of
            .iter()
            .map(|p| (p.stream.clone(), p.sequence))
            .collect(),
        now: now.format(&Rfc3339).unwrap_or_default(),
        rules_sha256: input.rules.sha256(),
        incidents,
        obligations,
        actions,
        controls,
        coverage,
        access_reviews: reviews,
    }
}

#[cfg(test)]
mod tests {
    use tillit_kernel::clock::to_timestamp;
    use tillit_proto::common::Severity;
    use tillit_proto::incidents::{Obligation, SecurityProperty, TriageAssessment};
    use time::macros::datetime;

    use super::*;

    fn obligation(status: &str) -> Obligation {
        Obligation {
            status: ObligationStatus::read(status),
            ..Default::default()
        }
    }

    fn incident(id: &str, reported: OffsetDateTime, obligations: Vec<Obligation>) -> Incident {
        Incident {
            incident_id: id.into(),
            kind: IncidentKind::SecurityIncident.into(),
            reported_at: Some(to_timestamp(reported)),
            aware_at: Some(to_timestamp(reported - time::Duration::hours(1))),
            triage: Some(TriageAssessment {
                severity: Severity::High.into(),
                affected_properties: vec![
                    SecurityProperty::Availability.into(),
                    SecurityProperty::Integrity.into(),
                ],
                ..Default::default()
            }),
            obligations,
            ..Default::default()
        }
    }

    fn report(incidents: &[Incident], triaged: &BTreeMap<String, OffsetDateTime>) -> AnnualReport {
        annual_report(&Input {
            year: 2026,
            now: datetime!(2026-12-31 12:00 UTC),
            as_of: &[Position {
                stream: "INCIDENTS".into(),
                sequence: 9,
            }],
            rules: &RuleSet::default(),
            incidents,
            triaged_at: triaged,
            assets: &[],
            staff: &[],
            policies: &[],
            trainings: &[],
            campaigns: &[],
        })
    }

    #[test]
    fn percentages_have_one_decimal_rounded_down_and_nothing_of_nothing() {
        assert_eq!(percent(3, 4), "75.0");
        assert_eq!(percent(2, 3), "66.6");
        assert_eq!(percent(1, 1), "100.0");
        assert_eq!(percent(0, 0), "-");
    }

    #[test]
    fn the_year_is_stockholms_calendar_year() {
        let (start, end) = year_bounds(2026);
        assert_eq!(start, datetime!(2025-12-31 23:00 UTC));
        assert_eq!(end, datetime!(2026-12-31 23:00 UTC));
        let boundary = [
            incident("before", datetime!(2025-12-31 22:59 UTC), Vec::new()),
            incident("first", datetime!(2025-12-31 23:00 UTC), Vec::new()),
            incident("after", datetime!(2026-12-31 23:00 UTC), Vec::new()),
        ];
        let figures = report(&boundary, &BTreeMap::new());
        assert_eq!(figures.incidents.total, 1);
        assert_eq!(figures.incidents.by_month["2026-01"], 1);
    }

    #[test]
    fn obligations_on_time_are_counted_of_those_required() {
        let at = datetime!(2026-03-01 12:00 UTC);
        let register = [incident(
            "i",
            at,
            ["met", "met", "met", "late", "not_required"]
                .into_iter()
                .map(obligation)
                .collect(),
        )];
        let triaged = BTreeMap::from([("i".to_owned(), at + time::Duration::minutes(30))]);
        let figures = report(&register, &triaged);
        assert_eq!(figures.obligations.total, 5);
        assert_eq!(figures.obligations.on_time_percent, "75.0");
        assert_eq!(figures.incidents.by_property["availability"], 1);
        assert_eq!(figures.incidents.by_property["integrity"], 1);
        assert_eq!(
            figures.incidents.mean_minutes_to_triage,
            Some(90),
            "from awareness"
        );
        assert_eq!(figures.as_of["INCIDENTS"], 9);
        assert_eq!(
            report(&register, &triaged),
            figures,
            "the same inputs, the same report"
        );
    }
}
