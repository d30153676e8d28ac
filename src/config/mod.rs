//! Loading and validating the two config files. Every problem in either file is reported
//! at once, each with file:line:column and a hint (see `diag`).

pub mod diag;
pub mod fleet;
pub mod monitor;
pub mod paths;
pub mod schedule;
mod sessions;
mod special;
pub mod station;
mod toml_reader;

use std::path::{Path, PathBuf};

use crate::i18n::Lang;
use crate::tr;

use chrono::NaiveDate;
use toml::de::DeTable;

use crate::config::diag::{Diagnostic, Diagnostics};
pub use crate::core::schedule::Schedule;
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

/// What the config reader asks about the audio files it names: it checks they exist,
/// and leaves measuring (a full decode) and speaking text bulletins to its caller, which
/// knows the station's decoder and speech engine (`station::config`).
pub trait Media {
    /// How long the file plays here (its silence trimmed), or why it cannot be played.
    fn playing_time(&mut self, path: &Path) -> Result<chrono::TimeDelta, String>;
    /// The recording of a text bulletin (spoken now, or found already spoken); `None`
    /// when texts cannot be spoken here (station.toml could not be read).
    fn speak(&mut self, text: &str) -> Option<Result<PathBuf, String>>;
}

/// Checks that files exist and measures nothing: every file lasts 0 s.
pub struct Unmeasured;

impl Media for Unmeasured {
    fn playing_time(&mut self, _: &Path) -> Result<chrono::TimeDelta, String> {
        Ok(chrono::TimeDelta::zero())
    }

    fn speak(&mut self, _: &str) -> Option<Result<PathBuf, String>> {
        None
    }
}

impl Config {
    /// Loads both files. `today` anchors the checks that depend on the calendar; `media`
    /// measures and speaks for the schedule, given the station (if station.toml reads).
    pub fn load(
        dir: &Path,
        today: NaiveDate,
        media: impl FnOnce(Option<&Station>) -> Box<dyn Media>,
    ) -> Result<Config, Vec<Diagnostic>> {
        let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        let mut errors = Vec::new();
        let lang = crate::i18n::for_config(&dir);
        let station = with_file(&dir.join(STATION_FILE), lang, &mut errors, |root, d| {
            station::read(root, d, &dir)
        });
        let mut media = media(station.as_ref());
        let quiet = station.as_ref().and_then(|s| s.audio.quiet_hours);
        let schedule = with_file(&dir.join(SCHEDULE_FILE), lang, &mut errors, |root, d| {
            schedule::read(root, d, &dir, media.as_mut(), today, quiet)
        });
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
    let lang = crate::i18n::for_config(&dir);
    let station = with_file(&dir.join(STATION_FILE), lang, &mut errors, |root, d| {
        station::read(root, d, &dir)
    });
    station.filter(|_| errors.is_empty()).ok_or(errors)
}

/// Reads station.toml's text as if it were `dir/station.toml` (no file is read: the fuzz
/// harness and tests give any text).
pub fn parse_station(text: &str, dir: &Path) -> Result<Station, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let path = dir.join(STATION_FILE);
    let lang = crate::i18n::for_config(dir);
    let station = with_source(&path, text, lang, &mut errors, |root, d| {
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
    let lang = crate::i18n::for_config(dir);
    let schedule = with_source(&path, text, lang, &mut errors, |root, d| {
        schedule::read(root, d, dir, &mut Unmeasured, today, None)
    });
    schedule.filter(|_| errors.is_empty()).ok_or(errors)
}

/// Reads and parses one file, runs `read` over its top table, and gathers the diagnostics.
fn with_file<T>(
    path: &Path,
    lang: Lang,
    errors: &mut Vec<Diagnostic>,
    read: impl FnOnce(&mut Fields, &mut Diagnostics) -> Option<T>,
) -> Option<T> {
    let source = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) => {
            errors.push(Diagnostic {
                lang,
                file: path.to_path_buf(),
                line: 1,
                column: 1,
                message: tr!(lang, "cfg-unreadable", why = &e.to_string()),
                help: Some(tr!(lang, "cfg-unreadable-help")),
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
                lang,
                file: path.to_path_buf(),
                line,
                column,
                message: tr!(lang, "cfg-not-utf8"),
                help: Some(tr!(lang, "cfg-not-utf8-help")),
            });
            return None;
        }
    };
    with_source(path, &source, lang, errors, read)
}

/// What most likely went wrong on the line of a syntax error: curly quotes from a word
/// processor or a phone keyboard, or a value written without its quotes.
fn syntax_hint(source: &str, at: usize, lang: Lang) -> String {
    let start = source[..at.min(source.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let line = source[start..].lines().next().unwrap_or("");
    if line.contains(['\u{201C}', '\u{201D}', '\u{2018}', '\u{2019}']) {
        return tr!(lang, "cfg-hint-curly-quotes");
    }
    if let Some((key, value)) = line.split_once('=') {
        let value = value.trim();
        if !value.is_empty() && !value.starts_with(['"', '\'', '[', '{']) {
            let key = key.trim();
            let quoted = format!("{key} = \"{value}\"");
            // Numbers and true/false need none; anything else is text.
            if value.parse::<f64>().is_err() && value != "true" && value != "false" {
                return tr!(lang, "cfg-hint-quote", line = &quoted);
            }
        }
    }
    tr!(lang, "cfg-toml-help")
}

/// Parses `source` (the text of `path`), runs `read` over its top table, and gathers the
/// diagnostics.
fn with_source<T>(
    path: &Path,
    source: &str,
    lang: Lang,
    errors: &mut Vec<Diagnostic>,
    read: impl FnOnce(&mut Fields, &mut Diagnostics) -> Option<T>,
) -> Option<T> {
    // Names and paths compare as NFC (SPEC §16): the whole text is read that way, so a
    // session typed with combining accents is the session, and its positions are those
    // of the text the diagnostics quote.
    let source = crate::core::text::nfc(source);
    let source: &str = &source;
    let mut d = Diagnostics::new(path, source, lang);
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
            let span = e.span().unwrap_or(0..0);
            let help = syntax_hint(source, span.start, lang);
            d.error_help(
                span,
                tr!(lang, "cfg-toml-syntax", message = e.message().trim()),
                help,
            );
        }
        None
    };
    errors.extend(d.into_vec());
    result
}
