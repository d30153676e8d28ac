//! Where the sound goes: one small `Sink` trait and its backends. The playout engine
//! writes interleaved stereo `f32` blocks; a sink accepts them at the pace a sound card
//! would and says how long until what it was just given will be heard.

// The sound card through cpal (ALSA): behind the `alsa` cargo feature (on by default),
// so a build that only rehearses to a file or plays through PulseAudio needs no ALSA
// headers (`scripts/rehearse` on a bare machine).
#[cfg(feature = "alsa")]
mod card;
#[cfg(not(feature = "alsa"))]
#[path = "no_card.rs"]
mod card;
mod paced;
mod pulse;
mod ring;

use std::sync::Arc;
use std::time::Duration;

pub use card::list_devices;
#[cfg(feature = "alsa")]
pub use card::{CardSink, fill};
pub use paced::{NullSink, WavSink};
pub use pulse::take as pulse_take;

use crate::config::station::Output;
use crate::sys::clock::Clock;

/// The rate the file-backed outputs run at.
pub const FILE_RATE: u32 = 48_000;

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("sound output unavailable: {0}")]
    Unavailable(String),
    #[error("sound output failed: {0}")]
    Failed(String),
}

pub trait Sink: Send {
    /// Frames per second this sink takes (always stereo).
    fn rate(&self) -> u32;
    /// Opens the device (before a session). Idempotent.
    fn start(&mut self) -> Result<(), OutputError>;
    /// Blocks until `frames` (interleaved stereo) are accepted, paced like a sound card.
    fn write(&mut self, frames: &[f32]) -> Result<(), OutputError>;
    /// How long until a frame written now is heard.
    fn latency(&self) -> Duration;
    /// Waits until everything written has been played.
    fn drain(&mut self) -> Result<(), OutputError>;
    /// Closes the device (after a session) so an idle station uses no CPU for sound.
    fn stop(&mut self);
}

/// Builds the sink `[audio] output` names. The device itself is opened by `start`.
pub fn open(output: &Output, clock: Arc<dyn Clock>) -> Result<Box<dyn Sink>, OutputError> {
    Ok(match output {
        Output::Null => Box::new(NullSink::new(clock, FILE_RATE)),
        Output::Wav(path) => Box::new(WavSink::create(path, clock, FILE_RATE)?),
        Output::Pulse(sink) => Box::new(pulse::PulseSink::new(sink.clone())?),
        Output::Default | Output::Alsa(_) => card::open(output)?,
    })
}
