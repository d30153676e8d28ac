//! `[monitor]` in station.toml (SPEC §14): where the station hears what it really emits
//! (a PulseAudio monitor source, an ALSA capture device, or a line-in from the
//! amplifier's output), and what counts as dead air.

use chrono::TimeDelta;

use super::diag::Diagnostics;
use super::toml_reader::Fields;

#[derive(Debug, Clone, PartialEq)]
pub struct Monitor {
    pub input: Input,
    /// dBFS: quieter than this is silence.
    pub silence_below: f64,
    /// Silence this long while on air is dead air.
    pub silence_for: TimeDelta,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// A PulseAudio source, e.g. `amp.monitor`.
    Pulse(String),
    /// An ALSA capture PCM, e.g. `hw:1,0`.
    Alsa(String),
}

impl std::fmt::Display for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Input::Pulse(s) => write!(f, "pulse:{s}"),
            Input::Alsa(s) => write!(f, "alsa:{s}"),
        }
    }
}

pub const DEFAULT_SILENCE_BELOW: f64 = -50.0;
pub const DEFAULT_SILENCE_FOR: TimeDelta = TimeDelta::seconds(10);

pub(super) fn read(root: &mut Fields, d: &mut Diagnostics) -> Option<Monitor> {
    let mut t = root.table(d, "monitor")?;
    let before = d.len();
    let input = t.required_string(d, "input").and_then(|i| {
        let text = i.get_ref();
        let name = |n: &str| {
            !n.is_empty() && n.len() <= 256 && !n.chars().any(|c| c.is_control() || c == ' ')
        };
        let parsed = match text.split_once(':') {
            Some(("pulse", s)) if name(s) => Some(Input::Pulse(s.to_string())),
            Some(("alsa", s)) if name(s) => Some(Input::Alsa(s.to_string())),
            _ => None,
        };
        if parsed.is_none() {
            d.error_help(
                i.span(),
                format!("[monitor] input {text:?} is not a capture source"),
                "write \"pulse:<source>\" (e.g. \"pulse:amp.monitor\") or \"alsa:<pcm>\" (e.g. \"alsa:hw:1,0\")",
            );
        }
        parsed
    });
    let mut silence_below = DEFAULT_SILENCE_BELOW;
    if let Some(v) = t.float(d, "silence_below") {
        if (-120.0..=0.0).contains(v.get_ref()) {
            silence_below = *v.get_ref();
        } else {
            d.error_help(
                v.span(),
                "silence_below must be between -120.0 and 0.0 dBFS",
                "the default is -50.0",
            );
        }
    }
    let mut silence_for = DEFAULT_SILENCE_FOR;
    if let Some(text) = t.string(d, "silence_for") {
        match crate::core::units::parse_duration(text.get_ref()) {
            Ok(v) if v >= TimeDelta::seconds(1) && v <= TimeDelta::minutes(10) => silence_for = v,
            _ => d.error_help(
                text.span(),
                "silence_for must be a duration between 1s and 10m",
                "the default is \"10s\"",
            ),
        }
    }
    t.finish(d);
    if d.len() > before {
        return None;
    }
    Some(Monitor {
        input: input?,
        silence_below,
        silence_for,
    })
}
