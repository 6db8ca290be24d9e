//! Tables for people, JSON for scripts (`--json`).

use serde_json::Value;

/// Prints `rows` as an aligned table under `header`, or as a JSON array of objects.
pub fn table(json: bool, header: &[&str], rows: Vec<Vec<String>>) {
    if json {
        let items: Vec<Value> = rows
            .into_iter()
            .map(|row| {
                Value::Object(
                    header
                        .iter()
                        .zip(row)
                        .map(|(k, v)| ((*k).to_owned(), Value::String(v)))
                        .collect(),
                )
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&items).unwrap_or_default()
        );
        return;
    }
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .into_iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header.iter().map(|h| h.to_uppercase()).collect());
    if rows.is_empty() {
        println!("(none)");
    }
    for row in rows {
        line(row);
    }
}

/// Prints one record as `key: value` lines, or as a JSON object.
pub fn record(json: bool, fields: Vec<(&str, String)>) {
    if json {
        let object: serde_json::Map<String, Value> = fields
            .into_iter()
            .map(|(k, v)| (k.to_owned(), Value::String(v)))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&Value::Object(object)).unwrap_or_default()
        );
        return;
    }
    let width = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (key, value) in fields {
        println!("{key:<width$}  {value}");
    }
}

/// A timestamp as RFC 3339, empty when unset.
pub fn time(ts: Option<&prost_types::Timestamp>) -> String {
    ts.and_then(|ts| {
        time::OffsetDateTime::from_unix_timestamp(ts.seconds)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
    })
    .unwrap_or_default()
}
