//! Config dirs for the config tests: the two files as given, with the repo's audio
//! samples under `audio/`, and every diagnostic loading them gives.
#![allow(dead_code)]

use std::path::PathBuf;

use chrono::NaiveDate;
use loaxa::config::diag::Diagnostic;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The config tests read what the reader says in English (language.rs runs the
/// Vietnamese): chosen for the whole test process, as `--lang en` would.
pub fn in_english() {
    loaxa::i18n::choose(loaxa::i18n::Lang::En);
}

/// A config dir with the repo's audio samples under `audio/`.
pub fn config_dir(station: &str, schedule: &str) -> tempfile::TempDir {
    in_english();
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(repo().join("audio-samples"), dir.path().join("audio")).unwrap();
    std::fs::write(dir.path().join("station.toml"), station).unwrap();
    std::fs::write(dir.path().join("schedule.toml"), schedule).unwrap();
    dir
}

/// What loading the two files on `today` reports (nothing when they are clean).
pub fn errors_on(today: NaiveDate, station: &str, schedule: &str) -> Vec<Diagnostic> {
    in_english();
    let dir = config_dir(station, schedule);
    match loaxa::station::config::load(dir.path(), today) {
        Ok(_) => Vec::new(),
        Err(e) => e,
    }
}
