//! The identity view: what every service must know to verify a token locally, projected
//! from the IDENTITY stream into the service's own redb file.
//!
//! Tables: signing keys (kid → public key, active), principals — users and service
//! accounts — (subject → tenant, active, session version), tenants (slug → registration
//! with contacts and contract terms) and users' e-mail addresses (e-mail → user id). Revocation is as fast as this projection:
//! the moment a deactivation or role revocation is applied here, this service refuses the
//! user's older tokens.

use std::sync::Arc;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};
use tillit_kernel::projection::open_read;
use tillit_kernel::{EventPayload, KernelError, Projection};
use tillit_proto::common::Position;
use tillit_proto::identity::{
    RoleRevoked, ServiceAccountCreated, ServiceAccountDeactivated, ServiceAccountSecretRotated,
    SessionVersionRaised, SigningKeyActivated, SigningKeyRetired, TenantCreated, UserCreated,
    UserDeactivated,
};
use tillit_proto::kernel::Commit;

const KEYS: TableDefinition<&str, (&[u8], bool)> = TableDefinition::new("identity_view_keys");
const PRINCIPALS: TableDefinition<&str, (&str, bool, u64)> =
    TableDefinition::new("identity_view_principals");
const TENANTS: TableDefinition<&str, &[u8]> = TableDefinition::new("identity_view_tenant_records");
const EMAILS: TableDefinition<&str, &str> = TableDefinition::new("identity_view_emails");

tillit_kernel::event_enum! {
    /// The IDENTITY events the view needs (others are skipped).
    pub enum ViewEvent {
        /// A tenant exists.
        TenantCreated(TenantCreated),
        /// A principal exists, session version 1.
        UserCreated(UserCreated),
        /// Session version raised.
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
        3
    }

    fn streams(&self) -> Vec<String> {
        vec![IDENTITY_STREAM.to_owned()]
    }

    fn reset(&self, tx: &WriteTransaction) -> Result<(), KernelError> {
        tx.delete_table(KEYS)?;
        tx.delete_table(PRINCIPALS)?;
        tx.delete_table(TENANTS)?;
        tx.delete_table(EMAILS)?;
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
        let subject = commit.aggregate_id.as_str();
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
                ViewEvent::UserCreated(e) => {
                    emails.insert(e.email.as_str(), e.user_id.as_str())?;
                    principals.insert(e.user_id.as_str(), (e.tenant_id.as_str(), true, 1))?;
                }
                ViewEvent::ServiceAccountCreated(e) => {
                    principals.insert(
                        e.service_account_id.as_str(),
                        (e.tenant_id.as_str(), true, 1),
                    )?;
                }
                ViewEvent::RoleRevoked(RoleRevoked {
                    session_version, ..
                })
                | ViewEvent::ServiceAccountSecretRotated(ServiceAccountSecretRotated {
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

    /// A tenant's registration: name, contacts, contract terms.
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

    /// The user with this (lower-case) e-mail address.
    pub fn user_by_email(&self, email: &str) -> Result<Option<String>, KernelError> {
        let tx = self.db.begin_read()?;
        let Some(table) = open_read(&tx, EMAILS)? else {
            return Ok(None);
        };
        Ok(table.get(email)?.map(|row| row.value().to_owned()))
    }
}
