//! The forms of an asset's page, each described once as data — which fields, how each is
//! entered, which request it makes — and drawn and read from that description: evidence
//! (restore test, backup run, backup schedule, monitoring, encryption at rest, patch
//! policy, a critical patch released and applied, access review), a classification with
//! its rationale, the details, the owner, the personal data processed, a periodic review,
//! and retirement. A refused form is drawn again open, with what was typed and each problem
//! next to its field.

use std::collections::BTreeMap;

use maud::{Markup, html};
use tillit_proto::Vocabulary;
use tillit_proto::assets::record_evidence_request::Evidence;
use tillit_proto::assets::{
    AssetAccessReviewed, AssetKind, AssignAssetOwnerRequest, BackupRunRecorded, BackupScheduleSet,
    Classification, ClassifyAssetRequest, CriticalPatchClosed, CriticalPatchOpened,
    EncryptionAtRestSet, MonitoringSet, PatchPolicySet, Processing, RecordEvidenceRequest,
    RecordProcessingRequest, RestoreTestRecorded, RetireAssetRequest, ReviewAssetRequest,
    UpdateAssetDetailsRequest,
};

use crate::i18n::Lang;
use crate::pages::incidents::{Problems, problem_at};
use crate::pages::{local_input, parse_local};

/// How a field is entered.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// One line of text.
    Line,
    /// Several lines.
    Lines,
    /// A Stockholm time, now by default.
    When,
    /// A tick box, ticked by default when `true`.
    Tick(bool),
    /// A whole number.
    Number,
    /// A level 1–4.
    Level,
    /// An asset kind.
    Kind,
    /// A member of staff.
    Person,
}

/// One field: its name in the form, its label's key, how it is entered, whether required.
pub struct Field {
    name: &'static str,
    label: &'static str,
    input: Input,
    required: bool,
}

const fn field(name: &'static str, label: &'static str, input: Input, required: bool) -> Field {
    Field {
        name,
        label,
        input,
        required,
    }
}

/// One form: the last segment of the path it posts to, its title's key, its fields, and
/// whether only those who manage every asset may send it (not the owner).
pub struct Spec {
    /// `restore_test`, `classify`, …
    pub key: &'static str,
    title: &'static str,
    fields: &'static [Field],
    /// Only for those who manage assets (assigning an owner).
    pub managers_only: bool,
}

const fn spec_of(key: &'static str, title: &'static str, fields: &'static [Field]) -> Spec {
    Spec {
        key,
        title,
        fields,
        managers_only: false,
    }
}

/// Every form of an asset's page, in the order drawn.
pub const SPECS: &[Spec] = &[
    spec_of(
        "restore_test",
        "evidence-restore",
        &[
            field("at", "evidence-at", Input::When, true),
            field("success", "evidence-success", Input::Tick(true), false),
            field("note", "evidence-note", Input::Lines, false),
        ],
    ),
    spec_of(
        "backup_run",
        "evidence-backup",
        &[
            field("at", "evidence-at", Input::When, true),
            field("success", "evidence-success", Input::Tick(true), false),
            field("note", "evidence-note", Input::Lines, false),
        ],
    ),
    spec_of(
        "backup_schedule",
        "evidence-backup-schedule",
        &[
            field("schedule", "evidence-schedule", Input::Line, true),
            field("interval_hours", "evidence-interval", Input::Number, true),
        ],
    ),
    spec_of(
        "monitoring",
        "evidence-monitoring",
        &[
            field("enabled", "evidence-monitored", Input::Tick(true), false),
            field("alert_route", "evidence-alert-route", Input::Line, false),
        ],
    ),
    spec_of(
        "encryption",
        "evidence-encryption",
        &[
            field("enabled", "evidence-encrypted", Input::Tick(true), false),
            field("method", "evidence-method", Input::Line, false),
        ],
    ),
    spec_of(
        "patch_policy",
        "evidence-patch-policy",
        &[field("days", "evidence-patch-days", Input::Number, true)],
    ),
    spec_of(
        "access_review",
        "evidence-access-review",
        &[
            field("at", "evidence-at", Input::When, true),
            field("note", "evidence-result", Input::Lines, true),
        ],
    ),
    spec_of(
        "classify",
        "asset-classify",
        &[
            field("c", "asset-confidentiality", Input::Level, true),
            field("i", "asset-integrity", Input::Level, true),
            field("a", "asset-availability", Input::Level, true),
            field("note", "asset-rationale", Input::Lines, true),
        ],
    ),
    spec_of(
        "review",
        "asset-review",
        &[
            field("at", "evidence-at", Input::When, true),
            field("note", "asset-review-notes", Input::Lines, false),
        ],
    ),
    spec_of(
        "patch_opened",
        "evidence-patch-opened",
        &[
            field("patch_id", "evidence-patch-id", Input::Line, true),
            field("title", "evidence-patch-title", Input::Line, true),
            field("at", "evidence-released-at", Input::When, true),
        ],
    ),
    spec_of(
        "patch_closed",
        "evidence-patch-closed",
        &[
            field("patch_id", "evidence-patch-id", Input::Line, true),
            field("at", "evidence-applied-at", Input::When, true),
        ],
    ),
    spec_of(
        "details",
        "asset-details",
        &[
            field("name", "asset-name", Input::Line, true),
            field("kind", "asset-kind", Input::Kind, true),
            field("description", "incident-description", Input::Lines, false),
        ],
    ),
    Spec {
        key: "owner",
        title: "asset-assign-owner",
        fields: &[field("owner", "asset-owner", Input::Person, true)],
        managers_only: true,
    },
    spec_of(
        "processing",
        "asset-processing",
        &[
            field("categories", "asset-data-categories", Input::Line, false),
            field(
                "special",
                "asset-special-categories",
                Input::Tick(false),
                false,
            ),
            field("subjects", "asset-data-subjects", Input::Line, false),
            field("purpose", "asset-purpose", Input::Line, false),
            field("retention", "asset-retention", Input::Line, false),
            field("recipients", "asset-recipients", Input::Line, false),
            field("sub_processors", "asset-sub-processors", Input::Line, false),
        ],
    ),
    spec_of(
        "retire",
        "asset-retire",
        &[field("note", "asset-retire-reason", Input::Lines, true)],
    ),
];

/// The form of `key`, if there is one.
pub fn spec(key: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.key == key)
}

/// A form as it was posted, with its problems by field.
pub struct Sent {
    /// Which form.
    pub key: String,
    /// What was typed.
    pub posted: BTreeMap<String, String>,
    /// Problems by field; an empty or unknown field is shown above the form.
    pub problems: Problems,
}

/// The request a posted form makes.
pub enum Request {
    /// Evidence for the control rules.
    Evidence(RecordEvidenceRequest),
    /// A classification.
    Classify(ClassifyAssetRequest),
    /// A periodic review.
    Review(ReviewAssetRequest),
    /// Retirement.
    Retire(RetireAssetRequest),
    /// Name, kind and description.
    Details(UpdateAssetDetailsRequest),
    /// A new owner.
    Owner(AssignAssetOwnerRequest),
    /// The personal data processed.
    Processing(RecordProcessingRequest),
}

/// A comma-separated list, trimmed, empty parts left out.
fn list(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Reads `posted` as the form `spec` for asset `asset`: its request, or the problems found
/// before asking (a time or number that does not parse).
pub fn read(
    lang: Lang,
    spec: &Spec,
    asset: &str,
    posted: &BTreeMap<String, String>,
) -> Result<Request, Problems> {
    let mut problems = Problems::new();
    let text = |name: &str| posted.get(name).cloned().unwrap_or_default();
    let ticked = |name: &str| posted.contains_key(name);
    let mut when = |name: &str| match parse_local(text(name).trim()) {
        Some(at) => Some(at),
        None => {
            problems.push((name.to_owned(), lang.t("reason-MALFORMED")));
            None
        }
    };
    let at = spec
        .fields
        .iter()
        .any(|f| f.name == "at")
        .then(|| when("at"))
        .flatten();
    let mut number = |name: &str| match text(name).trim().parse::<u32>() {
        Ok(n) => n,
        Err(_) => {
            problems.push((name.to_owned(), lang.t("triage-whole-number")));
            0
        }
    };
    let evidence = |evidence: Evidence| {
        Request::Evidence(RecordEvidenceRequest {
            asset_id: asset.to_owned(),
            evidence: Some(evidence),
            consistency: None,
        })
    };
    let request = match spec.key {
        "restore_test" => evidence(Evidence::RestoreTest(RestoreTestRecorded {
            tested_at: at,
            success: ticked("success"),
            note: text("note"),
        })),
        "backup_run" => evidence(Evidence::BackupRun(BackupRunRecorded {
            ran_at: at,
            success: ticked("success"),
            note: text("note"),
        })),
        "backup_schedule" => evidence(Evidence::BackupSchedule(BackupScheduleSet {
            schedule: text("schedule"),
            interval_hours: number("interval_hours"),
        })),
        "monitoring" => evidence(Evidence::Monitoring(MonitoringSet {
            enabled: ticked("enabled"),
            alert_route: text("alert_route"),
        })),
        "encryption" => evidence(Evidence::Encryption(EncryptionAtRestSet {
            enabled: ticked("enabled"),
            method: text("method"),
        })),
        "patch_policy" => evidence(Evidence::PatchPolicy(PatchPolicySet {
            critical_within_days: number("days"),
        })),
        "access_review" => evidence(Evidence::AccessReview(AssetAccessReviewed {
            reviewed_at: at,
            reviewer: String::new(),
            result: text("note"),
        })),
        "classify" => {
            let levels = (number("c"), number("i"), number("a"));
            Request::Classify(ClassifyAssetRequest {
                asset_id: asset.to_owned(),
                classification: Some(Classification {
                    confidentiality: levels.0,
                    integrity: levels.1,
                    availability: levels.2,
                }),
                rationale: text("note"),
                consistency: None,
            })
        }
        "patch_opened" => evidence(Evidence::CriticalPatchOpened(CriticalPatchOpened {
            patch_id: text("patch_id"),
            released_at: at,
            title: text("title"),
        })),
        "patch_closed" => evidence(Evidence::CriticalPatchClosed(CriticalPatchClosed {
            patch_id: text("patch_id"),
            applied_at: at,
        })),
        "details" => Request::Details(UpdateAssetDetailsRequest {
            asset_id: asset.to_owned(),
            name: text("name"),
            kind: AssetKind::from_word(&text("kind")).map_or(0, Into::into),
            description: text("description"),
            consistency: None,
        }),
        "owner" => Request::Owner(AssignAssetOwnerRequest {
            asset_id: asset.to_owned(),
            owner_user_id: text("owner"),
            consistency: None,
        }),
        "processing" => Request::Processing(RecordProcessingRequest {
            asset_id: asset.to_owned(),
            processing: Some(Processing {
                data_categories: list(&text("categories")),
                special_categories: ticked("special"),
                data_subjects: list(&text("subjects")),
                purpose: text("purpose"),
                retention: text("retention"),
                recipients: list(&text("recipients")),
                sub_processors: list(&text("sub_processors")),
                transfers_outside_eu: Vec::new(),
            }),
            consistency: None,
        }),
        "review" => Request::Review(ReviewAssetRequest {
            asset_id: asset.to_owned(),
            reviewed_at: at,
            notes: text("note"),
            consistency: None,
        }),
        _ => Request::Retire(RetireAssetRequest {
            asset_id: asset.to_owned(),
            reason: text("note"),
            consistency: None,
        }),
    };
    if problems.is_empty() {
        Ok(request)
    } else {
        Err(problems)
    }
}

/// The form field a service's field name concerns (`restore_test.tested_at` → `at`).
pub fn field_of(service: &str) -> String {
    match service.rsplit('.').next().unwrap_or_default() {
        "tested_at" | "ran_at" | "reviewed_at" | "released_at" | "applied_at" => "at".into(),
        "owner_user_id" => "owner".into(),
        "data_categories" => "categories".into(),
        "data_subjects" => "subjects".into(),
        "rationale" | "notes" | "reason" | "result" => "note".into(),
        "confidentiality" => "c".into(),
        "integrity" => "i".into(),
        "availability" => "a".into(),
        "critical_within_days" => "days".into(),
        other => other.to_owned(),
    }
}

/// The form `spec` posting to `/assets/{asset}/{key}`, filled from `sent` when it was the
/// one refused, else from `current` (the asset's present values) and the defaults.
pub fn draw(
    lang: Lang,
    csrf: &str,
    asset: &str,
    spec: &Spec,
    current: &BTreeMap<&str, String>,
    people: &[(String, String)],
    sent: Option<&Sent>,
) -> Markup {
    let kinds: Vec<(String, String)> = AssetKind::VALUES
        .iter()
        .map(|k| {
            (
                k.word().to_owned(),
                crate::pages::incidents::word(lang, "asset-kind", *k),
            )
        })
        .collect();
    let sent = sent.filter(|s| s.key == spec.key);
    let empty = Problems::new();
    let problems = sent.map_or(&empty, |s| &s.problems);
    let id = |name: &str| format!("{}-{name}", spec.key);
    let value = |f: &Field| match sent {
        Some(s) => s.posted.get(f.name).cloned().unwrap_or_default(),
        None => current
            .get(f.name)
            .cloned()
            .unwrap_or_else(|| match f.input {
                Input::When => local_input(crate::now()),
                _ => String::new(),
            }),
    };
    let has_problem = |f: &Field| problems.iter().any(|(p, _)| p == f.name);
    let described = |f: &Field| has_problem(f).then(|| format!("{}-problem", id(f.name)));
    let known: Vec<&str> = spec.fields.iter().map(|f| f.name).collect();
    html! {
        details open[sent.is_some()] {
            summary { (lang.t(spec.title)) }
            @for (field, text) in problems {
                @if !known.contains(&field.as_str()) { p.alert role="alert" { (text) } }
            }
            form method="post" action={ "/assets/" (asset) "/" (spec.key) "#record" } {
                input type="hidden" name="csrf" value=(csrf);
                @for f in spec.fields {
                    @match f.input {
                        Input::Tick(default) => {
                            @let on = match sent { Some(s) => s.posted.contains_key(f.name), None => current.get(f.name).map_or(default, |v| v == "on") };
                            div.choice {
                                input id=(id(f.name)) type="checkbox" name=(f.name) checked[on];
                                label for=(id(f.name)) { (lang.t(f.label)) }
                            }
                        }
                        Input::Level => {
                            label for=(id(f.name)) { (lang.t(f.label)) }
                            select id=(id(f.name)) name=(f.name) required aria-describedby=[described(f)] {
                                @for level in ["1", "2", "3", "4"] {
                                    option value=(level) selected[value(f) == level] { (lang.t(&format!("asset-level-{level}"))) }
                                }
                            }
                        }
                        Input::Kind | Input::Person => {
                            @let options = if f.input == Input::Kind { &kinds[..] } else { people };
                            label for=(id(f.name)) { (lang.t(f.label)) }
                            select id=(id(f.name)) name=(f.name) required aria-describedby=[described(f)] {
                                @for (choice, words) in options {
                                    option value=(choice) selected[value(f) == *choice] { (words) }
                                }
                            }
                        }
                        Input::Lines => {
                            label for=(id(f.name)) { (lang.t(f.label)) }
                            textarea id=(id(f.name)) name=(f.name) rows="2" required[f.required]
                                aria-invalid=[has_problem(f).then_some("true")]
                                aria-describedby=[described(f)] { (value(f)) }
                        }
                        input => {
                            label for=(id(f.name)) { (lang.t(f.label)) }
                            input id=(id(f.name)) name=(f.name) value=(value(f)) required[f.required]
                                type=(match input { Input::When => "datetime-local", _ => "text" })
                                inputmode=[(input == Input::Number).then_some("numeric")]
                                aria-invalid=[has_problem(f).then_some("true")]
                                aria-describedby=[described(f)];
                        }
                    }
                    (problem_at(&id(f.name), problems, f.name))
                }
                button.primary type="submit" { (lang.t(spec.title)) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every form's words are in both catalogues, and a refused form is drawn open with
    /// what was typed and its problem next to the field.
    #[test]
    fn every_form_reads_in_both_languages_and_a_refusal_stays_with_its_field() {
        for lang in [Lang::Sv, Lang::En] {
            for spec in SPECS {
                let html = draw(lang, "t", "a1", spec, &BTreeMap::new(), &[], None).into_string();
                assert!(
                    !html.contains("Unknown localization key"),
                    "{lang:?} {}: {html}",
                    spec.key
                );
            }
        }
        let sent = Sent {
            key: "backup_schedule".into(),
            posted: [("interval_hours".to_owned(), "daily".to_owned())].into(),
            problems: vec![("interval_hours".into(), "A whole number".into())],
        };
        let spec = spec("backup_schedule").expect("the form");
        let html = draw(
            Lang::En,
            "t",
            "a1",
            spec,
            &BTreeMap::new(),
            &[],
            Some(&sent),
        )
        .into_string();
        assert!(html.starts_with("<details open"), "{html}");
        assert!(html.contains("value=\"daily\""), "{html}");
        assert!(
            html.contains("id=\"backup_schedule-interval_hours-problem\""),
            "{html}"
        );
        let other = draw(
            Lang::En,
            "t",
            "a1",
            &SPECS[0],
            &BTreeMap::new(),
            &[],
            Some(&sent),
        )
        .into_string();
        assert!(
            !other.starts_with("<details open"),
            "another form stays closed"
        );
    }

    #[test]
    fn a_form_is_read_into_its_request_or_its_problems() {
        let posted = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let spec = spec("classify").expect("the form");
        let Ok(Request::Classify(request)) = read(
            Lang::En,
            spec,
            "a1",
            &posted(&[("c", "3"), ("i", "2"), ("a", "4"), ("note", "Invoices")]),
        ) else {
            panic!("not a classification");
        };
        assert_eq!(
            request
                .classification
                .map(|c| (c.confidentiality, c.integrity, c.availability)),
            Some((3, 2, 4))
        );
        let Err(problems) = read(Lang::En, spec, "a1", &posted(&[("c", "high")])) else {
            panic!("a level that is no number was read");
        };
        assert!(problems.iter().any(|(f, _)| f == "c"));
        assert_eq!(field_of("restore_test.tested_at"), "at");
        assert_eq!(field_of("rationale"), "note");
    }
}
