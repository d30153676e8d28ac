//! The clock steps under the engine (SPEC §12): forward 2 h, back 1 h, to 2000-01-01 and
//! back, a boot with a dead CMOS battery. Driven by `sim` as the daemon's player would.

use chrono::{TimeDelta, TimeZone};

use super::sim::Sim;
use super::tests::{TZ, at, catalog, emergency, flexible, records, setup_until, sim};
use super::*;
use crate::asrun::{Event as Logged, completed_plays};

/// What the driver reads from the as-run log for the day the clock shows.
fn history_of(s: &Sim, date: NaiveDate) -> History {
    let today: Vec<Record> = s
        .records
        .iter()
        .filter(|r| r.ts.date_naive() == date)
        .cloned()
        .collect();
    History {
        today: completed_plays(&today),
        earlier_counts: Default::default(),
    }
}

fn jump(s: &mut Sim, by: TimeDelta) {
    s.jump_clock(by);
    let history = history_of(s, s.now.date_naive());
    s.send(Event::ClockJumped {
        by,
        history: Box::new(history),
    });
}

/// No item (by plan id and planned start) heard twice, and the campaign's plays within
/// its quota.
fn assert_no_replay(s: &Sim) {
    let mut seen = std::collections::HashSet::new();
    for h in &s.heard {
        if h.item.kind == Kind::Fill {
            continue;
        }
        assert!(
            seen.insert((h.item.id.clone(), h.item.start)),
            "{} planned at {} was heard twice",
            h.item.id,
            h.item.start
        );
    }
    let plays = s
        .heard
        .iter()
        .filter(|h| h.item.campaign.as_deref() == Some("c"))
        .count();
    assert!(plays <= 2, "{plays} plays of a campaign of 2 a day");
}

fn jumps(s: &Sim) -> Vec<&Record> {
    records(s, Logged::ClockJump)
}

#[test]
fn a_clock_that_jumps_forward_two_hours_skips_what_was_due_and_plays_nothing_late() {
    let mut s = sim(
        setup_until(vec![flexible("news.mp3", 30)], "06:30"),
        at(5, 0, 0),
    );
    s.run_until(at(5, 31, 0));
    let heard_before = s.heard.len();
    assert!(heard_before >= 1);
    jump(&mut s, TimeDelta::hours(2));
    s.run_until(at(8, 0, 0));
    assert!(s.violations.is_empty(), "{:?}", s.violations);
    let j = jumps(&s);
    assert_eq!(j.len(), 1);
    assert!(
        j[0].reason
            .as_deref()
            .is_some_and(|w| w.contains("forward 2h"))
    );
    // Nothing started after the jump: the session's time had passed.
    for h in &s.heard[heard_before..] {
        assert!(
            h.from < at(7, 31, 0),
            "{} started at {} after the jump",
            h.item.id,
            h.from
        );
    }
    assert!(!s.amplifier());
    assert_no_replay(&s);
}

#[test]
fn a_clock_that_goes_back_an_hour_holds_until_it_has_caught_up() {
    let mut s = sim(
        setup_until(vec![flexible("news.mp3", 30)], "06:30"),
        at(5, 0, 0),
    );
    s.run_until(at(5, 45, 0));
    let switches = s.amp_switches.len();
    let before = s.heard.len();
    jump(&mut s, TimeDelta::hours(-1));
    s.run_until(at(4, 50, 0));
    assert!(s.violations.is_empty(), "{:?}", s.violations);
    // Held: the amplifier went off at once, the jump is recorded, status says so.
    assert!(!s.amplifier());
    assert_eq!(s.amp_switches.get(switches).map(|a| a.1), Some(false));
    assert_eq!(jumps(&s).len(), 1);
    assert!(
        jumps(&s)[0]
            .reason
            .as_deref()
            .is_some_and(|w| w.contains("went back"))
    );
    assert!(s.engine.status().clock_held.is_some());
    // Nothing heard while held, once what played was faded out.
    let faded = at(4, 45, 0) + STOP_FADE;
    let after: Vec<_> = s.heard[before..].iter().filter(|h| h.to > faded).collect();
    assert!(after.is_empty(), "{after:?}");
    // Caught up: the session goes on from where the clock had been, replaying nothing.
    s.run_until(at(6, 40, 0));
    assert!(s.engine.status().clock_held.is_none());
    assert!(
        s.heard.iter().any(|h| h.from > at(5, 46, 0)),
        "the session resumed"
    );
    assert!(!s.amplifier());
    assert_no_replay(&s);
}

#[test]
fn a_clock_set_to_2000_and_back_holds_then_resumes_with_the_days_plays_counted() {
    let mut s = sim(
        setup_until(vec![flexible("news.mp3", 30)], "06:30"),
        at(5, 0, 0),
    );
    s.run_until(at(5, 40, 0));
    let y2k = TZ.with_ymd_and_hms(2000, 1, 1, 5, 40, 0).unwrap();
    let by = y2k - s.now;
    jump(&mut s, by);
    s.run_until(y2k + TimeDelta::minutes(30));
    assert!(s.violations.is_empty(), "{:?}", s.violations);
    assert!(!s.amplifier());
    assert!(s.heard.iter().all(|h| h.from < y2k || h.from > at(5, 0, 0)));
    // An emergency while held still plays (in 2000 as the clock says).
    s.send(Event::Catalog {
        catalog: Box::new(catalog()),
        revoked: Vec::new(),
        due: vec![emergency("bao", s.now)],
        pushed: Some(Priority::Emergency),
    });
    s.run_until(y2k + TimeDelta::minutes(40));
    assert_eq!(s.emergencies_done, ["bao"]);
    assert!(!s.amplifier());
    // Back to the right time: the day's plays come from the as-run log, none again.
    let back = at(5, 50, 0) - s.now;
    jump(&mut s, back);
    s.run_until(at(7, 0, 0));
    assert!(s.engine.status().clock_held.is_none());
    assert!(
        s.heard.iter().any(|h| h.from > at(5, 50, 0)),
        "the session resumed"
    );
    assert!(!s.amplifier());
    assert_no_replay(&s);
}

#[test]
fn a_pc_that_boots_in_2000_plays_nothing_until_its_clock_is_set() {
    let y2k = TZ.with_ymd_and_hms(2000, 1, 1, 5, 0, 0).unwrap();
    let setup = setup_until(vec![flexible("news.mp3", 30)], "06:30");
    let floor = clock::clock_floor().with_timezone(&TZ);
    let engine =
        Engine::new(setup, catalog(), History::default(), y2k.date_naive()).with_clock_floor(floor);
    let mut s = Sim::new(engine, y2k);
    s.start(&[], &[], Vec::new());
    s.run_until(y2k + TimeDelta::hours(2));
    assert!(s.heard.is_empty());
    assert!(s.amp_switches.iter().all(|a| !a.1));
    assert!(
        jumps(&s)
            .first()
            .and_then(|r| r.reason.as_deref())
            .is_some_and(|w| w.contains("before loaxa existed"))
    );
    // NTP sets the clock: the day is planned and plays.
    let now = TZ.with_ymd_and_hms(2026, 12, 3, 5, 25, 0).unwrap();
    let by = now - s.now;
    jump(&mut s, by);
    s.run_until(now + TimeDelta::minutes(20));
    assert!(s.engine.status().clock_held.is_none());
    assert!(!s.heard.is_empty());
}
