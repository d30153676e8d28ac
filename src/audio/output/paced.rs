//! Outputs with no sound card behind them, paced by the clock like one: `null` discards,
//! `wav:<path>` records exactly what a card would have been given.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;

use super::{OutputError, Sink};
use crate::audio::decode::CHANNELS;
use crate::sys::clock::{Clock, std_duration};

/// How far ahead of the clock a paced sink accepts audio: a card's buffer.
const BUFFER: TimeDelta = TimeDelta::milliseconds(100);

/// Keeps written audio in step with the clock: its monotonic time, as a sound card's
/// own crystal would, so a step of the wall clock neither stalls nor rushes it.
struct Pacer {
    clock: Arc<dyn Clock>,
    rate: u32,
    /// When (monotonic) the audio written so far will have finished playing.
    played_until: Option<Duration>,
}

impl Pacer {
    fn write(&mut self, frames: usize) {
        let now = self.clock.monotonic();
        // After a pause (between sessions) the "card" starts again from now.
        let from = self.played_until.filter(|t| *t > now).unwrap_or(now);
        let until =
            from + Duration::from_nanos(frames as u64 * 1_000_000_000 / u64::from(self.rate));
        self.played_until = Some(until);
        if let Some(wait) = until.checked_sub(now + std_duration(BUFFER)) {
            self.clock.sleep_for(wait);
        }
    }

    fn latency(&self) -> Duration {
        let now = self.clock.monotonic();
        self.played_until
            .map_or(Duration::ZERO, |t| t.saturating_sub(now))
    }

    fn drain(&mut self) {
        let now = self.clock.monotonic();
        if let Some(wait) = self.played_until.and_then(|t| t.checked_sub(now)) {
            self.clock.sleep_for(wait);
        }
    }
}

pub struct NullSink {
    pacer: Pacer,
}

impl NullSink {
    pub fn new(clock: Arc<dyn Clock>, rate: u32) -> Self {
        NullSink {
            pacer: Pacer {
                clock,
                rate,
                played_until: None,
            },
        }
    }
}

impl Sink for NullSink {
    fn rate(&self) -> u32 {
        self.pacer.rate
    }
    fn start(&mut self) -> Result<(), OutputError> {
        Ok(())
    }
    fn write(&mut self, frames: &[f32]) -> Result<(), OutputError> {
        self.pacer.write(frames.len() / CHANNELS);
        Ok(())
    }
    fn latency(&self) -> Duration {
        self.pacer.latency()
    }
    fn drain(&mut self) -> Result<(), OutputError> {
        self.pacer.drain();
        Ok(())
    }
    fn stop(&mut self) {}
}

/// 16-bit stereo PCM WAV. Sessions follow one another in the file; the header is kept
/// current so the file is readable even after a crash.
pub struct WavSink {
    pacer: Pacer,
    file: BufWriter<File>,
    data_bytes: u64,
    since_header: u64,
}

impl WavSink {
    pub fn create(path: &Path, clock: Arc<dyn Clock>, rate: u32) -> Result<Self, OutputError> {
        let fail = |e: std::io::Error| {
            OutputError::Unavailable(format!("cannot write {}: {e}", path.display()))
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(fail)?;
        }
        let mut sink = WavSink {
            pacer: Pacer {
                clock,
                rate,
                played_until: None,
            },
            file: BufWriter::new(File::create(path).map_err(fail)?),
            data_bytes: 0,
            since_header: 0,
        };
        sink.write_header().map_err(fail)?;
        Ok(sink)
    }

    fn write_header(&mut self) -> std::io::Result<()> {
        let rate = self.pacer.rate;
        let data = u32::try_from(self.data_bytes).unwrap_or(u32::MAX);
        let mut h = Vec::with_capacity(44);
        h.extend_from_slice(b"RIFF");
        h.extend_from_slice(&data.saturating_add(36).to_le_bytes());
        h.extend_from_slice(b"WAVEfmt ");
        h.extend_from_slice(&16u32.to_le_bytes());
        h.extend_from_slice(&1u16.to_le_bytes()); // PCM
        h.extend_from_slice(&(CHANNELS as u16).to_le_bytes());
        h.extend_from_slice(&rate.to_le_bytes());
        h.extend_from_slice(&(rate * CHANNELS as u32 * 2).to_le_bytes());
        h.extend_from_slice(&(CHANNELS as u16 * 2).to_le_bytes());
        h.extend_from_slice(&16u16.to_le_bytes());
        h.extend_from_slice(b"data");
        h.extend_from_slice(&data.to_le_bytes());
        self.file.seek(SeekFrom::Start(0))?;
        self.file.write_all(&h)?;
        self.file.seek(SeekFrom::End(0))?;
        self.file.flush()?;
        self.since_header = 0;
        Ok(())
    }
}

impl Sink for WavSink {
    fn rate(&self) -> u32 {
        self.pacer.rate
    }
    fn start(&mut self) -> Result<(), OutputError> {
        Ok(())
    }
    fn write(&mut self, frames: &[f32]) -> Result<(), OutputError> {
        let mut bytes = Vec::with_capacity(frames.len() * 2);
        for s in frames {
            bytes.extend_from_slice(&((s.clamp(-1.0, 1.0) * 32767.0).round() as i16).to_le_bytes());
        }
        self.file
            .write_all(&bytes)
            .map_err(|e| OutputError::Failed(e.to_string()))?;
        self.data_bytes += bytes.len() as u64;
        self.since_header += bytes.len() as u64;
        // Keep the header current about once a second of audio.
        if self.since_header >= u64::from(self.pacer.rate) * 4 {
            self.write_header()
                .map_err(|e| OutputError::Failed(e.to_string()))?;
        }
        self.pacer.write(frames.len() / CHANNELS);
        Ok(())
    }
    fn latency(&self) -> Duration {
        self.pacer.latency()
    }
    fn drain(&mut self) -> Result<(), OutputError> {
        self.write_header()
            .map_err(|e| OutputError::Failed(e.to_string()))?;
        self.pacer.drain();
        Ok(())
    }
    fn stop(&mut self) {
        let _ = self.write_header();
    }
}

impl Drop for WavSink {
    fn drop(&mut self) {
        let _ = self.write_header();
    }
}
