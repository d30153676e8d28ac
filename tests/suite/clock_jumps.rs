//! A station whose clock steps (SPEC §12), through the real player on a clock the test
//! controls: back 1 h mid-session, forward 2 h, to 2000-01-01 and back, with quiet hours.
//! Nothing is played twice, nothing sounds in quiet hours, the amplifier ends off, and
//! every step is in the as-run log.

use crate::live;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Datelike, TimeZone, Timelike, Utc};
use live::*;
use loaxa::sys::clock::{Clock, ManualClock};
use serde_json::Value;

const SCHEDULE: &str = r#"
[fill]
folder = "music"

[[session]]
name = "Sáng"
start = "05:30"
end = "05:36"

[[session]]
name = "Trưa"
start = "11:00"
end = "11:04"

[[session]]
name = "Chiều"
start = "17:00"
end = "17:05"

[[campaign]]
id = "c"
from = 2021-10-01
until = 2021-10-31
plays_per_day = 3
min_gap = "1m"

[[bulletin]]
id = "b1"
file = "b1.mp3"
campaign = "c"
"#;

#[test]
fn clock_steps_replay_nothing_sound_nothing_in_quiet_hours_and_are_recorded() {
    let s = Station::new("null", SCHEDULE);
    // quiet_hours belongs in [audio]: rewrite that table's line.
    let toml = std::fs::read_to_string(s.path("station.toml")).unwrap();
    std::fs::write(
        s.path("station.toml"),
        toml.replace("[audio]\n", "[audio]\nquiet_hours = \"22:00-05:00\"\n"),
    )
    .unwrap();
    std::fs::create_dir(s.path("music")).unwrap();
    tone(&s.path("b1.mp3"), 620, 20.0);
    tone(&s.path("music/m1.mp3"), 1100, 40.0);

    let tz = chrono_tz::Asia::Ho_Chi_Minh;
    let t = |y, mo, d, h, mi| tz.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap().to_utc();
    let start = t(2021, 10, 1, 4, 0);
    let stop_at = t(2021, 10, 2, 0, 0);
    // (when the clock shows this, step it to that)
    let steps: Vec<(DateTime<Utc>, DateTime<Utc>)> = vec![
        (t(2021, 10, 1, 5, 32), t(2021, 10, 1, 4, 32)), // back 1 h mid-session
        (t(2021, 10, 1, 11, 1), t(2021, 10, 1, 13, 1)), // forward 2 h mid-session
        (t(2021, 10, 1, 17, 1), t(2000, 1, 1, 17, 1)),  // dead CMOS battery
        (t(2000, 1, 1, 17, 31), t(2021, 10, 1, 17, 2)), // NTP sets it again
        (t(2021, 10, 1, 17, 3), t(2021, 10, 1, 23, 30)), // forward into quiet hours, mid-session
    ];
    let clock = ManualClock::new(start);
    let config = loaxa::station::config::load(s.dir.path(), start.date_naive()).unwrap();
    let watch = clock.clone();
    let next = AtomicUsize::new(0);
    live::playout::run_playout(config, &clock, stop_at, move || {
        let i = next.load(Ordering::SeqCst);
        if let Some((when, to)) = steps.get(i) {
            let now = watch.now();
            // Steps are taken in order: the one in 2000 only once the clock is there.
            let due = now >= *when && (now.year() == 2000) == (when.year() == 2000);
            if due {
                watch.jump(*to - now);
                next.store(i + 1, Ordering::SeqCst);
            }
        }
    });

    let day = s.asrun("2021-10-01");
    let y2k = s.asrun("2000-01-01");
    let jumps: Vec<&str> = day
        .iter()
        .chain(&y2k)
        .filter(|r| r["event"] == "clock_jump")
        .map(|r| r["reason"].as_str().unwrap())
        .collect();
    assert!(
        jumps
            .iter()
            .any(|w| w.contains("went back") && w.contains("to 2021-10-01 04:32:00")),
        "{jumps:#?}"
    );
    assert!(
        jumps
            .iter()
            .filter(|w| w.contains("jumped forward"))
            .count()
            >= 3,
        "{jumps:#?}"
    );
    assert!(
        y2k.iter().any(|r| r["event"] == "clock_jump"),
        "{}",
        show(&y2k)
    );
    // Nothing played in 2000 but the record of the step.
    assert!(y2k.iter().all(|r| r["event"] != "start"), "{}", show(&y2k));

    // No planned item started twice; the campaign within its quota.
    let starts: Vec<&Value> = day.iter().filter(|r| r["event"] == "start").collect();
    let mut seen = HashSet::new();
    for r in &starts {
        if r["item"]["kind"] == "fill" {
            continue;
        }
        let key = (r["item"]["id"].to_string(), r["item"]["start"].to_string());
        assert!(seen.insert(key), "played twice: {r}\n{}", show(&day));
    }
    let plays = day
        .iter()
        .filter(|r| r["event"] == "end" && r["item"]["campaign"] == "c")
        .count();
    assert!(
        (1..=3).contains(&plays),
        "{plays} campaign plays\n{}",
        show(&day)
    );
    // Nothing sounded in quiet hours, nothing started while the clock was held.
    for r in &starts {
        let ts = ts(r, "ts").with_timezone(&tz);
        assert!(
            !(ts.hour() >= 22 || ts.hour() < 5),
            "started in quiet hours: {r}"
        );
    }
    // While held (from the step back until the clock had caught up) nothing started.
    let back = day.iter().position(|r| r["event"] == "clock_jump").unwrap();
    let first = day[back..].iter().find(|r| r["event"] == "start").unwrap();
    assert!(ts(first, "ts") >= t(2021, 10, 1, 5, 31), "{first}");
    // The amplifier ended off, and was never switched on in quiet hours.
    let amp: Vec<&Value> = day
        .iter()
        .filter(|r| r["event"] == "amp_on" || r["event"] == "amp_off")
        .collect();
    assert_eq!(
        amp.last().map(|r| r["event"].clone()),
        Some(Value::from("amp_off"))
    );
    for r in amp.iter().filter(|r| r["event"] == "amp_on") {
        let h = ts(r, "ts").with_timezone(&tz).hour();
        assert!((5..22).contains(&h), "amp on in quiet hours: {r}");
    }
}
