//! Media facts the planner and the playout need, measured once per file at ingest by
//! decoding it whole: how long it really plays (container headers such as an MP3 Xing
//! frame can be wrong; encoder delay and padding are trimmed where the file records them),
//! its integrated loudness and true peak (EBU R128), and how much near-silence it starts
//! and ends with. Results are cached by path, size and modification time (and beside feed
//! and pushed files), so `loaxa plan` stays fast after the first run.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use chrono::TimeDelta;

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{CODEC_TYPE_NULL, CODEC_TYPE_OPUS, DecoderOptions};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

pub use crate::core::media::MediaInfo;
use crate::core::media::{
    DEFAULT_MAX_DURATION, MEASURE_VERSION, SILENCE_KEEP_MS, SILENCE_STEPS_DB, Silence,
    out_of_bounds,
};
use crate::store::Store;
use crate::store::media::{CacheEntries, CacheEntry, read_sidecar};

/// End padding a real encoder adds is under two MP3 frames; more "padding" than this means
/// the header's frame count is wrong.
const MAX_TRUE_END_TRIM: u64 = 2 * 1152;

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path} is not audio that loaxa can decode ({reason})")]
    NotAudio { path: PathBuf, reason: String },
}

/// Decodes `path` from start to end and returns its real duration. Audio out of bounds
/// (rate, channels, longer than `max_duration`) is refused as soon as that is known.
pub fn measure(path: &Path, max_duration: TimeDelta) -> Result<MediaInfo, MediaError> {
    let not_audio = |reason: String| MediaError::NotAudio {
        path: path.to_path_buf(),
        reason,
    };
    let file = File::open(path).map_err(|source| MediaError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    // A malformed file can make a decoder panic; it must not take the caller down.
    let measured = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        decode_all(file, path, max_duration)
    }));
    match measured {
        Ok(result) => result.map_err(not_audio),
        Err(_) => Err(not_audio("the decoder crashed on it".into())),
    }
}

/// The file's audio track, ready to decode: what its header says is checked first.
struct Track {
    reader: Box<dyn symphonia::core::formats::FormatReader>,
    decoder: Box<dyn symphonia::core::codecs::Decoder>,
    id: u32,
    /// What the container's header announces (MP3 Xing/Info, FLAC STREAMINFO, WAV size…).
    announced: Option<u64>,
    sample_rate: u32,
    channels: u16,
}

fn open_track(file: File, path: &Path) -> Result<Track, String> {
    let stream = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    let format_options = FormatOptions {
        enable_gapless: true,
        ..Default::default()
    };
    let probed = symphonia::default::get_probe()
        .format(&hint, stream, &format_options, &MetadataOptions::default())
        .map_err(|e| {
            if looks_like_opus(path) {
                OPUS_REFUSED.to_string()
            } else {
                format!("unknown format: {e}")
            }
        })?;
    let reader = probed.format;
    let track = reader
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        .ok_or("no audio track")?;
    if track.codec_params.codec == CODEC_TYPE_OPUS {
        return Err(OPUS_REFUSED.into());
    }
    let track_id = track.id;
    let announced = track.codec_params.n_frames;
    let decoder = symphonia::default::get_codecs()
        .make(&track.codec_params, &DecoderOptions::default())
        .map_err(|e| format!("unsupported codec: {e}"))?;

    // What the header says is checked before a single packet is decoded.
    if let (Some(rate), Some(ch)) = (track.codec_params.sample_rate, track.codec_params.channels)
        && let Some(why) = out_of_bounds(rate, ch.count())
    {
        return Err(why);
    }
    Ok(Track {
        sample_rate: track.codec_params.sample_rate.unwrap_or(0),
        channels: track.codec_params.channels.map_or(0, |c| c.count() as u16),
        reader,
        decoder,
        id: track_id,
        announced,
    })
}

fn decode_all(file: File, path: &Path, max_duration: TimeDelta) -> Result<MediaInfo, String> {
    let Track {
        mut reader,
        mut decoder,
        id: track_id,
        announced,
        mut sample_rate,
        mut channels,
    } = open_track(file, path)?;
    let mut frames: u64 = 0;
    let max_ms = max_duration.num_milliseconds().max(0) as u64;
    let mut bad_packets = 0u32;
    let mut end_trimmed: u64 = 0;
    let mut levels = Levels::default();
    let mut samples: Option<SampleBuffer<f32>> = None;
    loop {
        let packet = match reader.next_packet() {
            Ok(p) => p,
            Err(SymError::IoError(e)) if e.kind() == io::ErrorKind::UnexpectedEof => break,
            Err(SymError::ResetRequired) => break,
            Err(e) => return Err(format!("read error: {e}")),
        };
        if packet.track_id() != track_id {
            continue;
        }
        end_trimmed += u64::from(packet.trim_end());
        match decoder.decode(&packet) {
            Ok(buf) => {
                let spec = *buf.spec();
                if let Some(why) = out_of_bounds(spec.rate, spec.channels.count()) {
                    return Err(why);
                }
                frames += buf.frames() as u64;
                sample_rate = spec.rate;
                channels = spec.channels.count() as u16;
                if frames * 1000 / u64::from(sample_rate) > max_ms {
                    return Err(format!(
                        "it is longer than max_duration ({})",
                        crate::core::units::format_duration(max_duration)
                    ));
                }
                let capacity = buf.capacity() as u64;
                let sb = match &mut samples {
                    Some(sb) if sb.capacity() >= buf.capacity() * spec.channels.count() => sb,
                    _ => samples.insert(SampleBuffer::new(capacity, spec)),
                };
                sb.copy_interleaved_ref(buf);
                levels.add(sb.samples(), spec.channels.count(), spec.rate);
            }
            Err(SymError::DecodeError(_)) => bad_packets += 1,
            Err(e) => return Err(format!("decode error: {e}")),
        }
    }
    // A header that cut off real audio is not believed: count what is really there.
    let gapless_trusted = end_trimmed <= MAX_TRUE_END_TRIM;
    if !gapless_trusted {
        frames += end_trimmed;
    }
    if frames == 0 || sample_rate == 0 {
        return Err("no audio in it".into());
    }
    check_complete(frames, sample_rate, announced)?;
    let (loudness_lufs, true_peak_db) = levels.loudness();
    Ok(MediaInfo {
        duration_ms: (frames * 1000 / u64::from(sample_rate)) as i64,
        sample_rate,
        channels,
        bad_packets,
        gapless_trusted,
        loudness_lufs,
        true_peak_db,
        silence: levels.silence(sample_rate),
        measured: MEASURE_VERSION,
    })
}

/// Far less audio than the header announces: the file was cut short.
fn check_complete(frames: u64, sample_rate: u32, announced: Option<u64>) -> Result<(), String> {
    if let Some(expected) = announced {
        let missing = expected.saturating_sub(frames);
        if missing > u64::from(sample_rate) / 2 && missing * 50 > expected {
            return Err(format!(
                "it is truncated: {:.1}s of audio where its header announces {:.1}s",
                frames as f64 / f64::from(sample_rate),
                expected as f64 / f64::from(sample_rate)
            ));
        }
    }
    Ok(())
}

/// No well-kept Rust crate decodes Opus without a C library, so Opus is refused plainly.
pub const OPUS_REFUSED: &str = "Opus audio (voice messages from Zalo, Messenger, WhatsApp…) is not supported: convert it first, e.g. `ffmpeg -i voice.opus voice.mp3`";

/// An Ogg or WebM/Matroska file carrying Opus: its first kilobytes name the codec.
fn looks_like_opus(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 4096];
    let n = File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    let head = &head[..n];
    head.windows(8).any(|w| w == b"OpusHead") || head.windows(6).any(|w| w == b"A_OPUS")
}

/// Loudness and silence, measured as the samples go by.
#[derive(Default)]
struct Levels {
    meter: Option<ebur128::EbuR128>,
    /// Where the meter's format (channels, rate) was set; a change mid-file ends metering.
    format: Option<(usize, u32)>,
    broken: bool,
    frames: u64,
    /// Per threshold: the first and last frame louder than it.
    first: [Option<u64>; 9],
    last: [Option<u64>; 9],
}

impl Levels {
    fn add(&mut self, interleaved: &[f32], channels: usize, rate: u32) {
        if channels == 0 {
            return;
        }
        if self.format.is_none() {
            self.format = Some((channels, rate));
            self.meter = ebur128::EbuR128::new(
                channels as u32,
                rate,
                ebur128::Mode::I | ebur128::Mode::TRUE_PEAK,
            )
            .ok();
            // A mono file plays on both speakers: measure it as it will be heard (R128's
            // dual mono, +3 dB against one channel alone).
            if channels == 1
                && let Some(m) = &mut self.meter
                && m.set_channel(0, ebur128::Channel::DualMono).is_err()
            {
                self.broken = true;
            }
        }
        if self.format != Some((channels, rate)) {
            self.broken = true;
        }
        if !self.broken
            && let Some(m) = &mut self.meter
            && m.add_frames_f32(interleaved).is_err()
        {
            self.broken = true;
        }
        let steps = SILENCE_STEPS_DB.map(|db| 10f32.powf(db as f32 / 20.0));
        for frame in interleaved.chunks_exact(channels) {
            let peak = frame.iter().fold(0f32, |m, s| m.max(s.abs()));
            for (i, t) in steps.iter().enumerate() {
                if peak > *t {
                    self.first[i].get_or_insert(self.frames);
                    self.last[i] = Some(self.frames);
                }
            }
            self.frames += 1;
        }
    }

    fn loudness(&self) -> (Option<f64>, Option<f64>) {
        let Some(m) = self.meter.as_ref().filter(|_| !self.broken) else {
            return (None, None);
        };
        let lufs = m.loudness_global().ok().filter(|l| l.is_finite());
        let peak = (0..m.channels())
            .filter_map(|c| m.true_peak(c).ok())
            .fold(None, |acc: Option<f64>, p| {
                Some(acc.map_or(p, |a| a.max(p)))
            })
            .filter(|p| *p > 0.0)
            .map(|p| 20.0 * p.log10());
        (lufs, peak)
    }

    fn silence(&self, rate: u32) -> Option<Silence> {
        if self.frames == 0 || rate == 0 {
            return None;
        }
        let ms = |frames: u64| (frames * 1000 / u64::from(rate)) as u32;
        let mut s = Silence {
            lead_ms: [0; 9],
            tail_ms: [0; 9],
        };
        for i in 0..SILENCE_STEPS_DB.len() {
            if let (Some(first), Some(last)) = (self.first[i], self.last[i]) {
                s.lead_ms[i] = ms(first).saturating_sub(SILENCE_KEEP_MS);
                s.tail_ms[i] = ms(self.frames - 1 - last).saturating_sub(SILENCE_KEEP_MS);
            }
        }
        Some(s)
    }
}

/// Measurements made once and remembered (in the store, see `store::media`).
#[derive(Debug)]
pub struct MediaCache {
    /// The station's `trim_silence_below`: durations handed out are what plays.
    pub silence_db: Option<f64>,
    /// The station's `max_duration`: longer files are refused.
    pub max_duration: TimeDelta,
    store: Option<Store>,
    entries: CacheEntries,
    dirty: bool,
}

impl Default for MediaCache {
    fn default() -> Self {
        MediaCache {
            silence_db: None,
            max_duration: DEFAULT_MAX_DURATION,
            store: None,
            entries: CacheEntries::new(),
            dirty: false,
        }
    }
}

impl MediaCache {
    /// A cache kept only in memory.
    pub fn in_memory() -> Self {
        MediaCache::default()
    }

    /// The cache the store keeps (an unreadable one is simply started afresh).
    pub fn open(store: &Store) -> Self {
        MediaCache {
            entries: store.media_cache(),
            store: Some(store.clone()),
            ..MediaCache::default()
        }
    }

    /// As the station plays: its silence threshold and its longest file.
    pub fn for_station(mut self, audio: &crate::config::station::Audio) -> Self {
        self.silence_db = audio.trim_silence_below;
        self.max_duration = audio.max_duration;
        self
    }

    /// How long `info`'s file plays here (its silence trimmed as configured).
    pub fn playing_time(&self, info: &MediaInfo) -> TimeDelta {
        info.span(self.silence_db).len
    }

    /// What is known of `path` without decoding it now (playback must not stall on a
    /// measurement): the cache, else the `.info.json` the feed or a push left beside it.
    pub fn cached(&self, path: &Path) -> Option<MediaInfo> {
        self.entries
            .get(path)
            .map(|e| e.info)
            .or_else(|| read_sidecar(path))
    }

    pub fn info(&mut self, path: &Path) -> Result<MediaInfo, MediaError> {
        let meta = std::fs::metadata(path).map_err(|source| MediaError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let modified_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        if let Some(hit) = self.entries.get(path)
            && hit.size == meta.len()
            && hit.modified_ns == modified_ns
            && hit.info.measured == MEASURE_VERSION
        {
            // Measured under other bounds, perhaps: they are the station's now.
            return match hit.info.refusal(self.max_duration) {
                Some(reason) => Err(MediaError::NotAudio {
                    path: path.to_path_buf(),
                    reason,
                }),
                None => Ok(hit.info),
            };
        }
        let info = measure(path, self.max_duration)?;
        self.entries.insert(
            path.to_path_buf(),
            CacheEntry {
                size: meta.len(),
                modified_ns,
                info,
            },
        );
        self.dirty = true;
        Ok(info)
    }

    /// Writes new measurements back. Failing to save only costs time next run.
    pub fn save(&mut self) {
        let Some(store) = &self.store else { return };
        if !self.dirty {
            return;
        }
        match store.save_media_cache(&self.entries) {
            Ok(()) => self.dirty = false,
            Err(e) => tracing::debug!("media cache not saved: {e}"),
        }
    }
}
