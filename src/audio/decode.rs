//! Turns an audio file or stream into what the output plays: interleaved stereo `f32`
//! at the output's sample rate.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{CODEC_TYPE_NULL, Decoder, DecoderOptions};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::{MediaSource, MediaSourceStream, ReadOnlySource};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

/// Output channel count: everything is mixed to stereo.
pub use crate::core::media::CHANNELS;

/// A decoded audio source, read block by block.
pub struct AudioStream {
    reader: Box<dyn FormatReader>,
    decoder: Box<dyn Decoder>,
    track_id: u32,
    resampler: Option<Resampler>,
    target_rate: u32,
    /// Converted frames not yet handed out.
    pending: Vec<f32>,
    taken: usize,
    ended: bool,
    /// Packets that failed to decode and were skipped.
    pub bad_packets: u32,
    /// Output frames still to drop before the first one handed out (leading silence).
    skip: u64,
    /// Output frames still to hand out; `None`: to the end (trailing silence cut).
    left: Option<u64>,
    /// Loudness gain and peak limiting, when the station normalises loudness.
    limiter: Option<crate::audio::limiter::Limiter>,
    /// Why decoding stopped before the source's end (a decoder panic, a format out of
    /// bounds): the caller fills the slot rather than leave it silent.
    failure: Option<String>,
}

/// Why a file or stream cannot be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("cannot open {path}: {source}")]
    Open {
        path: std::path::PathBuf,
        source: io::Error,
    },
    #[error("unknown format: {0}")]
    Format(SymError),
    #[error("no audio track")]
    NoTrack,
    #[error("unsupported codec: {0}")]
    Codec(SymError),
    /// A malformed file made the decoder panic (caught: see `guarded`).
    #[error("the decoder crashed on this file")]
    Crashed,
}

impl AudioStream {
    /// Opens a file. `gapless` trims encoder delay and padding (see `media::MediaInfo`).
    pub fn open_file(path: &Path, target_rate: u32, gapless: bool) -> Result<Self, DecodeError> {
        let file = File::open(path).map_err(|source| DecodeError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_string);
        Self::open(Box::new(file), ext.as_deref(), target_rate, gapless)
    }

    /// Opens a stream that cannot seek, such as an HTTP response body.
    pub fn open_stream(
        body: Box<dyn Read + Send + Sync>,
        ext: Option<&str>,
        target_rate: u32,
    ) -> Result<Self, DecodeError> {
        Self::open(Box::new(ReadOnlySource::new(body)), ext, target_rate, false)
    }

    fn open(
        source: Box<dyn MediaSource>,
        ext: Option<&str>,
        target_rate: u32,
        gapless: bool,
    ) -> Result<Self, DecodeError> {
        let stream = MediaSourceStream::new(source, Default::default());
        let mut hint = Hint::new();
        if let Some(ext) = ext {
            hint.with_extension(ext);
        }
        let options = FormatOptions {
            enable_gapless: gapless,
            ..Default::default()
        };
        let probed = guarded(|| {
            symphonia::default::get_probe().format(
                &hint,
                stream,
                &options,
                &MetadataOptions::default(),
            )
        })?
        .map_err(DecodeError::Format)?;
        let reader = probed.format;
        let track = reader
            .tracks()
            .iter()
            .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
            .ok_or(DecodeError::NoTrack)?;
        let track_id = track.id;
        let decoder = symphonia::default::get_codecs()
            .make(&track.codec_params, &DecoderOptions::default())
            .map_err(DecodeError::Codec)?;
        Ok(AudioStream {
            reader,
            decoder,
            track_id,
            resampler: None,
            target_rate,
            pending: Vec::new(),
            taken: 0,
            ended: false,
            bad_packets: 0,
            skip: 0,
            left: None,
            limiter: None,
            failure: None,
        })
    }

    /// Why the stream stopped early, if it did not simply end.
    pub fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }

    /// Plays only `len` of the source, starting `skip` into it (silence trimmed at ingest).
    pub fn trim(&mut self, skip: chrono::TimeDelta, len: chrono::TimeDelta) {
        let frames = |t: chrono::TimeDelta| {
            (t.num_milliseconds().max(0) as u64) * u64::from(self.target_rate) / 1000
        };
        self.skip = frames(skip);
        self.left = Some(frames(len));
    }

    /// Applies `gain` (linear), with a look-ahead limiter holding peaks under
    /// `ceiling_db` dBFS.
    pub fn gain(&mut self, gain: f32, ceiling_db: f64) {
        self.limiter = Some(crate::audio::limiter::Limiter::new(
            self.target_rate,
            gain,
            ceiling_db,
        ));
    }

    /// Fills `out` (interleaved stereo) with as many frames as are available, up to its
    /// length. Returns the frames written; 0 means the source has ended.
    pub fn read(&mut self, out: &mut [f32]) -> usize {
        match self.limiter.take() {
            Some(mut limiter) => {
                let n = limiter.read(out, |into| self.read_trimmed(into));
                self.limiter = Some(limiter);
                n
            }
            None => self.read_trimmed(out),
        }
    }

    fn read_trimmed(&mut self, out: &mut [f32]) -> usize {
        let mut scratch = [0.0f32; 1024 * CHANNELS];
        while self.skip > 0 {
            let want = (self.skip as usize).min(1024) * CHANNELS;
            let n = self.read_raw(&mut scratch[..want]);
            if n == 0 {
                return 0;
            }
            self.skip -= n as u64;
        }
        let room = out.len() / CHANNELS;
        let max = self.left.map_or(room, |l| room.min(l as usize));
        let n = self.read_raw(&mut out[..max * CHANNELS]);
        if let Some(l) = &mut self.left {
            *l -= n as u64;
        }
        n
    }

    fn read_raw(&mut self, out: &mut [f32]) -> usize {
        let mut written = 0;
        while written < out.len() {
            if self.taken >= self.pending.len() {
                if self.ended || !self.refill() {
                    break;
                }
                continue;
            }
            let n = (out.len() - written).min(self.pending.len() - self.taken);
            out[written..written + n].copy_from_slice(&self.pending[self.taken..self.taken + n]);
            written += n;
            self.taken += n;
        }
        written / CHANNELS
    }

    /// Decodes the next packet into `pending`. False at the end of the source.
    fn refill(&mut self) -> bool {
        self.pending.clear();
        self.taken = 0;
        loop {
            let packet = match self.reader.next_packet() {
                Ok(p) => p,
                Err(SymError::IoError(e)) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    return self.finish();
                }
                Err(e) => {
                    tracing::debug!("audio read stopped: {e}");
                    return self.finish();
                }
            };
            if packet.track_id() != self.track_id {
                continue;
            }
            let decoder = &mut self.decoder;
            let decoded = guarded(|| match decoder.decode(&packet) {
                Ok(buf) => {
                    let spec = *buf.spec();
                    let mut samples = SampleBuffer::<f32>::new(buf.capacity() as u64, spec);
                    samples.copy_interleaved_ref(buf);
                    Ok(Some((
                        spec.rate,
                        spec.channels.count(),
                        samples.samples().to_vec(),
                    )))
                }
                Err(SymError::DecodeError(_)) => Ok(None),
                Err(e) => Err(e.to_string()),
            });
            match decoded {
                Ok(Ok(Some((rate, channels, _))))
                    if crate::core::media::out_of_bounds(rate, channels).is_some() =>
                {
                    let why = crate::core::media::out_of_bounds(rate, channels).unwrap_or_default();
                    tracing::warn!("decoding stopped: {why}");
                    self.failure = Some(why);
                    return self.finish();
                }
                Ok(Ok(Some((rate, channels, samples)))) => {
                    let stereo = to_stereo(&samples, channels);
                    if stereo.is_empty() {
                        continue;
                    }
                    let target = self.target_rate;
                    let resampler = self
                        .resampler
                        .get_or_insert_with(|| Resampler::new(rate, target));
                    resampler.process(&stereo, &mut self.pending);
                    if !self.pending.is_empty() {
                        return true;
                    }
                }
                Ok(Ok(None)) => self.bad_packets += 1,
                Ok(Err(e)) => {
                    tracing::warn!("decoding stopped: {e}");
                    self.failure = Some(e);
                    return self.finish();
                }
                Err(e) => {
                    tracing::warn!("decoding stopped: {e}");
                    self.failure = Some(e.to_string());
                    return self.finish();
                }
            }
        }
    }

    fn finish(&mut self) -> bool {
        self.ended = true;
        false
    }
}

/// Runs decoder code that a malformed file might make panic, turning a panic into an error.
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, DecodeError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|_| DecodeError::Crashed)
}

/// Mono is copied to both sides; more than two channels keep the front pair.
fn to_stereo(samples: &[f32], channels: usize) -> Vec<f32> {
    match channels {
        0 => Vec::new(),
        1 => samples.iter().flat_map(|s| [*s, *s]).collect(),
        2 => samples.to_vec(),
        n => samples.chunks_exact(n).flat_map(|f| [f[0], f[1]]).collect(),
    }
}

/// Streaming linear-interpolation resampler for interleaved stereo.
///
/// Loudspeaker horns pass roughly 200 Hz–8 kHz; the images linear interpolation leaves
/// above the source's Nyquist frequency are far outside what they reproduce.
pub struct Resampler {
    /// Input frames per output frame.
    step: f64,
    /// Position of the next output frame, in input frames, where -1 is `prev`.
    pos: f64,
    prev: Option<[f32; 2]>,
}

impl Resampler {
    pub fn new(from: u32, to: u32) -> Self {
        Resampler {
            step: f64::from(from) / f64::from(to.max(1)),
            pos: -1.0,
            prev: None,
        }
    }

    pub fn process(&mut self, input: &[f32], out: &mut Vec<f32>) {
        let n = input.len() / 2;
        if n == 0 {
            return;
        }
        if (self.step - 1.0).abs() < f64::EPSILON {
            out.extend_from_slice(&input[..n * 2]);
            return;
        }
        let prev = *self.prev.get_or_insert([input[0], input[1]]);
        let frame = |k: isize| -> [f32; 2] {
            if k < 0 {
                prev
            } else {
                let i = k as usize * 2;
                [input[i], input[i + 1]]
            }
        };
        // Output frames whose two neighbours are both known: positions below n - 1.
        while self.pos < (n - 1) as f64 {
            let base = self.pos.floor();
            let frac = (self.pos - base) as f32;
            let (a, b) = (frame(base as isize), frame(base as isize + 1));
            out.push(a[0] + (b[0] - a[0]) * frac);
            out.push(a[1] + (b[1] - a[1]) * frac);
            self.pos += self.step;
        }
        self.pos -= n as f64;
        self.prev = Some(frame(n as isize - 1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resampler_keeps_duration_and_continuity_across_blocks() {
        let mut r = Resampler::new(22_050, 48_000);
        let input: Vec<f32> = (0..22_050)
            .flat_map(|i| {
                let v = (i as f32 * 0.01).sin();
                [v, v]
            })
            .collect();
        let mut out = Vec::new();
        for block in input.chunks(2 * 1000) {
            r.process(block, &mut out);
        }
        let frames = out.len() / 2;
        assert!(
            (frames as i64 - 48_000).abs() <= 3,
            "{frames} frames for one second"
        );
        // A smooth input stays smooth: no jumps at block joins.
        let max_step = out
            .chunks(2)
            .map(|f| f[0])
            .collect::<Vec<_>>()
            .windows(2)
            .map(|w| (w[1] - w[0]).abs())
            .fold(0.0, f32::max);
        assert!(max_step < 0.01, "largest step {max_step}");
    }

    #[test]
    fn mono_goes_to_both_sides() {
        assert_eq!(to_stereo(&[0.5, -0.5], 1), vec![0.5, 0.5, -0.5, -0.5]);
        assert_eq!(
            to_stereo(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 3),
            vec![1.0, 2.0, 4.0, 5.0]
        );
    }
}
