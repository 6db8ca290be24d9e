//! What every service's `run` starts with and ends with, written once: the event store
//! with the service's streams provisioned, the data directory, the projections running in
//! the service's redb file (the identity view among them, for authentication), the token
//! verifier, and at the end serving until shutdown and stopping the projections.

use std::sync::Arc;

use redb::Database;
use tillit_auth::view::ViewReader;
use tillit_auth::{AuthLayer, IdentityView, Verifier};
use tillit_kernel::{
    BoundedContext, Clock, EventStore, Projection, ProjectionConfig, ProjectionRunner,
};
use tokio::net::TcpListener;
use tonic::service::Routes;

use crate::config::PlatformConfig;
use crate::server::{ServeParts, serve};
use crate::{Metrics, StartError};

/// A service's running foundation.
pub struct Foundation {
    /// The event store.
    pub store: EventStore,
    /// The projections, the identity view first.
    pub projections: Arc<ProjectionRunner>,
    /// The service's redb file, for its readers.
    pub db: Arc<Database>,
    /// The identity view in that file.
    pub identity: ViewReader,
    /// Verifies access tokens against the identity view, catching up once on a miss.
    pub verifier: Verifier,
    /// The service's metrics, served at `/metrics`.
    pub metrics: Metrics,
}

impl Foundation {
    /// Connects to NATS, provisions `contexts`' streams, and starts the identity view and
    /// `projections` in `<data dir>/<file>` for the gRPC service `service`.
    pub async fn start(
        service: &str,
        platform: &PlatformConfig,
        clock: Clock,
        contexts: &[BoundedContext],
        file: &str,
        projections: Vec<Arc<dyn Projection>>,
    ) -> Result<Self, StartError> {
        let secret = platform
            .personal_data_secret()
            .map_err(|e| StartError::Settings(e.to_string()))?;
        let store = EventStore::connect(&platform.nats_url, platform.store.clone(), clock)
            .await?
            .with_personal_data(secret);
        for context in contexts {
            store.provision(*context).await?;
        }
        store.provision_keys().await?;
        std::fs::create_dir_all(&platform.data_dir).map_err(|source| StartError::DataDir {
            path: platform.data_dir.clone(),
            source,
        })?;
        let mut all: Vec<Arc<dyn Projection>> = vec![Arc::new(IdentityView)];
        all.extend(projections);
        let projections = Arc::new(
            ProjectionRunner::start(
                &platform.data_dir.join(file),
                store.clone(),
                all,
                ProjectionConfig {
                    max_staleness: platform.max_staleness,
                    confirm_every: (platform.max_staleness / 5)
                        .min(std::time::Duration::from_secs(1)),
                    ready_max_lag: platform.ready_max_lag,
                    ..ProjectionConfig::default()
                },
            )
            .await?,
        );
        let db = projections.database().clone();
        let identity = ViewReader::new(db.clone());
        let view = identity.clone();
        store
            .vault()?
            .keys()
            .follow_erasures(std::sync::Arc::new(move |subject: &str| {
                view.is_erased(subject).unwrap_or(false)
            }));
        // As long as a rebuild of the identity view may take.
        redo_erasures(
            &store,
            &projections,
            &identity,
            std::time::Duration::from_secs(600),
        )
        .await?;
        let verifier = Verifier::new(identity.clone(), platform.issuer.clone())
            .with_catch_up(projections.clone(), platform.consistency_timeout);
        let metrics = Metrics::new(service);
        metrics.register_kernel(store.metrics());
        Ok(Self {
            store,
            projections,
            db,
            identity,
            verifier,
            metrics,
        })
    }

    /// Serves `routes` (authenticated except `public_methods`) and the admin HTTP routes
    /// until `shutdown` resolves, then stops the projections.
    pub async fn serve(
        &self,
        routes: Routes,
        service_names: Vec<&'static str>,
        public_methods: &[&str],
        admin: axum::Router,
        listeners: (TcpListener, TcpListener),
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        let (ready, store) = (self.projections.clone(), self.store.clone());
        serve(
            ServeParts {
                routes,
                service_names,
                auth: AuthLayer::new(self.verifier.clone(), public_methods)
                    .on_refusal(self.metrics.refusals().hook()),
                admin,
                ready: Arc::new(move || {
                    if !store.is_connected() {
                        return Err("NATS is not connected (reconnecting)".into());
                    }
                    ready.readiness()
                }),
                metrics: self.metrics.clone(),
            },
            listeners.0,
            listeners.1,
            shutdown,
        )
        .await
        .map_err(StartError::Serve)?;
        self.projections.stop().await;
        Ok(())
    }
}

/// Destroys again the keys of every data subject the IDENTITY stream records as erased,
/// before the service serves anything: after the key store was restored from a backup, its
/// old copies of those keys must not open a single value. Waits until the identity view
/// holds the stream's end as it is now; destroying a destroyed key is cheap.
async fn redo_erasures(
    store: &EventStore,
    projections: &ProjectionRunner,
    identity: &ViewReader,
    timeout: std::time::Duration,
) -> Result<(), StartError> {
    let stream = BoundedContext::IDENTITY.stream();
    let Some(state) = store.stream_state(&stream).await? else {
        return Ok(());
    };
    if state.last_sequence > 0 {
        let end = tillit_proto::common::Position {
            stream,
            sequence: state.last_sequence,
        };
        projections
            .wait_for(&tillit_kernel::envelope::token(end), timeout)
            .await?;
    }
    let erased = identity.erased_subjects()?;
    for subject in &erased {
        store
            .vault()?
            .keys()
            .destroy(subject, "redone at start")
            .await?;
    }
    if !erased.is_empty() {
        tracing::info!(
            subjects = erased.len(),
            "erased data subjects' keys checked destroyed"
        );
    }
    Ok(())
}
