//! The writer's side of the lock-free ring both sound outputs (`card.rs`, `pulse.rs`)
//! keep: block until a whole number of frames fits under the fill level, and wait for
//! what was written to be heard.

use std::time::{Duration, Instant};

use rtrb::Producer;

use super::OutputError;
use crate::audio::decode::CHANNELS;

/// A device that takes nothing for this long has stopped.
pub(super) const STALL: Duration = Duration::from_secs(3);

/// Samples written and not yet taken.
pub(super) fn queued(ring: &Producer<f32>) -> usize {
    ring.buffer().capacity() - ring.slots()
}

/// Writes `frames` into `ring`, never holding more than `capacity` samples: `pause`s
/// while it is full (a sleep, or a park the reader ends), fails with what `failure`
/// reports or when nothing is taken for `STALL`. `after` runs after each chunk (to wake a
/// reader that waits).
pub(super) fn write(
    ring: &mut Producer<f32>,
    mut frames: &[f32],
    capacity: usize,
    pause: impl Fn(),
    failure: impl Fn() -> Option<String>,
    device: impl Fn() -> String,
    mut after: impl FnMut(&Producer<f32>),
) -> Result<(), OutputError> {
    let mut blocked_since: Option<Instant> = None;
    while !frames.is_empty() {
        if let Some(f) = failure() {
            return Err(OutputError::Failed(f));
        }
        // Whole frames only, so the reader never gets a frame split in two.
        let n = (capacity.saturating_sub(queued(ring)).min(frames.len()) / CHANNELS) * CHANNELS;
        if n == 0 {
            let since = *blocked_since.get_or_insert_with(Instant::now);
            if since.elapsed() > STALL {
                return Err(OutputError::Failed(format!(
                    "{} stopped taking audio",
                    device()
                )));
            }
            pause();
            continue;
        }
        blocked_since = None;
        match ring.write_chunk_uninit(n) {
            Ok(chunk) => {
                chunk.fill_from_iter(frames[..n].iter().copied());
            }
            Err(_) => continue,
        }
        after(ring);
        frames = &frames[n..];
    }
    Ok(())
}

/// Waits `latency` (what was written to be heard), failing with what `failure` reports.
pub(super) fn drain(
    latency: Duration,
    failure: impl Fn() -> Option<String>,
) -> Result<(), OutputError> {
    let until = Instant::now() + latency;
    while Instant::now() < until {
        if let Some(f) = failure() {
            return Err(OutputError::Failed(f));
        }
        std::thread::sleep(
            Duration::from_millis(10).min(until.saturating_duration_since(Instant::now())),
        );
    }
    Ok(())
}
