//! One time interval in Alertmanager's syntax (`times`, `weekdays`, `days_of_month`, `months`,
//! `years`, `location`), parsed once and evaluated at an instant; pure.

use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

/// Seconds in a day: `24:00` as an end time.
const DAY: u32 = 86_400;

/// One entry of a named interval's `time_intervals`, as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeIntervalConfig {
    #[serde(default)]
    pub times: Vec<TimeRangeConfig>,
    #[serde(default)]
    pub weekdays: Vec<Item>,
    #[serde(default)]
    pub days_of_month: Vec<Item>,
    #[serde(default)]
    pub months: Vec<Item>,
    #[serde(default)]
    pub years: Vec<Item>,
    /// A time-zone database name (`Europe/Amsterdam`); UTC when absent.
    #[serde(default)]
    pub location: Option<String>,
}

/// `start_time` (inclusive) to `end_time` (exclusive), `HH:MM` (or `HH:MM:SS`), up to `24:00`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeRangeConfig {
    pub start_time: String,
    pub end_time: String,
}

/// A list item written as text (`monday:friday`, `-3:-1`) or as a bare number (`2026`, `15`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Item {
    Number(i64),
    Text(String),
}

impl Item {
    fn text(&self) -> String {
        match self {
            Item::Number(n) => n.to_string(),
            Item::Text(t) => t.trim().to_owned(),
        }
    }
}

/// A compiled time interval: an instant is in it when it is in every list given (an empty list
/// is any), read in its `location`.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeInterval {
    /// Seconds of the day, start inclusive, end exclusive.
    times: Vec<(u32, u32)>,
    /// 0 = Sunday .. 6 = Saturday, as Alertmanager numbers them.
    weekdays: Vec<(u32, u32)>,
    /// 1..=31, or -31..=-1 counted from the month's end (-1 is its last day).
    days_of_month: Vec<(i32, i32)>,
    months: Vec<(u32, u32)>,
    years: Vec<(i32, i32)>,
    location: Option<Tz>,
}

/// What is wrong with one field of a time interval: the field and why.
pub(super) type Invalid = (&'static str, String);

const WEEKDAYS: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];
const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

impl TimeInterval {
    /// Checks and compiles one written interval.
    pub fn parse(config: &TimeIntervalConfig) -> Result<Self, Invalid> {
        let times = config
            .times
            .iter()
            .map(|range| {
                let start = clock(&range.start_time).map_err(|why| ("times.start_time", why))?;
                let end = clock(&range.end_time).map_err(|why| ("times.end_time", why))?;
                if start >= end {
                    let why = format!(
                        "{:?} is not after start_time {:?}: a range ends later the same day \
                         (write two ranges to cross midnight)",
                        range.end_time, range.start_time
                    );
                    return Err(("times.end_time", why));
                }
                Ok((start, end))
            })
            .collect::<Result<_, _>>()?;
        let weekdays = ranges(&config.weekdays, |t| named(t, &WEEKDAYS, 0)).map_err(|why| {
            let why = if why.contains("ends before") {
                format!("{why}: a week runs from sunday to saturday (write saturday, sunday)")
            } else {
                why
            };
            ("weekdays", why)
        })?;
        let months =
            ranges(&config.months, |t| named(t, &MONTHS, 1)).map_err(|why| ("months", why))?;
        let years = ranges(&config.years, |t| {
            t.parse::<i32>()
                .ok()
                .filter(|y| (1..=9999).contains(y))
                .ok_or_else(|| format!("{t:?} is not a year"))
        })
        .map_err(|why| ("years", why))?;
        let days_of_month = days(&config.days_of_month).map_err(|why| ("days_of_month", why))?;
        let location = match config.location.as_deref().map(str::trim) {
            None => None,
            Some(name) => Some(Tz::from_str(name).map_err(|_| {
                let why = format!(
                    "{name:?} is not in the time-zone database: write a name like \
                     Europe/Amsterdam, America/New_York or UTC"
                );
                ("location", why)
            })?),
        };
        Ok(Self {
            times,
            weekdays,
            days_of_month,
            months,
            years,
            location,
        })
    }

    /// Whether `at` is in the interval.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        let local = self.local(at);
        let date = local.date();
        let second = local.time().num_seconds_from_midnight();
        let within = |ranges: &[(u32, u32)], value: u32| {
            ranges.is_empty() || ranges.iter().any(|&(a, b)| a <= value && value <= b)
        };
        (self.times.is_empty() || self.times.iter().any(|&(a, b)| a <= second && second < b))
            && within(&self.weekdays, date.weekday().num_days_from_sunday())
            && within(&self.months, date.month())
            && (self.years.is_empty()
                || self
                    .years
                    .iter()
                    .any(|&(a, b)| a <= date.year() && date.year() <= b))
            && (self.days_of_month.is_empty() || self.in_days_of_month(date))
    }

    /// Alertmanager's reading: negative days count from the month's end; a range starting
    /// after the month's last day does not match; ends are clamped to the month.
    fn in_days_of_month(&self, date: NaiveDate) -> bool {
        let length = days_in_month(date);
        let day = i32::try_from(date.day()).unwrap_or(0);
        self.days_of_month.iter().any(|&(begin, end)| {
            let absolute = |d: i32| if d < 0 { length + d + 1 } else { d };
            let (begin, end) = (absolute(begin), absolute(end));
            if begin > length {
                return false;
            }
            let (begin, end) = (begin.clamp(-length, length), end.clamp(-length, length));
            begin <= day && day <= end
        })
    }

    fn local(&self, at: DateTime<Utc>) -> NaiveDateTime {
        match self.location {
            Some(tz) => at.with_timezone(&tz).naive_local(),
            None => at.naive_utc(),
        }
    }

    /// The first instant after `at` where whether this interval contains the time may change:
    /// the next start or end of a time range, or the next local midnight.
    pub fn next_boundary(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        let mut seconds: Vec<u32> = vec![0];
        for &(start, end) in &self.times {
            seconds.push(start);
            seconds.push(end % DAY);
        }
        let local = self.local(at);
        let mut best = at + chrono::TimeDelta::days(2);
        for day in 0..2 {
            let Some(date) = local.date().checked_add_days(chrono::Days::new(day)) else {
                continue;
            };
            for &second in &seconds {
                let Some(time) = chrono::NaiveTime::from_num_seconds_from_midnight_opt(second, 0)
                else {
                    continue;
                };
                let candidate = self.instant(date.and_time(time));
                if candidate > at && candidate < best {
                    best = candidate;
                }
            }
        }
        best
    }

    /// The instant of a local time; in a daylight-saving gap, the first instant after it.
    fn instant(&self, local: NaiveDateTime) -> DateTime<Utc> {
        let Some(tz) = self.location else {
            return local.and_utc();
        };
        let mut local = local;
        for _ in 0..4 {
            if let Some(instant) = tz.from_local_datetime(&local).earliest() {
                return instant.with_timezone(&Utc);
            }
            local += chrono::TimeDelta::minutes(30);
        }
        local.and_utc()
    }
}

fn days_in_month(date: NaiveDate) -> i32 {
    let (year, month) = (date.year(), date.month());
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    };
    next.and_then(|n| n.pred_opt())
        .map_or(31, |last| i32::try_from(last.day()).unwrap_or(31))
}

/// `HH:MM` or `HH:MM:SS`, `00:00` to `24:00`, as seconds of the day.
fn clock(text: &str) -> Result<u32, String> {
    let bad = || format!("{text:?} is not a time of day: write HH:MM, from 00:00 to 24:00");
    let parts: Vec<&str> = text.trim().split(':').collect();
    if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.len() != 2) {
        return Err(bad());
    }
    let numbers: Vec<u32> = parts
        .iter()
        .map(|p| p.parse::<u32>().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    let (h, m, s) = (numbers[0], numbers[1], numbers.get(2).copied().unwrap_or(0));
    let seconds = h * 3600 + m * 60 + s;
    if h > 24 || m > 59 || s > 59 || seconds > DAY {
        return Err(bad());
    }
    Ok(seconds)
}

/// A weekday or month by name (any case) or, for months, by number.
fn named(text: &str, names: &[&str], first: u32) -> Result<u32, String> {
    let lower = text.to_ascii_lowercase();
    if let Some(i) = names.iter().position(|n| *n == lower) {
        return Ok(u32::try_from(i).unwrap_or(0) + first);
    }
    if first == 1
        && let Ok(n) = lower.parse::<u32>()
        && (1..=12).contains(&n)
    {
        return Ok(n);
    }
    Err(format!("{text:?} is not one of {}", names.join(", ")))
}

/// `a` or `a:b` items, each end read by `one`; `b` may not come before `a`.
fn ranges<T: PartialOrd + Copy>(
    items: &[Item],
    one: impl Fn(&str) -> Result<T, String>,
) -> Result<Vec<(T, T)>, String> {
    items
        .iter()
        .map(|item| {
            let text = item.text();
            let (a, b) = text.split_once(':').unwrap_or((&text, &text));
            let (a, b) = (one(a.trim())?, one(b.trim())?);
            if b < a {
                return Err(format!("{text:?} ends before it starts"));
            }
            Ok((a, b))
        })
        .collect()
}

/// `days_of_month`: 1..31 or -31..-1; a range from a negative day to a positive one is refused.
fn days(items: &[Item]) -> Result<Vec<(i32, i32)>, String> {
    let day = |t: &str| {
        t.parse::<i32>()
            .ok()
            .filter(|d| *d != 0 && (-31..=31).contains(d))
            .ok_or_else(|| format!("{t:?} is not a day of the month: 1 to 31, or -31 to -1"))
    };
    items
        .iter()
        .map(|item| {
            let text = item.text();
            let (a, b) = text.split_once(':').unwrap_or((&text, &text));
            let (a, b) = (day(a.trim())?, day(b.trim())?);
            if (a.signum() == b.signum() && b < a) || (a < 0 && b > 0) {
                return Err(format!("{text:?} ends before it starts"));
            }
            Ok((a, b))
        })
        .collect()
}
