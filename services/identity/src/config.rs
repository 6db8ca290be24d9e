//! Identity's settings: the shared platform settings plus its own, each from a `TILLIT_*`
//! variable with a dev default.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tillit_kernel::Clock;
use tillit_runtime::{ConfigError, Env, PlatformConfig};

use crate::passwords::HashCost;
use crate::throttle::ThrottlePolicy;

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
    /// `TILLIT_THROTTLE_PER_ACCOUNT` (5 failures per account and client address),
    /// `TILLIT_THROTTLE_PER_ADDRESS` (50 per client address),
    /// `TILLIT_THROTTLE_WINDOW_SECONDS` (900).
    pub throttle: ThrottlePolicy,
    /// `TILLIT_IDENTITY_TRUSTED_FORWARDERS`: service-account ids (comma separated) whose
    /// calls may state the end user's address in `x-tillit-client-address` (the portal).
    pub trusted_forwarders: Vec<String>,
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
        for renamed in [
            "TILLIT_LOCKOUT_THRESHOLD",
            "TILLIT_LOCKOUT_WINDOW_SECONDS",
            "TILLIT_LOCKOUT_DURATION_SECONDS",
        ] {
            if env.get(renamed).is_some() {
                return Err(ConfigError {
                    variable: renamed.into(),
                    problem: "accounts are no longer locked; use TILLIT_THROTTLE_PER_ACCOUNT, \
                              TILLIT_THROTTLE_PER_ADDRESS and TILLIT_THROTTLE_WINDOW_SECONDS"
                        .into(),
                });
            }
        }
        let defaults = ThrottlePolicy::default();
        let throttle = ThrottlePolicy {
            per_account: env.parse("TILLIT_THROTTLE_PER_ACCOUNT", defaults.per_account)?,
            per_address: env.parse("TILLIT_THROTTLE_PER_ADDRESS", defaults.per_address)?,
            window: seconds("TILLIT_THROTTLE_WINDOW_SECONDS", defaults.window.as_secs())?,
        };
        if throttle.per_account == 0 || throttle.per_address == 0 || throttle.window.is_zero() {
            return Err(ConfigError {
                variable: "TILLIT_THROTTLE_PER_ACCOUNT".into(),
                problem: "throttle limits and window must be above 0".into(),
            });
        }
        let trusted_forwarders = env
            .get("TILLIT_IDENTITY_TRUSTED_FORWARDERS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(|id| {
                tillit_kernel::AggregateId::parse(id, "TILLIT_IDENTITY_TRUSTED_FORWARDERS")
                    .map(|id| id.as_str().to_owned())
                    .map_err(|e| ConfigError {
                        variable: "TILLIT_IDENTITY_TRUSTED_FORWARDERS".into(),
                        problem: e.to_string(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
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
            throttle,
            trusted_forwarders,
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
