//! The report's three forms, all from the same figures: canonical JSON, CSV and a
//! printable HTML page with no external assets.

use serde_json::Value;

use super::figures::AnnualReport;

/// Canonical JSON: fields in declaration order, maps ordered, two-space indentation.
pub fn json(report: &AnnualReport) -> String {
    serde_json::to_string_pretty(report).unwrap_or_default()
}

/// (section, figure, value) rows: every leaf of the JSON, in order.
fn rows(report: &AnnualReport) -> Vec<(String, String, String)> {
    fn walk(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    let path = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    walk(&path, value, out);
                }
            }
            Value::String(s) => out.push((prefix.to_owned(), s.clone())),
            Value::Null => out.push((prefix.to_owned(), String::new())),
            other => out.push((prefix.to_owned(), other.to_string())),
        }
    }
    // Sections in the report's order; within a section, keys in order (maps are sorted).
    let value = |v: Result<Value, serde_json::Error>| v.unwrap_or(Value::Null);
    let sections = [
        (
            "report",
            serde_json::json!({
                "year": report.year,
                "now": report.now,
                "rules_sha256": report.rules_sha256,
            }),
        ),
        ("as_of", value(serde_json::to_value(&report.as_of))),
        ("incidents", value(serde_json::to_value(&report.incidents))),
        (
            "obligations",
            value(serde_json::to_value(&report.obligations)),
        ),
        ("actions", value(serde_json::to_value(&report.actions))),
        ("controls", value(serde_json::to_value(&report.controls))),
        ("coverage", value(serde_json::to_value(&report.coverage))),
        (
            "access_reviews",
            value(serde_json::to_value(&report.access_reviews)),
        ),
    ];
    let mut rows = Vec::new();
    for (section, value) in sections {
        let mut leaves = Vec::new();
        walk("", &value, &mut leaves);
        rows.extend(
            leaves
                .into_iter()
                .map(|(figure, value)| (section.to_owned(), figure, value)),
        );
    }
    rows
}

/// CSV with the header `section,figure,value`.
pub fn csv(report: &AnnualReport) -> String {
    let mut writer = tillit_text::csv::SafeCsv::new();
    let _ = writer.record(["section", "figure", "value"]);
    for (section, figure, value) in rows(report) {
        let _ = writer.record([section, figure, value]);
    }
    writer.into_string().unwrap_or_default()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A printable page: one table per section, styles inline, nothing fetched.
pub fn html(report: &AnnualReport) -> String {
    let mut page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>Tillit management review {year}</title>\n<style>\n\
         body {{ font-family: sans-serif; margin: 2em; color: #111; }}\n\
         table {{ border-collapse: collapse; margin-bottom: 1.5em; min-width: 30em; }}\n\
         th, td {{ border: 1px solid #999; padding: 0.25em 0.6em; text-align: left; }}\n\
         td.value {{ text-align: right; font-variant-numeric: tabular-nums; }}\n\
         @media print {{ h2 {{ page-break-after: avoid; }} table {{ page-break-inside: avoid; }} }}\n\
         </style>\n</head>\n<body>\n<h1>Information-security management review {year}</h1>\n\
         <p>Computed from the event log as of {as_of}; figures as of {now}. Rule set {rules}.</p>\n",
        year = report.year,
        as_of = escape(
            &report
                .as_of
                .iter()
                .map(|(stream, sequence)| format!("{stream} {sequence}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        now = escape(&report.now),
        rules = escape(&report.rules_sha256),
    );
    let mut current = String::new();
    for (section, figure, value) in rows(report) {
        if section == "report" {
            continue;
        }
        if section != current {
            if !current.is_empty() {
                page.push_str("</table>\n");
            }
            page.push_str(&format!(
                "<h2>{}</h2>\n<table>\n<tr><th>Figure</th><th>Value</th></tr>\n",
                escape(&section.replace('_', " "))
            ));
            current = section;
        }
        page.push_str(&format!(
            "<tr><td>{}</td><td class=\"value\">{}</td></tr>\n",
            escape(&figure.replace('_', " ")),
            escape(&value)
        ));
    }
    if !current.is_empty() {
        page.push_str("</table>\n");
    }
    page.push_str("</body>\n</html>\n");
    page
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use tillit_rules::RuleSet;
    use time::macros::datetime;

    use super::super::figures::{Input, annual_report};
    use super::*;

    fn empty() -> AnnualReport {
        annual_report(&Input {
            year: 2026,
            now: datetime!(2026-06-30 12:00 UTC),
            as_of: &[],
            rules: &RuleSet::default(),
            incidents: &[],
            triaged_at: &BTreeMap::new(),
            assets: &[],
            staff: &[],
            policies: &[],
            trainings: &[],
            campaigns: &[],
        })
    }

    #[test]
    fn csv_and_html_follow_the_reports_section_order() {
        let report = empty();
        let csv = csv(&report);
        let sections: Vec<&str> = csv
            .lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap())
            .fold(Vec::new(), |mut seen, s| {
                if seen.last() != Some(&s) {
                    seen.push(s);
                }
                seen
            });
        assert_eq!(
            sections,
            [
                "report",
                "incidents",
                "obligations",
                "actions",
                "controls",
                "access_reviews"
            ],
            "as_of and coverage have no rows when empty"
        );
        assert!(csv.starts_with("section,figure,value\nreport,"));
        assert!(csv.contains("\nreport,year,2026\n"));
        let html = html(&report);
        assert!(html.find("<h2>incidents</h2>") < html.find("<h2>access reviews</h2>"));
        assert_eq!(
            json(&report),
            json(&empty()),
            "the same figures, the same bytes"
        );
    }

    #[test]
    fn html_escapes_what_it_shows() {
        assert_eq!(
            escape("<a href=\"x\">&</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"
        );
    }
}
