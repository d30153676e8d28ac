//! A real sound card (or sound server) through cpal: `default`, `alsa:<pcm>`, `pulse[:<sink>]`.
//!
//! The engine's blocks go into a small ring that cpal's callback drains. The callback
//! also reports how far ahead of the speaker it runs, so `latency()` tells the engine
//! when a frame written now will really be heard.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{DeviceId, ErrorKind, FromSample, HostId, SampleFormat, SizedSample, StreamConfig};

use super::{OutputError, Sink};
use crate::audio::decode::CHANNELS;
use crate::config::station::Output;

/// Audio queued ahead of the device: enough to ride out a busy moment, small enough
/// that an interruption (emergency) is heard quickly.
const RING: Duration = Duration::from_millis(150);
/// A device that takes nothing for this long has stopped.
const STALL: Duration = Duration::from_secs(3);
/// The period asked of the device. Left to itself PulseAudio asks for 2 s at a time.
const PERIOD: Duration = Duration::from_millis(25);

struct Shared {
    ring: Mutex<VecDeque<f32>>,
    room: Condvar,
    failure: Mutex<Option<String>>,
    /// Time from a callback to its audio leaving the speaker, in ns.
    device_latency_ns: AtomicU64,
    /// The most samples one callback has asked for: the ring must hold more than that,
    /// or a callback would be padded with silence.
    largest_request: AtomicU64,
}

pub struct CardSink {
    output: Output,
    rate: u32,
    shared: Arc<Shared>,
    stream: Option<cpal::Stream>,
}

impl CardSink {
    /// Finds the device and its rate now, so a wrong name fails at start-up; opens nothing yet.
    pub fn new(output: Output) -> Result<Self, OutputError> {
        let device = find_device(&output)?;
        let config = device
            .default_output_config()
            .map_err(|e| OutputError::Unavailable(format!("{}: {e}", describe(&output))))?;
        Ok(CardSink {
            output,
            rate: config.sample_rate(),
            shared: Arc::new(Shared {
                ring: Mutex::new(VecDeque::new()),
                room: Condvar::new(),
                failure: Mutex::new(None),
                device_latency_ns: AtomicU64::new(0),
                largest_request: AtomicU64::new(0),
            }),
            stream: None,
        })
    }

    fn failure(&self) -> Option<String> {
        self.shared
            .failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn capacity(&self) -> usize {
        let ring = (self.rate as usize * CHANNELS * RING.as_millis() as usize) / 1000;
        ring.max(2 * self.shared.largest_request.load(Ordering::Relaxed) as usize)
    }
}

impl Sink for CardSink {
    fn rate(&self) -> u32 {
        self.rate
    }

    fn start(&mut self) -> Result<(), OutputError> {
        if self.stream.is_some() && self.failure().is_none() {
            return Ok(());
        }
        self.stop();
        *self
            .shared
            .failure
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = None;
        let unavailable =
            |e: cpal::Error| OutputError::Unavailable(format!("{}: {e}", describe(&self.output)));
        let device = find_device(&self.output)?;
        let supported = device.default_output_config().map_err(unavailable)?;
        let period = (self.rate as u64 * PERIOD.as_millis() as u64 / 1000) as u32;
        let config = |buffer_size| StreamConfig {
            channels: supported.channels(),
            sample_rate: self.rate,
            buffer_size,
        };
        let build_any = |config: StreamConfig| match supported.sample_format() {
            SampleFormat::F32 => build::<f32>(&device, config, self.shared.clone()),
            SampleFormat::I16 => build::<i16>(&device, config, self.shared.clone()),
            SampleFormat::I32 => build::<i32>(&device, config, self.shared.clone()),
            SampleFormat::U8 => build::<u8>(&device, config, self.shared.clone()),
            other => Err(cpal::Error::with_message(
                ErrorKind::UnsupportedConfig,
                format!("unsupported sample format {other}"),
            )),
        };
        // Short periods if the device allows them, else whatever it prefers.
        let stream = build_any(config(cpal::BufferSize::Fixed(period)))
            .or_else(|_| build_any(config(cpal::BufferSize::Default)))
            .map_err(unavailable)?;
        stream.play().map_err(unavailable)?;
        self.stream = Some(stream);
        Ok(())
    }

    fn write(&mut self, mut frames: &[f32]) -> Result<(), OutputError> {
        if self.stream.is_none() {
            self.start()?;
        }
        let capacity = self.capacity();
        while !frames.is_empty() {
            if let Some(f) = self.failure() {
                return Err(OutputError::Failed(f));
            }
            let mut ring = self.shared.ring.lock().unwrap_or_else(|e| e.into_inner());
            let waited = Instant::now();
            while ring.len() >= capacity {
                let (r, timeout) = self
                    .shared
                    .room
                    .wait_timeout(ring, Duration::from_millis(500))
                    .unwrap_or_else(|e| e.into_inner());
                ring = r;
                if timeout.timed_out() && waited.elapsed() > STALL {
                    return Err(OutputError::Failed(format!(
                        "{} stopped taking audio",
                        describe(&self.output)
                    )));
                }
            }
            let n = (capacity - ring.len()).min(frames.len());
            ring.extend(&frames[..n]);
            frames = &frames[n..];
        }
        Ok(())
    }

    fn latency(&self) -> Duration {
        let queued = self
            .shared
            .ring
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
            / CHANNELS;
        Duration::from_nanos(self.shared.device_latency_ns.load(Ordering::Relaxed))
            + Duration::from_secs_f64(queued as f64 / f64::from(self.rate))
    }

    fn drain(&mut self) -> Result<(), OutputError> {
        let until = Instant::now() + self.latency();
        while Instant::now() < until {
            if let Some(f) = self.failure() {
                return Err(OutputError::Failed(f));
            }
            std::thread::sleep(
                Duration::from_millis(10).min(until.saturating_duration_since(Instant::now())),
            );
        }
        Ok(())
    }

    fn stop(&mut self) {
        self.stream = None;
        self.shared
            .ring
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

fn build<T>(
    device: &cpal::Device,
    config: StreamConfig,
    shared: Arc<Shared>,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample + FromSample<f32>,
{
    let channels = usize::from(config.channels);
    let on_error = {
        let shared = shared.clone();
        move |e: cpal::Error| match e.kind() {
            ErrorKind::Xrun | ErrorKind::RealtimeDenied | ErrorKind::DeviceChanged => {
                tracing::debug!("sound device: {e}");
            }
            _ => {
                tracing::warn!("sound device failed: {e}");
                *shared.failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
                shared.room.notify_all();
            }
        }
    };
    device.build_output_stream::<T, _, _>(
        config,
        move |out: &mut [T], info: &cpal::OutputCallbackInfo| {
            let ts = info.timestamp();
            if let Some(d) = ts.playback.checked_duration_since(ts.callback) {
                shared
                    .device_latency_ns
                    .store(d.as_nanos() as u64, Ordering::Relaxed);
            }
            let wanted = (out.len() / channels * CHANNELS) as u64;
            shared.largest_request.fetch_max(wanted, Ordering::Relaxed);
            let mut ring = shared.ring.lock().unwrap_or_else(|e| e.into_inner());
            for frame in out.chunks_mut(channels) {
                // Underrun plays silence rather than stale audio.
                let (l, r) = match (ring.pop_front(), ring.pop_front()) {
                    (Some(l), Some(r)) => (l, r),
                    _ => (0.0, 0.0),
                };
                match frame.len() {
                    1 => frame[0] = T::from_sample((l + r) * 0.5),
                    _ => {
                        for (i, s) in frame.iter_mut().enumerate() {
                            *s = T::from_sample(match i {
                                0 => l,
                                1 => r,
                                _ => 0.0,
                            });
                        }
                    }
                }
            }
            drop(ring);
            shared.room.notify_all();
        },
        on_error,
        Some(Duration::from_secs(5)),
    )
}

fn describe(output: &Output) -> String {
    match output {
        Output::Default => "default sound output".into(),
        Output::Alsa(pcm) => format!("ALSA PCM {pcm:?}"),
        Output::Pulse(None) => "PulseAudio default sink".into(),
        Output::Pulse(Some(sink)) => format!("PulseAudio sink {sink:?}"),
        Output::Wav(p) => format!("WAV file {}", p.display()),
        Output::Null => "null output".into(),
    }
}

fn find_device(output: &Output) -> Result<cpal::Device, OutputError> {
    let missing = |why: String| {
        OutputError::Unavailable(format!(
            "{}: {why} (`loaxa devices` lists the outputs)",
            describe(output)
        ))
    };
    match output {
        Output::Default => cpal::default_host()
            .default_output_device()
            .ok_or_else(|| missing("no default device".into())),
        Output::Alsa(pcm) => {
            let host = cpal::host_from_id(HostId::Alsa).map_err(|e| missing(e.to_string()))?;
            host.device_by_id(&DeviceId::new(HostId::Alsa, pcm))
                .ok_or_else(|| missing("not found".into()))
        }
        Output::Pulse(sink) => {
            let host =
                cpal::host_from_id(HostId::PulseAudio).map_err(|e| missing(e.to_string()))?;
            match sink {
                None => host
                    .default_output_device()
                    .ok_or_else(|| missing("no default sink".into())),
                Some(name) => host
                    .device_by_id(&DeviceId::new(HostId::PulseAudio, name))
                    .ok_or_else(|| missing("no such sink".into())),
            }
        }
        Output::Wav(_) | Output::Null => Err(missing("not a sound card".into())),
    }
}

/// Every output `[audio] output` can name, as `(value, description)`.
pub fn list_devices() -> Vec<(String, String)> {
    let mut out = vec![
        (
            "default".to_string(),
            "the system's default output".to_string(),
        ),
        (
            "null".to_string(),
            "discard, paced by the clock".to_string(),
        ),
        (
            "wav:<path>".to_string(),
            "record to a WAV file, paced by the clock".to_string(),
        ),
    ];
    if let Ok(host) = cpal::host_from_id(HostId::PulseAudio) {
        out.push(("pulse".into(), "PulseAudio / PipeWire default sink".into()));
        for d in host.output_devices().into_iter().flatten() {
            if let (Ok(id), Ok(desc)) = (d.id(), d.description()) {
                out.push((format!("pulse:{}", id.id()), desc.name().to_string()));
            }
        }
    }
    if let Ok(host) = cpal::host_from_id(HostId::Alsa) {
        for d in host.output_devices().into_iter().flatten() {
            if let (Ok(id), Ok(desc)) = (d.id(), d.description()) {
                out.push((format!("alsa:{}", id.id()), desc.name().to_string()));
            }
        }
    }
    out
}
