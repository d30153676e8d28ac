//! Loading and validating the two config files. Every problem in either file is reported
//! at once, each with file:line:column and a hint (see `diag`).

pub mod diag;
pub mod schedule;
pub mod station;
mod toml_reader;

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use toml::de::DeTable;

use crate::audio::ingest::MediaCache;
use crate::config::diag::{Diagnostic, Diagnostics};
pub use schedule::Schedule;
pub use station::Station;
use toml_reader::Fields;

pub const STATION_FILE: &str = "station.toml";
pub const SCHEDULE_FILE: &str = "schedule.toml";
pub const DEFAULT_CONFIG_DIR: &str = "/etc/loaxa";

/// Both files, validated, with every path resolved against the config dir.
#[derive(Debug, Clone)]
pub struct Config {
    pub dir: PathBuf,
    pub station: Station,
    pub schedule: Schedule,
}

/// `--config DIR`, else `$LOAXA_CONFIG`, else /etc/loaxa.
pub fn config_dir(flag: Option<PathBuf>) -> PathBuf {
    flag.or_else(|| std::env::var_os("LOAXA_CONFIG").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_DIR))
}

impl Config {
    /// Loads both files. `today` anchors the checks that depend on the calendar.
    pub fn load(dir: &Path, today: NaiveDate) -> Result<Config, Vec<Diagnostic>> {
        let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        let mut errors = Vec::new();
        let station = with_file(&dir.join(STATION_FILE), &mut errors, |root, d| {
            station::read(root, d, &dir)
        });
        let mut media = match &station {
            Some(s) => MediaCache::open(&s.state_dir).for_station(&s.audio),
            None => MediaCache::in_memory(),
        };
        let schedule = with_file(&dir.join(SCHEDULE_FILE), &mut errors, |root, d| {
            let speech = station.as_ref().map(|s| {
                crate::audio::speech::Speech::new(&s.tts, &s.state_dir)
                    .with_limits(s.audio.max_duration)
            });
            schedule::read(root, d, &dir, &mut media, speech, today)
        });
        media.save();
        match (station, schedule) {
            (Some(station), Some(schedule)) if errors.is_empty() => Ok(Config {
                dir,
                station,
                schedule,
            }),
            _ => Err(errors),
        }
    }
}

/// Only station.toml: for commands that must work even while schedule.toml is broken
/// (`loaxa status`).
pub fn load_station(dir: &Path) -> Result<Station, Vec<Diagnostic>> {
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let mut errors = Vec::new();
    let station = with_file(&dir.join(STATION_FILE), &mut errors, |root, d| {
        station::read(root, d, &dir)
    });
    station.filter(|_| errors.is_empty()).ok_or(errors)
}

/// Reads station.toml's text as if it were `dir/station.toml` (no file is read: the fuzz
/// harness and tests give any text).
pub fn parse_station(text: &str, dir: &Path) -> Result<Station, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let path = dir.join(STATION_FILE);
    let station = with_source(&path, text, &mut errors, |root, d| {
        station::read(root, d, dir)
    });
    station.filter(|_| errors.is_empty()).ok_or(errors)
}

/// Reads schedule.toml's text as if it were `dir/schedule.toml`; the audio it names is
/// looked for (and measured) under `dir`, nothing is spoken.
pub fn parse_schedule(
    text: &str,
    dir: &Path,
    today: NaiveDate,
) -> Result<Schedule, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let path = dir.join(SCHEDULE_FILE);
    let mut media = MediaCache::in_memory();
    let schedule = with_source(&path, text, &mut errors, |root, d| {
        schedule::read(root, d, dir, &mut media, None, today)
    });
    schedule.filter(|_| errors.is_empty()).ok_or(errors)
}

/// Reads and parses one file, runs `read` over its top table, and gathers the diagnostics.
fn with_file<T>(
    path: &Path,
    errors: &mut Vec<Diagnostic>,
    read: impl FnOnce(&mut Fields, &mut Diagnostics) -> Option<T>,
) -> Option<T> {
    let source = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) => {
            errors.push(Diagnostic {
                file: path.to_path_buf(),
                line: 1,
                column: 1,
                message: format!("cannot read the file: {e}"),
                help: Some("check --config (or LOAXA_CONFIG) points at the config dir".into()),
            });
            return None;
        }
    };
    let source = match String::from_utf8(source) {
        Ok(s) => s,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(&e.as_bytes()[..valid]).into_owned();
            let (line, column) = crate::config::diag::line_column(&text, valid);
            errors.push(Diagnostic {
                file: path.to_path_buf(),
                line,
                column,
                message: "the file is not valid UTF-8".into(),
                help: Some(
                    "save it as UTF-8 (most editors: \"Save with encoding\" → UTF-8)".into(),
                ),
            });
            return None;
        }
    };
    with_source(path, &source, errors, read)
}

/// Parses `source` (the text of `path`), runs `read` over its top table, and gathers the
/// diagnostics.
fn with_source<T>(
    path: &Path,
    source: &str,
    errors: &mut Vec<Diagnostic>,
    read: impl FnOnce(&mut Fields, &mut Diagnostics) -> Option<T>,
) -> Option<T> {
    let mut d = Diagnostics::new(path, source);
    let (table, syntax_errors) = DeTable::parse_recoverable(source);
    let result = if syntax_errors.is_empty() {
        let mut root = Fields::new(
            table.get_ref(),
            table.span(),
            path.file_name()
                .map_or(String::new(), |n| n.to_string_lossy().into_owned()),
        );
        let value = read(&mut root, &mut d);
        root.finish(&mut d);
        value
    } else {
        for e in syntax_errors {
            d.error_help(
                e.span().unwrap_or(0..0),
                format!("TOML syntax: {}", e.message().trim()),
                "see the schedule.toml reference in README.md",
            );
        }
        None
    };
    errors.extend(d.into_vec());
    result
}
