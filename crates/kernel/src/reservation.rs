//! Uniqueness across aggregates (DESIGN.md "Uniqueness"): `reserve(key, owner)` appends a
//! commit on `tillit.<ctx>.<tenant>.unique.<sha256 of key>` naming the owning aggregate.
//!
//! The reservation is itself a small aggregate run by the ordinary [`Runner`], so the
//! optimistic-concurrency check decides races: of two reservers with different owners
//! exactly one appends first, the other then sees a holder. The same owner again proceeds
//! (a retry). A holder that never came to exist (its reserver crashed between reserving
//! and creating) is taken over once the reservation is older than the configured grace, by
//! a commit that expects the reservation's last sequence. Releasing is a commit too.

use sha2::{Digest, Sha256};
use tillit_proto::common::Position;
use tillit_proto::kernel::{KeyReleased, KeyReserved};
use time::OffsetDateTime;

use crate::clock::from_timestamp;
use crate::decider::{CommandRequest, Decider, ExecuteError, Runner, Target};
use crate::envelope::CommandMeta;
use crate::error::KernelError;
use crate::ids::{AggregateAddress, AggregateId, AggregateType, BoundedContext, TenantId};
use crate::store::EventStore;

/// How a reservation came to be held by the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reserved {
    /// The key was free and is now the caller's.
    Fresh,
    /// The caller's owner already held it (a retry).
    AlreadyHeld,
    /// Its previous owner never came to exist; the key was taken over from it.
    TakenOver {
        /// Subject of the previous owner.
        from: String,
    },
}

/// A held reservation.
#[derive(Clone, Debug)]
pub struct Reservation {
    /// How it came to be held.
    pub outcome: Reserved,
    /// The reservation's last commit.
    pub position: Option<Position>,
}

/// Why a reservation or release was refused.
#[derive(Debug, thiserror::Error)]
pub enum ReservationError {
    /// Another aggregate holds the key.
    #[error("the key is held by {owner}")]
    Taken {
        /// Subject of the holder.
        owner: String,
    },
    /// A release by an owner that does not hold the key.
    #[error("the key is not held by {owner}")]
    NotHeld {
        /// Subject of the would-be releaser.
        owner: String,
    },
    /// The kernel could not run it.
    #[error(transparent)]
    Kernel(#[from] KernelError),
}

impl crate::telemetry::CommandRefusal for ReservationError {}

/// Reserves and releases unique keys in one bounded context.
#[derive(Clone)]
pub struct Reservations {
    runner: Runner<ReservationDecider>,
    store: EventStore,
}

impl Reservations {
    /// Reservations living in `context`'s stream.
    pub fn new(store: EventStore, context: BoundedContext) -> Self {
        Self {
            runner: Runner::new(store.clone(), context),
            store,
        }
    }

    /// Reserves `key` for `owner`. Platform-wide keys (e-mail) use tenant `internal`.
    pub async fn reserve(
        &self,
        tenant: &TenantId,
        key: &str,
        owner: &AggregateAddress,
        meta: CommandMeta,
    ) -> Result<Reservation, ReservationError> {
        let owner_subject = owner.subject();
        let address = self.address(tenant, key);
        // A holder that might be taken over is checked outside the decider (it needs I/O);
        // the decider then only takes over exactly that holder, so a race is still decided
        // by the concurrency check.
        let (state, history) = self.runner.load(&address).await?;
        let mut take_over = None;
        if let Some(holder) = state.holder.as_ref().filter(|h| **h != owner_subject) {
            let reserved_at = history
                .commits
                .last()
                .and_then(|c| c.commit.recorded_at.as_ref())
                .and_then(from_timestamp)
                .unwrap_or(OffsetDateTime::UNIX_EPOCH);
            let grace = self.store.config().reservation_takeover_after;
            let old_enough = self.store.clock().now() - reserved_at >= grace;
            if old_enough && !self.holder_exists(holder).await? {
                take_over = Some(holder.clone());
            }
        }
        let command = ReservationCommand::Reserve {
            key_hash: key_hash(key),
            owner: owner_subject,
            take_over,
        };
        let executed = self
            .runner
            .execute(self.request(tenant, &address, "tillit.kernel.v1.Reserve", command, meta))
            .await
            .map_err(flatten)?;
        let outcome = match executed.events.first() {
            None => Reserved::AlreadyHeld,
            Some(ReservationEvent::Reserved(e)) if !e.taken_over_from.is_empty() => {
                Reserved::TakenOver {
                    from: e.taken_over_from.clone(),
                }
            }
            Some(_) => Reserved::Fresh,
        };
        Ok(Reservation {
            outcome,
            position: executed.position,
        })
    }

    /// Releases `key`, which `owner` must hold; releasing a free key is a no-op.
    pub async fn release(
        &self,
        tenant: &TenantId,
        key: &str,
        owner: &AggregateAddress,
        meta: CommandMeta,
    ) -> Result<Option<Position>, ReservationError> {
        let address = self.address(tenant, key);
        let command = ReservationCommand::Release {
            key_hash: key_hash(key),
            owner: owner.subject(),
        };
        let executed = self
            .runner
            .execute(self.request(tenant, &address, "tillit.kernel.v1.Release", command, meta))
            .await
            .map_err(flatten)?;
        Ok(executed.position)
    }

    /// The current holder of `key`, if any.
    pub async fn holder(
        &self,
        tenant: &TenantId,
        key: &str,
    ) -> Result<Option<String>, KernelError> {
        let (state, _) = self.runner.load(&self.address(tenant, key)).await?;
        Ok(state.holder)
    }

    fn address(&self, tenant: &TenantId, key: &str) -> AggregateAddress {
        self.runner.address(
            tenant,
            AggregateId::parse(&key_hash(key), "key").expect("a hex hash is an id"),
        )
    }

    fn request(
        &self,
        tenant: &TenantId,
        address: &AggregateAddress,
        name: &str,
        command: ReservationCommand,
        meta: CommandMeta,
    ) -> CommandRequest<ReservationCommand> {
        CommandRequest {
            tenant: tenant.clone(),
            target: Target::At(address.id.clone()),
            name: name.to_owned(),
            command,
            // A reservation is decided again on every call; the caller's key belongs to its
            // own command, not to this reservation.
            meta: CommandMeta {
                idempotency_key: None,
                ..meta
            },
        }
    }

    async fn holder_exists(&self, holder: &str) -> Result<bool, KernelError> {
        self.store.subject_exists(holder).await
    }
}

fn flatten(error: ExecuteError<ReservationError>) -> ReservationError {
    match error {
        ExecuteError::Domain(e) => e,
        ExecuteError::Kernel(e) => e.into(),
    }
}

/// Hex SHA-256 of a key: the reservation's aggregate id (the key may be personal data).
pub fn key_hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// The reservation aggregate.
pub struct ReservationDecider;

/// State of one reservation.
#[derive(Default)]
pub struct ReservationState {
    holder: Option<String>,
}

/// Commands on a reservation.
#[derive(Clone, Debug)]
pub enum ReservationCommand {
    /// Hold the key for `owner`, taking it over from `take_over` if that one still holds it.
    Reserve {
        /// Hash of the key.
        key_hash: String,
        /// Subject of the owner.
        owner: String,
        /// A holder that was found never to have come to exist.
        take_over: Option<String>,
    },
    /// Give the key up.
    Release {
        /// Hash of the key.
        key_hash: String,
        /// Subject of the owner.
        owner: String,
    },
}

crate::event_enum! {
    /// Events of a reservation.
    pub enum ReservationEvent {
        /// The key is held.
        Reserved(KeyReserved),
        /// The key is free.
        Released(KeyReleased),
    }
}

impl Decider for ReservationDecider {
    const TYPE: AggregateType = AggregateType::UNIQUE;
    type State = ReservationState;
    type Command = ReservationCommand;
    type Event = ReservationEvent;
    type Error = ReservationError;

    fn decide(
        state: &ReservationState,
        command: ReservationCommand,
        _now: OffsetDateTime,
    ) -> Result<Vec<ReservationEvent>, ReservationError> {
        match command {
            ReservationCommand::Reserve {
                key_hash,
                owner,
                take_over,
            } => match &state.holder {
                None => Ok(vec![ReservationEvent::Reserved(KeyReserved {
                    key_hash,
                    owner,
                    taken_over_from: String::new(),
                })]),
                Some(holder) if *holder == owner => Ok(Vec::new()),
                Some(holder) if take_over.as_ref() == Some(holder) => {
                    Ok(vec![ReservationEvent::Reserved(KeyReserved {
                        key_hash,
                        owner,
                        taken_over_from: holder.clone(),
                    })])
                }
                Some(holder) => Err(ReservationError::Taken {
                    owner: holder.clone(),
                }),
            },
            ReservationCommand::Release { key_hash, owner } => match &state.holder {
                None => Ok(Vec::new()),
                Some(holder) if *holder == owner => {
                    Ok(vec![ReservationEvent::Released(KeyReleased {
                        key_hash,
                        owner,
                    })])
                }
                Some(_) => Err(ReservationError::NotHeld { owner }),
            },
        }
    }

    fn evolve(_state: ReservationState, event: &ReservationEvent) -> ReservationState {
        match event {
            ReservationEvent::Reserved(e) => ReservationState {
                holder: Some(e.owner.clone()),
            },
            ReservationEvent::Released(_) => ReservationState { holder: None },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reserve(owner: &str, take_over: Option<&str>) -> ReservationCommand {
        ReservationCommand::Reserve {
            key_hash: "h".into(),
            owner: owner.into(),
            take_over: take_over.map(str::to_owned),
        }
    }

    fn held_by(owner: &str) -> ReservationState {
        ReservationState {
            holder: Some(owner.into()),
        }
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH
    }

    #[test]
    fn a_free_key_is_reserved() {
        let events =
            ReservationDecider::decide(&ReservationState::default(), reserve("a", None), now());
        assert!(
            matches!(events.unwrap().as_slice(), [ReservationEvent::Reserved(e)] if e.owner == "a")
        );
    }

    #[test]
    fn the_same_owner_again_proceeds_without_writing() {
        let events = ReservationDecider::decide(&held_by("a"), reserve("a", None), now()).unwrap();
        assert!(events.is_empty());
    }

    #[test]
    fn another_owner_loses_unless_taking_over_exactly_the_holder() {
        let lost = ReservationDecider::decide(&held_by("a"), reserve("b", None), now());
        assert!(matches!(lost, Err(ReservationError::Taken { owner }) if owner == "a"));
        let stale = ReservationDecider::decide(&held_by("c"), reserve("b", Some("a")), now());
        assert!(matches!(stale, Err(ReservationError::Taken { .. })));
        let taken =
            ReservationDecider::decide(&held_by("a"), reserve("b", Some("a")), now()).unwrap();
        assert!(
            matches!(taken.as_slice(), [ReservationEvent::Reserved(e)] if e.taken_over_from == "a")
        );
    }

    #[test]
    fn only_the_holder_releases() {
        let release = |owner: &str| ReservationCommand::Release {
            key_hash: "h".into(),
            owner: owner.into(),
        };
        assert!(ReservationDecider::decide(&held_by("a"), release("b"), now()).is_err());
        let released = ReservationDecider::decide(&held_by("a"), release("a"), now()).unwrap();
        let state = ReservationDecider::evolve(held_by("a"), &released[0]);
        assert!(state.holder.is_none());
    }
}
