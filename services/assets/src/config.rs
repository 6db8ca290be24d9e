//! The assets service's settings: the shared platform settings plus its own.

use std::net::SocketAddr;
use std::path::PathBuf;

use tillit_kernel::Clock;
use tillit_runtime::{ConfigError, Env, PlatformConfig};

/// Everything the assets service needs to start.
#[derive(Clone, Debug)]
pub struct AssetsConfig {
    /// NATS, data dir, issuer, store settings.
    pub platform: PlatformConfig,
    /// `TILLIT_ASSETS_GRPC_ADDR` (127.0.0.1:50052).
    pub grpc_addr: SocketAddr,
    /// `TILLIT_ASSETS_ADMIN_ADDR` (127.0.0.1:9092).
    pub admin_addr: SocketAddr,
    /// `TILLIT_RULES_FILE`: a JSON control rule set replacing the built-in one.
    pub rules_file: Option<PathBuf>,
    /// `TILLIT_COMPANY_NAME`: our name in records of processing.
    pub company_name: String,
    /// `TILLIT_DPO_CONTACT`: our data-protection contact in records of processing.
    pub dpo_contact: String,
    /// The clock; tests may pin or shift it.
    pub clock: Clock,
}

impl AssetsConfig {
    /// Reads the settings, naming the variable of any bad value.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            platform: PlatformConfig::from_env(env)?,
            grpc_addr: env.addr("TILLIT_ASSETS_GRPC_ADDR", "127.0.0.1:50052")?,
            admin_addr: env.addr("TILLIT_ASSETS_ADMIN_ADDR", "127.0.0.1:9092")?,
            rules_file: env.path("TILLIT_RULES_FILE"),
            company_name: env.string("TILLIT_COMPANY_NAME", "Tillit AB"),
            dpo_contact: env.string("TILLIT_DPO_CONTACT", "dpo@tillit.local"),
            clock: Clock::system(),
        })
    }
}

impl tillit_runtime::ServiceConfig for AssetsConfig {
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        AssetsConfig::from_env(env)
    }

    fn addrs(&self) -> (std::net::SocketAddr, std::net::SocketAddr) {
        (self.grpc_addr, self.admin_addr)
    }

    fn platform_mut(&mut self) -> &mut PlatformConfig {
        &mut self.platform
    }
}
