//! Calendar dates as the platform uses them: `YYYY-MM-DD`, no time of day.
//!
//! Entries take effect and expire on dates, birth dates sit inside identity
//! numbers, and every decision is asked "as of" a date. A [`Date`] is a day
//! count since 1970-01-01 in a `i32`: four bytes, `Copy`, ordered by plain
//! integer comparison, so the hot path compares dates without parsing.
//!
//! "Today" is the date in China Standard Time (UTC+8, no daylight saving),
//! because the lists, their terms and their users are on Beijing time.
//!
//! ```
//! use creditgate::date::Date;
//! let d: Date = "2024-02-29".parse().unwrap();
//! assert_eq!(d.add_years(1).to_string(), "2025-02-28");
//! assert!("2023-02-29".parse::<Date>().is_err());
//! ```

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// A calendar date (proleptic Gregorian), stored as days since 1970-01-01.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(i32);

/// Why a string is not a date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    /// Not of the form `YYYY-MM-DD` with ASCII digits.
    #[error("expected a date as YYYY-MM-DD, found {found:?}")]
    Shape {
        /// The text that was given.
        found: String,
    },
    /// Well formed, but no such day exists.
    #[error("{found:?} is not a calendar date (month {month}, day {day} of year {year})")]
    NoSuchDay {
        /// The text that was given.
        found: String,
        /// Year as written.
        year: i32,
        /// Month as written.
        month: u32,
        /// Day as written.
        day: u32,
    },
}

/// Now, in milliseconds since the Unix epoch (0 if the clock is before it).
pub fn epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Offset of China Standard Time from UTC, in seconds.
const CST_OFFSET_SECS: i64 = 8 * 3600;

impl Date {
    /// The earliest year accepted anywhere (birth dates, list dates).
    pub const MIN_YEAR: i32 = 1800;
    /// The latest year accepted anywhere (terms of measures may run far ahead).
    pub const MAX_YEAR: i32 = 9999;

    /// Builds a date from its parts, or `None` when the day does not exist.
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Date> {
        if !(Self::MIN_YEAR..=Self::MAX_YEAR).contains(&year)
            || !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year, month)
        {
            return None;
        }
        Some(Date(days_from_civil(year, month, day)))
    }

    /// The date `days` after 1970-01-01 (negative: before).
    pub const fn from_days(days: i32) -> Date {
        Date(days)
    }

    /// Days since 1970-01-01.
    pub const fn days(self) -> i32 {
        self.0
    }

    /// Year, month and day.
    pub fn ymd(self) -> (i32, u32, u32) {
        civil_from_days(self.0)
    }

    /// The moment this day begins in China Standard Time, in milliseconds
    /// since the Unix epoch (0 for days before it).
    pub fn start_ms(self) -> u64 {
        (i64::from(self.0) * 86_400_000 - CST_OFFSET_SECS * 1000).max(0) as u64
    }

    /// A moment (milliseconds since the Unix epoch) in China Standard Time,
    /// as RFC 3339: `2026-12-01T18:34:24.123+08:00`.
    pub fn cst_timestamp(epoch_ms: u64) -> String {
        const DAY_MS: i64 = 86_400_000;
        let ms = epoch_ms as i64 + CST_OFFSET_SECS * 1000;
        let day = Date(ms.div_euclid(DAY_MS) as i32);
        let in_day = ms.rem_euclid(DAY_MS);
        format!(
            "{day}T{:02}:{:02}:{:02}.{:03}+08:00",
            in_day / 3_600_000,
            in_day / 60_000 % 60,
            in_day / 1000 % 60,
            in_day % 1000
        )
    }

    /// Today in China Standard Time.
    pub fn today() -> Date {
        Self::today_with_millis_left().0
    }

    /// Today in China Standard Time, and the milliseconds until it ends.
    fn today_with_millis_left() -> (Date, u64) {
        const DAY_MS: i64 = 86_400_000;
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64 * 1000 + i64::from(d.subsec_millis()))
            .unwrap_or(0)
            + CST_OFFSET_SECS * 1000;
        let left = DAY_MS - ms.rem_euclid(DAY_MS);
        (Date(ms.div_euclid(DAY_MS) as i32), left as u64)
    }

    /// The same day `years` later (or earlier, if negative); 29 February
    /// becomes 28 February in a year without it.
    pub fn add_years(self, years: i32) -> Date {
        let (y, m, d) = self.ymd();
        let y = y + years;
        let d = d.min(days_in_month(y, m));
        Date(days_from_civil(y, m, d))
    }

    /// The same day `months` later (or earlier, if negative); a day the
    /// month lacks becomes its last day (31 March + 1 month: 30 April).
    pub fn add_months(self, months: i32) -> Date {
        let (y, m, d) = self.ymd();
        let index = y * 12 + (m as i32 - 1) + months;
        let (y, m) = (index.div_euclid(12), index.rem_euclid(12) as u32 + 1);
        Date(days_from_civil(y, m, d.min(days_in_month(y, m))))
    }

    /// The day of the week: 1 Monday … 7 Sunday (ISO 8601).
    pub const fn weekday(self) -> u32 {
        // 1970-01-01 was a Thursday.
        ((self.0 as i64 + 3).rem_euclid(7) + 1) as u32
    }

    /// The date `days` days later (earlier if negative).
    pub const fn add_days(self, days: i32) -> Date {
        Date(self.0 + days)
    }

    /// Writes `YYYY-MM-DD` into a fixed buffer, without allocating.
    pub fn write_iso(self, out: &mut [u8; 10]) {
        let (y, m, d) = self.ymd();
        let y = y as u32;
        out[0] = b'0' + (y / 1000 % 10) as u8;
        out[1] = b'0' + (y / 100 % 10) as u8;
        out[2] = b'0' + (y / 10 % 10) as u8;
        out[3] = b'0' + (y % 10) as u8;
        out[4] = b'-';
        out[5] = b'0' + (m / 10) as u8;
        out[6] = b'0' + (m % 10) as u8;
        out[7] = b'-';
        out[8] = b'0' + (d / 10) as u8;
        out[9] = b'0' + (d % 10) as u8;
    }

    /// Parses the 8-digit compact form `YYYYMMDD` used inside identity numbers.
    pub fn parse_compact(digits: &[u8]) -> Option<Date> {
        if digits.len() != 8 || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let n = |r: std::ops::Range<usize>| {
            digits[r]
                .iter()
                .fold(0u32, |acc, &b| acc * 10 + u32::from(b - b'0'))
        };
        Date::from_ymd(n(0..4) as i32, n(4..6), n(6..8))
    }
}

impl FromStr for Date {
    type Err = DateError;

    fn from_str(s: &str) -> Result<Date, DateError> {
        let b = s.as_bytes();
        let shape_ok = b.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        if !shape_ok {
            return Err(DateError::Shape {
                found: s.to_string(),
            });
        }
        let num = |r: std::ops::Range<usize>| {
            b[r].iter()
                .fold(0u32, |acc, &c| acc * 10 + u32::from(c - b'0'))
        };
        let (year, month, day) = (num(0..4) as i32, num(5..7), num(8..10));
        Date::from_ymd(year, month, day).ok_or_else(|| DateError::NoSuchDay {
            found: s.to_string(),
            year,
            month,
            day,
        })
    }
}

/// Today's date for a server that already reads the monotonic clock per
/// request: [`DayClock::today`] derives the date from that reading and asks
/// the wall clock only about once a second (and at midnight), instead of on
/// every request.
///
/// The date turns at midnight (to the millisecond, as the wall clock had it
/// at the last reading), and a wall-clock step (NTP, an operator) is
/// followed within a second.
#[derive(Debug)]
pub struct DayClock {
    /// A date the clock is held at instead (rehearsals and tests).
    fixed: Option<Date>,
    anchor: Instant,
    /// `days << 40 | valid_until` (milliseconds after `anchor`, exclusive);
    /// zero before the first reading.
    state: AtomicU64,
}

const DAY_CLOCK_MS_BITS: u32 = 40;

impl Default for DayClock {
    fn default() -> DayClock {
        DayClock {
            fixed: None,
            anchor: Instant::now(),
            state: AtomicU64::new(0),
        }
    }
}

impl DayClock {
    /// A clock that always says `date` (`creditgate serve --today`).
    pub fn fixed(date: Date) -> DayClock {
        DayClock {
            fixed: Some(date),
            ..DayClock::default()
        }
    }

    /// Today in China Standard Time, as of `now`.
    pub fn today(&self, now: Instant) -> Date {
        if let Some(date) = self.fixed {
            return date;
        }
        let since = now.saturating_duration_since(self.anchor);
        let ms = since.as_secs() * 1000 + u64::from(since.subsec_millis());
        let state = self.state.load(Relaxed);
        let valid_until = state & ((1 << DAY_CLOCK_MS_BITS) - 1);
        if ms < valid_until {
            return Date((state >> DAY_CLOCK_MS_BITS) as i32);
        }
        let (today, millis_left) = Date::today_with_millis_left();
        // Today's dates are after 1970, so the day count is positive.
        let days = today.0.max(0) as u64;
        let valid_until = (ms + millis_left.min(1000)).min((1 << DAY_CLOCK_MS_BITS) - 1);
        self.state
            .store(days << DAY_CLOCK_MS_BITS | valid_until, Relaxed);
        today
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 10];
        self.write_iso(&mut buf);
        // The buffer holds only ASCII digits and dashes.
        f.write_str(std::str::from_utf8(&buf).expect("ASCII date"))
    }
}

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl serde::Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 10];
        self.write_iso(&mut buf);
        s.serialize_str(std::str::from_utf8(&buf).expect("ASCII date"))
    }
}

impl<'de> serde::Deserialize<'de> for Date {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(year) => 29,
        _ => 28,
    }
}

// Howard Hinnant's `days_from_civil` / `civil_from_days` (public domain
// algorithms, "chrono-Compatible Low-Level Date Algorithms").
fn days_from_civil(y: i32, m: u32, d: u32) -> i32 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400) as u32;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe as i32 - 719_468
}

fn civil_from_days(z: i32) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097) as u32;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe as i32 + era * 400 + i32::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    #[test]
    fn months_and_weekdays() {
        let d = |s: &str| s.parse::<super::Date>().unwrap();
        assert_eq!(d("2026-03-31").add_months(1), d("2026-04-30"));
        assert_eq!(d("2026-01-31").add_months(1), d("2026-02-28"));
        assert_eq!(d("2024-02-29").add_months(12), d("2025-02-28"));
        assert_eq!(d("2026-11-15").add_months(3), d("2027-02-15"));
        assert_eq!(d("2026-02-15").add_months(-3), d("2025-11-15"));
        assert_eq!(d("2026-12-05").add_months(36), d("2029-12-05"));
        assert_eq!(d("1970-01-01").weekday(), 4);
        assert_eq!(d("2026-12-05").weekday(), 6);
        assert_eq!(d("2026-12-07").weekday(), 1);
        assert_eq!(d("1969-12-28").weekday(), 7);
    }

    #[test]
    fn timestamps_are_in_china_standard_time() {
        assert_eq!(Date::cst_timestamp(0), "1970-01-01T08:00:00.000+08:00");
        // 2026-12-01 10:34:24.123 UTC
        assert_eq!(
            Date::cst_timestamp(1_796_121_264_123),
            "2026-12-01T18:34:24.123+08:00"
        );
    }

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn epoch_and_known_days() {
        assert_eq!(Date::from_ymd(1970, 1, 1).unwrap().days(), 0);
        assert_eq!(Date::from_ymd(2000, 3, 1).unwrap().days(), 11_017);
        assert_eq!("2019-03-01".parse::<Date>().unwrap().ymd(), (2019, 3, 1));
    }

    #[test]
    fn rejects_impossible_days_and_bad_shapes() {
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-00-10",
            "2024-04-31",
            "1900-02-29",
        ] {
            assert!(
                matches!(bad.parse::<Date>(), Err(DateError::NoSuchDay { .. })),
                "{bad}"
            );
        }
        for bad in [
            "2024-1-01",
            "20240101",
            "2024/01/01",
            "",
            "２０２４-01-01",
            "2024-01-01 ",
        ] {
            assert!(
                matches!(bad.parse::<Date>(), Err(DateError::Shape { .. })),
                "{bad}"
            );
        }
        assert!("2000-02-29".parse::<Date>().is_ok());
    }

    #[test]
    fn add_years_clamps_leap_day() {
        let d: Date = "2024-02-29".parse().unwrap();
        assert_eq!(d.add_years(-3).to_string(), "2021-02-28");
        assert_eq!(d.add_years(4).to_string(), "2028-02-29");
    }

    #[test]
    fn compact_birth_date() {
        assert_eq!(
            Date::parse_compact(b"19880101").map(|d| d.to_string()),
            Some("1988-01-01".into())
        );
        assert_eq!(Date::parse_compact(b"19880230"), None);
        assert_eq!(Date::parse_compact(b"1988010"), None);
    }

    #[test]
    fn today_is_plausible() {
        let t = Date::today();
        assert!(t.ymd().0 >= 2025, "{t}");
    }

    #[test]
    fn day_clock_agrees_with_the_wall_clock() {
        let clock = DayClock::default();
        let now = Instant::now();
        let before = Date::today();
        let cached = clock.today(now);
        let again = clock.today(now + std::time::Duration::from_millis(10));
        let after = Date::today();
        // Midnight may fall between the readings, never outside them.
        assert!(
            before <= cached && cached <= after,
            "{before} {cached} {after}"
        );
        assert!(cached <= again && again <= after);
        // Past the one-second validity it reads the wall clock again.
        let later = clock.today(now + std::time::Duration::from_secs(2));
        assert!(later >= cached && later <= Date::today());
    }

    proptest! {
        #[test]
        fn days_round_trip_through_text(days in -60_000i32..2_900_000) {
            let d = Date::from_days(days);
            let text = d.to_string();
            prop_assert_eq!(text.parse::<Date>().unwrap(), d);
            let (y, m, dd) = d.ymd();
            prop_assert_eq!(Date::from_ymd(y, m, dd), Some(d));
        }
    }
}
