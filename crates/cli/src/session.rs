//! Where the services are and who is calling: addresses from flags, `TILLIT_*_URL`
//! variables or a profile of `<config dir>/config.toml`; tokens cached per profile in
//! `<config dir>/tokens/<profile>.json`, readable by the user only (mode 0600).
//!
//! The config directory is `TILLIT_CONFIG_DIR`, else the platform's (`~/.config/tillit`).
//!
//! ```toml
//! [profiles.default]
//! identity = "http://127.0.0.1:50051"
//! assets = "http://127.0.0.1:50052"
//! incidents = "http://127.0.0.1:50053"
//! reporting = "http://127.0.0.1:50054"
//!
//! [profiles.prod]
//! identity = "https://identity.tillit.example"
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tonic::transport::{Channel, Endpoint};

use crate::failure::Failure;

/// The four services.
#[derive(Clone, Copy, Debug)]
pub enum Service {
    /// Identity.
    Identity,
    /// Assets.
    Assets,
    /// Incidents.
    Incidents,
    /// Reporting.
    Reporting,
}

impl Service {
    fn name(self) -> &'static str {
        match self {
            Self::Identity => "identity",
            Self::Assets => "assets",
            Self::Incidents => "incidents",
            Self::Reporting => "reporting",
        }
    }

    fn default_url(self) -> &'static str {
        match self {
            Self::Identity => "http://127.0.0.1:50051",
            Self::Assets => "http://127.0.0.1:50052",
            Self::Incidents => "http://127.0.0.1:50053",
            Self::Reporting => "http://127.0.0.1:50054",
        }
    }
}

/// One profile of the config file.
#[derive(Clone, Debug, Default, Deserialize)]
struct Profile {
    identity: Option<String>,
    assets: Option<String>,
    incidents: Option<String>,
    reporting: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct ConfigFile {
    #[serde(default)]
    profiles: BTreeMap<String, Profile>,
}

/// A cached login.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Tokens {
    /// The access token.
    pub access_token: String,
    /// The refresh token (users; empty for service accounts).
    pub refresh_token: String,
    /// Unix seconds when the access token expires.
    pub expires_at: i64,
}

/// Addresses given on the command line (or by `TILLIT_*_URL`), which win over the profile.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// Identity.
    pub identity: Option<String>,
    /// Assets.
    pub assets: Option<String>,
    /// Incidents.
    pub incidents: Option<String>,
    /// Reporting.
    pub reporting: Option<String>,
}

/// The profile in use.
pub struct Session {
    profile: String,
    dir: PathBuf,
    urls: BTreeMap<&'static str, String>,
}

impl Session {
    /// The session of `profile` with `overrides`.
    pub fn open(profile: &str, overrides: &Overrides) -> Result<Self, Failure> {
        let dir = std::env::var_os("TILLIT_CONFIG_DIR")
            .map(PathBuf::from)
            .or_else(|| dirs::config_dir().map(|d| d.join("tillit")))
            .ok_or_else(|| Failure::Usage("no config directory: set TILLIT_CONFIG_DIR".into()))?;
        let file = dir.join("config.toml");
        let config: ConfigFile = match std::fs::read_to_string(&file) {
            Ok(text) => toml::from_str(&text)
                .map_err(|e| Failure::Usage(format!("{}: {e}", file.display())))?,
            Err(_) => ConfigFile::default(),
        };
        let stored = config.profiles.get(profile).cloned();
        if stored.is_none() && profile != "default" {
            return Err(Failure::Usage(format!(
                "no profile {profile:?} in {}",
                file.display()
            )));
        }
        let stored = stored.unwrap_or_default();
        let mut urls = BTreeMap::new();
        for (service, given, from_file) in [
            (Service::Identity, &overrides.identity, &stored.identity),
            (Service::Assets, &overrides.assets, &stored.assets),
            (Service::Incidents, &overrides.incidents, &stored.incidents),
            (Service::Reporting, &overrides.reporting, &stored.reporting),
        ] {
            let url = given
                .clone()
                .or_else(|| from_file.clone())
                .unwrap_or_else(|| service.default_url().to_owned());
            urls.insert(service.name(), url);
        }
        Ok(Self {
            profile: profile.to_owned(),
            dir,
            urls,
        })
    }

    /// A channel to `service`.
    pub async fn channel(&self, service: Service) -> Result<Channel, Failure> {
        let url = &self.urls[service.name()];
        Endpoint::from_shared(url.clone())
            .map_err(|e| Failure::Usage(format!("{url}: {e}")))?
            .connect_timeout(std::time::Duration::from_secs(5))
            .connect()
            .await
            .map_err(|e| Failure::Unavailable(format!("{} at {url}: {e}", service.name())))
    }

    fn token_file(&self) -> PathBuf {
        self.dir
            .join("tokens")
            .join(format!("{}.json", self.profile))
    }

    /// Stores a login, readable by the user only.
    pub fn save(&self, tokens: &Tokens) -> Result<(), Failure> {
        let path = self.token_file();
        let fail = |e: std::io::Error| Failure::Other(format!("{}: {e}", path.display()));
        std::fs::create_dir_all(path.parent().unwrap_or(&self.dir)).map_err(fail)?;
        let text = serde_json::to_vec_pretty(tokens).map_err(|e| Failure::Other(e.to_string()))?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
            options.mode(0o600);
            // An existing file keeps its mode on open: tighten it first.
            if path.exists() {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                    .map_err(fail)?;
            }
        }
        use std::io::Write as _;
        options
            .open(&path)
            .and_then(|mut f| f.write_all(&text))
            .map_err(fail)
    }

    /// The cached login, if any.
    pub fn load(&self) -> Option<Tokens> {
        let text = std::fs::read(self.token_file()).ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// Forgets the login.
    pub fn forget(&self) {
        let _ = std::fs::remove_file(self.token_file());
    }

    /// Where the token cache is.
    pub fn token_path(&self) -> PathBuf {
        self.token_file()
    }
}
