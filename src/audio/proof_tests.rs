//! The verdict on synthetic programmes: what the player sends at 48 kHz stereo, heard back
//! at 8 kHz mono a few hundred milliseconds later.

use super::*;

/// A speech-like programme: syllables (bursts of a few harmonics with a moving pitch)
/// and pauses, from `seed`.
fn programme(seed: u64, secs: f32, rate: u32) -> Vec<f32> {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
    let mut next = || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (x >> 33) as f32 / (1u64 << 31) as f32
    };
    let n = (secs * rate as f32) as usize;
    let mut out = vec![0.0f32; n];
    let mut i = 0;
    while i < n {
        let len = ((0.08 + 0.25 * next()) * rate as f32) as usize;
        let pause = ((0.03 + 0.2 * next()) * rate as f32) as usize;
        let pitch = 90.0 + 200.0 * next();
        let formant = 1.0 + 6.0 * next();
        for k in 0..len.min(n - i) {
            let t = k as f32 / rate as f32;
            let env = (std::f32::consts::PI * k as f32 / len as f32).sin();
            let mut s = 0.0;
            for h in 1..12 {
                let w = 1.0 / (1.0 + (h as f32 - formant).abs());
                s += w * (std::f32::consts::TAU * pitch * h as f32 * t).sin();
            }
            out[i + k] = 0.15 * env * s;
        }
        i += len + pause;
    }
    out
}

fn tone(freq: f32, secs: f32, rate: u32, amp: f32) -> Vec<f32> {
    (0..(secs * rate as f32) as usize)
        .map(|k| amp * (std::f32::consts::TAU * freq * k as f32 / rate as f32).sin())
        .collect()
}

fn stereo(mono: &[f32]) -> Vec<f32> {
    mono.iter().flat_map(|&s| [s, s]).collect()
}

/// Down to 8 kHz the way a recorder would (low-passed, every sixth sample).
fn at_8k(mono48: &[f32]) -> Vec<f32> {
    let mut lp = [Biquad::low(48000.0, 3600.0), Biquad::low(48000.0, 3600.0)];
    mono48
        .iter()
        .map(|&s| {
            let y = lp[0].run(s);
            lp[1].run(y)
        })
        .step_by(6)
        .collect()
}

const START: i64 = 1_000_000;

fn sent(mono48: &[f32]) -> Sent {
    let mut s = Sent::new(48000, START);
    for block in stereo(mono48).chunks(1920) {
        s.feed(block, 2);
    }
    s
}

/// The capture of `heard8k` (8 kHz mono) beginning `lag_ms` after the item, with silence
/// around it, frame by frame.
fn capture(heard8k: &[f32], lag_ms: i64, gain: f32) -> Capture {
    let capture = Capture::default();
    let mut a = Analyser::new(8000);
    let lead = vec![0.0f32; (lag_ms.max(0) as usize + 1000) * 8];
    let mut all = lead.clone();
    all.extend(heard8k.iter().map(|s| s * gain));
    all.extend(vec![0.0f32; 8000]);
    let mut t = START + lag_ms - 1000 - lag_ms.max(0);
    // The monitor reads in 50 ms blocks.
    for block in all.chunks(200) {
        a.feed(block, 1, &mut |f| capture.push(t, f));
        t += FRAME_MS;
    }
    capture
}

const BELOW: f32 = -50.0;

#[test]
fn what_was_sent_is_heard_at_any_latency_and_level() {
    let p = programme(1, 12.0, 48000);
    let s = sent(&p);
    for (lag, gain) in [(0, 1.0), (275, 1.0), (1825, 0.5), (-310, 0.2), (130, 1.0)] {
        let c = capture(&at_8k(&p), lag, gain);
        assert_eq!(
            c.verdict(&s, START + 12_000, BELOW).map(|v| v.heard),
            Some(Heard::Yes),
            "lag {lag} ms, gain {gain}"
        );
    }
    let t = tone(440.0, 5.0, 48000, 0.3);
    let c = capture(&at_8k(&t), 300, 1.0);
    assert_eq!(
        c.verdict(&sent(&t), START + 5000, BELOW).map(|v| v.heard),
        Some(Heard::Yes)
    );
}

#[test]
fn another_programme_or_tone_is_a_mismatch() {
    let p = programme(1, 12.0, 48000);
    let s = sent(&p);
    for seed in [2, 3, 4] {
        let other = programme(seed, 12.0, 48000);
        let c = capture(&at_8k(&other), 200, 1.0);
        assert_eq!(
            c.verdict(&s, START + 12_000, BELOW).map(|v| v.heard),
            Some(Heard::Mismatch),
            "seed {seed}"
        );
    }
    let t = tone(440.0, 5.0, 48000, 0.3);
    let c = capture(&at_8k(&tone(1000.0, 5.0, 48000, 0.3)), 200, 1.0);
    assert_eq!(
        c.verdict(&sent(&t), START + 5000, BELOW).map(|v| v.heard),
        Some(Heard::Mismatch)
    );
    // The right sound 30 dB down is not what the village heard.
    let c = capture(&at_8k(&p), 200, 0.06);
    assert_eq!(
        c.verdict(&s, START + 12_000, BELOW).map(|v| v.heard),
        Some(Heard::Mismatch)
    );
}

#[test]
fn nothing_heard_or_dead_air_is_silent_and_no_capture_is_no_verdict() {
    let p = programme(1, 12.0, 48000);
    let s = sent(&p);
    let c = capture(&vec![0.0; 96_000], 0, 1.0);
    assert_eq!(
        c.verdict(&s, START + 12_000, BELOW).map(|v| v.heard),
        Some(Heard::Silent)
    );
    let c = capture(&at_8k(&p), 200, 1.0);
    c.dead_air(START + 4000);
    c.sound_back(START + 7000);
    assert_eq!(
        c.verdict(&s, START + 12_000, BELOW).map(|v| v.heard),
        Some(Heard::Silent)
    );
    // Dead air that ended before the item began is not this item's.
    let c = capture(&at_8k(&p), 200, 1.0);
    c.dead_air(START - 9000);
    c.sound_back(START - 2000);
    assert_eq!(
        c.verdict(&s, START + 12_000, BELOW).map(|v| v.heard),
        Some(Heard::Yes)
    );
    // No monitor frames of that time, or an item that sent nothing audible.
    assert_eq!(
        Capture::default()
            .verdict(&s, START + 12_000, BELOW)
            .map(|v| v.heard),
        None
    );
    let quiet = sent(&vec![0.0; 48_000 * 3]);
    assert_eq!(
        c.verdict(&quiet, START + 3000, BELOW).map(|v| v.heard),
        None
    );
}

#[test]
fn a_long_item_keeps_its_last_five_minutes() {
    let mut s = Sent::new(8000, START);
    let block = vec![0.1f32; 200];
    for _ in 0..MAX_FRAMES + 50 {
        s.feed(&block, 1);
    }
    assert_eq!(s.frames.len(), MAX_FRAMES);
    assert_eq!(s.at(0), START + 50 * FRAME_MS);
}

#[test]
fn a_long_item_is_searched_on_a_sample_and_judged_on_all() {
    let p = programme(7, 70.0, 48000);
    let s = sent(&p);
    assert!(s.frames.len() > 2 * SEARCH_FRAMES, "the lag search samples");
    let c = capture(&at_8k(&p), 340, 1.0);
    assert_eq!(
        c.verdict(&s, START + 70_000, BELOW).map(|v| v.heard),
        Some(Heard::Yes)
    );
    let c = capture(&at_8k(&programme(8, 70.0, 48000)), 340, 1.0);
    assert_eq!(
        c.verdict(&s, START + 70_000, BELOW).map(|v| v.heard),
        Some(Heard::Mismatch)
    );
}
