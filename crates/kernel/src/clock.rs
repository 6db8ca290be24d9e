//! The clock the kernel owns. Every `recorded_at` and every "now" handed to a decider comes
//! from here, so tests can pin time or shift it and script a year of events in seconds.

use std::sync::{Arc, Mutex};

pub use prost_types::Timestamp;
use time::Duration;
pub use time::OffsetDateTime;

/// A source of the current time; cheap to clone, clones share their setting.
#[derive(Clone, Debug)]
pub struct Clock(Arc<Mutex<Mode>>);

#[derive(Debug)]
enum Mode {
    System,
    Fixed(OffsetDateTime),
    Offset(Duration),
}

impl Clock {
    /// The operating system's clock.
    pub fn system() -> Self {
        Self(Arc::new(Mutex::new(Mode::System)))
    }

    /// A clock standing still at `at` until moved with [`Clock::advance`] or [`Clock::set`].
    pub fn fixed(at: OffsetDateTime) -> Self {
        Self(Arc::new(Mutex::new(Mode::Fixed(at))))
    }

    /// The system clock shifted by `offset` (which may be negative).
    pub fn offset(offset: Duration) -> Self {
        Self(Arc::new(Mutex::new(Mode::Offset(offset))))
    }

    /// The current time, truncated to microseconds (what every stored timestamp keeps).
    pub fn now(&self) -> OffsetDateTime {
        let now = match *self.mode() {
            Mode::System => OffsetDateTime::now_utc(),
            Mode::Fixed(at) => at,
            Mode::Offset(offset) => OffsetDateTime::now_utc() + offset,
        };
        now.replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
            .expect("a truncated nanosecond is still in range")
    }

    /// Moves a fixed clock forward, or shifts an offset clock further.
    pub fn advance(&self, by: Duration) {
        let mut mode = self.mode();
        *mode = match *mode {
            Mode::System => Mode::Offset(by),
            Mode::Fixed(at) => Mode::Fixed(at + by),
            Mode::Offset(offset) => Mode::Offset(offset + by),
        };
    }

    /// Pins the clock at `at`.
    pub fn set(&self, at: OffsetDateTime) {
        *self.mode() = Mode::Fixed(at);
    }

    fn mode(&self) -> std::sync::MutexGuard<'_, Mode> {
        // A panic while holding this lock cannot leave the mode half-written.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

/// A protobuf timestamp of `at`.
pub fn to_timestamp(at: OffsetDateTime) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.unix_timestamp(),
        nanos: i32::try_from(at.nanosecond()).expect("nanoseconds are below 10^9"),
    }
}

/// The time of a protobuf timestamp, or `None` when it is out of range.
pub fn from_timestamp(ts: &prost_types::Timestamp) -> Option<OffsetDateTime> {
    let nanos = i128::from(ts.seconds) * 1_000_000_000 + i128::from(ts.nanos);
    OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()
}

/// Unix nanoseconds of a stored timestamp, as projections key rows by time: 0 when unset
/// or invalid, saturating far in the future.
pub fn unix_nanos(ts: Option<&prost_types::Timestamp>) -> i64 {
    ts.and_then(from_timestamp).map_or(0, |t| {
        i64::try_from(t.unix_timestamp_nanos()).unwrap_or(i64::MAX)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_stands_still_until_advanced() {
        let start = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let clock = Clock::fixed(start);
        assert_eq!(clock.now(), start);
        clock.clone().advance(Duration::hours(72));
        assert_eq!(clock.now(), start + Duration::hours(72));
    }

    #[test]
    fn an_offset_clock_runs_ahead_of_the_system_clock() {
        let clock = Clock::offset(Duration::days(365));
        let ahead = clock.now() - OffsetDateTime::now_utc();
        assert!(ahead > Duration::days(364), "{ahead}");
    }

    #[test]
    fn timestamps_round_trip_at_microsecond_precision() {
        let now = Clock::system().now();
        assert_eq!(from_timestamp(&to_timestamp(now)), Some(now));
    }
}
