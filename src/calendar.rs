//! The working-day calendar: which days are working days in China, for the
//! 7-working-day rule of 双公示 (the plan's item 十六: licensing and penalty
//! decisions published "在7个工作日内").
//!
//! A day is a working day when it is Monday to Friday and not a public
//! holiday, or when it is a weekend day worked in exchange (调休上班). The
//! State Council fixes both each year, so they are data: the bundled
//! `data/calendar.toml` (2016–2027, each year with its source and whether
//! it was verified), which an operator may replace (`serve --calendar`).
//! A year the file does not cover counts Monday to Friday only; answers
//! that relied on such a year say so ([`Count::covered`]).

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use serde::Deserialize;

use crate::date::Date;

/// The calendar shipped with the binary.
const BUNDLED: &str = include_str!("../data/calendar.toml");

/// Working days a licensing or penalty decision has to be published in.
pub const DISCLOSURE_WORKING_DAYS: u32 = 7;

/// Why a calendar file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    /// The file cannot be read.
    #[error("{path}: cannot read the calendar: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Not valid TOML, or not of the calendar's shape (the message has the
    /// line).
    #[error("{path}: {message}")]
    Syntax {
        /// The file.
        path: String,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A year is inconsistent.
    #[error("{path}: year {year}: {problem}")]
    Year {
        /// The file.
        path: String,
        /// The year.
        year: i32,
        /// What is wrong.
        problem: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarFile {
    year: Vec<YearFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YearFile {
    year: i32,
    source: String,
    verified: bool,
    holidays: Vec<Date>,
    workdays: Vec<Date>,
}

/// What the calendar knows of one year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Year {
    /// Where its days come from.
    pub source: String,
    /// Whether they were checked against the published notice.
    pub verified: bool,
}

/// The working-day calendar.
#[derive(Debug, Clone)]
pub struct WorkCalendar {
    holidays: HashSet<Date>,
    workdays: HashSet<Date>,
    years: BTreeMap<i32, Year>,
}

/// A count of working days, and whether every day counted lay in a year
/// the calendar covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    /// Working days.
    pub days: u32,
    /// False when a day counted fell in a year the file does not have
    /// (counted Monday to Friday).
    pub covered: bool,
}

impl WorkCalendar {
    /// The bundled calendar (`data/calendar.toml`), parsed once.
    pub fn bundled() -> WorkCalendar {
        static BUNDLED_CALENDAR: std::sync::OnceLock<WorkCalendar> = std::sync::OnceLock::new();
        BUNDLED_CALENDAR
            .get_or_init(|| {
                WorkCalendar::from_toml(BUNDLED, "data/calendar.toml")
                    .expect("the bundled calendar is checked by its tests")
            })
            .clone()
    }

    /// Reads a calendar file.
    pub fn load(path: &Path) -> Result<WorkCalendar, CalendarError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| CalendarError::Read {
            path: origin.clone(),
            source,
        })?;
        WorkCalendar::from_toml(&text, &origin)
    }

    /// Parses and checks a calendar; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<WorkCalendar, CalendarError> {
        let file: CalendarFile = toml::from_str(text).map_err(|e| CalendarError::Syntax {
            path: origin.to_string(),
            message: e.to_string(),
        })?;
        let mut calendar = WorkCalendar {
            holidays: HashSet::new(),
            workdays: HashSet::new(),
            years: BTreeMap::new(),
        };
        for y in file.year {
            let err = |problem: String| CalendarError::Year {
                path: origin.to_string(),
                year: y.year,
                problem,
            };
            if y.source.trim().is_empty() {
                return Err(err(
                    "source is empty: name the notice the days come from".into()
                ));
            }
            let year = Year {
                source: y.source.trim().to_string(),
                verified: y.verified,
            };
            if calendar.years.insert(y.year, year).is_some() {
                return Err(err("given twice".into()));
            }
            for (field, days) in [("holidays", &y.holidays), ("workdays", &y.workdays)] {
                for day in days {
                    if day.ymd().0 != y.year {
                        return Err(err(format!("{field}: {day} is not in {}", y.year)));
                    }
                    if calendar.holidays.contains(day) || calendar.workdays.contains(day) {
                        return Err(err(format!("{field}: {day} is listed twice")));
                    }
                    if field == "workdays" {
                        if day.weekday() <= 5 {
                            return Err(err(format!(
                                "workdays: {day} is a weekday; list only weekend days worked in exchange"
                            )));
                        }
                        calendar.workdays.insert(*day);
                    } else {
                        calendar.holidays.insert(*day);
                    }
                }
            }
        }
        Ok(calendar)
    }

    /// Whether `day` is a working day.
    pub fn is_working_day(&self, day: Date) -> bool {
        if self.workdays.contains(&day) {
            return true;
        }
        day.weekday() <= 5 && !self.holidays.contains(&day)
    }

    /// Whether the calendar has `day`'s year.
    pub fn covers(&self, day: Date) -> bool {
        self.years.contains_key(&day.ymd().0)
    }

    /// The years the calendar has, with their sources.
    pub fn years(&self) -> impl Iterator<Item = (i32, &Year)> {
        self.years.iter().map(|(y, info)| (*y, info))
    }

    /// The working days after `from` up to and including `to`: 0 when `to`
    /// is not after `from`. A decision made on a Friday and published the
    /// next Monday took 1 working day.
    pub fn working_days_between(&self, from: Date, to: Date) -> Count {
        let mut count = Count {
            days: 0,
            covered: true,
        };
        let mut day = from.add_days(1);
        while day <= to {
            if !self.covers(day) {
                count.covered = false;
            }
            if self.is_working_day(day) {
                count.days += 1;
            }
            day = day.add_days(1);
        }
        count
    }

    /// The `n`th working day after `from`: the last day a decision of
    /// `from` may be published on when it has `n` working days.
    pub fn nth_working_day_after(&self, from: Date, n: u32) -> Date {
        let mut day = from;
        let mut left = n;
        while left > 0 {
            day = day.add_days(1);
            if self.is_working_day(day) {
                left -= 1;
            }
        }
        day
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn bundled_calendar_covers_2016_to_2027() {
        let c = WorkCalendar::bundled();
        let years: Vec<i32> = c.years().map(|(y, _)| y).collect();
        assert_eq!(years, (2016..=2027).collect::<Vec<_>>());
        // Only 2027 lacks its notice.
        let unverified: Vec<i32> = c
            .years()
            .filter(|(_, y)| !y.verified)
            .map(|(y, _)| y)
            .collect();
        assert_eq!(unverified, [2027]);
    }

    #[test]
    fn holidays_and_exchanged_weekends() {
        let c = WorkCalendar::bundled();
        // 2026 National Day: 1-7 October off, Saturday 10 October worked.
        assert!(!c.is_working_day(d("2026-10-01")));
        assert!(!c.is_working_day(d("2026-10-07")));
        assert!(c.is_working_day(d("2026-10-08")));
        assert!(c.is_working_day(d("2026-10-10")), "exchanged Saturday");
        assert!(!c.is_working_day(d("2026-10-11")), "plain Sunday");
        // 2017 Spring Festival (the notice's text): 27 January to 2 February
        // off, Sunday 22 January and Saturday 4 February worked.
        for off in ["2017-01-27", "2017-01-30", "2017-02-02"] {
            assert!(!c.is_working_day(d(off)), "{off}");
        }
        for on in ["2017-01-22", "2017-02-04", "2017-02-03"] {
            assert!(c.is_working_day(d(on)), "{on}");
        }
    }

    #[test]
    fn seven_working_days_across_a_holiday_and_an_exchanged_weekend() {
        let c = WorkCalendar::bundled();
        // Decided Thursday 24 September 2026: Mid-Autumn 25-27 September
        // and National Day 1-7 October are off, Saturday 10 October is
        // worked. Working days after it: 28, 29, 30 September, 8, 9, 10
        // (Saturday, exchanged) and 12 October.
        let decided = d("2026-09-24");
        assert_eq!(c.nth_working_day_after(decided, 7), d("2026-10-12"));
        let on_time = c.working_days_between(decided, d("2026-10-12"));
        assert_eq!(
            on_time,
            Count {
                days: 7,
                covered: true
            }
        );
        assert_eq!(c.working_days_between(decided, d("2026-10-13")).days, 8);
        assert_eq!(c.working_days_between(decided, d("2026-10-10")).days, 6);
        // Counted Monday to Friday, it would have been late after 5 October.
        let plain = WorkCalendar::from_toml("year = []", "x").unwrap();
        assert_eq!(plain.nth_working_day_after(decided, 7), d("2026-10-05"));
        assert!(!plain.working_days_between(decided, d("2026-10-05")).covered);
        assert_eq!(c.working_days_between(decided, decided).days, 0);
        assert_eq!(c.working_days_between(decided, d("2026-09-01")).days, 0);
    }

    #[test]
    fn a_bad_file_is_refused_with_its_year() {
        let year =
            |body: &str| format!("[[year]]\nyear = 2026\nsource = \"x\"\nverified = true\n{body}");
        let err = |text: &str| {
            WorkCalendar::from_toml(text, "cal.toml")
                .unwrap_err()
                .to_string()
        };
        assert!(
            err(&year("holidays = [\"2025-10-01\"]\nworkdays = []"))
                .contains("year 2026: holidays: 2025-10-01 is not in 2026"),
        );
        assert!(err(&year("holidays = []\nworkdays = [\"2026-10-09\"]")).contains("is a weekday"));
        assert!(
            err(&year(
                "holidays = [\"2026-10-10\"]\nworkdays = [\"2026-10-10\"]"
            ))
            .contains("listed twice")
        );
        let twice = format!(
            "{}\n{}",
            year("holidays = []\nworkdays = []"),
            year("holidays = []\nworkdays = []")
        );
        assert!(err(&twice).contains("given twice"));
        let e = err(&year("holidays = []\nworkdays = []\nextra = 1"));
        assert!(e.contains("cal.toml") && e.contains("extra"), "{e}");
        assert!(err(&year("holidays = [\"2026-02-30\"]\nworkdays = []")).contains("line"));
    }
}
