//! Typed configuration from `TILLIT_*` environment variables, layered over dev defaults and
//! validated once at start.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use tillit_kernel::StoreConfig;

/// A setting that could not be used.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    /// The environment variable.
    pub variable: String,
    /// What is wrong with its value.
    pub problem: String,
}

/// The variables a service reads: the process environment, or a map in tests. It notes
/// which variables were asked for, so the ones nobody reads (a misspelling) can be named.
#[derive(Clone, Debug, Default)]
pub struct Env(
    BTreeMap<String, String>,
    std::sync::Arc<std::sync::Mutex<std::collections::BTreeSet<String>>>,
);

impl Env {
    /// The settings in layers: defaults (in each config type), then the file named by
    /// `TILLIT_CONFIG_FILE` (lines `TILLIT_NAME=value`, `#` comments), then the process's
    /// `TILLIT_*` variables, which win.
    pub fn from_process() -> Result<Self, ConfigError> {
        let process: BTreeMap<String, String> = std::env::vars()
            .filter(|(name, _)| name.starts_with("TILLIT_"))
            .collect();
        let mut layered = match process.get("TILLIT_CONFIG_FILE").filter(|p| !p.is_empty()) {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
                    variable: "TILLIT_CONFIG_FILE".into(),
                    problem: format!("{path}: {e}"),
                })?;
                Self::parse_file(&text)
                    .map_err(|problem| ConfigError {
                        variable: "TILLIT_CONFIG_FILE".into(),
                        problem: format!("{path}: {problem}"),
                    })?
                    .0
            }
            None => BTreeMap::new(),
        };
        layered.extend(process);
        Ok(Self(layered, Default::default()))
    }

    /// Parses a settings file: `TILLIT_NAME=value` lines, blank lines and `#` comments.
    pub fn parse_file(text: &str) -> Result<Self, String> {
        let mut settings = BTreeMap::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, value) = line
                .split_once('=')
                .ok_or_else(|| format!("line {}: expected NAME=value", number + 1))?;
            let name = name.trim();
            if !name.starts_with("TILLIT_") {
                return Err(format!(
                    "line {}: {name} is not a TILLIT_ setting",
                    number + 1
                ));
            }
            settings.insert(name.to_owned(), value.trim().to_owned());
        }
        Ok(Self(settings, Default::default()))
    }

    /// Given variables (tests).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            Default::default(),
        )
    }

    /// Counts `variable` as read by something outside the service's settings (the log
    /// format, read by logging before the settings are).
    pub fn note_read(&self, variable: &str) {
        let _ = self.get(variable);
    }

    /// The variables set that nothing has asked for so far: after a service has read its
    /// settings, a misspelled or foreign variable.
    pub fn unread(&self) -> Vec<String> {
        let read = self
            .1
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.0
            .keys()
            .filter(|name| !read.contains(*name) && name.as_str() != "TILLIT_CONFIG_FILE")
            .cloned()
            .collect()
    }

    /// The raw value, if set and not empty.
    pub fn get(&self, variable: &str) -> Option<&str> {
        self.1
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(variable.to_owned());
        self.0
            .get(variable)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// A parsed value, or `default` when unset.
    pub fn parse<T: FromStr>(&self, variable: &str, default: T) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        match self.get(variable) {
            None => Ok(default),
            Some(raw) => raw.parse().map_err(|e: T::Err| ConfigError {
                variable: variable.to_owned(),
                problem: format!("{raw:?} is not valid: {e}"),
            }),
        }
    }

    /// A duration given in milliseconds.
    pub fn millis(&self, variable: &str, default: Duration) -> Result<Duration, ConfigError> {
        let millis = self.parse(
            variable,
            u64::try_from(default.as_millis()).unwrap_or(u64::MAX),
        )?;
        Ok(Duration::from_millis(millis))
    }

    /// A socket address.
    pub fn addr(&self, variable: &str, default: &str) -> Result<SocketAddr, ConfigError> {
        self.parse(
            variable,
            default.parse().expect("default addresses are valid"),
        )
    }

    /// A string, or `default`.
    pub fn string(&self, variable: &str, default: &str) -> String {
        self.get(variable).unwrap_or(default).to_owned()
    }

    /// A path, or `None`.
    pub fn path(&self, variable: &str) -> Option<PathBuf> {
        self.get(variable).map(PathBuf::from)
    }
}

/// Settings every service shares.
#[derive(Clone, Debug)]
pub struct PlatformConfig {
    /// `TILLIT_NATS_URL` (default `nats://127.0.0.1:14222`, the server of `just up`); a
    /// comma-separated list names the servers of a cluster.
    pub nats_url: String,
    /// `TILLIT_DATA_DIR` (default `.data`): where `<service>.redb` lives.
    pub data_dir: PathBuf,
    /// `TILLIT_ISSUER` (default `http://127.0.0.1:50051`): the `iss` of access tokens.
    pub issuer: String,
    /// `TILLIT_STREAM_REPLICAS` (1; 3 in a cluster), `TILLIT_NATS_TIMEOUT_MS` (5000),
    /// `TILLIT_DUPLICATE_WINDOW_MS` (120000), `TILLIT_MAX_ATTEMPTS` (32), and the
    /// connection's TLS and credentials files (`TILLIT_NATS_CA_FILE`, …).
    pub store: StoreConfig,
    /// `TILLIT_CONSISTENCY_TIMEOUT_MS` (5000): longest wait for a request's consistency token.
    pub consistency_timeout: Duration,
    /// `TILLIT_MAX_STALENESS_MS` (5000): how long a projection may go without confirming
    /// that it holds its stream's end before the service is not ready and, for the
    /// identity view, refuses every token as UNAVAILABLE (fail closed).
    pub max_staleness: Duration,
    /// Where the personal-data secret comes from: `TILLIT_PERSONAL_DATA_KEY_FILE` (a file
    /// of 64 hex digits, e.g. a mounted Secret) or `TILLIT_PERSONAL_DATA_KEY` (the digits);
    /// neither: `<data dir>/personal-data.key`, generated on first start (development).
    pub personal_data_key: PersonalDataKey,
    /// `TILLIT_READY_MAX_LAG` (100): once caught up, how many commits a projection may
    /// trail its stream and the service still count as ready. Until the first catch-up
    /// (a rebuild) it is not ready at all.
    pub ready_max_lag: u64,
    /// `TILLIT_SHUTDOWN_GRACE_SECONDS` (20): after SIGTERM, how long in-flight calls, the
    /// projection batch in hand and the last spans' export may take before the process
    /// gives up on them.
    pub shutdown_grace: Duration,
}

/// The source of the personal-data secret every service of a platform must share.
#[derive(Clone, Debug)]
pub enum PersonalDataKey {
    /// The 64 hex digits themselves.
    Value(String),
    /// A file that holds them.
    File(PathBuf),
    /// `<data dir>/personal-data.key`, generated when missing.
    Generated,
}

impl PlatformConfig {
    /// Reads the shared settings.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let defaults = StoreConfig::default();
        let store = StoreConfig {
            replicas: env.parse("TILLIT_STREAM_REPLICAS", defaults.replicas)?,
            request_timeout: env.millis("TILLIT_NATS_TIMEOUT_MS", defaults.request_timeout)?,
            duplicate_window: env
                .millis("TILLIT_DUPLICATE_WINDOW_MS", defaults.duplicate_window)?,
            max_attempts: env.parse("TILLIT_MAX_ATTEMPTS", defaults.max_attempts)?,
            connection: nats_connection(env)?,
            ..defaults
        };
        if !matches!(store.replicas, 1 | 3 | 5) {
            return Err(ConfigError {
                variable: "TILLIT_STREAM_REPLICAS".into(),
                problem: format!("{} replicas; use 1, 3 or 5", store.replicas),
            });
        }
        let max_staleness = env.millis("TILLIT_MAX_STALENESS_MS", Duration::from_secs(5))?;
        if max_staleness < Duration::from_millis(500) {
            return Err(ConfigError {
                variable: "TILLIT_MAX_STALENESS_MS".into(),
                problem: "at least 500 ms: the view is confirmed every few hundred ms".into(),
            });
        }
        Ok(Self {
            nats_url: env.string("TILLIT_NATS_URL", "nats://127.0.0.1:14222"),
            data_dir: env
                .path("TILLIT_DATA_DIR")
                .unwrap_or_else(|| PathBuf::from(".data")),
            issuer: env.string("TILLIT_ISSUER", "http://127.0.0.1:50051"),
            store,
            consistency_timeout: env
                .millis("TILLIT_CONSISTENCY_TIMEOUT_MS", Duration::from_secs(5))?,
            max_staleness,
            personal_data_key: match (
                env.path("TILLIT_PERSONAL_DATA_KEY_FILE"),
                env.get("TILLIT_PERSONAL_DATA_KEY"),
            ) {
                (Some(file), _) => PersonalDataKey::File(file),
                (None, Some(value)) => {
                    tillit_kernel::personal::PersonalDataSecret::parse(value).map_err(
                        |problem| ConfigError {
                            variable: "TILLIT_PERSONAL_DATA_KEY".into(),
                            problem,
                        },
                    )?;
                    PersonalDataKey::Value(value.to_owned())
                }
                (None, None) => PersonalDataKey::Generated,
            },
            ready_max_lag: env.parse("TILLIT_READY_MAX_LAG", 100)?,
            shutdown_grace: Duration::from_secs(env.parse("TILLIT_SHUTDOWN_GRACE_SECONDS", 20)?),
        })
    }

    /// The personal-data secret: read from its file or setting, or the development key
    /// under the data directory, generated once (atomically, so services starting together
    /// agree on one).
    pub fn personal_data_secret(
        &self,
    ) -> Result<tillit_kernel::personal::PersonalDataSecret, ConfigError> {
        use tillit_kernel::personal::PersonalDataSecret;
        let (variable, text) = match &self.personal_data_key {
            PersonalDataKey::Value(value) => ("TILLIT_PERSONAL_DATA_KEY", value.clone()),
            PersonalDataKey::File(path) => (
                "TILLIT_PERSONAL_DATA_KEY_FILE",
                std::fs::read_to_string(path).map_err(|e| ConfigError {
                    variable: "TILLIT_PERSONAL_DATA_KEY_FILE".into(),
                    problem: format!("reading {}: {e}", path.display()),
                })?,
            ),
            PersonalDataKey::Generated => (
                "TILLIT_PERSONAL_DATA_KEY_FILE",
                generated_key(&self.data_dir.join("personal-data.key")).map_err(|e| {
                    ConfigError {
                        variable: "TILLIT_PERSONAL_DATA_KEY_FILE".into(),
                        problem: format!(
                            "generating a development key under {}: {e}",
                            self.data_dir.display()
                        ),
                    }
                })?,
            ),
        };
        PersonalDataSecret::parse(&text).map_err(|problem| ConfigError {
            variable: variable.into(),
            problem,
        })
    }
}

/// `TILLIT_NATS_CA_FILE`, `TILLIT_NATS_CERT_FILE` with `TILLIT_NATS_KEY_FILE`,
/// `TILLIT_NATS_CREDS_FILE`, `TILLIT_NATS_NKEY_FILE`.
fn nats_connection(env: &Env) -> Result<tillit_kernel::store::NatsConnection, ConfigError> {
    let client_cert = match (
        env.path("TILLIT_NATS_CERT_FILE"),
        env.path("TILLIT_NATS_KEY_FILE"),
    ) {
        (Some(cert), Some(key)) => Some((cert, key)),
        (None, None) => None,
        (Some(_), None) => {
            return Err(ConfigError {
                variable: "TILLIT_NATS_KEY_FILE".into(),
                problem: "required with TILLIT_NATS_CERT_FILE".into(),
            });
        }
        (None, Some(_)) => {
            return Err(ConfigError {
                variable: "TILLIT_NATS_CERT_FILE".into(),
                problem: "required with TILLIT_NATS_KEY_FILE".into(),
            });
        }
    };
    if env.get("TILLIT_NATS_CREDS_FILE").is_some() && env.get("TILLIT_NATS_NKEY_FILE").is_some() {
        return Err(ConfigError {
            variable: "TILLIT_NATS_NKEY_FILE".into(),
            problem: "give either a credentials file or an nkey, not both".into(),
        });
    }
    Ok(tillit_kernel::store::NatsConnection {
        ca_file: env.path("TILLIT_NATS_CA_FILE"),
        client_cert,
        creds_file: env.path("TILLIT_NATS_CREDS_FILE"),
        nkey_file: env.path("TILLIT_NATS_NKEY_FILE"),
    })
}

/// The key at `path`, written first when missing: to a temporary file that is then linked
/// into place, which fails when another process got there first (whose key is then read).
fn generated_key(path: &std::path::Path) -> std::io::Result<String> {
    if let Ok(text) = std::fs::read_to_string(path) {
        return Ok(text);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let temporary = path.with_extension(format!("{}.tmp", std::process::id()));
    std::fs::write(
        &temporary,
        tillit_kernel::personal::PersonalDataSecret::generate_text(),
    )?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&temporary, std::fs::Permissions::from_mode(0o600))?;
    }
    let linked = std::fs::hard_link(&temporary, path);
    std::fs::remove_file(&temporary)?;
    match linked {
        Ok(()) => tracing::warn!(
            path = %path.display(),
            "generated a development personal-data key; production sets TILLIT_PERSONAL_DATA_KEY_FILE"
        ),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    std::fs::read_to_string(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_has_a_default() {
        let config = PlatformConfig::from_env(&Env::default()).unwrap();
        assert_eq!(config.nats_url, "nats://127.0.0.1:14222");
        assert_eq!(config.store.replicas, 1);
    }

    #[test]
    fn a_settings_file_is_read_line_by_line_and_refuses_strangers() {
        let env = Env::parse_file(
            "# local\nTILLIT_NATS_URL = nats://nats:4222\n\nTILLIT_STREAM_REPLICAS=3\n",
        )
        .unwrap();
        let config = PlatformConfig::from_env(&env).unwrap();
        assert_eq!(
            (config.nats_url.as_str(), config.store.replicas),
            ("nats://nats:4222", 3)
        );
        assert!(Env::parse_file("PATH=/tmp").unwrap_err().contains("line 1"));
        assert!(Env::parse_file("TILLIT_X").is_err());
    }

    #[test]
    fn nats_tls_and_credentials_come_as_files_in_pairs_that_make_sense() {
        let env = Env::from_pairs([
            ("TILLIT_NATS_URL", "nats://a:4222,nats://b:4222"),
            ("TILLIT_NATS_CA_FILE", "/etc/nats/ca.crt"),
            ("TILLIT_NATS_CERT_FILE", "/etc/nats/tls.crt"),
            ("TILLIT_NATS_KEY_FILE", "/etc/nats/tls.key"),
            ("TILLIT_NATS_CREDS_FILE", "/etc/nats/tillit.creds"),
        ]);
        let config = PlatformConfig::from_env(&env).unwrap();
        let connection = &config.store.connection;
        assert_eq!(
            connection.ca_file.as_deref(),
            Some(std::path::Path::new("/etc/nats/ca.crt"))
        );
        assert!(connection.client_cert.is_some() && connection.creds_file.is_some());
        let half = Env::from_pairs([("TILLIT_NATS_CERT_FILE", "/etc/nats/tls.crt")]);
        assert_eq!(
            PlatformConfig::from_env(&half).unwrap_err().variable,
            "TILLIT_NATS_KEY_FILE"
        );
        let both = Env::from_pairs([
            ("TILLIT_NATS_CREDS_FILE", "/a.creds"),
            ("TILLIT_NATS_NKEY_FILE", "/a.nk"),
        ]);
        assert_eq!(
            PlatformConfig::from_env(&both).unwrap_err().variable,
            "TILLIT_NATS_NKEY_FILE"
        );
    }

    #[test]
    fn variables_nobody_reads_are_named() {
        let env = Env::from_pairs([
            ("TILLIT_NATS_URL", "nats://a:4222"),
            ("TILLIT_NATS_URLL", "nats://typo:4222"),
        ]);
        PlatformConfig::from_env(&env).unwrap();
        assert_eq!(env.unread(), ["TILLIT_NATS_URLL"]);
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        let env = Env::from_pairs([("TILLIT_NATS_TIMEOUT_MS", "soon")]);
        let error = PlatformConfig::from_env(&env).unwrap_err();
        assert_eq!(error.variable, "TILLIT_NATS_TIMEOUT_MS");
        let env = Env::from_pairs([("TILLIT_STREAM_REPLICAS", "2")]);
        assert_eq!(
            PlatformConfig::from_env(&env).unwrap_err().variable,
            "TILLIT_STREAM_REPLICAS"
        );
    }
}
