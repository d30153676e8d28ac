//! A driver for the engine in simulated time, for tests: it plays items as a perfect
//! sound card would (each for the length of its file, or what the test says), switches a
//! pretend amplifier, and keeps what a test looks at — the as-run records, what was
//! heard and when, the amplifier's switches — checking as it goes that no two sounds
//! overlap and that nothing sounds with the amplifier off or the output closed.

use std::collections::{HashMap, HashSet, VecDeque};

use chrono::{DateTime, TimeDelta};
use chrono_tz::Tz;

use super::{Action, Ending, Engine, Event, Level, Now, Play};
use crate::asrun::Record;
use crate::emergency::Emergency;
use crate::plan::PlanItem;

/// One sound, as heard.
#[derive(Debug, Clone, PartialEq)]
pub struct Heard {
    pub item: PlanItem,
    pub from: DateTime<Tz>,
    pub to: DateTime<Tz>,
}

#[derive(Debug, Clone)]
struct Playing {
    play: Play,
    start: DateTime<Tz>,
    end: DateTime<Tz>,
    started: bool,
    how: Ending,
}

pub struct Sim {
    pub engine: Engine,
    /// Simulated time; sound is heard as it is written (no output latency).
    pub now: DateTime<Tz>,
    pub records: Vec<Record>,
    pub heard: Vec<Heard>,
    /// The relay as switched: (when, on).
    pub amp_switches: Vec<(DateTime<Tz>, bool)>,
    pub logs: Vec<(Level, String)>,
    pub aired: Vec<String>,
    pub emergencies_done: Vec<String>,
    /// Files whose real length differs from the plan (path → length).
    pub lengths: HashMap<String, TimeDelta>,
    /// Files that cannot be opened.
    pub failing: HashSet<String>,
    /// Broken invariants, in words (a test asserts this stays empty).
    pub violations: Vec<String>,
    pub exited: bool,
    amp: bool,
    output_open: bool,
    broken_until: Option<DateTime<Tz>>,
    playing: Option<Playing>,
    /// When the last frame written is heard, if nothing (silence) was written after it.
    last_end: Option<DateTime<Tz>>,
    queue: VecDeque<Event>,
}

impl Sim {
    pub fn new(engine: Engine, now: DateTime<Tz>) -> Sim {
        Sim {
            engine,
            now,
            records: Vec::new(),
            heard: Vec::new(),
            amp_switches: Vec::new(),
            logs: Vec::new(),
            aired: Vec::new(),
            emergencies_done: Vec::new(),
            lengths: HashMap::new(),
            failing: HashSet::new(),
            violations: Vec::new(),
            exited: false,
            amp: false,
            output_open: false,
            broken_until: None,
            playing: None,
            last_end: None,
            queue: VecDeque::new(),
        }
    }

    fn stamp(&self) -> Now {
        Now::at(self.now)
    }

    /// Starts the engine (see `Engine::start`).
    pub fn start(&mut self, yesterday: &[Record], today: &[Record], due: Vec<Emergency>) {
        let actions = self.engine.start(self.stamp(), yesterday, today, due);
        self.execute(actions);
        self.drain();
    }

    /// Delivers `event` now.
    /// The wall clock steps by `by`: what plays goes on in real time, so its times on the
    /// wall clock move with it. (The caller then sends `Event::ClockJumped`.)
    pub fn jump_clock(&mut self, by: TimeDelta) {
        self.now += by;
        if let Some(p) = &mut self.playing {
            p.start += by;
            p.end += by;
        }
        self.last_end = self.last_end.map(|t| t + by);
    }

    pub fn send(&mut self, event: Event) {
        self.queue.push_back(event);
        self.drain();
    }

    /// The amplifier as the relay was last switched.
    pub fn amplifier(&self) -> bool {
        self.amp
    }

    /// The output fails now and cannot be opened before `until`.
    pub fn break_output(&mut self, until: DateTime<Tz>) {
        self.broken_until = Some(until);
        let was_open = self.output_open;
        self.output_open = false;
        self.last_end = None;
        if let Some(p) = &mut self.playing {
            p.how = Ending::OutputLost("sound output failed: unplugged".into());
            p.end = self.now.max(p.start);
            if !p.started {
                p.started = true;
                p.start = p.end;
            }
            self.finish();
        } else if was_open {
            self.queue.push_back(Event::OutputFailed {
                reason: "sound output failed: unplugged".into(),
            });
        }
        self.drain();
    }

    /// Runs the simulation until `t`.
    pub fn run_until(&mut self, t: DateTime<Tz>) {
        let mut guard = 0u64;
        while !self.exited {
            guard += 1;
            if guard > 5_000_000 {
                self.violations
                    .push(format!("the engine never rests (at {})", self.now));
                return;
            }
            let next_play = self
                .playing
                .as_ref()
                .map(|p| if p.started { p.end } else { p.start });
            let wake = self.engine.wake_at();
            let next = [next_play, wake].into_iter().flatten().min();
            match next {
                Some(n) if n <= t => {
                    self.now = self.now.max(n);
                    if let Some(p) = &self.playing {
                        if !p.started && p.start <= self.now {
                            self.begin();
                            continue;
                        }
                        if p.started && p.end <= self.now {
                            self.finish();
                            self.drain();
                            continue;
                        }
                    }
                    if wake.is_some_and(|w| w <= self.now) {
                        self.queue.push_back(Event::Tick);
                        self.drain();
                    }
                }
                _ => {
                    self.now = self.now.max(t);
                    return;
                }
            }
        }
    }

    fn begin(&mut self) {
        let Some(p) = &mut self.playing else { return };
        p.started = true;
        let (start, item) = (p.start, p.play.item.clone());
        if !self.amp {
            self.violations.push(format!(
                "{} {} sounds with the amplifier off",
                item.kind.as_str(),
                item.id
            ));
        }
        if !self.output_open {
            self.violations.push(format!(
                "{} {} plays with the output closed",
                item.kind.as_str(),
                item.id
            ));
        }
        if let Some(last) = self.heard.last()
            && start < last.to
        {
            self.violations.push(format!(
                "{} at {start} overlaps {} (until {})",
                item.id, last.item.id, last.to
            ));
        }
        self.queue.push_back(Event::Started { at: start });
        self.drain();
    }

    /// The item playing ends (as set in `how`).
    fn finish(&mut self) {
        let Some(p) = self.playing.take() else { return };
        if p.started && p.end > p.start {
            self.heard.push(Heard {
                item: p.play.item.clone(),
                from: p.start,
                to: p.end,
            });
        }
        self.last_end = match p.how {
            Ending::Finished => Some(p.end),
            _ => None,
        };
        self.queue.push_back(Event::Ended {
            at: p.end,
            how: p.how,
        });
    }

    fn drain(&mut self) {
        while let Some(e) = self.queue.pop_front() {
            if self.exited {
                return;
            }
            let actions = self.engine.handle(self.stamp(), e);
            self.execute(actions);
        }
    }

    fn execute(&mut self, actions: Vec<Action>) {
        for a in actions {
            match a {
                Action::Amplifier(on) => {
                    if self.amp != on {
                        self.amp_switches.push((self.now, on));
                    }
                    self.amp = on;
                    self.queue.push_back(Event::Amplifier { on });
                }
                Action::OpenOutput => {
                    if self.broken_until.is_some_and(|b| self.now < b) {
                        self.queue.push_back(Event::OutputFailed {
                            reason: "sound output unavailable: unplugged".into(),
                        });
                    } else {
                        self.output_open = true;
                        self.queue.push_back(Event::OutputReady);
                    }
                }
                Action::CloseOutput => {
                    self.output_open = false;
                    self.last_end = None;
                }
                Action::Play(play) => self.play(play),
                Action::Stop { fade } => {
                    if let Some(p) = &mut self.playing {
                        p.how = Ending::Stopped;
                        if p.started {
                            p.end = p.end.min(self.now.max(p.start) + fade);
                        } else {
                            p.started = true;
                            p.start = self.now;
                            p.end = self.now;
                            self.finish();
                        }
                    }
                }
                Action::Record(r) => self.records.push(r),
                Action::Aired(id) => self.aired.push(id),
                Action::EmergencyDone(id) => self.emergencies_done.push(id),
                Action::StatusChanged => {}
                Action::Log(level, text) => self.logs.push((level, text)),
                Action::Exit => self.exited = true,
            }
        }
    }

    fn play(&mut self, play: Play) {
        if self.playing.is_some() {
            self.violations
                .push(format!("{} asked for while another plays", play.item.id));
        }
        if self.failing.contains(&play.item.path) {
            self.queue.push_back(Event::Ended {
                at: self.now,
                how: Ending::Failed(format!("cannot open {}", play.item.path)),
            });
            return;
        }
        let earliest = self.now;
        let start = match (play.chain, self.last_end) {
            (true, Some(end)) if end >= earliest => end,
            _ => play.at.max(earliest),
        };
        let length = self
            .lengths
            .get(&play.item.path)
            .copied()
            .unwrap_or_else(|| play.item.duration());
        let mut end = start + length;
        if let Some(limit) = play.limit {
            end = end.min(limit.max(start));
        }
        self.last_end = None;
        self.playing = Some(Playing {
            play,
            start,
            end,
            started: false,
            how: Ending::Finished,
        });
    }
}
