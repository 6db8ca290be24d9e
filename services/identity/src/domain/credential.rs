//! The credential aggregate (CREDENTIALS stream, id = user id): the password hash, whether
//! it is temporary, failed logins and the lockout.
//!
//! Lockout rule: the `threshold`-th failed login within `window` locks the account for
//! `duration`; while locked even the right password is refused (and the attempt recorded);
//! a successful login clears the failures; an admin may unlock.

use std::time::Duration;

use tillit_kernel::clock::{from_timestamp, to_timestamp};
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
        /// A login failed.
        LoginFailed(LoginFailed),
        /// Locked after too many failures.
        Locked(AccountLocked),
        /// Unlocked by an admin.
        Unlocked(AccountUnlocked),
    }
}

/// When failed logins lock an account.
#[derive(Clone, Copy, Debug)]
pub struct LockoutPolicy {
    /// Failures that lock (5).
    pub threshold: u32,
    /// Window they must fall in (15 min).
    pub window: Duration,
    /// How long the lock lasts (15 min).
    pub duration: Duration,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            threshold: 5,
            window: Duration::from_secs(15 * 60),
            duration: Duration::from_secs(15 * 60),
        }
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
    /// Record a login attempt whose password was checked (`password_ok`).
    RecordLogin {
        /// Whether the password matched.
        password_ok: bool,
        /// The lockout rule in force.
        policy: LockoutPolicy,
    },
    /// Lift a lock.
    Unlock,
}

/// What the rules know of a credential.
#[derive(Default, Debug, Clone)]
pub struct CredentialState {
    /// The argon2id hash, once set.
    pub password_hash: Option<String>,
    /// Whether it must be changed at the next login.
    pub temporary: bool,
    /// Times of failed logins since the last success, lock or unlock.
    pub failures: Vec<OffsetDateTime>,
    /// End of the current lock.
    pub locked_until: Option<OffsetDateTime>,
}

impl CredentialState {
    /// Whether logins are refused at `now`.
    pub fn is_locked(&self, now: OffsetDateTime) -> bool {
        self.locked_until.is_some_and(|until| now < until)
    }
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
            CredentialCommand::RecordLogin {
                password_ok,
                policy,
            } => {
                let at = Some(to_timestamp(now));
                if state.is_locked(now) {
                    return Ok(vec![CredentialEvent::LoginFailed(LoginFailed {
                        at,
                        recent_failures: u32::try_from(state.failures.len()).unwrap_or(u32::MAX),
                        while_locked: true,
                    })]);
                }
                if password_ok {
                    return Ok(vec![CredentialEvent::LoginSucceeded(LoginSucceeded { at })]);
                }
                let window_start = now - policy.window;
                let recent = state.failures.iter().filter(|t| **t > window_start).count() + 1;
                let recent = u32::try_from(recent).unwrap_or(u32::MAX);
                let mut events = vec![CredentialEvent::LoginFailed(LoginFailed {
                    at,
                    recent_failures: recent,
                    while_locked: false,
                })];
                if recent >= policy.threshold {
                    events.push(CredentialEvent::Locked(AccountLocked {
                        locked_until: Some(to_timestamp(now + policy.duration)),
                    }));
                }
                Ok(events)
            }
            CredentialCommand::Unlock
                if state.locked_until.is_none() && state.failures.is_empty() =>
            {
                Ok(Vec::new())
            }
            CredentialCommand::Unlock => Ok(vec![CredentialEvent::Unlocked(AccountUnlocked {})]),
        }
    }

    fn evolve(mut state: CredentialState, event: &CredentialEvent) -> CredentialState {
        match event {
            CredentialEvent::PasswordSet(e) => {
                state.password_hash = Some(e.password_hash.clone());
                state.temporary = e.temporary;
            }
            CredentialEvent::LoginSucceeded(_) => state.failures.clear(),
            CredentialEvent::LoginFailed(e) if !e.while_locked => {
                state
                    .failures
                    .extend(e.at.as_ref().and_then(from_timestamp));
            }
            CredentialEvent::LoginFailed(_) => {}
            CredentialEvent::Locked(e) => {
                state.locked_until = e.locked_until.as_ref().and_then(from_timestamp);
                state.failures.clear();
            }
            CredentialEvent::Unlocked(_) => {
                state.locked_until = None;
                state.failures.clear();
            }
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

    fn attempt(
        state: CredentialState,
        ok: bool,
        minute: i64,
    ) -> (CredentialState, Vec<CredentialEvent>) {
        let command = CredentialCommand::RecordLogin {
            password_ok: ok,
            policy: LockoutPolicy::default(),
        };
        let events = Credential::decide(&state, command, at(minute)).unwrap();
        (events.iter().fold(state, Credential::evolve), events)
    }

    #[test]
    fn the_fifth_failure_within_fifteen_minutes_locks_for_fifteen_minutes() {
        let mut state = CredentialState::default();
        for minute in 0..4 {
            (state, _) = attempt(state, false, minute);
        }
        assert!(!state.is_locked(at(4)));
        let (state, events) = attempt(state, false, 4);
        assert!(matches!(events.last(), Some(CredentialEvent::Locked(_))));
        assert!(state.is_locked(at(18)));
        let (state, events) = attempt(state, true, 18);
        assert!(
            matches!(&events[..], [CredentialEvent::LoginFailed(e)] if e.while_locked),
            "the right password is refused while locked"
        );
        assert!(!state.is_locked(at(19)));
        let (_, events) = attempt(state, true, 19);
        assert!(matches!(&events[..], [CredentialEvent::LoginSucceeded(_)]));
    }

    #[test]
    fn failures_outside_the_window_do_not_count() {
        let mut state = CredentialState::default();
        for minute in [0, 1, 2, 3] {
            (state, _) = attempt(state, false, minute);
        }
        let (state, events) = attempt(state, false, 20);
        assert_eq!(
            events.len(),
            1,
            "only one failure within the window: no lock"
        );
        assert!(!state.is_locked(at(20)));
    }

    #[test]
    fn an_unlock_lifts_the_lock_and_a_retried_initial_password_changes_nothing() {
        let mut state = CredentialState::default();
        for minute in 0..5 {
            (state, _) = attempt(state, false, minute);
        }
        let events = Credential::decide(&state, CredentialCommand::Unlock, at(5)).unwrap();
        let state = events.iter().fold(state, Credential::evolve);
        assert!(!state.is_locked(at(5)));
        let state = Credential::evolve(
            state,
            &CredentialEvent::PasswordSet(PasswordSet {
                password_hash: "h".into(),
                temporary: false,
            }),
        );
        let again = CredentialCommand::SetInitial {
            hash: "other".into(),
            temporary: false,
        };
        assert!(Credential::decide(&state, again, at(6)).unwrap().is_empty());
    }
}
