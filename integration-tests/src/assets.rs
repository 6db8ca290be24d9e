//! Running the assets, incidents and reporting services beside identity, on the same
//! nats-server, through `tillit-testkit`'s harness.

use std::path::Path;

use tillit_assets::AssetsConfig;
use tillit_incidents::IncidentsConfig;
use tillit_reporting::ReportingConfig;
use tillit_runtime::Env;
pub use tillit_testkit::harness::Service;

fn env_with(nats_url: &str, data_dir: &Path, extra: &[(&str, &str)]) -> Env {
    let pairs = tillit_testkit::harness::service_env(nats_url, data_dir, extra);
    Env::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

fn env(nats_url: &str, data_dir: &Path) -> Env {
    env_with(nats_url, data_dir, &[])
}
/// Assets settings for tests.
pub fn test_config(nats_url: &str, data_dir: &Path) -> AssetsConfig {
    AssetsConfig::from_env(&env(nats_url, data_dir)).expect("test configuration")
}

/// Assets settings for tests with `extra` settings.
pub fn assets_config_with(nats_url: &str, data_dir: &Path, extra: &[(&str, &str)]) -> AssetsConfig {
    AssetsConfig::from_env(&env_with(nats_url, data_dir, extra)).expect("test configuration")
}

/// Incidents settings for tests.
pub fn incidents_config(nats_url: &str, data_dir: &Path) -> IncidentsConfig {
    incidents_config_with(nats_url, data_dir, &[])
}

/// Incidents settings for tests with `extra` settings.
pub fn incidents_config_with(
    nats_url: &str,
    data_dir: &Path,
    extra: &[(&str, &str)],
) -> IncidentsConfig {
    IncidentsConfig::from_env(&env_with(nats_url, data_dir, extra)).expect("test configuration")
}

/// Reporting settings for tests.
pub fn reporting_config(nats_url: &str, data_dir: &Path) -> ReportingConfig {
    reporting_config_with(nats_url, data_dir, &[])
}

/// Reporting settings for tests with `extra` settings (reminder channels, intervals).
pub fn reporting_config_with(
    nats_url: &str,
    data_dir: &Path,
    extra: &[(&str, &str)],
) -> ReportingConfig {
    ReportingConfig::from_env(&env_with(nats_url, data_dir, extra)).expect("test configuration")
}

/// The assets service, running.
pub async fn start_assets(config: AssetsConfig) -> Service {
    Service::start(tillit_assets::SERVICE_NAME, move |g, a, s| {
        tillit_assets::run(config, g, a, s)
    })
    .await
}

/// The incidents service, running.
pub async fn start_incidents(config: IncidentsConfig) -> Service {
    Service::start(tillit_incidents::SERVICE_NAME, move |g, a, s| {
        tillit_incidents::run(config, g, a, s)
    })
    .await
}

/// The reporting service, running.
pub async fn start_reporting(config: ReportingConfig) -> Service {
    Service::start(tillit_reporting::SERVICE_NAME, move |g, a, s| {
        tillit_reporting::run(config, g, a, s)
    })
    .await
}
