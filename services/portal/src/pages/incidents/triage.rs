//! The security officer's triage of an incident: severity, what was affected, whether it
//! is a personal-data breach and how risky for the people concerned, and the NIS2
//! significance inputs. The incidents service derives the legal obligations; the page it
//! lands on shows them with their recipients and due times.

use maud::{Markup, html};
use tillit_proto::Vocabulary;
use tillit_proto::common::Severity;
use tillit_proto::incidents::{
    AssetImpact, DataSubjectRisk, Incident, SecurityProperty, TriageAssessment,
};

use super::Problems;
use crate::i18n::Lang;
use crate::pages::{local_input, parse_local};

/// The triage form's fields; a checkbox is present only when ticked, and `asset` once
/// per asset ticked.
#[derive(serde::Deserialize, Default)]
pub struct TriageForm {
    #[serde(default)]
    severity: String,
    #[serde(default, rename = "asset")]
    assets: Vec<String>,
    #[serde(default)]
    prop_availability: Option<String>,
    #[serde(default)]
    prop_integrity: Option<String>,
    #[serde(default)]
    prop_confidentiality: Option<String>,
    #[serde(default)]
    prop_traceability: Option<String>,
    #[serde(default)]
    personal_data_breach: Option<String>,
    #[serde(default)]
    data_categories: String,
    #[serde(default)]
    approx_data_subjects: String,
    #[serde(default)]
    approx_records: String,
    #[serde(default)]
    risk: String,
    #[serde(default)]
    suspected_malicious: Option<String>,
    #[serde(default)]
    cross_border: Option<String>,
    #[serde(default)]
    planned_maintenance: Option<String>,
    #[serde(default)]
    data_compromised: Option<String>,
    #[serde(default)]
    outage_start: String,
    #[serde(default)]
    outage_end: String,
    #[serde(default)]
    users_affected_percent: String,
    #[serde(default)]
    estimated_direct_loss_eur: String,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    pub(super) csrf: String,
}

/// The assessment the form describes, and the problems found before asking the service
/// (numbers and times that do not parse).
pub fn assessment(lang: Lang, form: &TriageForm) -> (TriageAssessment, Problems) {
    let mut problems = Problems::new();
    let mut number = |field: &str, raw: &str| -> u64 {
        match raw.trim() {
            "" => 0,
            raw => raw.parse().unwrap_or_else(|_| {
                problems.push((field.to_owned(), lang.t("triage-whole-number")));
                0
            }),
        }
    };
    let approx_data_subjects = number("approx_data_subjects", &form.approx_data_subjects);
    let approx_records = number("approx_records", &form.approx_records);
    let users_affected_percent = number("users_affected_percent", &form.users_affected_percent);
    let estimated_direct_loss_eur =
        number("estimated_direct_loss_eur", &form.estimated_direct_loss_eur);
    let mut time = |field: &str, raw: &str| match raw.trim() {
        "" => None,
        raw => {
            let parsed = parse_local(raw);
            if parsed.is_none() {
                problems.push((field.to_owned(), lang.t("reason-MALFORMED")));
            }
            parsed
        }
    };
    let outage_start = time("outage_start", &form.outage_start);
    let outage_end = time("outage_end", &form.outage_end);
    let properties = [
        (SecurityProperty::Availability, &form.prop_availability),
        (SecurityProperty::Integrity, &form.prop_integrity),
        (
            SecurityProperty::Confidentiality,
            &form.prop_confidentiality,
        ),
        (SecurityProperty::Traceability, &form.prop_traceability),
    ];
    let triage = TriageAssessment {
        severity: Severity::from_word(&form.severity).map_or(0, Into::into),
        affected_properties: properties
            .iter()
            .filter(|(_, ticked)| ticked.is_some())
            .map(|(property, _)| (*property).into())
            .collect(),
        affected_assets: form
            .assets
            .iter()
            .map(|id| AssetImpact {
                asset_id: id.clone(),
                ..Default::default()
            })
            .collect(),
        personal_data_breach: form.personal_data_breach.is_some(),
        data_categories: form
            .data_categories
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect(),
        approx_data_subjects,
        approx_records,
        risk_to_data_subjects: DataSubjectRisk::from_word(&form.risk).map_or(0, Into::into),
        suspected_malicious: form.suspected_malicious.is_some(),
        cross_border: form.cross_border.is_some(),
        outage_start,
        outage_end,
        planned_maintenance: form.planned_maintenance.is_some(),
        users_affected_percent: u32::try_from(users_affected_percent).unwrap_or(u32::MAX),
        estimated_direct_loss_eur,
        data_compromised: form.data_compromised.is_some(),
        notes: form.notes.clone(),
        ..Default::default()
    };
    (triage, problems)
}

/// The triage form for `incident`, filled from `form` (a refused attempt) or from the
/// incident's current assessment.
pub fn form(
    lang: Lang,
    csrf: &str,
    incident: &Incident,
    assets: &[(String, String)],
    refused: Option<(&TriageForm, &Problems)>,
) -> Markup {
    let current = incident.triage.clone().unwrap_or_default();
    let problem = |field: &str| -> Markup {
        let found = refused.and_then(|(_, problems)| problems.iter().find(|(f, _)| f == field));
        html! { @if let Some((_, text)) = found { p.problem id={ (field) "-problem" } { (text) } } }
    };
    let general: Vec<&String> = refused
        .map(|(_, problems)| {
            problems
                .iter()
                .filter(|(f, _)| !KNOWN.contains(&f.as_str()))
                .map(|(_, text)| text)
                .collect()
        })
        .unwrap_or_default();
    let value = |posted: &dyn Fn(&TriageForm) -> String, stored: String| -> String {
        refused.map_or(stored, |(form, _)| posted(form))
    };
    let ticked = |posted: &dyn Fn(&TriageForm) -> bool, stored: bool| -> bool {
        refused.map_or(stored, |(form, _)| posted(form))
    };
    let linked = |id: &str| match refused {
        Some((form, _)) => form.assets.iter().any(|a| a == id),
        None => current.affected_assets.iter().any(|a| a.asset_id == id),
    };
    let has = |p: SecurityProperty| current.affected_properties().any(|q| q == p);
    let severity = value(
        &|f| f.severity.clone(),
        match current.severity() {
            Severity::Unspecified => String::new(),
            s => s.word().to_owned(),
        },
    );
    let risk = value(
        &|f| f.risk.clone(),
        match current.risk_to_data_subjects() {
            DataSubjectRisk::Unspecified => String::new(),
            r => r.word().to_owned(),
        },
    );
    let number = |n: u64| if n == 0 { String::new() } else { n.to_string() };
    let checkbox = |name: &str, label: &str, on: bool| {
        html! {
            div.choice {
                input type="checkbox" id=(name) name=(name) checked[on];
                label for=(name) { (lang.t(label)) }
            }
        }
    };
    html! {
        section.card aria-labelledby="triage" {
            h2 #triage { (lang.t("triage-title")) }
            @for text in &general { p.alert role="alert" { (text) } }
            form method="post" action={ "/incidents/" (incident.incident_id) "/triage#triage" } {
                input type="hidden" name="csrf" value=(csrf);
                label for="severity" { (lang.t("incidents-severity")) }
                select #severity name="severity" required {
                    option value="" { "—" }
                    @for s in Severity::VALUES {
                        option value=(s.word()) selected[severity == s.word()] { (lang.t(&format!("severity-{}", s.word()))) }
                    }
                }
                (problem("severity"))
                fieldset {
                    legend { (lang.t("triage-properties")) }
                    (checkbox("prop_availability", "triage-availability", ticked(&|f| f.prop_availability.is_some(), has(SecurityProperty::Availability))))
                    (checkbox("prop_integrity", "triage-integrity", ticked(&|f| f.prop_integrity.is_some(), has(SecurityProperty::Integrity))))
                    (checkbox("prop_confidentiality", "triage-confidentiality", ticked(&|f| f.prop_confidentiality.is_some(), has(SecurityProperty::Confidentiality))))
                    (checkbox("prop_traceability", "triage-traceability", ticked(&|f| f.prop_traceability.is_some(), has(SecurityProperty::Traceability))))
                    (problem("affected_properties"))
                }
                @if !assets.is_empty() {
                    fieldset {
                        legend { (lang.t("triage-assets")) }
                        @for (id, name) in assets {
                            div.choice {
                                input type="checkbox" id={ "asset-" (super::dom_id(id)) } name="asset" value=(id) checked[linked(id)];
                                label for={ "asset-" (super::dom_id(id)) } { (name) }
                            }
                        }
                        (problem("affected_assets"))
                    }
                }
                fieldset {
                    legend { (lang.t("triage-personal-data")) }
                    (checkbox("personal_data_breach", "triage-breach", ticked(&|f| f.personal_data_breach.is_some(), current.personal_data_breach)))
                    label for="data_categories" { (lang.t("triage-categories")) }
                    input #data_categories type="text" name="data_categories" value=(value(&|f| f.data_categories.clone(), current.data_categories.join(", ")));
                    (problem("data_categories"))
                    label for="approx_data_subjects" { (lang.t("triage-subjects")) }
                    input #approx_data_subjects type="text" inputmode="numeric" name="approx_data_subjects" value=(value(&|f| f.approx_data_subjects.clone(), number(current.approx_data_subjects)));
                    (problem("approx_data_subjects"))
                    label for="approx_records" { (lang.t("triage-records")) }
                    input #approx_records type="text" inputmode="numeric" name="approx_records" value=(value(&|f| f.approx_records.clone(), number(current.approx_records)));
                    (problem("approx_records"))
                    label for="risk" { (lang.t("triage-risk")) }
                    select #risk name="risk" {
                        option value="" { "—" }
                        @for r in DataSubjectRisk::VALUES {
                            option value=(r.word()) selected[risk == r.word()] { (lang.t(&format!("risk-{}", r.word()))) }
                        }
                    }
                    (problem("risk_to_data_subjects"))
                }
                fieldset {
                    legend { (lang.t("triage-nis2")) }
                    (checkbox("suspected_malicious", "triage-malicious", ticked(&|f| f.suspected_malicious.is_some(), current.suspected_malicious)))
                    (checkbox("cross_border", "triage-cross-border", ticked(&|f| f.cross_border.is_some(), current.cross_border)))
                    (checkbox("data_compromised", "triage-compromised", ticked(&|f| f.data_compromised.is_some(), current.data_compromised)))
                    (checkbox("planned_maintenance", "triage-maintenance", ticked(&|f| f.planned_maintenance.is_some(), current.planned_maintenance)))
                    label for="outage_start" { (lang.t("triage-outage-start")) }
                    input #outage_start type="datetime-local" name="outage_start" value=(value(&|f| f.outage_start.clone(), current.outage_start.map(local_input).unwrap_or_default()));
                    (problem("outage_start"))
                    label for="outage_end" { (lang.t("triage-outage-end")) }
                    input #outage_end type="datetime-local" name="outage_end" value=(value(&|f| f.outage_end.clone(), current.outage_end.map(local_input).unwrap_or_default()));
                    (problem("outage_end"))
                    label for="users_affected_percent" { (lang.t("triage-users")) }
                    input #users_affected_percent type="text" inputmode="numeric" name="users_affected_percent" value=(value(&|f| f.users_affected_percent.clone(), number(current.users_affected_percent.into())));
                    (problem("users_affected_percent"))
                    label for="estimated_direct_loss_eur" { (lang.t("triage-loss")) }
                    input #estimated_direct_loss_eur type="text" inputmode="numeric" name="estimated_direct_loss_eur" value=(value(&|f| f.estimated_direct_loss_eur.clone(), number(current.estimated_direct_loss_eur)));
                    (problem("estimated_direct_loss_eur"))
                }
                label for="notes" { (lang.t("triage-notes")) }
                textarea #notes name="notes" rows="4" { (value(&|f| f.notes.clone(), current.notes.clone())) }
                (problem("notes"))
                button.primary type="submit" { (lang.t("triage-submit")) }
            }
        }
    }
}

/// The fields the form shows a problem next to; any other problem goes above it.
const KNOWN: [&str; 12] = [
    "severity",
    "affected_assets",
    "affected_properties",
    "data_categories",
    "approx_data_subjects",
    "approx_records",
    "risk_to_data_subjects",
    "outage_start",
    "outage_end",
    "users_affected_percent",
    "estimated_direct_loss_eur",
    "notes",
];
