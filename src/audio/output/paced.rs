//! Outputs with no sound card behind them, paced by the clock like one: `null` discards,
//! `wav:<path>` records exactly what a card would have been given.

use std::fs::File;
use std::io::BufWriter;
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

/// 16-bit stereo PCM WAV (hound). Sessions follow one another in the file; the header is
/// brought up to date about once a second of audio and at every drain, so the file is
/// readable even after a crash.
pub struct WavSink {
    pacer: Pacer,
    file: hound::WavWriter<BufWriter<File>>,
    since_flush: u64,
    /// Samples the file still has room for: WAV sizes are 32-bit, and hound's count of
    /// bytes written would overflow past 4 GiB (6 h of 48 kHz stereo).
    room: u64,
}

/// The most audio bytes a WAV file holds, with room for the header.
const WAV_MAX_DATA: u64 = u32::MAX as u64 - 1024;

fn failed(e: hound::Error) -> OutputError {
    OutputError::Failed(e.to_string())
}

impl WavSink {
    pub fn create(path: &Path, clock: Arc<dyn Clock>, rate: u32) -> Result<Self, OutputError> {
        let fail = |e: &dyn std::fmt::Display| {
            OutputError::Unavailable(format!("cannot write {}: {e}", path.display()))
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
        }
        let spec = hound::WavSpec {
            channels: CHANNELS as u16,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut file = hound::WavWriter::create(path, spec).map_err(|e| fail(&e))?;
        file.flush().map_err(|e| fail(&e))?;
        Ok(WavSink {
            pacer: Pacer {
                clock,
                rate,
                played_until: None,
            },
            file,
            since_flush: 0,
            room: WAV_MAX_DATA / 2,
        })
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
        // Past the format's limit the audio is still paced but no longer kept: starting
        // the file again would lose what it holds.
        let kept = frames.len().min(self.room as usize) / CHANNELS * CHANNELS;
        if kept < frames.len() && self.room >= CHANNELS as u64 {
            tracing::warn!("the WAV output is full (4 GiB); what follows is not recorded");
        }
        for s in &frames[..kept] {
            self.file
                .write_sample((s.clamp(-1.0, 1.0) * 32767.0).round() as i16)
                .map_err(failed)?;
        }
        self.room -= kept as u64;
        if kept < frames.len() {
            self.room = 0;
        }
        self.since_flush += frames.len() as u64;
        if self.since_flush >= u64::from(self.pacer.rate) * CHANNELS as u64 {
            self.file.flush().map_err(failed)?;
            self.since_flush = 0;
        }
        self.pacer.write(frames.len() / CHANNELS);
        Ok(())
    }
    fn latency(&self) -> Duration {
        self.pacer.latency()
    }
    fn drain(&mut self) -> Result<(), OutputError> {
        self.file.flush().map_err(failed)?;
        self.pacer.drain();
        Ok(())
    }
    fn stop(&mut self) {
        let _ = self.file.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::clock::ManualClock;

    fn sink(path: &Path) -> WavSink {
        let clock = Arc::new(ManualClock::new(chrono::DateTime::UNIX_EPOCH));
        WavSink::create(path, clock, 8000).unwrap()
    }

    #[test]
    fn the_header_is_current_after_a_drain_and_a_full_file_keeps_what_it_holds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.wav");
        let mut wav = sink(&path);
        wav.write(&[0.5, -0.5, 1.5, -1.5]).unwrap();
        wav.drain().unwrap();
        // Readable while the sink is still open (as after a crash).
        let r = hound::WavReader::open(&path).unwrap();
        assert_eq!((r.spec().channels, r.spec().sample_rate), (2, 8000));
        let got: Vec<i16> = r.into_samples().map(Result::unwrap).collect();
        assert_eq!(got, [16384, -16384, 32767, -32767]);

        // Two frames of room left: the third frame is paced but not kept.
        wav.room = 4;
        wav.write(&[0.1, 0.1, 0.2, 0.2, 0.3, 0.3]).unwrap();
        wav.write(&[0.4, 0.4]).unwrap();
        drop(wav);
        let r = hound::WavReader::open(&path).unwrap();
        assert_eq!(r.len(), 8);
    }
}
