//! Text bulletins: a bulletin may carry `text` instead of audio (schedule.toml, the feed,
//! a push). The station speaks it with its text-to-speech command (`[tts] command`,
//! default `espeak-ng -v vi`), once, at ingest: the WAV is kept under `<state>/tts/`,
//! named by a hash of the command and the text, and then plays like any audio file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

/// Without `[tts] command`: Vietnamese espeak-ng, text on stdin, WAV to `{out}`.
pub use crate::config::station::DEFAULT_TTS_COMMAND as DEFAULT_COMMAND;
/// Longer texts are refused: a bulletin is minutes, not a book.
pub const MAX_TEXT_CHARS: usize = 20_000;
/// A speech engine that takes longer than this is stuck.
const TIMEOUT: Duration = Duration::from_secs(120);

/// The station's speech engine and where its recordings are kept.
#[derive(Debug, Clone, PartialEq)]
pub struct Speech {
    /// Program and arguments: `{out}` is the WAV to write; `{text}`, if present, is the
    /// text, else the text goes to standard input.
    pub command: Vec<String>,
    pub dir: PathBuf,
    /// The longest recording accepted (the station's `max_duration`).
    pub max_duration: chrono::TimeDelta,
}

/// Why a text could not be spoken.
#[derive(Debug, thiserror::Error)]
pub enum SpeechError {
    #[error("the text is empty")]
    Empty,
    #[error("the text is over {MAX_TEXT_CHARS} characters")]
    TooLong,
    #[error("[tts] command is empty")]
    NoCommand,
    #[error("cannot create {}: {source}", .dir.display())]
    Dir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("the speech engine failed: {0}")]
    Engine(crate::sys::command::CommandError),
    #[error("{0}")]
    Measure(#[from] crate::audio::ingest::MediaError),
    #[error("the speech engine made no audio")]
    NoAudio,
    #[error("cannot keep the recording: {0}")]
    Keep(std::io::Error),
}

impl Speech {
    /// The speech engine `command`, keeping its recordings in `dir`.
    pub fn new(command: &[String], dir: PathBuf) -> Speech {
        Speech {
            command: command.to_vec(),
            dir,
            max_duration: crate::core::media::DEFAULT_MAX_DURATION,
        }
    }

    /// The station's own engine, recordings kept in its state, its bounds.
    pub fn of(station: &crate::config::station::Station) -> Speech {
        Speech::new(&station.tts, crate::store::Store::of(station).speech_dir())
            .with_limits(station.audio.max_duration)
    }

    /// Recordings longer than `max_duration` are refused.
    pub fn with_limits(mut self, max_duration: chrono::TimeDelta) -> Speech {
        self.max_duration = max_duration;
        self
    }

    /// Where `text` is (or will be) recorded.
    pub fn path_for(&self, text: &str) -> PathBuf {
        let mut h = Sha256::new();
        for part in &self.command {
            h.update(part.as_bytes());
            h.update([0x1f]);
        }
        h.update([0]);
        h.update(text.as_bytes());
        let name = crate::sys::hex::hex(&h.finalize()[..16]);
        self.dir.join(format!("{name}.wav"))
    }

    /// The recording of `text`, made now if it does not exist yet.
    pub fn render(&self, text: &str) -> Result<PathBuf, SpeechError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(SpeechError::Empty);
        }
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(SpeechError::TooLong);
        }
        let out = self.path_for(text);
        if out.metadata().is_ok_and(|m| m.len() > 44) {
            return Ok(out);
        }
        std::fs::create_dir_all(&self.dir).map_err(|source| SpeechError::Dir {
            dir: self.dir.clone(),
            source,
        })?;
        let tmp = out.with_extension("part.wav");
        let result = self.run(text, &tmp).and_then(|()| {
            let info = crate::audio::ingest::measure(&tmp, self.max_duration)?;
            if info.duration_ms < 100 {
                return Err(SpeechError::NoAudio);
            }
            // Measured once, kept beside it: the playout reads its loudness and silence there.
            crate::store::media::write_sidecar(&out, &info)
                .and_then(|()| std::fs::rename(&tmp, &out))
                .map_err(SpeechError::Keep)
        });
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result.map(|()| out)
    }

    fn run(&self, text: &str, out: &Path) -> Result<(), SpeechError> {
        if self.command.is_empty() {
            return Err(SpeechError::NoCommand);
        }
        let on_stdin = !self.command.iter().any(|a| a.contains("{text}"));
        let argv: Vec<String> = self
            .command
            .iter()
            .map(|a| {
                a.replace("{out}", &out.to_string_lossy())
                    .replace("{text}", text)
            })
            .collect();
        crate::sys::command::run(&argv, on_stdin.then_some(text.as_bytes()), TIMEOUT)
            .map_err(SpeechError::Engine)
    }
}
