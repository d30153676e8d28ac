//! What the daemon is doing (`loaxa status`, `GET /api/v1/status`).

use chrono::{DateTime, NaiveDate};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::core::plan::{PlanItem, Quota};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    #[serde(with = "crate::core::timefmt")]
    pub updated: DateTime<Tz>,
    pub pid: u32,
    pub station_id: String,
    /// The station's time zone (IANA name): `loaxa status` shows times in it.
    pub timezone: String,
    pub plan_date: NaiveDate,
    /// The session on air, if any.
    pub session: Option<String>,
    /// The emergency on air (its bulletin id), and how many more wait behind it.
    #[serde(default)]
    pub emergency: Option<String>,
    #[serde(default)]
    pub emergencies_waiting: usize,
    pub amplifier_on: bool,
    pub output: String,
    pub output_ok: bool,
    pub now_playing: Option<PlanItem>,
    /// The provincial feed as the station last saw it (absent without `[feed] url`).
    #[serde(default)]
    pub feed: Option<FeedSummary>,
    pub next: Vec<PlanItem>,
    pub quotas: Vec<Quota>,
    pub warnings: Vec<String>,
    /// What keeps the station from taking in new bulletins (unreadable state), or makes
    /// its clock suspect. Empty when all is well.
    #[serde(default)]
    pub problems: Vec<String>,
    /// The clock went back (or cannot be true): nothing but an emergency plays (SPEC §12).
    #[serde(default)]
    pub clock_held: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedSummary {
    pub url: String,
    /// Sequence of the last accepted manifest.
    pub sequence: Option<u64>,
    /// Bulletins from the feed this station holds, verified.
    pub bulletins: usize,
    /// Unix time of the last poll that reached the feed (since this daemon started).
    pub last_success: Option<i64>,
    pub last_error: Option<String>,
}
