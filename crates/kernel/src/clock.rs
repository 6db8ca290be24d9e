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

/// Where a time a caller states may lie relative to the kernel's now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeWindow {
    /// Something that happened (detected, aware, sent, completed): up to ten years back,
    /// at most five minutes ahead (clock skew of the caller).
    Happened,
    /// A due date or an end of validity: up to a year back, at most ten years ahead.
    Due,
    /// A bound of a query: any time 1970–9999.
    Any,
}

/// The one parser of every timestamp a request carries: seconds and nanos in range
/// (nanos 0–999 999 999), a year 1970–9999, and within `window` of `now` (the kernel's
/// clock, so a scripted clock moves the window with it). INVALID_ARGUMENT names `field`.
pub fn parse_time(
    field: &str,
    ts: &prost_types::Timestamp,
    now: OffsetDateTime,
    window: TimeWindow,
) -> Result<OffsetDateTime, crate::KernelError> {
    use crate::error::Reason;
    let malformed = |why: &str| crate::KernelError::refused(field, Reason::Malformed, why);
    let invalid = |why: &str| crate::KernelError::refused(field, Reason::OutOfRange, why);
    if !(0..1_000_000_000).contains(&ts.nanos) {
        return Err(malformed("nanos must be 0 to 999999999"));
    }
    let at = from_timestamp(ts).ok_or_else(|| malformed("not a time"))?;
    if !(1970..=9999).contains(&at.year()) {
        return Err(invalid("must be in the years 1970 to 9999"));
    }
    let (back, ahead) = match window {
        TimeWindow::Happened => (time::Duration::days(3653), time::Duration::minutes(5)),
        TimeWindow::Due => (time::Duration::days(366), time::Duration::days(3653)),
        TimeWindow::Any => return Ok(at),
    };
    if at < now - back {
        return Err(invalid(match window {
            TimeWindow::Happened => "more than ten years ago",
            _ => "more than a year ago",
        }));
    }
    if at > now + ahead {
        return Err(invalid(match window {
            TimeWindow::Happened => "must not be in the future",
            _ => "more than ten years ahead",
        }));
    }
    Ok(at)
}

/// A time as refusal messages print it: RFC 3339 in UTC, whole seconds
/// (`2026-09-04T08:00:00Z`).
pub fn rfc3339(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    let at = at.replace_nanosecond(0).unwrap_or(at);
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| at.to_string())
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
    fn messages_print_times_as_rfc_3339_in_utc_to_the_second() {
        let at = time::macros::datetime!(2026-09-04 10:00:00.123 +02:00);
        assert_eq!(rfc3339(at), "2026-09-04T08:00:00Z");
    }

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

#[cfg(test)]
mod parse_time_tests {
    use super::*;

    fn ts(seconds: i64, nanos: i32) -> prost_types::Timestamp {
        prost_types::Timestamp { seconds, nanos }
    }

    #[test]
    fn times_outside_their_window_or_the_calendar_are_refused_with_the_field() {
        let now = OffsetDateTime::from_unix_timestamp(1_790_000_000).unwrap();
        let at = |s| ts(now.unix_timestamp() + s, 0);
        for bad in [
            ts(i64::MIN, 0),
            ts(-62_135_596_800, 0),
            ts(0, -1),
            ts(0, 1_000_000_000),
            at(3600),
        ] {
            let error = parse_time("sent_at", &bad, now, TimeWindow::Happened).unwrap_err();
            assert_eq!(error.field(), Some("sent_at"), "{bad:?}");
        }
        assert!(parse_time("sent_at", &at(-3600), now, TimeWindow::Happened).is_ok());
        assert!(parse_time("due_at", &at(30 * 86_400), now, TimeWindow::Due).is_ok());
        assert!(parse_time("due_at", &at(-400 * 86_400), now, TimeWindow::Due).is_err());
        assert!(
            parse_time("due_at", &ts(253_402_300_800, 0), now, TimeWindow::Any).is_err(),
            "year 10000"
        );
    }
}
