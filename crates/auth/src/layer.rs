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

/// The authentication layer.
#[derive(Clone)]
pub struct AuthLayer {
    verifier: Verifier,
    public_methods: Arc<[String]>,
}

impl AuthLayer {
    /// Authenticates with `verifier`; `public_methods` are full paths such as
    /// `/tillit.identity.v1.IdentityService/Login`.
    pub fn new(verifier: Verifier, public_methods: &[&str]) -> Self {
        Self {
            verifier,
            public_methods: public_methods.iter().map(|m| (*m).to_owned()).collect(),
        }
    }

    fn is_public(&self, path: &str) -> bool {
        ALWAYS_PUBLIC.iter().any(|prefix| path.starts_with(prefix))
            || self.public_methods.iter().any(|m| m == path)
    }

    fn authenticate<B>(&self, request: &http::Request<B>) -> Result<Caller, AuthError> {
        let header = request
            .headers()
            .get(http::header::AUTHORIZATION)
            .ok_or_else(|| AuthError::Unauthenticated("missing authorization metadata".into()))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or_else(|| {
                AuthError::Unauthenticated("authorization is not 'Bearer <token>'".into())
            })?;
        self.verifier.authenticate(token.trim())
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
    S: Service<http::Request<B>, Response = http::Response<tonic::body::Body>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future =
        futures::future::Either<S::Future, std::future::Ready<Result<S::Response, S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let path = request.uri().path();
        if !self.layer.is_public(path) {
            match self.layer.authenticate(&request) {
                Ok(caller) => {
                    request.extensions_mut().insert(caller);
                }
                Err(error) => {
                    tracing::debug!(%path, %error, "call refused");
                    let response = Status::from(error).into_http();
                    return futures::future::Either::Right(std::future::ready(Ok(response)));
                }
            }
        }
        futures::future::Either::Left(self.inner.call(request))
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
