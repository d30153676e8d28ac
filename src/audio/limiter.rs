//! A look-ahead peak limiter for loudness normalisation. Raising a quiet phone recording
//! to `loudness_target` can push its peaks past full scale; the limiter turns the gain
//! down smoothly just before such a peak (5 ms look-ahead, linear attack) and lets it
//! recover slowly (release), so nothing clips and speech does not pump.
//!
//! It works on interleaved stereo frames and adds no delay to the caller: it reads its
//! look-ahead from the source before handing frames out.

use crate::core::media::CHANNELS;

/// How far ahead peaks are seen, and how long the gain takes to come down for one.
const LOOKAHEAD_MS: u32 = 5;
/// Time for the gain to recover most of the way after a peak.
const RELEASE_MS: f32 = 80.0;

pub struct Limiter {
    /// Gain applied before limiting (the loudness correction, volume included).
    pre_gain: f32,
    /// Highest absolute sample value let through.
    ceiling: f32,
    lookahead: usize,
    release: f32,
    gain: f32,
    /// Input frames (already multiplied by `pre_gain`) not yet handed out.
    pending: Vec<f32>,
    ended: bool,
    /// Scratch space kept between calls (this runs on every block that plays).
    chunk: Vec<f32>,
    need: Vec<f32>,
    next_hot: Vec<usize>,
}

impl Limiter {
    pub fn new(rate: u32, pre_gain: f32, ceiling_db: f64) -> Limiter {
        let lookahead = (rate * LOOKAHEAD_MS / 1000).max(1) as usize;
        Limiter {
            pre_gain,
            ceiling: 10f64.powf(ceiling_db / 20.0) as f32,
            lookahead,
            release: 1.0 - (-1.0 / (RELEASE_MS / 1000.0 * rate as f32)).exp(),
            gain: 1.0,
            pending: Vec::new(),
            ended: false,
            chunk: Vec::new(),
            need: Vec::new(),
            next_hot: Vec::new(),
        }
    }

    /// Fills `out` from `pull` (which reads raw frames and returns how many, 0 at the end),
    /// limited. Returns the frames written; 0 when the source has ended.
    pub fn read(&mut self, out: &mut [f32], mut pull: impl FnMut(&mut [f32]) -> usize) -> usize {
        let want = out.len() / CHANNELS;
        self.chunk
            .resize((want + self.lookahead).max(256) * CHANNELS, 0.0);
        while !self.ended && self.pending.len() / CHANNELS < want + self.lookahead {
            let n = pull(&mut self.chunk);
            if n == 0 {
                self.ended = true;
                break;
            }
            let gain = self.pre_gain;
            self.pending
                .extend(self.chunk[..n * CHANNELS].iter().map(|s| s * gain));
        }
        let frames = self.pending.len() / CHANNELS;
        let n = want.min(frames);
        // Per frame: the gain that keeps it under the ceiling (1.0 for most frames).
        let ceiling = self.ceiling;
        let need = &mut self.need;
        need.clear();
        need.extend(self.pending.chunks_exact(CHANNELS).map(|f| {
            let peak = f.iter().fold(0f32, |m, s| m.max(s.abs()));
            if peak > ceiling { ceiling / peak } else { 1.0 }
        }));
        // The next frame that needs limiting, from each position (scanned backwards).
        let next_hot = &mut self.next_hot;
        next_hot.clear();
        next_hot.resize(frames + 1, usize::MAX);
        for i in (0..frames).rev() {
            next_hot[i] = if need[i] < 1.0 { i } else { next_hot[i + 1] };
        }
        let la = self.lookahead as f32;
        for i in 0..n {
            // A peak k frames ahead allows at most need + (1 - need) * k / lookahead now:
            // the gain ramps down to it in a straight line.
            let mut allowed = 1.0f32;
            let mut j = next_hot[i];
            while j < frames && j <= i + self.lookahead {
                if need[j] < 1.0 {
                    let ramp = need[j] + (1.0 - need[j]) * (j - i) as f32 / la;
                    allowed = allowed.min(ramp);
                }
                j += 1;
            }
            self.gain = (self.gain + (1.0 - self.gain) * self.release).min(allowed);
            for c in 0..CHANNELS {
                let s = self.pending[i * CHANNELS + c] * self.gain;
                out[i * CHANNELS + c] = s.clamp(-self.ceiling, self.ceiling);
            }
        }
        self.pending.drain(..n * CHANNELS);
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(limiter: &mut Limiter, input: &[f32]) -> Vec<f32> {
        let mut src = input.to_vec();
        let mut out = Vec::new();
        let mut buf = vec![0.0f32; 480 * CHANNELS];
        loop {
            let n = limiter.read(&mut buf, |into| {
                let n = (into.len() / CHANNELS).min(src.len() / CHANNELS);
                into[..n * CHANNELS].copy_from_slice(&src[..n * CHANNELS]);
                src.drain(..n * CHANNELS);
                n
            });
            if n == 0 {
                return out;
            }
            out.extend_from_slice(&buf[..n * CHANNELS]);
        }
    }

    fn sine(frames: usize, amp: f32) -> Vec<f32> {
        (0..frames)
            .flat_map(|i| {
                let s = amp * (i as f32 * 2.0 * std::f32::consts::PI * 440.0 / 48000.0).sin();
                [s, s]
            })
            .collect()
    }

    #[test]
    fn quiet_audio_passes_untouched_and_loud_peaks_never_pass_the_ceiling() {
        let quiet = sine(48000, 0.25);
        let mut l = Limiter::new(48000, 2.0, -1.0);
        let out = run(&mut l, &quiet);
        assert_eq!(out.len(), quiet.len(), "no frame lost or added");
        for (a, b) in out.iter().zip(&quiet) {
            assert!((a - b * 2.0).abs() < 1e-6);
        }
        // A burst 12 dB over full scale after the gain: held at -1 dBFS, same length.
        let mut loud = sine(48000, 0.25);
        loud.extend(sine(4800, 2.0));
        loud.extend(sine(48000, 0.25));
        let mut l = Limiter::new(48000, 2.0, -1.0);
        let out = run(&mut l, &loud);
        assert_eq!(out.len(), loud.len());
        let ceiling = 10f32.powf(-1.0 / 20.0);
        let peak = out.iter().fold(0f32, |m, s| m.max(s.abs()));
        assert!(peak <= ceiling + 1e-6, "peak {peak}");
        assert!(
            peak > ceiling * 0.95,
            "the burst is limited, not crushed: {peak}"
        );
        // After the burst the gain recovers: the last second is back to full level.
        let tail = &out[out.len() - 4800 * CHANNELS..];
        let tail_peak = tail.iter().fold(0f32, |m, s| m.max(s.abs()));
        assert!((tail_peak - 0.5).abs() < 0.01, "recovered to {tail_peak}");
    }
}
