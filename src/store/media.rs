//! What is remembered of media files: measurements of schedule.toml's files in
//! `<state>/cache/media.json`, and the `<file>.info.json` beside every file the station
//! stored itself (feed, push, speech), written once its check passed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Store;
use crate::core::media::MediaInfo;

/// One cached measurement, valid while the file keeps its size and modification time.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CacheEntry {
    pub size: u64,
    pub modified_ns: u128,
    pub info: MediaInfo,
}

pub type CacheEntries = BTreeMap<PathBuf, CacheEntry>;

impl Store {
    fn media_cache_file(&self) -> PathBuf {
        self.path("cache/media.json")
    }

    /// The cached measurements; an unreadable cache is simply started afresh (it only
    /// saves time).
    pub fn media_cache(&self) -> CacheEntries {
        std::fs::read(self.media_cache_file())
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    pub fn save_media_cache(&self, entries: &CacheEntries) -> Result<(), super::files::StateError> {
        super::files::write(&self.media_cache_file(), entries)
    }
}

/// `<file>.info.json`: the measurement stored beside a feed, pushed or spoken file.
pub fn sidecar(path: &Path) -> PathBuf {
    path.with_extension("info.json")
}

pub fn read_sidecar(path: &Path) -> Option<MediaInfo> {
    serde_json::from_slice(&std::fs::read(sidecar(path)).ok()?).ok()
}

/// Writes `info` beside `path`, atomically.
pub fn write_sidecar(path: &Path, info: &MediaInfo) -> std::io::Result<()> {
    let json = serde_json::to_vec(info).map_err(std::io::Error::other)?;
    crate::sys::fs::write_atomic(&sidecar(path), &json)
}
