//! Starting identity against a fresh nats-server, clients with tokens, users created the
//! way an admin would, and a second process verifying tokens with `tillit-auth` only.

use std::path::Path;
use std::sync::Arc;

use tillit_auth::view::ViewReader;
use tillit_auth::{IdentityView, Verifier};
use tillit_identity::IdentityConfig;
use tillit_kernel::{
    Clock, EventStore, Projection, ProjectionConfig, ProjectionRunner, StoreConfig,
};
use tillit_proto::common::ConsistencyToken;
use tillit_runtime::Env;
use tillit_testkit::NatsServer;
use tillit_testkit::harness::Service;

pub use tillit_testkit::harness::{
    ADMIN_EMAIL, ADMIN_PASSWORD, ISSUER, Identity, PERSONAL_DATA_KEY, WAIT, bearer, http_get,
    serving, user_password, wait_serving,
};

/// Settings for tests: cheap argon2, a known admin, the given NATS and data directory.
pub fn test_config(nats_url: &str, data_dir: &Path, extra: &[(&str, &str)]) -> IdentityConfig {
    let pairs = tillit_testkit::harness::identity_env(nats_url, data_dir, extra);
    IdentityConfig::from_env(&Env::from_pairs(
        pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    ))
    .expect("test configuration")
}

/// Starts identity on free ports and waits until its health says SERVING.
pub async fn start_identity(config: IdentityConfig) -> Identity {
    tillit_testkit::init_logging();
    Identity(
        Service::start(tillit_identity::SERVICE_NAME, move |g, a, s| {
            tillit_identity::run(config, g, a, s)
        })
        .await,
    )
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
        let identity = start_identity(test_config(&nats.url(), data.path(), extra)).await;
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

impl Forger {
    /// The attacks every verifier must refuse, each a token like `good` (a valid token's
    /// claims) with one thing wrong: alg none, HS256 keyed with the public key, expired,
    /// not yet valid, another audience, another issuer, a lowered session version.
    pub fn attacks(&self, good: &tillit_auth::Claims) -> Vec<(&'static str, String)> {
        use base64::Engine as _;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let none_header = b64.encode(format!(
            r#"{{"alg":"none","typ":"JWT","kid":"{}"}}"#,
            self.kid
        ));
        let payload = b64.encode(serde_json::to_vec(good).expect("json"));
        let mut hs_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        hs_header.kid = Some(self.kid.clone());
        let public_key = self.key.verifying_key().to_bytes();
        let with = |change: &dyn Fn(&mut tillit_auth::Claims)| {
            let mut claims = good.clone();
            change(&mut claims);
            self.sign(&claims)
        };
        vec![
            ("alg none", format!("{none_header}.{payload}.")),
            (
                "HS256 with the public key as secret",
                jsonwebtoken::encode(
                    &hs_header,
                    good,
                    &jsonwebtoken::EncodingKey::from_secret(&public_key),
                )
                .expect("hs256"),
            ),
            (
                "expired",
                with(&|c| {
                    c.exp = now - 60;
                    c.iat = now - 1000;
                    c.nbf = now - 1000;
                }),
            ),
            ("not yet valid", with(&|c| c.nbf = now + 600)),
            (
                "wrong audience",
                with(&|c| c.aud = "another-product".into()),
            ),
            (
                "wrong issuer",
                with(&|c| c.iss = "https://evil.example".into()),
            ),
            ("a lowered session version", with(&|c| c.sv = 0)),
        ]
    }
}
