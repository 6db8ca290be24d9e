//! The checks of what a request brings, pure: each refusal is INVALID_ARGUMENT naming the
//! field and what is wrong, and the value comes back in the form it is recorded in.

use tillit_api::vocabulary::{optional, required};
use tillit_kernel::Reason;
use tillit_kernel::clock::{TimeWindow, parse_time};
use tillit_proto::Vocabulary as _;
use tillit_proto::common::Severity;
use tillit_proto::incidents::{DataSubjectRisk, SecurityProperty, TriageAssessment};
use time::OffsetDateTime;

use super::DomainError;

/// Most assets one triage may name (an incident touching more is recorded in parts).
const MAX_AFFECTED_ASSETS: usize = 1000;
/// Most data categories of one breach.
const MAX_CATEGORIES: usize = 100;

/// A time something happened, through the kernel's one parser.
pub fn happened(
    field: &str,
    ts: &prost_types::Timestamp,
    now: OffsetDateTime,
) -> Result<OffsetDateTime, DomainError> {
    parse_time(field, ts, now, TimeWindow::Happened).map_err(DomainError::Kernel)
}

/// A required time something happened.
pub fn required_happened(
    field: &str,
    ts: Option<&prost_types::Timestamp>,
    now: OffsetDateTime,
) -> Result<OffsetDateTime, DomainError> {
    happened(
        field,
        ts.ok_or_else(|| DomainError::refused(field, Reason::Required, "required"))?,
        now,
    )
}

/// A time something happened, `now` when the request leaves it out.
pub fn past_or_now(
    field: &str,
    raw: Option<&prost_types::Timestamp>,
    now: OffsetDateTime,
) -> Result<OffsetDateTime, DomainError> {
    match raw {
        None => Ok(now),
        Some(ts) => happened(field, ts, now),
    }
}

/// A required due time: up to a year back, at most ten years ahead.
pub fn due(
    field: &str,
    ts: Option<&prost_types::Timestamp>,
    now: OffsetDateTime,
) -> Result<OffsetDateTime, DomainError> {
    let ts = ts.ok_or_else(|| DomainError::refused(field, Reason::Required, "required"))?;
    parse_time(field, ts, now, TimeWindow::Due).map_err(DomainError::Kernel)
}

/// A triage as it is recorded, but for the affected assets and customers (the caller
/// resolves those from the asset facts, [`super::triage::affected`]): severity (required),
/// properties (each once), percentages, outage times in order, risk (required for a
/// breach), bounded lists and notes.
pub fn triage(
    raw: Option<&TriageAssessment>,
    now: OffsetDateTime,
) -> Result<TriageAssessment, DomainError> {
    let raw = raw.ok_or_else(|| DomainError::refused("triage", Reason::Required, "required"))?;
    for (field, count, max) in [
        (
            "triage.affected_assets",
            raw.affected_assets.len(),
            MAX_AFFECTED_ASSETS,
        ),
        (
            "triage.affected_properties",
            raw.affected_properties.len(),
            SecurityProperty::VALUES.len(),
        ),
    ] {
        tillit_api::text::at_most(field, count, max)?;
    }
    let severity: Severity = required("triage.severity", raw.severity)?;
    let mut properties = Vec::new();
    for (index, property) in raw.affected_properties.iter().enumerate() {
        let property: SecurityProperty =
            required(&format!("triage.affected_properties[{index}]"), *property)?;
        if !properties.contains(&property.into()) {
            properties.push(property.into());
        }
    }
    if raw.users_affected_percent > 100 {
        return Err(DomainError::refused(
            "triage.users_affected_percent",
            Reason::OutOfRange,
            "must be 0 to 100",
        ));
    }
    let outage = |field, ts: Option<&prost_types::Timestamp>| {
        ts.map(|t| happened(field, t, now)).transpose()
    };
    let start = outage("triage.outage_start", raw.outage_start.as_ref())?;
    let end = outage("triage.outage_end", raw.outage_end.as_ref())?;
    if let (Some(start), Some(end)) = (start, end)
        && end < start
    {
        return Err(DomainError::refused(
            "triage.outage_end",
            Reason::Conflict,
            "must not be before outage_start",
        ));
    }
    let risk: Option<DataSubjectRisk> =
        optional("triage.risk_to_data_subjects", raw.risk_to_data_subjects)?;
    if raw.personal_data_breach && risk.is_none() {
        required::<DataSubjectRisk>("triage.risk_to_data_subjects", 0)?;
    }
    let data_categories = tillit_api::text::list(
        "triage.data_categories",
        &raw.data_categories,
        MAX_CATEGORIES,
        200,
    )?;
    Ok(TriageAssessment {
        severity: severity.into(),
        affected_properties: properties,
        risk_to_data_subjects: risk.map_or(0, Into::into),
        data_categories,
        notes: tillit_api::text::optional_lines("triage.notes", &raw.notes, 20_000)?,
        ..raw.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(result: Result<TriageAssessment, DomainError>) -> String {
        match result {
            Err(DomainError::Invalid { field, .. }) => field,
            Err(DomainError::Kernel(e)) if e.field().is_some() => {
                e.field().unwrap_or_default().to_owned()
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_triage_is_refused_naming_the_field_that_is_wrong() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let integrity = SecurityProperty::Integrity as i32;
        let good = TriageAssessment {
            severity: Severity::High.into(),
            affected_properties: vec![integrity, integrity],
            ..Default::default()
        };
        let ok = triage(Some(&good), now).unwrap();
        assert_eq!(ok.severity(), Severity::High);
        assert_eq!(ok.affected_properties, [integrity]);
        assert_eq!(field_of(triage(None, now)), "triage");
        let cases = [
            (TriageAssessment::default(), "triage.severity"),
            (
                TriageAssessment {
                    affected_properties: vec![integrity, 0],
                    ..good.clone()
                },
                "triage.affected_properties[1]",
            ),
            (
                TriageAssessment {
                    personal_data_breach: true,
                    ..good.clone()
                },
                "triage.risk_to_data_subjects",
            ),
            (
                TriageAssessment {
                    users_affected_percent: 101,
                    ..good.clone()
                },
                "triage.users_affected_percent",
            ),
            (
                TriageAssessment {
                    outage_start: Some(tillit_kernel::clock::to_timestamp(now)),
                    outage_end: Some(tillit_kernel::clock::to_timestamp(
                        now - time::Duration::hours(1),
                    )),
                    ..good.clone()
                },
                "triage.outage_end",
            ),
            (
                TriageAssessment {
                    data_categories: vec!["health".into(), "a\u{0}b".into()],
                    ..good.clone()
                },
                "triage.data_categories[1]",
            ),
        ];
        for (bad, field) in cases {
            assert_eq!(field_of(triage(Some(&bad), now)), field);
        }
    }
}
