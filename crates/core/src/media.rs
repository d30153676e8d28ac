//! What is known of an audio file once it has been decoded whole (at ingest): how long it
//! plays, how loud it is, how much near-silence it starts and ends with, and the bounds
//! every file from outside must keep (SPEC §11). Measuring is `audio::ingest`'s work.

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

/// Output channel count: everything plays as stereo.
pub const CHANNELS: usize = 2;

/// Silence thresholds (dBFS) at which leading and trailing quiet is measured; the
/// configured threshold uses the nearest of them.
pub const SILENCE_STEPS_DB: [i32; 9] = [-30, -35, -40, -45, -50, -55, -60, -65, -70];
/// Kept before the first and after the last sound above the threshold, so a word's
/// attack and a note's decay are not cut.
pub const SILENCE_KEEP_MS: u32 = 100;

/// How long a file starts and ends quieter than each of `SILENCE_STEPS_DB`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Silence {
    pub lead_ms: [u32; 9],
    pub tail_ms: [u32; 9],
}

/// What to play of a file: from `skip` for `len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub skip: TimeDelta,
    pub len: TimeDelta,
}

/// What decoding a file taught us.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MediaInfo {
    pub duration_ms: i64,
    pub sample_rate: u32,
    pub channels: u16,
    /// Packets the decoder rejected; a clean file has none.
    pub bad_packets: u32,
    /// False when the file's gapless header (MP3 Xing/LAME) claims fewer frames than the
    /// file holds, e.g. two MP3s joined: then play it without end trimming.
    #[serde(default = "yes")]
    pub gapless_trusted: bool,
    /// Integrated loudness (EBU R128), LUFS; `None` for a file too short or silent.
    #[serde(default)]
    pub loudness_lufs: Option<f64>,
    /// Highest true peak over all channels, dBTP.
    #[serde(default)]
    pub true_peak_db: Option<f64>,
    #[serde(default)]
    pub silence: Option<Silence>,
    /// How it was measured (`MEASURE_VERSION`): older cache entries are measured again.
    #[serde(default)]
    pub measured: u32,
}

/// Bumped when a measurement changes meaning (2: loudness as heard, mono as dual mono).
pub const MEASURE_VERSION: u32 = 2;

fn yes() -> bool {
    true
}

impl MediaInfo {
    /// The whole decoded length.
    pub fn duration(&self) -> TimeDelta {
        TimeDelta::milliseconds(self.duration_ms)
    }

    /// What plays once leading and trailing audio quieter than `silence_db` is cut
    /// (`None`: all of it). A file that is quiet throughout is played whole.
    pub fn span(&self, silence_db: Option<f64>) -> Span {
        let whole = Span {
            skip: TimeDelta::zero(),
            len: self.duration(),
        };
        let (Some(db), Some(s)) = (silence_db, self.silence) else {
            return whole;
        };
        let step = SILENCE_STEPS_DB
            .iter()
            .enumerate()
            .min_by_key(|(_, t)| (f64::from(**t) - db).abs() as i64)
            .map_or(4, |(i, _)| i);
        let lead = i64::from(s.lead_ms[step]);
        let tail = i64::from(s.tail_ms[step]);
        if lead + tail >= self.duration_ms {
            return whole;
        }
        Span {
            skip: TimeDelta::milliseconds(lead),
            len: TimeDelta::milliseconds(self.duration_ms - lead - tail),
        }
    }

    /// The gain (linear) that brings this file to `target` LUFS; 1.0 when its loudness is
    /// unknown. Peaks it pushes past the ceiling are held down by the limiter.
    pub fn gain_to(&self, target: f64) -> f32 {
        let Some(lufs) = self.loudness_lufs else {
            return 1.0;
        };
        let db = (target - lufs).clamp(-30.0, MAX_GAIN_DB);
        10f64.powf(db / 20.0) as f32
    }
}

/// Loudness normalisation never raises a file by more than this (a near-silent file would
/// otherwise become loud hiss).
const MAX_GAIN_DB: f64 = 24.0;
/// Peaks after the gain stay at or under this (dBFS).
pub const PEAK_CEILING_DB: f64 = -1.0;

/// Audio from any source must be within these bounds (SPEC §11): a header that says
/// 1 Hz or 200 channels is not a recording, and resampling it would cost hundreds of MB.
pub const MIN_SAMPLE_RATE: u32 = 8_000;
pub const MAX_SAMPLE_RATE: u32 = 192_000;
pub const MAX_CHANNELS: usize = 8;
/// `[audio] max_duration` when station.toml does not say.
pub const DEFAULT_MAX_DURATION: TimeDelta = TimeDelta::hours(4);

/// Why a stream's format is out of bounds, if it is.
pub fn out_of_bounds(rate: u32, channels: usize) -> Option<String> {
    if !(MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&rate) {
        return Some(format!(
            "its sample rate {rate} Hz is outside {}–{} kHz",
            MIN_SAMPLE_RATE / 1000,
            MAX_SAMPLE_RATE / 1000
        ));
    }
    if channels == 0 || channels > MAX_CHANNELS {
        return Some(format!(
            "it has {channels} channels; audio here has 1 to {MAX_CHANNELS}"
        ));
    }
    None
}

impl MediaInfo {
    /// Why this measured file may not be played here, if it may not.
    pub fn refusal(&self, max_duration: TimeDelta) -> Option<String> {
        out_of_bounds(self.sample_rate, usize::from(self.channels)).or_else(|| {
            (self.duration() > max_duration).then(|| {
                format!(
                    "it lasts {}, longer than max_duration ({})",
                    crate::units::format_duration(self.duration()),
                    crate::units::format_duration(max_duration)
                )
            })
        })
    }
}
