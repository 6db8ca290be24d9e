//! The pages, one module per area.

pub mod access_reviews;
pub mod admin;
pub mod assets;
pub mod audit;
pub mod dashboard;
pub mod errors;
pub mod form;
pub mod home;
pub mod incidents;
pub mod layout;
pub mod personal;
pub mod policies;
pub mod records;
pub mod review;
pub mod signin;
pub mod trainings;

use axum::response::{IntoResponse, Response};
use axum_extra::extract::PrivateCookieJar;
use tillit_proto::identity::{WhoAmIRequest, WhoAmIResponse};

use crate::api::Failure;
use crate::api::errors::Violation;
use crate::i18n::Lang;
use crate::{Portal, bearer, session, signed_in};

/// A posted form's CSRF check, written once: the page's language, the jar (with the
/// visitor id made if missing) and the visitor's token for the page to answer with; `Err`
/// is the 403 page for a token that is missing or not this visitor's (nothing changes).
pub fn checked_form(
    state: &Portal,
    jar: PrivateCookieJar,
    headers: &axum::http::HeaderMap,
    posted: &str,
) -> Result<(Lang, PrivateCookieJar, String), Box<Response>> {
    let lang = crate::language(&jar, headers);
    let (jar, visitor) = session::visitor(jar, &state.keys);
    if !state.keys.csrf_holds(&visitor, posted) {
        return Err(Box::new((jar, errors::csrf(lang)).into_response()));
    }
    let csrf = state.keys.csrf(&visitor);
    Ok((lang, jar, csrf))
}

/// The signed-in user of a page who must be allowed what `may` says: [`viewer`], then the
/// 403 page for anyone else.
pub async fn reader(
    state: &Portal,
    jar: PrivateCookieJar,
    lang: Lang,
    path: &str,
    may: impl Fn(&layout::Viewer) -> bool,
) -> Result<(PrivateCookieJar, layout::Viewer, String), Response> {
    let (jar, viewer, access) = viewer(state, jar, lang, path).await?;
    if may(&viewer) {
        Ok((jar, viewer, access))
    } else {
        Err((jar, errors::forbidden(lang)).into_response())
    }
}

/// A posted form of a signed-in user who must be allowed what `may` says, written once:
/// the CSRF check ([`checked_form`]), the session ([`viewer`]) and the permission; `Err`
/// is the page to answer instead, and nothing is sent on.
pub async fn poster(
    state: &Portal,
    jar: PrivateCookieJar,
    headers: &axum::http::HeaderMap,
    posted: &std::collections::BTreeMap<String, String>,
    path: &str,
    may: impl Fn(&layout::Viewer) -> bool,
) -> Result<(Lang, PrivateCookieJar, layout::Viewer, String), Response> {
    let csrf = posted.get("csrf").map_or("", String::as_str);
    let (lang, jar, _) = checked_form(state, jar, headers, csrf).map_err(|refused| *refused)?;
    let (jar, viewer, access) = reader(state, jar, lang, path, may).await?;
    Ok((lang, jar, viewer, access))
}

/// The signed-in user of a page: the session (refreshed when due), who they are by
/// identity's `WhoAmI` (a revoked or deactivated session is signed out here), and the
/// header's view of them; `Err` is the page to answer instead.
pub async fn viewer(
    state: &Portal,
    jar: PrivateCookieJar,
    lang: Lang,
    path: &str,
) -> Result<(PrivateCookieJar, layout::Viewer, String), Response> {
    let (jar, current) = signed_in(state, jar, path).await?;
    let me =
        who_am_i(state, &current.access)
            .await
            .map_err(|status| match Failure::of(&status) {
                Failure::SignIn => crate::to_signin(jar.clone(), path),
                // Down is logged where it is read; anything else from WhoAmI is unexpected.
                Failure::Down => {
                    (jar.clone(), errors::unavailable(lang, "part-identity")).into_response()
                }
                other => {
                    tracing::warn!(?other, "identity refused WhoAmI");
                    (jar.clone(), errors::unavailable(lang, "part-identity")).into_response()
                }
            })?;
    let (jar, visitor) = session::visitor(jar, &state.keys);
    let viewer = layout::Viewer {
        subject: me.subject.clone(),
        name: if me.display_name.is_empty() {
            me.email.clone()
        } else {
            me.display_name.clone()
        },
        csrf: state.keys.csrf(&visitor),
        roles: me
            .roles()
            .filter_map(tillit_auth::Role::from_wire)
            .collect(),
    };
    Ok((jar, viewer, current.access))
}

async fn who_am_i(state: &Portal, access: &str) -> Result<WhoAmIResponse, tonic::Status> {
    state
        .identity
        .clone()
        .who_am_i(bearer(access, WhoAmIRequest::default()))
        .await
        .map(tonic::Response::into_inner)
}

/// (slug, name) of the tenants identity shows the user; none when it shows none.
pub(crate) async fn tenants(state: &crate::Portal, access: &str) -> Vec<(String, String)> {
    let request = tillit_proto::identity::ListTenantsRequest {
        page: Some(tillit_proto::common::PageRequest {
            page_size: 200,
            page_token: String::new(),
        }),
        ..Default::default()
    };
    match state
        .identity
        .clone()
        .list_tenants(bearer(access, request))
        .await
    {
        Ok(answer) => answer
            .into_inner()
            .tenants
            .into_iter()
            .map(|t| {
                let name = if t.name.is_empty() {
                    t.tenant_id.clone()
                } else {
                    t.name
                };
                (t.tenant_id, name)
            })
            .collect(),
        Err(status) => {
            // The list still works without the filter.
            let _ = Failure::of(&status);
            Vec::new()
        }
    }
}

/// (id, name) of the platform's active staff, for owners and actors; none when identity
/// does not list them to this user.
pub(crate) async fn staff(state: &crate::Portal, access: &str) -> Vec<(String, String)> {
    users(
        state,
        access,
        "internal",
        tillit_proto::identity::PrincipalStatus::Active,
    )
    .await
}

/// (id, name) of the users of `tenant` (empty: every tenant the user may list) in
/// `status` (unspecified: any), up to 1000; none when identity does not list them.
pub(crate) async fn users(
    state: &crate::Portal,
    access: &str,
    tenant: &str,
    status: tillit_proto::identity::PrincipalStatus,
) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut page_token = String::new();
    for _ in 0..2 {
        let request = tillit_proto::identity::ListUsersRequest {
            tenant_id: tenant.into(),
            status: status.into(),
            page: Some(tillit_proto::common::PageRequest {
                page_size: 500,
                page_token: page_token.clone(),
            }),
            ..Default::default()
        };
        match state
            .identity
            .clone()
            .list_users(bearer(access, request))
            .await
        {
            Ok(answer) => {
                let answer = answer.into_inner();
                found.extend(answer.users.into_iter().map(|u| {
                    let name = if u.display_name.is_empty() {
                        u.email
                    } else {
                        u.display_name
                    };
                    (u.user_id, name)
                }));
                page_token = answer.page.map(|p| p.next_page_token).unwrap_or_default();
                if page_token.is_empty() {
                    break;
                }
            }
            Err(status) => {
                let _ = Failure::of(&status);
                break;
            }
        }
    }
    found
}

/// The timeline of a record: when, what (the command in words) and who, oldest first.
pub fn timeline(
    lang: Lang,
    entries: &[tillit_proto::common::TimelineEntry],
    name_of: &dyn Fn(&str) -> String,
) -> maud::Markup {
    maud::html! {
        @if !entries.is_empty() {
            section.card aria-labelledby="timeline" {
                h2 #timeline { (lang.t("incident-timeline")) }
                ul.tasks {
                    @for entry in entries {
                        li {
                            span.muted { (entry.recorded_at.as_ref().map(when).unwrap_or_default()) } " "
                            (incidents::command_words(lang, &entry.command))
                            @if !entry.actor.is_empty() { " · " span.muted { (name_of(&entry.actor)) } }
                        }
                    }
                }
            }
        }
    }
}

/// How long until `due` from `now`, in words: "2 h 14 min left", "3 h 0 min late".
pub fn time_left(lang: Lang, due: &prost_types::Timestamp, now: i64) -> String {
    let seconds = due.seconds - now;
    let duration = duration_words(lang, seconds.unsigned_abs());
    let key = if seconds >= 0 {
        "time-left"
    } else {
        "time-late"
    };
    lang.t_with(key, &[("duration", crate::i18n::text(duration))])
}

fn duration_words(lang: Lang, seconds: u64) -> String {
    let minutes = seconds / 60;
    let (days, hours, minutes) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    let n = |value: u64| fluent_templates::fluent_bundle::FluentValue::from(value);
    if days > 0 {
        lang.t_with("duration-days", &[("days", n(days)), ("hours", n(hours))])
    } else if hours > 0 {
        lang.t_with(
            "duration-hours",
            &[("hours", n(hours)), ("minutes", n(minutes))],
        )
    } else {
        lang.t_with("duration-minutes", &[("minutes", n(minutes))])
    }
}

/// A `datetime-local` value (`2026-03-30T10:00`) read as Stockholm time.
pub fn parse_local(raw: &str) -> Option<prost_types::Timestamp> {
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let local = time::PrimitiveDateTime::parse(raw, &format).ok()?;
    // The offset of that wall-clock time: try winter time, then check against summer time.
    let winter = local.assume_offset(time::UtcOffset::from_hms(1, 0, 0).ok()?);
    let (offset, _) = stockholm_offset(winter.to_offset(time::UtcOffset::UTC));
    let at = local.assume_offset(offset);
    Some(prost_types::Timestamp {
        seconds: at.unix_timestamp(),
        nanos: 0,
    })
}

/// A time as a `datetime-local` value in Stockholm time (`2026-03-30T10:00`).
pub fn local_input(at: impl Into<Timestamped>) -> String {
    let Timestamped(seconds) = at.into();
    let Ok(utc) = time::OffsetDateTime::from_unix_timestamp(seconds) else {
        return String::new();
    };
    let local = utc.to_offset(stockholm_offset(utc).0);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}",
        local.year(),
        u8::from(local.month()),
        local.day(),
        local.hour(),
        local.minute()
    )
}

/// Unix seconds, from a timestamp or from a number of seconds.
pub struct Timestamped(pub i64);

impl From<i64> for Timestamped {
    fn from(seconds: i64) -> Self {
        Self(seconds)
    }
}

impl From<prost_types::Timestamp> for Timestamped {
    fn from(at: prost_types::Timestamp) -> Self {
        Self(at.seconds)
    }
}

/// The field violations of an INVALID_ARGUMENT, each as (field, what to show next to it):
/// the documented reason code in the user's language, the service's English description
/// for a code the catalogue does not know.
pub fn violations(lang: Lang, violations: &[Violation]) -> Vec<(String, String)> {
    violations
        .iter()
        .map(|violation| {
            let text = match violation.reason.as_str() {
                "" => None,
                reason => lang.find(&format!("reason-{reason}")),
            }
            .unwrap_or_else(|| violation.description.clone());
            (violation.field.clone(), text)
        })
        .collect()
}

/// A time as people in Sweden read it: Europe/Stockholm, with the zone's abbreviation
/// (`2026-03-30 10:00 CEST`).
pub fn when(at: &prost_types::Timestamp) -> String {
    let Ok(utc) = time::OffsetDateTime::from_unix_timestamp(at.seconds) else {
        return String::new();
    };
    let (offset, zone) = stockholm_offset(utc);
    let local = utc.to_offset(offset);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} {zone}",
        local.year(),
        u8::from(local.month()),
        local.day(),
        local.hour(),
        local.minute()
    )
}

/// Stockholm's offset at `utc`: CEST from the last Sunday of March 01:00 UTC to the last
/// Sunday of October 01:00 UTC (the EU rule), CET otherwise.
fn stockholm_offset(utc: time::OffsetDateTime) -> (time::UtcOffset, &'static str) {
    let last_sunday = |month: time::Month| {
        let mut day = time::Date::from_calendar_date(utc.year(), month, 31).expect("31st exists");
        while day.weekday() != time::Weekday::Sunday {
            day = day.previous_day().expect("a day before");
        }
        day.with_hms(1, 0, 0).expect("01:00").assume_utc()
    };
    let summer = utc >= last_sunday(time::Month::March) && utc < last_sunday(time::Month::October);
    if summer {
        (time::UtcOffset::from_hms(2, 0, 0).expect("+2"), "CEST")
    } else {
        (time::UtcOffset::from_hms(1, 0, 0).expect("+1"), "CET")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_in_stockholm_with_the_zone() {
        let at = |s: i64| prost_types::Timestamp {
            seconds: s,
            nanos: 0,
        };
        // 2026-03-30 08:00 UTC is 10:00 summer time; 2026-01-15 12:00 UTC is 13:00 CET.
        assert_eq!(when(&at(1_774_857_600)), "2026-03-30 10:00 CEST");
        assert_eq!(when(&at(1_768_478_400)), "2026-01-15 13:00 CET");
        // The switch: 2026-03-29 00:59 UTC is CET, 01:00 UTC is CEST.
        assert_eq!(when(&at(1_774_745_940)), "2026-03-29 01:59 CET");
        assert_eq!(when(&at(1_774_746_000)), "2026-03-29 03:00 CEST");
    }

    #[test]
    fn time_left_is_said_in_words_in_both_languages() {
        let due = prost_types::Timestamp {
            seconds: 100_000,
            nanos: 0,
        };
        assert_eq!(
            time_left(Lang::En, &due, 100_000 - 8_040),
            "2 h 14 min left"
        );
        assert_eq!(
            time_left(Lang::Sv, &due, 100_000 - 8_040),
            "2 h 14 min kvar"
        );
        assert_eq!(
            time_left(Lang::En, &due, 100_000 + 3 * 3600),
            "3 h 0 min late"
        );
        assert_eq!(time_left(Lang::Sv, &due, 100_000 + 120), "2 min för sent");
        assert_eq!(
            time_left(Lang::En, &due, 100_000 - 2 * 86_400 - 3 * 3600),
            "2 d 3 h left"
        );
    }

    #[test]
    fn a_local_time_is_read_as_stockholm_time() {
        assert_eq!(
            parse_local("2026-03-30T10:00").map(|t| t.seconds),
            Some(1_774_857_600)
        );
        assert_eq!(
            parse_local("2026-01-15T13:00").map(|t| t.seconds),
            Some(1_768_478_400)
        );
        assert!(parse_local("yesterday").is_none());
        for seconds in [1_774_857_600, 1_768_478_400] {
            assert_eq!(
                parse_local(&local_input(seconds)).map(|t| t.seconds),
                Some(seconds)
            );
        }
    }

    #[test]
    fn every_word_of_every_vocabulary_shown_reads_in_both_languages() {
        use tillit_proto::Vocabulary;
        fn check<V: Vocabulary>(group: &str) {
            for value in V::VALUES {
                for lang in [Lang::Sv, Lang::En] {
                    let key = format!("{group}-{}", value.word().replace('_', "-"));
                    assert!(lang.find(&key).is_some(), "{key} in {lang:?}");
                }
            }
        }
        check::<tillit_proto::incidents::IncidentKind>("kind");
        check::<tillit_proto::incidents::IncidentStatus>("status");
        check::<tillit_proto::common::Severity>("severity");
        check::<tillit_proto::incidents::ObligationStatus>("obligation");
        check::<tillit_proto::incidents::ActionStatus>("action");
        check::<tillit_proto::incidents::NotificationStage>("stage");
        check::<tillit_proto::incidents::IncidentTransition>("transition");
        check::<tillit_proto::incidents::DataRole>("role-data");
        check::<tillit_proto::incidents::DataSubjectRisk>("risk");
        check::<tillit_proto::incidents::SecurityProperty>("triage");
        check::<tillit_proto::reporting::ReminderKind>("task");
        check::<tillit_proto::assets::AssetKind>("asset-kind");
        check::<tillit_proto::assets::ControlGapState>("gap");
        check::<tillit_proto::reporting::ReminderStage>("task-stage");
        check::<tillit_proto::identity::AccessDecision>("access-decision");
        check::<tillit_proto::identity::AccessReviewStatus>("access-status");
        check::<tillit_proto::identity::PrincipalStatus>("principal");
        check::<tillit_proto::identity::Role>("role");
    }

    #[test]
    fn every_reason_code_reads_in_both_languages() {
        for reason in tillit_kernel::Reason::ALL {
            for lang in [Lang::Sv, Lang::En] {
                let key = format!("reason-{}", reason.code());
                assert!(lang.find(&key).is_some(), "{key} in {lang:?}");
            }
        }
    }
}
