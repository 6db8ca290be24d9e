//! Public signing keys (IDENTITY, under tenant `internal`, id = kid). A key is activated
//! when a replica first signs with it and retired by an admin; a retired key never
//! becomes active again.

use tillit_kernel::clock::to_timestamp;
use tillit_kernel::{AggregateType, Decider};
use tillit_proto::identity::{SigningKeyActivated, SigningKeyRetired};
use time::OffsetDateTime;

use super::DomainError;

tillit_kernel::event_enum! {
    /// Events of a signing key.
    pub enum SigningKeyEvent {
        /// Tokens it signs are accepted.
        Activated(SigningKeyActivated),
        /// Tokens it signed are refused.
        Retired(SigningKeyRetired),
    }
}

/// Commands on a signing key.
#[derive(Clone, Debug)]
pub enum SigningKeyCommand {
    /// Record the public key as active (no change when it already is).
    Activate {
        /// Key id.
        kid: String,
        /// Raw Ed25519 public key.
        public_key: Vec<u8>,
    },
    /// Retire it.
    Retire,
}

/// What the rules know of a key.
#[derive(Default, Debug, Clone)]
pub struct SigningKeyState {
    /// Its id, once activated.
    pub kid: Option<String>,
    /// Whether it was retired.
    pub retired: bool,
}

/// The signing-key decider.
pub struct SigningKey;

impl Decider for SigningKey {
    const TYPE: AggregateType = AggregateType::new("signing_key");
    type State = SigningKeyState;
    type Command = SigningKeyCommand;
    type Event = SigningKeyEvent;
    type Error = DomainError;

    fn decide(
        state: &SigningKeyState,
        command: SigningKeyCommand,
        now: OffsetDateTime,
    ) -> Result<Vec<SigningKeyEvent>, DomainError> {
        match command {
            SigningKeyCommand::Activate { .. } if state.retired => Err(DomainError::Precondition(
                "this signing key was retired; configure a new one".into(),
            )),
            SigningKeyCommand::Activate { .. } if state.kid.is_some() => Ok(Vec::new()),
            SigningKeyCommand::Activate { kid, public_key } => {
                Ok(vec![SigningKeyEvent::Activated(SigningKeyActivated {
                    kid,
                    public_key,
                    activated_at: Some(to_timestamp(now)),
                })])
            }
            SigningKeyCommand::Retire if state.retired => Ok(Vec::new()),
            SigningKeyCommand::Retire => match &state.kid {
                Some(kid) => Ok(vec![SigningKeyEvent::Retired(SigningKeyRetired {
                    kid: kid.clone(),
                })]),
                None => Err(DomainError::Precondition("no such key".into())),
            },
        }
    }

    fn evolve(mut state: SigningKeyState, event: &SigningKeyEvent) -> SigningKeyState {
        match event {
            SigningKeyEvent::Activated(e) => state.kid = Some(e.kid.clone()),
            SigningKeyEvent::Retired(_) => state.retired = true,
        }
        state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retired_key_never_becomes_active_again() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let activate = SigningKeyCommand::Activate {
            kid: "k".into(),
            public_key: vec![1; 32],
        };
        let events =
            SigningKey::decide(&SigningKeyState::default(), activate.clone(), now).unwrap();
        let state = events
            .iter()
            .fold(SigningKeyState::default(), SigningKey::evolve);
        assert!(
            SigningKey::decide(&state, activate.clone(), now)
                .unwrap()
                .is_empty()
        );
        let retired = SigningKey::decide(&state, SigningKeyCommand::Retire, now).unwrap();
        let state = retired.iter().fold(state, SigningKey::evolve);
        assert!(matches!(
            SigningKey::decide(&state, activate, now),
            Err(DomainError::Precondition(_))
        ));
    }
}
