//! The identity view: what every service must know to verify a token locally, projected
//! from the IDENTITY stream into the service's own redb file.
//!
//! Tables: signing keys (kid → public key, active), principals — users and service
//! accounts — (subject → tenant, active, session version), their current roles, tenants
//! (slug → registration with contacts and contract terms), users' e-mail addresses
//! (e-mail → user id), ended sessions (sid → when its tokens have all expired) and the
//! longest access-token lifetime. Revocation is as fast as this projection: the moment a
//! deactivation, role revocation or logout is applied here, this service refuses the
//! tokens it ended.
//!
//! Ended sessions are forgotten deterministically: applying a `SessionEnded` drops the
//! sessions whose tokens expired before that commit was recorded (the log's time, not the
//! clock), so a rebuild holds the same rows.

use std::sync::Arc;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};
use tillit_kernel::projection::open_read;
use tillit_kernel::{EventPayload, KernelError, Projection};
use tillit_proto::common::Position;
use tillit_proto::identity::DataSubjectErased;
use tillit_proto::identity::{
    AccessTokenLifetimeSet, RoleGranted, RoleRevoked, ServiceAccountCreated,
    ServiceAccountDeactivated, ServiceAccountSecretRotated, SessionEnded, SessionVersionRaised,
    SigningKeyActivated, SigningKeyRetired, TenantCreated, TenantDetailsChanged, UserCreated,
    UserDeactivated,
};
use tillit_proto::kernel::Commit;

const KEYS: TableDefinition<&str, (&[u8], bool)> = TableDefinition::new("identity_view_keys");
const PRINCIPALS: TableDefinition<&str, (&str, bool, u64)> =
    TableDefinition::new("identity_view_principals");
const TENANTS: TableDefinition<&str, &[u8]> = TableDefinition::new("identity_view_tenant_records");
const EMAILS: TableDefinition<&str, &str> = TableDefinition::new("identity_view_emails");
/// Subject → its current roles, comma-separated.
const ROLES: TableDefinition<&str, &str> = TableDefinition::new("identity_view_roles");
/// Ended session id → unix seconds by which all its access tokens have expired.
const ENDED: TableDefinition<&str, i64> = TableDefinition::new("identity_view_ended_sessions");
/// (expiry, session id), to forget ended sessions in expiry order.
const ENDED_BY_EXPIRY: TableDefinition<(i64, &str), ()> =
    TableDefinition::new("identity_view_ended_by_expiry");
/// Erased data subject → unix seconds of the erasure: what every service redoes key
/// destruction from at start (after a restore of the key store).
const ERASED: TableDefinition<&str, i64> = TableDefinition::new("identity_view_erased");
/// Settings identity states: `max_access_token_seconds`.
const SETTINGS: TableDefinition<&str, u64> = TableDefinition::new("identity_view_settings");
const MAX_TOKEN_SECONDS: &str = "max_access_token_seconds";

tillit_kernel::event_enum! {
    /// The IDENTITY events the view needs (others are skipped).
    pub enum ViewEvent {
        /// A data subject's keys were destroyed.
        DataSubjectErased(DataSubjectErased),
        /// A tenant exists.
        TenantCreated(TenantCreated),
        /// A tenant's details, contacts and contract terms replaced.
        TenantDetailsChanged(TenantDetailsChanged),
        /// A principal exists, session version 1, with its roles.
        UserCreated(UserCreated),
        /// A role added.
        RoleGranted(RoleGranted),
        /// A role removed, session version raised.
        RoleRevoked(RoleRevoked),
        /// Inactive, session version raised.
        UserDeactivated(UserDeactivated),
        /// Session version raised.
        SessionVersionRaised(SessionVersionRaised),
        /// A key verifies.
        SigningKeyActivated(SigningKeyActivated),
        /// A key no longer verifies.
        SigningKeyRetired(SigningKeyRetired),
        /// A service-account principal exists, session version 1.
        ServiceAccountCreated(ServiceAccountCreated),
        /// Session version raised.
        ServiceAccountSecretRotated(ServiceAccountSecretRotated),
        /// Inactive, session version raised.
        ServiceAccountDeactivated(ServiceAccountDeactivated),
        /// One session's tokens refused.
        SessionEnded(SessionEnded),
        /// The longest access-token lifetime.
        AccessTokenLifetimeSet(AccessTokenLifetimeSet),
    }
}

/// The projection; add it to the service's projection runner.
pub struct IdentityView;

/// The stream the view reads.
pub const IDENTITY_STREAM: &str = "IDENTITY";

impl Projection for IdentityView {
    fn name(&self) -> &'static str {
        "identity_view"
    }

    fn schema_version(&self) -> u32 {
        6
    }

    fn streams(&self) -> Vec<String> {
        vec![IDENTITY_STREAM.to_owned()]
    }

    fn reset(&self, tx: &WriteTransaction) -> Result<(), KernelError> {
        tx.delete_table(KEYS)?;
        tx.delete_table(PRINCIPALS)?;
        tx.delete_table(TENANTS)?;
        tx.delete_table(EMAILS)?;
        tx.delete_table(ROLES)?;
        tx.delete_table(ENDED)?;
        tx.delete_table(ENDED_BY_EXPIRY)?;
        tx.delete_table(SETTINGS)?;
        tx.delete_table(ERASED)?;
        Ok(())
    }

    fn apply(
        &self,
        tx: &WriteTransaction,
        commit: &Commit,
        _: &Position,
    ) -> Result<(), KernelError> {
        let mut keys = tx.open_table(KEYS)?;
        let mut principals = tx.open_table(PRINCIPALS)?;
        let mut tenants = tx.open_table(TENANTS)?;
        let mut emails = tx.open_table(EMAILS)?;
        let mut roles = tx.open_table(ROLES)?;
        let subject = commit.aggregate_id.as_str();
        let role_set = |roles: &redb::Table<&str, &str>| -> Result<Vec<String>, KernelError> {
            Ok(roles
                .get(subject)?
                .map(|row| split_roles(row.value()))
                .unwrap_or_default())
        };
        for event in &commit.events {
            // Events this view does not need (roles granted, reservations, ...) are skipped.
            let Ok(event) = ViewEvent::from_event(event) else {
                continue;
            };
            let principal = |principals: &redb::Table<&str, (&str, bool, u64)>| {
                principals.get(subject).map(|row| {
                    row.map(|r| {
                        let (t, a, s) = r.value();
                        (t.to_owned(), a, s)
                    })
                })
            };
            match event {
                ViewEvent::TenantCreated(e) => {
                    tenants.insert(
                        e.tenant_id.as_str(),
                        prost::Message::encode_to_vec(&e).as_slice(),
                    )?;
                }
                // Kept in the registration's shape: what services read is the terms now.
                ViewEvent::TenantDetailsChanged(e) => {
                    let current = TenantCreated {
                        tenant_id: e.tenant_id,
                        name: e.name,
                        organisation_number: e.organisation_number,
                        incident_contacts: e.incident_contacts,
                        contract: e.contract,
                    };
                    tenants.insert(
                        current.tenant_id.as_str(),
                        prost::Message::encode_to_vec(&current).as_slice(),
                    )?;
                }
                ViewEvent::UserCreated(e) => {
                    // Keyed by the address's lookup HMAC; the address itself is sealed.
                    if !e.email_lookup.is_empty() {
                        emails.insert(e.email_lookup.as_str(), e.user_id.as_str())?;
                    }
                    principals.insert(e.user_id.as_str(), (e.tenant_id.as_str(), true, 1))?;
                    roles.insert(e.user_id.as_str(), e.roles.join(",").as_str())?;
                }
                ViewEvent::ServiceAccountCreated(e) => {
                    principals.insert(
                        e.service_account_id.as_str(),
                        (e.tenant_id.as_str(), true, 1),
                    )?;
                    roles.insert(e.service_account_id.as_str(), e.roles.join(",").as_str())?;
                }
                ViewEvent::RoleGranted(RoleGranted { role }) => {
                    let mut held = role_set(&roles)?;
                    if !held.contains(&role) {
                        held.push(role);
                        roles.insert(subject, held.join(",").as_str())?;
                    }
                }
                ViewEvent::RoleRevoked(RoleRevoked {
                    role,
                    session_version,
                }) => {
                    let held: Vec<String> = role_set(&roles)?
                        .into_iter()
                        .filter(|r| *r != role)
                        .collect();
                    roles.insert(subject, held.join(",").as_str())?;
                    if let Some((tenant, active, _)) = principal(&principals)? {
                        principals.insert(subject, (tenant.as_str(), active, session_version))?;
                    }
                }
                ViewEvent::SessionEnded(e) => {
                    let expires_by = e.tokens_expire_by.as_ref().map_or(i64::MAX, |t| t.seconds);
                    let mut ended = tx.open_table(ENDED)?;
                    let mut by_expiry = tx.open_table(ENDED_BY_EXPIRY)?;
                    // Forget the sessions whose tokens have all expired by this commit's time.
                    let recorded = commit.recorded_at.as_ref().map_or(0, |t| t.seconds);
                    let expired: Vec<(i64, String)> = by_expiry
                        .range(..(recorded, ""))?
                        .map(|row| row.map(|(k, _)| (k.value().0, k.value().1.to_owned())))
                        .collect::<Result<_, _>>()?;
                    for (at, sid) in expired {
                        by_expiry.remove((at, sid.as_str()))?;
                        ended.remove(sid.as_str())?;
                    }
                    ended.insert(e.session_id.as_str(), expires_by)?;
                    by_expiry.insert((expires_by, e.session_id.as_str()), ())?;
                }
                ViewEvent::DataSubjectErased(e) => {
                    let at = e.erased_at.map_or(0, |t| t.seconds);
                    tx.open_table(ERASED)?.insert(e.subject_id.as_str(), at)?;
                }
                ViewEvent::AccessTokenLifetimeSet(e) => {
                    tx.open_table(SETTINGS)?
                        .insert(MAX_TOKEN_SECONDS, e.max_seconds)?;
                }
                ViewEvent::ServiceAccountSecretRotated(ServiceAccountSecretRotated {
                    session_version,
                })
                | ViewEvent::SessionVersionRaised(SessionVersionRaised {
                    session_version, ..
                }) => {
                    if let Some((tenant, active, _)) = principal(&principals)? {
                        principals.insert(subject, (tenant.as_str(), active, session_version))?;
                    }
                }
                ViewEvent::UserDeactivated(UserDeactivated { session_version })
                | ViewEvent::ServiceAccountDeactivated(ServiceAccountDeactivated {
                    session_version,
                }) => {
                    if let Some((tenant, _, _)) = principal(&principals)? {
                        principals.insert(subject, (tenant.as_str(), false, session_version))?;
                    }
                }
                ViewEvent::SigningKeyActivated(e) => {
                    keys.insert(e.kid.as_str(), (e.public_key.as_slice(), true))?;
                }
                ViewEvent::SigningKeyRetired(e) => {
                    let public_key = keys.get(e.kid.as_str())?.map(|row| row.value().0.to_vec());
                    if let Some(public_key) = public_key {
                        keys.insert(e.kid.as_str(), (public_key.as_slice(), false))?;
                    }
                }
            }
        }
        Ok(())
    }
}

fn split_roles(joined: &str) -> Vec<String> {
    joined
        .split(',')
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A signing key as the view knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRecord {
    /// Key id.
    pub kid: String,
    /// Raw Ed25519 public key.
    pub public_key: Vec<u8>,
    /// Whether tokens it signed are accepted.
    pub active: bool,
}

/// A user or service account as the view knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrincipalRecord {
    /// Tenant slug.
    pub tenant: String,
    /// Not deactivated.
    pub active: bool,
    /// Current session version.
    pub session_version: u64,
}

/// Reads the view from the service's redb file.
#[derive(Clone)]
pub struct ViewReader {
    db: Arc<Database>,
}

impl ViewReader {
    /// A reader over the file the projection runner writes.
    pub fn new(db: Arc<Database>) -> Self {
        Self { db }
    }

    /// The key with this id.
    pub fn key(&self, kid: &str) -> Result<Option<KeyRecord>, KernelError> {
        let tx = self.db.begin_read()?;
        let Some(table) = open_read(&tx, KEYS)? else {
            return Ok(None);
        };
        Ok(table.get(kid)?.map(|row| {
            let (public_key, active) = row.value();
            KeyRecord {
                kid: kid.to_owned(),
                public_key: public_key.to_vec(),
                active,
            }
        }))
    }

    /// Every key that verifies tokens now.
    pub fn active_keys(&self) -> Result<Vec<KeyRecord>, KernelError> {
        let tx = self.db.begin_read()?;
        let Some(table) = open_read(&tx, KEYS)? else {
            return Ok(Vec::new());
        };
        let mut keys = Vec::new();
        for row in table.iter()? {
            let (kid, value) = row?;
            let (public_key, active) = value.value();
            if active {
                keys.push(KeyRecord {
                    kid: kid.value().to_owned(),
                    public_key: public_key.to_vec(),
                    active,
                });
            }
        }
        Ok(keys)
    }

    /// The principal with this subject.
    pub fn principal(&self, subject: &str) -> Result<Option<PrincipalRecord>, KernelError> {
        let tx = self.db.begin_read()?;
        let Some(table) = open_read(&tx, PRINCIPALS)? else {
            return Ok(None);
        };
        Ok(table.get(subject)?.map(|row| {
            let (tenant, active, session_version) = row.value();
            PrincipalRecord {
                tenant: tenant.to_owned(),
                active,
                session_version,
            }
        }))
    }

    /// Whether the tenant exists.
    pub fn tenant_exists(&self, tenant: &str) -> Result<bool, KernelError> {
        Ok(self.tenant(tenant)?.is_some())
    }

    /// A tenant's details as they are now: name, contacts, contract terms.
    pub fn tenant(&self, tenant: &str) -> Result<Option<TenantCreated>, KernelError> {
        let tx = self.db.begin_read()?;
        let Some(table) = open_read(&tx, TENANTS)? else {
            return Ok(None);
        };
        table
            .get(tenant)?
            .map(|row| {
                <TenantCreated as prost::Message>::decode(row.value())
                    .map_err(|e| KernelError::Corrupt(format!("identity view tenant: {e}")))
            })
            .transpose()
    }

    /// The principal's current roles as the log states them (`None`: unknown principal).
    pub fn roles(&self, subject: &str) -> Result<Option<Vec<String>>, KernelError> {
        let tx = self.db.begin_read()?;
        let Some(table) = open_read(&tx, ROLES)? else {
            return Ok(None);
        };
        Ok(table.get(subject)?.map(|row| split_roles(row.value())))
    }

    /// Whether the session `sid` has ended (logout, a stolen refresh token).
    pub fn session_ended(&self, sid: &str) -> Result<bool, KernelError> {
        let tx = self.db.begin_read()?;
        let Some(table) = open_read(&tx, ENDED)? else {
            return Ok(false);
        };
        Ok(table.get(sid)?.is_some())
    }

    /// The longest access-token lifetime identity stated, in seconds.
    pub fn max_token_lifetime(&self) -> Result<Option<u64>, KernelError> {
        let tx = self.db.begin_read()?;
        let Some(table) = open_read(&tx, SETTINGS)? else {
            return Ok(None);
        };
        Ok(table.get(MAX_TOKEN_SECONDS)?.map(|row| row.value()))
    }

    /// Every erased data subject.
    pub fn erased_subjects(&self) -> Result<Vec<String>, KernelError> {
        let tx = self.db.begin_read()?;
        let Some(table) = open_read(&tx, ERASED)? else {
            return Ok(Vec::new());
        };
        let mut found = Vec::new();
        for entry in table.iter()? {
            found.push(entry?.0.value().to_owned());
        }
        Ok(found)
    }

    /// Whether `subject` is erased.
    pub fn is_erased(&self, subject: &str) -> Result<bool, KernelError> {
        let tx = self.db.begin_read()?;
        let Some(table) = open_read(&tx, ERASED)? else {
            return Ok(false);
        };
        Ok(table.get(subject)?.is_some())
    }

    /// The user whose normalised e-mail address has this lookup HMAC
    /// (`EventStore::lookup`).
    pub fn user_by_email_lookup(&self, email: &str) -> Result<Option<String>, KernelError> {
        let tx = self.db.begin_read()?;
        let Some(table) = open_read(&tx, EMAILS)? else {
            return Ok(None);
        };
        Ok(table.get(email)?.map(|row| row.value().to_owned()))
    }
}
