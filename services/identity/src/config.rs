//! Identity's settings: the shared platform settings plus its own, each from a `TILLIT_*`
//! variable with a dev default.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tillit_kernel::Clock;
use tillit_runtime::{ConfigError, Env, PlatformConfig};

use crate::domain::credential::LockoutPolicy;
use crate::passwords::HashCost;

/// Everything identity needs to start.
#[derive(Clone, Debug)]
pub struct IdentityConfig {
    /// NATS, data dir, issuer, store settings.
    pub platform: PlatformConfig,
    /// `TILLIT_IDENTITY_GRPC_ADDR` (127.0.0.1:50051).
    pub grpc_addr: SocketAddr,
    /// `TILLIT_IDENTITY_ADMIN_ADDR` (127.0.0.1:9091): health probes and JWKS.
    pub admin_addr: SocketAddr,
    /// `TILLIT_IDENTITY_SIGNING_KEY_FILE`: PKCS#8 PEM Ed25519 key. Unset: generated once
    /// into `<data dir>/identity-signing-key.pem` (development only).
    pub signing_key_file: Option<PathBuf>,
    /// `TILLIT_ACCESS_TOKEN_TTL_SECONDS` (900).
    pub access_token_ttl: Duration,
    /// `TILLIT_REFRESH_TOKEN_TTL_SECONDS` (30 days).
    pub refresh_token_ttl: Duration,
    /// `TILLIT_LOCKOUT_THRESHOLD` (5), `TILLIT_LOCKOUT_WINDOW_SECONDS` (900),
    /// `TILLIT_LOCKOUT_DURATION_SECONDS` (900).
    pub lockout: LockoutPolicy,
    /// `TILLIT_ARGON2_MEMORY_KIB` (19456), `TILLIT_ARGON2_ITERATIONS` (2).
    pub hash_cost: HashCost,
    /// `TILLIT_BOOTSTRAP_ADMIN_EMAIL` (admin@tillit.local).
    pub bootstrap_admin_email: String,
    /// `TILLIT_BOOTSTRAP_ADMIN_PASSWORD`; unset: generated and printed once.
    pub bootstrap_admin_password: Option<String>,
    /// The clock; tests may pin or shift it.
    pub clock: Clock,
}

impl IdentityConfig {
    /// Reads the settings, naming the variable of any bad value.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let seconds = |variable: &str, default: u64| -> Result<Duration, ConfigError> {
            Ok(Duration::from_secs(env.parse(variable, default)?))
        };
        let lockout = LockoutPolicy {
            threshold: env.parse("TILLIT_LOCKOUT_THRESHOLD", 5)?,
            window: seconds("TILLIT_LOCKOUT_WINDOW_SECONDS", 900)?,
            duration: seconds("TILLIT_LOCKOUT_DURATION_SECONDS", 900)?,
        };
        let defaults = HashCost::default();
        let hash_cost = HashCost {
            memory_kib: env.parse("TILLIT_ARGON2_MEMORY_KIB", defaults.memory_kib)?,
            iterations: env.parse("TILLIT_ARGON2_ITERATIONS", defaults.iterations)?,
        };
        if hash_cost.memory_kib < 8 || hash_cost.iterations == 0 {
            return Err(ConfigError {
                variable: "TILLIT_ARGON2_MEMORY_KIB".into(),
                problem: "argon2 needs at least 8 KiB and 1 iteration".into(),
            });
        }
        let password = env
            .get("TILLIT_BOOTSTRAP_ADMIN_PASSWORD")
            .map(str::to_owned);
        if let Some(password) = &password {
            crate::domain::validate::password("TILLIT_BOOTSTRAP_ADMIN_PASSWORD", password)
                .map_err(|e| ConfigError {
                    variable: "TILLIT_BOOTSTRAP_ADMIN_PASSWORD".into(),
                    problem: e.to_string(),
                })?;
        }
        let email = env.string("TILLIT_BOOTSTRAP_ADMIN_EMAIL", "admin@tillit.local");
        let email = crate::domain::validate::email("TILLIT_BOOTSTRAP_ADMIN_EMAIL", &email)
            .map_err(|e| ConfigError {
                variable: "TILLIT_BOOTSTRAP_ADMIN_EMAIL".into(),
                problem: e.to_string(),
            })?;
        Ok(Self {
            platform: PlatformConfig::from_env(env)?,
            grpc_addr: env.addr("TILLIT_IDENTITY_GRPC_ADDR", "127.0.0.1:50051")?,
            admin_addr: env.addr("TILLIT_IDENTITY_ADMIN_ADDR", "127.0.0.1:9091")?,
            signing_key_file: env.path("TILLIT_IDENTITY_SIGNING_KEY_FILE"),
            access_token_ttl: seconds("TILLIT_ACCESS_TOKEN_TTL_SECONDS", 900)?,
            refresh_token_ttl: seconds("TILLIT_REFRESH_TOKEN_TTL_SECONDS", 30 * 24 * 3600)?,
            lockout,
            hash_cost,
            bootstrap_admin_email: email,
            bootstrap_admin_password: password,
            clock: Clock::system(),
        })
    }
}

impl tillit_runtime::ServiceConfig for IdentityConfig {
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        IdentityConfig::from_env(env)
    }

    fn addrs(&self) -> (std::net::SocketAddr, std::net::SocketAddr) {
        (self.grpc_addr, self.admin_addr)
    }

    fn platform_mut(&mut self) -> &mut PlatformConfig {
        &mut self.platform
    }
}
