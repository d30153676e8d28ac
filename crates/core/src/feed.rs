//! `feed.json`: what a province publishes. Fields the station does not know are ignored,
//! so a newer province tool does not cut older stations off; `loaxa_feed` is the version.

use chrono::{NaiveDate, TimeDelta};
use serde::{Deserialize, Serialize};

use crate::catalog::Priority;

pub const FORMAT_VERSION: u32 = 1;
pub const MANIFEST: &str = "feed.json";
pub const SIGNATURE: &str = "feed.json.minisig";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub loaxa_feed: u32,
    pub sequence: u64,
    pub generated_at: String,
    #[serde(default)]
    pub campaigns: Vec<FeedCampaign>,
    #[serde(default)]
    pub bulletins: Vec<FeedBulletin>,
    #[serde(default)]
    pub revoked: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedCampaign {
    pub id: String,
    pub title: String,
    pub from: NaiveDate,
    pub until: NaiveDate,
    pub plays_per_day: u32,
    /// A duration as in schedule.toml: "3h", "90m".
    #[serde(default)]
    pub min_gap: MinGap,
    #[serde(default)]
    pub sessions: Option<Vec<String>>,
    #[serde(default = "normal")]
    pub priority: Priority,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedBulletin {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub campaign: Option<String>,
    #[serde(default = "normal")]
    pub priority: Priority,
    /// Relative to feed.json, or an absolute http(s) URL (empty for a text bulletin).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sha256: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub size: u64,
    /// Instead of audio: the text the station speaks with its text-to-speech command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default)]
    pub valid_from: Option<NaiveDate>,
    #[serde(default)]
    pub valid_until: Option<NaiveDate>,
    /// Station ids; empty means every station.
    #[serde(default)]
    pub targets: Vec<String>,
    /// A test or exercise (a CAP alert's `status`): only a station in `test_mode` takes it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub test: bool,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The longest `min_gap` a feed campaign may ask for: a day.
pub const MAX_MIN_GAP: TimeDelta = TimeDelta::hours(24);

/// A campaign's `min_gap` as the feed writes it ("3h", "90m"), read once where it arrives.
/// It keeps its text: a manifest is written back as it came, and a bad gap is quoted in
/// the refusal of its campaign (the rest of the manifest still counts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub struct MinGap {
    text: String,
    gap: Result<TimeDelta, String>,
}

impl MinGap {
    /// The gap, or why the feed's text is not one of 0 to 24 h.
    pub fn get(&self) -> Result<TimeDelta, String> {
        self.gap.clone()
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl Default for MinGap {
    fn default() -> Self {
        MinGap::from("0s".to_string())
    }
}

impl From<String> for MinGap {
    fn from(text: String) -> MinGap {
        let gap = match crate::units::parse_duration(&text) {
            Err(e) => Err(format!("min_gap: {}", crate::text::shorten(&e, 120))),
            Ok(gap) if gap < TimeDelta::zero() || gap > MAX_MIN_GAP => Err(format!(
                "min_gap {:?} is over 24h",
                crate::text::shorten(&text, 40)
            )),
            Ok(gap) => Ok(gap),
        };
        MinGap { text, gap }
    }
}

impl From<MinGap> for String {
    fn from(gap: MinGap) -> String {
        gap.text
    }
}

fn normal() -> Priority {
    Priority::Normal
}

impl Manifest {
    pub fn empty() -> Self {
        Manifest {
            loaxa_feed: FORMAT_VERSION,
            sequence: 0,
            generated_at: String::new(),
            campaigns: Vec::new(),
            bulletins: Vec::new(),
            revoked: Vec::new(),
        }
    }
}

impl FeedBulletin {
    /// Whether this station takes it (`targets`, and `test` only in test mode).
    pub fn is_for(&self, here: &super::targets::Here) -> bool {
        here.plays(&self.targets, self.test)
    }
}
