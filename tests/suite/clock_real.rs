//! The real-clock path of SPEC §12's clock faults: `loaxa run` on the system clock, with
//! the clock stepped under it by libfaketime (Debian's `faketime`, preloaded; its offset
//! file is read at every clock call, and the monotonic clock is left alone, as NTP or
//! `date -s` would leave it). Back 1 h mid-session, to 2000-01-01, back to the right
//! time, forward 2 h: every step recorded, nothing replayed, the amplifier off when held.

use crate::live;

use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{TimeDelta, TimeZone, Utc};
use live::*;
use serde_json::Value;

const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

const SCHEDULE: &str = r#"
[fill]
folder = "music"

[[session]]
name = "Sáng"
start = "05:30"
end = "05:45"
"#;

fn set_offset(file: &Path, secs: i64) {
    std::fs::write(file, format!("{secs:+}\n")).unwrap();
}

fn wait(secs: u64, what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !ok() {
        if Instant::now() >= deadline {
            let dir = std::env::var("CLOCK_REAL_KEEP").unwrap_or_default();
            panic!("timed out waiting for {what} {dir}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_system_clock_stepping_under_a_running_station() {
    if !Path::new(LIBFAKETIME).exists() {
        panic!("{LIBFAKETIME} is missing: apt-get install faketime (scripts/install-deps does)");
    }
    let s = Station::new("null", SCHEDULE);
    std::fs::create_dir(s.path("music")).unwrap();
    tone(&s.path("music/m1.mp3"), 1100, 20.0);
    let tz = chrono_tz::Asia::Ho_Chi_Minh;
    // A day after today, 05:29:55 on the station's clock: just before the session.
    let day = (Utc::now().with_timezone(&tz) + TimeDelta::days(1)).date_naive();
    let date = day.to_string();
    let fake_start = tz
        .from_local_datetime(&day.and_hms_opt(5, 29, 55).unwrap())
        .unwrap();
    let offset = (fake_start.to_utc() - Utc::now()).num_seconds();
    let file = s.path("faketime");
    set_offset(&file, offset);

    let mut child = Command::new(env!("CARGO_BIN_EXE_loaxa"))
        .args(["--config", s.dir.path().to_str().unwrap(), "run"])
        .env("LD_PRELOAD", LIBFAKETIME)
        .env("FAKETIME_TIMESTAMP_FILE", &file)
        .env("FAKETIME_NO_CACHE", "1")
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .env("FAKETIME_DONT_RESET", "1")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(s.path("daemon.log")).unwrap())
        .spawn()
        .unwrap();
    let log = || s.asrun(&date);
    let jumps = |log: &[Value]| log.iter().filter(|r| r["event"] == "clock_jump").count();
    let amp_last = || {
        std::fs::read_to_string(s.path("amp.log"))
            .unwrap_or_default()
            .lines()
            .last()
            .map(str::to_string)
    };

    // On air on time.
    wait(30, "the session to start", || {
        log().iter().any(|r| r["event"] == "start")
    });
    std::thread::sleep(Duration::from_secs(2));

    // Back an hour: recorded, the amplifier off, nothing starts while held.
    set_offset(&file, offset - 3600);
    wait(10, "the step back recorded", || jumps(&log()) == 1);
    wait(10, "the amplifier off", || {
        amp_last().as_deref() == Some("off")
    });
    let starts_held = log().iter().filter(|r| r["event"] == "start").count();
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        log().iter().filter(|r| r["event"] == "start").count(),
        starts_held,
        "nothing starts while the clock is held\n{}",
        show(&log())
    );

    // To 2000-01-01 (a dead CMOS battery): recorded on that day, nothing plays.
    let y2k = tz.with_ymd_and_hms(2000, 1, 1, 5, 30, 0).unwrap();
    set_offset(&file, (y2k.to_utc() - Utc::now()).num_seconds());
    wait(10, "the step to 2000 recorded", || {
        jumps(&s.asrun("2000-01-01")) >= 1
    });
    std::thread::sleep(Duration::from_secs(2));
    assert!(s.asrun("2000-01-01").iter().all(|r| r["event"] != "start"));
    assert_eq!(amp_last().as_deref(), Some("off"));

    // Set right again: recorded, and the session goes on, replaying nothing.
    set_offset(&file, offset);
    wait(15, "the session to resume", || {
        let l = log();
        let back = l.iter().rposition(|r| r["event"] == "clock_jump");
        back.is_some_and(|i| l[i..].iter().any(|r| r["event"] == "start"))
    });

    // Forward 2 h: past the session's end; recorded, and the amplifier goes off.
    let forward = |log: &[Value]| {
        log.iter()
            .filter(|r| r["event"] == "clock_jump")
            .filter(|r| {
                r["reason"]
                    .as_str()
                    .unwrap_or("")
                    .contains("jumped forward")
            })
            .count()
    };
    let before = forward(&log());
    set_offset(&file, offset + 7200);
    wait(15, "the step forward recorded", || forward(&log()) > before);
    let deadline = Instant::now() + Duration::from_secs(10);
    while amp_last().as_deref() != Some("off") {
        if Instant::now() > deadline {
            let daemon = std::fs::read_to_string(s.path("daemon.log")).unwrap_or_default();
            let tail: Vec<&str> = daemon.lines().rev().take(30).collect();
            panic!(
                "the amplifier stayed on after the step forward\namp: {:?}\n{}\n{}",
                std::fs::read_to_string(s.path("amp.log")).unwrap_or_default(),
                show(&log()),
                tail.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }

    run("kill", &["-TERM", &child.id().to_string()]);
    let _ = child.wait();
    let l = log();
    let mut seen = HashSet::new();
    for r in l.iter().filter(|r| r["event"] == "start") {
        let key = (r["item"]["id"].to_string(), r["item"]["start"].to_string());
        assert!(seen.insert(key), "started twice: {r}\n{}", show(&l));
    }
    let reasons: Vec<&str> = l
        .iter()
        .filter(|r| r["event"] == "clock_jump")
        .filter_map(|r| r["reason"].as_str())
        .collect();
    assert!(
        reasons.iter().any(|w| w.contains("went back")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|w| w.contains("jumped forward")),
        "{reasons:?}"
    );
}
