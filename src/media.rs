//! Media facts the planner needs: how long each audio file really plays.
//!
//! A duration is measured by decoding the whole file (container headers such as an MP3
//! Xing frame can be wrong), with encoder delay and padding trimmed where the file
//! records them. Results are cached by path, size and modification time, so `loaxa plan`
//! stays fast after the first run.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};
use symphonia::core::codecs::{CODEC_TYPE_NULL, DecoderOptions};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

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
}

fn yes() -> bool {
    true
}

/// End padding a real encoder adds is under two MP3 frames; more "padding" than this means
/// the header's frame count is wrong.
const MAX_TRUE_END_TRIM: u64 = 2 * 1152;

impl MediaInfo {
    pub fn duration(&self) -> TimeDelta {
        TimeDelta::milliseconds(self.duration_ms)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path} is not audio that loaxa can decode ({reason})")]
    NotAudio { path: PathBuf, reason: String },
}

/// Decodes `path` from start to end and returns its real duration.
pub fn measure(path: &Path) -> Result<MediaInfo, MediaError> {
    let not_audio = |reason: String| MediaError::NotAudio {
        path: path.to_path_buf(),
        reason,
    };
    let file = File::open(path).map_err(|source| MediaError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    // A malformed file can make a decoder panic; it must not take the caller down.
    let measured =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decode_all(file, path)));
    match measured {
        Ok(result) => result.map_err(not_audio),
        Err(_) => Err(not_audio("the decoder crashed on it".into())),
    }
}

fn decode_all(file: File, path: &Path) -> Result<MediaInfo, String> {
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
        .map_err(|e| format!("unknown format: {e}"))?;
    let mut reader = probed.format;
    let track = reader
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        .ok_or("no audio track")?;
    let track_id = track.id;
    // What the container's header announces (MP3 Xing/Info, FLAC STREAMINFO, WAV size…).
    let announced = track.codec_params.n_frames;
    let mut decoder = symphonia::default::get_codecs()
        .make(&track.codec_params, &DecoderOptions::default())
        .map_err(|e| format!("unsupported codec: {e}"))?;

    let mut frames: u64 = 0;
    let mut sample_rate = track.codec_params.sample_rate.unwrap_or(0);
    let mut channels = track.codec_params.channels.map_or(0, |c| c.count() as u16);
    let mut bad_packets = 0u32;
    let mut end_trimmed: u64 = 0;
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
                frames += buf.frames() as u64;
                sample_rate = buf.spec().rate;
                channels = buf.spec().channels.count() as u16;
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
    // Far less audio than the header announces: the file was cut short.
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
    Ok(MediaInfo {
        duration_ms: (frames * 1000 / u64::from(sample_rate)) as i64,
        sample_rate,
        channels,
        bad_packets,
        gapless_trusted,
    })
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CacheEntry {
    size: u64,
    modified_ns: u128,
    info: MediaInfo,
}

/// Durations measured once and remembered in `<state>/cache/media.json`.
#[derive(Debug, Default)]
pub struct MediaCache {
    file: Option<PathBuf>,
    entries: BTreeMap<PathBuf, CacheEntry>,
    dirty: bool,
}

impl MediaCache {
    /// A cache kept only in memory.
    pub fn in_memory() -> Self {
        MediaCache::default()
    }

    /// Loads the cache from the state dir; an unreadable cache is simply started afresh.
    pub fn open(state_dir: &Path) -> Self {
        let file = state_dir.join("cache").join("media.json");
        let entries = std::fs::read(&file)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        MediaCache {
            file: Some(file),
            entries,
            dirty: false,
        }
    }

    /// What is known of `path` without decoding it now (playback must not stall on a measurement).
    pub fn cached(&self, path: &Path) -> Option<MediaInfo> {
        self.entries.get(path).map(|e| e.info)
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
        {
            return Ok(hit.info);
        }
        let info = measure(path)?;
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
        let Some(file) = &self.file else { return };
        if !self.dirty {
            return;
        }
        let saved = file
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|_| {
                let json = serde_json::to_vec(&self.entries).map_err(io::Error::other)?;
                crate::fsutil::write_atomic(file, &json)
            });
        match saved {
            Ok(()) => self.dirty = false,
            Err(e) => tracing::debug!("media cache not saved to {}: {e}", file.display()),
        }
    }
}
