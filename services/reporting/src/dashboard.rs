//! The dashboard's incident figures, computed at query time from the incident register
//! (pure: the register's rows and the time in, the figures out).
//!
//! Improvement proposals are not incidents: they count in none of these figures.

use tillit_kernel::clock::from_timestamp;
use tillit_proto::Vocabulary as _;
use tillit_proto::common::Severity;
use tillit_proto::incidents::{
    ActionStatus, Incident, IncidentKind, IncidentStatus, ObligationStatus,
};
use tillit_proto::reporting::{Count, MonthCounts};
use tillit_rules::stockholm::offset_at;
use time::OffsetDateTime;

/// Severities, most severe first; incidents not yet triaged count under [`UNTRIAGED`].
pub const SEVERITIES: [Severity; 4] = [
    Severity::Critical,
    Severity::High,
    Severity::Medium,
    Severity::Low,
];

/// The label of open incidents without a triage, after the severities' words.
pub const UNTRIAGED: &str = "untriaged";

/// How many months `incidents_per_month` covers, the current one included.
pub const MONTHS: usize = 12;

/// The incident figures of the dashboard.
#[derive(Clone, Debug, PartialEq)]
pub struct IncidentFigures {
    /// Open incidents per severity (labelled by its word, most severe first), then
    /// [`UNTRIAGED`].
    pub open_by_severity: Vec<Count>,
    /// Pending obligations past their due time.
    pub overdue_obligations: u32,
    /// Open corrective actions past their due time, in incidents not closed or rejected.
    pub overdue_actions: u32,
    /// Incidents reported per Stockholm calendar month, oldest first, the current last.
    pub per_month: Vec<Count>,
    /// The same months, each by kind ([`KINDS`]).
    pub per_month_by_kind: Vec<MonthCounts>,
    /// Every obligation by outcome ([`OUTCOMES`]).
    pub obligations_by_outcome: Vec<Count>,
}

/// The kinds of incident the monthly figures split by (proposals are not incidents).
pub const KINDS: [IncidentKind; 2] = [IncidentKind::Deviation, IncidentKind::SecurityIncident];

/// The outcomes obligations are counted by, in the dashboard's order.
pub const OUTCOMES: [&str; 6] = [
    "met",
    "late",
    "overdue",
    "pending",
    "waived",
    "not_required",
];

/// The outcome label of an obligation at `now`.
fn outcome(obligation: &tillit_proto::incidents::Obligation, now: OffsetDateTime) -> &'static str {
    match obligation.status() {
        ObligationStatus::Met => "met",
        ObligationStatus::Late => "late",
        ObligationStatus::Pending if past(obligation.due_at.as_ref(), now) => "overdue",
        ObligationStatus::Pending | ObligationStatus::Unspecified => "pending",
        ObligationStatus::Waived => "waived",
        ObligationStatus::NotRequired => "not_required",
    }
}

fn is_open(incident: &Incident) -> bool {
    !matches!(
        incident.status(),
        IncidentStatus::Closed | IncidentStatus::Rejected
    )
}

fn past(due: Option<&prost_types::Timestamp>, now: OffsetDateTime) -> bool {
    due.and_then(from_timestamp).is_some_and(|due| due < now)
}

/// (year, month) of an instant on Stockholm's calendar.
fn local_month(at: OffsetDateTime) -> (i32, u8) {
    let local = at.to_offset(offset_at(at));
    (local.year(), u8::from(local.month()))
}

/// The `MONTHS` months ending with the one `now` is in, oldest first.
fn months_up_to(now: OffsetDateTime) -> Vec<(i32, u8)> {
    let (mut year, mut month) = local_month(now);
    let mut months = Vec::with_capacity(MONTHS);
    for _ in 0..MONTHS {
        months.push((year, month));
        (year, month) = if month == 1 {
            (year - 1, 12)
        } else {
            (year, month - 1)
        };
    }
    months.reverse();
    months
}

/// The figures over every incident of the register at `now`.
pub fn incident_figures<'a>(
    incidents: impl IntoIterator<Item = &'a Incident>,
    now: OffsetDateTime,
) -> IncidentFigures {
    let months = months_up_to(now);
    let mut per_month = vec![0u32; months.len()];
    let mut per_month_by_kind = vec![[0u32; KINDS.len()]; months.len()];
    let mut outcomes = [0u32; OUTCOMES.len()];
    let mut by_severity = [0u32; SEVERITIES.len() + 1];
    let mut overdue_obligations = 0;
    let mut overdue_actions = 0;
    for incident in incidents {
        if incident.kind() == IncidentKind::ImprovementProposal {
            continue;
        }
        for obligation in &incident.obligations {
            if let Some(slot) = OUTCOMES.iter().position(|o| *o == outcome(obligation, now)) {
                outcomes[slot] += 1;
            }
        }
        overdue_obligations += incident
            .obligations
            .iter()
            .filter(|o| o.status() == ObligationStatus::Pending && past(o.due_at.as_ref(), now))
            .count() as u32;
        if is_open(incident) {
            let slot = incident
                .triage
                .as_ref()
                .and_then(|t| SEVERITIES.iter().position(|s| *s == t.severity()))
                .unwrap_or(SEVERITIES.len());
            by_severity[slot] += 1;
            overdue_actions += incident
                .actions
                .iter()
                .filter(|a| a.status() == ActionStatus::Open && past(a.due_at.as_ref(), now))
                .count() as u32;
        }
        if let Some(reported) = incident.reported_at.as_ref().and_then(from_timestamp)
            && let Some(slot) = months.iter().position(|m| *m == local_month(reported))
        {
            per_month[slot] += 1;
            if let Some(kind) = KINDS.iter().position(|k| *k == incident.kind()) {
                per_month_by_kind[slot][kind] += 1;
            }
        }
    }
    let label = |label: &str, count: u32| Count {
        label: label.to_owned(),
        count,
    };
    IncidentFigures {
        open_by_severity: SEVERITIES
            .iter()
            .map(|s| s.word())
            .chain([UNTRIAGED])
            .zip(by_severity)
            .map(|(label, count)| Count {
                label: label.to_owned(),
                count,
            })
            .collect(),
        overdue_obligations,
        overdue_actions,
        per_month: months
            .iter()
            .zip(per_month)
            .map(|((year, month), count)| Count {
                label: format!("{year:04}-{month:02}"),
                count,
            })
            .collect(),
        per_month_by_kind: months
            .iter()
            .zip(per_month_by_kind)
            .map(|((year, month), counts)| MonthCounts {
                month: format!("{year:04}-{month:02}"),
                counts: KINDS
                    .iter()
                    .zip(counts)
                    .map(|(kind, count)| label(kind.word(), count))
                    .collect(),
            })
            .collect(),
        obligations_by_outcome: OUTCOMES
            .iter()
            .zip(outcomes)
            .map(|(outcome, count)| label(outcome, count))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use tillit_kernel::clock::to_timestamp;
    use tillit_proto::incidents::{Action, Obligation, TriageAssessment};
    use time::macros::datetime;

    use super::*;

    fn incident(
        kind: IncidentKind,
        state: IncidentStatus,
        severity: Option<Severity>,
        reported: OffsetDateTime,
    ) -> Incident {
        Incident {
            kind: kind.into(),
            status: state.into(),
            triage: severity.map(|s| TriageAssessment {
                severity: s.into(),
                ..Default::default()
            }),
            reported_at: Some(to_timestamp(reported)),
            ..Default::default()
        }
    }

    fn counts(counts: &[Count]) -> Vec<(&str, u32)> {
        counts.iter().map(|c| (c.label.as_str(), c.count)).collect()
    }

    #[test]
    fn open_incidents_by_severity_leave_out_closed_rejected_and_proposals() {
        let now = datetime!(2026-11-27 12:00 UTC);
        let at = datetime!(2026-11-01 12:00 UTC);
        let register = [
            incident(
                IncidentKind::SecurityIncident,
                IncidentStatus::Triaged,
                Some(Severity::Critical),
                at,
            ),
            incident(
                IncidentKind::Deviation,
                IncidentStatus::Contained,
                Some(Severity::Low),
                at,
            ),
            incident(IncidentKind::Deviation, IncidentStatus::Reported, None, at),
            incident(
                IncidentKind::Deviation,
                IncidentStatus::Closed,
                Some(Severity::High),
                at,
            ),
            incident(
                IncidentKind::SecurityIncident,
                IncidentStatus::Rejected,
                Some(Severity::High),
                at,
            ),
            incident(
                IncidentKind::ImprovementProposal,
                IncidentStatus::Reported,
                None,
                at,
            ),
        ];
        let figures = incident_figures(&register, now);
        assert_eq!(
            counts(&figures.open_by_severity),
            [
                ("critical", 1),
                ("high", 0),
                ("medium", 0),
                ("low", 1),
                ("untriaged", 1)
            ]
        );
        assert_eq!(figures.per_month.last().map(|c| c.count), Some(5));
        let november = figures.per_month_by_kind.last().expect("this month");
        assert_eq!(november.month, "2026-11");
        assert_eq!(
            counts(&november.counts),
            [("deviation", 3), ("security_incident", 2)],
            "by kind, the proposal left out"
        );
        assert_eq!(figures.per_month_by_kind.len(), MONTHS);
    }

    #[test]
    fn overdue_means_pending_or_open_and_past_due() {
        let now = datetime!(2026-11-27 12:00 UTC);
        let due = |at: OffsetDateTime| Some(to_timestamp(at));
        let mut open = incident(
            IncidentKind::SecurityIncident,
            IncidentStatus::Triaged,
            Some(Severity::High),
            now,
        );
        open.obligations = vec![
            Obligation {
                status: ObligationStatus::Pending.into(),
                due_at: due(datetime!(2026-11-27 11:59 UTC)),
                ..Default::default()
            },
            Obligation {
                status: ObligationStatus::Pending.into(),
                due_at: due(datetime!(2026-11-27 12:01 UTC)),
                ..Default::default()
            },
            Obligation {
                status: ObligationStatus::Late.into(),
                due_at: due(datetime!(2026-11-20 12:00 UTC)),
                ..Default::default()
            },
            Obligation {
                status: ObligationStatus::Pending.into(),
                due_at: None,
                ..Default::default()
            },
        ];
        open.actions = vec![
            Action {
                status: ActionStatus::Open.into(),
                due_at: due(datetime!(2026-11-26 00:00 UTC)),
                ..Default::default()
            },
            Action {
                status: ActionStatus::Completed.into(),
                due_at: due(datetime!(2026-11-26 00:00 UTC)),
                ..Default::default()
            },
        ];
        let mut closed = open.clone();
        closed.status = IncidentStatus::Closed.into();
        closed.obligations.clear();
        let figures = incident_figures(&[open, closed], now);
        assert_eq!(figures.overdue_obligations, 1);
        assert_eq!(figures.overdue_actions, 1);
        assert_eq!(
            counts(&figures.obligations_by_outcome),
            [
                ("met", 0),
                ("late", 1),
                ("overdue", 1),
                ("pending", 2),
                ("waived", 0),
                ("not_required", 0)
            ],
            "a pending obligation without a due time is not overdue"
        );
    }

    #[test]
    fn months_are_stockholm_calendar_months_oldest_first() {
        // 23:30 UTC on 31 Oct is 00:30 on 1 Nov in Stockholm (CET after the DST change).
        let now = datetime!(2026-11-27 12:00 UTC);
        let register = [
            incident(
                IncidentKind::Deviation,
                IncidentStatus::Closed,
                None,
                datetime!(2026-10-31 23:30 UTC),
            ),
            incident(
                IncidentKind::Deviation,
                IncidentStatus::Closed,
                None,
                datetime!(2026-10-31 22:30 UTC),
            ),
            incident(
                IncidentKind::Deviation,
                IncidentStatus::Closed,
                None,
                datetime!(2025-12-01 00:00 UTC),
            ),
            incident(
                IncidentKind::Deviation,
                IncidentStatus::Closed,
                None,
                datetime!(2025-11-30 12:00 UTC),
            ),
        ];
        let figures = incident_figures(&register, now);
        assert_eq!(figures.per_month.len(), 12);
        assert_eq!(figures.per_month[0].label, "2025-12");
        assert_eq!(
            figures.per_month[0].count, 1,
            "November 2025 is out of range"
        );
        assert_eq!(
            counts(&figures.per_month[10..]),
            [("2026-10", 1), ("2026-11", 1)]
        );
    }
}
