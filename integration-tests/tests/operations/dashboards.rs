//! The Grafana dashboard and the Prometheus alert rules inside the chart (`charts/tillit/files/`) load as they are
//! and read only metrics Tillit exposes and `docs/operations.md` explains.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use tillit_integration_tests::receivers::workspace_root;

/// The metric names an expression reads (`tillit_…`, `process_…`), without the suffixes
/// of a histogram's series.
fn metrics_in(expr: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (at, _) in expr
        .match_indices("tillit_")
        .chain(expr.match_indices("process_"))
    {
        if expr[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            continue;
        }
        let name: String = expr[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let base = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .unwrap_or(&name);
        found.insert(base.to_owned());
    }
    found
}

/// The metric names `docs/operations.md` lists (first column of its metric table).
fn documented() -> BTreeSet<String> {
    let docs = std::fs::read_to_string(workspace_root().join("docs/operations.md"))
        .expect("docs/operations.md");
    docs.lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split('`').next())
        .filter(|name| name.starts_with("tillit_") || name.starts_with("process_"))
        .map(|name| name.split('{').next().unwrap_or(name).to_owned())
        .collect()
}

fn undocumented(exprs: &[String], known: &BTreeSet<String>) -> Vec<String> {
    exprs
        .iter()
        .flat_map(|e| metrics_in(e))
        .filter(|m| !known.contains(m))
        .collect()
}

#[test]
fn the_grafana_dashboard_loads_and_reads_only_documented_metrics() {
    let path = workspace_root().join("charts/tillit/files/grafana/tillit.json");
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("the dashboard"))
            .expect("JSON");
    assert_eq!(dashboard["uid"], "tillit-overview");
    assert!(dashboard["schemaVersion"].as_u64().is_some_and(|v| v >= 36));
    let panels = dashboard["panels"].as_array().expect("panels");
    let mut ids = BTreeSet::new();
    let mut exprs = Vec::new();
    for panel in panels {
        assert!(
            ids.insert(panel["id"].as_u64().expect("an id")),
            "panel ids are unique"
        );
        for key in ["h", "w", "x", "y"] {
            assert!(
                panel["gridPos"][key].is_u64(),
                "{}: gridPos.{key}",
                panel["title"]
            );
        }
        if panel["type"] == "row" {
            continue;
        }
        assert_eq!(
            panel["datasource"]["uid"], "${datasource}",
            "{}",
            panel["title"]
        );
        let targets = panel["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "{}", panel["title"]);
        for target in targets {
            let expr = target["expr"].as_str().expect("an expression");
            assert!(!metrics_in(expr).is_empty(), "{expr}");
            exprs.push(expr.to_owned());
        }
    }
    let titles: Vec<&str> = panels.iter().filter_map(|p| p["title"].as_str()).collect();
    for wanted in [
        "Calls per second by service",
        "Latency p50 / p99 by service",
        "Errors per second by code",
        "Projection lag (commits)",
        "Commands by outcome",
        "Reminder deliveries",
    ] {
        assert!(titles.contains(&wanted), "{wanted} in {titles:?}");
    }
    let known = documented();
    assert!(
        known.len() > 15,
        "the metric table of docs/operations.md: {known:?}"
    );
    let missing = undocumented(&exprs, &known);
    assert!(
        missing.is_empty(),
        "the dashboard reads undocumented metrics: {missing:?}"
    );
}

#[test]
fn the_alert_rules_pass_promtool_and_read_only_documented_metrics() {
    let dir = workspace_root().join("charts/tillit/files/prometheus");
    let rules: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(dir.join("tillit-alerts.yml")).expect("the rules"),
    )
    .expect("YAML");
    let mut exprs = Vec::new();
    let mut alerts = BTreeSet::new();
    for group in rules["groups"].as_sequence().expect("groups") {
        for rule in group["rules"].as_sequence().expect("rules") {
            let alert = rule["alert"].as_str().expect("an alert name");
            assert!(
                matches!(
                    rule["labels"]["severity"].as_str(),
                    Some("critical" | "warning")
                ),
                "{alert}: severity"
            );
            assert!(
                rule["annotations"]["summary"].is_string(),
                "{alert}: summary"
            );
            exprs.push(rule["expr"].as_str().expect("expr").to_owned());
            alerts.insert(alert.to_owned());
        }
    }
    for wanted in [
        "TillitProjectionLagGrowing",
        "TillitNatsDisconnected",
        "TillitReminderDeliveryFailing",
        "TillitObligationDueWithinHour",
    ] {
        assert!(alerts.contains(wanted), "{wanted} in {alerts:?}");
    }
    let missing = undocumented(&exprs, &documented());
    assert!(
        missing.is_empty(),
        "the rules read undocumented metrics: {missing:?}"
    );

    // promtool, installed by `scripts/ensure-deps.sh promtool` (just test does).
    let promtool = |args: &[&str]| {
        Command::new("promtool")
            .args(args)
            .current_dir(&dir)
            .output()
    };
    match promtool(&["check", "rules", "tillit-alerts.yml"]) {
        Ok(checked) => {
            let text = String::from_utf8_lossy(&checked.stdout).into_owned()
                + &String::from_utf8_lossy(&checked.stderr);
            assert!(checked.status.success(), "promtool check rules:\n{text}");
            let tested = promtool(&["test", "rules", "tillit-alerts.test.yml"]).expect("promtool");
            let text = String::from_utf8_lossy(&tested.stdout).into_owned()
                + &String::from_utf8_lossy(&tested.stderr);
            assert!(tested.status.success(), "promtool test rules:\n{text}");
        }
        Err(e) => {
            assert!(
                !Path::new("/usr/bin/promtool").exists(),
                "promtool exists but did not run: {e}"
            );
            eprintln!(
                "promtool is not installed (scripts/ensure-deps.sh promtool): the schema check above stands alone"
            );
        }
    }
}
