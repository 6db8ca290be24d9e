//! The credential aggregate (CREDENTIALS stream, id = user id): the password hash, whether
//! it is temporary, and successful logins.
//!
//! Failed attempts are not events: they are counted where they expire (the throttle,
//! `crate::throttle`), so nobody without an account can grow the permanent log and no
//! stranger can lock an account. Commits of earlier versions (failed logins, locks and
//! unlocks) still fold, and a lock they hold no longer refuses anything.

use tillit_kernel::clock::to_timestamp;
use tillit_kernel::{AggregateType, Decider};
use tillit_proto::identity::{
    AccountLocked, AccountUnlocked, LoginFailed, LoginSucceeded, PasswordSet,
};
use time::OffsetDateTime;

use super::DomainError;

tillit_kernel::event_enum! {
    /// Events of a credential.
    pub enum CredentialEvent {
        /// A password hash was set.
        PasswordSet(PasswordSet),
        /// A login succeeded.
        LoginSucceeded(LoginSucceeded),
        /// A login failed (written by earlier versions only).
        LoginFailed(LoginFailed),
        /// Locked after too many failures (earlier versions only).
        Locked(AccountLocked),
        /// An admin lifted the lock (earlier versions) or the throttle.
        Unlocked(AccountUnlocked),
    }
}

/// Commands on a credential.
#[derive(Clone, Debug)]
pub enum CredentialCommand {
    /// Set the first password; does nothing when one is set (a retried bootstrap).
    SetInitial {
        /// argon2id PHC string.
        hash: String,
        /// Must be changed at the next login.
        temporary: bool,
    },
    /// Replace the password.
    Set {
        /// argon2id PHC string.
        hash: String,
        /// Must be changed at the next login.
        temporary: bool,
    },
    /// Record a successful login, with the failed attempts the throttle saw before it.
    RecordSuccess {
        /// Failed attempts on the account since its last successful login.
        failed_attempts_before: u32,
    },
    /// Record that an admin lifted the account's throttle (the throttle itself is not in
    /// the log; the admin's decision is).
    LiftThrottle,
}

/// What the rules know of a credential.
#[derive(Default, Debug, Clone)]
pub struct CredentialState {
    /// The argon2id hash, once set.
    pub password_hash: Option<String>,
    /// Whether it must be changed at the next login.
    pub temporary: bool,
}

/// The credential decider.
pub struct Credential;

impl Decider for Credential {
    const TYPE: AggregateType = AggregateType::new("credential");
    type State = CredentialState;
    type Command = CredentialCommand;
    type Event = CredentialEvent;
    type Error = DomainError;

    fn decide(
        state: &CredentialState,
        command: CredentialCommand,
        now: OffsetDateTime,
    ) -> Result<Vec<CredentialEvent>, DomainError> {
        match command {
            CredentialCommand::SetInitial { .. } if state.password_hash.is_some() => Ok(Vec::new()),
            CredentialCommand::SetInitial { hash, temporary }
            | CredentialCommand::Set { hash, temporary } => {
                Ok(vec![CredentialEvent::PasswordSet(PasswordSet {
                    password_hash: hash,
                    temporary,
                })])
            }
            CredentialCommand::RecordSuccess {
                failed_attempts_before,
            } => Ok(vec![CredentialEvent::LoginSucceeded(LoginSucceeded {
                at: Some(to_timestamp(now)),
                failed_attempts_before,
            })]),
            CredentialCommand::LiftThrottle => {
                Ok(vec![CredentialEvent::Unlocked(AccountUnlocked {})])
            }
        }
    }

    fn evolve(mut state: CredentialState, event: &CredentialEvent) -> CredentialState {
        match event {
            CredentialEvent::PasswordSet(e) => {
                state.password_hash = Some(e.password_hash.clone());
                state.temporary = e.temporary;
            }
            CredentialEvent::LoginSucceeded(_)
            | CredentialEvent::LoginFailed(_)
            | CredentialEvent::Locked(_)
            | CredentialEvent::Unlocked(_) => {}
        }
        state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + time::Duration::minutes(minutes)
    }

    #[test]
    fn a_retried_initial_password_changes_nothing_and_a_success_states_the_failures_before() {
        let state = Credential::evolve(
            CredentialState::default(),
            &CredentialEvent::PasswordSet(PasswordSet {
                password_hash: "h".into(),
                temporary: false,
            }),
        );
        let again = CredentialCommand::SetInitial {
            hash: "other".into(),
            temporary: false,
        };
        assert!(Credential::decide(&state, again, at(1)).unwrap().is_empty());
        let events = Credential::decide(
            &state,
            CredentialCommand::RecordSuccess {
                failed_attempts_before: 3,
            },
            at(2),
        )
        .unwrap();
        assert!(
            matches!(&events[..], [CredentialEvent::LoginSucceeded(e)] if e.failed_attempts_before == 3)
        );
    }

    #[test]
    fn a_lock_written_by_an_earlier_version_folds_and_refuses_nothing() {
        let state = [
            CredentialEvent::LoginFailed(LoginFailed::default()),
            CredentialEvent::Locked(AccountLocked::default()),
        ]
        .iter()
        .fold(CredentialState::default(), Credential::evolve);
        assert!(state.password_hash.is_none() && !state.temporary);
    }
}
