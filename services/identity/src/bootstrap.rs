//! First start: tenant `internal` and one admin user. Safe to run on every start and on
//! several replicas at once: the tenant and the admin have fixed ids, the admin's e-mail is
//! reserved like any other, and the first password is only set when none exists.

use tillit_kernel::{AggregateId, CommandMeta, CommandRequest, Target, TenantId};
use tillit_proto::identity::{ContractTerms, TenantCreated, UserCreated};

use crate::api::{Identity, email_key};
use crate::domain::DomainError;
use crate::domain::credential::CredentialCommand;
use crate::domain::tenant::TenantCommand;
use crate::domain::user::UserCommand;
use crate::passwords;

/// What bootstrap did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bootstrapped {
    /// The platform was already set up.
    AlreadyDone,
    /// The admin was created with this e-mail and password (shown once).
    AdminCreated {
        /// Login e-mail.
        email: String,
        /// Login password.
        password: String,
    },
}

fn failed(e: impl std::fmt::Display) -> String {
    format!("bootstrap: {e}")
}

/// Creates tenant `internal` and the first admin when they do not exist.
///
/// Order matters for a crash half-way: the admin's e-mail is reserved first, so a later
/// start that finds tenant `internal` already there still finishes an admin whose
/// reservation it finds, and never creates a second admin when only the configured
/// e-mail changed.
pub async fn run(identity: &Identity) -> Result<Bootstrapped, String> {
    let internal = TenantId::internal();
    let meta = CommandMeta::system("bootstrap");
    let email = identity.config.bootstrap_admin_email.clone();
    // Derived from the address's lookup HMAC: an id nobody can compute from a guess.
    let email_lookup = identity.store.lookup(&email).map_err(failed)?;
    let id = AggregateId::derived(&internal, "bootstrap-admin", &email_lookup);
    let reservation = email_key(&identity.store, &email).map_err(failed)?;
    let owner = identity.users.address(&internal, id.clone());
    let internal_id = AggregateId::parse(TenantId::INTERNAL, "tenant").map_err(failed)?;

    let (tenant, _) = identity
        .tenants
        .load(&identity.tenants.address(&internal, internal_id.clone()))
        .await
        .map_err(failed)?;
    if tenant.created.is_some() {
        let holder = identity
            .reservations
            .holder(&internal, &reservation)
            .await
            .map_err(failed)?;
        if holder != Some(owner.subject()) {
            return Ok(Bootstrapped::AlreadyDone);
        }
    }

    identity
        .reservations
        .reserve(&internal, &reservation, &owner, meta.clone())
        .await
        .map_err(failed)?;
    let tenant = identity
        .tenants
        .execute(CommandRequest {
            tenant: internal.clone(),
            target: Target::At(internal_id),
            name: "tillit.identity.v1.Bootstrap".into(),
            command: TenantCommand::Create(TenantCreated {
                tenant_id: TenantId::INTERNAL.into(),
                name: "Tillit (internal)".into(),
                organisation_number: String::new(),
                incident_contacts: Vec::new(),
                contract: Some(ContractTerms::default()),
            }),
            meta: meta.clone(),
        })
        .await;
    match tenant {
        Ok(_) | Err(tillit_kernel::ExecuteError::Domain(DomainError::AlreadyExists(_))) => {}
        Err(e) => return Err(failed(e)),
    }
    let created = identity
        .users
        .execute(CommandRequest {
            tenant: internal.clone(),
            target: Target::At(id.clone()),
            name: "tillit.identity.v1.Bootstrap".into(),
            command: UserCommand::Create {
                tenant_is_internal: true,
                created: UserCreated {
                    user_id: id.as_str().to_owned(),
                    tenant_id: internal.as_str().to_owned(),
                    email: email.clone(),
                    display_name: "Administrator".into(),
                    roles: Vec::new(),
                    email_lookup,
                },
                roles: [tillit_auth::Role::Admin].into(),
            },
            meta: meta.clone(),
        })
        .await;
    match created {
        Ok(_) | Err(tillit_kernel::ExecuteError::Domain(DomainError::AlreadyExists(_))) => {}
        Err(e) => return Err(failed(e)),
    }
    let password = identity
        .config
        .bootstrap_admin_password
        .clone()
        .unwrap_or_else(passwords::generate);
    let cost = identity.config.hash_cost;
    let to_hash = password.clone();
    let hash = tokio::task::spawn_blocking(move || passwords::hash(&to_hash, cost))
        .await
        .map_err(failed)?
        .map_err(failed)?;
    let set = identity
        .credentials
        .execute(CommandRequest {
            tenant: internal,
            target: Target::At(id),
            name: "tillit.identity.v1.Bootstrap".into(),
            command: CredentialCommand::SetInitial {
                hash,
                temporary: false,
            },
            meta,
        })
        .await
        .map_err(failed)?;
    if set.events.is_empty() {
        Ok(Bootstrapped::AlreadyDone)
    } else {
        Ok(Bootstrapped::AdminCreated { email, password })
    }
}

/// Where a generated first password is kept: `<data dir>/initial-admin-password`.
pub fn initial_password_path(data_dir: &std::path::Path) -> std::path::PathBuf {
    data_dir.join("initial-admin-password")
}

/// Writes the generated first password to [`initial_password_path`], readable by the
/// service's user only; answers the path.
pub fn write_initial_password(
    data_dir: &std::path::Path,
    password: &str,
) -> std::io::Result<std::path::PathBuf> {
    use std::io::Write as _;
    std::fs::create_dir_all(data_dir)?;
    let path = initial_password_path(data_dir);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(&path)?;
    writeln!(file, "{password}")?;
    Ok(path)
}

#[cfg(test)]
mod initial_password_tests {
    #[test]
    fn a_generated_first_password_is_kept_for_its_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = super::write_initial_password(dir.path(), "generated-1").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "generated-1\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
