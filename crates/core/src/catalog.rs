//! What can be broadcast: campaigns and bulletins from every source (schedule.toml,
//! the provincial feed, pushes), merged into one catalog the planner reads.

use std::path::PathBuf;

use chrono::{NaiveDate, TimeDelta};
use serde::{Deserialize, Serialize};

/// The three levels of Circular 39/2020/TT-BTTTT. Ordered: `Emergency` is greatest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Normal,
    Priority,
    Emergency,
}

impl Priority {
    pub fn parse(text: &str) -> Option<Priority> {
        match text {
            "normal" => Some(Priority::Normal),
            "priority" => Some(Priority::Priority),
            "emergency" => Some(Priority::Emergency),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Normal => "normal",
            Priority::Priority => "priority",
            Priority::Emergency => "emergency",
        }
    }
}

/// Where a bulletin or campaign came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Local,
    Feed,
    Push,
}

/// What a directive asks for: plays per day over a date range.
#[derive(Debug, Clone, PartialEq)]
pub struct Campaign {
    pub id: String,
    pub title: String,
    /// First and last day, both inclusive, in the station's time zone.
    pub from: NaiveDate,
    pub until: NaiveDate,
    pub plays_per_day: u32,
    /// Least time between the starts of two plays of this campaign.
    pub min_gap: TimeDelta,
    /// Sessions it may use; `None` means all.
    pub sessions: Option<Vec<String>>,
    pub priority: Priority,
    pub source: Source,
}

impl Campaign {
    pub fn runs_on(&self, date: NaiveDate) -> bool {
        self.from <= date && date <= self.until
    }

    /// Names from the feed are compared as NFC, as the operator's are read (SPEC §16).
    pub fn allows_session(&self, name: &str) -> bool {
        self.sessions
            .as_ref()
            .is_none_or(|names| names.iter().any(|n| crate::text::same_name(n, name)))
    }
}

/// One playable audio file with its metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct Bulletin {
    pub id: String,
    pub title: String,
    pub campaign: Option<String>,
    pub priority: Priority,
    pub source: Source,
    pub path: PathBuf,
    pub duration: TimeDelta,
    pub valid_from: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
    /// Order of arrival, smaller is older: breaks ties in rotation ("oldest first").
    pub added: u64,
}

impl Bulletin {
    /// Plays at once, day or night (SPEC §3): an emergency of no campaign from the feed or
    /// a push. (Emergency campaigns and schedule.toml's own are planned, first in a session.)
    pub fn is_emergency(&self) -> bool {
        self.priority == Priority::Emergency
            && self.campaign.is_none()
            && self.source != Source::Local
    }

    pub fn valid_on(&self, date: NaiveDate) -> bool {
        self.valid_from.is_none_or(|d| d <= date) && self.valid_until.is_none_or(|d| date <= d)
    }
}

/// All campaigns and bulletins known to the station.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalog {
    pub campaigns: Vec<Campaign>,
    pub bulletins: Vec<Bulletin>,
    /// Emergencies from the feed or pushes: played at once by the engine, never planned.
    pub emergencies: Vec<Bulletin>,
    /// Sequence of the feed manifest the feed's part came from (none accepted yet: `None`).
    pub feed_sequence: Option<u64>,
    /// State that could not be read while loading (the part it holds is left out).
    pub problems: Vec<String>,
}

impl Catalog {
    /// A catalog of the operator's own campaigns and bulletins (what the feed and pushes
    /// add comes later).
    pub fn local(campaigns: Vec<Campaign>, bulletins: Vec<Bulletin>) -> Catalog {
        Catalog {
            campaigns,
            bulletins,
            emergencies: Vec::new(),
            feed_sequence: None,
            problems: Vec::new(),
        }
    }

    pub fn campaign(&self, id: &str) -> Option<&Campaign> {
        self.campaigns.iter().find(|c| c.id == id)
    }

    /// Notes state that could not be read while loading (its part is left out). The
    /// loader logs it; the status shows it.
    pub fn problem(&mut self, what: String) {
        self.problems.push(what);
    }
}

/// Titles from outside longer than this are refused (a title is a line, not a text).
pub const MAX_TITLE_CHARS: usize = 200;
/// Dates from outside must fall in these years (a typo of 20211 must not become a campaign).
pub const FIRST_YEAR: i32 = 2000;
pub const LAST_YEAR: i32 = 2100;

pub fn plausible_date(d: NaiveDate) -> bool {
    (FIRST_YEAR..=LAST_YEAR).contains(&chrono::Datelike::year(&d))
}

/// The longest id (bulletin, campaign, push) accepted from anywhere.
pub const MAX_ID_LEN: usize = 128;

/// SPEC §11's one rule for ids from any source: 1–128 of `A–Z a–z 0–9 - _ .`, not
/// starting with a dot (ids become file names and metric labels).
pub fn check_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "id {:?} must be 1–{MAX_ID_LEN} of A–Z a–z 0–9 - _ . (not starting with a dot)",
            crate::text::shorten(id, 64)
        ))
    }
}
