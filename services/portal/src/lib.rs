//! Tillit's web portal: server-rendered pages (maud: templates are Rust, checked by the
//! compiler, escaping every value by default) over the four services' gRPC APIs, with the
//! signed-in user's own token. It keeps nothing of its own beyond the session cookie.
//!
//! - [`api`]: requests with the user's token, consistency tokens, and what the services'
//!   refusals mean to a page (the portal's one error table).
//! - [`config`]: the `TILLIT_PORTAL_*` settings.
//! - [`session`]: the encrypted session cookie and the CSRF tokens.
//! - [`i18n`]: Swedish and English from Fluent catalogues.
//! - [`web`]: security headers and the embedded stylesheet.
//! - [`pages`]: sign-in, password change, home, the error pages.

pub mod api;
pub mod config;
pub mod i18n;
pub mod pages;
pub mod session;
pub mod web;

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRef, Path, Query};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::PrivateCookieJar;
use axum_extra::extract::cookie::Key;
use tillit_proto::assets::assets_service_client::AssetsServiceClient;
use tillit_proto::identity::RefreshRequest;
use tillit_proto::identity::identity_service_client::IdentityServiceClient;
use tillit_proto::incidents::incidents_service_client::IncidentsServiceClient;
use tillit_proto::reporting::reporting_service_client::ReportingServiceClient;
use tillit_runtime::{Metrics, StartError};
use tokio::net::TcpListener;
use tonic::transport::Channel;

pub use api::bearer;

/// The channel every client of the portal calls through: each call a child span of the
/// page request, its trace context in the call's metadata.
pub type Grpc = tillit_runtime::telemetry::grpc::Traced<Channel>;
pub use config::PortalConfig;

use crate::i18n::Lang;
use crate::session::{Keys, Session};

/// The service name in logs and metrics.
pub const SERVICE_NAME: &str = "portal";

/// What every handler shares.
pub struct Portal {
    /// Cookie and CSRF keys.
    pub keys: Keys,
    /// Identity, over gRPC.
    pub identity: IdentityServiceClient<Grpc>,
    /// Assets, over gRPC.
    pub assets: AssetsServiceClient<Grpc>,
    /// Incidents, over gRPC.
    pub incidents: IncidentsServiceClient<Grpc>,
    /// Reporting, over gRPC.
    pub reporting: ReportingServiceClient<Grpc>,
}

/// The shared state.
#[derive(Clone)]
pub struct State(pub Arc<Portal>);

impl std::ops::Deref for State {
    type Target = Portal;

    fn deref(&self) -> &Portal {
        &self.0
    }
}

impl FromRef<State> for Key {
    fn from_ref(state: &State) -> Key {
        state.keys.cookie.clone()
    }
}

/// Serves the portal on `listener` and its admin routes on `admin_listener` until
/// `shutdown` resolves.
pub async fn run(
    config: PortalConfig,
    listener: TcpListener,
    admin_listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let material = cookie_key(&config)?;
    let channel = |url: &str| {
        Channel::from_shared(url.to_owned())
            .map(|endpoint| {
                endpoint
                    .connect_timeout(std::time::Duration::from_secs(3))
                    .timeout(std::time::Duration::from_secs(10))
                    .connect_lazy()
            })
            .map(Grpc::new)
            .map_err(|e| StartError::Settings(format!("service address {url}: {e}")))
    };
    let state = State(Arc::new(Portal {
        keys: Keys::new(&material, !config.plain_http),
        identity: IdentityServiceClient::new(channel(&config.identity_url)?),
        assets: AssetsServiceClient::new(channel(&config.assets_url)?),
        incidents: IncidentsServiceClient::new(channel(&config.incidents_url)?),
        reporting: ReportingServiceClient::new(channel(&config.reporting_url)?),
    }));
    let metrics = Metrics::new(SERVICE_NAME);
    // The portal's own process is ready when it serves; a service that is down shows the
    // 503 page of that part instead of taking the portal out of rotation.
    let admin = tillit_runtime::admin_router(Router::new(), &metrics, Arc::new(|| Ok(())));
    tracing::info!(addr = %listener.local_addr().map_err(|e| StartError::Settings(e.to_string()))?, "portal listening");
    let app = router(state).layer(axum::middleware::from_fn_with_state(
        metrics.http().clone(),
        tillit_runtime::telemetry::http::observe,
    ));
    tillit_runtime::serve_http(app, admin, listener, admin_listener, shutdown)
        .await
        .map_err(StartError::Serve)
}

/// Every route of the portal.
pub fn router(state: State) -> Router {
    Router::new()
        .route("/", get(pages::home::home))
        .route(
            "/signin",
            get(pages::signin::form).post(pages::signin::submit),
        )
        .route("/password", post(pages::signin::change_password))
        .route("/signout", post(pages::signin::sign_out))
        .route(
            "/report",
            get(pages::incidents::report::form).post(pages::incidents::report::submit),
        )
        .route("/incidents", get(pages::incidents::list::list))
        .route("/incidents/{id}", get(pages::incidents::detail::detail))
        .route(
            "/incidents/{id}/report",
            get(pages::incidents::print::report),
        )
        .route(
            "/incidents/{id}/triage",
            post(pages::incidents::submit::triage),
        )
        .route(
            "/incidents/{id}/{step}",
            post(pages::incidents::submit::step),
        )
        .route("/assets", get(pages::assets::list))
        .route(
            "/assets/new",
            get(pages::assets::register::form).post(pages::assets::register::register),
        )
        .route(
            "/assets/import",
            get(pages::assets::register::import_form)
                .post(pages::assets::register::import)
                .layer(axum::extract::DefaultBodyLimit::max(
                    pages::assets::register::MAX_UPLOAD,
                )),
        )
        .route("/assets/{id}", get(pages::assets::detail::detail))
        .route("/assets/{id}/{form}", post(pages::assets::detail::submit))
        .route(
            "/policies",
            get(pages::policies::list).post(pages::policies::detail::publish),
        )
        .route("/policies/{id}", get(pages::policies::detail::detail))
        .route(
            "/policies/{id}/acknowledge",
            post(pages::policies::detail::acknowledge),
        )
        .route("/audit", get(pages::audit::search))
        .route("/audit/export", get(pages::audit::export::export))
        .route("/review", get(pages::review::review))
        .route("/review/{year}/sign", post(pages::review::sign::sign))
        .route("/review/{year}/{file}", get(pages::review::sign::download))
        .route(
            "/trainings",
            get(pages::trainings::trainings).post(pages::trainings::record),
        )
        .route(
            "/access-reviews",
            get(pages::access_reviews::list).post(pages::access_reviews::start),
        )
        .route("/access-reviews/{id}", get(pages::access_reviews::campaign))
        .route(
            "/access-reviews/{id}/decide",
            post(pages::access_reviews::decide),
        )
        .route(
            "/admin/users",
            get(pages::admin::users::list).post(pages::admin::users::create),
        )
        .route("/admin/users/{id}", get(pages::admin::users::user))
        .route("/admin/users/{id}/{action}", post(pages::admin::users::act))
        .route(
            "/admin/tenants",
            get(pages::admin::tenants::list).post(pages::admin::tenants::save),
        )
        .route(
            "/admin/tenants/{id}",
            get(pages::admin::tenants::tenant).post(pages::admin::tenants::save),
        )
        .route(
            "/admin/service-accounts",
            get(pages::admin::accounts::list).post(pages::admin::accounts::create),
        )
        .route(
            "/admin/service-accounts/{id}/{action}",
            post(pages::admin::accounts::act),
        )
        .route("/my-data", get(pages::personal::mine))
        .route("/my-data/export.json", get(pages::personal::export))
        .route(
            "/erasure",
            get(pages::personal::erasures).post(pages::personal::request),
        )
        .route("/erasure/{id}/approve", post(pages::personal::approve))
        .route("/records", get(pages::records::record))
        .route("/records/{tenant}/{file}", get(pages::records::download))
        .route("/lang/{code}", get(switch_language))
        .route(web::stylesheet_path(), get(web::stylesheet))
        .route(web::script_path(), get(web::script))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(web::headers))
        .with_state(state)
}

/// The page's language: the switch's cookie, else `Accept-Language`.
pub fn language(jar: &PrivateCookieJar, headers: &HeaderMap) -> Lang {
    Lang::choose(
        jar.get(i18n::COOKIE).as_ref().map(|c| c.value()),
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

#[derive(serde::Deserialize)]
struct Next {
    #[serde(default)]
    next: String,
}

async fn switch_language(
    axum::extract::State(state): axum::extract::State<State>,
    jar: PrivateCookieJar,
    Path(code): Path<String>,
    Query(query): Query<Next>,
) -> Response {
    let next = session::safe_next(&query.next).to_owned();
    match Lang::parse(&code) {
        Some(lang) => (
            jar.add(state.keys.cookie(i18n::COOKIE, lang.code().to_owned())),
            Redirect::to(&next),
        )
            .into_response(),
        None => Redirect::to(&next).into_response(),
    }
}

async fn not_found(jar: PrivateCookieJar, headers: HeaderMap) -> Response {
    pages::errors::not_found(language(&jar, &headers))
}

/// The signed-in session of this request, its access token refreshed when it expires
/// within a minute; `Err` is the redirect to sign-in (with the page asked for).
pub async fn signed_in(
    state: &Portal,
    jar: PrivateCookieJar,
    path: &str,
) -> Result<(PrivateCookieJar, Session), Response> {
    let to_signin = |jar: PrivateCookieJar| to_signin(jar, path);
    let Some(current) = session::session(&jar) else {
        return Err(to_signin(jar));
    };
    if current.expires_at - now() > 60 {
        return Ok((jar, current));
    }
    let refreshed = state
        .identity
        .clone()
        .refresh(RefreshRequest {
            refresh_token: current.refresh.clone(),
            ..Default::default()
        })
        .await;
    match refreshed {
        Ok(answer) => {
            let answer = answer.into_inner();
            let renewed = Session {
                access: answer.access_token,
                refresh: answer.refresh_token,
                expires_at: now() + i64::from(answer.expires_in),
            };
            let jar = session::store(jar, &state.keys, &renewed);
            Ok((jar, renewed))
        }
        Err(_) => Err(to_signin(jar)),
    }
}

/// Signed out here (the session cookie cleared) and sent to sign in, coming back to
/// `path` afterwards: a missing, unreadable, expired or revoked session.
pub fn to_signin(jar: PrivateCookieJar, path: &str) -> Response {
    let next = urlencode(session::safe_next(path));
    (
        session::clear(jar),
        Redirect::to(&format!("/signin?next={next}")),
    )
        .into_response()
}

/// Unix seconds now.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Percent-encodes a path for a query parameter.
pub fn urlencode(path: &str) -> String {
    path.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The cookie key: from its file, else the development key under the data directory.
fn cookie_key(config: &PortalConfig) -> Result<Vec<u8>, StartError> {
    let (path, generate) = match &config.cookie_key_file {
        Some(path) => (path.clone(), false),
        None => (config.platform.data_dir.join("portal-cookie.key"), true),
    };
    if generate && !path.exists() {
        std::fs::create_dir_all(&config.platform.data_dir).map_err(|source| {
            StartError::DataDir {
                path: config.platform.data_dir.clone(),
                source,
            }
        })?;
        let key =
            hex::encode(rand::random::<[u8; 32]>()) + &hex::encode(rand::random::<[u8; 32]>());
        std::fs::write(&path, key)
            .map_err(|e| StartError::Settings(format!("{}: {e}", path.display())))?;
        tracing::warn!(path = %path.display(), "generated a development cookie key; production sets TILLIT_PORTAL_COOKIE_KEY_FILE");
    }
    let text = std::fs::read_to_string(&path).map_err(|e| {
        StartError::Settings(format!(
            "TILLIT_PORTAL_COOKIE_KEY_FILE {}: {e}",
            path.display()
        ))
    })?;
    let bytes = hex::decode(text.trim()).map_err(|_| {
        StartError::Settings(format!("{}: the cookie key must be hex", path.display()))
    })?;
    if bytes.len() < 64 {
        return Err(StartError::Settings(format!(
            "{}: the cookie key must be at least 64 bytes (128 hex digits)",
            path.display()
        )));
    }
    Ok(bytes)
}
