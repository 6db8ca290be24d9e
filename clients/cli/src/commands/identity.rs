//! login, logout, whoami, tenants, users.

use std::io::BufRead as _;

use clap::Args;
use tillit_proto::Vocabulary as _;
use tillit_proto::common::PageRequest;
use tillit_proto::identity::{
    IssueServiceTokenRequest, ListTenantsRequest, ListUsersRequest, LoginRequest, LogoutRequest,
    WhoAmIRequest,
};

use super::{Context, now};
use crate::failure::Failure;
use crate::output;
use crate::session::Tokens;

/// `tillit login`.
#[derive(Args)]
pub struct Login {
    /// A user's e-mail address.
    #[arg(
        long,
        conflicts_with = "client_id",
        required_unless_present = "client_id"
    )]
    email: Option<String>,
    /// Read the password from the first line of standard input (else `TILLIT_PASSWORD`,
    /// else a prompt).
    #[arg(long)]
    password_stdin: bool,
    /// A service account's client id.
    #[arg(long)]
    client_id: Option<String>,
    /// Read the client secret from standard input (else `TILLIT_CLIENT_SECRET`).
    #[arg(long)]
    secret_stdin: bool,
}

fn stdin_line() -> Result<String, Failure> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Failure::Usage(format!("reading standard input: {e}")))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Logs in and caches the tokens.
pub async fn login(ctx: &Context, args: Login) -> Result<(), Failure> {
    let mut identity = ctx.identity().await?;
    let (tokens, who, failed_before) = if let Some(client_id) = args.client_id {
        let secret = if args.secret_stdin {
            stdin_line()?
        } else {
            env("TILLIT_CLIENT_SECRET").ok_or_else(|| {
                Failure::Usage("give the secret with --secret-stdin or TILLIT_CLIENT_SECRET".into())
            })?
        };
        let issued = identity
            .issue_service_token(IssueServiceTokenRequest {
                client_id: client_id.clone(),
                client_secret: secret,
                consistency: None,
            })
            .await
            .map_err(auth_failure)?
            .into_inner();
        let tokens = Tokens {
            access_token: issued.access_token,
            refresh_token: String::new(),
            expires_at: now() + i64::from(issued.expires_in),
        };
        (tokens, format!("service account {client_id}"), 0)
    } else {
        let email = args.email.unwrap_or_default();
        let password = if args.password_stdin {
            stdin_line()?
        } else if let Some(password) = env("TILLIT_PASSWORD") {
            password
        } else {
            rpassword::prompt_password(format!("Password for {email}: "))
                .map_err(|e| Failure::Usage(format!("reading the password: {e}")))?
        };
        let login = identity
            .login(LoginRequest {
                email: email.clone(),
                password,
                consistency: None,
            })
            .await
            .map_err(auth_failure)?
            .into_inner();
        let tokens = Tokens {
            access_token: login.access_token,
            refresh_token: login.refresh_token,
            expires_at: now() + i64::from(login.expires_in),
        };
        (tokens, email, login.failed_attempts_before)
    };
    // A new login starts with no remembered positions: they may be of another platform.
    ctx.session.forget();
    ctx.session.save(&tokens)?;
    if !ctx.json {
        println!(
            "Logged in as {who}; token cached in {}",
            ctx.session.token_path().display()
        );
        if failed_before > 0 {
            println!(
                "{failed_before} failed sign-in attempt(s) on this account since its last \
                 sign-in; if they were not yours, tell the security officer"
            );
        }
    }
    Ok(())
}

/// A refused login is an authentication failure, whatever the status says.
fn auth_failure(status: tonic::Status) -> Failure {
    match Failure::from(status) {
        Failure::Unavailable(m) => Failure::Unavailable(m),
        Failure::Usage(m) => Failure::Usage(m),
        other => Failure::Auth(format!("login refused: {}", other.message())),
    }
}

/// Ends the session at identity and forgets it here.
pub async fn logout(ctx: &Context) -> Result<(), Failure> {
    if let Some(tokens) = ctx.session.load()
        && !tokens.refresh_token.is_empty()
        && let Ok(mut identity) = ctx.identity().await
    {
        let _ = identity
            .logout(LogoutRequest {
                refresh_token: tokens.refresh_token,
                ..Default::default()
            })
            .await;
    }
    ctx.session.forget();
    Ok(())
}

/// Who the cached login is.
pub async fn whoami(ctx: &Context) -> Result<(), Failure> {
    let me = ctx
        .identity()
        .await?
        .who_am_i(ctx.request(WhoAmIRequest::default()).await?)
        .await?
        .into_inner();
    let roles = role_words(me.roles());
    output::record(
        ctx.json,
        vec![
            ("subject", me.subject),
            ("tenant", me.tenant_id),
            ("roles", roles),
            ("expires_at", output::time(me.expires_at.as_ref())),
        ],
    );
    Ok(())
}

/// Every page of a listing.
macro_rules! all_pages {
    ($call:expr, $items:ident) => {{
        let mut items = Vec::new();
        let mut token = String::new();
        loop {
            let page = PageRequest {
                page_size: 500,
                page_token: token,
            };
            let answer = $call(page).await?.into_inner();
            items.extend(answer.$items);
            token = answer.page.unwrap_or_default().next_page_token;
            if token.is_empty() {
                break items;
            }
        }
    }};
}
pub(crate) use all_pages;

/// Lists the tenants the caller sees.
pub async fn tenants(ctx: &Context) -> Result<(), Failure> {
    let mut identity = ctx.identity().await?;
    let tenants = all_pages!(
        async |page| {
            let request = ctx
                .request(ListTenantsRequest {
                    page: Some(page),
                    consistency: None,
                })
                .await?;
            identity.list_tenants(request).await.map_err(Failure::from)
        },
        tenants
    );
    output::table(
        ctx.json,
        &["tenant", "name", "organisation_number", "status"],
        tenants
            .into_iter()
            .map(|t| {
                let status = t.status().word().to_owned();
                vec![t.tenant_id, t.name, t.organisation_number, status]
            })
            .collect(),
    );
    Ok(())
}

/// `tillit users`.
#[derive(Args)]
pub struct Users {
    /// Only this tenant.
    #[arg(long)]
    tenant: Option<String>,
    /// Only holders of this role.
    #[arg(long)]
    role: Option<String>,
}

/// Lists the users the caller sees, filtered.
pub async fn users(ctx: &Context, args: Users) -> Result<(), Failure> {
    let mut identity = ctx.identity().await?;
    let role = super::word_value::<tillit_proto::identity::Role>(
        "--role",
        args.role.as_deref().unwrap_or(""),
    )?;
    let users = all_pages!(
        async |page| {
            let request = ctx
                .request(ListUsersRequest {
                    tenant_id: args.tenant.clone().unwrap_or_default(),
                    role,
                    status: 0,
                    page: Some(page),
                    consistency: None,
                })
                .await?;
            identity.list_users(request).await.map_err(Failure::from)
        },
        users
    );
    output::table(
        ctx.json,
        &["user_id", "tenant", "email", "roles", "status"],
        users
            .into_iter()
            .map(|u| {
                let (roles, status) = (role_words(u.roles()), u.status().word().to_owned());
                vec![u.user_id, u.tenant_id, u.email, roles, status]
            })
            .collect(),
    );
    Ok(())
}

/// Roles as their words, comma-separated (as in tokens).
fn role_words(roles: impl Iterator<Item = tillit_proto::identity::Role>) -> String {
    roles.map(|r| r.word()).collect::<Vec<_>>().join(",")
}
