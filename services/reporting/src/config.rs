//! The reporting service's settings: the shared platform settings plus its own.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tillit_kernel::Clock;
use tillit_runtime::{ConfigError, Env, PlatformConfig};

use crate::reminders::route::Routes;

/// Everything the reporting service needs to start.
#[derive(Clone, Debug)]
pub struct ReportingConfig {
    /// NATS, data dir, issuer, store settings.
    pub platform: PlatformConfig,
    /// `TILLIT_REPORTING_GRPC_ADDR` (127.0.0.1:50054).
    pub grpc_addr: SocketAddr,
    /// `TILLIT_REPORTING_ADMIN_ADDR` (127.0.0.1:9094).
    pub admin_addr: SocketAddr,
    /// `TILLIT_RULES_FILE`: the control rule set the dashboard counts gaps with (the same
    /// file the assets service reads).
    pub rules_file: Option<PathBuf>,
    /// Reminder scheduling and delivery.
    pub reminders: Channels,
    /// The clock; tests may pin or shift it.
    pub clock: Clock,
}

/// The webhook reminders are posted to.
#[derive(Clone)]
pub struct Webhook {
    /// `TILLIT_WEBHOOK_URL`.
    pub url: String,
    /// `TILLIT_WEBHOOK_SECRET`: the HMAC-SHA256 key of `X-Tillit-Signature`.
    pub secret: String,
}

/// The SMTP server reminders are mailed through.
#[derive(Clone)]
pub struct Smtp {
    /// `TILLIT_SMTP_URL`, for example `smtp://127.0.0.1:25` or `smtps://user:pw@host`.
    pub url: String,
    /// `TILLIT_SMTP_FROM` (`Tillit <tillit@localhost>`).
    pub from: String,
}

// Secrets stay out of logs: the secret and an SMTP URL's credentials are not printed.
impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("url", &self.url)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl std::fmt::Debug for Smtp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let host = self.url.rsplit('@').next().unwrap_or_default();
        f.debug_struct("Smtp")
            .field("url", &format!("…{host}"))
            .field("from", &self.from)
            .finish()
    }
}

/// Reminder scheduling, routing and delivery settings.
#[derive(Clone, Debug)]
pub struct Channels {
    /// `TILLIT_REMINDER_INTERVAL_MS` (60000): how often due reminders are issued.
    pub interval: Duration,
    /// The webhook, when `TILLIT_WEBHOOK_URL` is set.
    pub webhook: Option<Webhook>,
    /// The SMTP server, when `TILLIT_SMTP_URL` is set.
    pub smtp: Option<Smtp>,
    /// `TILLIT_REMINDER_RECIPIENTS`, `TILLIT_WEBHOOK_KINDS`, `TILLIT_EMAIL_KINDS`.
    pub routes: Routes,
    /// `TILLIT_DELIVERY_MAX_ATTEMPTS` (8) per target before it is abandoned.
    pub max_attempts: u32,
    /// `TILLIT_DELIVERY_BACKOFF_MS` (1000): the first pause, doubling after each attempt.
    pub backoff: Duration,
    /// `TILLIT_DELIVERY_ACK_WAIT_MS` (30000): after this long without word from a replica
    /// working on a reminder, another replica takes it over.
    pub ack_wait: Duration,
    /// `TILLIT_DELIVERY_TIMEOUT_MS` (10000): the bound of one attempt.
    pub timeout: Duration,
}

impl Channels {
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let invalid = |variable: &str, problem: String| ConfigError {
            variable: variable.to_owned(),
            problem,
        };
        let webhook = match env.get("TILLIT_WEBHOOK_URL").filter(|u| !u.is_empty()) {
            None => None,
            Some(url) => {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(invalid(
                        "TILLIT_WEBHOOK_URL",
                        "an http:// or https:// URL".into(),
                    ));
                }
                let secret = env.string("TILLIT_WEBHOOK_SECRET", "");
                if secret.len() < 16 {
                    return Err(invalid(
                        "TILLIT_WEBHOOK_SECRET",
                        "at least 16 characters are required with TILLIT_WEBHOOK_URL".into(),
                    ));
                }
                Some(Webhook {
                    url: url.to_owned(),
                    secret,
                })
            }
        };
        let smtp = env
            .get("TILLIT_SMTP_URL")
            .filter(|u| !u.is_empty())
            .map(|url| Smtp {
                url: url.to_owned(),
                from: env.string("TILLIT_SMTP_FROM", "Tillit <tillit@localhost>"),
            });
        let routes = Routes::parse(
            &env.string("TILLIT_REMINDER_RECIPIENTS", ""),
            &env.string("TILLIT_WEBHOOK_KINDS", "all"),
            &env.string("TILLIT_EMAIL_KINDS", "all"),
        )
        .map_err(|problem| invalid("TILLIT_REMINDER_RECIPIENTS / _KINDS", problem))?;
        let max_attempts: u32 = env.parse("TILLIT_DELIVERY_MAX_ATTEMPTS", 8)?;
        if max_attempts == 0 {
            return Err(invalid("TILLIT_DELIVERY_MAX_ATTEMPTS", "at least 1".into()));
        }
        Ok(Self {
            interval: env.millis("TILLIT_REMINDER_INTERVAL_MS", Duration::from_secs(60))?,
            webhook,
            smtp,
            routes,
            max_attempts,
            backoff: env.millis("TILLIT_DELIVERY_BACKOFF_MS", Duration::from_secs(1))?,
            ack_wait: env.millis("TILLIT_DELIVERY_ACK_WAIT_MS", Duration::from_secs(30))?,
            timeout: env.millis("TILLIT_DELIVERY_TIMEOUT_MS", Duration::from_secs(10))?,
        })
    }

    /// Both channels configured, fast retries: for unit tests.
    #[cfg(test)]
    pub fn for_tests() -> Self {
        let env = Env::from_pairs([
            ("TILLIT_WEBHOOK_URL", "http://127.0.0.1:9/hook"),
            ("TILLIT_WEBHOOK_SECRET", "a-secret-of-sixteen"),
            ("TILLIT_SMTP_URL", "smtp://127.0.0.1:25"),
        ]);
        Self::from_env(&env).expect("test channels")
    }
}

impl ReportingConfig {
    /// Reads the settings, naming the variable of any bad value.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            platform: PlatformConfig::from_env(env)?,
            grpc_addr: env.addr("TILLIT_REPORTING_GRPC_ADDR", "127.0.0.1:50054")?,
            admin_addr: env.addr("TILLIT_REPORTING_ADMIN_ADDR", "127.0.0.1:9094")?,
            rules_file: env.path("TILLIT_RULES_FILE"),
            reminders: Channels::from_env(env)?,
            clock: Clock::system(),
        })
    }
}

impl tillit_runtime::ServiceConfig for ReportingConfig {
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        ReportingConfig::from_env(env)
    }

    fn addrs(&self) -> (SocketAddr, SocketAddr) {
        (self.grpc_addr, self.admin_addr)
    }

    fn platform_mut(&mut self) -> &mut PlatformConfig {
        &mut self.platform
    }
}
