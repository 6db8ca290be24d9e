//! Running a service in-process for a test or a benchmark, without knowing which service
//! it is: [`Service::start`] takes the service's `run(grpc, admin, shutdown)` as a closure,
//! binds free ports and waits until gRPC health says SERVING. [`Identity`] adds what every
//! caller of identity needs (log in, the admin's token, a user made the way an admin
//! would). The settings every test gives a service are in [`service_env`] and
//! [`identity_env`]; the caller turns them into its service's configuration.

use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::time::Duration;

use tillit_proto::Vocabulary as _;
use tillit_proto::common::ConsistencyToken;
use tillit_proto::identity::identity_service_client::IdentityServiceClient;
use tillit_proto::identity::{
    ChangePasswordRequest, CreateUserRequest, LoginRequest, LoginResponse, User,
};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;

/// The bootstrap admin every test identity creates.
pub const ADMIN_EMAIL: &str = "admin@tillit.test";
/// The bootstrap admin's password.
pub const ADMIN_PASSWORD: &str = "admin-password-1234";
/// The token issuer every test service is configured with.
pub const ISSUER: &str = "http://identity.tillit.test";
/// How long a test waits for something that should happen soon.
pub const WAIT: Duration = Duration::from_secs(30);

/// The shutdown signal handed to a service's `run`.
pub type Shutdown = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A service running in-process on free ports; stopped on drop.
pub struct Service {
    /// gRPC address.
    pub grpc: SocketAddr,
    /// Admin HTTP address (`/livez`, `/readyz`, `/metrics`).
    pub admin: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), String>>>,
}

impl Service {
    /// Runs `run(grpc, admin, shutdown)` on free ports and waits until the gRPC health of
    /// `name` says SERVING.
    ///
    /// # Panics
    /// When the ports cannot be bound or the service does not become SERVING in [`WAIT`].
    pub async fn start<F, Fut, E>(name: &str, run: F) -> Self
    where
        F: FnOnce(TcpListener, TcpListener, Shutdown) -> Fut,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: std::fmt::Display,
    {
        let service = Self::launch(run).await;
        wait_serving(service.grpc, name).await;
        service
    }

    /// Runs an HTTP process (the portal) `run(http, admin, shutdown)` on free ports and
    /// waits until its admin port answers `/livez`; `grpc` is then its HTTP address.
    ///
    /// # Panics
    /// When the ports cannot be bound or `/livez` does not answer in [`WAIT`].
    pub async fn start_http<F, Fut, E>(run: F) -> Self
    where
        F: FnOnce(TcpListener, TcpListener, Shutdown) -> Fut,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: std::fmt::Display,
    {
        let service = Self::launch(run).await;
        let admin = service.admin;
        let live = crate::eventually(WAIT, || async move {
            http_get(admin, "/livez").await.0.contains("200")
        })
        .await;
        assert!(live, "the process at {admin} did not answer /livez");
        service
    }

    async fn launch<F, Fut, E>(run: F) -> Self
    where
        F: FnOnce(TcpListener, TcpListener, Shutdown) -> Fut,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: std::fmt::Display,
    {
        let grpc_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let admin_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let grpc = grpc_listener.local_addr().expect("addr");
        let admin = admin_listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let running = run(
            grpc_listener,
            admin_listener,
            Box::pin(async move {
                let _ = stopped.await;
            }),
        );
        let task = tokio::spawn(async move { running.await.map_err(|e| e.to_string()) });
        Self {
            grpc,
            admin,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// A channel to its gRPC port.
    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.grpc))
            .expect("url")
            .connect()
            .await
            .expect("connect")
    }

    /// Raw GET on the admin port; answers the status line and body.
    pub async fn admin_get(&self, path: &str) -> (String, String) {
        http_get(self.admin, path).await
    }

    /// Stops it and waits until it has let go of its files.
    ///
    /// # Panics
    /// When the service ended with an error.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .expect("service task")
                .expect("service ran cleanly");
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The identity service, with the calls its callers make.
pub struct Identity(pub Service);

impl std::ops::Deref for Identity {
    type Target = Service;
    fn deref(&self) -> &Service {
        &self.0
    }
}

impl std::ops::DerefMut for Identity {
    fn deref_mut(&mut self) -> &mut Service {
        &mut self.0
    }
}

impl Identity {
    /// A gRPC client.
    pub async fn client(&self) -> IdentityServiceClient<Channel> {
        IdentityServiceClient::new(self.channel().await)
    }

    /// Logs in.
    pub async fn login(&self, email: &str, password: &str) -> Result<LoginResponse, tonic::Status> {
        login_at(self.channel().await, email, password).await
    }

    /// The bootstrap admin's access token.
    pub async fn admin_token(&self) -> String {
        self.login(ADMIN_EMAIL, ADMIN_PASSWORD)
            .await
            .expect("admin login")
            .access_token
    }

    /// Creates a user as the admin, changes the temporary password to
    /// [`user_password`], logs in; answers the user, its login and the creation's token.
    pub async fn create_user(
        &self,
        admin_token: &str,
        tenant: &str,
        email: &str,
        roles: &[&str],
    ) -> (User, LoginResponse, ConsistencyToken) {
        create_user_at(self.channel().await, admin_token, tenant, email, roles).await
    }
}

/// Logs in at the identity service behind `channel`.
pub async fn login_at(
    channel: Channel,
    email: &str,
    password: &str,
) -> Result<LoginResponse, tonic::Status> {
    IdentityServiceClient::new(channel)
        .login(LoginRequest {
            email: email.into(),
            password: password.into(),
            consistency: None,
        })
        .await
        .map(tonic::Response::into_inner)
}

/// [`Identity::create_user`] at the identity service behind `channel` (a process).
pub async fn create_user_at(
    channel: Channel,
    admin_token: &str,
    tenant: &str,
    email: &str,
    roles: &[&str],
) -> (User, LoginResponse, ConsistencyToken) {
    let mut client = IdentityServiceClient::new(channel.clone());
    let created = client
        .create_user(bearer(
            admin_token,
            CreateUserRequest {
                tenant_id: tenant.into(),
                email: email.into(),
                display_name: email.split('@').next().unwrap_or("user").into(),
                roles: roles
                    .iter()
                    .map(|r| tillit_proto::identity::Role::read(r))
                    .collect(),
                temporary_password: "temporary-password-1".into(),
                consistency: None,
            },
        ))
        .await
        .expect("create user")
        .into_inner();
    client
        .change_password(ChangePasswordRequest {
            email: email.into(),
            current_password: "temporary-password-1".into(),
            new_password: user_password(email),
            consistency: None,
        })
        .await
        .expect("change the temporary password");
    let login = login_at(channel, email, &user_password(email))
        .await
        .expect("user login");
    (
        created.user.expect("user"),
        login,
        created.consistency.unwrap_or_default(),
    )
}

/// The personal-data secret of every test platform (64 hex digits).
pub const PERSONAL_DATA_KEY: &str =
    "7e57a11ce5ec7e7000000000000000000000000000000000000000000000beef";

/// The settings every service gets in a test: the NATS, its data directory, the issuer,
/// the company, plus `extra` (which win, being later).
pub fn service_env(
    nats_url: &str,
    data_dir: &Path,
    extra: &[(&str, &str)],
) -> Vec<(String, String)> {
    let company = [
        ("TILLIT_COMPANY_NAME", "Tillit Test AB"),
        ("TILLIT_DPO_CONTACT", "dpo@tillit.test"),
    ];
    with_base(nats_url, data_dir, company.iter().chain(extra))
}

/// Identity's settings in a test: cheap argon2, the known admin, a short NATS timeout,
/// plus `extra`.
pub fn identity_env(
    nats_url: &str,
    data_dir: &Path,
    extra: &[(&str, &str)],
) -> Vec<(String, String)> {
    let identity = [
        ("TILLIT_ARGON2_MEMORY_KIB", "1024"),
        ("TILLIT_ARGON2_ITERATIONS", "1"),
        ("TILLIT_BOOTSTRAP_ADMIN_EMAIL", ADMIN_EMAIL),
        ("TILLIT_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ("TILLIT_NATS_TIMEOUT_MS", "3000"),
    ];
    with_base(nats_url, data_dir, identity.iter().chain(extra))
}

/// The NATS, the data directory and the issuer, then `rest` in order.
fn with_base<'a>(
    nats_url: &str,
    data_dir: &Path,
    rest: impl Iterator<Item = &'a (&'a str, &'a str)>,
) -> Vec<(String, String)> {
    let mut pairs = vec![
        ("TILLIT_NATS_URL".to_owned(), nats_url.to_owned()),
        ("TILLIT_DATA_DIR".to_owned(), data_dir.display().to_string()),
        ("TILLIT_ISSUER".to_owned(), ISSUER.to_owned()),
        // One personal-data secret for every service of a test platform, as in production.
        (
            "TILLIT_PERSONAL_DATA_KEY".to_owned(),
            PERSONAL_DATA_KEY.to_owned(),
        ),
    ];
    pairs.extend(rest.map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    pairs
}

/// Waits until the gRPC server at `grpc` reports `service` SERVING.
///
/// # Panics
/// When it does not within [`WAIT`].
pub async fn wait_serving(grpc: SocketAddr, service: &str) {
    assert!(
        serving(grpc, service).await,
        "{service} did not become SERVING"
    );
}

/// Whether the gRPC server at `grpc` reports `service` SERVING within [`WAIT`].
pub async fn serving(grpc: SocketAddr, service: &str) -> bool {
    use tonic_health::pb::health_check_response::ServingStatus;
    let url = format!("http://{grpc}");
    crate::eventually(WAIT, || {
        let url = url.clone();
        async move {
            let Ok(channel) = Channel::from_shared(url).expect("url").connect().await else {
                return false;
            };
            let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
            let request = tonic_health::pb::HealthCheckRequest { service: service.into() };
            matches!(health.check(request).await, Ok(r) if r.get_ref().status == ServingStatus::Serving as i32)
        }
    })
    .await
}

/// A raw HTTP/1.0 GET; answers the status line and body.
///
/// # Panics
/// When nothing listens at `addr`.
pub async fn http_get(addr: SocketAddr, path: &str) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("admin port");
    let request = format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (
        head.lines().next().unwrap_or_default().to_owned(),
        body.to_owned(),
    )
}

/// The password a test user changes to.
pub fn user_password(email: &str) -> String {
    format!("{email}-long-password")
}

/// A request with `authorization: Bearer <token>`.
///
/// # Panics
/// When the token is not ASCII.
pub fn bearer<T>(token: &str, body: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(body);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("ascii token"),
    );
    request
}
