//! The playout thread touches no state file: every change reaches it as a value from the
//! catalog's owner (`daemon::catalog`), which reads the store once per change and saves
//! what the playout reports (a push aired, an emergency done) on a thread of its own.

use crate::live;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use live::*;
use loaxa::core::catalog::Priority;
use loaxa::station::catalog::Holdings;
use loaxa::store::Store;
use loaxa::store::push::Pushed;
use loaxa::sys::clock::ManualClock;
use loaxa::sys::fs::{reads_on_this_thread, writes_on_this_thread};

const SCHEDULE: &str = r#"
[[session]]
name = "Sáng"
start = "05:30"
end = "05:40"
opening = "opening.mp3"
"#;

fn pushed(id: &str, priority: Priority, accepted_at: DateTime<Utc>) -> Pushed {
    Pushed {
        id: id.into(),
        title: format!("Bản tin {id}"),
        priority,
        repeat: 1,
        campaign: None,
        valid_from: None,
        valid_until: None,
        expires_at: Some(accepted_at + TimeDelta::hours(2)),
        accepted_at,
        file: format!("{id}.mp3"),
        duration_ms: 6_000,
        sha256: "0".repeat(64),
        size: 0,
        aired: false,
    }
}

/// A station with a pushed bulletin (plays once) and an emergency already accepted.
fn station_with_pushes(start: DateTime<Utc>) -> (Station, loaxa::config::Config) {
    let s = Station::new("null", SCHEDULE);
    tone(&s.path("opening.mp3"), 950, 2.0);
    let config = loaxa::station::config::load(s.dir.path(), start.date_naive()).unwrap();
    let store = Store::of(&config.station);
    store.create().unwrap();
    for (id, priority) in [("p1", Priority::Priority), ("e1", Priority::Emergency)] {
        let audio = store.push_audio(&format!("{id}.mp3"));
        std::fs::create_dir_all(audio.parent().unwrap()).unwrap();
        tone(&audio, 700, 6.0);
        store
            .update_push(|state| state.bulletins.push(pushed(id, priority, start)))
            .unwrap();
    }
    (s, config)
}

#[test]
fn one_change_reads_each_state_file_once() {
    let tz = chrono_tz::Asia::Ho_Chi_Minh;
    let start = tz.with_ymd_and_hms(2021, 10, 1, 5, 29, 0).unwrap().to_utc();
    let (_s, config) = station_with_pushes(start);
    let before = reads_on_this_thread();
    let holdings = Holdings::load(&config);
    // The feed state (absent here: read and found empty) and the push state, once each;
    // the catalog, the revoked ids and the emergencies' facts all come from those reads.
    assert_eq!(reads_on_this_thread() - before, 2);
    assert!(holdings.catalog.bulletins.iter().any(|b| b.id == "p1"));
    assert!(holdings.catalog.emergencies.iter().any(|b| b.id == "e1"));
    assert_eq!(holdings.due(start.with_timezone(&tz), start).len(), 1);
}

#[test]
fn the_playout_thread_writes_no_file_and_what_it_reports_is_saved() {
    let tz = chrono_tz::Asia::Ho_Chi_Minh;
    let start = tz.with_ymd_and_hms(2021, 10, 1, 5, 29, 0).unwrap().to_utc();
    let stop_at = tz.with_ymd_and_hms(2021, 10, 1, 5, 41, 0).unwrap().to_utc();
    let (s, config) = station_with_pushes(start);
    let clock = ManualClock::new(start);
    let store = Store::of(&config.station);
    let before = writes_on_this_thread();
    live::playout::run_playout(config, &clock, stop_at, || {});
    assert_eq!(
        writes_on_this_thread() - before,
        0,
        "the playout thread wrote a file"
    );

    // Both aired (the emergency at once, the pushed bulletin in the session) and the
    // push state says so: saved by the owner before the playout returned.
    let log = s.asrun("2021-10-01");
    let ends: Vec<&str> = log
        .iter()
        .filter(|r| r["event"] == "end")
        .filter_map(|r| r["item"]["id"].as_str())
        .collect();
    assert!(
        ends.contains(&"e1") && ends.contains(&"p1"),
        "{}",
        show(&log)
    );
    let state = store.push_state().unwrap();
    assert!(state.emergencies_done.iter().any(|id| id == "e1"));
    assert!(
        state.bulletins.iter().any(|p| p.id == "p1" && p.aired),
        "{:?}",
        state.bulletins
    );
}
