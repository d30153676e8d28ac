//! What the daemon is doing (`loaxa status`, `GET /api/v1/status`).

use chrono::{DateTime, NaiveDate};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::plan::{PlanItem, Quota};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    #[serde(with = "crate::timefmt")]
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
    /// When what plays now was first heard (its progress; it may have started late).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::timefmt::opt"
    )]
    pub now_started: Option<DateTime<Tz>>,
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
    /// The last time the daemon read its config again (a save or SIGHUP) and how it went.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_reload: Option<Reload>,
    /// The last push, feed manifest or file the station refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_refusal: Option<Refusal>,
    /// Dead air now: on air, and the monitor input hears silence (SPEC §14 `[monitor]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub silence: Option<Silence>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Silence {
    /// When the silence began.
    #[serde(with = "crate::timefmt")]
    pub since: DateTime<Tz>,
    /// The loudest the input was since then, in dBFS.
    pub level_db: f64,
}

/// At most this many of a bad config's errors are kept for the status.
pub const RELOAD_ERRORS_KEPT: usize = 20;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reload {
    #[serde(with = "crate::timefmt")]
    pub at: DateTime<Tz>,
    /// The new config was taken; when not, the last good one still plays.
    pub ok: bool,
    /// `file:line:column: message`, the first `RELOAD_ERRORS_KEPT` of them.
    pub errors: Vec<String>,
    /// Settings taken but not in effect until the daemon restarts (`[fleet]`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restart_needed: Vec<String>,
}

impl Reload {
    pub fn new(at: DateTime<Tz>, errors: &[String]) -> Reload {
        Reload {
            at,
            ok: errors.is_empty(),
            errors: errors
                .iter()
                .take(RELOAD_ERRORS_KEPT)
                .map(|e| crate::text::shorten(e, 300))
                .collect(),
            restart_needed: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refusal {
    #[serde(with = "crate::timefmt")]
    pub at: DateTime<Tz>,
    /// "push", "feed", "fleet".
    pub source: String,
    /// The label, as in `/metrics` and the push answer.
    pub reason: String,
    pub message: String,
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
