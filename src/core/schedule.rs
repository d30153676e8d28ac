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
                match (local(tz, date, *start), local(tz, date, *end)) {
                    (Some(s), Some(e)) if s < e => vec![(s, e)],
                    _ => Vec::new(),
                }
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
