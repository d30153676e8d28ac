//! The playout engine: follows the day's plan on the clock, switches the amplifier around
//! each session, hands audio to the output, and writes the as-run log.
//!
//! Timing: an item starts when its first frame will be *heard* at its planned time. The
//! engine writes silence until `now + output latency` reaches the item's start, so clock
//! drift between the sound card and the system clock never accumulates across items.
//! Items that are due are played even if the engine got there late (grace window), and
//! anything cut short (fill before a fixed item, relays) ends at its planned end.

mod emergency;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::Duration;

use chrono::{DateTime, NaiveTime, TimeDelta, Utc};
use chrono_tz::Tz;

use crate::audio::decode::{AudioStream, CHANNELS};
use crate::audio::ingest::MediaCache;
use crate::audio::output::{self, Sink};
use crate::config::Config;
use crate::config::schedule::local;
use crate::core::catalog::Catalog;
use crate::core::emergency::Emergency;
use crate::core::planner::{Kind, Plan, PlanInput, PlanItem, plan_day};
use crate::core::status::{self, Status};
use crate::daemon::amplifier::Amplifier;
use crate::store::asrun::{self, AsRunLog, Event, Record};
use crate::sys::clock::{Clock, std_duration};

/// A due item is still played if we get to it this late (a stall, a slow device).
const GRACE: TimeDelta = TimeDelta::minutes(5);
/// The device is opened this long before a session (plus the amplifier's warmup).
const LEAD: TimeDelta = TimeDelta::seconds(2);
/// Fade applied where an item is cut rather than ending by itself.
const CUT_FADE: TimeDelta = TimeDelta::seconds(1);
/// Fade when something is stopped at once: an emergency breaks in, a cancel, a revocation.
const STOP_FADE: TimeDelta = TimeDelta::milliseconds(300);
/// Silence between the repeats of an emergency, so listeners hear where one ends.
const REPEAT_GAP: TimeDelta = TimeDelta::seconds(1);
/// The longest the idle engine sleeps before feeding the watchdog (commands wake it at once).
const TICK: Duration = Duration::from_secs(5);
const OUTPUT_RETRY_MAX: TimeDelta = TimeDelta::seconds(30);
/// A file that ends this much before its planned end broke off: its slot gets filler.
const EARLY_END: TimeDelta = TimeDelta::seconds(2);

/// What the rest of the daemon can ask of the engine.
pub enum Command {
    /// A new, already validated config (schedule.toml or station.toml changed).
    Reload(Box<Config>),
    /// Finish cleanly: stop the audio, switch the amplifier off.
    Shutdown,
    /// The feed or a push brought new campaigns or bulletins, or revoked some: re-plan,
    /// stop a revoked bulletin that is playing now, and play new emergencies at once.
    CatalogChanged,
    /// A push was accepted: like `CatalogChanged`, and a priority bulletin does not wait
    /// for filler music to end.
    Pushed(crate::core::catalog::Priority),
    /// A bulletin (pushed or from the feed) was withdrawn: stop it if it plays, drop it
    /// from every plan and from the emergency queue.
    Cancel(String),
}

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

/// The session on air: amplifier on, device open.
#[derive(Clone, PartialEq)]
struct OnAir {
    name: String,
    start: DateTime<Tz>,
    end: DateTime<Tz>,
}

/// How playing one item went.
enum Outcome {
    Ended,
    /// Stopped by a command or a failure; the engine must look at its state again.
    Stopped,
}

pub struct Engine {
    config: Config,
    catalog: Catalog,
    tz: Tz,
    clock: Arc<dyn Clock>,
    commands: Receiver<Command>,
    hooks: Hooks,
    asrun: Arc<AsRunLog>,
    amp: Amplifier,
    media: MediaCache,
    sink: Option<Box<dyn Sink>>,
    output_ok: bool,
    output_retry: Option<(DateTime<Utc>, TimeDelta)>,
    plan: Option<Plan>,
    /// Planned end of the last item handled: the next one starts at or after it.
    cursor: Option<DateTime<Tz>>,
    on_air: Option<OnAir>,
    pending: Option<Box<Config>>,
    stopping: bool,
    done_today: HashMap<String, u32>,
    now_playing: Option<PlanItem>,
    fill_next: usize,
    /// The last item played: its planned end, and when its last frame is heard (counted
    /// in frames, not re-estimated). An item planned right after it follows gaplessly.
    chain: Option<(DateTime<Tz>, DateTime<Tz>)>,
    /// Stop what plays now, for this reason (a revoked bulletin).
    stop_current: Option<String>,
    /// Re-plan before the next item.
    replan_wanted: bool,
    /// Emergencies waiting to play, oldest first; the one on air is `emergency_on_air`.
    emergencies: VecDeque<Emergency>,
    emergency_on_air: Option<String>,
    /// True while emergencies play: nothing breaks into them, a new one queues.
    in_emergency: bool,
    /// The emergency on air was cancelled: skip its remaining repeats.
    emergency_cancelled: bool,
    /// The item an emergency broke into, and its session: it restarts after the emergency
    /// if the session is still open.
    resume_item: Option<(PlanItem, OnAir)>,
    shared: Option<Arc<crate::http::Shared>>,
    trust: Arc<crate::store::trust::Trust>,
}

impl Engine {
    pub fn new(
        config: Config,
        clock: Arc<dyn Clock>,
        commands: Receiver<Command>,
        hooks: Hooks,
    ) -> Self {
        let tz = config.schedule.timezone;
        let trust = Arc::new(crate::store::trust::Trust::empty(&config.station.state_dir));
        let asrun = Arc::new(AsRunLog::new(&config.station.state_dir).with_trust(trust.clone()));
        let amp = Amplifier::start(
            config.station.amplifier.clone(),
            asrun.clone(),
            clock.clone(),
            tz,
        );
        let media = MediaCache::open(&config.station.state_dir).for_station(&config.station.audio);
        Engine {
            catalog: Catalog::load(&config),
            tz,
            clock,
            commands,
            hooks,
            asrun,
            amp,
            media,
            sink: None,
            output_ok: true,
            output_retry: None,
            plan: None,
            cursor: None,
            on_air: None,
            pending: None,
            stopping: false,
            done_today: HashMap::new(),
            now_playing: None,
            fill_next: 0,
            chain: None,
            stop_current: None,
            replan_wanted: false,
            emergencies: VecDeque::new(),
            emergency_on_air: None,
            in_emergency: false,
            emergency_cancelled: false,
            resume_item: None,
            shared: None,
            trust,
            config,
        }
    }

    /// Shares config and status with the HTTP API.
    pub fn with_shared(mut self, shared: Arc<crate::http::Shared>) -> Self {
        self.shared = Some(shared);
        self
    }

    /// The daemon's trust marks (see `trust`), told of every as-run record.
    pub fn with_trust(mut self, trust: Arc<crate::store::trust::Trust>) -> Self {
        self.asrun =
            Arc::new(AsRunLog::new(&self.config.station.state_dir).with_trust(trust.clone()));
        self.amp = Amplifier::start(
            self.config.station.amplifier.clone(),
            self.asrun.clone(),
            self.clock.clone(),
            self.tz,
        );
        self.trust = trust;
        self
    }

    fn now(&self) -> DateTime<Tz> {
        self.clock.now().with_timezone(&self.tz)
    }

    /// Runs until `Command::Shutdown` (or the command channel closes).
    pub fn run(mut self) {
        self.recover();
        self.queue_emergencies();
        self.replan();
        (self.hooks.ready)();
        // Whatever state a crash left the relay in, it is off until a session needs it.
        if !self.session_running_now() {
            self.amp.switch(false);
        }
        while !self.stopping {
            (self.hooks.alive)();
            self.poll_commands();
            if self.stopping {
                break;
            }
            if let Some(config) = self.pending.take() {
                self.apply(*config);
            }
            if !self.emergencies.is_empty() {
                self.run_emergencies();
                continue;
            }
            if std::mem::take(&mut self.replan_wanted) {
                self.replan();
            }
            let now = self.now();
            if self
                .plan
                .as_ref()
                .is_none_or(|p| p.date != now.date_naive())
            {
                self.replan();
            }
            let Some((session, item)) = self.next_item() else {
                self.end_session();
                self.publish_status();
                let midnight = self.next_midnight(now);
                self.idle_until(midnight);
                continue;
            };
            if self.on_air.as_ref().is_some_and(|a| *a != session) {
                self.end_session();
            }
            if self.on_air.is_none() {
                let lead = self.warmup() + LEAD;
                if item.start - lead > now {
                    self.publish_status();
                    self.idle_until(item.start - lead);
                    continue;
                }
                self.begin_session(session);
                continue;
            }
            if !self.ensure_output() {
                continue;
            }
            let chained = !item.fixed
                && self
                    .chain
                    .is_some_and(|(planned_end, _)| planned_end == item.start);
            if !chained && !self.wait_for(item.start) {
                continue;
            }
            self.play(&item);
        }
        self.end_session();
        self.publish_status();
        self.amp.finish();
        tracing::info!("playout stopped");
    }

    // --- planning ---------------------------------------------------------------------

    fn replan(&mut self) {
        let now = self.now();
        let date = now.date_naive();
        let mut history = asrun::history(&self.config.station.state_dir, date, self.tz);
        self.done_today.clear();
        for p in history.today.iter().filter(|p| p.kind == Kind::Bulletin) {
            if let Some(c) = &p.campaign {
                *self.done_today.entry(c.clone()).or_default() += 1;
            }
        }
        // An item an emergency broke into plays again from its start, now: the planner
        // sees it as played, so it neither places it twice nor lets it collide.
        let resume = self
            .resume_item
            .take()
            .filter(|(_, session)| now < session.end && session.start.date_naive() == date);
        if let Some((item, _)) = &resume {
            history.today.push(crate::core::planner::Played {
                id: item.id.clone(),
                kind: item.kind,
                campaign: item.campaign.clone(),
                start: now,
                end: now + item.duration(),
            });
        }
        let mut plan = plan_day(&PlanInput {
            station_id: &self.config.station.station_id,
            schedule: &self.config.schedule,
            catalog: &self.catalog,
            date,
            history: &history,
            not_before: Some(now),
        });
        if let Some((mut item, session)) = resume {
            let len = item.duration();
            let home = plan
                .sessions
                .iter_mut()
                .find(|s| s.name == session.name && s.start == session.start);
            match home {
                Some(s) => {
                    tracing::info!(
                        "{} {} restarts after the emergency",
                        item.kind.as_str(),
                        item.id
                    );
                    item.start = now;
                    item.end = now + len;
                    item.fixed = false;
                    s.items.insert(0, item);
                }
                None => tracing::info!(
                    "{} {}: no time left in its session to restart it",
                    item.kind.as_str(),
                    item.id
                ),
            }
        }
        for w in &plan.warnings {
            tracing::warn!("plan {date}: {w}");
        }
        if let Some(behind) = self.trust.clock_behind(self.clock.now()) {
            tracing::error!(
                "THE CLOCK IS WRONG: {} behind the newest trusted time; expiry of pushes is judged by the trusted time",
                crate::core::units::format_duration(behind)
            );
        }
        let items: usize = plan.sessions.iter().map(|s| s.items.len()).sum();
        tracing::info!(
            "planned {date}: {} sessions, {items} items ahead",
            plan.sessions.len()
        );
        self.plan = Some(plan);
        self.cursor = None;
        self.publish_status();
    }

    fn apply(&mut self, config: Config) {
        tracing::info!("configuration reloaded");
        let output_changed = config.station.audio.output != self.config.station.audio.output;
        self.catalog = Catalog::load(&config);
        self.tz = config.schedule.timezone;
        if let Some(shared) = &self.shared {
            *shared.config.write().unwrap_or_else(|p| p.into_inner()) = config.clone();
        }
        self.config = config;
        // The reload measured new files into the cache on disk.
        self.media = MediaCache::open(&self.config.station.state_dir)
            .for_station(&self.config.station.audio);
        if output_changed {
            self.end_session();
            self.sink = None;
        }
        self.replan();
    }

    /// The next item still to play, with its session. Items missed by more than the grace
    /// window are logged as skipped.
    fn next_item(&mut self) -> Option<(OnAir, PlanItem)> {
        let now = self.now();
        let plan = self.plan.as_ref()?;
        let mut skipped = Vec::new();
        let mut found = None;
        'sessions: for s in &plan.sessions {
            for item in &s.items {
                if self.cursor.is_some_and(|c| item.start < c) {
                    continue;
                }
                let over = item.end <= now || s.end <= now;
                let too_late = item.kind != Kind::Relay && now - item.start > GRACE;
                if over || too_late {
                    if item.kind != Kind::Fill {
                        skipped.push(item.clone());
                    }
                    continue;
                }
                found = Some((
                    OnAir {
                        name: s.name.clone(),
                        start: s.start,
                        end: s.end,
                    },
                    item.clone(),
                ));
                break 'sessions;
            }
        }
        for item in skipped {
            self.asrun.log(
                &Record::new(now, Event::Skipped)
                    .item(&item)
                    .scheduled(item.start)
                    .reason("its time passed while the station could not play"),
            );
            self.cursor = Some(item.end);
        }
        found
    }

    fn session_running_now(&self) -> bool {
        let now = self.now();
        self.plan
            .as_ref()
            .is_some_and(|p| p.sessions.iter().any(|s| s.start <= now && now < s.end))
    }

    fn next_midnight(&self, now: DateTime<Tz>) -> DateTime<Tz> {
        now.date_naive()
            .succ_opt()
            .and_then(|d| local(self.tz, d, NaiveTime::MIN))
            .unwrap_or(now + TimeDelta::hours(1))
    }

    fn warmup(&self) -> TimeDelta {
        self.config
            .station
            .amplifier
            .as_ref()
            .map_or(TimeDelta::zero(), |a| a.warmup)
    }

    // --- sessions and the output -------------------------------------------------------

    fn begin_session(&mut self, session: OnAir) {
        tracing::info!("session {} on air", session.name);
        self.on_air = Some(session);
        let was_on = self.amp.is_on();
        self.amp.switch(true);
        if !self.ensure_output() {
            return;
        }
        if !was_on {
            let warm_until = self.now() + self.warmup();
            self.wait_for(warm_until);
        }
        self.publish_status();
    }

    fn end_session(&mut self) {
        self.chain = None;
        let Some(session) = self.on_air.take() else {
            return;
        };
        if let Some(sink) = &mut self.sink {
            if let Err(e) = sink.drain() {
                tracing::warn!("{e}");
            }
            sink.stop();
        }
        self.amp.switch(false);
        tracing::info!("session {} off air", session.name);
    }

    /// Opens the output if needed. True when it is ready; false when the caller must look
    /// at its plan again (the output failed and a retry is scheduled, or it came back and
    /// the rest of the day was re-planned).
    fn ensure_output(&mut self) -> bool {
        let now = self.clock.now();
        if let Some((due, _)) = self.output_retry
            && now < due
        {
            self.idle_until(due.with_timezone(&self.tz));
            return false;
        }
        let opened = match &mut self.sink {
            Some(sink) => sink.start(),
            None => output::open(&self.config.station.audio.output, self.clock.clone()).and_then(
                |mut sink| {
                    let started = sink.start();
                    self.sink = Some(sink);
                    started
                },
            ),
        };
        match opened {
            Ok(()) => {
                if self.output_ok {
                    return true;
                }
                tracing::info!("sound output is back");
                self.output_ok = true;
                self.output_retry = None;
                // Time moved on while the output was down: plan the rest of the day anew,
                // and let the caller pick its next item from the new plan.
                self.replan();
                false
            }
            Err(e) => self.output_failed(&e.to_string()),
        }
    }

    fn output_failed(&mut self, why: &str) -> bool {
        let backoff = self.output_retry.map_or(TimeDelta::seconds(1), |(_, b)| {
            (b * 2).min(OUTPUT_RETRY_MAX)
        });
        tracing::error!("{why}; retrying in {}s", backoff.num_seconds());
        self.output_ok = false;
        self.chain = None;
        if let Some(sink) = &mut self.sink {
            sink.stop();
        }
        self.output_retry = Some((self.clock.now() + backoff, backoff));
        self.publish_status();
        false
    }

    fn rate(&self) -> u32 {
        self.sink.as_ref().map_or(output::FILE_RATE, |s| s.rate())
    }

    fn latency(&self) -> TimeDelta {
        self.sink.as_ref().map_or(TimeDelta::zero(), |s| {
            TimeDelta::from_std(s.latency()).unwrap_or_default()
        })
    }

    /// When the next frame written will be heard.
    fn audible_now(&self) -> DateTime<Tz> {
        self.now() + self.latency()
    }

    /// Writes silence until a frame written next would be heard at `t`. False if a
    /// command or a failure needs the main loop's attention first.
    fn wait_for(&mut self, t: DateTime<Tz>) -> bool {
        loop {
            (self.hooks.alive)();
            self.poll_commands();
            if self.stopping || self.pending.is_some() || self.emergency_waiting() {
                return false;
            }
            let remaining = t - self.audible_now();
            if remaining <= TimeDelta::zero() {
                return true;
            }
            self.chain = None;
            if !self.output_ok || self.sink.is_none() {
                self.idle_until(t);
                continue;
            }
            let block = (self.rate() / 50) as i64;
            let frames = (remaining.num_microseconds().unwrap_or(i64::MAX) * i64::from(self.rate())
                / 1_000_000)
                .clamp(1, block) as usize;
            let silence = vec![0.0f32; frames * CHANNELS];
            let written = self.sink.as_mut().map(|s| s.write(&silence));
            if let Some(Err(e)) = written {
                self.output_failed(&e.to_string());
                return false;
            }
        }
    }

    /// Sleeps until `t` with the output closed, waking for commands and the watchdog.
    fn idle_until(&mut self, t: DateTime<Tz>) {
        loop {
            (self.hooks.alive)();
            let left = t.with_timezone(&Utc) - self.clock.now();
            if left <= TimeDelta::zero() {
                return;
            }
            if self.clock.is_manual() {
                match self.commands.try_recv() {
                    Ok(c) => return self.handle(c),
                    Err(TryRecvError::Disconnected) => return self.handle(Command::Shutdown),
                    Err(TryRecvError::Empty) => {}
                }
                self.clock.sleep_until(t.with_timezone(&Utc));
                return;
            }
            match self.commands.recv_timeout(std_duration(left).min(TICK)) {
                Ok(c) => return self.handle(c),
                Err(RecvTimeoutError::Disconnected) => return self.handle(Command::Shutdown),
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
    }

    fn poll_commands(&mut self) {
        loop {
            match self.commands.try_recv() {
                Ok(c) => self.handle(c),
                Err(TryRecvError::Empty) => return,
                Err(TryRecvError::Disconnected) => return self.handle(Command::Shutdown),
            }
        }
    }

    fn handle(&mut self, command: Command) {
        match command {
            Command::Reload(config) => self.pending = Some(config),
            Command::Shutdown => self.stopping = true,
            Command::CatalogChanged => {
                tracing::info!("catalog changed: re-planning");
                self.catalog = Catalog::load(&self.config);
                let revoked = crate::remote::feed::sync::revoked(&self.config.station.state_dir)
                    .unwrap_or_default();
                if let Some(id) = self.playing_bulletin()
                    && revoked.contains(&id)
                {
                    self.stop_current = Some("revoked by the province".into());
                    self.emergency_cancelled |= self.emergency_on_air.as_ref() == Some(&id);
                }
                self.queue_emergencies();
                self.replan_wanted = true;
            }
            Command::Pushed(priority) => {
                self.handle(Command::CatalogChanged);
                if priority >= crate::core::catalog::Priority::Priority
                    && self
                        .now_playing
                        .as_ref()
                        .is_some_and(|i| i.kind == Kind::Fill)
                {
                    self.stop_current = Some("making room for a pushed bulletin".into());
                }
            }
            Command::Cancel(id) => {
                tracing::info!("{id} cancelled by the province");
                self.catalog = Catalog::load(&self.config);
                self.emergencies.retain(|e| e.bulletin.id != id);
                if self.emergency_on_air.as_ref() == Some(&id) {
                    self.emergency_cancelled = true;
                    crate::remote::push::mark_emergency_done(&self.config.station.state_dir, &id);
                }
                if self.playing_bulletin().as_ref() == Some(&id) {
                    self.stop_current = Some("cancelled by the province".into());
                }
                self.replan_wanted = true;
            }
        }
    }

    fn playing_bulletin(&self) -> Option<String> {
        self.now_playing
            .as_ref()
            .filter(|i| i.kind == Kind::Bulletin)
            .map(|i| i.id.clone())
    }

    // --- playing -----------------------------------------------------------------------

    fn play(&mut self, item: &PlanItem) {
        match item.kind {
            Kind::Relay => self.play_relay(item),
            _ => self.play_file(item),
        };
        self.cursor = Some(item.end);
    }

    fn play_file(&mut self, item: &PlanItem) -> Outcome {
        let path = std::path::Path::new(&item.path);
        match self.open_measured(path) {
            Ok(mut stream) => {
                let limit = self.limit_for(item);
                let outcome = self.stream_out(item, &mut stream, limit);
                // A file that broke off (a decoder crash, a damaged disk) leaves its slot
                // to filler, not to silence.
                let early = item.end - self.audible_now() > EARLY_END;
                if matches!(outcome, Outcome::Ended)
                    && !self.in_emergency
                    && (stream.failure().is_some() || early)
                {
                    tracing::warn!(
                        "{} {} ended {}s early; filler takes its slot",
                        item.kind.as_str(),
                        item.id,
                        (item.end - self.audible_now()).num_seconds()
                    );
                    return self.fallback(item.end);
                }
                outcome
            }
            Err(why) => {
                tracing::error!("{} cannot play: {why}", item.path);
                self.asrun.log(
                    &Record::new(self.audible_now(), Event::Failed)
                        .item(item)
                        .scheduled(item.start)
                        .reason(why),
                );
                self.fallback(item.end)
            }
        }
    }

    /// Opens a file as measured at ingest: its silence trimmed, brought to
    /// `loudness_target` with its peaks limited (as it is without a target or a measurement).
    fn open_measured(&self, path: &std::path::Path) -> Result<AudioStream, String> {
        let info = self.media.cached(path);
        let gapless = info.is_none_or(|i| i.gapless_trusted);
        let mut stream = AudioStream::open_file(path, self.rate(), gapless)?;
        let audio = &self.config.station.audio;
        if let Some(info) = info {
            let span = info.span(audio.trim_silence_below);
            stream.trim(span.skip, span.len);
            if let Some(target) = audio.loudness_target {
                stream.gain(info.gain_to(target), crate::audio::ingest::PEAK_CEILING_DB);
            }
        }
        Ok(stream)
    }

    fn play_relay(&mut self, item: &PlanItem) -> Outcome {
        let started = self.audible_now();
        let opened = crate::audio::relay::open(&item.path, self.rate());
        let outcome = match opened {
            Ok(mut stream) => self.stream_out(item, &mut stream, Some(item.end)),
            Err(why) => {
                tracing::warn!("relay {} failed: {why}", item.path);
                self.asrun.log(
                    &Record::new(self.audible_now(), Event::Failed)
                        .item(item)
                        .scheduled(item.start)
                        .reason(format!("relay failed: {why}")),
                );
                return self.fallback(item.end);
            }
        };
        // A stream that dies early leaves its slot to filler, not to silence.
        if matches!(outcome, Outcome::Ended)
            && item.end - self.audible_now() > TimeDelta::seconds(1)
        {
            let lasted = self.audible_now() - started;
            tracing::warn!("relay {} ended after {}s", item.path, lasted.num_seconds());
            return self.fallback(item.end);
        }
        outcome
    }

    /// Filler until `until` in place of something that could not play; silence without [fill].
    fn fallback(&mut self, until: DateTime<Tz>) -> Outcome {
        let Some(fill) = self.config.schedule.fill.clone() else {
            self.wait_for(until);
            return Outcome::Ended;
        };
        let mut failures = 0;
        while until - self.audible_now() >= TimeDelta::seconds(1) && failures < fill.files.len() {
            let f = &fill.files[self.fill_next % fill.files.len()];
            self.fill_next += 1;
            let start = self.audible_now();
            let item =
                PlanItem::from_media(Kind::Fill, f, None, start, (start + f.duration).min(until));
            match self.open_measured(&f.path) {
                Ok(mut stream) => {
                    if let Outcome::Stopped = self.stream_out(&item, &mut stream, Some(item.end)) {
                        return Outcome::Stopped;
                    }
                }
                Err(why) => {
                    failures += 1;
                    self.asrun
                        .log(&Record::new(start, Event::Failed).item(&item).reason(why));
                }
            }
        }
        self.wait_for(until);
        Outcome::Ended
    }

    /// Where an item must stop at the latest: its own end if it is cut (fill, relay), else
    /// the next fixed item or the session's end.
    fn limit_for(&self, item: &PlanItem) -> Option<DateTime<Tz>> {
        if matches!(item.kind, Kind::Fill | Kind::Relay) {
            return Some(item.end);
        }
        let plan = self.plan.as_ref()?;
        let session = plan
            .sessions
            .iter()
            .find(|s| s.items.iter().any(|i| i == item))?;
        let next_fixed = session
            .items
            .iter()
            .filter(|i| i.fixed && i.start > item.start)
            .map(|i| i.start)
            .min();
        Some(next_fixed.unwrap_or(session.end).min(session.end))
    }

    /// Streams one source to the output, logging its start and end in the as-run log.
    fn stream_out(
        &mut self,
        item: &PlanItem,
        source: &mut AudioStream,
        limit: Option<DateTime<Tz>>,
    ) -> Outcome {
        let rate = self.rate();
        let block = (rate / 50) as usize;
        let mut buf = vec![0.0f32; block * CHANNELS];
        let volume = self.config.station.audio.volume as f32;
        let mut fade_frames = frames_in(CUT_FADE, rate).max(1);
        let mut written: u64 = 0;
        let mut limit_frames: Option<u64> = None;
        let mut heard = self.audible_now();
        // Why the item is being stopped early (it fades out, then is logged interrupted).
        let mut cut: Option<String> = None;
        self.stop_current = None;
        loop {
            (self.hooks.alive)();
            self.poll_commands();
            if self.stopping {
                self.asrun.log(
                    &Record::new(self.audible_now(), Event::Interrupted)
                        .item(item)
                        .reason("the station is shutting down"),
                );
                self.now_playing = None;
                return Outcome::Stopped;
            }
            if cut.is_none() {
                let preempted = self.emergency_waiting();
                let why = self
                    .stop_current
                    .take()
                    .or_else(|| preempted.then(|| "an emergency broadcast breaks in".to_string()));
                if let Some(why) = why {
                    if preempted && !matches!(item.kind, Kind::Fill | Kind::Relay) {
                        self.resume_item = self.on_air.clone().map(|s| (item.clone(), s));
                    }
                    if written == 0 {
                        tracing::info!("{} {}: not started, {why}", item.kind.as_str(), item.id);
                        return Outcome::Stopped;
                    }
                    // Fade out quickly (no click), then stop.
                    fade_frames = frames_in(STOP_FADE, rate).max(1);
                    let until = written + fade_frames;
                    limit_frames = Some(limit_frames.map_or(until, |l| l.min(until)));
                    cut = Some(why);
                }
            }
            let mut want = block;
            if let Some(l) = limit_frames {
                want = want.min(l.saturating_sub(written) as usize);
                if want == 0 {
                    break;
                }
            }
            let n = source.read(&mut buf[..want * CHANNELS]);
            if n == 0 {
                break;
            }
            if written == 0 {
                heard = match self.chain {
                    Some((_, chain_end)) => chain_end,
                    None => self.audible_now(),
                };
                limit_frames = limit.map(|l| frames_in(l - heard, rate));
                self.asrun.log(
                    &Record::new(heard, Event::Start)
                        .item(item)
                        .scheduled(item.start),
                );
                self.now_playing = Some(item.clone());
                self.publish_status();
                if limit_frames == Some(0) {
                    break;
                }
            }
            for (i, frame) in buf[..n * CHANNELS].chunks_mut(CHANNELS).enumerate() {
                let mut gain = volume;
                if let Some(l) = limit_frames {
                    let left = l.saturating_sub(written + i as u64);
                    if left < fade_frames {
                        gain *= left as f32 / fade_frames as f32;
                    }
                }
                for s in frame {
                    *s *= gain;
                }
            }
            let result = match self.sink.as_mut() {
                Some(sink) => sink.write(&buf[..n * CHANNELS]),
                None => Err(output::OutputError::Unavailable("no output".into())),
            };
            if let Err(e) = result {
                self.asrun.log(
                    &Record::new(self.now(), Event::Interrupted)
                        .item(item)
                        .reason(e.to_string()),
                );
                self.now_playing = None;
                self.output_failed(&e.to_string());
                return Outcome::Stopped;
            }
            written += n as u64;
        }
        if written == 0 {
            self.chain = None;
            self.asrun.log(
                &Record::new(self.audible_now(), Event::Failed)
                    .item(item)
                    .scheduled(item.start)
                    .reason("no audio could be decoded"),
            );
            self.now_playing = None;
            return Outcome::Ended;
        }
        let heard_end = heard + span_of(written, rate);
        if cut.is_none()
            && let Some(why) = source.failure()
        {
            // Not the operator's doing: the caller fills the rest of the slot.
            tracing::warn!("{} {}: decoding failed: {why}", item.kind.as_str(), item.id);
            self.asrun.log(
                &Record::new(heard_end, Event::Interrupted)
                    .item(item)
                    .reason(format!("decoding failed: {why}")),
            );
            self.now_playing = None;
            self.chain = None;
            return Outcome::Ended;
        }
        if let Some(why) = cut {
            tracing::warn!("{} {}: stopped, {why}", item.kind.as_str(), item.id);
            self.asrun.log(
                &Record::new(heard_end, Event::Interrupted)
                    .item(item)
                    .reason(why),
            );
            self.now_playing = None;
            self.chain = None;
            return Outcome::Stopped;
        }
        self.chain = Some((item.end, heard_end));
        self.asrun
            .log(&Record::new(heard_end, Event::End).item(item));
        if item.source == crate::core::catalog::Source::Push
            && item.kind == Kind::Bulletin
            && !self.in_emergency
        {
            crate::remote::push::mark_aired(&self.config.station.state_dir, &item.id);
        }
        if item.kind == Kind::Bulletin
            && let Some(c) = &item.campaign
        {
            *self.done_today.entry(c.clone()).or_default() += 1;
        }
        self.now_playing = None;
        Outcome::Ended
    }

    // --- restart and status ----------------------------------------------------------

    /// After a crash: what was playing is recorded as interrupted.
    fn recover(&mut self) {
        let now = self.now();
        for day in [now.date_naive().pred_opt(), Some(now.date_naive())]
            .into_iter()
            .flatten()
        {
            let records = asrun::read_day(&self.config.station.state_dir, day, self.tz);
            for item in asrun::unfinished(&records) {
                tracing::warn!(
                    "{} {} was cut off by a restart",
                    item.kind.as_str(),
                    item.id
                );
                let ts = if day == now.date_naive() {
                    now
                } else {
                    item.end
                };
                self.asrun.log(
                    &Record::new(ts, Event::Interrupted)
                        .item(&item)
                        .reason("loaxa stopped while it played (crash or power cut)"),
                );
            }
        }
    }

    fn feed_summary(&self) -> Option<status::FeedSummary> {
        let url = self.config.station.feed.url.clone()?;
        let (last_success, last_error) = crate::metrics::feed_seen();
        Some(status::FeedSummary {
            url,
            sequence: self.catalog.feed_sequence,
            bulletins: self
                .catalog
                .bulletins
                .iter()
                .chain(&self.catalog.emergencies)
                .filter(|b| b.source == crate::core::catalog::Source::Feed)
                .count(),
            last_success,
            last_error,
        })
    }

    /// What keeps the station from taking in anything new, or makes its clock suspect.
    fn problems(&self) -> Vec<String> {
        let mut out = self.catalog.problems.clone();
        out.extend(self.trust.problem().map(str::to_string));
        if let Some(behind) = self.trust.clock_behind(self.clock.now()) {
            out.push(format!(
                "the clock is {} behind the newest trusted time ({}): expiry is judged by the trusted time until the clock is right",
                crate::core::units::format_duration(behind),
                self.trust.marks().trusted_time.map_or(String::new(), |t| t.to_rfc3339())
            ));
        }
        out
    }

    fn publish_status(&self) {
        let Some(plan) = &self.plan else { return };
        let next = plan
            .sessions
            .iter()
            .flat_map(|s| &s.items)
            .filter(|i| {
                self.cursor.is_none_or(|c| i.start >= c) && Some(*i) != self.now_playing.as_ref()
            })
            .take(5)
            .cloned()
            .collect();
        let ahead = |campaign: &str| {
            plan.sessions
                .iter()
                .flat_map(|s| &s.items)
                .filter(|i| {
                    i.campaign.as_deref() == Some(campaign)
                        && self.cursor.is_none_or(|c| i.start >= c)
                })
                .count() as u32
        };
        let quotas = plan
            .quotas
            .iter()
            .map(|q| crate::core::planner::Quota {
                done: self.done_today.get(&q.campaign).copied().unwrap_or(0),
                planned: ahead(&q.campaign),
                ..q.clone()
            })
            .collect();
        let status = Status {
            updated: self.now(),
            pid: std::process::id(),
            station_id: self.config.station.station_id.clone(),
            timezone: self.tz.name().to_string(),
            plan_date: plan.date,
            session: self.on_air.as_ref().map(|s| s.name.clone()),
            emergency: self.emergency_on_air.clone(),
            emergencies_waiting: self.emergencies.len(),
            amplifier_on: self.amp.is_on(),
            output: self.config.station.audio.output.to_string(),
            output_ok: self.output_ok,
            now_playing: self.now_playing.clone(),
            feed: self.feed_summary(),
            next,
            quotas,
            warnings: plan.warnings.clone(),
            problems: self.problems(),
        };
        status::write(&self.config.station.state_dir, &status);
        if let Some(shared) = &self.shared {
            *shared.status.write().unwrap_or_else(|p| p.into_inner()) = Some(status);
        }
    }
}

/// Whole frames in a span of time, rounded to the nearest.
fn frames_in(span: TimeDelta, rate: u32) -> u64 {
    let us = span.num_microseconds().unwrap_or(0).max(0) as u64;
    (us * u64::from(rate) + 500_000) / 1_000_000
}

/// How long `frames` last, to the nearest microsecond.
fn span_of(frames: u64, rate: u32) -> TimeDelta {
    TimeDelta::microseconds(((frames * 1_000_000 + u64::from(rate) / 2) / u64::from(rate)) as i64)
}
