//! The portal's settings: where it listens, where the four services are, and the key of
//! its session cookie.

use std::net::SocketAddr;
use std::path::PathBuf;

use tillit_runtime::{ConfigError, Env, PlatformConfig};

/// Everything the portal needs to start.
#[derive(Clone, Debug)]
pub struct PortalConfig {
    /// The shared settings (the data directory holds a generated development cookie key).
    pub platform: PlatformConfig,
    /// `TILLIT_PORTAL_ADDR` (127.0.0.1:8080): the pages.
    pub addr: SocketAddr,
    /// `TILLIT_PORTAL_ADMIN_ADDR` (127.0.0.1:9095): `/livez`, `/readyz`, `/metrics`.
    pub admin_addr: SocketAddr,
    /// `TILLIT_PORTAL_IDENTITY_URL` (http://127.0.0.1:50051).
    pub identity_url: String,
    /// `TILLIT_PORTAL_ASSETS_URL` (http://127.0.0.1:50052).
    pub assets_url: String,
    /// `TILLIT_PORTAL_INCIDENTS_URL` (http://127.0.0.1:50053).
    pub incidents_url: String,
    /// `TILLIT_PORTAL_REPORTING_URL` (http://127.0.0.1:50054).
    pub reporting_url: String,
    /// `TILLIT_PORTAL_COOKIE_KEY_FILE`: at least 64 random bytes, hex (a mounted Secret);
    /// unset: `<data dir>/portal-cookie.key`, generated on first start (development).
    pub cookie_key_file: Option<PathBuf>,
    /// `TILLIT_PORTAL_PLAIN_HTTP` (false): cookies without `Secure`, for a portal served
    /// over plain HTTP on localhost only. Never set behind a real host name.
    pub plain_http: bool,
}

impl PortalConfig {
    /// Reads the settings, naming the variable of any bad value.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            platform: PlatformConfig::from_env(env)?,
            addr: env.addr("TILLIT_PORTAL_ADDR", "127.0.0.1:8080")?,
            admin_addr: env.addr("TILLIT_PORTAL_ADMIN_ADDR", "127.0.0.1:9095")?,
            identity_url: env.string("TILLIT_PORTAL_IDENTITY_URL", "http://127.0.0.1:50051"),
            assets_url: env.string("TILLIT_PORTAL_ASSETS_URL", "http://127.0.0.1:50052"),
            incidents_url: env.string("TILLIT_PORTAL_INCIDENTS_URL", "http://127.0.0.1:50053"),
            reporting_url: env.string("TILLIT_PORTAL_REPORTING_URL", "http://127.0.0.1:50054"),
            cookie_key_file: env.path("TILLIT_PORTAL_COOKIE_KEY_FILE"),
            plain_http: env.parse("TILLIT_PORTAL_PLAIN_HTTP", false)?,
        })
    }
}

impl tillit_runtime::ServiceConfig for PortalConfig {
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        PortalConfig::from_env(env)
    }

    fn addrs(&self) -> (SocketAddr, SocketAddr) {
        (self.addr, self.admin_addr)
    }

    fn platform_mut(&mut self) -> &mut PlatformConfig {
        &mut self.platform
    }
}
