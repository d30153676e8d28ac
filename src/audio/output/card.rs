//! A real sound card (or sound server) through cpal: `default`, `alsa:<pcm>`, `pulse[:<sink>]`.
//!
//! The engine's blocks go into a lock-free ring (rtrb) that cpal's real-time callback
//! drains: the callback never takes a lock, never allocates and never waits for the
//! playout thread (`fill`, tested for allocations in tests/card_callback.rs). The callback
//! also reports how far ahead of the speaker it runs, so `latency()` tells the engine
//! when a frame written now will really be heard.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{DeviceId, ErrorKind, FromSample, HostId, SampleFormat, SizedSample, StreamConfig};
use rtrb::{Consumer, Producer, RingBuffer};

use super::{OutputError, Sink};
use crate::audio::decode::CHANNELS;
use crate::config::station::Output;

/// Audio queued ahead of the device: enough to ride out a busy moment, small enough
/// that an interruption (emergency) is heard quickly.
const RING: Duration = Duration::from_millis(150);
/// The ring's allocation: room for whatever period a device insists on (the fill level
/// is held at `capacity()`, not at this).
const RING_ROOM: Duration = Duration::from_secs(2);
/// The period asked of the device. Left to itself PulseAudio asks for 2 s at a time;
/// each period costs the sound server a wake-up, so not shorter than needed.
const PERIOD: Duration = Duration::from_millis(25);
/// A new stream is fed silence until it has taken this much…
const START_TAKEN: Duration = Duration::from_millis(100);
/// …or for this long at most.
const START_WAIT: Duration = Duration::from_secs(3);
/// How long the writer sleeps while the ring is full.
const POLL: Duration = Duration::from_millis(5);

/// What the callbacks tell the writer; only atomics on the real-time path.
struct Shared {
    /// Set by the error callback (not the data callback).
    failure: Mutex<Option<String>>,
    /// Time from a callback to its audio leaving the speaker, in ns.
    device_latency_ns: AtomicU64,
    /// The most samples one callback has asked for: the ring must hold more than that,
    /// or a callback would be padded with silence.
    largest_request: AtomicU64,
    /// Samples the callback has taken from the ring since the stream was built.
    taken: AtomicU64,
}

pub struct CardSink {
    output: Output,
    rate: u32,
    shared: Arc<Shared>,
    stream: Option<cpal::Stream>,
    ring: Option<Producer<f32>>,
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
                failure: Mutex::new(None),
                device_latency_ns: AtomicU64::new(0),
                largest_request: AtomicU64::new(0),
                taken: AtomicU64::new(0),
            }),
            stream: None,
            ring: None,
        })
    }

    fn failure(&self) -> Option<String> {
        failure(&self.shared)
    }

    /// The fill level the writer keeps the ring at, in samples.
    fn capacity(&self) -> usize {
        let ring = (self.rate as usize * CHANNELS * RING.as_millis() as usize) / 1000;
        let wanted = ring.max(2 * self.shared.largest_request.load(Ordering::Relaxed) as usize);
        wanted.min(self.room())
    }

    fn room(&self) -> usize {
        (self.rate as usize * CHANNELS * RING_ROOM.as_millis() as usize) / 1000
    }

    /// Samples written and not yet taken by the callback.
    fn queued(&self) -> usize {
        self.ring.as_ref().map_or(0, super::ring::queued)
    }
}

impl CardSink {
    /// A new stream may take a while to start taking audio (PulseAudio prebuffers, and a
    /// restarted server takes about a second). Audio written before then would be heard
    /// late by that much, and every item chained after it too: so the stream gets
    /// silence until it has taken `START_TAKEN` of it (or `START_WAIT` has passed).
    fn prime(&mut self) {
        let want = (self.rate as usize * CHANNELS * START_TAKEN.as_millis() as usize / 1000) as u64;
        let until = Instant::now() + START_WAIT;
        // `write` paces like any other audio: it waits while the ring is full.
        const SILENCE: [f32; 1024 * CHANNELS] = [0.0; 1024 * CHANNELS];
        while self.shared.taken.load(Ordering::Relaxed) < want && Instant::now() < until {
            if self.write(&SILENCE).is_err() {
                return;
            }
        }
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
        let room = self.room();
        let config = |buffer_size| StreamConfig {
            channels: supported.channels(),
            sample_rate: self.rate,
            buffer_size,
        };
        // A fresh ring for each try: the callback owns its end.
        let build_any = |config: StreamConfig| {
            let (producer, consumer) = RingBuffer::<f32>::new(room);
            let shared = self.shared.clone();
            let stream = match supported.sample_format() {
                SampleFormat::F32 => build::<f32>(&device, config, shared, consumer),
                SampleFormat::I16 => build::<i16>(&device, config, shared, consumer),
                SampleFormat::I32 => build::<i32>(&device, config, shared, consumer),
                SampleFormat::U8 => build::<u8>(&device, config, shared, consumer),
                other => Err(cpal::Error::with_message(
                    ErrorKind::UnsupportedConfig,
                    format!("unsupported sample format {other}"),
                )),
            };
            stream.map(|s| (s, producer))
        };
        // Short periods if the device allows them, else whatever it prefers.
        let (stream, producer) = build_any(config(cpal::BufferSize::Fixed(period)))
            .or_else(|_| build_any(config(cpal::BufferSize::Default)))
            .map_err(unavailable)?;
        self.shared.taken.store(0, Ordering::Relaxed);
        stream.play().map_err(unavailable)?;
        self.stream = Some(stream);
        self.ring = Some(producer);
        self.prime();
        Ok(())
    }

    fn write(&mut self, frames: &[f32]) -> Result<(), OutputError> {
        if self.stream.is_none() {
            self.start()?;
        }
        let capacity = self.capacity();
        let Some(ring) = self.ring.as_mut() else {
            return Err(OutputError::Failed("the output is closed".into()));
        };
        let shared = &self.shared;
        let output = &self.output;
        super::ring::write(
            ring,
            frames,
            capacity,
            // No wake from cpal's real-time callback (no syscall there): a sleep.
            || std::thread::sleep(POLL),
            || failure(shared),
            || describe(output),
            |_| {},
        )
    }

    fn latency(&self) -> Duration {
        let queued = self.queued() / CHANNELS;
        Duration::from_nanos(self.shared.device_latency_ns.load(Ordering::Relaxed))
            + Duration::from_secs_f64(queued as f64 / f64::from(self.rate))
    }

    fn drain(&mut self) -> Result<(), OutputError> {
        super::ring::drain(self.latency(), || failure(&self.shared))
    }

    fn stop(&mut self) {
        self.stream = None;
        self.ring = None;
    }
}

/// The sink for `default` and `alsa:<pcm>`.
pub fn open(output: &Output) -> Result<Box<dyn Sink>, OutputError> {
    Ok(Box::new(CardSink::new(output.clone())?))
}

/// The real-time callback's work: fills `out` (interleaved, `channels` wide) from the
/// ring of stereo samples; what the ring lacks is silence, never stale audio. Takes no
/// lock and allocates nothing.
pub fn fill<T>(out: &mut [T], channels: usize, ring: &mut Consumer<f32>)
where
    T: SizedSample + FromSample<f32>,
{
    for frame in out.chunks_mut(channels.max(1)) {
        let (l, r) = if ring.slots() >= 2 {
            (ring.pop().unwrap_or(0.0), ring.pop().unwrap_or(0.0))
        } else {
            (0.0, 0.0)
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
}

fn build<T>(
    device: &cpal::Device,
    config: StreamConfig,
    shared: Arc<Shared>,
    mut ring: Consumer<f32>,
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
            let wanted = (out.len() / channels.max(1) * CHANNELS) as u64;
            shared.largest_request.fetch_max(wanted, Ordering::Relaxed);
            let before = ring.slots();
            fill(out, channels, &mut ring);
            shared
                .taken
                .fetch_add((before - ring.slots()) as u64, Ordering::Relaxed);
        },
        on_error,
        Some(Duration::from_secs(5)),
    )
}

fn failure(shared: &Shared) -> Option<String> {
    shared
        .failure
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
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
