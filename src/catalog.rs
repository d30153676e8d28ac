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

    pub fn allows_session(&self, name: &str) -> bool {
        self.sessions
            .as_ref()
            .is_none_or(|names| names.iter().any(|n| n == name))
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
}

impl Catalog {
    /// schedule.toml's own campaigns and bulletins only.
    pub fn assemble(schedule: &crate::config::Schedule) -> Catalog {
        Catalog {
            campaigns: schedule.campaigns.clone(),
            bulletins: schedule.bulletins.clone(),
            emergencies: Vec::new(),
            feed_sequence: None,
        }
    }

    /// The station's whole catalog: schedule.toml first, then what the feed brought (a
    /// local campaign wins over a feed campaign of the same id), then pushed bulletins.
    /// Cancelled bulletins are left out; emergencies from outside go to `emergencies`.
    pub fn load(config: &crate::config::Config) -> Catalog {
        let state_dir = &config.station.state_dir;
        let mut catalog = Catalog::assemble(&config.schedule);
        let feed = crate::feed::sync::catalog(&config.station);
        catalog.feed_sequence = feed.sequence;
        for c in feed.campaigns {
            if catalog.campaign(&c.id).is_none() {
                catalog.campaigns.push(c);
            }
        }
        let cancelled = crate::push::load(state_dir).cancelled;
        let outside = feed
            .bulletins
            .into_iter()
            .chain(crate::push::catalog_bulletins(state_dir))
            .filter(|b| !cancelled.contains(&b.id));
        for b in outside {
            if b.is_emergency() {
                catalog.emergencies.push(b);
            } else {
                catalog.bulletins.push(b);
            }
        }
        catalog
    }

    pub fn campaign(&self, id: &str) -> Option<&Campaign> {
        self.campaigns.iter().find(|c| c.id == id)
    }
}
