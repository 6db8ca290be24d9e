//! Starting identity against a fresh nats-server, clients with tokens, users created the
//! way an admin would, and a second process verifying tokens with `tillit-auth` only.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tillit_auth::view::ViewReader;
use tillit_auth::{IdentityView, Verifier};
use tillit_identity::IdentityConfig;
use tillit_kernel::{
    Clock, EventStore, Projection, ProjectionConfig, ProjectionRunner, StoreConfig,
};
use tillit_proto::common::ConsistencyToken;
use tillit_proto::identity::identity_service_client::IdentityServiceClient;
use tillit_proto::identity::{
    ChangePasswordRequest, CreateUserRequest, LoginRequest, LoginResponse, User,
};
use tillit_runtime::Env;
use tillit_testkit::NatsServer;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;

pub const ADMIN_EMAIL: &str = "admin@tillit.test";
pub const ADMIN_PASSWORD: &str = "admin-password-1234";
pub const ISSUER: &str = "http://identity.tillit.test";
pub const WAIT: Duration = Duration::from_secs(30);

/// Waits until the gRPC server at `grpc` reports `service` SERVING.
pub async fn wait_serving(grpc: SocketAddr, service: &str) {
    let url = format!("http://{grpc}");
    let serving = tillit_testkit::eventually(WAIT, || {
        let url = url.clone();
        async move {
            let Ok(channel) = Channel::from_shared(url).expect("url").connect().await else {
                return false;
            };
            let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
            let request = tonic_health::pb::HealthCheckRequest { service: service.into() };
            matches!(health.check(request).await, Ok(r) if r.get_ref().status == tonic_health::pb::health_check_response::ServingStatus::Serving as i32)
        }
    })
    .await;
    assert!(serving, "{service} did not become SERVING");
}

/// A running identity service.
pub struct Identity {
    pub grpc: SocketAddr,
    pub admin: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), String>>>,
}

/// Settings for tests: cheap argon2, a known admin, the given NATS and data directory.
pub fn test_config(nats_url: &str, data_dir: &Path, extra: &[(&str, &str)]) -> IdentityConfig {
    let data = data_dir.display().to_string();
    let mut pairs = vec![
        ("TILLIT_NATS_URL", nats_url),
        ("TILLIT_DATA_DIR", data.as_str()),
        ("TILLIT_ISSUER", ISSUER),
        ("TILLIT_ARGON2_MEMORY_KIB", "1024"),
        ("TILLIT_ARGON2_ITERATIONS", "1"),
        ("TILLIT_BOOTSTRAP_ADMIN_EMAIL", ADMIN_EMAIL),
        ("TILLIT_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ("TILLIT_NATS_TIMEOUT_MS", "3000"),
    ];
    pairs.extend_from_slice(extra);
    IdentityConfig::from_env(&Env::from_pairs(pairs)).expect("test configuration")
}

impl Identity {
    /// Starts identity on free ports and waits until its health says SERVING.
    pub async fn start(config: IdentityConfig) -> Self {
        tillit_testkit::init_logging();
        let grpc_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let admin_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let grpc = grpc_listener.local_addr().expect("addr");
        let admin = admin_listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(tillit_identity::run(
            config.clone(),
            grpc_listener,
            admin_listener,
            async move {
                let _ = stopped.await;
            },
        ));
        let server = Self {
            grpc,
            admin,
            stop: Some(stop),
            task: Some(task),
        };
        wait_serving(grpc, tillit_identity::SERVICE_NAME).await;
        server
    }

    /// Stops it and waits until it has let go of its files.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .expect("identity task")
                .expect("identity ran cleanly");
        }
    }

    /// A gRPC client.
    pub async fn client(&self) -> IdentityServiceClient<Channel> {
        IdentityServiceClient::connect(format!("http://{}", self.grpc))
            .await
            .expect("connect")
    }

    /// A gRPC channel.
    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.grpc))
            .expect("url")
            .connect()
            .await
            .expect("connect")
    }

    /// Logs in.
    pub async fn login(&self, email: &str, password: &str) -> Result<LoginResponse, tonic::Status> {
        self.client()
            .await
            .login(LoginRequest {
                email: email.into(),
                password: password.into(),
                consistency: None,
            })
            .await
            .map(tonic::Response::into_inner)
    }

    /// The admin's access token.
    pub async fn admin_token(&self) -> String {
        self.login(ADMIN_EMAIL, ADMIN_PASSWORD)
            .await
            .expect("admin login")
            .access_token
    }

    /// Creates a user as the admin, changes the temporary password, logs in; answers the
    /// user and its login.
    pub async fn create_user(
        &self,
        admin_token: &str,
        tenant: &str,
        email: &str,
        roles: &[&str],
    ) -> (User, LoginResponse, ConsistencyToken) {
        let mut client = self.client().await;
        let created = client
            .create_user(bearer(
                admin_token,
                CreateUserRequest {
                    tenant_id: tenant.into(),
                    email: email.into(),
                    display_name: email.split('@').next().unwrap_or("user").into(),
                    roles: roles.iter().map(|r| (*r).to_owned()).collect(),
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
        let login = self
            .login(email, &user_password(email))
            .await
            .expect("user login");
        (
            created.user.expect("user"),
            login,
            created.consistency.unwrap_or_default(),
        )
    }

    /// Raw GET on the admin port; answers status line and body.
    pub async fn admin_get(&self, path: &str) -> (String, String) {
        http_get(self.admin, path).await
    }
}

/// A raw HTTP/1.0 GET; answers the status line and body.
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

impl Drop for Identity {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The password a test user changes to.
pub fn user_password(email: &str) -> String {
    format!("{email}-long-password")
}

/// A request with `authorization: Bearer <token>`.
pub fn bearer<T>(token: &str, body: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(body);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("ascii token"),
    );
    request
}

/// A fresh nats-server, data directory, and identity on them.
pub struct Stack {
    pub nats: NatsServer,
    pub data: tempfile::TempDir,
    pub identity: Identity,
}

impl Stack {
    pub async fn start() -> Self {
        Self::with(&[]).await
    }

    pub async fn with(extra: &[(&str, &str)]) -> Self {
        let nats = NatsServer::start();
        let data = tempfile::tempdir().expect("data dir");
        let identity = Identity::start(test_config(&nats.url(), data.path(), extra)).await;
        Self {
            nats,
            data,
            identity,
        }
    }

    /// A second process embedding only `tillit-auth`: its own identity view over the
    /// IDENTITY stream, in its own redb file.
    pub async fn second_process(&self) -> SecondProcess {
        let store = EventStore::connect(&self.nats.url(), StoreConfig::default(), Clock::system())
            .await
            .expect("connect");
        let dir = tempfile::tempdir().expect("dir");
        let projections: Vec<Arc<dyn Projection>> = vec![Arc::new(IdentityView)];
        let runner = ProjectionRunner::start(
            &dir.path().join("other.redb"),
            store,
            projections,
            ProjectionConfig::default(),
        )
        .await
        .expect("second process projections");
        assert!(runner.wait_ready(WAIT).await);
        let verifier = Verifier::new(ViewReader::new(runner.database().clone()), ISSUER);
        SecondProcess {
            runner,
            verifier,
            _dir: dir,
        }
    }
}

/// Another service's view of identity.
pub struct SecondProcess {
    pub runner: ProjectionRunner,
    pub verifier: Verifier,
    _dir: tempfile::TempDir,
}

impl SecondProcess {
    /// Waits until this process has applied `token`.
    pub async fn caught_up(&self, token: &ConsistencyToken) {
        self.runner
            .wait_for(token, WAIT)
            .await
            .expect("second process caught up");
    }
}

/// How many messages a stream holds.
pub async fn stream_messages(nats: &NatsServer, stream: &str) -> u64 {
    let js = async_nats::jetstream::new(nats.client().await);
    let mut stream = js.get_stream(stream).await.expect("stream");
    stream.info().await.expect("info").state.messages
}

/// The claims of a token, read without verifying it.
pub fn claims_of(token: &str) -> tillit_auth::Claims {
    use base64::Engine as _;
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.split('.').nth(1).expect("payload"))
        .expect("base64");
    serde_json::from_slice(&payload).expect("claims")
}

/// Signs tokens with a key of the tests' choosing: identity's own dev key file, so only
/// the one property under test is wrong.
pub struct Forger {
    pub key: ed25519_dalek::SigningKey,
    pub kid: String,
}

impl Forger {
    /// The key in a PKCS#8 PEM file, under `kid`.
    pub fn from_file(path: &std::path::Path, kid: &str) -> Self {
        use ed25519_dalek::pkcs8::DecodePrivateKey as _;
        let pem = std::fs::read_to_string(path).expect("dev key file");
        Self {
            key: ed25519_dalek::SigningKey::from_pkcs8_pem(&pem).expect("pkcs8"),
            kid: kid.into(),
        }
    }

    /// The forger of identity's dev key in `data_dir`, with the kid of `token`.
    pub fn of_identity(data_dir: &Path, token: &str) -> Self {
        let kid = jsonwebtoken::decode_header(token)
            .expect("header")
            .kid
            .expect("kid");
        Self::from_file(&data_dir.join("identity-signing-key.pem"), &kid)
    }

    /// A signed token with these claims.
    pub fn sign(&self, claims: &tillit_auth::Claims) -> String {
        use ed25519_dalek::pkcs8::EncodePrivateKey as _;
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        let der = self.key.to_pkcs8_der().expect("der");
        jsonwebtoken::encode(
            &header,
            claims,
            &jsonwebtoken::EncodingKey::from_ed_der(der.as_bytes()),
        )
        .expect("sign")
    }
}
