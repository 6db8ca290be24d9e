//! The forms of an incident's handling after triage: record a notification or filing,
//! waive an obligation, corrective actions (add, complete, accept the residual risk), the
//! moves of its life cycle, and the post-incident review. Each form is drawn only for the
//! viewers the incidents service would let send it, and only in the states it allows.

use maud::{Markup, html};
use tillit_auth::Permission;
use tillit_proto::Vocabulary;
use tillit_proto::incidents::{
    ActionStatus, Incident, IncidentStatus, IncidentTransition, NotificationStage, Obligation,
    ObligationStatus,
};

use super::{Problems, dom_id, word};
use crate::api::errors::Unmet;
use crate::i18n::{Lang, text};
use crate::pages::form::Draw;
use crate::pages::layout::Viewer;
use crate::pages::{local_input, time_left, when};

pub use crate::pages::form::Posted;

/// A step form as it was sent, with what was wrong with it.
pub struct Sent {
    /// Which form: `notify-<obligation>`, `waive-<obligation>`, `action`,
    /// `complete-<action>`, `risk-<action>`, `transition` or `review`.
    pub form: String,
    /// What was typed.
    pub posted: Posted,
    /// Problems by field; an empty or unknown field is shown above the form.
    pub problems: Problems,
    /// What still stands in the way (a refused close).
    pub unmet: Vec<Unmet>,
}

impl crate::pages::form::Refused for Sent {
    fn form(&self) -> &str {
        &self.form
    }

    fn posted(&self) -> &Posted {
        &self.posted
    }

    fn problems(&self) -> &Problems {
        &self.problems
    }
}

/// Whether the form `sent` came from is among those drawn in `forms`.
pub fn drawn(forms: &Markup, sent: &Sent) -> bool {
    forms.0.contains(&format!("id=\"{}-", dom_id(&sent.form)))
}

/// The problems of a refused form that is not drawn, as an alert.
pub fn unplaced(lang: Lang, incident: &Incident, sent: &Sent) -> Markup {
    html! {
        div.alert role="alert" {
            @for (_, text) in &sent.problems { p { (text) } }
            @for condition in &sent.unmet { p { (unmet_words(lang, incident, condition)) } }
        }
    }
}

/// A form posting to `/incidents/{incident}/{step}` with the CSRF token; a refusal drawn
/// in answer scrolls to `anchor`, the form's section.
fn form(incident: &str, step: &str, anchor: &str, csrf: &str, body: Markup) -> Markup {
    crate::pages::form::post(&format!("/incidents/{incident}/{step}"), anchor, csrf, body)
}

/// One obligation: recipient, article, due time and time left or how late, where it
/// stands, the notifications sent, and for whoever manages obligations the forms to
/// record one or to waive it.
pub fn obligation(
    lang: Lang,
    viewer: &Viewer,
    incident: &Incident,
    obligation: &Obligation,
    sent: Option<&Sent>,
) -> Markup {
    let id = &obligation.obligation_id;
    let pending = obligation.status() == ObligationStatus::Pending;
    let manage = pending
        && viewer.may(Permission::ManageObligations)
        && incident.status() != IncidentStatus::Rejected;
    let now = crate::now();
    let overdue = obligation
        .due_at
        .as_ref()
        .is_some_and(|due| due.seconds < now);
    let notify = Draw::new(lang, &format!("notify-{id}"), sent);
    let waive = Draw::new(lang, &format!("waive-{id}"), sent);
    let stages: Vec<(String, String)> = NotificationStage::VALUES
        .iter()
        .map(|s| (s.word().to_owned(), word(lang, "stage", *s)))
        .collect();
    let anchor = format!("obligation-{}", dom_id(id));
    html! {
        li.obligation #(anchor) {
            div {
                strong { (obligation.recipient) } " · " (obligation.article)
            }
            div {
                @match obligation.due_at.as_ref() {
                    Some(due) => { (lang.t_with("obligation-due", &[("due", text(when(due)))])) }
                    None => { (lang.t("obligation-due-unknown")) }
                }
                " — " span.status { (word(lang, "obligation", obligation.status())) }
                @if pending {
                    @if let Some(due) = obligation.due_at.as_ref() {
                        " · " span class=(if overdue { "late" } else { "left" }) { (time_left(lang, due, now)) }
                    }
                }
            }
            @if !obligation.reason.is_empty() && !pending {
                div.muted { (lang.t_with("obligation-reason", &[("reason", text(obligation.reason.clone()))])) }
            }
            @if !obligation.notifications.is_empty() {
                ul.sent {
                    @for sent in &obligation.notifications {
                        li {
                            (word(lang, "stage", sent.stage())) " · "
                            (lang.t_with("notification-sent", &[
                                ("when", text(sent.sent_at.as_ref().map(when).unwrap_or_default())),
                                ("channel", text(sent.channel.clone())),
                            ]))
                            @if !sent.external_reference.is_empty() {
                                " · " (lang.t_with("notification-reference", &[("reference", text(sent.external_reference.clone()))]))
                            }
                            @if sent.late {
                                " · " strong.late { (lang.t("notification-late")) }
                                @if !sent.delay_reason.is_empty() { " " (lang.t_with("notification-delay", &[("reason", text(sent.delay_reason.clone()))])) }
                            }
                            @if !sent.summary.is_empty() { div.muted { (sent.summary) } }
                        }
                    }
                }
            }
            @if manage {
                details open[notify.refused()] {
                    summary { (lang.t("notify-title")) }
                    (notify.general(&NOTIFY_FIELDS))
                    (form(&incident.incident_id, "notify", &anchor, &viewer.csrf, html! {
                        input type="hidden" name="obligation" value=(id);
                        (notify.select("stage", "notify-stage", &stages, NotificationStage::Initial.word()))
                        (notify.input("datetime-local", "sent_at", "notify-sent-at", local_input(now), true))
                        (notify.input("text", "channel", "notify-channel", String::new(), true))
                        (notify.input("text", "external_reference", "notify-reference", String::new(), false))
                        (notify.textarea("summary", "notify-summary", None, false))
                        (notify.textarea("delay_reason", "notify-delay-reason",
                            Some(if overdue { "notify-delay-hint-overdue" } else { "notify-delay-hint" }), false))
                        button.primary type="submit" { (lang.t("notify-submit")) }
                    }))
                }
                details open[waive.refused()] {
                    summary { (lang.t("waive-title")) }
                    (waive.general(&["reason"]))
                    (form(&incident.incident_id, "waive", &anchor, &viewer.csrf, html! {
                        input type="hidden" name="obligation" value=(id);
                        (waive.textarea("reason", "waive-reason", Some("waive-hint"), true))
                        button.primary type="submit" { (lang.t("waive-submit")) }
                    }))
                }
            }
        }
    }
}

const NOTIFY_FIELDS: [&str; 6] = [
    "stage",
    "sent_at",
    "channel",
    "external_reference",
    "summary",
    "delay_reason",
];

/// The corrective actions: each with owner, due time and where it stands; completing one
/// (whoever manages incidents, or its owner), accepting its residual risk (a manager, or
/// whoever manages incidents), and adding one with an owner chosen from `users`.
pub fn actions(
    lang: Lang,
    viewer: &Viewer,
    incident: &Incident,
    users: &[(String, String)],
    sent: Option<&Sent>,
) -> Markup {
    let open_incident = !matches!(
        incident.status(),
        IncidentStatus::Closed | IncidentStatus::Rejected
    );
    let manage = viewer.may(Permission::ManageIncidents);
    let accept = viewer.may(Permission::AcceptResidualRisk) || manage;
    let name_of = |user: &str| {
        users
            .iter()
            .find(|(id, _)| id == user)
            .map_or_else(|| user.to_owned(), |(_, name)| name.clone())
    };
    let add = Draw::new(lang, "action", sent);
    let mut owners = vec![(String::new(), "—".to_owned())];
    owners.extend(users.iter().cloned());
    html! {
        section.card aria-labelledby="actions" {
            h2 #actions { (lang.t("actions-title")) }
            @if incident.actions.is_empty() {
                p.muted { (lang.t("actions-none")) }
            } @else {
                ul.tasks {
                    @for action in &incident.actions {
                        @let complete = Draw::new(lang, &format!("complete-{}", action.action_id), sent);
                        @let risk = Draw::new(lang, &format!("risk-{}", action.action_id), sent);
                        @let is_open = action.status() == ActionStatus::Open;
                        li {
                            strong { (action.title) }
                            div.muted {
                                (lang.t_with("action-owner", &[("owner", text(name_of(&action.owner_user_id)))]))
                                @if let Some(due) = action.due_at.as_ref() {
                                    " · " (lang.t_with("action-due", &[("due", text(when(due)))]))
                                }
                                " — " (word(lang, "action", action.status()))
                            }
                            @if !action.resolution.is_empty() { div { (action.resolution) } }
                            @if is_open && open_incident && (manage || action.owner_user_id == viewer.subject) {
                                details open[complete.refused()] {
                                    summary { (lang.t("complete-title")) }
                                    (complete.general(&["evidence"]))
                                    (form(&incident.incident_id, "complete", "actions", &viewer.csrf, html! {
                                        input type="hidden" name="action" value=(action.action_id);
                                        (complete.textarea("evidence", "complete-evidence", Some("complete-hint"), true))
                                        button.primary type="submit" { (lang.t("complete-submit")) }
                                    }))
                                }
                            }
                            @if is_open && open_incident && accept {
                                details open[risk.refused()] {
                                    summary { (lang.t("risk-title")) }
                                    (risk.general(&["reason"]))
                                    (form(&incident.incident_id, "risk", "actions", &viewer.csrf, html! {
                                        input type="hidden" name="action" value=(action.action_id);
                                        (risk.textarea("reason", "risk-reason", Some("risk-hint"), true))
                                        button.primary type="submit" { (lang.t("risk-submit")) }
                                    }))
                                }
                            }
                        }
                    }
                }
            }
            @if manage && open_incident {
                details open[add.refused()] {
                    summary { (lang.t("action-add-title")) }
                    (add.general(&["title", "owner_user_id", "due_at"]))
                    (form(&incident.incident_id, "action", "actions", &viewer.csrf, html! {
                        (add.input("text", "title", "action-title", String::new(), true))
                        @if users.is_empty() {
                            (add.input("text", "owner_user_id", "action-owner-id", String::new(), true))
                        } @else {
                            (add.select("owner_user_id", "action-owner-label", &owners, ""))
                        }
                        (add.input("datetime-local", "due_at", "action-due-label", String::new(), true))
                        button.primary type="submit" { (lang.t("action-add-submit")) }
                    }))
                }
            }
        }
    }
}

/// The moves the incident's state allows, with a note (required to reject or reopen); a
/// refused close lists, in words, what is still missing.
pub fn transitions(
    lang: Lang,
    viewer: &Viewer,
    incident: &Incident,
    sent: Option<&Sent>,
) -> Markup {
    use IncidentTransition::{Close, Contain, Reject, Reopen, Resolve};
    let allowed: &[IncidentTransition] = match incident.status() {
        IncidentStatus::Reported => &[Reject],
        IncidentStatus::Triaged => &[Contain, Resolve, Reject],
        IncidentStatus::Contained => &[Resolve],
        IncidentStatus::Resolved => &[Close],
        IncidentStatus::Closed | IncidentStatus::Rejected => &[Reopen],
        IncidentStatus::Unspecified => &[],
    };
    if allowed.is_empty() || !viewer.may(Permission::ManageIncidents) {
        return html! {};
    }
    let draw = Draw::new(lang, "transition", sent);
    let chosen = draw.value("transition", allowed[0].word());
    let unmet = sent
        .filter(|s| draw.refused() && s.form == "transition")
        .map_or(&[][..], |s| s.unmet.as_slice());
    html! {
        section.card aria-labelledby="transition" {
            h2 #transition { (lang.t("transition-title")) }
            @if !unmet.is_empty() {
                div.alert role="alert" #transition-unmet {
                    p { (lang.t("transition-unmet")) }
                    ul { @for condition in unmet { li { (unmet_words(lang, incident, condition)) } } }
                }
            }
            (draw.general(&["transition", "note"]))
            (form(&incident.incident_id, "transition", "transition", &viewer.csrf, html! {
                fieldset {
                    legend { (lang.t("transition-choose")) }
                    @for move_ in allowed {
                        div.choice {
                            input type="radio" name="transition" id={ "transition-" (move_.word()) } value=(move_.word())
                                checked[chosen == move_.word()];
                            label for={ "transition-" (move_.word()) } { (word(lang, "transition", *move_)) }
                        }
                    }
                    (draw.problem("transition"))
                }
                (draw.textarea("note", "transition-note", Some("transition-note-hint"), false))
                button.primary type="submit" { (lang.t("transition-submit")) }
            }))
        }
    }
}

/// The post-incident review (root cause, lessons learned), once contained or resolved.
pub fn review(lang: Lang, viewer: &Viewer, incident: &Incident, sent: Option<&Sent>) -> Markup {
    let allowed = matches!(
        incident.status(),
        IncidentStatus::Contained | IncidentStatus::Resolved
    ) && viewer.may(Permission::ManageIncidents);
    let reviewed = !incident.root_cause.is_empty() || !incident.lessons_learned.is_empty();
    if !allowed && !reviewed {
        return html! {};
    }
    let stored = Sent {
        form: "review".into(),
        posted: [
            ("root_cause".to_owned(), incident.root_cause.clone()),
            (
                "lessons_learned".to_owned(),
                incident.lessons_learned.clone(),
            ),
        ]
        .into(),
        problems: Problems::new(),
        unmet: Vec::new(),
    };
    let refused = sent.filter(|s| s.form == "review");
    let draw = Draw::new(lang, "review", Some(refused.unwrap_or(&stored)));
    html! {
        section.card aria-labelledby="review" {
            h2 #review { (lang.t("review-title")) }
            @if allowed {
                (draw.general(&["root_cause", "lessons_learned"]))
                (form(&incident.incident_id, "review", "review", &viewer.csrf, html! {
                    (draw.textarea("root_cause", "review-root-cause", None, true))
                    (draw.textarea("lessons_learned", "review-lessons", None, true))
                    button.primary type="submit" { (lang.t("review-submit")) }
                }))
            } @else {
                h3 { (lang.t("review-root-cause")) }
                p { (incident.root_cause) }
                h3 { (lang.t("review-lessons")) }
                p { (incident.lessons_learned) }
            }
        }
    }
}

/// What an unmet condition of a close means, in words, with the names it concerns looked
/// up in the incident; the service's words for a condition the catalogue does not know.
fn unmet_words(lang: Lang, incident: &Incident, condition: &Unmet) -> String {
    let id = condition.subject.split_once('/').map_or("", |(_, id)| id);
    let args: Vec<(&str, String)> = match condition.kind.as_str() {
        "ACTION_OPEN" => incident
            .actions
            .iter()
            .find(|a| a.action_id == id)
            .map(|a| vec![("action", a.title.clone())])
            .unwrap_or_default(),
        "OBLIGATION_PENDING" => incident
            .obligations
            .iter()
            .find(|o| o.obligation_id == id)
            .map(|o| {
                vec![
                    ("article", o.article.clone()),
                    ("recipient", o.recipient.clone()),
                ]
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let needs_names = matches!(
        condition.kind.as_str(),
        "ACTION_OPEN" | "OBLIGATION_PENDING"
    );
    if needs_names && args.is_empty() {
        return condition.description.clone();
    }
    let args: Vec<(&str, _)> = args.into_iter().map(|(k, v)| (k, text(v))).collect();
    lang.find_with(&format!("unmet-{}", condition.kind), &args)
        .unwrap_or_else(|| condition.description.clone())
}
