//! A build without the `alsa` feature: no sound card through cpal. `default` and
//! `alsa:<pcm>` say so when opened; PulseAudio, `wav:` and `null` work as ever.

use super::{OutputError, Sink};
use crate::config::station::Output;

pub fn open(output: &Output) -> Result<Box<dyn Sink>, OutputError> {
    Err(OutputError::Unavailable(format!(
        "`{output}` needs the sound card, and this loaxa was built without it (cargo feature `alsa`); use pulse, wav:<path> or null, or build with the default features"
    )))
}

/// Every output `[audio] output` can name in this build, as `(value, description)`.
pub fn list_devices() -> Vec<(String, String)> {
    [
        ("null", "discard, paced by the clock"),
        ("wav:<path>", "record to a WAV file, paced by the clock"),
        ("pulse", "PulseAudio / PipeWire default sink"),
        (
            "pulse:<sink>",
            "a PulseAudio sink by name (pactl list short sinks)",
        ),
    ]
    .into_iter()
    .map(|(v, d)| (v.to_string(), d.to_string()))
    .collect()
}
