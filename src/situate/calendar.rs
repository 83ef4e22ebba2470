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
//! Dates are plain civil dates (no time zone); a received time is turned into a date in China
//! Standard Time (UTC+8), which has no daylight saving.

use std::collections::{BTreeSet, HashSet};
use std::fmt;

/// A civil date, as days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(i64);

/// Howard Hinnant's `days_from_civil`: proleptic Gregorian calendar.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

impl Date {
    pub fn from_ymd(y: i32, m: u32, d: u32) -> Option<Date> {
        let date = Date(days_from_civil(i64::from(y), m, d));
        (date.ymd() == (y, m, d)).then_some(date)
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Option<Date> {
        let mut parts = s.trim().splitn(3, '-');
        let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
        if y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return None;
        }
        Date::from_ymd(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
    }

    /// The date in China Standard Time (UTC+8) of a Unix timestamp.
    pub fn from_unix_china(seconds: i64) -> Date {
        Date((seconds + 8 * 3600).div_euclid(86_400))
    }

    pub fn ymd(self) -> (i32, u32, u32) {
        let (y, m, d) = civil_from_days(self.0);
        (i32::try_from(y).unwrap_or(i32::MAX), m, d)
    }

    pub fn year(self) -> i32 {
        self.ymd().0
    }

    /// 0 = Monday … 6 = Sunday.
    pub fn weekday(self) -> u32 {
        // 1970-01-01 was a Thursday (3).
        (self.0 + 3).rem_euclid(7) as u32
    }

    pub fn next(self) -> Date {
        Date(self.0 + 1)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
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

    /// Whether `d` is a working day; an error when the calendar does not cover its year.
    pub fn is_working_day(&self, d: Date) -> Result<bool, String> {
        if !self.years.contains(&d.year()) {
            let covered: Vec<String> = self.years.iter().map(i32::to_string).collect();
            return Err(format!(
                "the working-day calendar does not cover {} (it covers {}); add that year's holidays to rules/calendar.yaml",
                d.year(),
                if covered.is_empty() {
                    "no year".to_owned()
                } else {
                    covered.join(", ")
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
            d = d.next();
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
        assert_eq!(d("1970-01-01").0, 0);
        assert_eq!(d("2026-11-28").to_string(), "2026-11-28");
        assert_eq!(d("2026-11-28").weekday(), 5); // Saturday
        assert_eq!(d("2024-02-29").to_string(), "2024-02-29");
        assert!(Date::parse("2025-02-29").is_none());
        assert!(Date::parse("2025-13-01").is_none());
        assert!(Date::parse("25-01-01").is_none());
        assert!(Date::parse("").is_none());
        // 2025-11-28 23:59:59 and 2025-11-29 00:00:00 in China (UTC+8).
        assert_eq!(
            Date::from_unix_china(1_764_345_599).to_string(),
            "2025-11-28"
        );
        assert_eq!(
            Date::from_unix_china(1_764_345_600).to_string(),
            "2025-11-29"
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
                .contains("does not cover 2027")
        );
    }
}
