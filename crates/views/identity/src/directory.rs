//! The directory of tenants, users and service accounts that the list and get queries
//! read. Rows are the API's own messages, encoded; users are indexed by (tenant, e-mail)
//! for ordered, tenant-scoped listing, service accounts by (tenant, id).

use std::sync::Arc;

use prost::Message as _;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};
use tillit_kernel::projection::open_read;
use tillit_kernel::{EventPayload, KernelError, Projection};
use tillit_proto::Vocabulary as _;
use tillit_proto::common::Position;
use tillit_proto::identity::{PrincipalStatus, Role};
use tillit_proto::identity::{
    ServiceAccount as ServiceAccountRow, Tenant as TenantRow, User as UserRow,
};
use tillit_proto::kernel::Commit;

use crate::events::{SERVICE_ACCOUNT, ServiceAccountEvent, TENANT, TenantEvent, USER, UserEvent};

const TENANTS: TableDefinition<&str, &[u8]> = TableDefinition::new("directory_tenants");
const USERS: TableDefinition<&str, &[u8]> = TableDefinition::new("directory_users");
const USERS_BY_TENANT: TableDefinition<(&str, &str), &str> =
    TableDefinition::new("directory_users_by_tenant");
const SERVICE_ACCOUNTS: TableDefinition<(&str, &str), &[u8]> =
    TableDefinition::new("directory_service_accounts");
const SERVICE_ACCOUNT_TENANTS: TableDefinition<&str, &str> =
    TableDefinition::new("directory_service_account_tenants");

fn corrupt(e: prost::DecodeError) -> KernelError {
    KernelError::Corrupt(format!("directory row: {e}"))
}

/// The directory projection.
pub struct Directory;

impl Projection for Directory {
    fn name(&self) -> &'static str {
        "identity_directory"
    }

    /// 4: tenant, user and service-account rows carry roles and statuses as the API's
    /// enums.
    fn schema_version(&self) -> u32 {
        5
    }

    fn streams(&self) -> Vec<String> {
        vec!["IDENTITY".into()]
    }

    fn reset(&self, tx: &WriteTransaction) -> Result<(), KernelError> {
        tx.delete_table(TENANTS)?;
        tx.delete_table(USERS)?;
        tx.delete_table(USERS_BY_TENANT)?;
        tx.delete_table(SERVICE_ACCOUNTS)?;
        tx.delete_table(SERVICE_ACCOUNT_TENANTS)?;
        Ok(())
    }

    fn apply(
        &self,
        tx: &WriteTransaction,
        commit: &Commit,
        _: &Position,
    ) -> Result<(), KernelError> {
        if commit.aggregate_type == TENANT.as_str() {
            let mut tenants = tx.open_table(TENANTS)?;
            for event in &commit.events {
                let row = match TenantEvent::from_event(event)? {
                    TenantEvent::Created(e) => TenantRow {
                        tenant_id: e.tenant_id,
                        name: e.name,
                        organisation_number: e.organisation_number,
                        incident_contacts: e.incident_contacts,
                        contract: e.contract,
                        status: tillit_proto::identity::TenantStatus::Active.into(),
                    },
                    TenantEvent::DetailsChanged(e) => TenantRow {
                        tenant_id: e.tenant_id,
                        name: e.name,
                        organisation_number: e.organisation_number,
                        incident_contacts: e.incident_contacts,
                        contract: e.contract,
                        status: tillit_proto::identity::TenantStatus::Active.into(),
                    },
                };
                tenants.insert(row.tenant_id.as_str(), row.encode_to_vec().as_slice())?;
            }
        } else if commit.aggregate_type == SERVICE_ACCOUNT.as_str() {
            let mut accounts = tx.open_table(SERVICE_ACCOUNTS)?;
            let mut tenants = tx.open_table(SERVICE_ACCOUNT_TENANTS)?;
            let id = commit.aggregate_id.as_str();
            let tenant = commit.tenant.as_str();
            for event in &commit.events {
                let row = match ServiceAccountEvent::from_event(event)? {
                    ServiceAccountEvent::Created(e) => {
                        tenants.insert(id, tenant)?;
                        ServiceAccountRow {
                            service_account_id: e.service_account_id,
                            tenant_id: e.tenant_id,
                            name: e.name,
                            roles: words_to_roles(&e.roles),
                            status: PrincipalStatus::Active.into(),
                        }
                    }
                    ServiceAccountEvent::SecretRotated(_) => continue,
                    ServiceAccountEvent::Deactivated(_) => {
                        let Some(current) = accounts.get((tenant, id))? else {
                            continue;
                        };
                        let mut row =
                            ServiceAccountRow::decode(current.value()).map_err(corrupt)?;
                        row.set_status(PrincipalStatus::Deactivated);
                        row
                    }
                };
                accounts.insert((tenant, id), row.encode_to_vec().as_slice())?;
            }
        } else if commit.aggregate_type == USER.as_str() {
            let mut users = tx.open_table(USERS)?;
            let mut by_tenant = tx.open_table(USERS_BY_TENANT)?;
            let id = commit.aggregate_id.as_str();
            for event in &commit.events {
                let current = users
                    .get(id)?
                    .map(|row| UserRow::decode(row.value()))
                    .transpose()
                    .map_err(corrupt)?;
                let row = match (UserEvent::from_event(event)?, current) {
                    (UserEvent::Created(e), _) => {
                        // By user id (UUIDv7: in order of creation), never by a personal value.
                        by_tenant.insert((e.tenant_id.as_str(), e.user_id.as_str()), id)?;
                        UserRow {
                            user_id: e.user_id,
                            tenant_id: e.tenant_id,
                            email: e.email,
                            display_name: e.display_name,
                            roles: words_to_roles(&e.roles),
                            status: PrincipalStatus::Active.into(),
                        }
                    }
                    (_, None) => continue,
                    (UserEvent::RoleGranted(e), Some(mut row)) => {
                        let role = Role::read(&e.role);
                        if !row.roles.contains(&role) {
                            row.roles.push(role);
                            row.roles.sort();
                        }
                        row
                    }
                    (UserEvent::RoleRevoked(e), Some(mut row)) => {
                        let role = Role::read(&e.role);
                        row.roles.retain(|r| *r != role);
                        row
                    }
                    (UserEvent::Deactivated(_), Some(mut row)) => {
                        row.set_status(PrincipalStatus::Deactivated);
                        row
                    }
                    (UserEvent::SessionVersionRaised(_) | UserEvent::SessionEnded(_), Some(_)) => {
                        continue;
                    }
                };
                users.insert(id, row.encode_to_vec().as_slice())?;
            }
        }
        Ok(())
    }
}

/// Which users a listing returns.
#[derive(Clone, Debug, Default)]
pub struct UserFilter {
    /// Only this tenant.
    pub tenant: Option<String>,
    /// Only holders of this role.
    pub role: Option<Role>,
    /// Only this status.
    pub status: Option<PrincipalStatus>,
}

/// Reads the directory.
#[derive(Clone)]
pub struct DirectoryReader {
    db: Arc<Database>,
}

impl DirectoryReader {
    /// A reader over the service's redb file.
    pub fn new(db: Arc<Database>) -> Self {
        Self { db }
    }

    /// One tenant.
    pub fn tenant(&self, slug: &str) -> Result<Option<TenantRow>, KernelError> {
        self.get(TENANTS, slug)
    }

    /// One user.
    pub fn user(&self, id: &str) -> Result<Option<UserRow>, KernelError> {
        self.get(USERS, id)
    }

    /// Tenants in slug order after `after`, at most `limit`.
    pub fn tenants(
        &self,
        only: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<TenantRow>, KernelError> {
        let tx = self.db.begin_read()?;
        let Some(table) = open_read(&tx, TENANTS)? else {
            return Ok(Vec::new());
        };
        let mut rows = Vec::new();
        for row in table.range(after.unwrap_or("")..)? {
            let (key, value) = row?;
            if Some(key.value()) == after || only.is_some_and(|o| o != key.value()) {
                continue;
            }
            rows.push(TenantRow::decode(value.value()).map_err(corrupt)?);
            if rows.len() == limit {
                break;
            }
        }
        Ok(rows)
    }

    /// Users in (tenant, e-mail) order after the key `after`, filtered, at most `limit`.
    pub fn users(
        &self,
        filter: &UserFilter,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Vec<UserRow>, KernelError> {
        let tx = self.db.begin_read()?;
        let (Some(index), Some(users)) = (open_read(&tx, USERS_BY_TENANT)?, open_read(&tx, USERS)?)
        else {
            return Ok(Vec::new());
        };
        let start = after.unwrap_or((filter.tenant.as_deref().unwrap_or(""), ""));
        let mut rows = Vec::new();
        for entry in index.range(start..)? {
            let (key, id) = entry?;
            let (tenant, user_id) = key.value();
            if Some((tenant, user_id)) == after {
                continue;
            }
            if filter.tenant.as_deref().is_some_and(|t| t != tenant) {
                break;
            }
            let Some(row) = users.get(id.value())? else {
                continue;
            };
            let user = UserRow::decode(row.value()).map_err(corrupt)?;
            let wanted = filter
                .role
                .is_none_or(|r| user.roles().any(|held| held == r))
                && filter.status.is_none_or(|s| s == user.status());
            if wanted {
                rows.push(user);
                if rows.len() == limit {
                    break;
                }
            }
        }
        Ok(rows)
    }

    /// One service account.
    pub fn service_account(&self, id: &str) -> Result<Option<ServiceAccountRow>, KernelError> {
        let tx = self.db.begin_read()?;
        let (Some(tenants), Some(accounts)) = (
            open_read(&tx, SERVICE_ACCOUNT_TENANTS)?,
            open_read(&tx, SERVICE_ACCOUNTS)?,
        ) else {
            return Ok(None);
        };
        let Some(tenant) = tenants.get(id)? else {
            return Ok(None);
        };
        accounts
            .get((tenant.value(), id))?
            .map(|row| ServiceAccountRow::decode(row.value()).map_err(corrupt))
            .transpose()
    }

    /// Service accounts of one tenant, or of all.
    pub fn service_accounts(
        &self,
        tenant: Option<&str>,
    ) -> Result<Vec<ServiceAccountRow>, KernelError> {
        let tx = self.db.begin_read()?;
        let Some(accounts) = open_read(&tx, SERVICE_ACCOUNTS)? else {
            return Ok(Vec::new());
        };
        let mut rows = Vec::new();
        for entry in accounts.range((tenant.unwrap_or(""), "")..)? {
            let (key, value) = entry?;
            if tenant.is_some_and(|t| t != key.value().0) {
                break;
            }
            rows.push(ServiceAccountRow::decode(value.value()).map_err(corrupt)?);
        }
        Ok(rows)
    }

    fn get<M: prost::Message + Default>(
        &self,
        table: TableDefinition<&str, &[u8]>,
        key: &str,
    ) -> Result<Option<M>, KernelError> {
        let tx = self.db.begin_read()?;
        let Some(table) = open_read(&tx, table)? else {
            return Ok(None);
        };
        table
            .get(key)?
            .map(|row| M::decode(row.value()).map_err(corrupt))
            .transpose()
    }
}

/// Roles as the API carries them, from the words events store (sorted, each once).
pub fn words_to_roles(words: &[String]) -> Vec<i32> {
    let mut roles: Vec<i32> = words.iter().map(|w| Role::read(w)).collect();
    roles.sort_unstable();
    roles.dedup();
    roles
}
