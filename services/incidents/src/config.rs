//! The incidents service's settings: the shared platform settings plus its own.

use std::net::SocketAddr;

use tillit_kernel::Clock;
use tillit_rules::clocks::ClockConfig;
use tillit_runtime::{ConfigError, Env, PlatformConfig};

/// Everything the incidents service needs to start.
#[derive(Clone, Debug)]
pub struct IncidentsConfig {
    /// NATS, data dir, issuer, store settings.
    pub platform: PlatformConfig,
    /// `TILLIT_INCIDENTS_GRPC_ADDR` (127.0.0.1:50053).
    pub grpc_addr: SocketAddr,
    /// `TILLIT_INCIDENTS_ADMIN_ADDR` (127.0.0.1:9093).
    pub admin_addr: SocketAddr,
    /// `TILLIT_CLOCKS_FILE`: a JSON legal-clock configuration (recipients, hours,
    /// thresholds) replacing the built-in one.
    pub clocks: ClockConfig,
    /// `TILLIT_DPO_CONTACT`: the contact point named in breach reports.
    pub dpo_contact: String,
    /// The clock; tests may pin or shift it.
    pub clock: Clock,
}

impl IncidentsConfig {
    /// Reads the settings, naming the variable of any bad value.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            platform: PlatformConfig::from_env(env)?,
            grpc_addr: env.addr("TILLIT_INCIDENTS_GRPC_ADDR", "127.0.0.1:50053")?,
            admin_addr: env.addr("TILLIT_INCIDENTS_ADMIN_ADDR", "127.0.0.1:9093")?,
            clocks: ClockConfig::load(env.path("TILLIT_CLOCKS_FILE").as_deref()).map_err(
                |problem| ConfigError {
                    variable: "TILLIT_CLOCKS_FILE".into(),
                    problem,
                },
            )?,
            dpo_contact: env.string("TILLIT_DPO_CONTACT", "dpo@tillit.local"),
            clock: Clock::system(),
        })
    }
}

impl tillit_runtime::ServiceConfig for IncidentsConfig {
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        IncidentsConfig::from_env(env)
    }

    fn addrs(&self) -> (std::net::SocketAddr, std::net::SocketAddr) {
        (self.grpc_addr, self.admin_addr)
    }

    fn platform_mut(&mut self) -> &mut PlatformConfig {
        &mut self.platform
    }
}
