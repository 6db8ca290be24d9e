//! The start page: who you are and what is waiting for you (the reminders of
//! `ListMyTasks`).

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::PrivateCookieJar;
use maud::html;
use tillit_proto::incidents::ListObligationsDueRequest;
use tillit_proto::reporting::{ListMyTasksRequest, ReminderKind};

use super::incidents::word;
use super::layout::{Frame, page};
use super::viewer;
use crate::i18n::text;
use crate::{State as Shared, bearer, language};

#[derive(serde::Deserialize)]
pub struct Shown {
    /// Failed sign-ins before this one, to warn about once.
    #[serde(default)]
    failed_before: u32,
    /// A consistency token of writes the figures should include.
    #[serde(default)]
    after: String,
}

/// `GET /`.
pub async fn home(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Query(shown): Query<Shown>,
) -> Response {
    let lang = language(&jar, &headers);
    let (jar, viewer, access) = match viewer(&state, jar, lang, "/").await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let tasks = state
        .reporting
        .clone()
        .list_my_tasks(bearer(&access, ListMyTasksRequest::default()))
        .await
        .map(|answer| answer.into_inner().reminders);
    match &tasks {
        Err(status) if crate::api::Failure::of(status) == crate::api::Failure::SignIn => {
            return crate::to_signin(jar, "/");
        }
        Err(status) => tracing::warn!(%status, "reporting did not answer the tasks"),
        Ok(_) => {}
    }
    let obligations = if viewer.may(tillit_auth::Permission::ManageObligations) {
        let before = prost_types::Timestamp {
            seconds: crate::now() + 30 * 86_400,
            nanos: 0,
        };
        let request = ListObligationsDueRequest {
            before: Some(before),
            consistency: None,
        };
        match state
            .incidents
            .clone()
            .list_obligations_due(bearer(&access, request))
            .await
        {
            Ok(answer) => Some(Ok(answer.into_inner().obligations)),
            Err(status) => {
                tracing::warn!(%status, "incidents did not answer the obligations");
                Some(Err(()))
            }
        }
    } else {
        None
    };
    let dashboard = if crate::pages::dashboard::may_see(&viewer) {
        crate::pages::dashboard::section(&state, &access, lang, &shown.after).await
    } else {
        html! {}
    };
    let now = crate::now();
    let roles: Vec<String> = viewer
        .roles
        .iter()
        .map(|role| lang.t(&format!("role-{}", role.as_str().replace('_', "-"))))
        .collect();
    let body = html! {
        h1 { (lang.t_with("home-welcome", &[("name", text(viewer.name.clone()))])) }
        @if shown.failed_before > 0 {
            p.alert role="alert" {
                (lang.t_with("signin-failed-before", &[("count", shown.failed_before.into())]))
            }
        }
        p.muted { (lang.t_with("home-roles", &[("roles", text(roles.join(", ")))])) }
        @if let Some(obligations) = &obligations {
            section.card aria-labelledby="obligations" {
                h2 #obligations { (lang.t("home-obligations")) }
                @match obligations {
                    Ok(list) if list.is_empty() => p { (lang.t("home-no-obligations")) },
                    Ok(list) => ul.tasks {
                        @for obligation in list.iter().take(10) {
                            li {
                                a href={ "/incidents/" (obligation.incident_id) } {
                                    (obligation.recipient) " (" (obligation.article) ")"
                                }
                                @if let Some(due) = obligation.due_at.as_ref() {
                                    " — " (crate::pages::when(due)) " · "
                                    strong { (crate::pages::time_left(lang, due, now)) }
                                }
                            }
                        }
                    },
                    Err(()) => p.alert role="alert" {
                        (lang.t_with("error-unavailable", &[("part", text(lang.t("part-incidents")))]))
                    },
                }
            }
        }
        @if crate::pages::dashboard::may_see(&viewer) {
            (dashboard)
        }
        section.card aria-labelledby="tasks" {
            h2 #tasks { (lang.t("home-tasks")) }
            @match &tasks {
                Ok(tasks) if tasks.is_empty() => p { (lang.t("home-no-tasks")) },
                Ok(tasks) => ul.tasks {
                    @for task in tasks {
                        @let link = task_link(task);
                        li {
                            strong { (word(lang, "task", task.kind())) }
                            " · " (word(lang, "task-stage", task.stage()))
                            @if let Some(due) = task.due_at.as_ref() {
                                " — " span.muted { (lang.t_with("home-task-due", &[("due", text(crate::pages::when(due)))])) }
                                " · " strong { (crate::pages::time_left(lang, due, now)) }
                            }
                            br;
                            @match link {
                                // The item's page says everything in the user's language.
                                Some((href, label)) => a href=(href) { (lang.t(label)) },
                                // A training has no page of the employee's: the service's
                                // one line names it.
                                None => span { (task.title) },
                            }
                        }
                    }
                },
                Err(_) => p.alert role="alert" {
                    (lang.t_with("error-unavailable", &[("part", text(lang.t("part-reporting")))]))
                },
            }
        }
    };
    let frame = Frame {
        lang,
        viewer: Some(&viewer),
        path: "/",
    };
    (jar, page(&frame, &lang.t("home-title"), body)).into_response()
}

/// The page a task is about, and the words of the link to it.
fn task_link(task: &tillit_proto::reporting::Reminder) -> Option<(String, &'static str)> {
    let first = task.item_id.split('/').next().unwrap_or_default();
    let encoded = crate::urlencode(first);
    match task.kind() {
        ReminderKind::Obligation | ReminderKind::Action => {
            Some((format!("/incidents/{encoded}"), "task-open-incident"))
        }
        ReminderKind::AssetReview | ReminderKind::RestoreTest | ReminderKind::CriticalPatch => {
            Some((format!("/assets/{encoded}"), "task-open-asset"))
        }
        ReminderKind::PolicyAcknowledgement => {
            Some((format!("/policies/{encoded}"), "task-open-policy"))
        }
        ReminderKind::AccessReview => {
            Some((format!("/access-reviews/{encoded}"), "task-open-campaign"))
        }
        ReminderKind::TrainingExpiry | ReminderKind::Unspecified => None,
    }
}
