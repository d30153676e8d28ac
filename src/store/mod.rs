//! The state directory (`[paths] state`): the only module that knows its layout.
//!
//! ```text
//! <state>/asrun/YYYY-MM-DD.jsonl   the as-run log, a file a day (asrun)
//! <state>/push/state.json          pushes seen, held, cancelled, emergencies done (push)
//! <state>/push/audio/              pushed audio, with <file>.info.json beside each
//! <state>/push/incoming/           uploads while they are checked
//! <state>/feed/state.json          the accepted feed manifest and its validators (feed)
//! <state>/feed/audio/, partial/    feed files by sha256, downloads in progress
//! <state>/tts/                     text bulletins as spoken, by hash (speech)
//! <state>/cache/media.json         measurements of schedule.toml's files (media)
//! <state>/status.json              the daemon's last status (status)
//! <state>/trust.json               trusted time and feed sequence high-water marks (trust)
//! ```
//!
//! Every write that must survive a power cut goes through `files` (temp file, fsync,
//! rename, fsync of the directory) or is an fsynced append (the as-run log). Writes the
//! broadcast must not wait for go through `writer`, a thread of their own.

pub mod asrun;
pub mod feed;
pub mod files;
pub mod media;
pub mod push;
pub mod status;
pub mod trust;
pub mod writer;

use std::path::{Path, PathBuf};

use crate::config::station::Station;

/// A handle on one station's state directory (cheap to clone).
#[derive(Debug, Clone, PartialEq)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    pub fn of(station: &Station) -> Store {
        Store::at(&station.state_dir)
    }

    /// A store at `root`, for tests and tools with a state dir of their own (a test's
    /// temp dir); the daemon and the commands open theirs with `of`, from the config.
    pub fn at(root: &Path) -> Store {
        Store {
            root: root.to_path_buf(),
        }
    }

    /// The directory itself, for messages (never to build paths with).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Creates the directory if needed.
    pub fn create(&self) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.root)
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Where text bulletins are kept once spoken.
    pub fn speech_dir(&self) -> PathBuf {
        self.path("tts")
    }
}
