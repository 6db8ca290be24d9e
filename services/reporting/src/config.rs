//! The reporting service's settings: the shared platform settings plus its own.

use std::net::SocketAddr;
use std::path::PathBuf;

use tillit_kernel::Clock;
use tillit_runtime::{ConfigError, Env, PlatformConfig};

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
    /// The clock; tests may pin or shift it.
    pub clock: Clock,
}

impl ReportingConfig {
    /// Reads the settings, naming the variable of any bad value.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            platform: PlatformConfig::from_env(env)?,
            grpc_addr: env.addr("TILLIT_REPORTING_GRPC_ADDR", "127.0.0.1:50054")?,
            admin_addr: env.addr("TILLIT_REPORTING_ADMIN_ADDR", "127.0.0.1:9094")?,
            rules_file: env.path("TILLIT_RULES_FILE"),
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
