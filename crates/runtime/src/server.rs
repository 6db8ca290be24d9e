//! The gRPC and admin HTTP servers of one service, run together until shutdown.

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use axum::serve::ListenerExt as _;
use tillit_auth::AuthLayer;
use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic::transport::server::TcpIncoming;
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
    /// Feeds `/readyz`, `tillit_ready` and the health status.
    pub ready: Readiness,
    /// Served at `/metrics`.
    pub metrics: crate::Metrics,
}

/// The connections `listener` accepts, each with `TCP_NODELAY` set: without it every
/// answer spanning more than one TCP segment waits for the client's delayed ACK (about
/// 40 ms on Linux), which made a small list page 50 times slower.
pub fn grpc_incoming(listener: TcpListener) -> TcpIncoming {
    TcpIncoming::from(listener).with_nodelay(Some(true))
}

/// Sets `TCP_NODELAY` on an accepted HTTP connection (see [`grpc_incoming`]).
fn no_delay(stream: &mut tokio::net::TcpStream) {
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%error, "TCP_NODELAY could not be set");
    }
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

    let admin = admin_router(parts.admin, &parts.metrics, parts.ready.clone());
    let admin_server = axum::serve(admin_listener.tap_io(no_delay), admin)
        .with_graceful_shutdown(stopped(stop_rx.clone()));

    let grpc_server = tonic::transport::Server::builder()
        // Outermost, so refused calls (unauthenticated ones too) are traced and counted.
        .layer(crate::telemetry::grpc::ServerLayer::new(
            parts.metrics.rpc().clone(),
        ))
        .layer(parts.auth)
        .add_routes(parts.routes)
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .serve_with_incoming_shutdown(grpc_incoming(grpc_listener), stopped(stop_rx));

    let (grpc, admin) = tokio::join!(grpc_server, admin_server);
    health_task.abort();
    grpc.map_err(std::io::Error::other)?;
    admin
}

/// The admin HTTP routes of every process: `extra`, `/metrics`, `/livez` and `/readyz`.
pub fn admin_router(extra: Router, metrics: &crate::Metrics, ready: Readiness) -> Router {
    let metrics = metrics.router(ready.clone());
    extra
        .merge(metrics)
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
        )
}

/// Serves the HTTP routes `app` on `listener` and the admin routes on `admin_listener`
/// until `shutdown` resolves, then lets in-flight requests finish: the portal's shape.
pub async fn serve_http(
    app: Router,
    admin: Router,
    listener: TcpListener,
    admin_listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let app_server = axum::serve(listener.tap_io(no_delay), app)
        .with_graceful_shutdown(stopped(stop_rx.clone()));
    let admin_server = axum::serve(admin_listener.tap_io(no_delay), admin)
        .with_graceful_shutdown(stopped(stop_rx));
    let (app, admin) = tokio::join!(app_server, admin_server);
    app?;
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

#[cfg(test)]
mod tests {
    use tokio_stream::StreamExt as _;

    #[tokio::test]
    async fn every_accepted_grpc_connection_has_tcp_nodelay_set() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut incoming = super::grpc_incoming(listener);
        let client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let accepted = incoming
            .next()
            .await
            .expect("a connection")
            .expect("accepted");
        assert!(
            accepted.nodelay().unwrap(),
            "the server side of the connection"
        );
        drop(client);
    }
}
