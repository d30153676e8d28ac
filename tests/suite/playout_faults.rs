//! The daemon under faults: killed mid-session, files gone bad, a failing amplifier, a
//! broken schedule edit. Each runs the real binary on the `null` output (paced by the
//! clock, like a sound card), rehearsing a short session.

use crate::live;

use std::collections::HashMap;
use std::time::Duration;

use live::*;
use serde_json::Value;

const DAY: &str = "2021-10-01";

/// A 40-second session: opening, three 4 s bulletins of one campaign, a local file, fill.
fn schedule(extra: &str) -> String {
    format!(
        r#"
[fill]
folder = "music"

[[session]]
name = "Sáng"
start = "05:30:00"
end = "05:30:40"
opening = "opening.wav"
closing = "closing.wav"

  [[session.item]]
  file = "local.mp3"

[[campaign]]
id = "c"
from = 2021-10-01
until = 2021-10-31
plays_per_day = 3
priority = "priority"

[[bulletin]]
id = "b1"
file = "b1.mp3"
campaign = "c"

[[bulletin]]
id = "b2"
file = "b2.ogg"
campaign = "c"

[[bulletin]]
id = "b3"
file = "b3.flac"
campaign = "c"
{extra}"#
    )
}

fn station(extra: &str) -> Station {
    let s = Station::new("null", &schedule(extra));
    std::fs::create_dir(s.path("music")).unwrap();
    tone(&s.path("opening.wav"), 950, 1.0);
    tone(&s.path("closing.wav"), 520, 1.0);
    tone(&s.path("local.mp3"), 400, 3.0);
    tone(&s.path("b1.mp3"), 620, 4.0);
    tone(&s.path("b2.ogg"), 660, 4.0);
    tone(&s.path("b3.flac"), 700, 4.0);
    tone(&s.path("music/fill.wav"), 1250, 5.0);
    s
}

fn events<'a>(log: &'a [Value], event: &str) -> Vec<&'a Value> {
    log.iter().filter(|r| r["event"] == event).collect()
}

/// Every start is closed by exactly one end, interrupted or failed, before the next start.
fn assert_consistent(log: &[Value]) {
    let mut open: Option<&Value> = None;
    for r in log {
        match r["event"].as_str().unwrap() {
            "start" => {
                assert!(
                    open.is_none(),
                    "a start while {} still plays:\n{}",
                    open.unwrap()["item"]["id"],
                    show(log)
                );
                open = Some(r);
            }
            "end" | "interrupted" => {
                if let Some(o) = open.take() {
                    assert_eq!(
                        o["item"],
                        r["item"],
                        "closing record for another item:\n{}",
                        show(log)
                    );
                } else {
                    assert_eq!(
                        r["event"],
                        "interrupted",
                        "an end with no start:\n{}",
                        show(log)
                    );
                }
            }
            _ => {}
        }
    }
}

#[test]
fn sigkill_mid_session_then_restart_repeats_no_quota_play_and_finishes() {
    let s = station("");
    let d = Daemon::start(&s, "2021-10-01T05:29:57+07:00", None);
    // Kill while the second bulletin plays.
    s.wait_for(DAY, 30, "the second bulletin to start", |r| {
        r["event"] == "start" && r["item"]["id"] == "b2"
    });
    std::thread::sleep(Duration::from_millis(1500));
    let resume_at = d.rehearsal_now();
    d.kill9();

    let d2 = Daemon::start(&s, &resume_at.to_rfc3339(), None);
    let log = s.wait_for(DAY, 60, "the closing to end", |r| {
        r["event"] == "end" && r["item"]["kind"] == "closing"
    });
    assert!(d2.stop().success());

    assert_consistent(&log);
    // b2 was cut by the kill and recorded so on restart; it is played again in full.
    let cut = log
        .iter()
        .find(|r| r["event"] == "interrupted" && r["item"]["id"] == "b2")
        .unwrap_or_else(|| panic!("b2 not marked interrupted:\n{}", show(&log)));
    assert!(
        cut["reason"]
            .as_str()
            .unwrap()
            .contains("stopped while it played")
    );
    let mut ends: HashMap<&str, u32> = HashMap::new();
    for r in events(&log, "end") {
        *ends.entry(r["item"]["id"].as_str().unwrap()).or_default() += 1;
    }
    for id in ["b1", "b2", "b3", "local.mp3", "opening.wav", "closing.wav"] {
        assert_eq!(
            ends.get(id).copied(),
            Some(1),
            "{id} should end exactly once:\n{}",
            show(&log)
        );
    }
    let quota_plays = events(&log, "end")
        .iter()
        .filter(|r| r["item"]["campaign"] == "c")
        .count();
    assert_eq!(quota_plays, 3);
    // The restarted daemon ran the rest without a second opening.
    assert_eq!(
        events(&log, "start")
            .iter()
            .filter(|r| r["item"]["kind"] == "opening")
            .count(),
        1
    );
}

#[test]
fn corrupt_and_missing_files_are_skipped_with_filler_in_their_place() {
    let s = station("");
    let d = Daemon::start(&s, "2021-10-01T05:29:57+07:00", None);
    // Once the config is loaded (plan made), spoil two files before their turn.
    s.wait_for(DAY, 20, "the opening", |r| {
        r["event"] == "start" && r["item"]["kind"] == "opening"
    });
    std::fs::write(
        s.path("b2.ogg"),
        b"OggS this is not really an ogg stream at all".repeat(100),
    )
    .unwrap();
    std::fs::remove_file(s.path("local.mp3")).unwrap();
    // `loaxa status` reads the running daemon's state.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_loaxa"))
        .args([
            "--config",
            s.dir.path().to_str().unwrap(),
            "status",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            status["session"].as_str(),
            status["amplifier_on"].as_bool(),
            status["output"].as_str()
        ),
        (Some("Sáng"), Some(true), Some("null")),
        "{status}"
    );
    assert_eq!(status["pid"].as_u64(), Some(u64::from(d.child.id())));
    assert!(
        status["now_playing"].is_object() || !status["next"].as_array().unwrap().is_empty(),
        "{status}"
    );
    assert_eq!(status["quotas"][0]["campaign"], "c");
    let log = s.wait_for(DAY, 60, "the closing to end", |r| {
        r["event"] == "end" && r["item"]["kind"] == "closing"
    });
    assert!(d.stop().success());

    assert_consistent(&log);
    let failed: Vec<&str> = events(&log, "failed")
        .iter()
        .map(|r| r["item"]["id"].as_str().unwrap())
        .collect();
    assert!(
        failed.contains(&"b2") && failed.contains(&"local.mp3"),
        "failed: {failed:?}\n{}",
        show(&log)
    );
    assert!(
        events(&log, "end")
            .iter()
            .all(|r| r["item"]["id"] != "b2" && r["item"]["id"] != "local.mp3")
    );
    // Their slots were filled with music, not silence: after each failure a fill starts at once.
    for f in events(&log, "failed") {
        let next = log
            .iter()
            .skip_while(|r| *r != f)
            .skip(1)
            .find(|r| r["event"] == "start")
            .unwrap();
        assert_eq!(
            next["item"]["kind"], "fill",
            "after {} came {}",
            f["item"]["id"], next["item"]["id"]
        );
        let gap = (ts(next, "ts") - ts(f, "ts")).num_milliseconds();
        assert!(
            gap.abs() < 100,
            "{gap} ms of silence after {}",
            f["item"]["id"]
        );
    }
    assert!(events(&log, "end").iter().any(|r| r["item"]["id"] == "b3"));
}

#[test]
fn a_file_that_breaks_off_mid_play_leaves_the_rest_of_its_slot_to_filler() {
    let s = station("");
    let d = Daemon::start(&s, "2021-10-01T05:29:57+07:00", None);
    s.wait_for(DAY, 20, "the opening", |r| {
        r["event"] == "start" && r["item"]["kind"] == "opening"
    });
    // Measured whole at load, cut to 40 % on disk before its turn (a damaged disk).
    let whole = std::fs::read(s.path("b3.flac")).unwrap();
    std::fs::write(s.path("b3.flac"), &whole[..whole.len() * 2 / 5]).unwrap();
    let log = s.wait_for(DAY, 60, "the closing to end", |r| {
        r["event"] == "end" && r["item"]["kind"] == "closing"
    });
    assert!(d.stop().success());
    assert_consistent(&log);
    let started = log
        .iter()
        .find(|r| r["event"] == "start" && r["item"]["id"] == "b3")
        .unwrap_or_else(|| panic!("b3 never started:\n{}", show(&log)));
    let stopped = log
        .iter()
        .skip_while(|r| *r != started)
        .find(|r| r["event"] != "start" && r["item"]["id"] == "b3")
        .unwrap();
    let next = log
        .iter()
        .skip_while(|r| *r != stopped)
        .find(|r| r["event"] == "start")
        .unwrap();
    assert_eq!(next["item"]["kind"], "fill", "{}", show(&log));
    let planned_end = ts(started, "scheduled") + chrono::TimeDelta::seconds(4);
    assert!(
        ts(next, "ts") < planned_end - chrono::TimeDelta::seconds(1),
        "filler only at {} (b3 planned to end {planned_end}):\n{}",
        next["ts"],
        show(&log)
    );
    assert!(
        (ts(next, "ts") - ts(stopped, "ts"))
            .num_milliseconds()
            .abs()
            < 100
    );
}

#[test]
fn a_failing_amplifier_is_retried_and_never_stops_the_broadcast() {
    let s = station("");
    s.write_amp_script("exit 3");
    let d = Daemon::start(&s, "2021-10-01T05:29:57+07:00", None);
    let log = s.wait_for(DAY, 40, "the third bulletin", |r| {
        r["event"] == "end" && r["item"]["campaign"] == "c" && r["item"]["id"] == "b3"
    });
    // Fix the relay: the next retry succeeds.
    s.write_amp_script("exit 0");
    let log2 = s.wait_for(DAY, 30, "a successful amp_on", |r| {
        r["event"] == "amp_on" && r.get("reason").is_none()
    });
    assert!(d.stop().success());

    let failed_on: Vec<&Value> = log
        .iter()
        .filter(|r| {
            r["event"] == "amp_on"
                && r["reason"]
                    .as_str()
                    .is_some_and(|x| x.contains("exited with exit status: 3"))
        })
        .collect();
    assert!(!failed_on.is_empty(), "{}", show(&log));
    assert!(
        failed_on[0]["reason"]
            .as_str()
            .unwrap()
            .contains("retrying")
    );
    assert!(
        events(&log, "end")
            .iter()
            .filter(|r| r["item"]["campaign"] == "c")
            .count()
            == 3,
        "broadcast went on"
    );
    assert!(
        events(&log2, "amp_on").len() >= 2,
        "retried: {}",
        show(&log2)
    );
    let tries = std::fs::read_to_string(s.path("amp.log")).unwrap();
    assert!(tries.matches("on").count() >= 2, "{tries}");
}

#[test]
fn a_bad_schedule_edit_keeps_the_last_good_one_and_a_fix_is_taken() {
    let s = station("");
    let d = Daemon::start(&s, "2021-10-01T05:29:57+07:00", None);
    s.wait_for(DAY, 20, "the opening", |r| {
        r["event"] == "start" && r["item"]["kind"] == "opening"
    });
    // A typo: the session is broken; the daemon must keep broadcasting the old plan.
    let good = std::fs::read_to_string(s.path("schedule.toml")).unwrap();
    std::fs::write(
        s.path("schedule.toml"),
        good.replace("plays_per_day = 3", "plays_per_dya = 3"),
    )
    .unwrap();
    d.signal("HUP");
    let log = s.wait_for(DAY, 30, "the third bulletin", |r| {
        r["event"] == "end" && r["item"]["id"] == "b3"
    });
    let daemon_log = std::fs::read_to_string(s.path("daemon.log")).unwrap();
    assert!(
        daemon_log.contains("schedule.toml:")
            && daemon_log.contains("có phải ý bạn là `plays_per_day`"),
        "{daemon_log}"
    );
    assert!(daemon_log.contains("last good schedule"), "{daemon_log}");
    assert_eq!(
        events(&log, "end")
            .iter()
            .filter(|r| r["item"]["campaign"] == "c")
            .count(),
        3
    );

    // A valid edit (by saving the file, no signal) is picked up: the closing goes away.
    std::fs::write(
        s.path("schedule.toml"),
        good.replace("closing = \"closing.wav\"\n", ""),
    )
    .unwrap();
    std::thread::sleep(Duration::from_secs(6));
    let daemon_log = std::fs::read_to_string(s.path("daemon.log")).unwrap();
    assert!(
        daemon_log.contains("configuration reloaded"),
        "{daemon_log}"
    );
    let log = s.wait_for(DAY, 40, "amplifier off after the session", |r| {
        r["event"] == "amp_off"
            && ts(r, "ts")
                >= chrono::DateTime::parse_from_rfc3339("2021-10-01T05:30:30+07:00").unwrap()
    });
    assert!(d.stop().success());
    assert!(
        !log.iter().any(|r| r["item"]["kind"] == "closing"),
        "the closing was removed by the edit:\n{}",
        show(&log)
    );
    assert_consistent(&log);
}

/// Stopped in the middle of a session, the station's last status said "amplifier on,
/// playing"; `loaxa status` then says what is true: not running, the amplifier off as the
/// as-run log's `amp_off` says, nothing playing.
#[test]
fn status_after_a_stop_says_what_the_as_run_log_says() {
    let s = station("");
    let d = Daemon::start(&s, "2021-10-01T05:29:57+07:00", None);
    s.wait_for(DAY, 20, "the opening", |r| {
        r["event"] == "start" && r["item"]["kind"] == "opening"
    });
    let status = |lang: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_loaxa"))
            .args([
                "--lang",
                lang,
                "--config",
                s.dir.path().to_str().unwrap(),
                "status",
            ])
            .output()
            .unwrap()
    };
    let running = status("vi");
    let text = String::from_utf8_lossy(&running.stdout);
    assert!(
        text.contains("ampli     bật") && text.contains("đang chạy"),
        "{text}"
    );
    assert!(d.stop().success());
    let log = s.wait_for(DAY, 10, "amp_off", |r| r["event"] == "amp_off");
    assert!(!log.is_empty());
    let stopped = status("vi");
    assert_eq!(stopped.status.code(), Some(1));
    let text = String::from_utf8_lossy(&stopped.stderr);
    assert!(text.contains("KHÔNG CHẠY"), "{text}");
    assert!(text.contains("ampli     tắt"), "{text}");
    assert!(text.contains("đang phát không có gì"), "{text}");
    let text = String::from_utf8_lossy(&status("en").stderr).into_owned();
    assert!(
        text.contains("amplifier off") && text.contains("playing   nothing"),
        "{text}"
    );
}

/// A reload takes the schedule at once; what only a restart can change (here the API's
/// address) is said so, in the status and by `loaxa status`, instead of a silent "reloaded".
#[test]
fn a_setting_that_needs_a_restart_says_so_at_reload() {
    let s = station("");
    let d = Daemon::start(&s, "2021-10-01T05:29:57+07:00", None);
    s.wait_for(DAY, 20, "the opening", |r| {
        r["event"] == "start" && r["item"]["kind"] == "opening"
    });
    let api = s.api();
    crate::live::push::wait_for_api(&api);
    let toml = std::fs::read_to_string(s.path("station.toml")).unwrap();
    let port = api.rsplit(':').next().unwrap().to_string();
    let moved = crate::live::free_port().to_string();
    std::fs::write(s.path("station.toml"), toml.replace(&port, &moved)).unwrap();
    d.signal("HUP");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let reload = loop {
        let status = crate::live::push::get_json(&api, "/api/v1/status");
        if status["last_reload"]["restart_needed"].is_array() {
            break status["last_reload"].clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no reload reported: {status}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert_eq!(reload["ok"], true, "{reload}");
    assert_eq!(reload["restart_needed"][0], "[api] listen", "{reload}");
    // The old address still answers: the socket is the one opened at start.
    std::fs::write(s.path("station.toml"), &toml).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_loaxa"))
        .args(["--config", s.dir.path().to_str().unwrap(), "status"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("KHỞI ĐỘNG LẠI") && text.contains("[api] listen"),
        "{text}"
    );
    assert!(d.stop().success());
}
