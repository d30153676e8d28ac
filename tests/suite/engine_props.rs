//! The engine's state machine under generated event sequences: random interleavings of
//! waits, emergencies, cancels, priority pushes, reloads, output losses and restarts
//! (kill -9: the engine starts again from its as-run records). Whatever happens, no two
//! sounds overlap, nothing sounds with the amplifier off, no quota play is counted twice,
//! and nothing that finished plays again.

use crate::common;

use std::collections::HashMap;
use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, TimeDelta};
use chrono_tz::Tz;
use common::*;
use loaxa::core::asrun::{Event as Logged, Record, completed_plays};
use loaxa::core::catalog::{Catalog, Priority, Source};
use loaxa::core::emergency::Emergency;
use loaxa::core::engine::sim::{Heard, Sim};
use loaxa::core::engine::{Engine, Event, Mode, Setup};
use loaxa::core::plan::{History, Kind};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Wait(i64),
    Emergency(u32),
    CancelEmergency,
    CancelBulletin,
    PriorityPush,
    Reload,
    OutputLoss(i64),
    Restart,
    /// A clean stop (SIGTERM), then a start.
    Shutdown,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (1i64..900).prop_map(Op::Wait),
        1 => (1u32..=3).prop_map(Op::Emergency),
        1 => Just(Op::CancelEmergency),
        1 => Just(Op::CancelBulletin),
        1 => Just(Op::PriorityPush),
        1 => Just(Op::Reload),
        1 => (1i64..400).prop_map(Op::OutputLoss),
        1 => Just(Op::Restart),
        1 => Just(Op::Shutdown),
    ]
}

fn setup() -> Setup {
    let mut morning = session("Sáng", "daily", "05:30", "05:50");
    morning.items.push(flexible("news.mp3", 90));
    let mut relay = relay_at("05:42", 4);
    relay.title = Some("VOV".into());
    morning.items.push(relay);
    let evening = session("Chiều", "daily", "17:00", "17:15");
    let mut schedule = schedule(vec![morning, evening]);
    schedule.campaigns = vec![campaign(
        "c",
        "2021-10-01",
        "2021-10-31",
        3,
        5,
        Priority::Priority,
    )];
    Setup {
        station_id: "xa".into(),
        schedule,
        warmup: TimeDelta::seconds(2),
        quiet_hours: None,
        start_chime: Some(media("chime-start.wav", 2)),
        end_chime: Some(media("chime-end.wav", 2)),
    }
}

fn base_catalog(cancelled: &[String], pushed: &[String]) -> Catalog {
    let mut c = catalog(
        vec![campaign(
            "c",
            "2021-10-01",
            "2021-10-31",
            3,
            5,
            Priority::Priority,
        )],
        vec![
            bulletin("b1", Some("c"), 40, 0),
            bulletin("b2", Some("c"), 50, 1),
            bulletin("solo", None, 30, 2),
        ],
    );
    for id in pushed {
        let mut b = bulletin(id, None, 20, 10);
        b.priority = Priority::Priority;
        b.source = Source::Push;
        c.bulletins.push(b);
    }
    c.bulletins.retain(|b| !cancelled.contains(&b.id));
    c
}

fn emergency_of(id: &str, repeat: u32, since: DateTime<Tz>) -> Emergency {
    let mut b = bulletin(id, None, 5, 100);
    b.priority = Priority::Emergency;
    b.source = Source::Push;
    b.path = PathBuf::from(format!("/state/{id}.mp3"));
    Emergency {
        bulletin: b,
        repeat,
        since: since.to_utc(),
    }
}

/// Everything that has happened, across restarts.
struct World {
    sim: Sim,
    records: Vec<Record>,
    heard: Vec<Heard>,
    violations: Vec<String>,
    emergencies: Vec<Emergency>,
    done: Vec<String>,
    cancelled: Vec<String>,
    pushed: Vec<String>,
    n: u32,
}

impl World {
    fn new(start: DateTime<Tz>) -> World {
        let engine = Engine::new(
            setup(),
            base_catalog(&[], &[]),
            History::default(),
            start.date_naive(),
        );
        let mut sim = Sim::new(engine, start);
        sim.start(&[], &[], Vec::new());
        World {
            sim,
            records: Vec::new(),
            heard: Vec::new(),
            violations: Vec::new(),
            emergencies: Vec::new(),
            done: Vec::new(),
            cancelled: Vec::new(),
            pushed: Vec::new(),
            n: 0,
        }
    }

    fn catalog(&self) -> Box<Catalog> {
        Box::new(base_catalog(&self.cancelled, &self.pushed))
    }

    fn due(&self) -> Vec<Emergency> {
        let mut done = self.done.clone();
        done.extend(self.sim.emergencies_done.iter().cloned());
        self.emergencies
            .iter()
            .filter(|e| !done.contains(&e.bulletin.id) && !self.cancelled.contains(&e.bulletin.id))
            .cloned()
            .collect()
    }

    /// Takes in what the current engine did (all of it, or what a kill -9 left).
    fn collect(&mut self, killed_at: Option<DateTime<Tz>>) {
        self.records.append(&mut self.sim.records);
        for mut h in self.sim.heard.drain(..) {
            if let Some(k) = killed_at {
                h.to = h.to.min(k);
            }
            self.heard.push(h);
        }
        self.violations.append(&mut self.sim.violations);
        self.done.append(&mut self.sim.emergencies_done);
    }

    fn apply(&mut self, op: &Op) {
        let now = self.sim.now;
        match op {
            Op::Wait(secs) => self.sim.run_until(now + TimeDelta::seconds(*secs)),
            Op::Emergency(repeat) => {
                self.n += 1;
                self.emergencies
                    .push(emergency_of(&format!("e{}", self.n), *repeat, now));
                let (catalog, due) = (self.catalog(), self.due());
                self.sim.send(Event::Catalog {
                    catalog,
                    revoked: Vec::new(),
                    due,
                    pushed: Some(Priority::Emergency),
                });
            }
            Op::CancelEmergency => {
                if let Some(e) = self.emergencies.last() {
                    let id = e.bulletin.id.clone();
                    self.cancelled.push(id.clone());
                    let catalog = self.catalog();
                    self.sim.send(Event::Cancel { id, catalog });
                }
            }
            Op::CancelBulletin => {
                self.cancelled.push("solo".into());
                let catalog = self.catalog();
                self.sim.send(Event::Cancel {
                    id: "solo".into(),
                    catalog,
                });
            }
            Op::PriorityPush => {
                self.n += 1;
                self.pushed.push(format!("p{}", self.n));
                let (catalog, due) = (self.catalog(), self.due());
                self.sim.send(Event::Catalog {
                    catalog,
                    revoked: Vec::new(),
                    due,
                    pushed: Some(Priority::Priority),
                });
            }
            Op::Reload => {
                let catalog = self.catalog();
                self.sim.send(Event::Reload {
                    setup: Box::new(setup()),
                    catalog,
                    output_changed: false,
                });
            }
            Op::OutputLoss(secs) => self.sim.break_output(now + TimeDelta::seconds(*secs)),
            Op::Restart => {
                self.collect(Some(now));
                self.start_again();
            }
            Op::Shutdown => {
                self.sim.send(Event::Shutdown);
                if self.sim.engine.mode() != Mode::Stopping
                    && self.sim.engine.mode() != Mode::Exited
                {
                    self.violations.push(format!(
                        "{}: shutting down, yet in {:?}",
                        now,
                        self.sim.engine.mode()
                    ));
                }
                self.sim.run_until(now + TimeDelta::seconds(30));
                let mode = self.sim.engine.mode();
                if mode != Mode::Exited {
                    self.violations
                        .push(format!("{now}: still {mode:?} 30 s after a shutdown"));
                }
                if self.sim.amplifier() {
                    self.violations
                        .push(format!("{now}: the amplifier is on after a shutdown"));
                }
                self.collect(None);
                self.start_again();
            }
        }
    }

    /// A new engine from what the records say, as the daemon starts after a stop.
    fn start_again(&mut self) {
        let now = self.sim.now;
        let today = now.date_naive();
        let by_day = |d: NaiveDate| -> Vec<Record> {
            self.records
                .iter()
                .filter(|r| r.ts.date_naive() == d)
                .cloned()
                .collect()
        };
        let mut earlier: HashMap<String, u32> = HashMap::new();
        for p in completed_plays(
            &self
                .records
                .iter()
                .filter(|r| r.ts.date_naive() < today)
                .cloned()
                .collect::<Vec<_>>(),
        ) {
            if p.kind == Kind::Bulletin {
                *earlier.entry(p.id).or_default() += 1;
            }
        }
        let history = History {
            today: completed_plays(&by_day(today)),
            earlier_counts: earlier,
        };
        let engine = Engine::new(setup(), *self.catalog(), history, today);
        let mut sim = Sim::new(engine, now);
        let yesterday = today.pred_opt().map(by_day).unwrap_or_default();
        sim.start(&yesterday, &by_day(today), self.due());
        self.sim = sim;
    }
}

fn check(w: &World) -> Result<(), TestCaseError> {
    prop_assert!(w.violations.is_empty(), "{:?}", w.violations);
    // No two sounds overlap, across restarts too.
    let mut heard = w.heard.clone();
    heard.sort_by_key(|h| h.from);
    for pair in heard.windows(2) {
        prop_assert!(
            pair[1].from >= pair[0].to,
            "{} from {} overlaps {} until {}",
            pair[1].item.id,
            pair[1].from,
            pair[0].item.id,
            pair[0].to
        );
    }
    // Quotas: at most plays_per_day finished plays of the campaign a day; the campaign-less
    // bulletin at most once a day (emergencies repeat by design, so they are left out);
    // each session's opening, closing and file at most once.
    let emergency_ids: Vec<&str> = w
        .emergencies
        .iter()
        .map(|e| e.bulletin.id.as_str())
        .collect();
    let mut per_day: HashMap<(NaiveDate, String), u32> = HashMap::new();
    let mut once: HashMap<(NaiveDate, Kind, String, u32), u32> = HashMap::new();
    for p in completed_plays(&w.records) {
        let date = p.start.date_naive();
        if p.kind == Kind::Bulletin {
            match &p.campaign {
                Some(c) => *per_day.entry((date, c.clone())).or_default() += 1,
                None if emergency_ids.contains(&p.id.as_str()) => {}
                None => *once.entry((date, p.kind, p.id.clone(), 0)).or_default() += 1,
            }
        }
        // The emergency chimes belong to each emergency, not to a session.
        if matches!(p.kind, Kind::Opening | Kind::Closing | Kind::File)
            && !p.id.starts_with("emergency-")
        {
            let half = u32::from(chrono::Timelike::hour(&p.start) >= 12);
            *once.entry((date, p.kind, p.id.clone(), half)).or_default() += 1;
        }
    }
    for ((date, c), n) in &per_day {
        prop_assert!(*n <= 3, "campaign {c} played {n} times on {date}");
    }
    for ((date, kind, id, _), n) in &once {
        prop_assert!(*n <= 1, "{kind:?} {id} played {n} times on {date}");
    }
    // Every start is closed (end, interrupted or failed) or was cut by a kill.
    let starts = w
        .records
        .iter()
        .filter(|r| r.event == Logged::Start)
        .count();
    let closes = w
        .records
        .iter()
        .filter(|r| matches!(r.event, Logged::End | Logged::Interrupted))
        .count();
    prop_assert!(closes <= starts + 1, "{closes} closes for {starts} starts");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn any_interleaving_keeps_the_broadcast_sane(ops in proptest::collection::vec(op(), 1..40), start in 0i64..(24 * 3600)) {
        let t0 = at("2021-10-01", "00:00") + TimeDelta::seconds(start);
        let mut w = World::new(t0);
        for o in &ops {
            w.apply(o);
        }
        w.sim.run_until(w.sim.now + TimeDelta::hours(26));
        w.collect(None);
        check(&w)?;
    }
}

#[test]
fn a_whole_day_undisturbed_meets_the_quota() {
    let mut w = World::new(at("2021-10-01", "05:00"));
    w.sim.run_until(at("2021-10-01", "23:00"));
    w.collect(None);
    check(&w).unwrap();
    let plays = completed_plays(&w.records)
        .into_iter()
        .filter(|p| p.campaign.as_deref() == Some("c"))
        .count();
    assert_eq!(plays, 3);
}
