//! The playout engine's decisions, as a state machine: events in, actions out.
//!
//! The engine follows the day's plan on the clock, switches the amplifier around each
//! session, breaks in for emergencies, and says what to write in the as-run log. It does
//! no I/O and reads no clock: every event comes with `Now`, and what it wants done comes
//! back as `Action`s for its driver (`daemon::player`) to carry out — open the output, play
//! this item from that instant, fade out what plays, switch the amplifier, write a
//! record. The driver reports back what happened (`Started`, `Ended`, `OutputFailed`…).
//! Because of that, every tricky interleaving is a unit test: `sim` is a driver that plays
//! in simulated time.
//!
//! Timing: an item is asked for at the instant its first frame must be *heard*; the
//! driver writes silence until then, or chains it sample-exactly after the previous item
//! when the plan put them back to back. Items that are due are played even if the engine
//! gets there late (`GRACE`); anything cut short (fill before a fixed item, relays) ends
//! at its planned end.
//!
//! States: between sessions the output is closed and the amplifier off (`on_air` is
//! `None`); a session on air has the amplifier on and the output open; an emergency run
//! (`emergency::Run`) takes over whatever the state, and gives it back when done.

pub mod clock;
mod emergency;
mod mode;
mod playing;
mod program;
/// A driver in simulated time, for tests (feature `sim`).
#[cfg(any(test, feature = "sim"))]
pub mod sim;

use mode::Life;
pub use mode::Mode;

use std::collections::{HashSet, VecDeque};

use chrono::{DateTime, NaiveDate, TimeDelta};
use chrono_tz::Tz;

use super::asrun::{Event as Logged, Record};
use super::catalog::{Catalog, Priority};
use super::emergency::Emergency;
use super::plan::{History, Kind, Plan, PlanItem, Quota};
use super::schedule::{MediaFile, QuietHours, Schedule};

/// A due item is still played if we get to it this late (a stall, a slow device).
pub const GRACE: TimeDelta = TimeDelta::minutes(5);
/// The output is opened this long before a session (plus the amplifier's warmup).
pub const LEAD: TimeDelta = TimeDelta::seconds(2);
/// Fade applied where an item is cut rather than ending by itself.
pub const CUT_FADE: TimeDelta = TimeDelta::seconds(1);
/// Fade when something is stopped at once: an emergency breaks in, a cancel, a revocation.
pub const STOP_FADE: TimeDelta = TimeDelta::milliseconds(300);
/// Silence between the repeats of an emergency, so listeners hear where one ends.
pub const REPEAT_GAP: TimeDelta = TimeDelta::seconds(1);
/// A relay or file that ends this much before its planned end broke off: filler follows.
pub const EARLY_END: TimeDelta = TimeDelta::seconds(2);
/// Retries of a failed output back off up to this.
pub const OUTPUT_RETRY_MAX: TimeDelta = TimeDelta::seconds(30);
/// Gaps shorter than this are left silent rather than filled.
pub const MIN_FILL: TimeDelta = TimeDelta::seconds(1);

/// What the engine needs of the configuration.
#[derive(Debug, Clone)]
pub struct Setup {
    pub station_id: String,
    pub schedule: Schedule,
    /// Between the amplifier switched on and the first sound.
    pub warmup: TimeDelta,
    /// Nothing but an emergency sounds in these hours, whatever the plan says.
    pub quiet_hours: Option<QuietHours>,
    pub start_chime: Option<MediaFile>,
    pub end_chime: Option<MediaFile>,
}

/// The time of an event: the clock, and when a frame written to the output now is heard.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Now {
    pub clock: DateTime<Tz>,
    pub heard: DateTime<Tz>,
}

impl Now {
    /// No output latency (the output is closed, or a test).
    pub fn at(t: DateTime<Tz>) -> Now {
        Now { clock: t, heard: t }
    }
}

#[derive(Debug, Clone)]
pub enum Event {
    /// Time has moved on (the driver sends it at `wake_at`, or whenever it likes).
    Tick,
    /// The item asked for by `Play` is heard from `at` (its first frame).
    Started {
        at: DateTime<Tz>,
    },
    /// The item asked for by `Play` is over: its last frame is heard at `at`.
    Ended {
        at: DateTime<Tz>,
        how: Ending,
    },
    /// The output opened, as asked by `OpenOutput`.
    OutputReady,
    /// The output could not be opened, or failed while nothing was playing.
    OutputFailed {
        reason: String,
    },
    /// The driver saw the clock step by `by` against a monotonic clock, and read what
    /// already played on the day it now shows (the date may have changed under it).
    ClockJumped {
        by: TimeDelta,
        history: Box<History>,
    },
    /// The amplifier relay reports its state.
    Amplifier {
        on: bool,
    },
    /// A new configuration, validated and measured, with its catalog.
    Reload {
        setup: Box<Setup>,
        catalog: Box<Catalog>,
        /// `[audio] output` changed: the output is closed and reopened.
        output_changed: bool,
    },
    /// The catalog changed (the feed, a push, a revocation): the emergencies now due, the
    /// ids revoked, and the priority of the push that caused it, if one did.
    Catalog {
        catalog: Box<Catalog>,
        revoked: Vec<String>,
        due: Vec<Emergency>,
        pushed: Option<Priority>,
    },
    /// A bulletin (pushed or from the feed) was withdrawn.
    Cancel {
        id: String,
        catalog: Box<Catalog>,
    },
    Shutdown,
}

/// How an item ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Ending {
    /// It played to its end (or to its limit).
    Finished,
    /// It never started: it could not be opened, or held no audio.
    Failed(String),
    /// Decoding broke off mid-way (a damaged file, a decoder crash).
    BrokeOff(String),
    /// The engine asked it to stop (`Stop`), or cancelled it before it started.
    Stopped,
    /// The output failed under it.
    OutputLost(String),
}

/// Log levels for `Action::Log`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Switch the amplifier relay.
    Amplifier(bool),
    /// Open the output (reply `OutputReady` or `OutputFailed`).
    OpenOutput,
    /// Let what was written be heard, then close the output.
    CloseOutput,
    /// Play an item (reply `Started`, then `Ended`).
    Play(Play),
    /// Fade out what plays now over `fade` and end it (`Ended { how: Stopped }`).
    Stop {
        fade: TimeDelta,
    },
    /// Append to the as-run log.
    Record(Record),
    /// A pushed bulletin played to its end.
    Aired(String),
    /// An emergency played all its repeats, or was cancelled.
    EmergencyDone(String),
    /// What `Engine::status` says has changed.
    StatusChanged,
    Log(Level, String),
    /// Shut down: everything is off.
    Exit,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Play {
    pub item: PlanItem,
    /// Heard from this instant (silence until then)…
    pub at: DateTime<Tz>,
    /// …or right after the previous item's last frame, if nothing was written since.
    pub chain: bool,
    /// Stopped here at the latest, faded out over `CUT_FADE` before it.
    pub limit: Option<DateTime<Tz>>,
}

/// The session on air: amplifier on, output open.
#[derive(Debug, Clone, PartialEq)]
pub struct OnAir {
    pub name: String,
    pub start: DateTime<Tz>,
    pub end: DateTime<Tz>,
}

/// Why something plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Planned,
    /// Filler in the place of something that could not play.
    Filler,
    Emergency,
}

#[derive(Debug, Clone)]
struct Playing {
    item: PlanItem,
    purpose: Purpose,
    started: Option<DateTime<Tz>>,
    /// Asked to stop, for this reason.
    stopping: Option<String>,
}

/// The output, as the engine sees it.
#[derive(Debug, Clone, Default)]
struct Output {
    /// `OpenOutput` was sent, and no `CloseOutput` since.
    open: bool,
    /// Waiting for `OutputReady` / `OutputFailed`.
    opening: bool,
    ok: bool,
    /// After a failure: when to try again, and the backoff that led there.
    retry: Option<(DateTime<Tz>, TimeDelta)>,
}

/// What the status shows of the engine.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub plan_date: Option<NaiveDate>,
    pub session: Option<String>,
    pub emergency: Option<String>,
    pub emergencies_waiting: usize,
    pub amplifier_on: bool,
    pub output_ok: bool,
    pub now_playing: Option<PlanItem>,
    /// When it started to sound.
    pub now_started: Option<DateTime<Tz>>,
    pub next: Vec<PlanItem>,
    pub quotas: Vec<Quota>,
    pub warnings: Vec<String>,
    /// The catalog's feed sequence, how many feed bulletins it holds, and what kept parts
    /// of it from loading.
    pub feed_sequence: Option<u64>,
    pub feed_bulletins: usize,
    pub catalog_problems: Vec<String>,
    /// The clock is not believed (it went back): held until it reaches this.
    pub clock_held: Option<DateTime<Tz>>,
}

pub struct Engine {
    setup: Setup,
    catalog: Catalog,
    /// What played: today's plays and earlier counts, for the planner.
    history: History,
    history_date: NaiveDate,
    plan: Option<Plan>,
    /// Planned end of the last item handled: the next one starts at or after it.
    cursor: Option<DateTime<Tz>>,
    on_air: Option<OnAir>,
    output: Output,
    amp_wanted: bool,
    amp_on: bool,
    /// No sound before this (the amplifier's warmup).
    warm_until: Option<DateTime<Tz>>,
    playing: Option<Playing>,
    /// The last item that played: its planned end, and whether the output has had
    /// nothing written since its last frame (then an item planned right after it chains).
    chain: Option<DateTime<Tz>>,
    /// Filler until this instant, in the place of something that could not play.
    fallback: Option<DateTime<Tz>>,
    fill_next: usize,
    fill_failures: usize,
    emergencies: VecDeque<Emergency>,
    run: Option<emergency::Run>,
    done_emergencies: HashSet<String>,
    /// The item an emergency broke into, and its session: it restarts after the emergency
    /// if the session is still open.
    resume: Option<(PlanItem, OnAir)>,
    pending: Option<(Box<Setup>, Box<Catalog>, bool)>,
    replan_wanted: bool,
    life: Life,
    wake: Option<DateTime<Tz>>,
    /// The latest time the clock has shown (or was trusted at): a clock behind it went back.
    latest: Option<DateTime<Tz>>,
    /// The clock is not believed: nothing but an emergency plays until it reaches this.
    held: Option<DateTime<Tz>>,
    /// A clock before this cannot be true (`clock::clock_floor`, on the real clock).
    floor: Option<DateTime<Tz>>,
}

impl Engine {
    /// An engine for `setup` and `catalog`, given what already played (`history`, for
    /// the day `history_date`).
    pub fn new(setup: Setup, catalog: Catalog, history: History, history_date: NaiveDate) -> Self {
        Engine {
            setup,
            catalog,
            history,
            history_date,
            plan: None,
            cursor: None,
            on_air: None,
            output: Output::default(),
            amp_wanted: false,
            amp_on: false,
            warm_until: None,
            playing: None,
            chain: None,
            fallback: None,
            fill_next: 0,
            fill_failures: 0,
            emergencies: VecDeque::new(),
            run: None,
            done_emergencies: HashSet::new(),
            resume: None,
            pending: None,
            replan_wanted: false,
            life: Life::Running,
            wake: None,
            latest: None,
            held: None,
            floor: None,
        }
    }

    /// The newest time the station has trusted before (from its state): a clock behind it
    /// at start is held like a clock that went back.
    pub fn with_trusted_time(mut self, t: Option<DateTime<Tz>>) -> Self {
        self.latest = t;
        self
    }

    /// No clock before `t` is believed (see `clock::clock_floor`).
    pub fn with_clock_floor(mut self, t: DateTime<Tz>) -> Self {
        self.floor = Some(t);
        self
    }

    fn tz(&self) -> Tz {
        self.setup.schedule.timezone
    }

    /// The first steps after a (re)start: what a crash left unfinished (from the as-run
    /// records of yesterday and today) is recorded as interrupted, emergencies still due
    /// are queued, the day is planned, and the amplifier is off unless a session runs.
    pub fn start(
        &mut self,
        now: Now,
        yesterday: &[Record],
        today: &[Record],
        due: Vec<Emergency>,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        self.watch_clock(now, &mut out);
        for (records, is_today) in [(yesterday, false), (today, true)] {
            for item in super::asrun::unfinished(records) {
                out.push(Action::Log(
                    Level::Warn,
                    format!(
                        "{} {} was cut off by a restart",
                        item.kind.as_str(),
                        item.id
                    ),
                ));
                let ts = if is_today { now.clock } else { item.end };
                out.push(Action::Record(
                    Record::new(ts, Logged::Interrupted)
                        .item(&item)
                        .reason("loaxa stopped while it played (crash or power cut)"),
                ));
            }
        }
        self.queue(due, &mut out);
        if self.held.is_none() {
            self.replan(now, &mut out);
        }
        let quiet = self
            .setup
            .quiet_hours
            .is_some_and(|q| q.contains(now.clock));
        if quiet || self.held.is_some() || !self.session_running(now.clock) {
            // Whatever state a crash left the relay in, it is off until a session needs it.
            out.push(Action::Amplifier(false));
        }
        self.advance(now, &mut out);
        out
    }

    /// Takes one event and says what to do about it.
    pub fn handle(&mut self, now: Now, event: Event) -> Vec<Action> {
        let mut out = Vec::new();
        if self.life == Life::Exited {
            return out;
        }
        let event = match event {
            Event::ClockJumped { by, history } => {
                self.clock_jumped(now, by, *history, &mut out);
                Event::Tick
            }
            e => e,
        };
        self.watch_clock(now, &mut out);
        match event {
            Event::Tick | Event::ClockJumped { .. } => {}
            Event::Started { at } => self.started(at, &mut out),
            Event::Ended { at, how } => self.ended(now, at, how, &mut out),
            Event::OutputReady => self.output_ready(now, &mut out),
            Event::OutputFailed { reason } => self.output_failed(now, &reason, &mut out),
            Event::Amplifier { on } => {
                self.amp_on = on;
                out.push(Action::StatusChanged);
            }
            Event::Reload {
                setup,
                catalog,
                output_changed,
            } => {
                self.pending = Some((setup, catalog, output_changed));
                // Waiting for a future item: plan again at once rather than after it.
                self.cancel_unstarted("the configuration changed", &mut out);
            }
            Event::Catalog {
                catalog,
                revoked,
                due,
                pushed,
            } => self.catalog_changed(*catalog, &revoked, due, pushed, &mut out),
            Event::Cancel { id, catalog } => self.cancelled(&id, *catalog, &mut out),
            Event::Shutdown => self.life = Life::Stopping,
        }
        self.advance(now, &mut out);
        out
    }

    /// When the engine wants a `Tick` if nothing else happens first.
    pub fn wake_at(&self) -> Option<DateTime<Tz>> {
        self.wake
    }

    pub fn status(&self) -> Snapshot {
        let plan = self.plan.as_ref();
        let ahead = |i: &&PlanItem| self.cursor.is_none_or(|c| i.start >= c);
        let now_playing = self.playing.as_ref().map(|p| p.item.clone());
        let next = plan
            .map(|p| {
                p.sessions
                    .iter()
                    .flat_map(|s| &s.items)
                    .filter(ahead)
                    .filter(|i| Some(*i) != now_playing.as_ref())
                    .take(5)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        let quotas = plan
            .map(|p| {
                p.quotas
                    .iter()
                    .map(|q| Quota {
                        done: self.done_today(&q.campaign),
                        planned: p
                            .sessions
                            .iter()
                            .flat_map(|s| &s.items)
                            .filter(ahead)
                            .filter(|i| i.campaign.as_deref() == Some(q.campaign.as_str()))
                            .count() as u32,
                        ..q.clone()
                    })
                    .collect()
            })
            .unwrap_or_default();
        Snapshot {
            plan_date: plan.map(|p| p.date),
            session: self.on_air.as_ref().map(|s| s.name.clone()),
            emergency: self.run.as_ref().and_then(|r| r.current_id()),
            emergencies_waiting: self.emergencies.len(),
            amplifier_on: self.amp_on,
            output_ok: self.output.ok || !self.output.open && self.output.retry.is_none(),
            now_playing,
            now_started: self.playing.as_ref().and_then(|p| p.started),
            next,
            quotas,
            warnings: plan.map(|p| p.warnings.clone()).unwrap_or_default(),
            feed_sequence: self.catalog.feed_sequence,
            feed_bulletins: self
                .catalog
                .bulletins
                .iter()
                .chain(&self.catalog.emergencies)
                .filter(|b| b.source == super::catalog::Source::Feed)
                .count(),
            catalog_problems: self.catalog.problems.clone(),
            clock_held: self.held,
        }
    }

    fn done_today(&self, campaign: &str) -> u32 {
        self.history
            .today
            .iter()
            .filter(|p| p.kind == Kind::Bulletin && p.campaign.as_deref() == Some(campaign))
            .count() as u32
    }

    // --- the main step ---------------------------------------------------------------------

    /// Decides what comes next, as far as it can without waiting for an event.
    fn advance(&mut self, now: Now, out: &mut Vec<Action>) {
        self.wake = None;
        // Each pass either returns or changes the state; the bound is a safety net.
        for _ in 0..64 {
            let mode = self.mode();
            if self.playing.is_some() {
                // Something plays: it goes on unless the mode now wants it gone.
                self.overrule_playing(mode, out);
                return;
            }
            match mode {
                Mode::Exited => return,
                Mode::Stopping => {
                    self.end_session(out);
                    if self.amp_wanted {
                        self.amplifier_off(out);
                    }
                    self.close_output(out);
                    out.push(Action::StatusChanged);
                    out.push(Action::Exit);
                    self.life = Life::Exited;
                    return;
                }
                Mode::Emergency => {
                    if self.emergency_step(now, out) {
                        return;
                    }
                }
                Mode::Held => {
                    self.hold_step(now, out);
                    return;
                }
                Mode::Program => {
                    if self.program_step(now, out) {
                        return;
                    }
                }
            }
        }
    }

    fn session_running(&self, t: DateTime<Tz>) -> bool {
        self.plan
            .as_ref()
            .is_some_and(|p| p.sessions.iter().any(|s| s.start <= t && t < s.end))
    }

    fn end_session(&mut self, out: &mut Vec<Action>) {
        self.chain = None;
        let Some(session) = self.on_air.take() else {
            return;
        };
        self.close_output(out);
        self.amplifier_off(out);
        out.push(Action::Log(
            Level::Info,
            format!("session {} off air", session.name),
        ));
        out.push(Action::StatusChanged);
    }

    fn catalog_changed(
        &mut self,
        catalog: Catalog,
        revoked: &[String],
        due: Vec<Emergency>,
        pushed: Option<Priority>,
        out: &mut Vec<Action>,
    ) {
        out.push(Action::Log(
            Level::Info,
            "catalog changed: re-planning".into(),
        ));
        self.catalog = catalog;
        if let Some(id) = self.playing_bulletin()
            && revoked.contains(&id)
        {
            self.stop("revoked by the province", out);
            if let Some(run) = &mut self.run {
                run.cancel(&id);
            }
        }
        if let Some(run) = &mut self.run {
            for id in revoked {
                run.cancel(id);
            }
        }
        self.emergencies
            .retain(|e| !revoked.contains(&e.bulletin.id));
        self.queue(due, out);
        self.replan_wanted = true;
        let fill_playing = self
            .playing
            .as_ref()
            .is_some_and(|p| p.item.kind == Kind::Fill);
        if pushed.is_some_and(|p| p >= Priority::Priority) && fill_playing {
            self.stop("making room for a pushed bulletin", out);
        }
        self.cancel_unstarted("the catalog changed", out);
    }

    fn cancelled(&mut self, id: &str, catalog: Catalog, out: &mut Vec<Action>) {
        out.push(Action::Log(
            Level::Info,
            format!("{id} cancelled by the province"),
        ));
        self.catalog = catalog;
        self.emergencies.retain(|e| e.bulletin.id != id);
        if let Some(run) = &mut self.run
            && run.cancel(id)
        {
            self.done_emergencies.insert(id.to_string());
            out.push(Action::EmergencyDone(id.to_string()));
        }
        if self.playing_bulletin().as_deref() == Some(id) {
            self.stop("cancelled by the province", out);
        }
        self.replan_wanted = true;
        self.cancel_unstarted("the catalog changed", out);
    }

    fn playing_bulletin(&self) -> Option<String> {
        self.playing
            .as_ref()
            .filter(|p| p.item.kind == Kind::Bulletin)
            .map(|p| p.item.id.clone())
    }
}

#[cfg(test)]
mod clock_tests;
#[cfg(test)]
mod tests;
