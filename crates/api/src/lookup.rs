//! Reading what a caller may have just written. A request that carries the consistency
//! token of its write waits until this service's projections have applied it ([`wait`]).
//! One that carries none may still name a resource written a moment ago: [`find`] looks
//! it up, and on a miss waits once until the stream's current end is applied and looks
//! again before answering NOT_FOUND — for missing and invisible resources alike, so
//! neither the answer nor its time tells another tenant anything.

use std::time::Duration;

use tillit_kernel::{KernelError, ProjectionRunner};
use tillit_proto::common::ConsistencyToken;

use crate::Refusal;

/// How this service's handlers wait for their projections.
#[derive(Clone, Copy)]
pub struct Consistency<'a> {
    projections: &'a ProjectionRunner,
    timeout: Duration,
}

impl<'a> Consistency<'a> {
    /// Waits on `projections` for at most `timeout` (UNAVAILABLE after it).
    pub fn new(projections: &'a ProjectionRunner, timeout: Duration) -> Self {
        Self {
            projections,
            timeout,
        }
    }

    /// Waits until the projections have applied the request's token, if it has one.
    ///
    /// # Errors
    /// INVALID_ARGUMENT for a token that cannot be this platform's, UNAVAILABLE when the
    /// projections do not get there in time.
    pub async fn wait(&self, token: Option<&ConsistencyToken>) -> Result<(), KernelError> {
        self.projections.wait_for_request(token, self.timeout).await
    }

    /// Waits until the projections have applied everything `stream` holds now.
    ///
    /// # Errors
    /// UNAVAILABLE when they do not get there in time.
    pub async fn catch_up(&self, stream: &str) -> Result<(), KernelError> {
        self.projections.catch_up(stream, self.timeout).await
    }

    /// The resource `lookup` finds (`None` when it is missing or the caller may not see
    /// it), catching up with `stream` once on a miss.
    ///
    /// # Errors
    /// [`Refusal::NotFound`] naming `what` when it is still not found, or the kernel's
    /// error from the lookup or the catch-up.
    pub async fn find<T>(
        &self,
        stream: &str,
        what: &'static str,
        lookup: impl Fn() -> Result<Option<T>, KernelError>,
    ) -> Result<T, Refusal> {
        if let Some(found) = lookup()? {
            return Ok(found);
        }
        self.catch_up(stream).await?;
        lookup()?.ok_or(Refusal::NotFound(what))
    }
}
