//! A tower layer that authenticates every gRPC call before it reaches a handler.
//!
//! Deny by default: every path needs a valid bearer token except gRPC health, server
//! reflection, and the methods a service declares public (identity's Login, Refresh,
//! ChangePassword). The verified [`Caller`] travels in the request's extensions.

use std::sync::Arc;
use std::task::{Context, Poll};

use tonic::Status;
use tower::{Layer, Service};

use crate::caller::Caller;
use crate::error::AuthError;
use crate::verifier::Verifier;

/// Paths that never need a token.
const ALWAYS_PUBLIC: [&str; 3] = [
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1.ServerReflection/",
    "/grpc.reflection.v1alpha.ServerReflection/",
];

/// Told of every refused call, with why in one word (`missing`, `malformed`, `invalid`,
/// `unknown`, `unavailable`): a security event, never the token itself.
pub type RefusalHook = Arc<dyn Fn(&'static str) + Send + Sync>;

/// The authentication layer.
#[derive(Clone)]
pub struct AuthLayer {
    verifier: Verifier,
    public_methods: Arc<[String]>,
    on_refusal: Option<RefusalHook>,
}

/// Why a call was refused, in one word: the label of the security-event counter.
fn refusal_kind(error: &AuthError, had_header: bool, was_bearer: bool) -> &'static str {
    match error {
        _ if !had_header => "missing",
        _ if !was_bearer => "malformed",
        AuthError::Unknown(_) => "unknown",
        AuthError::Unavailable(_) => "unavailable",
        _ => "invalid",
    }
}

impl AuthLayer {
    /// Authenticates with `verifier`; `public_methods` are full paths such as
    /// `/tillit.identity.v1.IdentityService/Login`.
    pub fn new(verifier: Verifier, public_methods: &[&str]) -> Self {
        Self {
            verifier,
            public_methods: public_methods.iter().map(|m| (*m).to_owned()).collect(),
            on_refusal: None,
        }
    }

    /// The same layer, telling `hook` of every refused call (the service counts them).
    pub fn on_refusal(mut self, hook: RefusalHook) -> Self {
        self.on_refusal = Some(hook);
        self
    }

    fn is_public(&self, path: &str) -> bool {
        ALWAYS_PUBLIC.iter().any(|prefix| path.starts_with(prefix))
            || self.public_methods.iter().any(|m| m == path)
    }

    /// The bearer token of a request.
    fn bearer<B>(&self, request: &http::Request<B>) -> Result<String, AuthError> {
        let header = request
            .headers()
            .get(http::header::AUTHORIZATION)
            .ok_or_else(|| AuthError::Unauthenticated("missing authorization metadata".into()))?;
        header
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(|token| token.trim().to_owned())
            .ok_or_else(|| {
                AuthError::Unauthenticated("authorization is not 'Bearer <token>'".into())
            })
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            layer: self.clone(),
            inner,
        }
    }
}

/// The service the layer wraps around the gRPC routes.
#[derive(Clone)]
pub struct AuthService<S> {
    layer: AuthLayer,
    inner: S,
}

impl<S, B> Service<http::Request<B>> for AuthService<S>
where
    S: Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = std::pin::Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        // The service that was polled ready handles this request; a fresh clone stays behind.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let layer = self.layer.clone();
        Box::pin(async move {
            let path = request.uri().path().to_owned();
            if !layer.is_public(&path) {
                let verified = match layer.bearer(&request) {
                    Ok(token) => layer.verifier.authenticate_fresh(&token).await,
                    Err(error) => Err(error),
                };
                match verified {
                    Ok(caller) => {
                        request.extensions_mut().insert(caller);
                    }
                    Err(error) => {
                        let header = request.headers().get(http::header::AUTHORIZATION);
                        let bearer = header
                            .and_then(|h| h.to_str().ok())
                            .is_some_and(|h| h.starts_with("Bearer "));
                        let kind = refusal_kind(&error, header.is_some(), bearer);
                        if let Some(hook) = &layer.on_refusal {
                            hook(kind);
                        }
                        tracing::debug!(%path, %error, kind, "call refused");
                        return Ok(Status::from(error).into_http());
                    }
                }
            }
            inner.call(request).await
        })
    }
}

/// The caller the layer verified; UNAUTHENTICATED when there is none (the layer is
/// missing or the method was declared public by mistake).
pub fn caller<T>(request: &tonic::Request<T>) -> Result<Caller, Status> {
    request
        .extensions()
        .get::<Caller>()
        .cloned()
        .ok_or_else(|| Status::unauthenticated("no authenticated caller"))
}
