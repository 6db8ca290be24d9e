//! The real services, run in-process on free ports by `tillit-testkit`'s harness, with
//! the settings the tests use (except where a row says otherwise).

use std::path::Path;

use tillit_runtime::Env;
use tillit_testkit::harness::{self, Identity, Service};

fn env(pairs: &[(String, String)]) -> Env {
    Env::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// Identity with cheap argon2 and the known admin, plus `extra`.
pub(crate) async fn identity(nats_url: &str, data: &Path, extra: &[(&str, &str)]) -> Identity {
    let config = tillit_identity::IdentityConfig::from_env(&env(&harness::identity_env(
        nats_url, data, extra,
    )))
    .expect("identity settings");
    Identity(
        Service::start(tillit_identity::SERVICE_NAME, move |g, a, s| {
            tillit_identity::run(config, g, a, s)
        })
        .await,
    )
}

/// Starts the incidents service in-process for a benchmark.
pub(crate) async fn incidents(nats_url: &str, data: &Path) -> Service {
    let config = tillit_incidents::IncidentsConfig::from_env(&env(&harness::service_env(
        nats_url,
        data,
        &[],
    )))
    .expect("incidents settings");
    Service::start(tillit_incidents::SERVICE_NAME, move |g, a, s| {
        tillit_incidents::run(config, g, a, s)
    })
    .await
}

/// Starts the reporting service in-process for a benchmark.
pub(crate) async fn reporting(nats_url: &str, data: &Path) -> Service {
    let config = tillit_reporting::ReportingConfig::from_env(&env(&harness::service_env(
        nats_url,
        data,
        &[],
    )))
    .expect("reporting settings");
    Service::start(tillit_reporting::SERVICE_NAME, move |g, a, s| {
        tillit_reporting::run(config, g, a, s)
    })
    .await
}
