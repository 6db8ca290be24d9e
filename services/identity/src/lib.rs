//! The identity service: tenants, users, credentials, login and EdDSA access tokens.
//!
//! - [`config`]: settings from `TILLIT_*` variables.
//! - [`domain`]: the deciders (tenant, user, credential, refresh chain, signing key,
//!   service account, policy, acknowledgement, training, access review) and input
//!   validation; pure.
//! - the directory (tenants, users, service accounts) and the compliance read model
//!   (policies, acknowledgements, trainings, access reviews) are `tillit-identity-views`,
//!   with the events they read; reporting runs them too.
//! - [`api`]: the `tillit.identity.v1.IdentityService` handlers.
//! - [`keys`], [`tokens`], [`passwords`]: the signing key, token issuing, argon2id.
//! - [`throttle`]: failed sign-ins per account and address, shared across replicas.
//! - [`bootstrap`]: tenant `internal` and the first admin on a first start.
//!
//! A login's path: the auth layer lets `Login` through unauthenticated; the handler finds
//! the user through the e-mail reservation, loads user and credential, verifies the
//! password on the blocking pool under the throttle (a failure is counted there, never in
//! the log; a success is recorded on the credential), starts a
//! refresh chain in CREDENTIALS and signs a 15-minute JWT with the active key. Every other
//! service verifies that JWT against its own copy of the identity view.

pub mod api;
pub mod bootstrap;
pub mod config;
pub mod domain;
pub mod keys;
pub mod passwords;
pub mod throttle;
pub mod tokens;

use std::sync::Arc;

use axum::response::IntoResponse;
use axum::routing::get;
use tillit_kernel::{
    AggregateId, BoundedContext, CommandMeta, CommandRequest, Projection, Reservations, Runner,
    Target, TenantId,
};
use tillit_proto::identity::identity_service_server::IdentityServiceServer;
use tillit_runtime::{Foundation, StartError};
use tokio::net::TcpListener;

pub use config::IdentityConfig;

use crate::api::{Identity, IdentityApi, PUBLIC_METHODS};
use crate::bootstrap::Bootstrapped;
use crate::domain::signing_key::SigningKeyCommand;
use tillit_identity_views::{Compliance, ComplianceReader, Directory, DirectoryReader};

/// The fully qualified gRPC service name.
pub const SERVICE_NAME: &str = "tillit.identity.v1.IdentityService";

/// Runs identity on the given listeners until `shutdown` resolves.
pub async fn run(
    config: IdentityConfig,
    grpc_listener: TcpListener,
    admin_listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let projections: Vec<Arc<dyn Projection>> = vec![Arc::new(Directory), Arc::new(Compliance)];
    let foundation = Foundation::start(
        SERVICE_NAME,
        &config.platform,
        config.clock.clone(),
        &[BoundedContext::IDENTITY, BoundedContext::CREDENTIALS],
        "identity.redb",
        projections,
    )
    .await?;
    let data_dir = &config.platform.data_dir;
    let signing = match &config.signing_key_file {
        Some(path) => keys::load_or_generate(path, false),
        None => keys::load_or_generate(&data_dir.join("identity-signing-key.pem"), true),
    }
    .map_err(StartError::Settings)?;
    let (store, projections) = (foundation.store.clone(), foundation.projections.clone());
    let db = foundation.db.clone();
    let throttle = throttle::Throttle::start(store.clone(), config.throttle)
        .await
        .map_err(|e| StartError::step("the sign-in throttle", e))?;
    let cost = config.hash_cost;
    let dummy_hash =
        tokio::task::spawn_blocking(move || passwords::hash(&passwords::generate(), cost))
            .await
            .map_err(|e| StartError::step("hashing the dummy password", e))?
            .map_err(|e| StartError::step("hashing the dummy password", e))?;
    let identity = Arc::new(Identity {
        tenants: Runner::new(store.clone(), BoundedContext::IDENTITY),
        users: Runner::new(store.clone(), BoundedContext::IDENTITY),
        credentials: Runner::new(store.clone(), BoundedContext::CREDENTIALS),
        chains: Runner::new(store.clone(), BoundedContext::CREDENTIALS),
        keys: Runner::new(store.clone(), BoundedContext::IDENTITY),
        token_policy: Runner::new(store.clone(), BoundedContext::IDENTITY),
        service_accounts: Runner::new(store.clone(), BoundedContext::IDENTITY),
        policies: Runner::new(store.clone(), BoundedContext::IDENTITY),
        acknowledgements: Runner::new(store.clone(), BoundedContext::IDENTITY),
        trainings: Runner::new(store.clone(), BoundedContext::IDENTITY),
        access_reviews: Runner::new(store.clone(), BoundedContext::IDENTITY),
        erasures: Runner::new(store.clone(), BoundedContext::IDENTITY),
        reservations: Reservations::new(store.clone(), BoundedContext::IDENTITY),
        directory: DirectoryReader::new(db.clone()),
        compliance: ComplianceReader::new(db.clone()),
        projections: projections.clone(),
        signing,
        unknown_email_logins: foundation.metrics.counter(
            "tillit_identity_login_unknown_email",
            "Logins for e-mail addresses no account has (never events)",
        ),
        login_failures: foundation.metrics.counter(
            "tillit_identity_login_failures",
            "Sign-ins refused for a wrong e-mail, password or client secret",
        ),
        lockouts: foundation.metrics.counter(
            "tillit_identity_login_lockouts",
            "Sign-ins refused by the throttle: too many failures for the account or the address",
        ),
        throttle,
        dummy_hash,
        verifier: foundation.verifier.clone(),
        store,
        config,
    });

    activate_signing_key(&identity).await?;
    state_token_lifetime(&identity).await?;
    match bootstrap::run(&identity)
        .await
        .map_err(|e| StartError::step("bootstrapping the first admin", e))?
    {
        Bootstrapped::AdminCreated { email, password } => {
            let email = tillit_runtime::telemetry::redact::mask_email(&email);
            if identity.config.bootstrap_admin_password.is_some() {
                tracing::info!(%email, "created tenant internal and the first admin (password from TILLIT_BOOTSTRAP_ADMIN_PASSWORD)");
            } else {
                // Never in a log: a file only whoever runs the service can read.
                let path = bootstrap::write_initial_password(
                    &identity.config.platform.data_dir,
                    &password,
                )
                .map_err(|e| StartError::step("writing the first admin's password", e))?;
                tracing::warn!(%email, path = %path.display(), "created tenant internal and the first admin; the generated password is in this file: sign in, change it, delete the file");
            }
        }
        Bootstrapped::AlreadyDone => {}
    }

    let view = foundation.identity.clone();
    let admin = axum::Router::new().route(
        "/.well-known/jwks.json",
        get(move || {
            let keys = view.active_keys();
            async move {
                match keys {
                    Ok(keys) => axum::Json(keys::jwks(&keys)).into_response(),
                    Err(e) => api::errors::keys_unavailable(&e),
                }
            }
        }),
    );
    tracing::info!(
        grpc = ?grpc_listener.local_addr().ok(),
        admin = ?admin_listener.local_addr().ok(),
        "identity serving"
    );
    let routes =
        tonic::service::Routes::new(IdentityServiceServer::new(IdentityApi::new(identity)));
    foundation
        .serve(
            routes,
            vec![SERVICE_NAME],
            &PUBLIC_METHODS,
            admin,
            (grpc_listener, admin_listener),
            shutdown,
        )
        .await
}

/// States the configured access-token lifetime in IDENTITY (a no-op when unchanged), so
/// every service refuses tokens that claim to live longer.
async fn state_token_lifetime(identity: &Identity) -> Result<(), StartError> {
    use domain::token_policy::{TokenPolicyCommand, policy_id};
    identity
        .token_policy
        .execute(CommandRequest {
            tenant: TenantId::internal(),
            target: Target::At(policy_id()),
            name: "tillit.identity.v1.SetAccessTokenLifetime".into(),
            command: TokenPolicyCommand::SetLifetime {
                max_seconds: identity.config.access_token_ttl.as_secs(),
            },
            meta: CommandMeta::system("startup"),
        })
        .await
        .map(drop)
        .map_err(|e| StartError::step("stating the access-token lifetime", e))
}

/// Records the configured key as active (a no-op when it is), refusing a retired one.
async fn activate_signing_key(identity: &Identity) -> Result<(), StartError> {
    let kid = AggregateId::parse(&identity.signing.kid, "kid")?;
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
        .map_err(|e| {
            StartError::step(
                "activating the signing key",
                format!("{}: {e}", identity.signing.kid),
            )
        })
}
