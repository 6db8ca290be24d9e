//! Consistency-token waits: read-your-writes across services without sleeps.

use crate::error::Reason;
use std::time::Duration;

use tillit_proto::common::ConsistencyToken;

use super::ProjectionRunner;
use crate::error::KernelError;
use crate::ids::StreamName;

/// Most positions one consistency token may hold (one per stream is all a command writes).
pub const MAX_POSITIONS: usize = 16;

impl ProjectionRunner {
    /// [`ProjectionRunner::wait_for`] for a request's optional token: without one (or with
    /// no positions) there is nothing to wait for.
    pub async fn wait_for_request(
        &self,
        token: Option<&ConsistencyToken>,
        timeout: Duration,
    ) -> Result<(), KernelError> {
        match token {
            Some(token) => self.wait_for(token, timeout).await,
            None => Ok(()),
        }
    }

    /// Resolves once every position of `token` on a stream this runner projects has been
    /// applied. Positions on other streams are checked to exist but not waited for. A
    /// position on a stream that does not exist or beyond its stream's end is
    /// INVALID_ARGUMENT; a wait longer than `timeout` is UNAVAILABLE.
    pub async fn wait_for(
        &self,
        token: &ConsistencyToken,
        timeout: Duration,
    ) -> Result<(), KernelError> {
        let deadline = tokio::time::Instant::now() + timeout;
        if token.positions.len() > MAX_POSITIONS {
            return Err(KernelError::refused(
                "consistency.positions",
                Reason::TooMany,
                format!("at most {MAX_POSITIONS} positions"),
            ));
        }
        // The whole token is checked before anything of it reaches NATS.
        for (index, position) in token.positions.iter().enumerate() {
            let field = |name: &str| format!("consistency.positions[{index}].{name}");
            StreamName::parse(&position.stream, &field("stream"))?;
            if position.sequence == 0 {
                return Err(KernelError::refused(
                    &field("sequence"),
                    Reason::OutOfRange,
                    "must be at least 1",
                ));
            }
        }
        for (index, position) in token.positions.iter().enumerate() {
            let field = |name: &str| format!("consistency.positions[{index}].{name}");
            let progress = self.inner.streams.get(&position.stream);
            if progress.is_some_and(|p| *p.applied.borrow() >= position.sequence) {
                continue;
            }
            // Not applied yet (or not ours): the position must exist in the log.
            let state = self
                .inner
                .store
                .stream_state(&position.stream)
                .await?
                .ok_or_else(|| {
                    KernelError::refused(
                        &field("stream"),
                        Reason::UnknownReference,
                        "no such stream",
                    )
                })?;
            if position.sequence > state.last_sequence {
                // Never the stream's length: any caller, customers included, would read it.
                return Err(KernelError::refused(
                    &field("sequence"),
                    Reason::OutOfRange,
                    "beyond the end of its stream",
                ));
            }
            let Some(progress) = progress else { continue };
            let mut applied = progress.applied.subscribe();
            let reached = tokio::time::timeout_at(
                deadline,
                applied.wait_for(|applied| *applied >= position.sequence),
            )
            .await;
            match reached {
                Ok(Ok(_)) => {}
                Ok(Err(_)) => {
                    return Err(KernelError::Unavailable("the projection stopped".into()));
                }
                Err(_) => {
                    return Err(KernelError::Unavailable(format!(
                        "projection of {} did not reach sequence {} within {timeout:?}",
                        position.stream, position.sequence
                    )));
                }
            }
        }
        Ok(())
    }
}

impl ProjectionRunner {
    /// Waits until this runner has applied everything `stream` held when called. For a
    /// lookup that missed: the thing may have been written a moment ago by a caller that
    /// did not pass its consistency token, so look again once caught up before answering
    /// NOT_FOUND.
    pub async fn catch_up(&self, stream: &str, timeout: Duration) -> Result<(), KernelError> {
        let Some(state) = self.inner.store.stream_state(stream).await? else {
            return Ok(());
        };
        if state.last_sequence == 0 {
            return Ok(());
        }
        let token = ConsistencyToken {
            positions: vec![tillit_proto::common::Position {
                stream: stream.to_owned(),
                sequence: state.last_sequence,
            }],
        };
        self.wait_for(&token, timeout).await
    }
}
