//! Swedish local time (Europe/Stockholm) without a time-zone database: CET (UTC+1) in
//! winter, CEST (UTC+2) from 01:00 UTC on the last Sunday of March to 01:00 UTC on the
//! last Sunday of October (EU Directive 2000/84/EC, the rule Sweden follows).

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset, Weekday};

fn last_sunday(year: i32, month: Month) -> Date {
    let mut day = Date::from_calendar_date(year, month, time::util::days_in_month(month, year))
        .expect("the last day of a month is a date");
    while day.weekday() != Weekday::Sunday {
        day = day
            .previous_day()
            .expect("late in the month, a previous day exists");
    }
    day
}

const CET: UtcOffset = match UtcOffset::from_hms(1, 0, 0) {
    Ok(offset) => offset,
    Err(_) => panic!("UTC+1 is an offset"),
};
const CEST: UtcOffset = match UtcOffset::from_hms(2, 0, 0) {
    Ok(offset) => offset,
    Err(_) => panic!("UTC+2 is an offset"),
};

/// The offset in force in Stockholm at the instant `at`.
pub fn offset_at(at: OffsetDateTime) -> UtcOffset {
    let utc = at.to_offset(UtcOffset::UTC);
    let one = Time::from_hms(1, 0, 0).expect("01:00 is a time");
    let start = PrimitiveDateTime::new(last_sunday(utc.year(), Month::March), one).assume_utc();
    let end = PrimitiveDateTime::new(last_sunday(utc.year(), Month::October), one).assume_utc();
    if utc >= start && utc < end { CEST } else { CET }
}

/// The instant of a Stockholm wall-clock time. In the spring gap (02:00–03:00 does not
/// exist) the time is read as winter time, i.e. it lands an hour later on the clock; in the
/// autumn overlap the earlier (summer-time) instant is taken.
pub fn from_local(local: PrimitiveDateTime) -> OffsetDateTime {
    let summer = local.assume_offset(CEST);
    if offset_at(summer) == CEST {
        summer
    } else {
        local.assume_offset(CET)
    }
}

/// `at` plus `months` calendar months in Stockholm local time: the same day of the month
/// (or that month's last day) at the same local time of day (EU Regulation 1182/71).
pub fn add_months_local(at: OffsetDateTime, months: u32) -> OffsetDateTime {
    let local = at.to_offset(offset_at(at));
    let shifted = crate::controls::add_months(local, months);
    from_local(PrimitiveDateTime::new(shifted.date(), shifted.time())).to_offset(UtcOffset::UTC)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn summer_time_runs_from_the_last_sunday_of_march_to_the_last_sunday_of_october() {
        assert_eq!(offset_at(datetime!(2026-03-29 00:59 UTC)), CET);
        assert_eq!(offset_at(datetime!(2026-03-29 01:00 UTC)), CEST);
        assert_eq!(offset_at(datetime!(2026-10-25 00:59 UTC)), CEST);
        assert_eq!(offset_at(datetime!(2026-10-25 01:00 UTC)), CET);
    }

    #[test]
    fn one_month_is_the_same_local_time_of_day_across_daylight_saving() {
        let rows = [
            (
                datetime!(2026-03-20 10:00 UTC),
                datetime!(2026-04-20 09:00 UTC),
            ),
            (
                datetime!(2026-01-31 10:00 UTC),
                datetime!(2026-02-28 10:00 UTC),
            ),
            (
                datetime!(2026-04-03 10:00 UTC),
                datetime!(2026-05-03 10:00 UTC),
            ),
            (
                datetime!(2026-10-10 12:00 UTC),
                datetime!(2026-11-10 13:00 UTC),
            ),
        ];
        for (sent, due) in rows {
            assert_eq!(add_months_local(sent, 1), due, "{sent}");
        }
    }
}
