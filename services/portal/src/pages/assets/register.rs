//! Putting assets into the register: one by the form (an employee its own, in `internal`;
//! who manages assets any tenant's, with an owner), or many by uploading a CSV file, whose
//! answer says for every line whether it was created, was there already, or was refused —
//! with the line number, the column and why.

use std::collections::BTreeMap;

use axum::extract::{Multipart, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::{Form, PrivateCookieJar};
use maud::{Markup, html};
use tillit_auth::Permission;
use tillit_proto::Vocabulary;
use tillit_proto::assets::{
    AssetKind, Classification, ImportAssetsRequest, ImportAssetsResponse, ImportOutcome,
    RegisterAssetRequest,
};

use super::{PART, is_staff};
use crate::api::{Failure, after_text};
use crate::i18n::{Lang, text};
use crate::pages::form::{Draw, Sent};
use crate::pages::incidents::word;
use crate::pages::layout::{Frame, Viewer, page as frame_page};
use crate::pages::{checked_form, errors, poster, reader, viewer, violations};
use crate::{State as Shared, bearer, language};

/// Whether the viewer may register assets.
pub(crate) fn may_register(viewer: &Viewer) -> bool {
    viewer.may(Permission::ManageAssets) || viewer.may(Permission::RegisterAssets)
}

/// A CSV file's largest size the portal accepts (the service caps rows at 10 000).
pub const MAX_UPLOAD: usize = 4 * 1024 * 1024;

/// `GET /assets/new`.
pub async fn form(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
) -> Response {
    let lang = language(&jar, &headers);
    form_page(&state, jar, lang, None).await
}

async fn form_page(
    state: &crate::Portal,
    jar: PrivateCookieJar,
    lang: Lang,
    refused: Option<&Sent>,
) -> Response {
    let (jar, viewer, access) = match reader(state, jar, lang, "/assets/new", |viewer| {
        may_register(viewer)
    })
    .await
    {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let staff = is_staff(&viewer) && viewer.may(Permission::ManageAssets);
    let (tenants, people) = if staff {
        tokio::join!(
            crate::pages::tenants(state, &access),
            crate::pages::staff(state, &access)
        )
    } else {
        (Vec::new(), Vec::new())
    };
    let kinds: Vec<(String, String)> = AssetKind::VALUES
        .iter()
        .map(|k| (k.word().to_owned(), word(lang, "asset-kind", *k)))
        .collect();
    let levels: Vec<(String, String)> = (1..=4)
        .map(|l| (l.to_string(), lang.t(&format!("asset-level-{l}"))))
        .collect();
    let defaults = Sent {
        form: "register".into(),
        posted: [
            ("tenant_id".to_owned(), "internal".to_owned()),
            ("owner_user_id".to_owned(), viewer.subject.clone()),
            ("c".to_owned(), "2".to_owned()),
            ("i".to_owned(), "2".to_owned()),
            ("a".to_owned(), "2".to_owned()),
        ]
        .into(),
        problems: Vec::new(),
    };
    let draw = Draw::new(lang, "register", Some(refused.unwrap_or(&defaults)));
    let known = [
        "tenant_id",
        "name",
        "kind",
        "owner_user_id",
        "description",
        "c",
        "i",
        "a",
        "rationale",
    ];
    let body = html! {
        h1 { (lang.t("register-title")) }
        section.card {
            (draw.general(&known))
            (crate::pages::form::post("/assets/new", "register", &viewer.csrf, html! {
                @if staff {
                    (draw.select("tenant_id", "asset-tenant", &tenants, "internal"))
                    (draw.select("owner_user_id", "asset-owner", &people, ""))
                }
                (draw.input("text", "name", "asset-name", String::new(), true))
                (draw.select("kind", "asset-kind", &kinds, "service"))
                (draw.textarea("description", "incident-description", None, false))
                fieldset {
                    legend { (lang.t("asset-classification")) }
                    (draw.select("c", "asset-confidentiality", &levels, "2"))
                    (draw.select("i", "asset-integrity", &levels, "2"))
                    (draw.select("a", "asset-availability", &levels, "2"))
                    (draw.textarea("rationale", "asset-rationale", None, false))
                }
                button.primary type="submit" { (lang.t("register-submit")) }
            }))
        }
        @if viewer.may(Permission::ManageAssets) {
            p { a href="/assets/import" { (lang.t("assets-import")) } }
        }
    };
    let frame = Frame {
        lang,
        viewer: Some(&viewer),
        path: "/assets/new",
    };
    errors::refused_if(
        refused.is_some(),
        (jar, frame_page(&frame, &lang.t("register-title"), body)).into_response(),
    )
}

/// `POST /assets/new`.
pub async fn register(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Form(posted): Form<BTreeMap<String, String>>,
) -> Response {
    let (lang, jar, viewer, access) =
        match poster(&state, jar, &headers, &posted, "/assets/new", |viewer| {
            may_register(viewer)
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
    let level = |name: &str| field(name).parse::<u32>().unwrap_or(0);
    let manages = viewer.may(Permission::ManageAssets);
    let request = RegisterAssetRequest {
        tenant_id: if manages {
            field("tenant_id")
        } else {
            "internal".into()
        },
        name: field("name"),
        kind: AssetKind::from_word(&field("kind")).map_or(0, Into::into),
        owner_user_id: if manages {
            field("owner_user_id")
        } else {
            viewer.subject.clone()
        },
        description: field("description"),
        classification: Some(Classification {
            confidentiality: level("c"),
            integrity: level("i"),
            availability: level("a"),
        }),
        classification_rationale: field("rationale"),
        consistency: None,
    };
    let problems = match state
        .assets
        .clone()
        .register_asset(bearer(&access, request))
        .await
    {
        Ok(answer) => {
            let answer = answer.into_inner();
            let after = after_text(answer.consistency.as_ref());
            let id = answer.asset.map(|a| a.asset_id).unwrap_or_default();
            let target = format!("/assets/{id}?done=saved&after={after}");
            return (jar, Redirect::to(&target)).into_response();
        }
        Err(status) => match Failure::of(&status) {
            Failure::Invalid(found) => violations(lang, &found)
                .into_iter()
                .map(|(f, w)| {
                    let f = match f.as_str() {
                        "classification.confidentiality" => "c".to_owned(),
                        "classification.integrity" => "i".to_owned(),
                        "classification.availability" => "a".to_owned(),
                        "classification_rationale" => "rationale".to_owned(),
                        _ => f,
                    };
                    (f, w)
                })
                .collect(),
            Failure::Conflict(message) | Failure::Precondition { message, .. } => {
                vec![(
                    "name".to_owned(),
                    lang.t_with("step-refused", &[("message", text(message))]),
                )]
            }
            failure => return errors::failed(lang, jar, "/assets/new", &failure, PART),
        },
    };
    let sent = Sent {
        form: "register".into(),
        posted,
        problems,
    };
    form_page(&state, jar, lang, Some(&sent)).await
}

/// `GET /assets/import`.
pub async fn import_form(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
) -> Response {
    let lang = language(&jar, &headers);
    import_page(&state, jar, lang, None, None).await
}

async fn import_page(
    state: &crate::Portal,
    jar: PrivateCookieJar,
    lang: Lang,
    result: Option<&ImportAssetsResponse>,
    problem: Option<String>,
) -> Response {
    let (jar, viewer, _) = match viewer(state, jar, lang, "/assets/import").await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    if !viewer.may(Permission::ManageAssets) {
        return (jar, errors::forbidden(lang)).into_response();
    }
    let body = html! {
        h1 { (lang.t("import-title")) }
        p { (lang.t("import-explain")) }
        details {
            summary { (lang.t("import-template")) }
            pre { "tenant,name,kind,owner_email,c,i,a,external_key\nacme,Mail relay,server,olle@tillit.test,2,3,3,srv-001\n" }
        }
        @if let Some(result) = result { (results(lang, result)) }
        section.card {
            form method="post" action="/assets/import" enctype="multipart/form-data" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                label for="import-csv" { (lang.t("import-file")) }
                input #import-csv type="file" name="csv" accept=".csv,text/csv" required
                    aria-describedby=[problem.as_ref().map(|_| "import-csv-problem")];
                @if let Some(problem) = &problem { p.problem #import-csv-problem { (problem) } }
                button.primary type="submit" { (lang.t("import-submit")) }
            }
        }
    };
    let frame = Frame {
        lang,
        viewer: Some(&viewer),
        path: "/assets/import",
    };
    let page = (jar, frame_page(&frame, &lang.t("import-title"), body)).into_response();
    if problem.is_some() {
        errors::with_refused_status(page)
    } else {
        page
    }
}

/// Every line of an import: created (linked), already there, or refused with its column
/// and reason.
fn results(lang: Lang, result: &ImportAssetsResponse) -> Markup {
    let refused = result
        .lines
        .iter()
        .filter(|l| l.outcome() == ImportOutcome::Refused)
        .count();
    html! {
        section.card #import-result aria-labelledby="import-summary" {
            p #import-summary role="status" { strong { (lang.t_with("import-result", &[
                ("created", result.created.into()),
                ("unchanged", result.unchanged.into()),
                ("refused", refused.into()),
            ])) } }
            div.table-wrap { table.list #import-lines {
                thead { tr {
                    th scope="col" { (lang.t("import-line")) }
                    th scope="col" { (lang.t("asset-name")) }
                    th scope="col" { (lang.t("import-outcome")) }
                } }
                tbody { @for line in &result.lines { tr id={ "line-" (line.line) } {
                    td { (line.line) }
                    td {
                        @if line.asset_id.is_empty() { (line.name) }
                        @else { a href={ "/assets/" (line.asset_id) } { (line.name) } }
                    }
                    td {
                        @match line.outcome() {
                            ImportOutcome::Refused => {
                                span.late { (lang.t("import-outcome-refused")) } ": "
                                code { (line.field) } " — " (line.message)
                            }
                            outcome => { (word(lang, "import-outcome", outcome)) }
                        }
                    }
                } } }
            } }
        }
    }
}

/// `POST /assets/import`: the uploaded file, imported.
pub async fn import(
    State(state): State<Shared>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Response {
    let mut csrf = String::new();
    let mut csv = None;
    while let Ok(Some(field)) = multipart.next_field().await {
        match field.name() {
            Some("csrf") => csrf = field.text().await.unwrap_or_default(),
            Some("csv") => csv = field.bytes().await.ok(),
            _ => {}
        }
    }
    let (lang, jar, _) = match checked_form(&state, jar, &headers, &csrf) {
        Ok(checked) => checked,
        Err(refused) => return *refused,
    };
    let (jar, _viewer, access) = match reader(&state, jar, lang, "/assets/import", |viewer| {
        viewer.may(Permission::ManageAssets)
    })
    .await
    {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let csv = match csv.map(|bytes| String::from_utf8(bytes.to_vec())) {
        Some(Ok(text)) if !text.trim().is_empty() => text,
        Some(Err(_)) => {
            let problem = lang.t("reason-MALFORMED");
            return import_page(&state, jar, lang, None, Some(problem)).await;
        }
        _ => {
            let problem = lang.t("import-no-file");
            return import_page(&state, jar, lang, None, Some(problem)).await;
        }
    };
    let answer = state
        .assets
        .clone()
        .import_assets(bearer(
            &access,
            ImportAssetsRequest {
                csv,
                consistency: None,
            },
        ))
        .await;
    match answer {
        Ok(answer) => {
            let result = answer.into_inner();
            import_page(&state, jar, lang, Some(&result), None).await
        }
        Err(status) => match Failure::of(&status) {
            Failure::Invalid(found) => {
                let words = violations(lang, &found)
                    .into_iter()
                    .map(|(_, w)| w)
                    .collect::<Vec<_>>()
                    .join(" ");
                import_page(&state, jar, lang, None, Some(words)).await
            }
            failure => errors::failed(lang, jar, "/assets/import", &failure, PART),
        },
    }
}
