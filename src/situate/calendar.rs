//! Working days and due dates (限时办结).
//!
//! A time limit is counted in working days: Monday to Friday, except public holidays, plus the
//! weekend days that the State Council's yearly notice makes working days (调休上班). Those lists
//! change every year, so they live in the rules (`rules/calendar.yaml`), and a date in a year the
//! calendar does not cover is an error with a clear message, never a silent guess.
//!
//! The due date of an order received on day D with a limit of N working days is the N-th working
//! day after D: the day of receipt does not count, whether or not it is a working day.
//!
//! Dates are plain civil dates (jiff's `civil::Date`; no time zone); a received time is turned
//! into a date in China Standard Time (UTC+8), which has no daylight saving. The date arithmetic
//! is jiff's; the working-day calendar with its 调休 is this module's.

use std::collections::{BTreeSet, HashSet};
use std::fmt;

use jiff::civil;
use jiff::tz::Offset;

/// A civil date (jiff's `civil::Date`: proleptic Gregorian, years 1 to 9999 here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(civil::Date);

/// China Standard Time: UTC+8 all year (no daylight saving since 1991).
const CHINA: Offset = Offset::constant(8);

/// How many days before the calendar ends the server says so (log, metrics, console).
pub const ENDS_SOON_DAYS: i64 = 30;

/// The first second, in seconds since 1970, of the years 0001 to 9999 in China time:
/// 0001-01-01 00:00:00 +08:00. The range is China time at both ends because the date it gives
/// (a received date, `YYYY-MM-DD`) is China time.
pub const FIRST_SECOND_CHINA: i64 = -62_135_596_800 - 8 * 3600;
/// The last second of the years 0001 to 9999 in China time: 9999-12-31 23:59:59 +08:00.
pub const LAST_SECOND_CHINA: i64 = 253_402_300_799 - 8 * 3600;

impl Date {
    pub fn from_ymd(y: i32, m: u32, d: u32) -> Option<Date> {
        let y = i16::try_from(y).ok().filter(|y| (1..=9999).contains(y))?;
        let date = civil::Date::new(y, i8::try_from(m).ok()?, i8::try_from(d).ok()?).ok()?;
        Some(Date(date))
    }

    /// Parses `YYYY-MM-DD` (exactly: four, two and two digits).
    pub fn parse(s: &str) -> Option<Date> {
        let mut parts = s.trim().splitn(3, '-');
        let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
        let digits = |p: &str, n: usize| p.len() == n && p.bytes().all(|b| b.is_ascii_digit());
        if !(digits(y, 4) && digits(m, 2) && digits(d, 2)) {
            return None;
        }
        Date::from_ymd(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
    }

    /// The date in China Standard Time (UTC+8) of a Unix timestamp; `None` outside the years
    /// 0001 to 9999 there ([`FIRST_SECOND_CHINA`] to [`LAST_SECOND_CHINA`]).
    pub fn from_unix_china(seconds: i64) -> Option<Date> {
        if !(FIRST_SECOND_CHINA..=LAST_SECOND_CHINA).contains(&seconds) {
            return None;
        }
        // Counted in days from 1970 rather than through jiff's Timestamp, whose range ends on
        // 9999-12-30 (so that any offset keeps it a civil date) and starts before year 0001.
        let days = (seconds + 8 * 3600).div_euclid(86_400);
        let span = jiff::Span::new().try_days(days).ok()?;
        civil::date(1970, 1, 1).checked_add(span).ok().map(Date)
    }

    /// The first millisecond of this day in China, in milliseconds since 1970.
    pub fn start_ms_china(self) -> i64 {
        let midnight = self.0.to_datetime(civil::time(0, 0, 0, 0));
        CHINA
            .to_timestamp(midnight)
            .map(|t| t.as_millisecond())
            .unwrap_or(0)
    }

    pub fn ymd(self) -> (i32, u32, u32) {
        let d = self.0;
        (
            i32::from(d.year()),
            u32::try_from(d.month()).unwrap_or(0),
            u32::try_from(d.day()).unwrap_or(0),
        )
    }

    pub fn year(self) -> i32 {
        i32::from(self.0.year())
    }

    /// 0 = Monday … 6 = Sunday.
    pub fn weekday(self) -> u32 {
        u32::try_from(self.0.weekday().to_monday_zero_offset()).unwrap_or(0)
    }

    /// The next day, or `None` after 9999-12-31.
    pub fn next(self) -> Option<Date> {
        self.0.tomorrow().ok().map(Date)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

/// Seconds since 1970 as China time, `YYYY-MM-DD HH:MM:SS`; `None` outside the years 0001 to
/// 9999.
pub(crate) fn china_clock(secs: i64) -> Option<String> {
    let d = Date::from_unix_china(secs)?;
    let s = (secs + 8 * 3600).rem_euclid(86_400);
    Some(format!(
        "{d} {:02}:{:02}:{:02}",
        s / 3600,
        s % 3600 / 60,
        s % 60
    ))
}

/// A time in milliseconds since 1970 as China time, `YYYY-MM-DD HH:MM:SS +08:00` (as a message
/// or a terminal shows it; outside the years 0001 to 9999, the milliseconds themselves).
pub(crate) fn china_time_ms(ms: i64) -> String {
    china_clock(ms.div_euclid(1000))
        .map_or_else(|| format!("{ms} ms since 1970"), |c| format!("{c} +08:00"))
}

/// The working-day calendar of the rule set.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    years: BTreeSet<i32>,
    holidays: HashSet<Date>,
    workdays: HashSet<Date>,
}

impl Calendar {
    pub fn new(years: BTreeSet<i32>, holidays: HashSet<Date>, workdays: HashSet<Date>) -> Self {
        Calendar {
            years,
            holidays,
            workdays,
        }
    }

    pub fn years(&self) -> &BTreeSet<i32> {
        &self.years
    }

    /// The first millisecond (China time, since 1970) after the last year the calendar covers:
    /// from then on no due date can be computed. `None` for a calendar of no year.
    pub fn covered_until_ms(&self) -> Option<i64> {
        let last = *self.years.last()?;
        Date::from_ymd(last.checked_add(1)?, 1, 1).map(Date::start_ms_china)
    }

    /// Days from `now_ms` until the calendar ends (negative once it has), `None` for a calendar
    /// of no year. Under [`ENDS_SOON_DAYS`] the server warns (log, console).
    pub fn days_left(&self, now_ms: i64) -> Option<i64> {
        Some((self.covered_until_ms()? - now_ms).div_euclid(86_400_000))
    }

    /// Whether `d` is a working day; an error when the calendar does not cover its year.
    pub fn is_working_day(&self, d: Date) -> Result<bool, String> {
        if !self.years.contains(&d.year()) {
            let covered: Vec<String> = self.years.iter().map(i32::to_string).collect();
            // In Chinese: operators read it beside the due date, as they read `reason`.
            return Err(format!(
                "工作日历没有 {} 年（现有：{}），算不出到期日；请在 rules/calendar.yaml 补上该年的节假日和调休",
                d.year(),
                if covered.is_empty() {
                    "无".to_owned()
                } else {
                    covered.join("、")
                }
            ));
        }
        Ok(self.workdays.contains(&d) || (!self.holidays.contains(&d) && d.weekday() < 5))
    }

    /// The `n`-th working day after `received`.
    pub fn due_date(&self, received: Date, n: u32) -> Result<Date, String> {
        let mut d = received;
        let mut counted = 0;
        while counted < n {
            d = d
                .next()
                .ok_or_else(|| format!("{received} 之后已无日期（9999 年末），算不出到期日"))?;
            if self.is_working_day(d)? {
                counted += 1;
            }
        }
        Ok(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    #[test]
    fn civil_dates_round_trip_and_weekdays() {
        assert_eq!(d("1970-01-01").weekday(), 3); // Thursday
        assert_eq!(d("2026-11-28").to_string(), "2026-11-28");
        assert_eq!(d("2026-11-28").weekday(), 5); // Saturday
        assert_eq!(d("2024-02-29").to_string(), "2024-02-29");
        assert!(Date::parse("2025-02-29").is_none());
        assert!(Date::parse("2025-13-01").is_none());
        assert!(Date::parse("25-01-01").is_none());
        assert!(Date::parse("").is_none());
        assert!(Date::parse("+202-01-01").is_none());
        assert!(Date::from_unix_china(i64::MAX).is_none());
        assert!(Date::from_unix_china(i64::MIN).is_none());
        // 2025-11-28 23:59:59 and 2025-11-29 00:00:00 in China (UTC+8).
        assert_eq!(
            Date::from_unix_china(1_764_345_599).unwrap().to_string(),
            "2025-11-28"
        );
        assert_eq!(
            Date::from_unix_china(1_764_345_600).unwrap().to_string(),
            "2025-11-29"
        );
    }

    #[test]
    fn unix_times_have_a_china_date_in_the_years_0001_to_9999_only() {
        let date = |s| Date::from_unix_china(s).map(|d| d.to_string());
        // 0001-01-01 00:00:00 +08:00, and the second before it.
        assert_eq!(date(-62_135_625_600).as_deref(), Some("0001-01-01"));
        assert_eq!(date(-62_135_625_601), None);
        // 0001-01-01T00:00:00Z, protobuf's first Timestamp, is 08:00 in China.
        assert_eq!(date(-62_135_596_800).as_deref(), Some("0001-01-01"));
        assert_eq!(date(-100_000_000_000), None);
        assert_eq!(date(-377_705_023_201), None);
        // 9999-12-31 23:59:59 +08:00, and the second after it (10000-01-01 in China).
        assert_eq!(date(253_402_271_999).as_deref(), Some("9999-12-31"));
        assert_eq!(date(253_402_272_000), None);
        assert_eq!(date(253_402_300_799), None);
        // Whole days either side of 1970 (UTC+8: 1970-01-01 00:00 is -28,800 s).
        assert_eq!(date(-28_800).as_deref(), Some("1970-01-01"));
        assert_eq!(date(-28_801).as_deref(), Some("1969-12-31"));
        assert_eq!(
            super::china_clock(253_402_271_999).as_deref(),
            Some("9999-12-31 23:59:59")
        );
        assert_eq!(
            super::china_clock(-62_135_625_600).as_deref(),
            Some("0001-01-01 00:00:00")
        );
    }

    #[test]
    fn due_dates_skip_weekends_and_holidays_and_count_adjusted_days() {
        // Labour Day 2026: 1–5 May off, Saturday 9 May worked.
        let holidays = ["2026-05-01", "2026-05-04", "2026-05-05"]
            .map(d)
            .into_iter()
            .collect();
        let workdays = [d("2026-05-09")].into_iter().collect();
        let cal = Calendar::new([2026].into_iter().collect(), holidays, workdays);
        // Received Thursday 30 April: working days are 6, 7, 8, 9 (Sat, adjusted), 11 May…
        assert_eq!(cal.due_date(d("2026-04-30"), 1).unwrap(), d("2026-05-06"));
        assert_eq!(cal.due_date(d("2026-04-30"), 4).unwrap(), d("2026-05-09"));
        assert_eq!(cal.due_date(d("2026-04-30"), 5).unwrap(), d("2026-05-11"));
        assert!(
            cal.due_date(d("2026-12-30"), 5)
                .unwrap_err()
                .contains("工作日历没有 2027 年")
        );
    }
}
