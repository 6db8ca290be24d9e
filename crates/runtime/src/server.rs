//! The gRPC and admin HTTP servers of one service, run together until shutdown.

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use tillit_auth::AuthLayer;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::service::Routes;
use tonic_health::ServingStatus;

/// Whether the service is ready for traffic (NATS reachable, projections caught up and
/// confirmed current), with the reason when it is not.
pub type Readiness = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

/// What a service hands the runtime.
pub struct ServeParts {
    /// The service's gRPC routes.
    pub routes: Routes,
    /// Fully qualified names of its gRPC services, for health status.
    pub service_names: Vec<&'static str>,
    /// Authenticates every call except health, reflection and declared public methods.
    pub auth: AuthLayer,
    /// Extra admin HTTP routes (for example `/.well-known/jwks.json`).
    pub admin: Router,
    /// Feeds `/readyz` and the health status.
    pub ready: Readiness,
}

/// Serves gRPC on `grpc_listener` and admin HTTP on `admin_listener` until `shutdown`
/// resolves, then lets in-flight calls finish.
pub async fn serve(
    parts: ServeParts,
    grpc_listener: TcpListener,
    admin_listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (health, health_service) = tonic_health::server::health_reporter();
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(tillit_proto::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(std::io::Error::other)?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(tillit_proto::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .map_err(std::io::Error::other)?;

    // Health follows readiness: NOT_SERVING while projections catch up.
    let ready = parts.ready.clone();
    let names = parts.service_names.clone();
    let health_task = tokio::spawn(async move {
        let mut last = None;
        loop {
            let status = if ready().is_ok() {
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            };
            if last != Some(status) {
                health.set_service_status("", status).await;
                for name in &names {
                    health.set_service_status(*name, status).await;
                }
                last = Some(status);
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
    });

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };

    let ready = parts.ready.clone();
    let admin = parts
        .admin
        .route("/livez", get(|| async { StatusCode::OK }))
        .route(
            "/readyz",
            get(move || {
                let ready = ready();
                async move {
                    match ready {
                        Ok(()) => (StatusCode::OK, "ready".to_owned()),
                        Err(reason) => (
                            StatusCode::SERVICE_UNAVAILABLE,
                            format!("not ready: {reason}"),
                        ),
                    }
                }
            }),
        );
    let admin_server =
        axum::serve(admin_listener, admin).with_graceful_shutdown(stopped(stop_rx.clone()));

    let grpc_server = tonic::transport::Server::builder()
        .layer(parts.auth)
        .add_routes(parts.routes)
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .serve_with_incoming_shutdown(TcpListenerStream::new(grpc_listener), stopped(stop_rx));

    let (grpc, admin) = tokio::join!(grpc_server, admin_server);
    health_task.abort();
    grpc.map_err(std::io::Error::other)?;
    admin
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}
