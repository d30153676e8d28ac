//! A PulseAudio (or PipeWire-pulse) sink spoken to directly, with the buffer a broadcast
//! needs: `pulse` and `pulse:<sink>` outputs.
//!
//! Why not cpal's PulseAudio host, which the other card outputs use: it asks the server
//! for a buffer of exactly two callback periods with `adjust_latency`, and PulseAudio then
//! gives the *sink* no latency at all (`(tlength − 2·minreq)/2 = 0`): the sound server
//! wakes up about 1,800 times a second whatever period is asked for, and costs the
//! station ten times what a plain player does (issue 11, `benches/playout.sh`). Here the
//! stream asks for 300 ms in all and requests of 100 ms, and the server wakes some 30 to
//! 60 times a second; an emergency still cuts in within about two thirds of a second.
//! The same `pulseaudio` crate cpal uses (pure Rust) carries it.
//!
//! One connection serves every stream the sink opens: the crate's I/O thread (and its
//! 1 MB read buffer) lives as long as its socket, and a dropped `Client` does not end it
//! while the server keeps the socket open, so a connection per session leaked a thread
//! and a megabyte a session. A new connection is made only when the old one failed.
//!
//! The shape is the card's: the playout writes into a lock-free ring (rtrb), and the
//! crate's I/O thread pulls from it (`Source`) — no lock, no allocation. When the ring
//! is empty the I/O thread waits for the writer instead of padding with silence, and the
//! server plays its own silence on an underrun. The latency is the server's buffer and the sink's, polled a few
//! times a second and carried forward between polls by what was sent since.

use std::ffi::CString;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::executor::block_on;
use futures::task::AtomicWaker;
use pulseaudio::protocol;
use rtrb::{Consumer, Producer, RingBuffer};

use super::{OutputError, Sink};
use crate::audio::decode::CHANNELS;

/// The server's buffer and the sink's together.
const TARGET: Duration = Duration::from_millis(300);
/// The smallest request: how often the server asks for audio, at most.
const REQUEST: Duration = Duration::from_millis(100);
/// Audio queued ahead of the server, in the ring.
const RING: Duration = Duration::from_millis(150);
/// How often the server is asked where it is (between polls the latency is carried
/// forward by what was sent and the time gone; each poll wakes the crate's I/O thread,
/// which clears a 1 MB read buffer every time it wakes).
const POLL: Duration = Duration::from_millis(1000);
/// A new stream is fed silence until it plays, for this long at most.
const START_WAIT: Duration = Duration::from_secs(3);
/// The longest the writer waits while the ring is full: the I/O thread wakes it sooner,
/// as soon as it takes audio.
const WAIT: Duration = Duration::from_millis(20);
const BYTES_PER_FRAME: usize = CHANNELS * 4;

/// What the I/O thread and the poller tell the writer.
struct Shared {
    failure: Mutex<Option<String>>,
    /// Bytes handed to the server since the stream began (audio and padding).
    sent: AtomicU64,
    /// (when polled, `sent` then, the latency then); only once the server plays.
    at_poll: Mutex<Option<(Instant, u64, Duration)>>,
    stop: AtomicBool,
    /// The I/O thread found the ring empty and waits to be woken by the writer.
    starved: AtomicBool,
    waker: AtomicWaker,
    /// The writer, parked while the ring is full: the I/O thread unparks it when it has
    /// taken audio, so the playout thread wakes once per request, not every few ms.
    writer: std::sync::OnceLock<std::thread::Thread>,
    writer_waits: AtomicBool,
}

impl Shared {
    fn new() -> Shared {
        Shared {
            failure: Mutex::new(None),
            sent: AtomicU64::new(0),
            at_poll: Mutex::new(None),
            stop: AtomicBool::new(false),
            starved: AtomicBool::new(false),
            waker: AtomicWaker::new(),
            writer: std::sync::OnceLock::new(),
            writer_waits: AtomicBool::new(false),
        }
    }
}

/// The stream's audio, as the crate's I/O thread pulls it.
struct Source {
    ring: Consumer<f32>,
    shared: Arc<Shared>,
}

impl pulseaudio::PlaybackSource for Source {
    /// Whole frames from the ring into `buf`. An empty ring is `Pending` (the writer wakes
    /// the I/O thread when it adds audio), never padding: silence slipped in would make
    /// everything after it heard later than its frames say. Takes no lock and allocates
    /// nothing (registering the waker clones an `Arc`).
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut [u8],
    ) -> std::task::Poll<usize> {
        let this = self.get_mut();
        if this.ring.slots() < CHANNELS {
            this.shared.waker.register(cx.waker());
            this.shared.starved.store(true, Ordering::Release);
            // Audio may have come between the look and the registration.
            if this.ring.slots() < CHANNELS {
                return std::task::Poll::Pending;
            }
        }
        let n = take(buf, &mut this.ring);
        this.shared.sent.fetch_add(n as u64, Ordering::Relaxed);
        if this.shared.writer_waits.swap(false, Ordering::AcqRel)
            && let Some(writer) = this.shared.writer.get()
        {
            writer.unpark();
        }
        std::task::Poll::Ready(n)
    }
}

struct Running {
    stream: pulseaudio::PlaybackStream,
    threads: Vec<JoinHandle<()>>,
}

pub struct PulseSink {
    sink: Option<String>,
    /// The connection, kept from one stream to the next (see the module's comment).
    client: Option<pulseaudio::Client>,
    rate: u32,
    shared: Arc<Shared>,
    running: Option<Running>,
    ring: Option<Producer<f32>>,
}

fn unavailable(sink: &Option<String>, e: impl std::fmt::Display) -> OutputError {
    OutputError::Unavailable(format!("{}: {e}", describe(sink)))
}

pub fn describe(sink: &Option<String>) -> String {
    match sink {
        None => "PulseAudio default sink".into(),
        Some(s) => format!("PulseAudio sink {s:?}"),
    }
}

fn connect(sink: &Option<String>) -> Result<pulseaudio::Client, OutputError> {
    pulseaudio::Client::from_env(c"loaxa").map_err(|e| unavailable(sink, e))
}

impl PulseSink {
    /// Finds the sink and its rate now, so a wrong name fails at start-up; opens nothing yet.
    pub fn new(sink: Option<String>) -> Result<PulseSink, OutputError> {
        let client = connect(&sink)?;
        let rate = match &sink {
            Some(name) => {
                let c = CString::new(name.as_str()).map_err(|e| unavailable(&sink, e))?;
                block_on(client.sink_info_by_name(c))
                    .map_err(|e| unavailable(&sink, format!("no such sink ({e})")))?
                    .sample_spec
                    .sample_rate
            }
            None => {
                block_on(client.server_info())
                    .map_err(|e| unavailable(&sink, e))?
                    .sample_spec
                    .sample_rate
            }
        };
        Ok(PulseSink {
            sink,
            client: Some(client),
            rate,
            shared: Arc::new(Shared::new()),
            running: None,
            ring: None,
        })
    }

    fn bytes(&self, d: Duration) -> u32 {
        (u64::from(self.rate) * d.as_millis() as u64 / 1000 * BYTES_PER_FRAME as u64) as u32
    }

    fn failure(&self) -> Option<String> {
        failure(&self.shared)
    }

    fn capacity(&self) -> usize {
        self.rate as usize * CHANNELS * RING.as_millis() as usize / 1000
    }

    fn queued(&self) -> usize {
        self.ring.as_ref().map_or(0, super::ring::queued)
    }

    fn open(&mut self) -> Result<(), OutputError> {
        if self.running.is_some() && self.failure().is_none() {
            return Ok(());
        }
        self.stop();
        // A stream that failed may have lost its connection with it.
        if self.failure().is_some() {
            self.client = None;
        }
        let shared = Arc::new(Shared::new());
        self.shared = shared.clone();
        let sink_name = match &self.sink {
            Some(s) => Some(CString::new(s.as_str()).map_err(|e| unavailable(&self.sink, e))?),
            None => None,
        };
        let params = protocol::PlaybackStreamParams {
            sink_name,
            sample_spec: protocol::SampleSpec {
                format: protocol::SampleFormat::Float32Le,
                channels: CHANNELS as u8,
                sample_rate: self.rate,
            },
            channel_map: protocol::ChannelMap::stereo(),
            buffer_attr: protocol::stream::BufferAttr {
                max_length: u32::MAX,
                target_length: self.bytes(TARGET),
                pre_buffering: u32::MAX,
                minimum_request_length: self.bytes(REQUEST),
                fragment_size: u32::MAX,
            },
            flags: protocol::stream::StreamFlags {
                adjust_latency: true,
                ..Default::default()
            },
            ..Default::default()
        };
        // On the kept connection first; if the server went away since, on a new one.
        let (stream, producer) = match self.create(&params, &shared) {
            Ok(created) => created,
            Err(first) => {
                tracing::debug!("{first}; connecting to the sound server again");
                self.client = None;
                self.create(&params, &shared)?
            }
        };
        let driver = {
            let (stream, shared) = (stream.clone(), shared.clone());
            std::thread::Builder::new()
                .name("loaxa-pulse".into())
                .spawn(move || {
                    if let Err(e) = block_on(stream.play_all())
                        && !shared.stop.load(Ordering::Relaxed)
                    {
                        fail(&shared, format!("the sound server ended the stream: {e}"));
                    }
                })
                .map_err(|e| unavailable(&self.sink, e))?
        };
        let rate = self.rate;
        let poller = {
            let (stream, shared) = (stream.clone(), shared.clone());
            std::thread::Builder::new()
                .name("loaxa-pulse-latency".into())
                .spawn(move || poll(&stream, &shared, rate))
                .map_err(|e| unavailable(&self.sink, e))?
        };
        self.running = Some(Running {
            stream,
            threads: vec![driver, poller],
        });
        self.ring = Some(producer);
        self.prime();
        Ok(())
    }

    /// A stream and the ring that feeds it, on the kept connection (made if there is none).
    fn create(
        &mut self,
        params: &protocol::PlaybackStreamParams,
        shared: &Arc<Shared>,
    ) -> Result<(pulseaudio::PlaybackStream, Producer<f32>), OutputError> {
        let client = match self.client.take() {
            Some(c) => c,
            None => connect(&self.sink)?,
        };
        let (producer, consumer) = RingBuffer::<f32>::new(self.capacity() * 2);
        let source = Source {
            ring: consumer,
            shared: shared.clone(),
        };
        let stream = block_on(client.create_playback_stream(params.clone(), source))
            .map_err(|e| unavailable(&self.sink, e))?;
        self.client = Some(client);
        Ok((stream, producer))
    }

    /// A new stream waits for a full buffer before it plays, and its latency is known only
    /// once it does: audio written before then would be heard later than the engine
    /// thinks, and every item chained after it too. So it gets silence until the server
    /// says it plays (or `START_WAIT` has passed).
    fn prime(&mut self) {
        const SILENCE: [f32; 1024 * CHANNELS] = [0.0; 1024 * CHANNELS];
        let until = Instant::now() + START_WAIT;
        while Instant::now() < until
            && self
                .shared
                .at_poll
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .is_none()
        {
            if self.write(&SILENCE).is_err() {
                return;
            }
        }
    }
}

fn failure(shared: &Shared) -> Option<String> {
    shared
        .failure
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
}

fn fail(shared: &Shared, why: String) {
    tracing::warn!("{why}");
    *shared.failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(why);
}

/// The I/O thread's copy: as many whole stereo frames as the ring holds and `buf` takes,
/// as little-endian f32; returns the bytes written. No lock, no allocation.
pub fn take(buf: &mut [u8], ring: &mut Consumer<f32>) -> usize {
    let frames = (ring.slots() / CHANNELS).min(buf.len() / BYTES_PER_FRAME);
    for out in buf[..frames * BYTES_PER_FRAME].chunks_exact_mut(4) {
        out.copy_from_slice(&ring.pop().unwrap_or(0.0).to_le_bytes());
    }
    frames * BYTES_PER_FRAME
}

/// Asks the server, every `POLL`, how much it holds and how far behind the sink plays.
fn poll(stream: &pulseaudio::PlaybackStream, shared: &Shared, rate: u32) {
    let byte_rate = f64::from(rate) * BYTES_PER_FRAME as f64;
    while !shared.stop.load(Ordering::Relaxed) {
        let sent = shared.sent.load(Ordering::Relaxed);
        match block_on(stream.timing_info()) {
            Ok(t) => {
                let buffered = (t.write_offset - t.read_offset).max(0) as f64 / byte_rate;
                let latency =
                    Duration::from_micros(t.sink_usec) + Duration::from_secs_f64(buffered);
                // Before the server plays (it waits for a full buffer) the figures say
                // nothing of when audio will be heard.
                if !t.playing {
                    // Soon again: the writer primes the stream until it plays.
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                }
                *shared.at_poll.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some((Instant::now(), sent, latency));
            }
            Err(e) => {
                if !shared.stop.load(Ordering::Relaxed) {
                    fail(shared, format!("the sound server does not answer: {e}"));
                }
                return;
            }
        }
        std::thread::sleep(POLL);
    }
}

impl Sink for PulseSink {
    fn rate(&self) -> u32 {
        self.rate
    }

    fn start(&mut self) -> Result<(), OutputError> {
        self.open()
    }

    fn write(&mut self, frames: &[f32]) -> Result<(), OutputError> {
        if self.running.is_none() {
            self.open()?;
        }
        let capacity = self.capacity();
        // The I/O thread waits for audio: wake it once there is a request's worth (or the
        // ring is as full as it gets), not for every block.
        let wake_at = capacity.min(self.bytes(REQUEST) as usize / 4);
        let Some(ring) = self.ring.as_mut() else {
            return Err(OutputError::Failed("the output is closed".into()));
        };
        let shared = &self.shared;
        let sink = &self.sink;
        let writer = shared.writer.get_or_init(std::thread::current);
        let parks = writer.id() == std::thread::current().id();
        super::ring::write(
            ring,
            frames,
            capacity,
            || {
                if parks {
                    shared.writer_waits.store(true, Ordering::Release);
                    std::thread::park_timeout(WAIT);
                } else {
                    std::thread::sleep(WAIT);
                }
            },
            || failure(shared),
            || describe(sink),
            |ring| {
                if super::ring::queued(ring) >= wake_at
                    && shared.starved.swap(false, Ordering::AcqRel)
                {
                    shared.waker.wake();
                }
            },
        )
    }

    /// The ring, plus the server's buffer and the sink's as last polled, carried
    /// forward: what was sent since adds to it, the time since drains it.
    fn latency(&self) -> Duration {
        let ring =
            Duration::from_secs_f64((self.queued() / CHANNELS) as f64 / f64::from(self.rate));
        let polled = *self
            .shared
            .at_poll
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let server = match polled {
            Some((at, sent_then, latency)) => {
                let sent = self
                    .shared
                    .sent
                    .load(Ordering::Relaxed)
                    .saturating_sub(sent_then);
                let added = sent as f64 / (f64::from(self.rate) * BYTES_PER_FRAME as f64);
                (latency.as_secs_f64() + added - at.elapsed().as_secs_f64()).max(0.0)
            }
            None => TARGET.as_secs_f64(),
        };
        ring + Duration::from_secs_f64(server)
    }

    fn drain(&mut self) -> Result<(), OutputError> {
        super::ring::drain(self.latency(), || failure(&self.shared))
    }

    fn stop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(r) = self.running.take() {
            // Deleting the stream ends `play_all` (a dead server ends it anyway); it is
            // queued, not awaited, so a hung server cannot hold the playout here.
            let _ = r.stream.delete().now_or_never();
            // Joined when they end within a second; a thread stuck on a hung server is
            // left to end with the connection.
            let until = Instant::now() + Duration::from_secs(1);
            for t in r.threads {
                while !t.is_finished() && Instant::now() < until {
                    std::thread::sleep(Duration::from_millis(5));
                }
                if t.is_finished() {
                    let _ = t.join();
                }
            }
        }
        self.ring = None;
    }
}

impl Drop for PulseSink {
    fn drop(&mut self) {
        self.stop();
    }
}
