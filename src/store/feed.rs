//! What the station keeps of its feed: `<state>/feed/state.json` (the accepted manifest
//! and its validators) and the verified files under `feed/audio/`, named by sha256, with
//! downloads in progress under `feed/partial/`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Store;
use super::files::{self, StateError};
use crate::core::feed::{FeedBulletin, Manifest};

/// What the station remembers of its feed between polls and restarts.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FeedState {
    /// The last accepted (verified, vetted) manifest.
    pub manifest: Option<Manifest>,
    /// The validators of the accepted manifest: a refused one's are never kept, so a
    /// manifest refused once (its signature not there yet) is looked at again next poll.
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// Files refused for what they are (not for a network error), by sha256: not fetched
    /// again, nor logged again, until a new manifest is accepted.
    #[serde(default)]
    pub refused: Vec<String>,
    /// The last manifest refused (its sha256 and why): logged once, not at every poll.
    #[serde(default)]
    pub last_refusal: Option<String>,
}

impl Store {
    fn feed_state_file(&self) -> PathBuf {
        self.path("feed/state.json")
    }

    /// The stored feed state; a missing file is an empty state, an unreadable one an error.
    pub fn feed_state(&self) -> Result<FeedState, StateError> {
        files::read(&self.feed_state_file())
    }

    pub fn save_feed_state(&self, state: &FeedState) -> Result<(), StateError> {
        files::write(&self.feed_state_file(), state)
    }

    /// Bulletin ids the province has revoked.
    pub fn feed_revoked(&self) -> Result<Vec<String>, StateError> {
        Ok(self
            .feed_state()?
            .manifest
            .map(|m| m.revoked)
            .unwrap_or_default())
    }

    /// Where a verified feed file is kept: named by its content, so a changed file is a
    /// new file.
    pub fn feed_file(&self, b: &FeedBulletin) -> PathBuf {
        let ext = Path::new(&b.url)
            .extension()
            .and_then(|e| e.to_str())
            .filter(|e| e.len() <= 5 && e.chars().all(|c| c.is_ascii_alphanumeric()))
            .unwrap_or("audio");
        self.path("feed/audio")
            .join(format!("{}.{ext}", b.sha256.to_ascii_lowercase()))
    }

    /// Where a download in progress is kept.
    pub fn feed_partial(&self, sha256: &str) -> PathBuf {
        self.path("feed/partial").join(sha256.to_ascii_lowercase())
    }

    /// Every stored and partial feed file, with the sha256 its name starts with.
    pub fn feed_files(&self) -> Vec<(String, PathBuf)> {
        let mut out = Vec::new();
        for sub in ["feed/audio", "feed/partial"] {
            let Ok(entries) = std::fs::read_dir(self.path(sub)) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let sha = name.split('.').next().unwrap_or("").to_string();
                out.push((sha, entry.path()));
            }
        }
        out
    }
}
