//! The playout thread: drives the pure engine (`core::engine`) with real audio and a real
//! clock. It carries out the engine's actions — open the output, decode and write an item
//! from the instant the engine asked, fade out, switch the amplifier, write the as-run
//! record — and tells the engine what happened (started, ended, output failed) and what
//! the rest of the daemon asked (`station::command::Command`).
//!
//! All decisions are the engine's; this file holds only what needs I/O: decoding, the
//! sink, the clock and the command channel. Timing: a frame written now is heard after
//! the sink's latency, so the player writes silence until the engine's `at` is reached
//! in heard time, and an item chained to the one before starts exactly where that one's
//! last frame is heard (counted in frames, not re-estimated).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::time::Duration;

use chrono::{DateTime, TimeDelta};
use chrono_tz::Tz;

use super::amplifier::Amplifier;
use crate::audio::decode::{AudioStream, CHANNELS};
use crate::audio::ingest::MediaCache;
use crate::audio::output::{self, Sink};
use crate::audio::proof::{Capture, Sent};
use crate::config::Config;
use crate::config::station::Output;
use crate::core::asrun::Heard;
use crate::core::engine::clock::{JUMP_MIN, clock_floor};
use crate::core::engine::{Action, Ending, Engine, Event, Level, Now, Play};
use crate::core::plan::PlanItem;
use crate::station::catalog::Holdings;
use crate::station::command::{Change, Command};
use crate::station::config::setup_of;
use crate::store::Store;
use crate::store::asrun::AsRunLog;
use crate::store::trust::Trust;
use crate::store::writer::Writer;
use crate::sys::clock::{Clock, std_duration};

/// The longest the idle player sleeps before feeding the watchdog (commands wake it).
mod playing;

const TICK: Duration = Duration::from_secs(5);

/// Callbacks into the service manager.
pub struct Hooks {
    pub ready: Box<dyn FnMut() + Send>,
    pub alive: Box<dyn FnMut() + Send>,
}

impl Hooks {
    pub fn none() -> Self {
        Hooks {
            ready: Box::new(|| {}),
            alive: Box::new(|| {}),
        }
    }
}

/// The daemon's runtime, where the playout's own tasks run (the amplifier's commands),
/// and the shutdown token they stop at.
pub struct Io {
    pub runtime: tokio::runtime::Handle,
    pub stop: tokio_util::sync::CancellationToken,
}

/// The item the engine asked for, as far as it has been written.
struct Current {
    play: Play,
    /// Opened when its first frame is due.
    stream: Option<AudioStream>,
    written: u64,
    /// When its first frame is heard.
    heard: DateTime<Tz>,
    limit_frames: Option<u64>,
    fade_frames: u64,
    /// The engine asked it to stop.
    stopping: bool,
    /// What it sent, for proof of air (with `[monitor]`).
    sent: Option<Sent>,
}

/// Proof of air (SPEC §14): what the monitor hears, and the last item that ended.
pub struct Proof {
    pub capture: Arc<Capture>,
    pub silence_below: f32,
    ended: Option<(PlanItem, Sent)>,
}

impl Proof {
    pub fn new(capture: Arc<Capture>, silence_below: f64) -> Proof {
        Proof {
            capture,
            silence_below: silence_below as f32,
            ended: None,
        }
    }
}

pub struct Player {
    engine: Engine,
    config: Config,
    tz: Tz,
    clock: Arc<dyn Clock>,
    /// Changes from the catalog's owner (`daemon::catalog`), with what they brought.
    changes: Receiver<Change>,
    /// To the catalog's owner: what played that the push state must remember.
    owner: Sender<Command>,
    /// What the station held at start, until the engine takes it.
    first: Option<Holdings>,
    hooks: Hooks,
    /// As-run records and the status file, written off this thread.
    writer: Writer,
    amp: Amplifier,
    media: MediaCache,
    /// The sink, and the `[audio] output` it was made for.
    sink: Option<(Output, Box<dyn Sink>)>,
    output_open: bool,
    current: Option<Current>,
    /// When the last frame written is heard, if nothing was written after it.
    tail: Option<DateTime<Tz>>,
    events: VecDeque<Event>,
    status_due: bool,
    exited: bool,
    shared: Option<Arc<crate::http::Shared>>,
    trust: Arc<Trust>,
    store: Store,
    buf: Vec<f32>,
    /// The monotonic and wall clocks when last looked at: a step of one against the
    /// other is a clock jump.
    clock_seen: (std::time::Duration, DateTime<chrono::Utc>),
    proof: Option<Proof>,
}

impl Player {
    /// `asrun` is the daemon's one as-run log (told of `trust`, the daemon's trust marks).
    pub fn new(
        config: Config,
        clock: Arc<dyn Clock>,
        trust: Arc<Trust>,
        asrun: Arc<AsRunLog>,
        link: super::catalog::PlayoutLink,
        hooks: Hooks,
        io: &Io,
    ) -> Self {
        let tz = config.schedule.timezone;
        let store = Store::of(&config.station);
        let amp = Amplifier::start(
            config.station.amplifier.clone(),
            asrun.clone(),
            clock.clone(),
            tz,
            &io.runtime,
            io.stop.clone(),
        );
        let mut media = MediaCache::open(&store).for_station(&config.station.audio);
        let first = Holdings::load(&config);
        let date = clock.now().with_timezone(&tz).date_naive();
        let history = store.history(date, tz);
        let catalog = first.catalog.clone();
        let mut engine = Engine::new(setup_of(&config, &mut media), catalog, history, date);
        if clock.shifted_by().is_none() && !clock.is_manual() {
            // The real clock: one that shows a time before loaxa existed, or behind the
            // newest time trusted before, is not believed. A rehearsal's clock is set to
            // the past on purpose.
            engine = engine
                .with_clock_floor(clock_floor().with_timezone(&tz))
                .with_trusted_time(trust.marks().trusted_time.map(|t| t.with_timezone(&tz)));
        }
        let writer = Writer::start(asrun, store.clone());
        let clock_seen = (clock.monotonic(), clock.now());
        Player {
            writer,
            engine,
            tz,
            clock,
            changes: link.changes,
            owner: link.reports,
            first: Some(first),
            hooks,
            amp,
            media,
            sink: None,
            output_open: false,
            current: None,
            tail: None,
            events: VecDeque::new(),
            status_due: false,
            exited: false,
            shared: None,
            trust,
            store,
            buf: Vec::new(),
            clock_seen,
            config,
            proof: None,
        }
    }

    /// Judges each item's `end` by what the monitor heard.
    pub fn with_proof(mut self, proof: Proof) -> Self {
        self.proof = Some(proof);
        self
    }

    /// Shares config and status with the HTTP API.
    pub fn with_shared(mut self, shared: Arc<crate::http::Shared>) -> Self {
        self.shared = Some(shared);
        self
    }

    fn now(&self) -> DateTime<Tz> {
        self.clock.now().with_timezone(&self.tz)
    }

    fn rate(&self) -> u32 {
        self.sink
            .as_ref()
            .map_or(output::FILE_RATE, |(_, s)| s.rate())
    }

    /// When a frame written now is heard.
    fn audible_now(&self) -> DateTime<Tz> {
        let latency = match &self.sink {
            Some((_, s)) if self.output_open => {
                TimeDelta::from_std(s.latency()).unwrap_or_default()
            }
            _ => TimeDelta::zero(),
        };
        self.now() + latency
    }

    fn stamp(&self) -> Now {
        Now {
            clock: self.now(),
            heard: self.audible_now(),
        }
    }

    /// Runs until the engine exits (`Change::Shutdown`, or the channel closes).
    pub fn run(mut self) {
        let now = self.stamp();
        let date = now.clock.date_naive();
        let yesterday = date
            .pred_opt()
            .map(|d| self.store.read_day(d, self.tz))
            .unwrap_or_default();
        let today = self.store.read_day(date, self.tz);
        let due = self.first.take().map(|h| self.due(&h)).unwrap_or_default();
        let actions = self.engine.start(now, &yesterday, &today, due);
        self.execute(actions);
        self.drain();
        (self.hooks.ready)();
        while !self.exited {
            (self.hooks.alive)();
            self.watch_clock();
            self.poll_commands();
            self.drain();
            if self.exited {
                break;
            }
            if self.current.is_some() {
                self.step();
            } else {
                self.idle();
            }
            self.drain();
        }
        self.publish_status();
        self.amp.finish();
        self.writer.finish();
        // What played is saved in the push state before the daemon exits.
        let (saved, answer) = std::sync::mpsc::channel();
        if self.owner.send(Command::Saved(saved)).is_ok()
            && answer.recv_timeout(Duration::from_secs(10)).is_err()
        {
            tracing::warn!("the push state may miss what played last: its writer did not answer");
        }
        tracing::info!("playout stopped");
    }

    /// Tells the engine when the wall clock stepped against the monotonic one, with what
    /// already played on the day it now shows.
    fn watch_clock(&mut self) {
        let seen = (self.clock.monotonic(), self.clock.now());
        let (mono, wall) = std::mem::replace(&mut self.clock_seen, seen);
        let ran = TimeDelta::from_std(seen.0.saturating_sub(mono)).unwrap_or_default();
        let by = (seen.1 - wall) - ran;
        if by.abs() >= JUMP_MIN {
            tracing::warn!("the clock stepped by {} s", by.num_seconds());
            let date = seen.1.with_timezone(&self.tz).date_naive();
            let history = Box::new(self.store.history(date, self.tz));
            self.events.push_back(Event::ClockJumped { by, history });
        }
    }

    /// Hands the queued events to the engine and carries out what it says.
    fn drain(&mut self) {
        while let Some(event) = self.events.pop_front() {
            if self.exited {
                break;
            }
            let actions = self.engine.handle(self.stamp(), event);
            self.execute(actions);
        }
        if std::mem::take(&mut self.status_due) {
            self.publish_status();
        }
    }

    fn execute(&mut self, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::Amplifier(on) => {
                    self.amp.switch(on, self.now());
                    self.events.push_back(Event::Amplifier { on });
                }
                Action::OpenOutput => self.open_output(),
                Action::CloseOutput => self.close_output(),
                Action::Play(play) => self.begin(play),
                Action::Stop { fade } => self.stop(fade),
                Action::Record(mut r) => {
                    if r.event == crate::core::asrun::Event::End {
                        r.heard = self.heard(&r);
                    }
                    self.writer.record(r)
                }
                // Saved by the catalog's owner, off this thread, before it reads the
                // state for the next change.
                Action::Aired(id) => self.report(Command::Aired(id)),
                Action::EmergencyDone(id) => self.report(Command::EmergencyDone(id)),
                Action::StatusChanged => self.status_due = true,
                Action::Log(Level::Info, text) => tracing::info!("{text}"),
                Action::Log(Level::Warn, text) => tracing::warn!("{text}"),
                Action::Log(Level::Error, text) => tracing::error!("{text}"),
                Action::Exit => self.exited = true,
            }
        }
    }

    // --- commands ------------------------------------------------------------------------

    fn report(&self, command: Command) {
        if self.owner.send(command).is_err() {
            tracing::warn!("push state not saved: the catalog's owner is gone");
        }
    }

    fn poll_commands(&mut self) {
        loop {
            match self.changes.try_recv() {
                Ok(c) => self.change(c),
                Err(TryRecvError::Empty) => return,
                Err(TryRecvError::Disconnected) => return self.change(Change::Shutdown),
            }
        }
    }

    fn change(&mut self, change: Change) {
        let event = match change {
            Change::Reload { config, holdings } => {
                let output_changed =
                    config.station.audio.output != self.config.station.audio.output;
                if let Some(shared) = &self.shared {
                    shared.set_config((*config).clone());
                }
                self.config = *config;
                self.tz = self.config.schedule.timezone;
                // The reload measured new files into the cache on disk.
                self.store = Store::of(&self.config.station);
                self.media = MediaCache::open(&self.store).for_station(&self.config.station.audio);
                Event::Reload {
                    setup: Box::new(setup_of(&self.config, &mut self.media)),
                    catalog: Box::new(holdings.catalog),
                    output_changed,
                }
            }
            Change::Shutdown => {
                tracing::info!("stopping the playout");
                Event::Shutdown
            }
            Change::Catalog { holdings, pushed } => {
                let due = self.due(&holdings);
                Event::Catalog {
                    catalog: Box::new(holdings.catalog),
                    revoked: holdings.revoked,
                    due,
                    pushed,
                }
            }
            Change::Cancel { id, holdings } => Event::Cancel {
                id,
                catalog: Box::new(holdings.catalog),
            },
        };
        self.events.push_back(event);
    }

    fn due(&self, holdings: &Holdings) -> Vec<crate::core::emergency::Emergency> {
        holdings.due(self.now(), self.trust.now(self.clock.now()))
    }

    // --- waiting -------------------------------------------------------------------------

    /// Nothing to play: silence on an open output, else sleep; until the engine's wake
    /// time (a `Tick`) or a command.
    fn idle(&mut self) {
        let wake = self.engine.wake_at().unwrap_or_else(|| {
            self.now() + TimeDelta::from_std(TICK).unwrap_or(TimeDelta::seconds(5))
        });
        if self.output_open {
            let left = wake - self.audible_now();
            if left > TimeDelta::zero() {
                self.write_silence(left);
            }
            if self.now() >= wake || left <= TimeDelta::zero() {
                self.events.push_back(Event::Tick);
            }
            return;
        }
        if self.wait_closed(wake) {
            self.events.push_back(Event::Tick);
        }
    }

    /// With the output closed, waits for `t` or a command (taken in), at most `TICK`;
    /// true when `t` has come.
    fn wait_closed(&mut self, t: DateTime<Tz>) -> bool {
        let left = t - self.now();
        if left <= TimeDelta::zero() {
            return true;
        }
        if self.clock.is_manual() {
            // Time moves only when slept on: take what is waiting, then jump.
            match self.changes.try_recv() {
                Ok(c) => self.change(c),
                Err(TryRecvError::Disconnected) => self.change(Change::Shutdown),
                Err(TryRecvError::Empty) => {
                    self.clock.sleep_until(t.to_utc());
                    return true;
                }
            }
            return false;
        }
        match self.changes.recv_timeout(std_duration(left).min(TICK)) {
            Ok(c) => self.change(c),
            Err(RecvTimeoutError::Disconnected) => self.change(Change::Shutdown),
            Err(RecvTimeoutError::Timeout) => {}
        }
        self.now() >= t
    }

    /// Writes up to one block of silence, no more than `span`.
    fn write_silence(&mut self, span: TimeDelta) {
        let rate = self.rate();
        let block = i64::from(rate / 50);
        let frames = (span.num_microseconds().unwrap_or(i64::MAX) * i64::from(rate) / 1_000_000)
            .clamp(1, block) as usize;
        self.tail = None;
        self.buf.clear();
        self.buf.resize(frames * CHANNELS, 0.0);
        let written = match &mut self.sink {
            Some((_, sink)) => sink.write(&self.buf),
            None => Err(output::OutputError::Unavailable("no output".into())),
        };
        if let Err(e) = written {
            self.output_lost();
            match self.current.take() {
                Some(_) => self.events.push_back(Event::Ended {
                    at: self.now(),
                    how: Ending::OutputLost(e.to_string()),
                }),
                None => self.events.push_back(Event::OutputFailed {
                    reason: e.to_string(),
                }),
            }
        }
    }

    // --- the output ----------------------------------------------------------------------

    fn open_output(&mut self) {
        let wanted = self.config.station.audio.output.clone();
        if self.sink.as_ref().is_some_and(|(o, _)| *o != wanted)
            && let Some((_, mut old)) = self.sink.take()
        {
            old.stop();
        }
        let opened = match &mut self.sink {
            Some((_, sink)) => sink.start(),
            None => output::open(&wanted, self.clock.clone()).and_then(|mut sink| {
                let started = sink.start();
                self.sink = Some((wanted, sink));
                started
            }),
        };
        self.tail = None;
        match opened {
            Ok(()) => {
                self.output_open = true;
                self.events.push_back(Event::OutputReady);
            }
            Err(e) => {
                self.output_lost();
                self.events.push_back(Event::OutputFailed {
                    reason: e.to_string(),
                });
            }
        }
    }

    /// Lets what was written be heard, then closes the device.
    fn close_output(&mut self) {
        if let Some((_, sink)) = &mut self.sink
            && self.output_open
        {
            if let Err(e) = sink.drain() {
                tracing::warn!("{e}");
            }
            sink.stop();
        }
        self.output_open = false;
        self.tail = None;
    }

    fn output_lost(&mut self) {
        if let Some((_, sink)) = &mut self.sink {
            sink.stop();
        }
        self.output_open = false;
        self.tail = None;
    }

    /// What the monitor heard of the item this `end` is for.
    fn heard(&mut self, end: &crate::core::asrun::Record) -> Option<Heard> {
        let proof = self.proof.as_mut()?;
        let (item, sent) = proof.ended.take()?;
        let same = end
            .item
            .as_ref()
            .is_some_and(|i| i.id == item.id && i.kind == item.kind && i.start == item.start);
        if !same {
            return None;
        }
        let verdict = proof
            .capture
            .verdict(&sent, end.ts.timestamp_millis(), proof.silence_below);
        match verdict {
            Some(v) if v.heard == Heard::Yes => tracing::info!("{}: heard: {v}", item.title),
            Some(v) => tracing::warn!("{}: heard: {v}", item.title),
            None => tracing::info!("{}: nothing to judge what the monitor heard by", item.title),
        }
        verdict.map(|v| v.heard)
    }

    // --- status --------------------------------------------------------------------------

    fn publish_status(&self) {
        let snapshot = self.engine.status();
        let Some(status) = super::status::build(
            &self.config,
            snapshot,
            self.now(),
            self.amp.is_on(),
            &self.trust,
            self.clock.now(),
        ) else {
            return;
        };
        if let Some(shared) = &self.shared {
            shared.set_status(status.clone());
        }
        self.writer.status(status);
    }
}
