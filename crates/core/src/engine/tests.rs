//! The engine driven by `sim` through whole sessions in simulated time.

use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, TimeZone};
use chrono_tz::Tz;

use super::sim::Sim;
use super::*;
use crate::asrun::Event as Logged;
use crate::catalog::{Bulletin, Campaign, Source};
use crate::schedule::{Fill, ItemContent, Session, SessionItem, SessionTime};

pub(super) const TZ: Tz = chrono_tz::Asia::Ho_Chi_Minh;

pub(super) fn at(h: u32, m: u32, s: u32) -> DateTime<Tz> {
    TZ.with_ymd_and_hms(2021, 10, 1, h, m, s).unwrap()
}

pub(super) fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2021, 10, 1).unwrap()
}

pub(super) fn media(name: &str, secs: i64) -> MediaFile {
    MediaFile {
        path: PathBuf::from("/audio").join(name),
        name: name.into(),
        duration: TimeDelta::seconds(secs),
    }
}

pub(super) fn setup(items: Vec<SessionItem>) -> Setup {
    setup_until(items, "05:35")
}

pub(super) fn setup_until(items: Vec<SessionItem>, end: &str) -> Setup {
    let t = |s: &str| NaiveTime::parse_from_str(s, "%H:%M").unwrap();
    Setup {
        station_id: "xa".into(),
        schedule: Schedule {
            timezone: TZ,
            fill: Some(Fill {
                folder: PathBuf::from("/audio/music"),
                files: vec![media("music/a.mp3", 40), media("music/b.mp3", 50)],
            }),
            sessions: vec![Session {
                name: "Sáng".into(),
                when: SessionTime::Days {
                    days: crate::units::Days::ALL,
                    start: t("05:30"),
                    end: t(end),
                },
                opening: Some(media("opening.mp3", 8)),
                closing: Some(media("closing.mp3", 5)),
                items,
            }],
            campaigns: Vec::new(),
            bulletins: Vec::new(),
            specials: Vec::new(),
        },
        warmup: TimeDelta::seconds(3),
        quiet_hours: None,
        start_chime: Some(media("chime-start.wav", 2)),
        end_chime: Some(media("chime-end.wav", 2)),
    }
}

pub(super) fn flexible(name: &str, secs: i64) -> SessionItem {
    SessionItem {
        at: None,
        title: None,
        content: ItemContent::File(media(name, secs)),
    }
}

pub(super) fn catalog() -> Catalog {
    Catalog {
        campaigns: vec![Campaign {
            id: "c".into(),
            title: "C".into(),
            from: day(),
            until: day(),
            plays_per_day: 1,
            min_gap: TimeDelta::zero(),
            sessions: None,
            priority: Priority::Priority,
            source: Source::Feed,
        }],
        bulletins: vec![bulletin("b1", Some("c"), 20, Priority::Normal)],
        ..Catalog::default()
    }
}

pub(super) fn bulletin(
    id: &str,
    campaign: Option<&str>,
    secs: i64,
    priority: Priority,
) -> Bulletin {
    Bulletin {
        id: id.into(),
        title: format!("Bản tin {id}"),
        campaign: campaign.map(String::from),
        priority,
        source: Source::Push,
        path: PathBuf::from(format!("/state/{id}.mp3")),
        duration: TimeDelta::seconds(secs),
        valid_from: None,
        valid_until: None,
        added: 0,
    }
}

pub(super) fn emergency(id: &str, since: DateTime<Tz>) -> Emergency {
    Emergency {
        bulletin: bulletin(id, None, 4, Priority::Emergency),
        repeat: 3,
        since: since.to_utc(),
    }
}

pub(super) fn sim(setup: Setup, start: DateTime<Tz>) -> Sim {
    let engine = Engine::new(setup, catalog(), History::default(), start.date_naive());
    let mut sim = Sim::new(engine, start);
    sim.start(&[], &[], Vec::new());
    sim
}

pub(super) fn records(sim: &Sim, event: Logged) -> Vec<&Record> {
    sim.records.iter().filter(|r| r.event == event).collect()
}

pub(super) fn order(sim: &Sim) -> Vec<String> {
    sim.heard.iter().map(|h| h.item.id.clone()).collect()
}

#[test]
fn a_session_plays_on_time_back_to_back_with_the_amplifier_around_it() {
    let mut s = sim(setup(vec![flexible("news.mp3", 30)]), at(5, 0, 0));
    s.run_until(at(6, 0, 0));
    assert!(s.violations.is_empty(), "{:?}", s.violations);
    // On before the session (warmup + lead), off after.
    assert_eq!(s.amp_switches.first(), Some(&(at(5, 29, 55), true)));
    assert_eq!(s.amp_switches.last().map(|a| a.1), Some(false));
    let heard = &s.heard;
    assert_eq!(heard[0].item.kind, Kind::Opening);
    assert_eq!(heard[0].from, at(5, 30, 0));
    // The campaign's priority bulletin right after the opening, then the news, then fill.
    assert_eq!(order(&s)[1..3], ["b1", "news.mp3"]);
    for pair in heard.windows(2) {
        if pair[1].item.start == pair[0].item.end {
            assert_eq!(
                pair[1].from, pair[0].to,
                "{} chains after {}",
                pair[1].item.id, pair[0].item.id
            );
        }
    }
    let last = heard.last().unwrap();
    assert_eq!(last.item.kind, Kind::Closing);
    assert_eq!(last.to, at(5, 35, 0));
    assert_eq!(
        records(&s, Logged::Start).len(),
        records(&s, Logged::End).len()
    );
    assert!(
        s.records
            .iter()
            .all(|r| r.late_ms.is_none_or(|l| l.abs() <= 1))
    );
    assert_eq!(s.engine.status().quotas[0].done, 1);
}

#[test]
fn an_emergency_breaks_in_and_the_item_it_cut_restarts_whole() {
    let mut s = sim(setup(vec![flexible("news.mp3", 60)]), at(5, 29, 0));
    s.run_until(at(5, 30, 40));
    assert_eq!(
        s.engine.status().now_playing.map(|i| i.id),
        Some("news.mp3".into())
    );
    s.send(Event::Catalog {
        catalog: Box::new(catalog()),
        revoked: Vec::new(),
        due: vec![emergency("khan", at(5, 30, 40))],
        pushed: Some(Priority::Emergency),
    });
    s.run_until(at(5, 36, 0));
    assert!(s.violations.is_empty(), "{:?}", s.violations);
    let cut = s.heard.iter().find(|h| h.item.id == "news.mp3").unwrap();
    assert_eq!(cut.to, at(5, 30, 40) + STOP_FADE, "faded out at once");
    let ids = order(&s);
    let i = ids
        .iter()
        .position(|x| x == "emergency-start-chime")
        .unwrap();
    assert_eq!(
        ids[i..i + 6],
        [
            "emergency-start-chime",
            "khan",
            "khan",
            "khan",
            "emergency-end-chime",
            "news.mp3"
        ]
    );
    // One second of silence between repeats; the amplifier was on already: no warmup.
    let plays: Vec<_> = s.heard.iter().filter(|h| h.item.id == "khan").collect();
    assert_eq!(plays[1].from - plays[0].to, REPEAT_GAP);
    assert_eq!(s.heard[i].from, cut.to);
    let again = &s.heard[i + 5];
    assert_eq!(
        again.to - again.from,
        TimeDelta::seconds(60),
        "restarted from its start"
    );
    assert_eq!(s.emergencies_done, ["khan"]);
    let interrupted = records(&s, Logged::Interrupted);
    assert_eq!(interrupted.len(), 1);
    assert_eq!(
        interrupted[0].reason.as_deref(),
        Some("an emergency broadcast breaks in")
    );
    // The chime is "scheduled" when the station took the push: late by the fade.
    let chime = s
        .records
        .iter()
        .find(|r| {
            r.event == Logged::Start
                && r.item
                    .as_ref()
                    .is_some_and(|i| i.id == "emergency-start-chime")
        })
        .unwrap();
    assert_eq!(chime.late_ms, Some(300));
}

#[test]
fn an_emergency_at_night_switches_the_amplifier_on_warms_up_and_off_again() {
    let mut s = sim(setup(Vec::new()), at(2, 0, 0));
    s.run_until(at(2, 0, 10));
    assert!(!s.amplifier());
    s.send(Event::Catalog {
        catalog: Box::new(catalog()),
        revoked: Vec::new(),
        due: vec![
            emergency("dem-1", at(2, 0, 10)),
            emergency("dem-2", at(2, 0, 10)),
        ],
        pushed: Some(Priority::Emergency),
    });
    s.run_until(at(2, 5, 0));
    assert!(s.violations.is_empty(), "{:?}", s.violations);
    // Warmup 3 s, then twice: chime 2 s, 3 × 4 s with 1 s between, chime 2 s.
    assert_eq!(
        s.amp_switches,
        [(at(2, 0, 10), true), (at(2, 0, 49), false)]
    );
    assert_eq!(s.heard[0].from, at(2, 0, 13), "after the 3 s warmup");
    // Both, each with its chimes, one after the other.
    assert_eq!(
        s.heard
            .iter()
            .filter(|h| h.item.id == "emergency-start-chime")
            .count(),
        2
    );
    assert_eq!(s.emergencies_done, ["dem-1", "dem-2"]);
    assert_eq!(s.engine.status().emergency, None);
}

#[test]
fn a_second_push_during_the_warmup_neither_skips_nor_cuts_the_first_chime() {
    let mut s = sim(setup(Vec::new()), at(2, 0, 0));
    let push = |s: &mut Sim, due: Vec<Emergency>| {
        s.send(Event::Catalog {
            catalog: Box::new(catalog()),
            revoked: Vec::new(),
            due,
            pushed: Some(Priority::Emergency),
        })
    };
    push(&mut s, vec![emergency("dem-1", at(2, 0, 0))]);
    // One second later, the start chime still waiting for the 3 s warmup.
    s.run_until(at(2, 0, 1));
    push(
        &mut s,
        vec![
            emergency("dem-1", at(2, 0, 0)),
            emergency("dem-2", at(2, 0, 1)),
        ],
    );
    s.run_until(at(2, 5, 0));
    assert!(s.violations.is_empty(), "{:?}", s.violations);
    let heard: Vec<&str> = s.heard.iter().map(|h| h.item.id.as_str()).collect();
    assert_eq!(
        heard,
        [
            "emergency-start-chime",
            "dem-1",
            "dem-1",
            "dem-1",
            "emergency-end-chime",
            "emergency-start-chime",
            "dem-2",
            "dem-2",
            "dem-2",
            "emergency-end-chime"
        ]
    );
    assert_eq!(s.heard[0].from, at(2, 0, 3), "after the 3 s warmup");
}

#[test]
fn a_cancel_stops_the_emergency_and_its_repeats() {
    let mut s = sim(setup(Vec::new()), at(2, 0, 0));
    s.send(Event::Catalog {
        catalog: Box::new(catalog()),
        revoked: Vec::new(),
        due: vec![emergency("dem-1", at(2, 0, 0))],
        pushed: Some(Priority::Emergency),
    });
    s.run_until(at(2, 0, 6));
    assert_eq!(
        s.engine.status().now_playing.map(|i| i.id),
        Some("dem-1".into())
    );
    s.send(Event::Cancel {
        id: "dem-1".into(),
        catalog: Box::new(catalog()),
    });
    s.run_until(at(2, 1, 0));
    assert_eq!(s.heard.iter().filter(|h| h.item.id == "dem-1").count(), 1);
    assert_eq!(s.emergencies_done, ["dem-1"]);
    assert!(!s.amplifier());
}

#[test]
fn a_lost_output_is_retried_and_the_day_replanned_when_it_is_back() {
    let mut s = sim(setup(vec![flexible("news.mp3", 60)]), at(5, 29, 0));
    s.run_until(at(5, 30, 50));
    s.break_output(at(5, 31, 5));
    s.run_until(at(5, 36, 0));
    assert!(s.violations.is_empty(), "{:?}", s.violations);
    let lost = records(&s, Logged::Interrupted);
    assert_eq!(lost.len(), 1, "{:?}", s.records);
    assert!(s.logs.iter().any(|l| l.1 == "sound output is back"));
    // Sound again soon after the output is back, and the session closes on time.
    let after = s.heard.iter().find(|h| h.from >= at(5, 31, 5)).unwrap();
    assert!(
        after.from - at(5, 31, 5) < TimeDelta::seconds(10),
        "{after:?}"
    );
    assert_eq!(s.heard.last().unwrap().to, at(5, 35, 0));
}

#[test]
fn a_file_that_cannot_play_leaves_its_slot_to_filler_at_once() {
    let mut s = sim(setup(vec![flexible("news.mp3", 60)]), at(5, 29, 0));
    s.failing.insert("/audio/news.mp3".into());
    s.lengths
        .insert("/state/b1.mp3".into(), TimeDelta::seconds(5)); // broke off at 5 of 20 s
    s.run_until(at(5, 36, 0));
    assert!(s.violations.is_empty(), "{:?}", s.violations);
    let failed = records(&s, Logged::Failed);
    assert_eq!(failed.len(), 1);
    let b1 = s.heard.iter().position(|h| h.item.id == "b1").unwrap();
    assert_eq!(
        s.heard[b1 + 1].item.kind,
        Kind::Fill,
        "filler after the short b1"
    );
    assert_eq!(s.heard[b1 + 1].from, s.heard[b1].to);
    let fill_after_failure = s
        .heard
        .iter()
        .find(|h| h.from >= failed[0].ts && h.item.kind == Kind::Fill)
        .unwrap();
    assert_eq!(fill_after_failure.from, failed[0].ts);
}

#[test]
fn a_restart_mid_session_replays_nothing_that_finished() {
    let mut s = sim(setup(vec![flexible("news.mp3", 60)]), at(5, 29, 0));
    s.run_until(at(5, 30, 50)); // opening and b1 done, news playing
    let records_so_far = s.records.clone();
    let history = History {
        today: crate::asrun::completed_plays(&records_so_far),
        ..History::default()
    };
    let engine = Engine::new(
        setup(vec![flexible("news.mp3", 60)]),
        catalog(),
        history,
        day(),
    );
    let mut again = Sim::new(engine, at(5, 31, 0));
    again.start(&[], &records_so_far, Vec::new());
    again.run_until(at(5, 36, 0));
    assert!(again.violations.is_empty(), "{:?}", again.violations);
    let replayed: Vec<_> = order(&again);
    assert!(!replayed.contains(&"b1".to_string()), "{replayed:?}");
    assert!(!replayed.iter().any(|i| i == "opening.mp3"), "{replayed:?}");
    // What the crash cut is recorded as interrupted.
    let cut = records(&again, Logged::Interrupted);
    assert_eq!(
        cut[0].item.as_ref().map(|i| i.id.as_str()),
        Some("news.mp3")
    );
}

#[test]
fn a_fixed_item_whose_time_passes_during_an_emergency_is_recorded_as_skipped() {
    let fixed = SessionItem {
        at: Some(NaiveTime::from_hms_opt(5, 31, 30).unwrap()),
        title: None,
        content: ItemContent::File(media("notice.mp3", 10)),
    };
    let mut s = sim(setup(vec![flexible("news.mp3", 60), fixed]), at(5, 29, 0));
    s.run_until(at(5, 31, 20));
    s.send(Event::Catalog {
        catalog: Box::new(catalog()),
        revoked: Vec::new(),
        due: vec![emergency("khan", at(5, 31, 20))],
        pushed: Some(Priority::Emergency),
    });
    s.run_until(at(5, 36, 0));
    assert!(s.violations.is_empty(), "{:?}", s.violations);
    let skipped: Vec<(&str, Option<&str>)> = records(&s, Logged::Skipped)
        .iter()
        .map(|r| {
            (
                r.item.as_ref().map_or("", |i| i.id.as_str()),
                r.reason.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        skipped,
        [(
            "notice.mp3",
            Some("an emergency broadcast was on air at its time")
        )],
        "{:?}",
        s.records
    );
    assert!(s.heard.iter().all(|h| h.item.id != "notice.mp3"));
    // The item the emergency cut restarts: it is not among the skipped.
    assert!(s.heard.iter().filter(|h| h.item.id == "news.mp3").count() >= 1);
}

#[test]
fn items_missed_by_more_than_the_grace_window_are_skipped_and_logged() {
    let mut s = sim(
        setup_until(vec![flexible("news.mp3", 60)], "05:50"),
        at(5, 29, 0),
    );
    s.run_until(at(5, 30, 1));
    // The driver stalls (a frozen disk) for seven minutes, then ticks again.
    s.now = at(5, 37, 1);
    s.send(Event::Tick);
    s.run_until(at(5, 38, 0));
    let skipped: Vec<&str> = records(&s, Logged::Skipped)
        .iter()
        .filter_map(|r| r.item.as_ref().map(|i| i.id.as_str()))
        .collect();
    assert_eq!(skipped, ["b1", "news.mp3"], "{:?}", s.records);
    assert_eq!(
        records(&s, Logged::Skipped)[0].reason.as_deref(),
        Some("its time passed while the station could not play")
    );
    // A restart past the session's end plays nothing, and says why.
    let mut late = sim(setup(Vec::new()), at(5, 40, 0));
    late.run_until(at(6, 0, 0));
    assert!(late.heard.is_empty());
    assert!(!late.amplifier());
}

#[test]
fn shutdown_fades_out_switches_off_and_exits() {
    let mut s = sim(setup(vec![flexible("news.mp3", 60)]), at(5, 29, 0));
    s.run_until(at(5, 31, 0));
    s.send(Event::Shutdown);
    s.run_until(at(5, 32, 0));
    assert!(s.exited);
    assert!(!s.amplifier());
    assert_eq!(
        records(&s, Logged::Interrupted)[0].reason.as_deref(),
        Some("the station is shutting down")
    );
}

fn quiet(text: &str) -> Option<QuietHours> {
    Some(QuietHours::parse(text).unwrap())
}

#[test]
fn quiet_hours_cut_a_session_that_runs_into_them_and_only_an_emergency_sounds() {
    let mut setup = setup_until(vec![flexible("news.mp3", 30)], "05:50");
    setup.quiet_hours = quiet("05:40-05:00");
    let mut s = sim(setup, at(5, 0, 0));
    s.run_until(at(5, 55, 0));
    assert!(s.violations.is_empty(), "{:?}", s.violations);
    assert!(!s.heard.is_empty());
    for h in &s.heard {
        assert!(h.to <= at(5, 40, 0), "{} heard until {}", h.item.id, h.to);
    }
    // The amplifier went off when the quiet began, and the closing was not played.
    assert_eq!(s.amp_switches.last(), Some(&(at(5, 40, 0), false)));
    let skipped = records(&s, Logged::Skipped);
    assert!(
        skipped
            .iter()
            .any(|r| r.item.as_ref().is_some_and(|i| i.kind == Kind::Closing)
                && r.reason
                    .as_deref()
                    .is_some_and(|w| w.contains("quiet hours 05:40-05:00"))),
        "{:?}",
        s.records
    );
    // An emergency in the quiet hours still plays.
    s.send(Event::Catalog {
        catalog: Box::new(catalog()),
        revoked: Vec::new(),
        due: vec![emergency("lu-lut", at(5, 55, 0))],
        pushed: Some(Priority::Emergency),
    });
    s.run_until(at(6, 0, 0));
    assert_eq!(s.emergencies_done, ["lu-lut"]);
    assert_eq!(s.amp_switches.last().map(|a| a.1), Some(false));
    assert!(s.amp_switches.iter().any(|a| *a == (at(5, 55, 0), true)));
}

#[test]
fn a_session_planned_inside_quiet_hours_never_switches_the_amplifier_on() {
    let mut setup = setup(vec![flexible("news.mp3", 30)]);
    setup.quiet_hours = quiet("22:00-06:00");
    let mut s = sim(setup, at(5, 0, 0));
    s.run_until(at(6, 30, 0));
    assert!(s.heard.is_empty(), "{:?}", order(&s));
    assert!(s.amp_switches.iter().all(|a| !a.1), "{:?}", s.amp_switches);
    let skipped = records(&s, Logged::Skipped);
    assert!(!skipped.is_empty());
    assert!(skipped.iter().all(|r| {
        r.reason
            .as_deref()
            .is_some_and(|w| w.contains("quiet hours"))
    }));
}

#[test]
fn a_pushed_bulletin_that_aired_does_not_come_back_with_a_catalog_read_before_it_was_saved() {
    let mut s = sim(
        setup_until(vec![flexible("news.mp3", 30)], "06:30"),
        at(5, 0, 0),
    );
    s.run_until(at(5, 40, 0));
    let mut with_push = catalog();
    with_push
        .bulletins
        .push(bulletin("p1", None, 20, Priority::Priority));
    s.send(Event::Catalog {
        catalog: Box::new(with_push.clone()),
        revoked: Vec::new(),
        due: Vec::new(),
        pushed: Some(Priority::Priority),
    });
    s.run_until(at(5, 50, 0));
    assert_eq!(s.aired.iter().filter(|id| *id == "p1").count(), 1);
    // A catalog read from the store before the player's `Aired` was saved (the catalog's
    // owner saves it on its own thread): p1 still unaired in it. Today's plays keep it.
    s.send(Event::Catalog {
        catalog: Box::new(with_push.clone()),
        revoked: Vec::new(),
        due: Vec::new(),
        pushed: None,
    });
    s.run_until(at(6, 10, 0));
    let plays = order(&s).iter().filter(|id| *id == "p1").count();
    assert_eq!(plays, 1, "heard: {:?}", order(&s));
}
