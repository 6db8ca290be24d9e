//! The dashboard on the home page of those who read reports or handle incidents: incidents
//! per month by kind, open incidents by severity, obligations by outcome (met on time,
//! late, overdue, …), control gaps by classification level, and policy coverage. Each
//! chart is SVG drawn on the server by `charts-rs` (presentation attributes only, so the
//! page's CSP holds), named by its `<title>` and `aria-label`, and has its figures as a
//! table beside it for screen readers and anyone who prefers numbers.

use charts_rs::{BarChart, Series, YAxisConfig};
use maud::{Markup, PreEscaped, html};
use tillit_auth::Permission;
use tillit_proto::Vocabulary;
use tillit_proto::common::Severity;
use tillit_proto::incidents::IncidentKind;
use tillit_proto::reporting::{Count, GetDashboardRequest, GetDashboardResponse};

use crate::i18n::{Lang, text};
use crate::pages::incidents::word;
use crate::pages::layout::Viewer;
use crate::pages::when;

/// Whether the viewer's home page has the dashboard (reporting answers them).
pub fn may_see(viewer: &Viewer) -> bool {
    [
        Permission::ReadReports,
        Permission::ReadEverything,
        Permission::ManageIncidents,
    ]
    .into_iter()
    .any(|p| viewer.may(p))
        && !viewer.roles.contains(&tillit_auth::Role::Customer)
}

/// One chart: what it shows, its categories and its series (name, values).
pub struct Chart {
    /// The element id (`chart-<id>`).
    pub id: &'static str,
    /// Its title in the user's language.
    pub title: String,
    /// The categories along the x axis, in words.
    pub categories: Vec<String>,
    /// Each series' name and its value per category.
    pub series: Vec<(String, Vec<u32>)>,
}

impl Chart {
    /// The chart as SVG, named for assistive technology.
    fn svg(&self) -> String {
        let series: Vec<Series> = self
            .series
            .iter()
            .map(|(name, values)| {
                let mut serie: Series =
                    (name.as_str(), values.iter().map(|v| *v as f32).collect()).into();
                serie.label_show = values.len() <= 6;
                serie
            })
            .collect();
        let mut chart = BarChart::new(series, self.categories.clone());
        chart.width = 560.0;
        chart.height = 300.0;
        chart.font_family = "system-ui, sans-serif".into();
        chart.legend_show = Some(self.series.len() > 1);
        chart.x_axis_font_size = if self.categories.len() > 6 {
            10.0
        } else {
            13.0
        };
        let top = self
            .series
            .iter()
            .flat_map(|(_, values)| values.iter().copied())
            .max()
            .unwrap_or(0)
            .max(1);
        let split = top.min(5);
        if let Some(axis) = chart.y_axis_configs.first_mut() {
            *axis = YAxisConfig {
                axis_min: Some(0.0),
                axis_max: Some((top.div_ceil(split) * split) as f32),
                axis_split_number: split as usize,
                axis_formatter: Some("{c}".into()),
                ..axis.clone()
            };
        }
        let svg = chart.svg().unwrap_or_default();
        // The library draws; the page names what it drew.
        let escaped = html! { (self.title) }.into_string();
        svg.replacen(
            "<svg ",
            &format!("<svg role=\"img\" aria-label=\"{escaped}\" class=\"chart\" "),
            1,
        )
        .replacen('>', &format!("><title>{escaped}</title>"), 1)
    }

    /// The chart with its figures as a table.
    pub fn draw(&self, lang: Lang) -> Markup {
        html! {
            figure.card.chart id={ "chart-" (self.id) } {
                figcaption { h2 { (self.title) } }
                @if self.categories.is_empty() {
                    p.muted { (lang.t("dashboard-nothing-yet")) }
                } @else {
                    (PreEscaped(self.svg()))
                }
                details {
                    summary { (lang.t("dashboard-as-table")) }
                    table.list {
                        caption.visually-hidden { (self.title) }
                        thead { tr {
                            th scope="col" { }
                            @for (name, _) in &self.series { th scope="col" { (name) } }
                        } }
                        tbody {
                            @for (i, category) in self.categories.iter().enumerate() {
                                tr {
                                    th scope="row" { (category) }
                                    @for (_, values) in &self.series { td { (values.get(i).copied().unwrap_or(0)) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn counts(counts: &[Count]) -> Vec<u32> {
    counts.iter().map(|c| c.count).collect()
}

/// The charts of a dashboard, in the page's order.
pub fn charts(lang: Lang, dashboard: &GetDashboardResponse) -> Vec<Chart> {
    let kinds = [IncidentKind::Deviation, IncidentKind::SecurityIncident];
    let months: Vec<String> = dashboard
        .incidents_per_month_by_kind
        .iter()
        .map(|m| m.month.clone())
        .collect();
    let by_kind = kinds
        .iter()
        .map(|kind| {
            let values = dashboard
                .incidents_per_month_by_kind
                .iter()
                .map(|m| {
                    m.counts
                        .iter()
                        .find(|c| c.label == kind.word())
                        .map_or(0, |c| c.count)
                })
                .collect();
            (word(lang, "kind", *kind), values)
        })
        .collect();
    let severity_words = |label: &str| match Severity::from_word(label) {
        Some(severity) => word(lang, "severity", severity),
        None => lang.t("incident-not-triaged"),
    };
    let outcome_words = |label: &str| {
        lang.find(&format!("dashboard-outcome-{}", label.replace('_', "-")))
            .unwrap_or_else(|| label.to_owned())
    };
    let level_words = |label: &str| match label {
        "unclassified" => lang.t("asset-unclassified"),
        level => lang.t_with("dashboard-level", &[("level", text(level.to_owned()))]),
    };
    vec![
        Chart {
            id: "incidents-per-month",
            title: lang.t("dashboard-incidents-per-month"),
            categories: months,
            series: by_kind,
        },
        Chart {
            id: "open-by-severity",
            title: lang.t("dashboard-open-by-severity"),
            categories: dashboard
                .open_incidents_by_severity
                .iter()
                .map(|c| severity_words(&c.label))
                .collect(),
            series: vec![(
                lang.t("dashboard-open"),
                counts(&dashboard.open_incidents_by_severity),
            )],
        },
        Chart {
            id: "obligations",
            title: lang.t("dashboard-obligations"),
            categories: dashboard
                .obligations_by_outcome
                .iter()
                .map(|c| outcome_words(&c.label))
                .collect(),
            series: vec![(
                lang.t("dashboard-obligation-count"),
                counts(&dashboard.obligations_by_outcome),
            )],
        },
        Chart {
            id: "gaps-by-level",
            title: lang.t("dashboard-gaps-by-level"),
            categories: dashboard
                .control_gaps_by_level
                .iter()
                .map(|c| level_words(&c.label))
                .collect(),
            series: vec![(
                lang.t("asset-gaps"),
                counts(&dashboard.control_gaps_by_level),
            )],
        },
        Chart {
            id: "policy-coverage",
            title: lang.t("dashboard-policy-coverage"),
            categories: dashboard
                .policy_coverage
                .iter()
                .map(|p| p.title.clone())
                .collect(),
            series: vec![
                (
                    lang.t("dashboard-covered"),
                    dashboard
                        .policy_coverage
                        .iter()
                        .map(|p| p.covered)
                        .collect(),
                ),
                (
                    lang.t("dashboard-missing"),
                    dashboard
                        .policy_coverage
                        .iter()
                        .map(|p| p.staff.saturating_sub(p.covered))
                        .collect(),
                ),
            ],
        },
    ]
}

/// The dashboard section of the home page; nothing when reporting does not answer (the
/// page still shows the tasks).
pub async fn section(state: &crate::Portal, access: &str, lang: Lang, after: &str) -> Markup {
    let request = GetDashboardRequest {
        consistency: crate::api::parse_after(after),
    };
    let answer = state
        .reporting
        .clone()
        .get_dashboard(crate::bearer(access, request))
        .await;
    let dashboard = match answer {
        Ok(answer) => answer.into_inner(),
        Err(status) => {
            let _ = crate::api::Failure::of(&status);
            return html! { p.muted { (lang.t("dashboard-unavailable")) } };
        }
    };
    html! {
        section aria-labelledby="dashboard" {
            h2 #dashboard { (lang.t("dashboard-title")) }
            p.muted {
                (lang.t_with("dashboard-figures", &[
                    ("overdue_obligations", dashboard.overdue_obligations.into()),
                    ("overdue_actions", dashboard.overdue_actions.into()),
                    ("gaps", dashboard.control_gaps.into()),
                ]))
                @if let Some(at) = dashboard.computed_at.as_ref() { " · " (when(at)) }
            }
            div.charts {
                @for chart in charts(lang, &dashboard) { (chart.draw(lang)) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use tillit_proto::reporting::{MonthCounts, PolicyCoverage};

    use super::*;

    fn count(label: &str, count: u32) -> Count {
        Count {
            label: label.into(),
            count,
        }
    }

    #[test]
    fn each_chart_is_an_svg_with_a_bar_per_figure_a_title_and_a_table() {
        let dashboard = GetDashboardResponse {
            open_incidents_by_severity: ["critical", "high", "medium", "low", "untriaged"]
                .iter()
                .map(|l| count(l, 1))
                .collect(),
            incidents_per_month_by_kind: vec![MonthCounts {
                month: "2026-12".into(),
                counts: vec![count("deviation", 2), count("security_incident", 1)],
            }],
            policy_coverage: vec![PolicyCoverage {
                title: "Säkerhet <b>".into(),
                staff: 4,
                covered: 3,
                ..Default::default()
            }],
            ..Default::default()
        };
        for lang in [Lang::Sv, Lang::En] {
            for chart in charts(lang, &dashboard) {
                let html = chart.draw(lang).into_string();
                assert!(!html.contains("Unknown localization key"), "{html}");
                if chart.categories.is_empty() {
                    assert!(!html.contains("<svg"), "{}: nothing to draw", chart.id);
                    continue;
                }
                assert!(html.contains("<svg role=\"img\" aria-label="), "{html}");
                assert!(html.contains("<title>"), "{html}");
                assert!(
                    !html.contains("style="),
                    "the CSP allows no inline style: {html}"
                );
                let bars: usize = chart.series.iter().map(|(_, v)| v.len()).sum();
                // The background is one rect; each value is one.
                assert_eq!(html.matches("<rect").count(), bars + 1, "{}", chart.id);
            }
        }
        let coverage = charts(Lang::En, &dashboard)
            .pop()
            .expect("coverage")
            .draw(Lang::En);
        assert!(
            !coverage.into_string().contains("<b>"),
            "titles are escaped"
        );
    }
}
