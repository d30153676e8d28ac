//! The operator's schedule as the station holds it (SPEC §4): sessions on days or on a
//! cron, their items, fill. Read from schedule.toml by `config`; planned by `planner`.

use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, TimeZone};
use chrono_tz::Tz;

use super::catalog::{Bulletin, Campaign};
use super::units::Days;

pub const DEFAULT_TIMEZONE: Tz = chrono_tz::Asia::Ho_Chi_Minh;

/// File extensions taken from the fill folder; anything else there is ignored.
pub const AUDIO_EXTENSIONS: &[&str] = &["mp3", "ogg", "oga", "flac", "wav", "m4a", "aac", "mp4"];

#[derive(Debug, Clone)]
pub struct Schedule {
    pub timezone: Tz,
    pub fill: Option<Fill>,
    pub sessions: Vec<Session>,
    pub campaigns: Vec<Campaign>,
    pub bulletins: Vec<Bulletin>,
    /// `[[special]]` days, in file order: a later one wins on a date both name.
    pub specials: Vec<Special>,
}

/// A day that is not like its weekday (SPEC §12): Tết, National Day, an election, mourning.
#[derive(Debug, Clone)]
pub struct Special {
    pub name: String,
    pub dates: Vec<DateRule>,
    /// The day's sessions, by name, in the place of the weekday rules; `None` keeps them.
    pub sessions: Option<Vec<String>>,
    /// Fixed items added that day to the session they fall in.
    pub items: Vec<SessionItem>,
}

/// One entry of a special day's `dates`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateRule {
    Day(NaiveDate),
    /// Both ends included.
    Range(NaiveDate, NaiveDate),
    /// `âl:MM-DD`: that day of the lunar calendar (not of a leap month), every year.
    Lunar {
        month: u32,
        day: u32,
    },
}

impl DateRule {
    pub fn matches(self, date: NaiveDate) -> bool {
        match self {
            DateRule::Day(d) => d == date,
            DateRule::Range(a, b) => a <= date && date <= b,
            DateRule::Lunar { month, day } => {
                let l = super::lunar::lunar_of(date);
                !l.leap && l.month == month && l.day == day
            }
        }
    }
}

impl Schedule {
    /// The special day rule that makes `date`, if any (the last one that names it).
    pub fn special_on(&self, date: NaiveDate) -> Option<&Special> {
        self.specials
            .iter()
            .rev()
            .find(|s| s.dates.iter().any(|r| r.matches(date)))
    }
}

/// `[audio] quiet_hours`: a daily span of local time in which only an emergency may
/// sound. It may cross midnight (`22:00-05:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl QuietHours {
    /// Parses `HH:MM-HH:MM`.
    pub fn parse(text: &str) -> Result<QuietHours, String> {
        let help = "write it as \"22:00-05:00\" (start-end, local time; it may cross midnight)";
        let (a, b) = text
            .split_once('-')
            .ok_or_else(|| format!("{text:?} is not a span of time; {help}"))?;
        let start = super::units::parse_clock(a).map_err(|e| format!("{e}; {help}"))?;
        let end = super::units::parse_clock(b).map_err(|e| format!("{e}; {help}"))?;
        if start == end {
            return Err(format!("{text:?} is empty (start = end); {help}"));
        }
        Ok(QuietHours { start, end })
    }

    /// Whether the local time of day `t` is quiet.
    pub fn contains_time(&self, t: NaiveTime) -> bool {
        if self.start < self.end {
            self.start <= t && t < self.end
        } else {
            t >= self.start || t < self.end
        }
    }

    /// Whether any moment of the daily span from `start` lasting `length` is quiet.
    pub fn overlaps_times(&self, start: NaiveTime, length: TimeDelta) -> bool {
        use chrono::Timelike;
        const DAY: i64 = 86_400;
        let secs = |t: NaiveTime| i64::from(t.num_seconds_from_midnight());
        let (a, b) = (secs(start), secs(start) + length.num_seconds().max(1));
        let (qa, qb) = (secs(self.start), secs(self.end));
        let quiet: [(i64, i64); 3] = if qa < qb {
            [(qa, qb), (qa + DAY, qb + DAY), (0, 0)]
        } else {
            [(0, qb), (qa, qb + DAY), (qa + DAY, DAY * 2)]
        };
        quiet.iter().any(|(x, y)| a < *y && *x < b)
    }

    pub fn contains(&self, t: DateTime<Tz>) -> bool {
        self.contains_time(t.time())
    }

    /// Whether any instant of `[from, to)` is quiet.
    pub fn overlaps(&self, from: DateTime<Tz>, to: DateTime<Tz>) -> bool {
        from < to && (self.contains(from) || self.next_start(from).is_some_and(|q| q < to))
    }

    /// The first instant at or after `t` at which quiet hours begin.
    pub fn next_start(&self, t: DateTime<Tz>) -> Option<DateTime<Tz>> {
        let tz = t.timezone();
        let date = t.date_naive();
        [date, date.succ_opt()?]
            .into_iter()
            .filter_map(|d| local(tz, d, self.start))
            .find(|q| *q >= t)
    }
}

impl std::fmt::Display for QuietHours {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}-{}",
            self.start.format("%H:%M"),
            self.end.format("%H:%M")
        )
    }
}

/// An audio file named in the config, with its measured duration.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaFile {
    /// Absolute (resolved against the config dir).
    pub path: PathBuf,
    /// As the operator wrote it, for messages and plan ids.
    pub name: String,
    pub duration: TimeDelta,
}

#[derive(Debug, Clone)]
pub struct Fill {
    pub folder: PathBuf,
    /// Sorted by file name: the order fill rotates through.
    pub files: Vec<MediaFile>,
}

#[derive(Debug, Clone)]
pub struct Session {
    pub name: String,
    pub when: SessionTime,
    pub opening: Option<MediaFile>,
    pub closing: Option<MediaFile>,
    pub items: Vec<SessionItem>,
}

#[derive(Debug, Clone)]
pub enum SessionTime {
    /// `days` + `start` + `end` (or `duration`).
    Days {
        days: Days,
        start: NaiveTime,
        end: NaiveTime,
    },
    /// `cron` gives start times; every occurrence lasts `duration`.
    Cron {
        schedule: Box<cron::Schedule>,
        duration: TimeDelta,
    },
}

#[derive(Debug, Clone)]
pub struct SessionItem {
    /// A fixed clock time, or `None` for an ordered, flexible item.
    pub at: Option<NaiveTime>,
    pub title: Option<String>,
    pub content: ItemContent,
}

#[derive(Debug, Clone)]
pub enum ItemContent {
    File(MediaFile),
    /// A live HTTP audio stream, played for `duration`.
    Relay {
        url: String,
        duration: TimeDelta,
    },
}

impl ItemContent {
    pub fn duration(&self) -> TimeDelta {
        match self {
            ItemContent::File(f) => f.duration,
            ItemContent::Relay { duration, .. } => *duration,
        }
    }
}

impl Session {
    /// Its windows on a special day that names it: its times, whatever its days say. A
    /// cron session that does not fall on the date keeps the time of its next occurrence.
    pub fn windows_any_day(&self, date: NaiveDate, tz: Tz) -> Vec<(DateTime<Tz>, DateTime<Tz>)> {
        match &self.when {
            SessionTime::Days { start, end, .. } => span_on(tz, date, *start, *end),
            SessionTime::Cron { schedule, duration } => {
                let on_day = self.windows_on(date, tz);
                if !on_day.is_empty() {
                    return on_day;
                }
                let Some(from) = local(tz, date, NaiveTime::MIN) else {
                    return Vec::new();
                };
                let Some(next) = schedule.after(&from).next() else {
                    return Vec::new();
                };
                let Some(start) = local(tz, date, next.time()) else {
                    return Vec::new();
                };
                let day_end = date
                    .succ_opt()
                    .and_then(|d| local(tz, d, NaiveTime::MIN))
                    .unwrap_or(start + *duration);
                vec![(start, (start + *duration).min(day_end))]
            }
        }
    }

    /// Its time of day as `(start, end)`, for checks that do not depend on the date (a
    /// cron session: its next occurrence; an end of 00:00 is midnight).
    pub fn times_of_day_naive(&self) -> Option<(NaiveTime, NaiveTime)> {
        match &self.when {
            SessionTime::Days { start, end, .. } => Some((*start, *end)),
            SessionTime::Cron { schedule, duration } => {
                // Wall-clock fields do not depend on the zone: any fixed origin will do.
                let origin = chrono::Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).single()?;
                let s = schedule.after(&origin).next()?.time();
                let (end, wrapped) = s.overflowing_add_signed(*duration);
                Some((s, if wrapped != 0 { NaiveTime::MIN } else { end }))
            }
        }
    }

    /// The windows this session occupies on `date` (local day in `tz`), in order.
    pub fn windows_on(&self, date: NaiveDate, tz: Tz) -> Vec<(DateTime<Tz>, DateTime<Tz>)> {
        let Some(day_start) = local(tz, date, NaiveTime::MIN) else {
            return Vec::new();
        };
        let Some(next_day) = date.succ_opt().and_then(|d| local(tz, d, NaiveTime::MIN)) else {
            return Vec::new();
        };
        match &self.when {
            SessionTime::Days { days, start, end } => {
                if !days.contains(chrono::Datelike::weekday(&date)) {
                    return Vec::new();
                }
                span_on(tz, date, *start, *end)
            }
            SessionTime::Cron { schedule, duration } => {
                let before = day_start - TimeDelta::seconds(1);
                schedule
                    .after(&before)
                    .take_while(|s| *s < next_day)
                    .filter(|s| *s >= day_start)
                    .map(|s| (s, (s + *duration).min(next_day)))
                    .collect()
            }
        }
    }
}

/// The window from `start` to `end` on `date`, if the day has it.
fn span_on(
    tz: Tz,
    date: NaiveDate,
    start: NaiveTime,
    end: NaiveTime,
) -> Vec<(DateTime<Tz>, DateTime<Tz>)> {
    match (local(tz, date, start), local(tz, date, end)) {
        (Some(s), Some(e)) if s < e => vec![(s, e)],
        _ => Vec::new(),
    }
}

/// The instant a local wall-clock time names (the earlier one if a clock change repeats it).
pub fn local(tz: Tz, date: NaiveDate, time: NaiveTime) -> Option<DateTime<Tz>> {
    let naive = date.and_time(time);
    tz.from_local_datetime(&naive)
        .earliest()
        // In a spring-forward gap the time does not exist: use the first instant after it.
        .or_else(|| {
            tz.from_local_datetime(&(naive + TimeDelta::hours(1)))
                .earliest()
        })
}
