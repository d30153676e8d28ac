//! `feed.json`: what a province publishes. Fields the station does not know are ignored,
//! so a newer province tool does not cut older stations off; `loaxa_feed` is the version.

use chrono::NaiveDate;
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
    #[serde(default = "zero_gap")]
    pub min_gap: String,
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

fn zero_gap() -> String {
    "0s".into()
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
