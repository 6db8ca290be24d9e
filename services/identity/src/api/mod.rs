//! The gRPC API: authenticate (the layer did), authorize, parse input into domain values,
//! wait for the request's consistency token, run the command or query, map the answer.
//!
//! - [`session`]: Login, Refresh, Logout, WhoAmI: the tokens a session holds.
//! - [`credentials`]: the client address a sign-in counts under, password and secret
//!   checks under the throttle, ChangePassword.
//! - [`admin`]: tenants, users, roles, deactivation, password reset, unlock, key retirement.
//! - [`service_accounts`]: machine clients and `IssueServiceToken`.
//! - [`compliance`]: policies and acknowledgements, trainings, access reviews.
//! - [`errors`]: the one mapping of identity's errors to gRPC statuses.

mod admin;
mod compliance;
mod credentials;
mod erasure;
pub(crate) mod errors;
mod policies;
mod service;
mod service_accounts;
mod session;
mod tenants;

use std::sync::Arc;

use tillit_api::lookup::Consistency;
use tillit_auth::Caller;
use tillit_kernel::{
    AggregateId, CommandMeta, EventStore, KernelError, ProjectionRunner, Reservations, Runner,
    TenantId,
};
use tillit_proto::common::{Actor, ConsistencyToken};
use tonic::Status;

use crate::config::IdentityConfig;
use crate::domain::access_review::AccessReview;
use crate::domain::credential::Credential;
use crate::domain::policy::{Acknowledgement, Policy};
use crate::domain::refresh::RefreshChain;
use crate::domain::service_account::ServiceAccount;
use crate::domain::signing_key::SigningKey;
use crate::domain::tenant::Tenant;
use crate::domain::training::Training;
use crate::domain::user::User;
use crate::keys::SigningMaterial;
use tillit_identity_views::{ComplianceReader, DirectoryReader};

pub use errors::status;

/// Methods callable without an access token (they prove identity otherwise).
pub const PUBLIC_METHODS: [&str; 5] = [
    "/tillit.identity.v1.IdentityService/Login",
    "/tillit.identity.v1.IdentityService/IssueServiceToken",
    "/tillit.identity.v1.IdentityService/Refresh",
    "/tillit.identity.v1.IdentityService/Logout",
    "/tillit.identity.v1.IdentityService/ChangePassword",
];

/// What the handlers share.
pub struct Identity {
    /// The service's settings.
    pub config: IdentityConfig,
    /// The event store.
    pub store: EventStore,
    /// Runs tenant commands.
    pub tenants: Runner<Tenant>,
    /// Runs user commands.
    pub users: Runner<User>,
    /// Credentials (CREDENTIALS stream).
    pub credentials: Runner<Credential>,
    /// Refresh chains (CREDENTIALS stream).
    pub chains: Runner<RefreshChain>,
    /// Signing keys.
    pub keys: Runner<SigningKey>,
    /// The access-token lifetime every service enforces.
    pub token_policy: Runner<crate::domain::token_policy::TokenPolicy>,
    /// Service accounts.
    pub service_accounts: Runner<ServiceAccount>,
    /// Policy documents.
    pub policies: Runner<Policy>,
    /// Policy acknowledgements.
    pub acknowledgements: Runner<Acknowledgement>,
    /// Training records.
    pub trainings: Runner<Training>,
    /// Access-review campaigns.
    pub access_reviews: Runner<AccessReview>,
    /// Erasure requests, under tenant `internal`.
    pub erasures: Runner<crate::domain::erasure::Erasure>,
    /// E-mail uniqueness, under tenant `internal`.
    pub reservations: Reservations,
    /// The directory and the identity view.
    pub projections: Arc<ProjectionRunner>,
    /// Reads the directory.
    pub directory: DirectoryReader,
    /// Reads policies, acknowledgements, trainings and campaigns.
    pub compliance: ComplianceReader,
    /// The active signing key.
    pub signing: SigningMaterial,
    /// Logins for e-mails nobody has (a metric, never an event).
    pub unknown_email_logins: prometheus_client::metrics::counter::Counter,
    /// Sign-ins refused for a wrong e-mail, password or client secret.
    pub login_failures: prometheus_client::metrics::counter::Counter,
    /// Sign-ins refused by the throttle (an account or address locked out for a while).
    pub lockouts: prometheus_client::metrics::counter::Counter,
    /// Counts failed sign-ins where they expire.
    pub throttle: Arc<crate::throttle::Throttle>,
    /// A hash of nothing, verified against when an account has no hash to verify (an
    /// unknown e-mail, a deactivated user), so every failure costs the same time.
    pub dummy_hash: String,
    /// Verifies tokens of forwarders that state a client address.
    pub verifier: tillit_auth::Verifier,
}

/// The `IdentityService` implementation.
#[derive(Clone)]
pub struct IdentityApi {
    identity: Arc<Identity>,
}

impl IdentityApi {
    /// The API over shared state.
    pub fn new(identity: Arc<Identity>) -> Self {
        Self { identity }
    }

    /// How the handlers wait for this service's projections.
    fn consistency(&self) -> Consistency<'_> {
        Consistency::new(
            &self.identity.projections,
            self.identity.config.platform.consistency_timeout,
        )
    }

    /// What `lookup` finds in this service's projections, catching up with IDENTITY once
    /// on a miss; NOT_FOUND naming `what` when it is still missing or invisible.
    async fn find<T>(
        &self,
        what: &'static str,
        lookup: impl Fn() -> Result<Option<T>, KernelError>,
    ) -> Result<T, Status> {
        Ok(self.consistency().find("IDENTITY", what, lookup).await?)
    }

    /// Waits until this service's projections have applied the request's token.
    async fn wait(&self, token: Option<&ConsistencyToken>) -> Result<(), Status> {
        Ok(self.consistency().wait(token).await?)
    }
}

/// The reservation key of an e-mail address: its lookup HMAC, never the address.
pub(crate) fn email_key(store: &EventStore, email: &str) -> Result<String, KernelError> {
    Ok(format!("email:{}", store.lookup(email)?))
}

/// Envelope data for a command by `actor`, from the request's metadata.
pub(crate) fn meta<T>(request: &tonic::Request<T>, actor: Actor) -> CommandMeta {
    tillit_auth::command_meta(request, actor)
}

/// The id of an aggregate a command creates: derived from the caller's scoped
/// idempotency key (so a retried create lands on the same aggregate), else a fresh UUIDv7.
pub(crate) fn new_aggregate_id(
    meta: &CommandMeta,
    tenant: &TenantId,
    purpose: &str,
) -> AggregateId {
    meta.derive_id(tenant, purpose)
}

/// The actor of an authenticated caller.
pub(crate) fn actor_of(caller: &Caller) -> Actor {
    caller.actor()
}

/// Where a user's aggregates live, read from the owner subject of its e-mail reservation
/// (`tillit.identity.<tenant>.user.<id>`).
pub(crate) fn user_of_subject(subject: &str) -> Option<(TenantId, AggregateId)> {
    let mut parts = subject.split('.');
    match (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) {
        (Some("tillit"), Some("identity"), Some(tenant), Some("user"), Some(id)) => Some((
            TenantId::parse(tenant, "tenant").ok()?,
            AggregateId::parse(id, "user_id").ok()?,
        )),
        _ => None,
    }
}
