//! The audit trail (admin, security officer, auditor): who did what, when, searched by
//! actor, stream, record, command, tenant and time; paged; the same filter downloaded as
//! CSV, streamed from the reporting service piece by piece (100 000 entries never sit in
//! the portal's memory); and "verify integrity", which re-checks the hash chain of a
//! stream (or of every stream) and names the first broken link.
//!
//! - this module: the search and its page.
//! - [`verify`]: the integrity check.
//! - [`export`]: the CSV download.

pub mod export;
pub mod verify;

use std::sync::OnceLock;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::PrivateCookieJar;
use maud::{Markup, html};
use prost::Message as _;
use tillit_auth::Permission;
use tillit_proto::common::PageRequest;
use tillit_proto::reporting::{AuditEntry, AuditFilter, QueryAuditRequest};

use crate::api::{Failure, parse_after};
use crate::i18n::{Lang, text};
use crate::pages::incidents::{Problems, command_words, problem_at};
use crate::pages::layout::{Frame, page};
use crate::pages::{errors, parse_local, reader, violations, when};
use crate::{State as Shared, bearer, language};

const PART: &str = "part-reporting";

/// The event streams, in the order they are offered.
pub const STREAMS: [&str; 5] = [
    "IDENTITY",
    "CREDENTIALS",
    "ASSETS",
    "INCIDENTS",
    "REPORTING",
];

const PAGE_SIZE: u32 = 100;

/// The search's query string.
#[derive(serde::Deserialize, Default, Clone)]
pub struct Search {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    stream: String,
    #[serde(default)]
    aggregate: String,
    #[serde(default)]
    command: String,
    #[serde(default)]
    tenant: String,
    /// `datetime-local`, Stockholm time.
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    page: String,
    #[serde(default)]
    after: String,
    /// A stream to verify, or `all`.
    #[serde(default)]
    verify: String,
    /// Only this record's chain when verifying.
    #[serde(default)]
    chain: String,
}

impl Search {
    /// The filter, or the problems of its times.
    fn filter(&self, lang: Lang) -> Result<AuditFilter, Problems> {
        let mut problems = Problems::new();
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
        let from = time("from", &self.from);
        let to = time("to", &self.to);
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(AuditFilter {
            actor: self.actor.trim().to_owned(),
            tenant_id: self.tenant.trim().to_owned(),
            aggregate_id: self.aggregate.trim().to_owned(),
            command: self.command.trim().to_owned(),
            from,
            to,
            stream: self.stream.trim().to_owned(),
        })
    }

    /// The query string of the filter alone (for the next page and the download).
    fn query(&self) -> String {
        [
            ("actor", &self.actor),
            ("stream", &self.stream),
            ("aggregate", &self.aggregate),
            ("command", &self.command),
            ("tenant", &self.tenant),
            ("from", &self.from),
            ("to", &self.to),
        ]
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| format!("{k}={}", crate::urlencode(v.trim())))
        .collect::<Vec<_>>()
        .join("&")
    }
}

/// The field of the page a service's filter field is shown at.
fn field_of(service: &str) -> String {
    match service.trim_start_matches("filter.") {
        "tenant_id" => "tenant".into(),
        "aggregate_id" => "aggregate".into(),
        other => other.to_owned(),
    }
}

/// Every command the API knows (its mutating methods, `tillit.<service>.v1.<Method>`),
/// read from the descriptor set the services are built from.
pub fn commands() -> &'static [String] {
    static COMMANDS: OnceLock<Vec<String>> = OnceLock::new();
    COMMANDS.get_or_init(|| {
        let set = prost_types::FileDescriptorSet::decode(tillit_proto::FILE_DESCRIPTOR_SET)
            .unwrap_or_default();
        let reads = [
            "Get",
            "List",
            "Query",
            "Export",
            "Verify",
            "WhoAmI",
            "IssueServiceToken",
        ];
        let mut found: Vec<String> = set
            .file
            .iter()
            .flat_map(|file| {
                let package = file.package().to_owned();
                file.service.iter().flat_map(move |service| {
                    let package = package.clone();
                    service.method.iter().filter_map(move |method| {
                        let name = method.name();
                        (!reads.iter().any(|r| name.starts_with(r)))
                            .then(|| format!("{package}.{name}"))
                    })
                })
            })
            .collect();
        found.sort();
        found
    })
}

/// `GET /audit`.
pub async fn search(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Query(search): Query<Search>,
) -> Response {
    let lang = language(&jar, &headers);
    let (jar, viewer, access) = match reader(&state, jar, lang, "/audit", |viewer| {
        viewer.may(Permission::ReadAuditTrail)
    })
    .await
    {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let (people, tenants) = tokio::join!(
        crate::pages::users(
            &state,
            &access,
            "",
            tillit_proto::identity::PrincipalStatus::Unspecified
        ),
        crate::pages::tenants(&state, &access)
    );
    let mut problems = Problems::new();
    let mut entries = Vec::new();
    let mut next = String::new();
    match search.filter(lang) {
        Err(found) => problems = found,
        Ok(filter) => {
            let request = QueryAuditRequest {
                filter: Some(filter),
                page: Some(PageRequest {
                    page_size: PAGE_SIZE,
                    page_token: search.page.clone(),
                }),
                consistency: parse_after(&search.after),
            };
            match state
                .reporting
                .clone()
                .query_audit(bearer(&access, request))
                .await
            {
                Ok(answer) => {
                    let answer = answer.into_inner();
                    entries = answer.entries;
                    next = answer.page.map(|p| p.next_page_token).unwrap_or_default();
                }
                Err(status) => match Failure::of(&status) {
                    Failure::Invalid(found) => {
                        problems = violations(lang, &found)
                            .into_iter()
                            .map(|(field, words)| (field_of(&field), words))
                            .collect();
                    }
                    failure => return errors::failed(lang, jar, "/audit", &failure, PART),
                },
            }
        }
    }
    let verified = verify::verify(&state, &access, &search).await;
    let name_of = |subject: &str| -> String {
        if subject == viewer.subject {
            return lang.t("timeline-you");
        }
        if subject == "system" {
            return lang.t("audit-system");
        }
        people
            .iter()
            .find(|(id, _)| id == subject)
            .map_or_else(|| subject.to_owned(), |(_, name)| name.clone())
    };
    let body = html! {
        h1 { (lang.t("audit-title")) }
        (search_form(lang, &search, &problems, &people, &tenants))
        @if let Some(results) = &verified { (verify::verification(lang, results)) }
        @if problems.is_empty() {
            section aria-labelledby="entries" {
                h2 #entries { (lang.t("audit-entries")) }
                p {
                    a.button href={ "/audit/export?" (search.query()) } download { (lang.t("audit-download")) }
                }
                @if entries.is_empty() {
                    p { (lang.t("audit-none")) }
                } @else {
                    (table(lang, &entries, &name_of))
                }
                @if !next.is_empty() {
                    p { a href={ "/audit?" (search.query()) "&page=" (crate::urlencode(&next)) } { (lang.t("incidents-next")) } }
                }
            }
        }
        (verify::form(lang, &search))
    };
    let frame = Frame {
        lang,
        viewer: Some(&viewer),
        path: "/audit",
    };
    let page = (jar, page(&frame, &lang.t("audit-title"), body)).into_response();
    if problems.is_empty() {
        page
    } else {
        errors::with_refused_status(page)
    }
}

fn search_form(
    lang: Lang,
    search: &Search,
    problems: &Problems,
    people: &[(String, String)],
    tenants: &[(String, String)],
) -> Markup {
    let mut actors: Vec<(String, String)> = vec![("system".into(), lang.t("audit-system"))];
    actors.extend(people.iter().cloned());
    if !search.actor.is_empty() && !actors.iter().any(|(id, _)| *id == search.actor) {
        actors.push((search.actor.clone(), search.actor.clone()));
    }
    let commands: Vec<(String, String)> = commands()
        .iter()
        .map(|c| {
            (
                c.clone(),
                format!(
                    "{} ({})",
                    command_words(lang, c),
                    c.rsplit('.').next().unwrap_or_default()
                ),
            )
        })
        .collect();
    let streams: Vec<(String, String)> = STREAMS
        .iter()
        .map(|s| ((*s).to_owned(), (*s).to_owned()))
        .collect();
    let described = |field: &str| {
        problems
            .iter()
            .any(|(f, _)| f == field)
            .then(|| format!("audit-{field}-problem"))
    };
    html! {
        form.card.filters method="get" action="/audit" {
            (choice(lang, "actor", "audit-actor", &actors, &search.actor, problems))
            (choice(lang, "stream", "audit-stream", &streams, &search.stream, problems))
            (choice(lang, "command", "audit-command", &commands, &search.command, problems))
            @if !tenants.is_empty() {
                (choice(lang, "tenant", "incidents-tenant", tenants, &search.tenant, problems))
            }
            div.field {
                label for="audit-aggregate" { (lang.t("audit-aggregate")) }
                input #audit-aggregate type="text" name="aggregate" value=(search.aggregate)
                    aria-describedby=[described("aggregate")];
                (problem_at("audit-aggregate", problems, "aggregate"))
            }
            @for (field, label) in [("from", "audit-from"), ("to", "audit-to")] {
                div.field {
                    label for={ "audit-" (field) } { (lang.t(label)) }
                    input id={ "audit-" (field) } type="datetime-local" name=(field)
                        value=(if field == "from" { &search.from } else { &search.to })
                        aria-invalid=[described(field).map(|_| "true")]
                        aria-describedby=[described(field)];
                    (problem_at(&format!("audit-{field}"), problems, field))
                }
            }
            button.primary type="submit" { (lang.t("audit-search")) }
        }
    }
}

fn choice(
    lang: Lang,
    name: &str,
    label: &str,
    options: &[(String, String)],
    chosen: &str,
    problems: &Problems,
) -> Markup {
    let id = format!("audit-{name}");
    let wrong = problems.iter().any(|(f, _)| f == name);
    html! {
        div.field {
            label for=(id) { (lang.t(label)) }
            select id=(id) name=(name) aria-describedby=[wrong.then(|| format!("{id}-problem"))] {
                option value="" { (lang.t("incidents-any")) }
                @for (value, words) in options {
                    option value=(value) selected[value == chosen] { (words) }
                }
            }
            (problem_at(&id, problems, name))
        }
    }
}

/// The entries: when, who, what, on which record, in which tenant's log, where in it.
fn table(lang: Lang, entries: &[AuditEntry], name_of: &dyn Fn(&str) -> String) -> Markup {
    html! {
        div.table-wrap {
            table.list #audit-entries {
                thead { tr {
                    th scope="col" { (lang.t("audit-when")) }
                    th scope="col" { (lang.t("audit-actor")) }
                    th scope="col" { (lang.t("audit-command")) }
                    th scope="col" { (lang.t("audit-record")) }
                    th scope="col" { (lang.t("asset-tenant")) }
                    th scope="col" { (lang.t("audit-position")) }
                } }
                tbody {
                    @for entry in entries {
                        tr {
                            td { (entry.recorded_at.as_ref().map(when).unwrap_or_default()) }
                            td {
                                @match entry.actor.as_ref() {
                                    Some(_) if entry.actor_erased => { span.muted { (lang.t("audit-erased")) } }
                                    Some(actor) => {
                                        (name_of(&actor.subject))
                                        @if !actor.on_behalf_of.is_empty() {
                                            br; span.muted { (lang.t_with("audit-on-behalf", &[("name", text(name_of(&actor.on_behalf_of)))])) }
                                        }
                                    }
                                    None => { (lang.t("audit-system")) }
                                }
                            }
                            td { (command_words(lang, &entry.command)) br; code.muted { (entry.command.rsplit('.').next().unwrap_or_default()) } }
                            td.record { (record_link(entry)) }
                            td { (entry.tenant_id) }
                            td title=(entry.commit_hash) {
                                @if let Some(at) = entry.position.as_ref() { (at.stream) " #" (at.sequence) }
                                br; span.muted { "v" (entry.aggregate_version) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The record an entry concerns, linked where the portal has a page for it.
fn record_link(entry: &AuditEntry) -> Markup {
    let page = match entry.aggregate_type.as_str() {
        "incident" => Some("/incidents/"),
        "asset" => Some("/assets/"),
        "policy" => Some("/policies/"),
        _ => None,
    };
    html! {
        span.muted { (entry.aggregate_type) } br;
        @match page {
            Some(base) => { a href={ (base) (entry.aggregate_id) } { code { (entry.aggregate_id) } } }
            None => { code { (entry.aggregate_id) } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_commands_offered_are_the_apis_writes_each_in_words_in_both_languages() {
        let commands = commands();
        assert!(commands.contains(&"tillit.incidents.v1.TriageIncident".to_owned()));
        assert!(commands.contains(&"tillit.identity.v1.PublishPolicy".to_owned()));
        assert!(
            !commands
                .iter()
                .any(|c| c.ends_with(".GetIncident") || c.ends_with(".QueryAudit"))
        );
        for lang in [Lang::Sv, Lang::En] {
            for command in commands {
                let name = command.rsplit('.').next().unwrap_or_default();
                assert!(
                    lang.find(&format!("command-{name}")).is_some(),
                    "command-{name} in {lang:?}"
                );
            }
        }
    }

    #[test]
    fn a_time_that_is_no_time_is_a_problem_at_its_field() {
        let search = Search {
            from: "yesterday".into(),
            to: "2026-03-30T10:00".into(),
            ..Default::default()
        };
        let problems = search.filter(Lang::En).unwrap_err();
        assert_eq!(
            problems.iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>(),
            vec!["from"]
        );
        let search = Search {
            actor: " u1 ".into(),
            stream: "ASSETS".into(),
            ..Default::default()
        };
        assert_eq!(search.query(), "actor=u1&stream=ASSETS");
        assert_eq!(field_of("filter.tenant_id"), "tenant");
    }
}
