//! The checks of what a request brings, pure: each refusal is INVALID_ARGUMENT naming the
//! field and what is wrong, and the value comes back in the form it is recorded in.

use tillit_kernel::Reason;
use tillit_kernel::clock::{TimeWindow, parse_time};
use tillit_proto::incidents::Triage;
use time::OffsetDateTime;

use super::DomainError;

/// Incident kinds.
pub const KINDS: [&str; 3] = ["deviation", "security_incident", "improvement_proposal"];
/// Severities, least first.
pub const SEVERITIES: [&str; 4] = ["low", "medium", "high", "critical"];
/// The security properties an incident can affect.
pub const PROPERTIES: [&str; 4] = [
    "availability",
    "integrity",
    "confidentiality",
    "traceability",
];
/// Risk to data subjects of a personal-data breach.
pub const RISKS: [&str; 3] = ["unlikely", "risk", "high"];
/// Stages of a notification: the first, updates, and the final report.
pub const STAGES: [&str; 4] = ["initial", "intermediate", "final", "progress"];
/// Statuses an incident can be in.
pub const STATUSES: [&str; 6] = [
    "reported",
    "triaged",
    "contained",
    "resolved",
    "closed",
    "rejected",
];
/// Most assets one triage may name (an incident touching more is recorded in parts).
const MAX_AFFECTED_ASSETS: usize = 1000;
/// Most data categories of one breach.
const MAX_CATEGORIES: usize = 100;

/// One of `allowed`, case and surrounding blanks ignored.
pub fn pick(field: &str, raw: &str, allowed: &[&str]) -> Result<String, DomainError> {
    let value = raw.trim().to_lowercase();
    if allowed.contains(&value.as_str()) {
        Ok(value)
    } else {
        Err(DomainError::refused(
            field,
            Reason::NotOneOf,
            format!("one of {}", allowed.join(", ")),
        ))
    }
}

/// `None` for an empty filter, else one of `allowed`.
pub fn filter(field: &str, raw: &str, allowed: &[&str]) -> Result<Option<String>, DomainError> {
    match raw.trim() {
        "" => Ok(None),
        raw => pick(field, raw, allowed).map(Some),
    }
}

/// A required multi-line text of at most `max` characters (`tillit_text::field`).
pub fn text(field: &str, raw: &str, max: usize) -> Result<String, DomainError> {
    tillit_text::field::required_lines(raw, max).map_err(|p| DomainError::text(field, &p))
}

/// An optional multi-line text of at most `max` characters.
pub fn optional_text(field: &str, raw: &str, max: usize) -> Result<String, DomainError> {
    tillit_text::field::lines(raw, max).map_err(|p| DomainError::text(field, &p))
}

/// A required single-line text (a title, a channel) of at most `max` characters.
pub fn line(field: &str, raw: &str, max: usize) -> Result<String, DomainError> {
    tillit_text::field::line(raw, max).map_err(|p| DomainError::text(field, &p))
}

/// An optional single-line text (a reference) of at most `max` characters.
pub fn optional_line(field: &str, raw: &str, max: usize) -> Result<String, DomainError> {
    tillit_text::field::optional_line(raw, max).map_err(|p| DomainError::text(field, &p))
}

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
/// resolves those from the asset facts, [`super::triage::affected`]): severity, properties
/// (each once), percentages, outage times in order, risk (required for a breach), bounded
/// lists and notes.
pub fn triage(raw: Option<&Triage>, now: OffsetDateTime) -> Result<Triage, DomainError> {
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
            PROPERTIES.len(),
        ),
    ] {
        tillit_text::field::at_most(count, max).map_err(|p| DomainError::text(field, &p))?;
    }
    let mut properties = Vec::new();
    for property in &raw.affected_properties {
        let property = pick("triage.affected_properties", property, &PROPERTIES)?;
        if !properties.contains(&property) {
            properties.push(property);
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
    let risk = match raw.risk_to_data_subjects.as_str() {
        "" if !raw.personal_data_breach => String::new(),
        other => pick("triage.risk_to_data_subjects", other, &RISKS)?,
    };
    let data_categories = tillit_text::field::line_list(
        "triage.data_categories",
        &raw.data_categories,
        MAX_CATEGORIES,
        200,
    )
    .map_err(|(field, p)| DomainError::text(field, &p))?;
    Ok(Triage {
        severity: pick("triage.severity", &raw.severity, &SEVERITIES)?,
        affected_properties: properties,
        risk_to_data_subjects: risk,
        data_categories,
        notes: optional_text("triage.notes", &raw.notes, 20_000)?,
        ..raw.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(result: Result<Triage, DomainError>) -> String {
        match result {
            Err(DomainError::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_triage_is_refused_naming_the_field_that_is_wrong() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let good = Triage {
            severity: "High ".into(),
            affected_properties: vec!["integrity".into(), "integrity".into()],
            ..Default::default()
        };
        let ok = triage(Some(&good), now).unwrap();
        assert_eq!(ok.severity, "high");
        assert_eq!(ok.affected_properties, ["integrity"]);
        assert_eq!(field_of(triage(None, now)), "triage");
        let cases = [
            (
                Triage {
                    severity: "dire".into(),
                    ..Default::default()
                },
                "triage.severity",
            ),
            (
                Triage {
                    personal_data_breach: true,
                    ..good.clone()
                },
                "triage.risk_to_data_subjects",
            ),
            (
                Triage {
                    users_affected_percent: 101,
                    ..good.clone()
                },
                "triage.users_affected_percent",
            ),
            (
                Triage {
                    outage_start: Some(tillit_kernel::clock::to_timestamp(now)),
                    outage_end: Some(tillit_kernel::clock::to_timestamp(
                        now - time::Duration::hours(1),
                    )),
                    ..good.clone()
                },
                "triage.outage_end",
            ),
            (
                Triage {
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
