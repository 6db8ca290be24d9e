//! The annual report's canonical JSON drawn as the page's sections: one table per section
//! in the report's order, each figure labelled in the user's language, counts by kind,
//! severity or property in words, an absent figure as "Not recorded".

use maud::{Markup, html};
use serde_json::{Map, Value};
use tillit_proto::Vocabulary;
use tillit_proto::common::Severity;
use tillit_proto::incidents::{IncidentKind, SecurityProperty};

use crate::i18n::Lang;
use crate::pages::incidents::word;

/// The sections and their figures in the report's order; a figure the service adds later
/// is drawn after these, under its own name.
pub const SECTIONS: &[(&str, &[&str])] = &[
    (
        "incidents",
        &[
            "total",
            "by_kind",
            "by_severity",
            "by_property",
            "by_month",
            "improvement_proposals",
            "mean_minutes_to_triage",
            "mean_minutes_to_resolve",
            "mean_minutes_to_notify",
        ],
    ),
    (
        "obligations",
        &[
            "total",
            "met_on_time",
            "late",
            "waived",
            "not_required",
            "pending",
            "overdue",
            "on_time_percent",
        ],
    ),
    (
        "actions",
        &["total", "open", "overdue", "done", "risk_accepted"],
    ),
    (
        "controls",
        &[
            "assets",
            "gaps_by_tenant_and_class",
            "asset_reviews_current",
            "asset_review_percent",
        ],
    ),
    ("coverage", &["policies", "trainings"]),
    (
        "access_reviews",
        &[
            "campaigns",
            "completed",
            "items",
            "decided",
            "decided_percent",
        ],
    ),
];

/// The label of a figure: `annual-<section>-<figure>`, else its name.
fn label(lang: Lang, section: &str, figure: &str) -> String {
    lang.find(&format!(
        "annual-{}-{}",
        section.replace('_', "-"),
        figure.replace('_', "-")
    ))
    .unwrap_or_else(|| figure.replace('_', " "))
}

/// A map's key in words: a kind, severity or property the vocabularies know, else as is
/// (a month, a tenant, a class, a policy or course id).
fn key_words(lang: Lang, key: &str) -> String {
    if let Some(kind) = IncidentKind::from_word(key) {
        return word(lang, "kind", kind);
    }
    if let Some(severity) = Severity::from_word(key) {
        return word(lang, "severity", severity);
    }
    if let Some(property) = SecurityProperty::from_word(key) {
        return word(lang, "triage", property);
    }
    key.to_owned()
}

/// A leaf's value in words.
fn value_words(lang: Lang, value: &Value) -> String {
    match value {
        Value::Null => lang.t("print-not-recorded"),
        Value::String(s) if s.is_empty() => lang.t("print-not-recorded"),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The rows of one figure: (label, value), a map giving one row per key.
fn rows(lang: Lang, label: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) if is_coverage(map) => {
            let n = |k: &str| map.get(k).map(|v| value_words(lang, v)).unwrap_or_default();
            out.push((
                label.to_owned(),
                lang.t_with(
                    "annual-covered",
                    &[
                        ("covered", crate::i18n::text(n("covered"))),
                        ("staff", crate::i18n::text(n("staff"))),
                        ("percent", crate::i18n::text(n("percent"))),
                    ],
                ),
            ));
        }
        Value::Object(map) if map.is_empty() => out.push((label.to_owned(), "0".into())),
        Value::Object(map) => {
            for (key, inner) in map {
                rows(
                    lang,
                    &format!("{label} · {}", key_words(lang, key)),
                    inner,
                    out,
                );
            }
        }
        leaf => out.push((label.to_owned(), value_words(lang, leaf))),
    }
}

/// `{staff, covered, percent}`: how many of whom.
fn is_coverage(map: &Map<String, Value>) -> bool {
    map.len() == 3
        && ["staff", "covered", "percent"]
            .iter()
            .all(|k| map.contains_key(*k))
}

/// Every section of the report `json`, in order.
pub fn sections(lang: Lang, json: &str) -> Markup {
    let report: Value = serde_json::from_str(json).unwrap_or(Value::Null);
    let drawn: Vec<(&str, Vec<(String, String)>)> = SECTIONS
        .iter()
        .filter_map(|(section, known)| {
            let Some(Value::Object(figures)) = report.get(*section) else {
                return None;
            };
            let added = figures
                .keys()
                .map(String::as_str)
                .filter(|k| !known.contains(k));
            let mut found = Vec::new();
            for figure in known.iter().copied().chain(added) {
                if let Some(value) = figures.get(figure) {
                    rows(lang, &label(lang, section, figure), value, &mut found);
                }
            }
            Some((*section, found))
        })
        .collect();
    html! {
        @for (section, found) in &drawn {
            section.report-section aria-labelledby={ "section-" (section) } {
                h2 id={ "section-" (section) } { (lang.t(&format!("annual-section-{}", section.replace('_', "-")))) }
                table.list {
                    thead { tr {
                        th scope="col" { (lang.t("annual-figure")) }
                        th scope="col" { (lang.t("annual-value")) }
                    } }
                    tbody { @for (name, value) in found { tr { td { (name) } td.value { (value) } } } }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = r#"{
      "year": 2026,
      "incidents": {"total": 3, "by_kind": {"deviation": 2, "security_incident": 1},
                    "by_severity": {}, "mean_minutes_to_triage": null, "something_new": 7},
      "obligations": {"total": 1, "met_on_time": 1, "on_time_percent": "100.0"},
      "coverage": {"policies": {"information-security": {"staff": 4, "covered": 3, "percent": "75.0"}}, "trainings": {}}
    }"#;

    #[test]
    fn the_report_reads_in_its_order_in_both_languages_with_every_label_known() {
        for lang in [Lang::Sv, Lang::En] {
            let html = sections(lang, REPORT).into_string();
            assert!(!html.contains("Unknown localization key"), "{html}");
            for (section, figures) in SECTIONS {
                for figure in *figures {
                    assert!(
                        lang.find(&format!(
                            "annual-{}-{}",
                            section.replace('_', "-"),
                            figure.replace('_', "-")
                        ))
                        .is_some(),
                        "{section}.{figure} in {lang:?}"
                    );
                }
            }
        }
        let html = sections(Lang::En, REPORT).into_string();
        let at = |needle: &str| {
            html.find(needle)
                .unwrap_or_else(|| panic!("{needle}: {html}"))
        };
        assert!(at("id=\"section-incidents\"") < at("id=\"section-obligations\""));
        assert!(at("id=\"section-obligations\"") < at("id=\"section-coverage\""));
        assert!(
            html.contains("Deviation</td><td class=\"value\">2"),
            "{html}"
        );
        assert!(html.contains("Not recorded"), "a mean of nothing: {html}");
        assert!(
            html.contains("something new"),
            "a new figure is still drawn"
        );
        assert!(html.contains("3 of 4 (75.0 %)"), "{html}");
        assert!(
            !html.contains("section-actions"),
            "a section the report lacks is left out"
        );
    }
}
