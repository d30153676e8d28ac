//! A day's plan (SPEC §9) and what already played: the planner's output and its memory.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, TimeDelta};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::catalog::{Priority, Source};
use super::schedule::MediaFile;

/// What already played: today's plays, and earlier play counts for bulletin rotation.
#[derive(Debug, Clone, Default)]
pub struct History {
    pub today: Vec<Played>,
    /// Plays per bulletin id before this day (rotation takes the least played).
    pub earlier_counts: HashMap<String, u32>,
}

/// One item that played to its end.
#[derive(Debug, Clone, PartialEq)]
pub struct Played {
    pub id: String,
    pub kind: Kind,
    pub campaign: Option<String>,
    pub start: DateTime<Tz>,
    pub end: DateTime<Tz>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Opening,
    Bulletin,
    File,
    Relay,
    Fill,
    Closing,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Opening => "opening",
            Kind::Bulletin => "bulletin",
            Kind::File => "file",
            Kind::Relay => "relay",
            Kind::Fill => "fill",
            Kind::Closing => "closing",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub date: NaiveDate,
    pub station_id: String,
    /// The `[[special]]` day that made this day, or `None` for the weekday rules.
    #[serde(default)]
    pub special: Option<String>,
    pub sessions: Vec<PlannedSession>,
    pub quotas: Vec<Quota>,
    /// Where each campaign's planned plays went (SPEC §12: spread over the sessions).
    #[serde(default)]
    pub quota_sessions: Vec<QuotaSession>,
    /// What could not be planned, in English (what the JSON has always carried); `notes`
    /// says the same as values, for the words of other languages.
    pub warnings: Vec<String>,
    #[serde(skip)]
    pub notes: Vec<Warning>,
}

/// Something of the day that could not be planned as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    NoValidBulletin {
        campaign: String,
        date: NaiveDate,
        plays: u32,
    },
    UnknownCampaign {
        bulletin: String,
        campaign: String,
    },
    SpecialItemOutside {
        special: String,
        item: String,
        at: String,
    },
    SessionOverlap {
        session: String,
        at: String,
        other: String,
    },
    /// Within one session (named, with its start).
    Session {
        session: String,
        at: String,
        what: InSession,
    },
    QuotaShort {
        campaign: String,
        got: u32,
        required: u32,
        sessions: Option<Vec<String>>,
        min_gap: String,
    },
    BulletinNoRoom {
        bulletin: String,
    },
}

/// What went wrong inside a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InSession {
    Silence { length: String, from: String },
    OpeningDoesNotFit,
    NoRoom { item: String },
    FixedOutside { at: String },
    FixedPastEnd { at: String },
    FixedCollides { at: String },
    RelayCut { at: String },
}

impl Warning {
    /// In English, as the plan's JSON says it.
    pub fn english(&self) -> String {
        match self {
            Warning::NoValidBulletin {
                campaign,
                date,
                plays,
            } => format!(
                "campaign {campaign}: no valid bulletin on {date}; its {plays} plays cannot be planned"
            ),
            Warning::UnknownCampaign { bulletin, campaign } => {
                format!(
                    "bulletin {bulletin}: its campaign {campaign} is unknown; it is not planned"
                )
            }
            Warning::SpecialItemOutside { special, item, at } => format!(
                "special day {special}: {item} at {at} falls in none of the day's sessions; it is dropped"
            ),
            Warning::SessionOverlap { session, at, other } => {
                format!("session {session} at {at} overlaps session {other}; it is skipped")
            }
            Warning::Session { session, at, what } => {
                let what = match what {
                    InSession::Silence { length, from } => {
                        format!("{length} of silence from {from} (no [fill] configured)")
                    }
                    InSession::OpeningDoesNotFit => {
                        "the opening does not fit; it is skipped".to_string()
                    }
                    InSession::NoRoom { item } => format!("no room for {item}; it is dropped"),
                    InSession::FixedOutside { at } => {
                        format!("fixed item at {at} is outside the session; it is dropped")
                    }
                    InSession::FixedPastEnd { at } => {
                        format!("fixed item at {at} would run past the session end; it is dropped")
                    }
                    InSession::FixedCollides { at } => {
                        format!("fixed item at {at} collides with the one before; it is dropped")
                    }
                    InSession::RelayCut { at } => {
                        format!("relay at {at} is cut to end with the session")
                    }
                };
                format!("session {session} at {at}: {what}")
            }
            Warning::QuotaShort {
                campaign,
                got,
                required,
                sessions,
                min_gap,
            } => {
                let where_ = sessions.as_ref().map_or("any session".to_string(), |s| {
                    format!("sessions {}", s.join(", "))
                });
                format!(
                    "campaign {campaign}: only {got} of {required} plays fit today ({where_}, min_gap {min_gap}); {} dropped",
                    required - got
                )
            }
            Warning::BulletinNoRoom { bulletin } => {
                format!("bulletin {bulletin}: no room in today's sessions; it is dropped")
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedSession {
    pub name: String,
    #[serde(with = "crate::timefmt")]
    pub start: DateTime<Tz>,
    #[serde(with = "crate::timefmt")]
    pub end: DateTime<Tz>,
    pub items: Vec<PlanItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanItem {
    #[serde(with = "crate::timefmt")]
    pub start: DateTime<Tz>,
    /// May be earlier than start + the file's length: the item is cut (fill before a fixed item).
    #[serde(with = "crate::timefmt")]
    pub end: DateTime<Tz>,
    pub kind: Kind,
    pub id: String,
    pub title: String,
    pub campaign: Option<String>,
    pub priority: Priority,
    pub source: Source,
    /// The audio file, or the stream URL of a relay.
    pub path: String,
    /// Set at a clock time (`at = …`): nothing before it may run into it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fixed: bool,
}

impl PlanItem {
    /// An item that plays a file named in schedule.toml (opening, closing, fill, flexible
    /// or fixed file); titled by `title`, else the file's name without extension.
    pub fn from_media(
        kind: Kind,
        f: &MediaFile,
        title: Option<&str>,
        start: DateTime<Tz>,
        end: DateTime<Tz>,
    ) -> PlanItem {
        let stem = std::path::Path::new(&f.name)
            .file_stem()
            .map_or(f.name.clone(), |s| s.to_string_lossy().into_owned());
        PlanItem {
            start,
            end,
            kind,
            id: f.name.clone(),
            title: title.map_or(stem, str::to_string),
            campaign: None,
            priority: Priority::Normal,
            source: Source::Local,
            path: f.path.to_string_lossy().into_owned(),
            fixed: false,
        }
    }

    pub fn duration(&self) -> TimeDelta {
        self.end - self.start
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quota {
    pub campaign: String,
    pub required: u32,
    pub planned: u32,
    pub done: u32,
    /// Where the planned plays went: per session, in time order. Not in the quota's JSON
    /// (SPEC §9 fixes its shape); the plan's `quota_sessions` carries it.
    #[serde(skip)]
    pub sessions: Vec<SessionPlays>,
}

/// One line of the plan's `quota_sessions`: how many plays of a campaign a session got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaSession {
    pub campaign: String,
    pub session: String,
    pub plays: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionPlays {
    pub session: String,
    pub plays: u32,
}
