//! Reporting something, the list of incidents the user may see, one incident with every
//! step of its handling, and its printable report. What each user sees is what the
//! incidents service answers for their token: a customer only the incidents that affect
//! its tenant, with the customer-facing fields.
//!
//! - [`report`]: the report form.
//! - [`list`]: the list with its filters.
//! - [`detail`]: one incident, drawn with the forms of what the viewer may do next.
//! - [`triage`] and [`steps`]: those forms.
//! - [`submit`]: their POSTs; a refused one draws the incident again with the form as sent.
//! - [`print`]: the GDPR Art. 33(3) / NIS2 report as a printable page.

pub mod detail;
pub mod list;
pub mod print;
pub mod report;
pub mod steps;
pub mod submit;
pub mod triage;

use maud::{Markup, html};
use tillit_proto::Vocabulary;
use tillit_proto::common::Severity;
use tillit_proto::incidents::Incident;
use tillit_proto::incidents::incidents_service_client::IncidentsServiceClient;

use crate::i18n::Lang;

/// The problems of a form sent back, as (field, what to show next to it); an empty or
/// unknown field is shown above the form.
pub type Problems = Vec<(String, String)>;

/// A form the portal or a service refused, drawn again as it was sent.
pub enum Refused<'a> {
    /// The triage.
    Triage(&'a triage::TriageForm, &'a Problems),
    /// Any other step.
    Step(&'a steps::Sent),
}

/// The part of the platform these pages call, for the 503 page.
pub(crate) const PART: &str = "part-incidents";

pub(crate) fn client(state: &crate::Portal) -> IncidentsServiceClient<crate::Grpc> {
    state.incidents.clone()
}

/// The problem shown next to `field`, with the id its input's `aria-describedby` names.
pub(crate) fn problem_at(id: &str, problems: &Problems, field: &str) -> Markup {
    let found = problems.iter().find(|(f, _)| f == field);
    html! { @if let Some((_, text)) = found { p.problem id={ (id) "-problem" } { (text) } } }
}

/// A string fit for an HTML id (`gdpr-33-2:acme` → `gdpr-33-2-acme`): how the pages name
/// the elements of an obligation, an action or an asset.
pub fn dom_id(raw: &str) -> String {
    raw.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The assets the user may see (their own, their tenant's, or all for staff), up to 500;
/// none when the register shows them none or cannot be reached: the forms then work
/// without them.
pub(crate) async fn visible_assets(
    state: &crate::Portal,
    access: &str,
) -> Vec<tillit_proto::assets::Asset> {
    let request = tillit_proto::assets::ListAssetsRequest {
        page: Some(tillit_proto::common::PageRequest {
            page_size: 500,
            page_token: String::new(),
        }),
        ..Default::default()
    };
    match state
        .assets
        .clone()
        .list_assets(crate::bearer(access, request))
        .await
    {
        Ok(answer) => answer.into_inner().assets,
        Err(status) => {
            // Logged where it is read when the register is down.
            let _ = crate::api::Failure::of(&status);
            Vec::new()
        }
    }
}

/// A timeline entry's command in the user's language (`Triaged`), else its name.
pub(crate) fn command_words(lang: Lang, command: &str) -> String {
    let name = command.rsplit('.').next().unwrap_or_default();
    lang.find(&format!("command-{name}"))
        .unwrap_or_else(|| name.to_owned())
}

/// A vocabulary word in the user's language (`status-triaged`, …).
pub(crate) fn word<V: Vocabulary>(lang: Lang, group: &str, value: V) -> String {
    lang.t(&format!("{group}-{}", value.word().replace('_', "-")))
}

/// The incident's severity in words, or that it is not triaged yet.
pub(crate) fn severity_of(lang: Lang, incident: &Incident) -> String {
    match incident.triage.as_ref() {
        Some(triage) if triage.severity() != Severity::Unspecified => {
            word(lang, "severity", triage.severity())
        }
        _ => lang.t("incident-not-triaged"),
    }
}

#[cfg(test)]
mod tests {
    use tillit_auth::Role;
    use tillit_proto::common::Severity;
    use tillit_proto::incidents::{
        Action, ActionStatus, AssetImpact, CustomerImpact, DataRole, DataSubjectRisk, Incident,
        IncidentStatus, Notification, NotificationStage, Obligation, ObligationStatus,
        TriageAssessment,
    };

    use super::steps::{self, Sent};
    use crate::api::errors::Unmet;
    use crate::i18n::Lang;
    use crate::pages::layout::Viewer;

    fn incident(status: IncidentStatus) -> Incident {
        let at = |seconds| Some(prost_types::Timestamp { seconds, nanos: 0 });
        Incident {
            incident_id: "i1".into(),
            title: "Backup exposed".into(),
            status: status.into(),
            triage: Some(TriageAssessment {
                severity: Severity::High.into(),
                personal_data_breach: true,
                risk_to_data_subjects: DataSubjectRisk::High.into(),
                affected_assets: vec![AssetImpact {
                    asset_id: "a1".into(),
                    name: "CRM".into(),
                    tenant_id: "acme".into(),
                    our_role: DataRole::Processor.into(),
                    personal_data: true,
                    ..Default::default()
                }],
                affected_customers: vec![CustomerImpact {
                    tenant_id: "acme".into(),
                    our_role: DataRole::Processor.into(),
                }],
                ..Default::default()
            }),
            obligations: vec![
                Obligation {
                    obligation_id: "gdpr-33-2:acme".into(),
                    article: "GDPR Art. 33(2)".into(),
                    recipient: "acme".into(),
                    due_at: at(1),
                    status: ObligationStatus::Pending.into(),
                    ..Default::default()
                },
                Obligation {
                    obligation_id: "gdpr-33-1".into(),
                    article: "GDPR Art. 33(1)".into(),
                    recipient: "IMY".into(),
                    due_at: at(100),
                    status: ObligationStatus::Late.into(),
                    reason: "the weekend".into(),
                    notifications: vec![Notification {
                        stage: NotificationStage::Initial.into(),
                        channel: "e-service".into(),
                        sent_at: at(200),
                        late: true,
                        delay_reason: "the weekend".into(),
                        ..Default::default()
                    }],
                    ..Default::default()
                },
            ],
            actions: vec![Action {
                action_id: "x1".into(),
                title: "Rotate keys".into(),
                owner_user_id: "u1".into(),
                status: ActionStatus::Open.into(),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    /// Every label of every form shows as words in both languages: a key missing from a
    /// catalogue would show as the key itself.
    #[test]
    fn the_forms_of_every_state_read_in_both_languages() {
        let viewer = Viewer {
            subject: "u1".into(),
            name: "Officer".into(),
            csrf: "t".into(),
            roles: vec![Role::SecurityOfficer, Role::Manager],
        };
        let refused_close = Sent {
            form: "transition".into(),
            posted: Default::default(),
            problems: Vec::new(),
            unmet: ["ROOT_CAUSE_MISSING", "ACTION_OPEN", "OBLIGATION_PENDING"]
                .iter()
                .zip(["incident/i1", "action/x1", "obligation/gdpr-33-2:acme"])
                .map(|(kind, subject)| Unmet {
                    kind: (*kind).into(),
                    subject: subject.into(),
                    description: "in English".into(),
                })
                .collect(),
        };
        for lang in [Lang::Sv, Lang::En] {
            for status in IncidentStatus::VALUES {
                let incident = incident(*status);
                let users = [("u1".to_owned(), "Ola".to_owned())];
                let assets = [("a1".to_owned(), "CRM · acme".to_owned())];
                let mut html = String::new();
                for obligation in &incident.obligations {
                    html += &steps::obligation(lang, &viewer, &incident, obligation, None)
                        .into_string();
                }
                html += &steps::actions(lang, &viewer, &incident, &users, None).into_string();
                html += &steps::review(lang, &viewer, &incident, None).into_string();
                html += &steps::transitions(lang, &viewer, &incident, Some(&refused_close))
                    .into_string();
                html += &super::triage::form(lang, "t", &incident, &assets, None).into_string();
                assert!(
                    !html.contains("Unknown localization key"),
                    "{lang:?} {status:?}: a key missing from the catalogues: {html}"
                );
                assert!(
                    !html.contains("in English"),
                    "an unmet condition in the service's words"
                );
            }
        }
    }

    use tillit_proto::Vocabulary as _;
}
