//! The commands, one module per service, and what they share: the session and the token.

pub mod assets;
pub mod data;
pub mod demo;
pub mod identity;
pub mod incidents;
pub mod reporting;

use tillit_proto::identity::RefreshRequest;
use tillit_proto::identity::identity_service_client::IdentityServiceClient;
use tonic::transport::Channel;

use crate::failure::Failure;
use crate::session::{Service, Session, Tokens};

/// What every command runs with.
pub struct Context {
    /// Addresses and the token cache.
    pub session: Session,
    /// `--json`.
    pub json: bool,
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl Context {
    /// A context.
    pub fn new(session: Session, json: bool) -> Self {
        Self { session, json }
    }

    /// A channel to `service`.
    pub async fn channel(&self, service: Service) -> Result<Channel, Failure> {
        self.session.channel(service).await
    }

    /// An identity client.
    pub async fn identity(&self) -> Result<IdentityServiceClient<Channel>, Failure> {
        Ok(IdentityServiceClient::new(
            self.channel(Service::Identity).await?,
        ))
    }

    /// The cached access token, refreshed first when it is about to expire.
    pub async fn token(&self) -> Result<String, Failure> {
        let tokens = self
            .session
            .load()
            .ok_or_else(|| Failure::Auth("not logged in (run `tillit login`)".into()))?;
        if tokens.expires_at > now() + 30 {
            return Ok(tokens.access_token);
        }
        if tokens.refresh_token.is_empty() {
            return Err(Failure::Auth(
                "the service-account token has expired (run `tillit login` again)".into(),
            ));
        }
        let refreshed = self
            .identity()
            .await?
            .refresh(RefreshRequest {
                refresh_token: tokens.refresh_token,
                consistency: None,
            })
            .await
            .map_err(|status| match Failure::from(status) {
                Failure::Unavailable(m) => Failure::Unavailable(m),
                other => Failure::Auth(format!(
                    "the login has expired ({}); run `tillit login`",
                    other.message()
                )),
            })?
            .into_inner();
        self.session.save(&Tokens {
            access_token: refreshed.access_token.clone(),
            refresh_token: refreshed.refresh_token,
            expires_at: now() + i64::from(refreshed.expires_in),
        })?;
        Ok(refreshed.access_token)
    }

    /// `body` as a request carrying the caller's token.
    pub async fn request<T>(&self, body: T) -> Result<tonic::Request<T>, Failure> {
        let token = self.token().await?;
        let mut request = tonic::Request::new(body);
        let value = format!("Bearer {token}")
            .parse()
            .map_err(|_| Failure::Auth("the cached token is not ASCII; log in again".into()))?;
        request.metadata_mut().insert("authorization", value);
        Ok(request)
    }
}

/// A timestamp from an RFC 3339 argument, naming the flag when it is not one.
/// The value a flag names by its word (`--severity high`); an empty word is none.
pub fn word<V: tillit_proto::Vocabulary>(flag: &str, raw: &str) -> Result<Option<V>, Failure> {
    match raw.trim() {
        "" => Ok(None),
        raw => V::from_word(&raw.to_lowercase()).map(Some).ok_or_else(|| {
            Failure::Usage(format!("{flag}: {raw:?} is not one of {}", V::listing()))
        }),
    }
}

/// The wire value of a flag's word: 0 (unspecified) when empty.
pub fn word_value<V: tillit_proto::Vocabulary>(flag: &str, raw: &str) -> Result<i32, Failure> {
    Ok(word::<V>(flag, raw)?.map_or(0, Into::into))
}

pub fn timestamp(flag: &str, raw: &str) -> Result<prost_types::Timestamp, Failure> {
    let at = time::OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
        .map_err(|e| Failure::Usage(format!("{flag}: {raw:?} is not an RFC 3339 time ({e})")))?;
    Ok(prost_types::Timestamp {
        seconds: at.unix_timestamp(),
        nanos: i32::try_from(at.nanosecond()).unwrap_or(0),
    })
}
