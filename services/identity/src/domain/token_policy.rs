//! The access-token policy (IDENTITY, tenant `internal`, id `access-tokens`): the longest
//! lifetime identity issues. Every service's identity view reads it and refuses a token
//! that claims to live longer, so a forged or misissued long-lived token is useless even
//! when validly signed.

use tillit_kernel::{AggregateId, AggregateType, Decider};
use tillit_proto::identity::AccessTokenLifetimeSet;
use time::OffsetDateTime;

use super::DomainError;

tillit_kernel::event_enum! {
    /// Events of the token policy.
    pub enum TokenPolicyEvent {
        /// The longest access-token lifetime.
        LifetimeSet(AccessTokenLifetimeSet),
    }
}

/// The one policy aggregate's id.
pub fn policy_id() -> AggregateId {
    AggregateId::parse("access-tokens", "token_policy").expect("a valid id")
}

/// Commands on the policy.
#[derive(Clone, Debug)]
pub enum TokenPolicyCommand {
    /// State the configured lifetime (no change when it is already the stated one).
    SetLifetime {
        /// The longest access-token lifetime identity issues, in seconds.
        max_seconds: u64,
    },
}

/// What the rules know of the policy.
#[derive(Default, Debug, Clone)]
pub struct TokenPolicyState {
    /// The lifetime last stated.
    pub max_seconds: Option<u64>,
}

/// The token-policy decider.
pub struct TokenPolicy;

impl Decider for TokenPolicy {
    const TYPE: AggregateType = AggregateType::new("token_policy");
    type State = TokenPolicyState;
    type Command = TokenPolicyCommand;
    type Event = TokenPolicyEvent;
    type Error = DomainError;

    fn decide(
        state: &TokenPolicyState,
        command: TokenPolicyCommand,
        _now: OffsetDateTime,
    ) -> Result<Vec<TokenPolicyEvent>, DomainError> {
        let TokenPolicyCommand::SetLifetime { max_seconds } = command;
        if state.max_seconds == Some(max_seconds) {
            return Ok(Vec::new());
        }
        Ok(vec![TokenPolicyEvent::LifetimeSet(
            AccessTokenLifetimeSet { max_seconds },
        )])
    }

    fn evolve(mut state: TokenPolicyState, event: &TokenPolicyEvent) -> TokenPolicyState {
        let TokenPolicyEvent::LifetimeSet(set) = event;
        state.max_seconds = Some(set.max_seconds);
        state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lifetime_is_stated_once_and_again_only_when_it_changes() {
        let set = |max_seconds| TokenPolicyCommand::SetLifetime { max_seconds };
        let now = OffsetDateTime::UNIX_EPOCH;
        let events = TokenPolicy::decide(&TokenPolicyState::default(), set(900), now).unwrap();
        let state = events
            .iter()
            .fold(TokenPolicyState::default(), TokenPolicy::evolve);
        assert!(
            TokenPolicy::decide(&state, set(900), now)
                .unwrap()
                .is_empty()
        );
        assert_eq!(TokenPolicy::decide(&state, set(600), now).unwrap().len(), 1);
    }
}
