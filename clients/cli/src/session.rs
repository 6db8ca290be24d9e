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
    /// The identity service.
    Identity,
    /// The assets service.
    Assets,
    /// The incidents service.
    Incidents,
    /// The reporting service.
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
    /// The identity service's address, overriding the saved one.
    pub identity: Option<String>,
    /// The assets service's address, overriding the saved one.
    pub assets: Option<String>,
    /// The incidents service's address, overriding the saved one.
    pub incidents: Option<String>,
    /// The reporting service's address, overriding the saved one.
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
        Self::in_dir(dir, profile, overrides)
    }

    /// The session of `profile` with its config in `dir`.
    fn in_dir(dir: PathBuf, profile: &str, overrides: &Overrides) -> Result<Self, Failure> {
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
            // Small answers must not wait for a delayed ACK (tonic's default, said aloud).
            .tcp_nodelay(true)
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

    /// Remembers the positions a command wrote (the latest per stream), so the next
    /// command of this profile sees them: read-your-writes across separate invocations.
    pub fn remember(&self, token: Option<&tillit_proto::common::ConsistencyToken>) {
        let Some(token) = token else { return };
        let mut seen: BTreeMap<String, u64> = self
            .seen()
            .map(|t| {
                t.positions
                    .into_iter()
                    .map(|p| (p.stream, p.sequence))
                    .collect()
            })
            .unwrap_or_default();
        for position in &token.positions {
            let known = seen.entry(position.stream.clone()).or_default();
            *known = (*known).max(position.sequence);
        }
        if let Ok(text) = serde_json::to_vec(&seen) {
            let _ = std::fs::write(self.seen_file(), text);
        }
    }

    /// What this profile's commands wrote, for a query to wait for.
    pub fn seen(&self) -> Option<tillit_proto::common::ConsistencyToken> {
        let text = std::fs::read(self.seen_file()).ok()?;
        let seen: BTreeMap<String, u64> = serde_json::from_slice(&text).ok()?;
        let positions: Vec<_> = seen
            .into_iter()
            .map(|(stream, sequence)| tillit_proto::common::Position { stream, sequence })
            .collect();
        (!positions.is_empty()).then_some(tillit_proto::common::ConsistencyToken { positions })
    }

    fn seen_file(&self) -> PathBuf {
        self.dir
            .join("tokens")
            .join(format!("{}.seen.json", self.profile))
    }

    /// The cached login, if any.
    pub fn load(&self) -> Option<Tokens> {
        let text = std::fs::read(self.token_file()).ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// Forgets the login.
    pub fn forget(&self) {
        let _ = std::fs::remove_file(self.token_file());
        let _ = std::fs::remove_file(self.seen_file());
    }

    /// Where the token cache is.
    pub fn token_path(&self) -> PathBuf {
        self.token_file()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(
        dir: &std::path::Path,
        profile: &str,
        overrides: &Overrides,
    ) -> Result<Session, Failure> {
        Session::in_dir(dir.to_path_buf(), profile, overrides)
    }

    #[test]
    fn flags_win_over_the_profile_which_wins_over_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.toml"),
            "[profiles.prod]\nidentity = \"https://identity.example\"\nassets = \"https://assets.example\"\n",
        )
        .unwrap();
        let prod = session(
            dir.path(),
            "prod",
            &Overrides {
                assets: Some("http://127.0.0.1:1".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(prod.urls["identity"], "https://identity.example");
        assert_eq!(prod.urls["assets"], "http://127.0.0.1:1");
        assert_eq!(prod.urls["reporting"], "http://127.0.0.1:50054");
        assert!(matches!(
            session(dir.path(), "staging", &Overrides::default()),
            Err(Failure::Usage(m)) if m.contains("staging")
        ));
        let default = session(dir.path(), "default", &Overrides::default()).unwrap();
        assert_eq!(default.urls["identity"], "http://127.0.0.1:50051");
    }

    #[test]
    fn the_token_cache_is_per_profile_and_the_users_alone() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.toml"), "[profiles.prod]\n").unwrap();
        let tokens = Tokens {
            access_token: "a".into(),
            refresh_token: "r".into(),
            expires_at: 1,
        };
        let prod = session(dir.path(), "prod", &Overrides::default()).unwrap();
        prod.save(&tokens).unwrap();
        assert!(
            session(dir.path(), "default", &Overrides::default())
                .unwrap()
                .load()
                .is_none()
        );
        assert_eq!(prod.load().unwrap().refresh_token, "r");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(prod.token_path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        prod.forget();
        assert!(prod.load().is_none());
    }
}
