//! Listening to what the station really emits (SPEC §14 `[monitor]`): the monitor input
//! is captured by the sound system's own recorder (`parec` for PulseAudio, `arecord` for
//! ALSA) as 8 kHz mono, its level measured every 100 ms. On air (something playing, the
//! amplifier on) and quieter than `silence_below` for `silence_for` is dead air: an
//! as-run `silence` record, a count in `/metrics`, and `silence` in the status (the page's
//! banner, the fleet's "silent") until sound comes back.
//!
//! Why a recorder child and not a cpal input stream: it keeps capture out of the
//! daemon's process and threads entirely (a capture device that hangs cannot touch the
//! playout), and it is the tool an installer checks the input with anyway.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use chrono::{DateTime, TimeDelta};
use chrono_tz::Tz;

use crate::audio::proof::{Analyser, Capture, FRAMES_PER_SEC};
use crate::config::monitor::{Input, Monitor};
use crate::core::asrun::{Event, Record};
use crate::core::status::Silence;
use crate::http::Shared;
use crate::store::asrun::AsRunLog;
use crate::sys::clock::Clock;

const RATE: usize = 8000;
/// One level reading (50 ms), and frames of the proof of air.
const BLOCK: usize = RATE / 20;
const FRAMES_PER_BLOCK: i64 = FRAMES_PER_SEC / 20;
const RETRY: Duration = Duration::from_secs(5);

pub struct Listener {
    stop: Arc<AtomicBool>,
    child: Arc<Mutex<Option<Child>>>,
    thread: Option<JoinHandle<()>>,
}

pub struct Parts {
    pub monitor: Monitor,
    pub shared: Arc<Shared>,
    pub asrun: Arc<AsRunLog>,
    pub clock: Arc<dyn Clock>,
    pub tz: Tz,
    /// What was heard, for the player's proof of air.
    pub capture: Arc<Capture>,
}

impl Listener {
    pub fn start(parts: Parts) -> Listener {
        let stop = Arc::new(AtomicBool::new(false));
        let child: Arc<Mutex<Option<Child>>> = Arc::new(Mutex::new(None));
        let thread = {
            let (stop, child) = (stop.clone(), child.clone());
            std::thread::Builder::new()
                .name("loaxa-monitor".into())
                .spawn(move || listen(parts, &stop, &child))
                .map_err(|e| tracing::error!("the monitor cannot start: {e}"))
                .ok()
        };
        Listener {
            stop,
            child,
            thread,
        }
    }

    /// Stops the recorder and joins the thread.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(c) = self
            .child
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_mut()
        {
            let _ = c.kill();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn recorder(input: &Input) -> Command {
    let mut c = match input {
        Input::Pulse(source) => {
            let mut c = Command::new("parec");
            c.arg(format!("--device={source}"))
                .args(["--format=s16le", "--rate=8000", "--channels=1", "--raw"])
                .arg("--latency-msec=100");
            c
        }
        Input::Alsa(pcm) => {
            let mut c = Command::new("arecord");
            c.args([
                "-q", "-D", pcm, "-f", "S16_LE", "-r", "8000", "-c", "1", "-t", "raw",
            ]);
            c
        }
    };
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    c
}

fn listen(parts: Parts, stop: &AtomicBool, slot: &Mutex<Option<Child>>) {
    let mut judge = Judge::new(&parts.monitor);
    let mut failures = 0u32;
    while !stop.load(Ordering::SeqCst) {
        let spawned = recorder(&parts.monitor.input).spawn();
        let mut out = match spawned {
            Ok(mut c) => match c.stdout.take() {
                Some(out) => {
                    *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(c);
                    out
                }
                None => continue,
            },
            Err(e) => {
                if failures.is_multiple_of(12) {
                    tracing::error!(
                        "the monitor input {} cannot be recorded: {e}; trying again every {}s",
                        parts.monitor.input,
                        RETRY.as_secs()
                    );
                }
                failures += 1;
                std::thread::sleep(RETRY);
                continue;
            }
        };
        tracing::info!("listening to {} for dead air", parts.monitor.input);
        let mut bytes = vec![0u8; BLOCK * 2];
        let mut samples = vec![0f32; BLOCK];
        // A new recorder starts a new stream: no filter state carried over a gap.
        let mut analyser = Analyser::new(RATE as u32);
        while out.read_exact(&mut bytes).is_ok() {
            let level = level_db(&bytes);
            let now = parts.clock.now().with_timezone(&parts.tz);
            for (s, b) in samples.iter_mut().zip(bytes.chunks_exact(2)) {
                *s = f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0;
            }
            // Stamped as it arrives: the block's last frame ended about now.
            let mut at = now.timestamp_millis() - (FRAMES_PER_BLOCK - 1) * 1000 / FRAMES_PER_SEC;
            analyser.feed(&samples, 1, &mut |f| {
                parts.capture.push(at, f);
                at += 1000 / FRAMES_PER_SEC;
            });
            judge.block(level, now, &parts);
        }
        if let Some(mut c) = slot.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if !stop.load(Ordering::SeqCst) {
            tracing::warn!(
                "the monitor input {} stopped; recording it again in {}s",
                parts.monitor.input,
                RETRY.as_secs()
            );
            std::thread::sleep(RETRY);
        }
    }
}

/// The RMS level of a block of s16le samples, in dBFS (-120 for digital silence).
pub fn level_db(bytes: &[u8]) -> f64 {
    let n = bytes.len() / 2;
    if n == 0 {
        return -120.0;
    }
    let sum: f64 = bytes
        .chunks_exact(2)
        .map(|b| {
            let x = f64::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0;
            x * x
        })
        .sum();
    (20.0 * (sum / n as f64).sqrt().log10()).max(-120.0)
}

/// Dead air, block by block.
struct Judge {
    below: f64,
    long: TimeDelta,
    /// Quiet since, and the loudest block since then.
    quiet: Option<(DateTime<Tz>, f64)>,
    reported: bool,
}

impl Judge {
    fn new(m: &Monitor) -> Judge {
        Judge {
            below: m.silence_below,
            long: m.silence_for,
            quiet: None,
            reported: false,
        }
    }

    fn block(&mut self, level: f64, now: DateTime<Tz>, parts: &Parts) {
        // Only once the item is heard: the lead-in before its first frame (an amplifier's
        // warm-up, the wait for its time) is silence on purpose, not dead air.
        let playing = parts.shared.with_status(|status| {
            status
                .filter(|s| s.amplifier_on && s.now_started.is_some_and(|t| t <= now))
                .and_then(|s| s.now_playing.clone())
        });
        let Some(item) = playing.filter(|_| level < self.below) else {
            if self.reported {
                tracing::info!("sound is back on the monitor input");
                parts.capture.sound_back(now.timestamp_millis());
                parts.shared.set_silence(None);
            }
            self.quiet = None;
            self.reported = false;
            return;
        };
        let (since, loudest) = self.quiet.get_or_insert((now, level));
        *loudest = loudest.max(level);
        let (since, loudest) = (*since, *loudest);
        if !self.reported && now - since >= self.long {
            self.reported = true;
            let why = format!(
                "dead air: the monitor ({}) heard nothing louder than {loudest:.1} dBFS (threshold {:.1}) for {} while this played",
                parts.monitor.input,
                self.below,
                crate::core::units::format_duration(now - since)
            );
            tracing::error!("{why}: {}", item.title);
            crate::metrics::silence();
            parts.capture.dead_air(since.timestamp_millis());
            parts
                .asrun
                .log(&Record::new(since, Event::Silence).item(&item).reason(why));
            parts.shared.set_silence(Some(Silence {
                since,
                level_db: (loudest * 10.0).round() / 10.0,
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn levels_are_rms_in_dbfs() {
        let square: Vec<u8> = (0..800)
            .flat_map(|i| if i % 2 == 0 { 16384i16 } else { -16384 }.to_le_bytes())
            .collect();
        assert!((super::level_db(&square) + 6.02).abs() < 0.01);
        assert_eq!(super::level_db(&[0u8; 1600]), -120.0);
        assert_eq!(super::BLOCK, 400);
        assert_eq!(
            super::FRAMES_PER_BLOCK,
            2,
            "whole proof-of-air frames per block"
        );
    }
}
