//! The asset register: the list with its filters, and one asset with its classification,
//! evidence, control gaps and timeline, where its owner or a security officer records the
//! evidence the control rules ask for. What each user sees is what the assets service
//! answers for their token: an employee its own assets, a customer its tenant's.
//!
//! - this module: the list.
//! - [`detail`]: one asset.
//! - [`forms`]: the forms of its page, described once as data.

pub mod detail;
pub mod forms;
pub mod register;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::PrivateCookieJar;
use maud::{Markup, html};
use tillit_auth::Permission;
use tillit_proto::Vocabulary;
use tillit_proto::assets::{Asset, AssetKind, ListAssetsRequest};
use tillit_proto::common::PageRequest;

use crate::api::{Failure, parse_after};
use crate::i18n::Lang;
use crate::pages::incidents::word;
use crate::pages::layout::{Frame, Viewer, page};
use crate::pages::{errors, viewer};
use crate::{State as Shared, bearer, language};

/// The part of the platform these pages call, for the 503 page.
pub(crate) const PART: &str = "part-assets";

/// The list's query string.
#[derive(serde::Deserialize, Default)]
pub struct Filters {
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    kind: String,
    /// Minimum levels, `1`–`4` (empty: any).
    #[serde(default)]
    c: String,
    #[serde(default)]
    i: String,
    #[serde(default)]
    a: String,
    /// Only the viewer's own.
    #[serde(default)]
    mine: Option<String>,
    /// Only those holding personal data.
    #[serde(default)]
    personal: Option<String>,
    /// Only those whose review is due within 30 days.
    #[serde(default)]
    review: Option<String>,
    /// Retired ones too.
    #[serde(default)]
    retired: Option<String>,
    /// Only those with a control gap now.
    #[serde(default)]
    gaps: Option<String>,
    /// Only this owner's (staff).
    #[serde(default)]
    owner: String,
    #[serde(default)]
    page: String,
    #[serde(default)]
    after: String,
}

impl Filters {
    /// The query string of these filters, for the next page's link.
    fn query(&self) -> String {
        let mut pairs = vec![
            ("tenant", self.tenant.clone()),
            ("kind", self.kind.clone()),
            ("c", self.c.clone()),
            ("i", self.i.clone()),
            ("a", self.a.clone()),
            ("owner", self.owner.clone()),
        ];
        for (name, on) in [
            ("mine", &self.mine),
            ("personal", &self.personal),
            ("review", &self.review),
            ("retired", &self.retired),
            ("gaps", &self.gaps),
        ] {
            if on.is_some() {
                pairs.push((name, "on".to_owned()));
            }
        }
        pairs
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", crate::urlencode(&v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

const PAGE_SIZE: u32 = 50;

/// `GET /assets`.
pub async fn list(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Query(filters): Query<Filters>,
) -> Response {
    let lang = language(&jar, &headers);
    let (jar, viewer, access) = match viewer(&state, jar, lang, "/assets").await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    if !viewer.may_list_assets() {
        return (jar, errors::forbidden(lang)).into_response();
    }
    let staff = is_staff(&viewer);
    let level = |raw: &str| {
        raw.parse::<u32>()
            .ok()
            .filter(|l| (1..=4).contains(l))
            .unwrap_or(0)
    };
    let request = ListAssetsRequest {
        tenant_id: if staff {
            filters.tenant.clone()
        } else {
            String::new()
        },
        owner_user_id: if filters.mine.is_some() {
            viewer.subject.clone()
        } else if staff {
            filters.owner.clone()
        } else {
            String::new()
        },
        kind: AssetKind::from_word(&filters.kind).map_or(0, Into::into),
        min_confidentiality: level(&filters.c),
        min_integrity: level(&filters.i),
        min_availability: level(&filters.a),
        has_personal_data: filters.personal.is_some(),
        review_due_before: filters.review.is_some().then(|| prost_types::Timestamp {
            seconds: crate::now() + 30 * 86_400,
            nanos: 0,
        }),
        include_retired: filters.retired.is_some(),
        with_control_gaps: filters.gaps.is_some(),
        page: Some(PageRequest {
            page_size: PAGE_SIZE,
            page_token: filters.page.clone(),
        }),
        consistency: parse_after(&filters.after),
    };
    let mut register = state.assets.clone();
    let (answer, tenants, people) = tokio::join!(
        register.list_assets(bearer(&access, request)),
        async {
            if staff {
                crate::pages::tenants(&state, &access).await
            } else {
                Vec::new()
            }
        },
        async {
            if staff {
                crate::pages::staff(&state, &access).await
            } else {
                Vec::new()
            }
        },
    );
    let answer = match answer {
        Ok(answer) => answer.into_inner(),
        Err(status) => return errors::failed(lang, jar, "/assets", &Failure::of(&status), PART),
    };
    let next = answer.page.map(|p| p.next_page_token).unwrap_or_default();
    let owner = |asset: &Asset| owner_name(lang, &viewer, &people, &asset.owner_user_id);
    let levels: Vec<(String, String)> = (1..=4).map(|l| (l.to_string(), l.to_string())).collect();
    let kinds: Vec<(String, String)> = AssetKind::VALUES
        .iter()
        .map(|k| (k.word().to_owned(), word(lang, "asset-kind", *k)))
        .collect();
    let body = html! {
        h1 { (lang.t("assets-title")) }
        @if register::may_register(&viewer) {
            p {
                a href="/assets/new" { (lang.t("assets-register")) }
                @if viewer.may(Permission::ManageAssets) { " · " a href="/assets/import" { (lang.t("assets-import")) } }
            }
        }
        form.card.filters method="get" action="/assets" {
            @if !tenants.is_empty() {
                (select(lang, "tenant", "incidents-tenant", &tenants, &filters.tenant))
            }
            @if !people.is_empty() {
                (select(lang, "owner", "asset-owner", &people, &filters.owner))
            }
            (select(lang, "kind", "asset-kind", &kinds, &filters.kind))
            (select(lang, "c", "asset-min-c", &levels, &filters.c))
            (select(lang, "i", "asset-min-i", &levels, &filters.i))
            (select(lang, "a", "asset-min-a", &levels, &filters.a))
            div.field {
                (tick("mine", "assets-mine", filters.mine.is_some(), lang))
                (tick("personal", "assets-personal", filters.personal.is_some(), lang))
                (tick("review", "assets-review-due", filters.review.is_some(), lang))
                (tick("retired", "assets-retired", filters.retired.is_some(), lang))
                (tick("gaps", "assets-gaps", filters.gaps.is_some(), lang))
            }
            button.primary type="submit" { (lang.t("incidents-filter")) }
        }
        @if answer.assets.is_empty() {
            p { (lang.t("assets-none")) }
        } @else {
            div.table-wrap {
                table.list {
                    thead { tr {
                        th scope="col" { (lang.t("asset-name")) }
                        th scope="col" { (lang.t("asset-tenant")) }
                        th scope="col" { (lang.t("asset-kind")) }
                        th scope="col" { abbr title=(lang.t("asset-cia-long")) { (lang.t("asset-cia")) } }
                        @if staff || viewer.may(Permission::ManageOwnAssets) { th scope="col" { (lang.t("asset-owner")) } }
                        th scope="col" { (lang.t("asset-review-due")) }
                    } }
                    tbody {
                        @for asset in &answer.assets {
                            tr {
                                td {
                                    a href={ "/assets/" (asset.asset_id) } { (asset.name) }
                                    @if asset.retired.is_some() { " " span.muted { "(" (lang.t("asset-retired")) ")" } }
                                }
                                td { (asset.tenant_id) }
                                td { (word(lang, "asset-kind", asset.kind())) }
                                td { (levels_of(lang, asset)) }
                                @if staff || viewer.may(Permission::ManageOwnAssets) { td { (owner(asset)) } }
                                td { (asset.next_review_due.as_ref().map(crate::pages::when).unwrap_or_default()) }
                            }
                        }
                    }
                }
            }
        }
        @if !next.is_empty() {
            p { a href={ "/assets?" (filters.query()) "&page=" (crate::urlencode(&next)) } { (lang.t("incidents-next")) } }
        }
    };
    let frame = Frame {
        lang,
        viewer: Some(&viewer),
        path: "/assets",
    };
    (jar, page(&frame, &lang.t("assets-title"), body)).into_response()
}

/// Staff see every tenant's assets and filter by tenant and owner.
pub(crate) fn is_staff(viewer: &Viewer) -> bool {
    viewer.may(Permission::ManageAssets)
        || viewer.may(Permission::ReadEverything)
        || viewer.may(Permission::ReadReports)
}

/// "C3 I3 A3", or that it is not classified yet.
pub(crate) fn levels_of(lang: Lang, asset: &Asset) -> String {
    match asset.classification.as_ref() {
        Some(c) => format!(
            "C{} I{} A{}",
            c.confidentiality, c.integrity, c.availability
        ),
        None => lang.t("asset-unclassified"),
    }
}

/// The owner's name: "you", a staff name where the list is known, else the id.
pub(crate) fn owner_name(
    lang: Lang,
    viewer: &Viewer,
    people: &[(String, String)],
    owner: &str,
) -> String {
    if owner.is_empty() {
        return lang.t("asset-no-owner");
    }
    if owner == viewer.subject {
        return lang.t("timeline-you");
    }
    people
        .iter()
        .find(|(id, _)| id == owner)
        .map_or_else(|| owner.to_owned(), |(_, name)| name.clone())
}

fn select(
    lang: Lang,
    name: &str,
    label: &str,
    options: &[(String, String)],
    chosen: &str,
) -> Markup {
    html! {
        div.field {
            label for=(name) { (lang.t(label)) }
            select #(name) name=(name) {
                option value="" { (lang.t("incidents-any")) }
                @for (value, words) in options {
                    option value=(value) selected[value == chosen] { (words) }
                }
            }
        }
    }
}

fn tick(name: &str, label: &str, on: bool, lang: Lang) -> Markup {
    html! {
        div.choice {
            input type="checkbox" id=(name) name=(name) checked[on];
            label for=(name) { (lang.t(label)) }
        }
    }
}
