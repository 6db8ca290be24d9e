//! The pages, one module per area.

pub mod errors;
pub mod home;
pub mod layout;
pub mod signin;

use crate::i18n::Lang;

/// The field violations of an INVALID_ARGUMENT, each as (field, what to show next to it):
/// the documented reason code in the user's language, the service's English description
/// for a code the catalogue does not know.
pub fn violations(lang: Lang, status: &tonic::Status) -> Vec<(String, String)> {
    use tonic_types::StatusExt as _;
    let Some(bad_request) = status.get_details_bad_request() else {
        return vec![(String::new(), status.message().to_owned())];
    };
    bad_request
        .field_violations
        .iter()
        .map(|violation| {
            let key = format!("reason-{}", violation.reason);
            let translated = lang.t(&key);
            let text = if translated == key || violation.reason.is_empty() {
                violation.description.clone()
            } else {
                translated
            };
            (violation.field.clone(), text)
        })
        .collect()
}

/// A time as people in Sweden read it: Europe/Stockholm, with the zone's abbreviation
/// (`2026-03-30 10:00 CEST`).
pub fn when(at: &prost_types::Timestamp) -> String {
    let Ok(utc) = time::OffsetDateTime::from_unix_timestamp(at.seconds) else {
        return String::new();
    };
    let (offset, zone) = stockholm_offset(utc);
    let local = utc.to_offset(offset);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} {zone}",
        local.year(),
        u8::from(local.month()),
        local.day(),
        local.hour(),
        local.minute()
    )
}

/// Stockholm's offset at `utc`: CEST from the last Sunday of March 01:00 UTC to the last
/// Sunday of October 01:00 UTC (the EU rule), CET otherwise.
fn stockholm_offset(utc: time::OffsetDateTime) -> (time::UtcOffset, &'static str) {
    let last_sunday = |month: time::Month| {
        let mut day = time::Date::from_calendar_date(utc.year(), month, 31).expect("31st exists");
        while day.weekday() != time::Weekday::Sunday {
            day = day.previous_day().expect("a day before");
        }
        day.with_hms(1, 0, 0).expect("01:00").assume_utc()
    };
    let summer = utc >= last_sunday(time::Month::March) && utc < last_sunday(time::Month::October);
    if summer {
        (time::UtcOffset::from_hms(2, 0, 0).expect("+2"), "CEST")
    } else {
        (time::UtcOffset::from_hms(1, 0, 0).expect("+1"), "CET")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_in_stockholm_with_the_zone() {
        let at = |s: i64| prost_types::Timestamp {
            seconds: s,
            nanos: 0,
        };
        // 2026-03-30 08:00 UTC is 10:00 summer time; 2026-01-15 12:00 UTC is 13:00 CET.
        assert_eq!(when(&at(1_774_857_600)), "2026-03-30 10:00 CEST");
        assert_eq!(when(&at(1_768_478_400)), "2026-01-15 13:00 CET");
        // The switch: 2026-03-29 00:59 UTC is CET, 01:00 UTC is CEST.
        assert_eq!(when(&at(1_774_745_940)), "2026-03-29 01:59 CET");
        assert_eq!(when(&at(1_774_746_000)), "2026-03-29 03:00 CEST");
    }

    #[test]
    fn every_reason_code_reads_in_both_languages() {
        for reason in tillit_kernel::Reason::ALL {
            for lang in [Lang::Sv, Lang::En] {
                let key = format!("reason-{}", reason.code());
                assert_ne!(lang.t(&key), key, "{key} in {lang:?}");
            }
        }
    }
}
