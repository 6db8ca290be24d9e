//! The POSTs of an incident's page. Each checks the CSRF token, sends one command with the
//! user's token, and on success redirects to the incident with the command's consistency
//! token, so the page shows what was just done. A refusal draws the incident again (422)
//! with the form open as it was sent and each problem next to its field, in the user's
//! language; a refused close lists what is still missing.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::{Form, PrivateCookieJar};
use tillit_proto::Vocabulary;
use tillit_proto::common::ConsistencyToken;
use tillit_proto::incidents::{
    AcceptActionRiskRequest, AddActionRequest, CompleteActionRequest, IncidentTransition,
    NotificationStage, RecordNotificationRequest, ReviewIncidentRequest, TransitionIncidentRequest,
    TriageIncidentRequest, WaiveObligationRequest,
};

use super::steps::{Posted, Sent};
use super::triage::{TriageForm, assessment};
use super::{PART, Problems, Refused, client, detail};
use crate::api::{Failure, after_text};
use crate::i18n::{Lang, text};
use crate::pages::{checked_form, errors, parse_local, viewer, violations};
use crate::{State as Shared, bearer};

/// The steps an incident's page posts, by the last segment of their path.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    Notify,
    Waive,
    Action,
    Complete,
    Risk,
    Transition,
    Review,
}

impl Step {
    fn parse(segment: &str) -> Option<Self> {
        Some(match segment {
            "notify" => Self::Notify,
            "waive" => Self::Waive,
            "action" => Self::Action,
            "complete" => Self::Complete,
            "risk" => Self::Risk,
            "transition" => Self::Transition,
            "review" => Self::Review,
            _ => return None,
        })
    }

    /// The segment, which is also the `done` notice's key.
    fn segment(self) -> &'static str {
        match self {
            Self::Notify => "notify",
            Self::Waive => "waive",
            Self::Action => "action",
            Self::Complete => "complete",
            Self::Risk => "risk",
            Self::Transition => "transition",
            Self::Review => "review",
        }
    }

    /// The key of the form it came from (see [`Sent::form`]).
    fn form_key(self, posted: &Posted) -> String {
        let of = |name: &str| posted.get(name).cloned().unwrap_or_default();
        match self {
            Self::Notify | Self::Waive => format!("{}-{}", self.segment(), of("obligation")),
            Self::Complete | Self::Risk => format!("{}-{}", self.segment(), of("action")),
            Self::Action | Self::Transition | Self::Review => self.segment().to_owned(),
        }
    }

    /// Where on the page its section is.
    fn anchor(self) -> &'static str {
        match self {
            Self::Notify | Self::Waive => "#obligations",
            Self::Action | Self::Complete | Self::Risk => "#actions",
            Self::Transition | Self::Review => "",
        }
    }
}

/// Why a step was not done.
enum NotDone {
    /// The portal found problems before asking (a time that does not parse).
    Here(Problems),
    /// The service refused it or failed.
    There(Failure),
}

/// `POST /incidents/{id}/{step}`.
pub async fn step(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path((id, segment)): Path<(String, String)>,
    Form(posted): Form<Posted>,
) -> Response {
    let csrf = posted.get("csrf").map_or("", String::as_str);
    let (lang, jar, _) = match checked_form(&state, jar, &headers, csrf) {
        Ok(checked) => checked,
        Err(refused) => return *refused,
    };
    let Some(step) = Step::parse(&segment) else {
        return (jar, errors::not_found(lang)).into_response();
    };
    let path = format!("/incidents/{}", crate::urlencode(&id));
    let (jar, _, access) = match viewer(&state, jar, lang, &path).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let mut sent = Sent {
        form: step.form_key(&posted),
        posted,
        problems: Problems::new(),
        unmet: Vec::new(),
    };
    match send(&state, &access, lang, &id, step, &sent.posted).await {
        Ok(consistency) => {
            let after = after_text(consistency.as_ref());
            let target = format!(
                "{path}?done={}&after={after}{}",
                step.segment(),
                step.anchor()
            );
            return (jar, Redirect::to(&target)).into_response();
        }
        Err(NotDone::Here(problems)) => sent.problems = problems,
        Err(NotDone::There(Failure::Invalid(refused))) => {
            sent.problems = violations(lang, &refused);
        }
        Err(NotDone::There(Failure::Precondition { message, unmet })) => {
            if unmet.is_empty() {
                sent.problems = vec![(String::new(), not_now(lang, &message))];
            } else {
                sent.unmet = unmet;
            }
        }
        Err(NotDone::There(Failure::Conflict(message))) => {
            sent.problems = vec![(String::new(), not_now(lang, &message))];
        }
        Err(NotDone::There(failure)) => return errors::failed(lang, jar, &path, &failure, PART),
    }
    let page = detail::page(
        &state,
        jar,
        lang,
        &id,
        None,
        None,
        Some(Refused::Step(&sent)),
    )
    .await;
    errors::with_refused_status(page)
}

/// A refusal the form cannot place at a field, with the service's words.
fn not_now(lang: Lang, message: &str) -> String {
    lang.t_with("step-refused", &[("message", text(message))])
}

/// Sends `step` for incident `id` as the form posted it; answers its consistency token.
async fn send(
    state: &crate::Portal,
    access: &str,
    lang: Lang,
    id: &str,
    step: Step,
    posted: &Posted,
) -> Result<Option<ConsistencyToken>, NotDone> {
    let field = |name: &str| posted.get(name).cloned().unwrap_or_default();
    let time = |name: &str| match field(name).trim() {
        "" => Ok(None),
        raw => parse_local(raw)
            .map(Some)
            .ok_or_else(|| NotDone::Here(vec![(name.to_owned(), lang.t("reason-MALFORMED"))])),
    };
    let incident_id = id.to_owned();
    let mut incidents = client(state);
    let answer = match step {
        Step::Notify => {
            let request = RecordNotificationRequest {
                incident_id,
                obligation_id: field("obligation"),
                stage: NotificationStage::from_word(&field("stage")).map_or(0, Into::into),
                channel: field("channel"),
                sent_at: time("sent_at")?,
                summary: field("summary"),
                external_reference: field("external_reference"),
                delay_reason: field("delay_reason"),
                ..Default::default()
            };
            incidents
                .record_notification(bearer(access, request))
                .await
                .map(|a| a.into_inner().consistency)
        }
        Step::Waive => {
            let request = WaiveObligationRequest {
                incident_id,
                obligation_id: field("obligation"),
                reason: field("reason"),
                consistency: None,
            };
            incidents
                .waive_obligation(bearer(access, request))
                .await
                .map(|a| a.into_inner().consistency)
        }
        Step::Action => {
            let request = AddActionRequest {
                incident_id,
                title: field("title"),
                owner_user_id: field("owner_user_id"),
                due_at: time("due_at")?,
                ..Default::default()
            };
            incidents
                .add_action(bearer(access, request))
                .await
                .map(|a| a.into_inner().consistency)
        }
        Step::Complete => {
            let request = CompleteActionRequest {
                incident_id,
                action_id: field("action"),
                evidence: field("evidence"),
                consistency: None,
            };
            incidents
                .complete_action(bearer(access, request))
                .await
                .map(|a| a.into_inner().consistency)
        }
        Step::Risk => {
            let request = AcceptActionRiskRequest {
                incident_id,
                action_id: field("action"),
                reason: field("reason"),
                consistency: None,
            };
            incidents
                .accept_action_risk(bearer(access, request))
                .await
                .map(|a| a.into_inner().consistency)
        }
        Step::Transition => {
            let request = TransitionIncidentRequest {
                incident_id,
                transition: IncidentTransition::from_word(&field("transition"))
                    .map_or(0, Into::into),
                note: field("note"),
                consistency: None,
            };
            incidents
                .transition_incident(bearer(access, request))
                .await
                .map(|a| a.into_inner().consistency)
        }
        Step::Review => {
            let request = ReviewIncidentRequest {
                incident_id,
                root_cause: field("root_cause"),
                lessons_learned: field("lessons_learned"),
                consistency: None,
            };
            incidents
                .review_incident(bearer(access, request))
                .await
                .map(|a| a.into_inner().consistency)
        }
    };
    answer.map_err(|status| NotDone::There(Failure::of(&status)))
}

/// `POST /incidents/{id}/triage`.
pub async fn triage(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<TriageForm>,
) -> Response {
    let (lang, jar, _) = match checked_form(&state, jar, &headers, &form.csrf) {
        Ok(checked) => checked,
        Err(refused) => return *refused,
    };
    let path = format!("/incidents/{}", crate::urlencode(&id));
    let (jar, _, access) = match viewer(&state, jar, lang, &path).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let (triage, mut problems) = assessment(lang, &form);
    if problems.is_empty() {
        let request = TriageIncidentRequest {
            incident_id: id.clone(),
            triage: Some(triage),
            consistency: None,
        };
        let answer = client(&state)
            .triage_incident(bearer(&access, request))
            .await;
        match answer.map_err(|status| Failure::of(&status)) {
            Ok(answer) => {
                let after = after_text(answer.into_inner().consistency.as_ref());
                let target = format!("{path}?done=triage&after={after}#obligations");
                return (jar, Redirect::to(&target)).into_response();
            }
            Err(Failure::Invalid(refused)) => {
                problems = violations(lang, &refused)
                    .into_iter()
                    .map(|(field, text)| (field.trim_start_matches("triage.").to_owned(), text))
                    .collect();
            }
            Err(Failure::Precondition { message, .. } | Failure::Conflict(message)) => {
                problems = vec![(String::new(), not_now(lang, &message))];
            }
            Err(failure) => return errors::failed(lang, jar, &path, &failure, PART),
        }
    }
    let refused = Refused::Triage(&form, &problems);
    let page = detail::page(&state, jar, lang, &id, None, None, Some(refused)).await;
    errors::with_refused_status(page)
}
