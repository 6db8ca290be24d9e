//! The identity service: tenants, users, credentials, login and EdDSA access tokens.
//!
//! - [`config`]: settings from `TILLIT_*` variables.
//! - [`domain`]: the deciders (tenant, user, credential, refresh chain, signing key,
//!   service account, policy, acknowledgement, training, access review) and input
//!   validation; pure.
//! - [`projection`]: the directory (tenants, users, service accounts) and the compliance
//!   read model (policies, acknowledgements, trainings, access reviews) for queries.
//! - [`api`]: the `tillit.identity.v1.IdentityService` handlers.
//! - [`keys`], [`tokens`], [`passwords`]: the signing key, token issuing, argon2id.
//! - [`bootstrap`]: tenant `internal` and the first admin on a first start.
//!
//! A login's path: the auth layer lets `Login` through unauthenticated; the handler finds
//! the user through the e-mail reservation, loads user and credential, verifies the
//! password on the blocking pool, records the attempt (lockout is decided there), starts a
//! refresh chain in CREDENTIALS and signs a 15-minute JWT with the active key. Every other
//! service verifies that JWT against its own copy of the identity view.

pub mod api;
pub mod bootstrap;
pub mod config;
pub mod domain;
pub mod keys;
pub mod passwords;
pub mod projection;
pub mod tokens;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use axum::response::IntoResponse;
use axum::routing::get;
use tillit_auth::view::ViewReader;
use tillit_auth::{AuthLayer, IdentityView, Verifier};
use tillit_kernel::{
    AggregateId, BoundedContext, CommandMeta, CommandRequest, EventStore, Projection,
    ProjectionConfig, ProjectionRunner, Reservations, Runner, Target, TenantId,
};
use tillit_proto::identity::identity_service_server::IdentityServiceServer;
use tokio::net::TcpListener;

pub use config::IdentityConfig;

use crate::api::{Identity, IdentityApi, PUBLIC_METHODS};
use crate::bootstrap::Bootstrapped;
use crate::domain::signing_key::SigningKeyCommand;
use crate::projection::{Compliance, ComplianceReader, Directory, DirectoryReader};

/// The fully qualified gRPC service name.
pub const SERVICE_NAME: &str = "tillit.identity.v1.IdentityService";

/// Runs identity on the given listeners until `shutdown` resolves.
pub async fn run(
    config: IdentityConfig,
    grpc_listener: TcpListener,
    admin_listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let platform = &config.platform;
    let store = EventStore::connect(
        &platform.nats_url,
        platform.store.clone(),
        config.clock.clone(),
    )
    .await
    .map_err(|e| e.to_string())?;
    store
        .provision(BoundedContext::IDENTITY)
        .await
        .map_err(|e| e.to_string())?;
    store
        .provision(BoundedContext::CREDENTIALS)
        .await
        .map_err(|e| e.to_string())?;

    std::fs::create_dir_all(&platform.data_dir)
        .map_err(|e| format!("{}: {e}", platform.data_dir.display()))?;
    let signing = match &config.signing_key_file {
        Some(path) => keys::load_or_generate(path, false)?,
        None => keys::load_or_generate(&platform.data_dir.join("identity-signing-key.pem"), true)?,
    };

    let projections: Vec<Arc<dyn Projection>> = vec![
        Arc::new(IdentityView),
        Arc::new(Directory),
        Arc::new(Compliance),
    ];
    let projections = Arc::new(
        ProjectionRunner::start(
            &platform.data_dir.join("identity.redb"),
            store.clone(),
            projections,
            ProjectionConfig::default(),
        )
        .await
        .map_err(|e| e.to_string())?,
    );
    let db = projections.database().clone();
    let identity = Arc::new(Identity {
        tenants: Runner::new(store.clone(), BoundedContext::IDENTITY),
        users: Runner::new(store.clone(), BoundedContext::IDENTITY),
        credentials: Runner::new(store.clone(), BoundedContext::CREDENTIALS),
        chains: Runner::new(store.clone(), BoundedContext::CREDENTIALS),
        keys: Runner::new(store.clone(), BoundedContext::IDENTITY),
        service_accounts: Runner::new(store.clone(), BoundedContext::IDENTITY),
        policies: Runner::new(store.clone(), BoundedContext::IDENTITY),
        acknowledgements: Runner::new(store.clone(), BoundedContext::IDENTITY),
        trainings: Runner::new(store.clone(), BoundedContext::IDENTITY),
        access_reviews: Runner::new(store.clone(), BoundedContext::IDENTITY),
        reservations: Reservations::new(store.clone(), BoundedContext::IDENTITY),
        directory: DirectoryReader::new(db.clone()),
        compliance: ComplianceReader::new(db.clone()),
        projections: projections.clone(),
        signing,
        unknown_email_logins: AtomicU64::new(0),
        store,
        config,
    });

    activate_signing_key(&identity).await?;
    match bootstrap::run(&identity).await? {
        Bootstrapped::AdminCreated { email, password } => {
            println!("Tillit admin login (shown once): {email} / {password}");
            tracing::info!(%email, "created tenant internal and the first admin");
        }
        Bootstrapped::AlreadyDone => {}
    }

    let view = ViewReader::new(db);
    let verifier = Verifier::new(view.clone(), identity.config.platform.issuer.clone())
        .with_catch_up(
            projections.clone(),
            identity.config.platform.consistency_timeout,
        );
    let admin = axum::Router::new().route(
        "/.well-known/jwks.json",
        get(move || {
            let keys = view.active_keys();
            async move {
                match keys {
                    Ok(keys) => axum::Json(keys::jwks(&keys)).into_response(),
                    Err(e) => {
                        tracing::error!(error = %e, "reading signing keys");
                        let status = axum::http::StatusCode::SERVICE_UNAVAILABLE;
                        (status, "signing keys unavailable").into_response()
                    }
                }
            }
        }),
    );
    let counters = identity.clone();
    let admin = admin.route(
        "/metrics",
        get(move || {
            let unknown = counters.unknown_email_logins.load(std::sync::atomic::Ordering::Relaxed);
            async move {
                format!(
                    "# HELP tillit_identity_login_unknown_email_total Logins for e-mail addresses no account has (never events).\n\
                     # TYPE tillit_identity_login_unknown_email_total counter\n\
                     tillit_identity_login_unknown_email_total {unknown}\n"
                )
            }
        }),
    );
    let ready_projections = projections.clone();
    tracing::info!(
        grpc = %grpc_listener.local_addr().map_err(|e| e.to_string())?,
        admin = %admin_listener.local_addr().map_err(|e| e.to_string())?,
        "identity serving"
    );
    tillit_runtime::serve(
        tillit_runtime::ServeParts {
            routes: tonic::service::Routes::new(IdentityServiceServer::new(IdentityApi::new(
                identity,
            ))),
            service_names: vec![SERVICE_NAME],
            auth: AuthLayer::new(verifier, &PUBLIC_METHODS),
            admin,
            ready: Arc::new(move || ready_projections.is_ready()),
        },
        grpc_listener,
        admin_listener,
        shutdown,
    )
    .await
    .map_err(|e| e.to_string())?;
    projections.stop().await;
    Ok(())
}

/// Records the configured key as active (a no-op when it is), refusing a retired one.
async fn activate_signing_key(identity: &Identity) -> Result<(), String> {
    let kid = AggregateId::parse(&identity.signing.kid, "kid").map_err(|e| e.to_string())?;
    identity
        .keys
        .execute(CommandRequest {
            tenant: TenantId::internal(),
            target: Target::At(kid),
            name: "tillit.identity.v1.ActivateSigningKey".into(),
            command: SigningKeyCommand::Activate {
                kid: identity.signing.kid.clone(),
                public_key: identity.signing.public_key.clone(),
            },
            meta: CommandMeta::system("startup"),
        })
        .await
        .map(drop)
        .map_err(|e| format!("activating signing key {}: {e}", identity.signing.kid))
}
