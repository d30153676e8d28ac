//! Proof of air (SPEC §14): was an item heard, silent, or something else?
//!
//! Both sides are reduced to the same coarse picture, one frame every 50 ms (over the last 100 ms): the level and
//! the energy in eight bands from 125 Hz to 3.15 kHz (band-pass biquads over 8 kHz mono).
//! The player feeds what it *sends* (`Sent`, after gain and fades); the monitor feeds what
//! the input *hears* (`Capture`). When an item ends the two are laid side by side at the
//! lag that fits best (the sound system's latency, −0.5 s to +2.5 s):
//!
//! - `silent`: dead air was reported while it played, or most of what it sent audibly
//!   came back below `silence_below`;
//! - `mismatch`: sound came back, but its spectral shape and its rise and fall do not
//!   follow what was sent (another file, another source), or it is more than 20 dB
//!   quieter than what was sent;
//! - `yes` otherwise.
//!
//! Why not a published fingerprint (Chromaprint): its crates bind a C library or are
//! unmaintained, and we need less — the reference is the exact signal we sent, a few
//! hundred milliseconds earlier, so a band-energy correlation decides it. The cost is
//! two low-pass biquads per sent sample and eight band filters at 8 kHz on each side
//! (`benches/playout.sh` measures it).

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::core::asrun::Heard;

/// Frames per second.
pub const FRAMES_PER_SEC: i64 = 40;
/// A frame spans this many hops (100 ms).
const SPAN: usize = 4;
const FRAME_MS: i64 = 1000 / FRAMES_PER_SEC;
const RATE: f32 = 8000.0;
const BANDS: usize = 8;
const CENTRES: [f32; BANDS] = [125.0, 200.0, 315.0, 500.0, 800.0, 1250.0, 2000.0, 3150.0];
/// At most this much of an item is compared (its end): five minutes.
pub const MAX_FRAMES: usize = 12_000;
/// Lags tried, in frames.
const LAGS: std::ops::RangeInclusive<i64> = -20..=100;
/// Lags are searched on at most this many frames, then the best is judged on all.
const SEARCH_FRAMES: usize = 1200;
/// Heard this much quieter than sent is not the item.
const QUIETER_DB: f32 = 20.0;
/// The score (−1..1) from which what was heard follows what was sent.
const MATCH: f32 = 0.65;

/// One 50 ms frame: level and band energies, in dB.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    pub level: f32,
    pub bands: [f32; BANDS],
}

/// A biquad in transposed direct form II.
#[derive(Clone, Copy)]
struct Biquad {
    b: [f32; 3],
    a: [f32; 2],
    z: [f32; 2],
}

impl Biquad {
    /// RBJ's band-pass with 0 dB peak gain.
    fn band(rate: f32, centre: f32, q: f32) -> Biquad {
        let w = std::f32::consts::TAU * centre / rate;
        let alpha = w.sin() / (2.0 * q);
        let a0 = 1.0 + alpha;
        Biquad {
            b: [alpha / a0, 0.0, -alpha / a0],
            a: [-2.0 * w.cos() / a0, (1.0 - alpha) / a0],
            z: [0.0; 2],
        }
    }

    /// RBJ's low-pass (Butterworth Q).
    fn low(rate: f32, corner: f32) -> Biquad {
        let w = std::f32::consts::TAU * corner / rate;
        let alpha = w.sin() / (2.0 * std::f32::consts::FRAC_1_SQRT_2);
        let (c, a0) = (w.cos(), 1.0 + alpha);
        let b0 = (1.0 - c) / 2.0 / a0;
        Biquad {
            b: [b0, 2.0 * b0, b0],
            a: [-2.0 * c / a0, (1.0 - alpha) / a0],
            z: [0.0; 2],
        }
    }

    #[inline]
    fn run(&mut self, x: f32) -> f32 {
        let y = self.b[0] * x + self.z[0];
        self.z[0] = self.b[1] * x - self.a[0] * y + self.z[1];
        self.z[1] = self.b[2] * x - self.a[1] * y;
        y
    }
}

/// Mono samples at any rate in, frames out.
pub struct Analyser {
    rate: u32,
    /// Anti-aliasing before the step down to 8 kHz (none when already there).
    low: Option<[Biquad; 2]>,
    /// Averaging down to 8 kHz.
    phase: u32,
    acc: f32,
    acc_n: u32,
    bands: [Biquad; BANDS],
    energy: [f64; BANDS],
    total: f64,
    n: u32,
    /// The hops before this one, newest last: (total, bands).
    prev: [(f64, [f64; BANDS]); SPAN - 1],
}

impl Analyser {
    pub fn new(rate: u32) -> Analyser {
        let rate = rate.max(8000);
        let low = (rate > 8000).then(|| {
            let r = rate as f32;
            [Biquad::low(r, 3600.0), Biquad::low(r, 3600.0)]
        });
        Analyser {
            rate,
            low,
            phase: 0,
            acc: 0.0,
            acc_n: 0,
            bands: CENTRES.map(|c| Biquad::band(RATE, c, 1.4)),
            energy: [0.0; BANDS],
            total: 0.0,
            n: 0,
            prev: [(0.0, [0.0; BANDS]); SPAN - 1],
        }
    }

    /// Takes `channels`-interleaved samples; hands out each frame completed.
    pub fn feed(&mut self, samples: &[f32], channels: usize, out: &mut impl FnMut(Frame)) {
        for frame in samples.chunks_exact(channels.max(1)) {
            let mono = frame.iter().sum::<f32>() / frame.len() as f32;
            let x = match &mut self.low {
                Some([a, b]) => b.run(a.run(mono)),
                None => mono,
            };
            self.acc += x;
            self.acc_n += 1;
            self.phase += 8000;
            if self.phase >= self.rate {
                self.phase -= self.rate;
                let s = self.acc / self.acc_n as f32;
                (self.acc, self.acc_n) = (0.0, 0);
                self.sample(s, out);
            }
        }
    }

    fn sample(&mut self, x: f32, out: &mut impl FnMut(Frame)) {
        self.total += f64::from(x * x);
        for (f, e) in self.bands.iter_mut().zip(&mut self.energy) {
            let y = f.run(x);
            *e += f64::from(y * y);
        }
        self.n += 1;
        if self.n as i64 == 8000 / FRAMES_PER_SEC {
            // Each frame spans this hop and the three before: with overlapping
            // windows a capture that starts part of a hop off still lines up.
            let n = f64::from(self.n) * SPAN as f64;
            let db = |e: f64| (10.0 * (e / n).max(1e-12).log10()) as f32;
            let total = self.total + self.prev.iter().map(|p| p.0).sum::<f64>();
            let bands: [f64; BANDS] = std::array::from_fn(|b| {
                self.energy[b] + self.prev.iter().map(|p| p.1[b]).sum::<f64>()
            });
            out(Frame {
                level: db(total),
                bands: bands.map(db),
            });
            self.prev.rotate_left(1);
            self.prev[SPAN - 2] = (self.total, self.energy);
            self.energy = [0.0; BANDS];
            (self.total, self.n) = (0.0, 0);
        }
    }
}

/// What the player sent of one item, frame by frame from its first heard moment.
pub struct Sent {
    /// When its first frame is heard (ms since the epoch).
    start_ms: i64,
    frames: VecDeque<Frame>,
    /// Frames dropped from the front (beyond `MAX_FRAMES`).
    dropped: i64,
    analyser: Analyser,
}

impl Sent {
    pub fn new(rate: u32, start_ms: i64) -> Sent {
        Sent {
            start_ms,
            frames: VecDeque::new(),
            dropped: 0,
            analyser: Analyser::new(rate),
        }
    }

    pub fn feed(&mut self, samples: &[f32], channels: usize) {
        let frames = &mut self.frames;
        let dropped = &mut self.dropped;
        self.analyser.feed(samples, channels, &mut |f| {
            if frames.len() == MAX_FRAMES {
                frames.pop_front();
                *dropped += 1;
            }
            frames.push_back(f);
        });
    }

    fn at(&self, k: usize) -> i64 {
        self.start_ms + (self.dropped + k as i64) * FRAME_MS
    }
}

/// What the monitor heard lately, and when dead air was reported.
#[derive(Default)]
pub struct Capture {
    inner: Mutex<Window>,
}

#[derive(Default)]
struct Window {
    /// (ms since the epoch when the frame began, frame), oldest first.
    frames: VecDeque<(i64, Frame)>,
    /// Dead air from, until (None: still).
    dead: VecDeque<(i64, Option<i64>)>,
}

impl Capture {
    pub fn push(&self, at_ms: i64, frame: Frame) {
        let mut h = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if h.frames.len() >= MAX_FRAMES + 240 {
            h.frames.pop_front();
        }
        h.frames.push_back((at_ms, frame));
    }

    pub fn dead_air(&self, since_ms: i64) {
        let mut h = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if h.dead.len() >= 64 {
            h.dead.pop_front();
        }
        h.dead.push_back((since_ms, None));
    }

    pub fn sound_back(&self, at_ms: i64) {
        let mut h = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, until @ None)) = h.dead.back_mut() {
            *until = Some(at_ms);
        }
    }

    /// The verdict on an item that sent `sent` and was heard until `end_ms`; None when
    /// there is nothing to judge by (the monitor heard nothing of that time, or the item
    /// sent nothing audible).
    pub fn verdict(&self, sent: &Sent, end_ms: i64, below: f32) -> Option<Verdict> {
        let first = sent.at(0);
        let (got, dead) = {
            let h = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            let from = first + LAGS.start() * FRAME_MS - FRAME_MS;
            let got: Vec<(i64, Frame)> = h
                .frames
                .iter()
                .filter(|(t, _)| *t >= from)
                .copied()
                .collect();
            let dead = h
                .dead
                .iter()
                .any(|&(a, b)| a < end_ms && b.is_none_or(|b| b > sent.start_ms));
            (got, dead)
        };
        if dead {
            return Some(Verdict {
                heard: Heard::Silent,
                score: 0.0,
                quieter_db: 0.0,
                silent_share: 1.0,
                lag_ms: 0,
            });
        }
        judge(sent, &got, below)
    }
}

fn judge(sent: &Sent, got: &[(i64, Frame)], below: f32) -> Option<Verdict> {
    let audible: Vec<usize> = (0..sent.frames.len())
        .filter(|&k| sent.frames[k].level > below)
        .collect();
    if audible.len() < 3 {
        return None;
    }
    let stride = audible.len().div_ceil(SEARCH_FRAMES).max(1);
    let sample: Vec<usize> = audible.iter().copied().step_by(stride).collect();
    let pairs_at = |lag: i64, frames: &[usize]| -> Vec<(&Frame, &Frame)> {
        frames
            .iter()
            .filter_map(|&k| {
                let t = sent.at(k) + lag * FRAME_MS;
                nearest(got, t).map(|g| (&sent.frames[k], g))
            })
            .collect()
    };
    let mut best: Option<Fit> = None;
    for lag in LAGS {
        let pairs = pairs_at(lag, &sample);
        // The last frames sent may not be heard yet when the item ends (the latency).
        if pairs.len() < (sample.len() / 2).saturating_sub(120 / stride).max(3) {
            continue;
        }
        let fit = Fit {
            lag,
            ..fit(&pairs, below)
        };
        if best.as_ref().is_none_or(|b| fit.rank() > b.rank()) {
            best = Some(fit);
        }
    }
    let mut best = best?;
    if stride > 1 {
        best = Fit {
            lag: best.lag,
            ..fit(&pairs_at(best.lag, &audible), below)
        };
    }
    let heard = if best.silent * 2 > best.pairs {
        Heard::Silent
    } else if best.quieter > QUIETER_DB || best.score < MATCH {
        Heard::Mismatch
    } else {
        Heard::Yes
    };
    Some(Verdict {
        heard,
        score: best.score,
        quieter_db: best.quieter,
        silent_share: best.silent as f32 / best.pairs as f32,
        lag_ms: best.lag * FRAME_MS,
    })
}

/// The verdict, with what it rests on (for the log).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    pub heard: Heard,
    /// How well what came back follows what was sent (−1..1; `MATCH` and up is a match).
    pub score: f32,
    /// How much quieter it came back where it was heard.
    pub quieter_db: f32,
    /// Of what was sent audibly, the share that came back below the threshold.
    pub silent_share: f32,
    /// The latency that fitted best.
    pub lag_ms: i64,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:?} (match {:.2}, {:.1} dB quieter, {:.0}% silent, latency {} ms)",
            self.heard,
            self.score,
            self.quieter_db,
            self.silent_share * 100.0,
            self.lag_ms
        )
    }
}

/// The got frame that began within half a frame of `t`.
fn nearest(got: &[(i64, Frame)], t: i64) -> Option<&Frame> {
    let i = got.partition_point(|(at, _)| *at < t - FRAME_MS / 2);
    got.get(i)
        .filter(|(at, _)| *at < t + FRAME_MS / 2)
        .map(|(_, f)| f)
}

struct Fit {
    lag: i64,
    pairs: usize,
    /// Pairs where what was sent audibly came back below the threshold.
    silent: usize,
    /// How much quieter (dB) it came back, on average, where it was heard.
    quieter: f32,
    score: f32,
}

impl Fit {
    fn rank(&self) -> f32 {
        self.score - self.silent as f32 / self.pairs as f32
    }
}

fn fit(pairs: &[(&Frame, &Frame)], below: f32) -> Fit {
    let heard: Vec<&(&Frame, &Frame)> = pairs.iter().filter(|(_, g)| g.level > below).collect();
    let silent = pairs.len() - heard.len();
    if heard.len() < 3 {
        return Fit {
            lag: 0,
            pairs: pairs.len(),
            silent,
            quieter: 0.0,
            score: -1.0,
        };
    }
    let n = heard.len() as f32;
    let quieter = heard.iter().map(|(s, g)| s.level - g.level).sum::<f32>() / n;
    // Each band's rise and fall over the item, about its own mean: what is left when
    // the voice's (or the line's) average colour is taken away. Two sentences in the
    // same voice share that colour; only the same recording shares the rest.
    let column = |f: &Frame, b: usize| if b < BANDS { f.bands[b] } else { f.level };
    let mut sent = Vec::with_capacity(heard.len() * (BANDS + 1));
    let mut got = Vec::with_capacity(heard.len() * (BANDS + 1));
    for b in 0..=BANDS {
        let ms = heard.iter().map(|(s, _)| column(s, b)).sum::<f32>() / n;
        let mg = heard.iter().map(|(_, g)| column(g, b)).sum::<f32>() / n;
        sent.extend(heard.iter().map(|(s, _)| column(s, b) - ms));
        got.extend(heard.iter().map(|(_, g)| column(g, b) - mg));
    }
    let moving = (sent.iter().map(|x| x * x).sum::<f32>() / sent.len() as f32).sqrt();
    // A steady sound (a tone) has no rise and fall: its colour decides alone.
    let score = match pearson(&sent, &got) {
        Some(r) if moving > 1.5 => r,
        _ => heard.iter().map(|(s, g)| shape(s, g)).sum::<f32>() / n,
    };
    Fit {
        lag: 0,
        pairs: pairs.len(),
        silent,
        quieter,
        score,
    }
}

/// How alike two frames' spectra are, whatever their levels: the cosine of their
/// band energies about each frame's mean.
fn shape(a: &Frame, b: &Frame) -> f32 {
    let centred = |f: &Frame| {
        let m = f.bands.iter().sum::<f32>() / BANDS as f32;
        f.bands.map(|x| x - m)
    };
    let (a, b) = (centred(a), centred(b));
    let dot: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
    let norm = (a.iter().map(|x| x * x).sum::<f32>() * b.iter().map(|x| x * x).sum::<f32>()).sqrt();
    if norm < 1e-3 { 0.0 } else { dot / norm }
}

fn pearson(x: &[f32], y: &[f32]) -> Option<f32> {
    let n = x.len() as f32;
    let (mx, my) = (x.iter().sum::<f32>() / n, y.iter().sum::<f32>() / n);
    let cov: f32 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let vx: f32 = x.iter().map(|a| (a - mx).powi(2)).sum();
    let vy: f32 = y.iter().map(|b| (b - my).powi(2)).sum();
    let d = (vx * vy).sqrt();
    (d > 1e-6).then(|| cov / d)
}

#[cfg(test)]
#[path = "proof_tests.rs"]
mod tests;
