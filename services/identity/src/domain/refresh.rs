//! Refresh-token chains (CREDENTIALS stream): one chain per login. Each use rotates the
//! token; presenting a token the chain already rotated away from is theft or a replay, and
//! revokes the whole chain, so the thief's and the victim's successors both die. A chain
//! is bound to the user's session version: a raised version ends it.

use tillit_kernel::clock::{from_timestamp, to_timestamp};
use tillit_kernel::{AggregateType, Decider};
use tillit_proto::identity::{RefreshChainRevoked, RefreshChainStarted, RefreshTokenRotated};
use time::OffsetDateTime;

use super::DomainError;

tillit_kernel::event_enum! {
    /// Events of a refresh chain.
    pub enum RefreshEvent {
        /// Begun at a login.
        Started(RefreshChainStarted),
        /// The current token was used and replaced.
        Rotated(RefreshTokenRotated),
        /// Ended; every token of the chain is refused.
        Revoked(RefreshChainRevoked),
    }
}

/// Commands on a chain.
#[derive(Clone, Debug)]
pub enum RefreshCommand {
    /// Begin a chain.
    Start(RefreshChainStarted),
    /// Use the token with hash `presented` and replace it with `next` (valid until `expires_at`).
    Rotate {
        /// Hash of the presented secret.
        presented: String,
        /// Hash of the new secret.
        next: String,
        /// Expiry of the new token.
        expires_at: OffsetDateTime,
        /// The user's current session version, or `None` when the user is deactivated.
        session_version: Option<u64>,
    },
    /// End the chain (logout) with the token with hash `presented`.
    Revoke {
        /// Hash of the presented secret.
        presented: String,
        /// Why the chain ends (logout, reuse, deactivation).
        reason: &'static str,
    },
}

/// What the rules know of a chain.
#[derive(Default, Debug, Clone)]
pub struct RefreshState {
    /// The user.
    pub user_id: String,
    /// Hash of the token that may be used next.
    pub current: Option<String>,
    /// Hashes of tokens already used.
    pub used: Vec<String>,
    /// Expiry of the current token.
    pub expires_at: Option<OffsetDateTime>,
    /// Session version the chain is bound to.
    pub session_version: u64,
    /// Whether it ended.
    pub revoked: bool,
}

/// The refresh-chain decider.
pub struct RefreshChain;

impl Decider for RefreshChain {
    const TYPE: AggregateType = AggregateType::new("refresh_chain");
    type State = RefreshState;
    type Command = RefreshCommand;
    type Event = RefreshEvent;
    type Error = DomainError;

    fn decide(
        state: &RefreshState,
        command: RefreshCommand,
        now: OffsetDateTime,
    ) -> Result<Vec<RefreshEvent>, DomainError> {
        let refused = || DomainError::NotAuthenticated("refresh token not valid".into());
        let revoke = |reason: &str| {
            Ok(vec![RefreshEvent::Revoked(RefreshChainRevoked {
                reason: reason.into(),
            })])
        };
        match command {
            RefreshCommand::Start(_) if state.current.is_some() => {
                Err(DomainError::AlreadyExists("refresh chain"))
            }
            RefreshCommand::Start(started) => Ok(vec![RefreshEvent::Started(started)]),
            _ if state.revoked => Err(refused()),
            RefreshCommand::Rotate { presented, .. } if state.used.contains(&presented) => {
                revoke("reuse of a rotated refresh token")
            }
            RefreshCommand::Rotate { presented, .. }
                if state.current.as_ref() != Some(&presented) =>
            {
                Err(refused())
            }
            RefreshCommand::Rotate {
                session_version, ..
            } if session_version != Some(state.session_version) => revoke("session revoked"),
            RefreshCommand::Rotate { .. } if state.expires_at.is_none_or(|e| now >= e) => Err(
                DomainError::NotAuthenticated("refresh token expired".into()),
            ),
            RefreshCommand::Rotate {
                next, expires_at, ..
            } => Ok(vec![RefreshEvent::Rotated(RefreshTokenRotated {
                token_hash: next,
                expires_at: Some(to_timestamp(expires_at)),
            })]),
            RefreshCommand::Revoke { presented, reason } => {
                if state.current.as_ref() == Some(&presented) || state.used.contains(&presented) {
                    revoke(reason)
                } else {
                    Err(refused())
                }
            }
        }
    }

    fn evolve(mut state: RefreshState, event: &RefreshEvent) -> RefreshState {
        match event {
            RefreshEvent::Started(e) => {
                state.user_id = e.user_id.clone();
                state.current = Some(e.token_hash.clone());
                state.session_version = e.session_version;
                state.expires_at = e.expires_at.as_ref().and_then(from_timestamp);
            }
            RefreshEvent::Rotated(e) => {
                state
                    .used
                    .extend(state.current.replace(e.token_hash.clone()));
                state.expires_at = e.expires_at.as_ref().and_then(from_timestamp);
            }
            RefreshEvent::Revoked(_) => state.revoked = true,
        }
        state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + time::Duration::days(1)
    }

    fn started() -> RefreshState {
        let event = RefreshEvent::Started(RefreshChainStarted {
            user_id: "u".into(),
            token_hash: "t1".into(),
            session_version: 1,
            expires_at: Some(to_timestamp(now() + time::Duration::days(30))),
        });
        RefreshChain::evolve(RefreshState::default(), &event)
    }

    fn rotate(presented: &str, next: &str, sv: Option<u64>) -> RefreshCommand {
        RefreshCommand::Rotate {
            presented: presented.into(),
            next: next.into(),
            expires_at: now() + time::Duration::days(30),
            session_version: sv,
        }
    }

    #[test]
    fn reusing_a_rotated_token_revokes_the_chain_and_its_successor() {
        let events = RefreshChain::decide(&started(), rotate("t1", "t2", Some(1)), now()).unwrap();
        let state = events.iter().fold(started(), RefreshChain::evolve);
        let reuse = RefreshChain::decide(&state, rotate("t1", "t3", Some(1)), now()).unwrap();
        assert!(matches!(&reuse[..], [RefreshEvent::Revoked(_)]));
        let state = reuse.iter().fold(state, RefreshChain::evolve);
        assert!(
            RefreshChain::decide(&state, rotate("t2", "t4", Some(1)), now()).is_err(),
            "the successor is dead too"
        );
    }

    #[test]
    fn a_raised_session_version_or_a_deactivated_user_ends_the_chain() {
        assert!(matches!(
            &RefreshChain::decide(&started(), rotate("t1", "t2", Some(2)), now()).unwrap()[..],
            [RefreshEvent::Revoked(_)]
        ));
        assert!(matches!(
            &RefreshChain::decide(&started(), rotate("t1", "t2", None), now()).unwrap()[..],
            [RefreshEvent::Revoked(_)]
        ));
    }

    #[test]
    fn an_unknown_or_expired_token_is_refused_without_revoking() {
        assert!(RefreshChain::decide(&started(), rotate("nope", "t2", Some(1)), now()).is_err());
        let later = now() + time::Duration::days(31);
        assert!(RefreshChain::decide(&started(), rotate("t1", "t2", Some(1)), later).is_err());
    }
}
