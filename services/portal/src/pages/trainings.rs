//! Trainings: every course with how many of the staff hold a valid record, the gaps of
//! one course (who has none, or whose record has lapsed, and since when), and for managers
//! and security officers the form recording a completed training.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::{Form, PrivateCookieJar};
use maud::html;
use tillit_auth::Permission;
use tillit_proto::identity::{
    GetTrainingGapsRequest, ListTrainingCoursesRequest, RecordTrainingRequest,
};

use crate::api::{Failure, after_text, parse_after};
use crate::i18n::{Lang, text};
use crate::pages::form::{Draw, Sent};
use crate::pages::layout::{Frame, page as frame_page};
use crate::pages::{errors, local_input, parse_local, poster, reader, violations, when};
use crate::{State as Shared, bearer, language};

const PART: &str = "part-identity";

/// The page's query string.
#[derive(serde::Deserialize, Default)]
pub struct Shown {
    #[serde(default)]
    course: String,
    #[serde(default)]
    after: String,
    #[serde(default)]
    done: String,
}

/// `GET /trainings?course=…`.
pub async fn trainings(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Query(shown): Query<Shown>,
) -> Response {
    let lang = language(&jar, &headers);
    page(&state, jar, lang, &shown, None).await
}

async fn page(
    state: &crate::Portal,
    jar: PrivateCookieJar,
    lang: Lang,
    shown: &Shown,
    refused: Option<&Sent>,
) -> Response {
    let (jar, viewer, access) = match reader(state, jar, lang, "/trainings", |viewer| {
        viewer.may_read_trainings()
    })
    .await
    {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let consistency = parse_after(&shown.after);
    let (mut courses_client, mut gaps_client) = (state.identity.clone(), state.identity.clone());
    let course = shown.course.trim();
    let (courses, gaps, people) = tokio::join!(
        courses_client.list_training_courses(bearer(
            &access,
            ListTrainingCoursesRequest {
                consistency: consistency.clone(),
            },
        )),
        async {
            if course.is_empty() {
                return None;
            }
            Some(
                gaps_client
                    .get_training_gaps(bearer(
                        &access,
                        GetTrainingGapsRequest {
                            course: course.to_owned(),
                            role: 0,
                            consistency: consistency.clone(),
                        },
                    ))
                    .await,
            )
        },
        crate::pages::staff(state, &access),
    );
    let courses = match courses {
        Ok(answer) => answer.into_inner().courses,
        Err(status) => {
            return errors::failed(lang, jar, "/trainings", &Failure::of(&status), PART);
        }
    };
    let gaps = match gaps {
        Some(Ok(answer)) => Some(answer.into_inner()),
        // A course id that is no id shows no gaps.
        Some(Err(status)) if status.code() == tonic::Code::InvalidArgument => None,
        Some(Err(status)) => {
            return errors::failed(lang, jar, "/trainings", &Failure::of(&status), PART);
        }
        None => None,
    };
    let now = crate::now();
    let year = 365 * 86_400;
    let defaults = Sent {
        form: "training".into(),
        posted: [
            ("course".to_owned(), course.to_owned()),
            ("completed_at".to_owned(), local_input(now)),
            ("valid_until".to_owned(), local_input(now + year)),
        ]
        .into(),
        problems: Vec::new(),
    };
    let draw = Draw::new(lang, "training", Some(refused.unwrap_or(&defaults)));
    // Nobody is chosen for the user: a training recorded for the wrong person is worse
    // than a refusal.
    let choices: Vec<(String, String)> = [(String::new(), lang.t("training-choose"))]
        .into_iter()
        .chain(people.iter().cloned())
        .collect();
    let body = html! {
        @if shown.done == "recorded" { p.notice role="status" { (lang.t("training-recorded")) } }
        h1 { (lang.t("trainings-title")) }
        @if courses.is_empty() {
            p { (lang.t("trainings-none")) }
        } @else {
            div.table-wrap { table.list {
                thead { tr {
                    th scope="col" { (lang.t("training-course")) }
                    th scope="col" { (lang.t("training-valid")) }
                } }
                tbody { @for c in &courses { tr {
                    td { a href={ "/trainings?course=" (crate::urlencode(&c.course)) "#gaps" } { (c.course) } }
                    td { (lang.t_with("training-valid-of", &[("valid", c.valid.into()), ("staff", c.staff.into())])) }
                } } }
            } }
        }
        @if let Some(gaps) = &gaps {
            section.card aria-labelledby="gaps" {
                h2 #gaps { (lang.t_with("training-gaps", &[("course", text(course.to_owned()))])) }
                @if gaps.gaps.is_empty() {
                    p { (lang.t("training-no-gaps")) }
                } @else {
                    p { (lang.t_with("training-gap-figures", &[("missing", gaps.gaps.len().into()), ("staff", gaps.staff.into())])) }
                    div.table-wrap { table.list #training-gaps {
                        thead { tr {
                            th scope="col" { (lang.t("policy-person")) }
                            th scope="col" { (lang.t("training-last-valid")) }
                        } }
                        tbody { @for gap in &gaps.gaps { tr {
                            td { (gap.email) }
                            td { (gap.last_valid_until.as_ref().map_or_else(|| lang.t("policy-never"), when)) }
                        } } }
                    } }
                }
            }
        }
        @if viewer.may(Permission::RecordTrainings) {
            section.card aria-labelledby="record" {
                h2 #record { (lang.t("training-record")) }
                (draw.general(&["user_id", "course", "completed_at", "valid_until"]))
                (crate::pages::form::post("/trainings", "record", &viewer.csrf, html! {
                    (draw.select("user_id", "policy-person", &choices, ""))
                    (draw.input("text", "course", "training-course", String::new(), true))
                    p.muted { (lang.t("training-course-hint")) }
                    (draw.input("datetime-local", "completed_at", "training-completed", String::new(), true))
                    (draw.input("datetime-local", "valid_until", "training-valid-until", String::new(), true))
                    button.primary type="submit" { (lang.t("training-record")) }
                }))
            }
        }
    };
    let frame = Frame {
        lang,
        viewer: Some(&viewer),
        path: "/trainings",
    };
    errors::refused_if(
        refused.is_some(),
        (jar, frame_page(&frame, &lang.t("trainings-title"), body)).into_response(),
    )
}

/// `POST /trainings`: a completed training.
pub async fn record(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Form(posted): Form<BTreeMap<String, String>>,
) -> Response {
    let (lang, jar, _viewer, access) =
        match poster(&state, jar, &headers, &posted, "/trainings", |viewer| {
            viewer.may(Permission::RecordTrainings)
        })
        .await
        {
            Ok(signed) => signed,
            Err(response) => return response,
        };
    let field = |name: &str| {
        posted
            .get(name)
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    let mut problems = Vec::new();
    let mut time = |name: &str| match field(name).as_str() {
        "" => {
            problems.push((name.to_owned(), lang.t("reason-REQUIRED")));
            None
        }
        raw => {
            let parsed = parse_local(raw);
            if parsed.is_none() {
                problems.push((name.to_owned(), lang.t("reason-MALFORMED")));
            }
            parsed
        }
    };
    let (completed_at, valid_until) = (time("completed_at"), time("valid_until"));
    let course = field("course");
    if problems.is_empty() {
        let request = RecordTrainingRequest {
            user_id: field("user_id"),
            course: course.clone(),
            completed_at,
            valid_until,
            consistency: None,
        };
        match state
            .identity
            .clone()
            .record_training(bearer(&access, request))
            .await
        {
            Ok(answer) => {
                let after = after_text(answer.into_inner().consistency.as_ref());
                let target = format!(
                    "/trainings?course={}&done=recorded&after={after}#gaps",
                    crate::urlencode(&course)
                );
                return (jar, Redirect::to(&target)).into_response();
            }
            Err(status) => match Failure::of(&status) {
                Failure::Invalid(found) => problems = violations(lang, &found),
                Failure::NotFound => {
                    problems.push(("user_id".into(), lang.t("reason-UNKNOWN_REFERENCE")))
                }
                failure => return errors::failed(lang, jar, "/trainings", &failure, PART),
            },
        }
    }
    let sent = Sent {
        form: "training".into(),
        posted,
        problems,
    };
    let shown = Shown {
        course,
        ..Default::default()
    };
    page(&state, jar, lang, &shown, Some(&sent)).await
}
