//! Throttling of failed sign-ins, kept where it can expire.
//!
//! Failed attempts (wrong password, wrong client secret, unknown e-mail or client id —
//! all alike) are counted per (submitted account, client address) and per client address
//! (IPv6 by /64). Over a limit within the window, further attempts under that key answer
//! RESOURCE_EXHAUSTED with the delay until enough of them have expired; nothing is
//! checked meanwhile. The owner signing in from another address is never affected, so a
//! stranger cannot lock anyone out, and because an unknown account is counted exactly
//! like a known one, the answer and its delay say nothing about whether it exists.
//!
//! Nothing of this reaches the permanent log. Each replica counts in memory, and shares
//! what it counted through the `THROTTLE` stream, which keeps messages for one window
//! (`max_age`) and at most 64 MiB (`max_bytes`): every replica reads the others'
//! failures from it (and, after a restart, the last window's). Accounts and addresses
//! travel only as SHA-256 digests.
//!
//! [`Counts`] is the pure part: the rule, tested without I/O.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::consumer::{DeliverPolicy, pull::OrderedConfig};
use async_nats::jetstream::stream::{self, DiscardPolicy, RetentionPolicy, StorageType};
use futures::StreamExt as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tillit_kernel::EventStore;
use time::OffsetDateTime;

/// The stream that shares failed attempts between replicas, for one window.
pub const THROTTLE_STREAM: &str = "THROTTLE";
const SUBJECT: &str = "tillit.throttle.attempts";
const REPLICA_HEADER: &str = "Tillit-Replica";

/// When failed attempts throttle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures per (account, client address) within the window (5).
    pub per_account: usize,
    /// Failures per client address within the window, whatever the account (50).
    pub per_address: usize,
    /// The window (15 min).
    pub window: Duration,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            per_account: 5,
            per_address: 50,
            window: Duration::from_secs(15 * 60),
        }
    }
}

/// The address a throttle counts: IPv4 as is, IPv6 by its /64 (one host usually holds a
/// whole /64), an IPv4-mapped IPv6 address as the IPv4 address.
pub fn address_key(address: IpAddr) -> String {
    match address {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

fn digest(kind: &str, value: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(kind.as_bytes());
    hash.update([0x1f]);
    hash.update(value.as_bytes());
    hex::encode(&hash.finalize()[..16])
}

/// What one message of the THROTTLE stream says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Note {
    /// A failed attempt.
    Failed {
        account: String,
        address: String,
        at: i64,
    },
    /// A successful sign-in: the pair's failures no longer count, nor the account's
    /// failures for the owner's notice.
    Succeeded {
        account: String,
        address: String,
        at: i64,
    },
    /// An admin lifted the account's throttle (or its secret was rotated).
    Lifted { account: String, at: i64 },
}

/// The counts: failure times per key within the window, pruned as they expire.
#[derive(Default, Debug)]
pub struct Counts {
    by_pair: HashMap<(String, String), VecDeque<i64>>,
    by_address: HashMap<String, VecDeque<i64>>,
    by_account: HashMap<String, VecDeque<i64>>,
}

/// Keys with no failure left in the window are dropped once the maps hold this many.
const SWEEP_ABOVE: usize = 100_000;

fn prune(times: &mut VecDeque<i64>, since: i64) {
    while times.front().is_some_and(|t| *t <= since) {
        times.pop_front();
    }
}

/// When `times` (oldest first, all within the window) stops being at `limit`: the
/// moment the failure that must expire does.
fn release(times: &VecDeque<i64>, limit: usize, window: i64) -> Option<i64> {
    (times.len() >= limit).then(|| times[times.len() - limit] + window)
}

impl Counts {
    /// Whether an attempt for (account, address) at `now` (unix ns) may be checked;
    /// otherwise how long until it may.
    pub fn check(
        &mut self,
        policy: &ThrottlePolicy,
        account: &str,
        address: &str,
        now: i64,
    ) -> Result<(), Duration> {
        let window = window_ns(policy);
        let since = now - window;
        let pair = (account.to_owned(), address.to_owned());
        let mut until = None;
        if let Some(times) = self.by_pair.get_mut(&pair) {
            prune(times, since);
            until = until.max(release(times, policy.per_account, window));
        }
        if let Some(times) = self.by_address.get_mut(address) {
            prune(times, since);
            until = until.max(release(times, policy.per_address, window));
        }
        match until {
            Some(until) if until > now => Err(Duration::from_nanos(
                u64::try_from(until - now).unwrap_or(u64::MAX),
            )),
            _ => Ok(()),
        }
    }

    /// Failed attempts on `account` within the window (any address).
    pub fn account_failures(&mut self, policy: &ThrottlePolicy, account: &str, now: i64) -> usize {
        let since = now - window_ns(policy);
        self.by_account.get_mut(account).map_or(0, |times| {
            prune(times, since);
            times.len()
        })
    }

    fn apply(&mut self, note: &Note) {
        match note {
            Note::Failed {
                account,
                address,
                at,
            } => {
                if self.by_pair.len() > SWEEP_ABOVE || self.by_address.len() > SWEEP_ABOVE {
                    self.sweep(*at);
                }
                let push = |times: &mut VecDeque<i64>| {
                    // Notes from other replicas may arrive a little out of order.
                    let index = times.partition_point(|t| *t <= *at);
                    times.insert(index, *at);
                };
                push(
                    self.by_pair
                        .entry((account.clone(), address.clone()))
                        .or_default(),
                );
                push(self.by_address.entry(address.clone()).or_default());
                push(self.by_account.entry(account.clone()).or_default());
            }
            Note::Succeeded {
                account,
                address,
                at,
            } => {
                if let Some(times) = self.by_pair.get_mut(&(account.clone(), address.clone())) {
                    times.retain(|t| t > at);
                }
                if let Some(times) = self.by_account.get_mut(account) {
                    times.retain(|t| t > at);
                }
            }
            Note::Lifted { account, at } => {
                for ((of, _), times) in &mut self.by_pair {
                    if of == account {
                        times.retain(|t| t > at);
                    }
                }
                if let Some(times) = self.by_account.get_mut(account) {
                    times.retain(|t| t > at);
                }
            }
        }
    }

    /// Drops everything older than the longest window a policy could have (an hour
    /// beyond `now` is kept: sweeping is only about memory).
    fn sweep(&mut self, now: i64) {
        let since = now - 24 * 3600 * 1_000_000_000;
        self.by_pair.retain(|_, t| {
            prune(t, since);
            !t.is_empty()
        });
        self.by_address.retain(|_, t| {
            prune(t, since);
            !t.is_empty()
        });
        self.by_account.retain(|_, t| {
            prune(t, since);
            !t.is_empty()
        });
    }
}

fn window_ns(policy: &ThrottlePolicy) -> i64 {
    i64::try_from(policy.window.as_nanos()).unwrap_or(i64::MAX)
}

fn unix_ns(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos()).unwrap_or(i64::MAX)
}

/// The throttle of one identity replica.
pub struct Throttle {
    policy: ThrottlePolicy,
    replica: String,
    counts: Arc<Mutex<Counts>>,
    store: EventStore,
    /// Applies the other replicas' notes; stopped with the throttle.
    follower: tokio::task::JoinHandle<()>,
}

impl Drop for Throttle {
    fn drop(&mut self) {
        self.follower.abort();
    }
}

impl Throttle {
    /// Creates (or updates) the THROTTLE stream, reads the last window's notes of every
    /// replica, and keeps following them.
    pub async fn start(store: EventStore, policy: ThrottlePolicy) -> Result<Arc<Self>, String> {
        let config = stream::Config {
            name: THROTTLE_STREAM.to_owned(),
            subjects: vec!["tillit.throttle.>".to_owned()],
            storage: StorageType::File,
            retention: RetentionPolicy::Limits,
            discard: DiscardPolicy::Old,
            max_age: policy.window.max(Duration::from_secs(1)),
            max_bytes: 64 * 1024 * 1024,
            num_replicas: store.config().replicas,
            ..Default::default()
        };
        let js = store.jetstream().clone();
        tokio::time::timeout(
            store.config().request_timeout,
            js.create_or_update_stream(config),
        )
        .await
        .map_err(|_| "creating the THROTTLE stream: NATS did not answer".to_owned())?
        .map_err(|e| format!("creating the THROTTLE stream: {e}"))?;
        let follower = NotesFollower {
            window: policy.window,
            replica: uuid::Uuid::new_v4().to_string(),
            counts: Arc::default(),
            store: store.clone(),
        };
        Ok(Arc::new(Self {
            policy,
            replica: follower.replica.clone(),
            counts: follower.counts.clone(),
            store,
            follower: tokio::spawn(follower.run()),
        }))
    }

    fn keys(account: &str, address: IpAddr) -> (String, String) {
        (
            digest("account", account),
            digest("address", &address_key(address)),
        )
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn now(&self) -> i64 {
        unix_ns(self.store.clock().now())
    }

    /// Whether an attempt on `account` (a normalised e-mail or a client id) from
    /// `address` may be checked now; otherwise how long until it may.
    pub fn check(&self, account: &str, address: IpAddr) -> Result<(), Duration> {
        let (account, address) = Self::keys(account, address);
        let now = self.now();
        self.counts().check(&self.policy, &account, &address, now)
    }

    /// Counts a failed attempt and shares it with the other replicas.
    pub async fn failed(&self, account: &str, address: IpAddr) {
        let (account, address) = Self::keys(account, address);
        self.note(Note::Failed {
            account,
            address,
            at: self.now(),
        })
        .await;
    }

    /// A successful sign-in: answers the failures on the account since its last one,
    /// and clears them (and the pair's) everywhere.
    pub async fn succeeded(&self, account: &str, address: IpAddr) -> u32 {
        let (account, address) = Self::keys(account, address);
        let now = self.now();
        let failures = self.counts().account_failures(&self.policy, &account, now);
        self.note(Note::Succeeded {
            account,
            address,
            at: now,
        })
        .await;
        u32::try_from(failures).unwrap_or(u32::MAX)
    }

    /// Lifts every throttle on `account` (an admin's unlock, a rotated secret).
    pub async fn lift(&self, account: &str) {
        let account = digest("account", account);
        self.note(Note::Lifted {
            account,
            at: self.now(),
        })
        .await;
    }

    async fn note(&self, note: Note) {
        self.counts().apply(&note);
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(REPLICA_HEADER, self.replica.as_str());
        let payload = serde_json::to_vec(&note).expect("a note serialises");
        let js = self.store.jetstream();
        let publish = async {
            js.publish_with_headers(SUBJECT, headers, payload.into())
                .await?
                .await
                .map(drop)
        };
        match tokio::time::timeout(self.store.config().request_timeout, publish).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::warn!(%error, "throttle note not shared with other replicas")
            }
            Err(_) => {
                tracing::warn!("throttle note not shared with other replicas: NATS did not answer")
            }
        }
    }
}

/// Applies the other replicas' notes to this replica's counts: the last window's at
/// start, then as they come, following again after NATS trouble.
struct NotesFollower {
    window: Duration,
    replica: String,
    counts: Arc<Mutex<Counts>>,
    store: EventStore,
}

impl NotesFollower {
    async fn run(self) {
        let mut next = None::<u64>;
        loop {
            let outcome = self.follow_once(&mut next).await;
            tracing::debug!(reason = %outcome, "following throttle notes again");
            let mut connections = self.store.connections();
            tokio::select! {
                _ = connections.changed() => {}
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    async fn follow_once(&self, next: &mut Option<u64>) -> String {
        let js = self.store.jetstream();
        let stream = match js.get_stream_no_info(THROTTLE_STREAM).await {
            Ok(stream) => stream,
            Err(e) => return e.to_string(),
        };
        let deliver_policy = match next {
            Some(sequence) => DeliverPolicy::ByStartSequence {
                start_sequence: *sequence,
            },
            None => DeliverPolicy::ByStartTime {
                start_time: self.store.clock().now()
                    - time::Duration::try_from(self.window).unwrap_or(time::Duration::DAY),
            },
        };
        let consumer = stream
            .create_consumer(OrderedConfig {
                deliver_policy,
                ..Default::default()
            })
            .await;
        let mut messages = match consumer {
            Ok(consumer) => match consumer.messages().await {
                Ok(messages) => messages,
                Err(e) => return e.to_string(),
            },
            Err(e) => return e.to_string(),
        };
        let mut connections = self.store.connections();
        connections.mark_unchanged();
        loop {
            let message = tokio::select! {
                message = messages.next() => message,
                _ = connections.changed() => return "reconnected".into(),
            };
            let message = match message {
                Some(Ok(message)) => message,
                Some(Err(e)) => return e.to_string(),
                None => return "the consumer ended".into(),
            };
            if let Ok(info) = message.info() {
                *next = Some(info.stream_sequence + 1);
            }
            let own = message
                .headers
                .as_ref()
                .and_then(|h| h.get(REPLICA_HEADER))
                .is_some_and(|r| r.as_str() == self.replica);
            if own {
                continue;
            }
            match serde_json::from_slice::<Note>(&message.payload) {
                Ok(note) => self
                    .counts
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .apply(&note),
                Err(error) => tracing::warn!(%error, "unreadable throttle note skipped"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60 * 1_000_000_000;

    fn failed(counts: &mut Counts, account: &str, address: &str, minute: i64) {
        counts.apply(&Note::Failed {
            account: account.into(),
            address: address.into(),
            at: minute * MIN,
        });
    }

    #[test]
    fn the_fifth_failure_of_a_pair_throttles_that_pair_only_until_the_first_expires() {
        let policy = ThrottlePolicy::default();
        let mut counts = Counts::default();
        for minute in 0..5 {
            assert!(
                counts
                    .check(&policy, "admin", "attacker", minute * MIN)
                    .is_ok()
            );
            failed(&mut counts, "admin", "attacker", minute);
        }
        let wait = counts
            .check(&policy, "admin", "attacker", 5 * MIN)
            .unwrap_err();
        assert_eq!(
            wait,
            Duration::from_secs(10 * 60),
            "until minute 15, when minute 0 expires"
        );
        assert!(
            counts.check(&policy, "admin", "owner", 5 * MIN).is_ok(),
            "the owner elsewhere"
        );
        assert!(
            counts
                .check(&policy, "admin", "attacker", 15 * MIN + 1)
                .is_ok()
        );
    }

    #[test]
    fn many_accounts_from_one_address_throttle_the_address() {
        let policy = ThrottlePolicy::default();
        let mut counts = Counts::default();
        for n in 0..50 {
            failed(&mut counts, &format!("user{n}"), "spray", 1);
        }
        assert!(
            counts
                .check(&policy, "someone-else", "spray", 2 * MIN)
                .is_err()
        );
        assert!(
            counts
                .check(&policy, "someone-else", "elsewhere", 2 * MIN)
                .is_ok()
        );
    }

    #[test]
    fn a_success_clears_its_pair_and_a_lift_clears_the_account_everywhere() {
        let policy = ThrottlePolicy::default();
        let mut counts = Counts::default();
        for minute in 0..5 {
            failed(&mut counts, "a", "x", minute);
            failed(&mut counts, "a", "y", minute);
        }
        assert_eq!(counts.account_failures(&policy, "a", 5 * MIN), 10);
        counts.apply(&Note::Succeeded {
            account: "a".into(),
            address: "x".into(),
            at: 5 * MIN,
        });
        assert!(counts.check(&policy, "a", "x", 6 * MIN).is_ok());
        assert!(counts.check(&policy, "a", "y", 6 * MIN).is_err());
        assert_eq!(counts.account_failures(&policy, "a", 6 * MIN), 0);
        counts.apply(&Note::Lifted {
            account: "a".into(),
            at: 6 * MIN,
        });
        assert!(counts.check(&policy, "a", "y", 6 * MIN).is_ok());
    }

    #[test]
    fn ipv6_addresses_count_by_their_slash_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(address_key(mapped), "192.0.2.7");
    }
}
