//! End to end through a real sound server: the daemon broadcasts a short session of
//! distinct tones to a PulseAudio null sink; the sink's monitor is recorded, and the tones
//! found in the recording are checked against the plan and the as-run log.

use crate::live;

use std::time::Duration;

use chrono::TimeDelta;
use live::*;

const OPENING: u32 = 950;
const BULLETIN: u32 = 620;
const LOCAL: u32 = 400;
const FIXED: u32 = 700;
const FILL: u32 = 1250;
const CLOSING: u32 = 520;

fn schedule() -> String {
    r#"
[fill]
folder = "music"

[[session]]
name = "Thử nghiệm"
start = "05:30:00"
end = "05:30:25"
opening = "opening.wav"
closing = "closing.flac"

  [[session.item]]
  at = "05:30:15"
  file = "fixed.mp3"

  [[session.item]]
  file = "local.ogg"

[[campaign]]
id = "c"
from = 2021-10-01
until = 2021-10-31
plays_per_day = 1
priority = "priority"

[[bulletin]]
id = "b1"
file = "bulletin.mp3"
campaign = "c"
"#
    .into()
}

#[test]
fn a_session_of_tones_is_heard_in_order_and_on_time() {
    let pulse = Pulse::start();
    let station = Station::new("pulse:amp", &schedule());
    std::fs::create_dir(station.path("music")).unwrap();
    tone(&station.path("opening.wav"), OPENING, 1.5);
    tone(&station.path("bulletin.mp3"), BULLETIN, 3.0);
    tone(&station.path("local.ogg"), LOCAL, 2.0);
    tone(&station.path("fixed.mp3"), FIXED, 3.0);
    tone(&station.path("music/fill.wav"), FILL, 4.0);
    tone(&station.path("closing.flac"), CLOSING, 2.0);

    let recording = station.path("recording.wav");
    let recorder = pulse.recorder(&recording);
    std::thread::sleep(Duration::from_millis(200));
    let daemon = Daemon::start(&station, "2021-10-01T05:29:56+07:00", Some(&pulse));
    let log = station.wait_for("2021-10-01", 60, "the session to end", |r| {
        r["event"] == "end" && r["item"]["kind"] == "closing"
    });
    std::thread::sleep(Duration::from_millis(200));
    // Each chunk of the recording is placed by when it arrived (see `live::lay_out`).
    let heard_rec = recorder.stop(&daemon);
    assert!(daemon.stop().success());
    let (rate, samples, rec_zero) = (heard_rec.rate, heard_rec.samples, heard_rec.zero);
    let found = tone_segments(
        rate,
        &samples,
        &[OPENING, BULLETIN, LOCAL, FIXED, FILL, CLOSING],
    );
    let heard: Vec<u32> = found
        .iter()
        .map(|s| s.freq)
        .filter(|f| *f != FILL)
        .collect();
    assert_eq!(
        heard,
        [OPENING, BULLETIN, LOCAL, FIXED, CLOSING],
        "order heard: {found:?}"
    );

    // Planned starts: opening 05:30:00, bulletin +1.5 s, local +4.5 s, fixed at 05:30:15,
    // closing 2 s before the end.
    let plan_at = |secs: f64| {
        chrono::DateTime::parse_from_rfc3339("2021-10-01T05:30:00+07:00").unwrap()
            + TimeDelta::milliseconds((secs * 1000.0) as i64)
    };
    let expected = [
        (OPENING, plan_at(0.0)),
        (BULLETIN, plan_at(1.5)),
        (LOCAL, plan_at(4.5)),
        (FIXED, plan_at(15.0)),
        (CLOSING, plan_at(23.0)),
    ];
    let starts = log
        .iter()
        .filter(|r| r["event"] == "start")
        .collect::<Vec<_>>();
    let mut report = String::new();
    for (freq, planned) in expected {
        let seg = found.iter().find(|s| s.freq == freq).unwrap();
        let heard_at = rec_zero + TimeDelta::milliseconds((seg.start * 1000.0) as i64);
        let off_plan = (heard_at - planned).num_milliseconds();
        let logged = starts
            .iter()
            .find(|r| ts(&r["item"], "start") == planned)
            .unwrap_or_else(|| panic!("no as-run start for {planned}:\n{}", show(&log)));
        let off_log = (heard_at - ts(logged, "ts")).num_milliseconds();
        report += &format!(
            "{freq} Hz: heard {heard_at}, {off_plan:+} ms from plan, {off_log:+} ms from as-run (late_ms {})\n",
            logged["late_ms"]
        );
        assert!(
            off_plan.abs() <= 100,
            "{freq} Hz heard {off_plan} ms off the plan\n{report}"
        );
        assert!(
            off_log.abs() <= 100,
            "{freq} Hz heard {off_log} ms off its as-run time\n{report}"
        );
        assert!(logged["late_ms"].as_i64().unwrap().abs() <= 50, "{report}");
    }
    println!("{report}");

    // The amplifier went on before the first sound and off after the last.
    let amp_on = log
        .iter()
        .find(|r| r["event"] == "amp_on")
        .expect("amp_on logged");
    assert!(
        ts(amp_on, "ts") <= plan_at(-1.0),
        "amplifier on at {} leaves no warmup",
        amp_on["ts"]
    );
    let amp_log = std::fs::read_to_string(station.path("amp.log")).unwrap();
    assert!(
        amp_log.ends_with("on\noff\n"),
        "amplifier commands: {amp_log:?}"
    );
}

#[test]
fn a_lost_sound_server_is_reopened_and_the_schedule_keeps_time() {
    let mut pulse = Pulse::start();
    let schedule = r#"
[fill]
folder = "music"

[[session]]
name = "Sáng"
start = "05:30:00"
end = "05:30:50"
closing = "closing.flac"

  [[session.item]]
  at = "05:30:30"
  file = "fixed.mp3"

[[campaign]]
id = "c"
from = 2021-10-01
until = 2021-10-31
plays_per_day = 1

[[bulletin]]
id = "b1"
file = "bulletin.mp3"
campaign = "c"
"#;
    let station = Station::new("pulse:amp", schedule);
    std::fs::create_dir(station.path("music")).unwrap();
    tone(&station.path("bulletin.mp3"), BULLETIN, 6.0);
    tone(&station.path("fixed.mp3"), FIXED, 3.0);
    tone(&station.path("music/fill.wav"), FILL, 4.0);
    tone(&station.path("closing.flac"), CLOSING, 2.0);
    let daemon = Daemon::start(&station, "2021-10-01T05:29:56+07:00", Some(&pulse));
    station.wait_for("2021-10-01", 30, "the bulletin", |r| {
        r["event"] == "start" && r["item"]["id"] == "b1"
    });
    std::thread::sleep(Duration::from_secs(2));
    pulse.kill();
    std::thread::sleep(Duration::from_secs(4));
    pulse.restart();
    let log = station.wait_for("2021-10-01", 60, "the closing to end", |r| {
        r["event"] == "end" && r["item"]["kind"] == "closing"
    });
    assert!(daemon.stop().success());

    let lost = log
        .iter()
        .find(|r| r["event"] == "interrupted")
        .unwrap_or_else(|| panic!("no interruption logged:\n{}", show(&log)));
    assert_eq!(lost["item"]["id"], "b1");
    // The unfinished bulletin is played again once the output is back (it never aired in full).
    assert!(
        log.iter()
            .any(|r| r["event"] == "end" && r["item"]["id"] == "b1"),
        "{}",
        show(&log)
    );
    // The schedule kept time: the fixed item and the closing are on time.
    let fixed = log
        .iter()
        .find(|r| r["event"] == "start" && r["item"]["id"] == "fixed.mp3")
        .unwrap();
    assert!(
        fixed["late_ms"].as_i64().unwrap().abs() <= 50,
        "{fixed}\n{}",
        show(&log)
    );
    let closing = log
        .iter()
        .find(|r| r["event"] == "start" && r["item"]["kind"] == "closing")
        .unwrap();
    assert!(
        closing["late_ms"].as_i64().unwrap().abs() <= 50,
        "{closing}"
    );
}

/// Each session opens a stream and closes it; a connection per stream used to leave the
/// old one open (with its I/O thread and a megabyte of buffer) every session.
#[test]
fn sessions_one_after_another_share_one_connection_to_the_sound_server() {
    let mut schedule = String::new();
    for i in 0..4 {
        schedule += &format!(
            "[[session]]\nname = \"S{i}\"\nstart = \"05:30:{:02}\"\nend = \"05:30:{:02}\"\n  \
             [[session.item]]\n  file = \"short.wav\"\n",
            i * 6,
            i * 6 + 1
        );
    }
    let pulse = Pulse::start();
    let station = Station::new("pulse:amp", &schedule);
    tone(&station.path("short.wav"), FIXED, 0.5);
    let daemon = Daemon::start(&station, "2021-10-01T05:29:58+07:00", Some(&pulse));
    let clients = || {
        pulse
            .pactl(&["list", "clients"])
            .lines()
            .filter(|l| l.trim() == "application.name = \"loaxa\"")
            .count()
    };
    let mut seen = Vec::new();
    for i in 0..4 {
        let start = format!("2021-10-01T05:30:{:02}", i * 6);
        station.wait_for("2021-10-01", 30, "a session's item to end", |r| {
            r["event"] == "end" && r["ts"].as_str().is_some_and(|t| *t > *start)
        });
        // Between sessions: the stream is closed.
        std::thread::sleep(Duration::from_millis(2500));
        seen.push(clients());
    }
    assert!(daemon.stop().success());
    assert_eq!(seen, [1, 1, 1, 1], "loaxa's connections after each session");
}

#[test]
fn the_wav_output_records_exactly_what_the_card_gets() {
    let schedule = r#"
[[session]]
name = "Sáng"
start = "05:30:00"
end = "05:30:12"
opening = "opening.wav"

  [[session.item]]
  file = "bulletin.mp3"

  [[session.item]]
  at = "05:30:08"
  file = "fixed.mp3"
"#;
    let station = Station::new("wav:out.wav", schedule);
    tone(&station.path("opening.wav"), OPENING, 1.5);
    tone(&station.path("bulletin.mp3"), BULLETIN, 3.0);
    tone(&station.path("fixed.mp3"), FIXED, 2.0);
    let daemon = Daemon::start(&station, "2021-10-01T05:29:57+07:00", None);
    let log = station.wait_for("2021-10-01", 30, "the fixed item to end", |r| {
        r["event"] == "end" && r["item"]["id"] == "fixed.mp3"
    });
    assert!(daemon.stop().success());

    // The file starts when the device opens (amp on + warmup before 05:30:00); the first
    // tone is at 05:30:00 on the as-run clock, and every later one at its planned offset.
    let (rate, samples) = read_wav(&station.path("out.wav"));
    let found = tone_segments(rate, &samples, &[OPENING, BULLETIN, FIXED]);
    let freqs: Vec<u32> = found.iter().map(|s| s.freq).collect();
    assert_eq!(freqs, [OPENING, BULLETIN, FIXED], "{found:?}");
    let zero = found[0].start;
    let offsets: Vec<f64> = found.iter().map(|s| s.start - zero).collect();
    for (got, want) in offsets.iter().zip([0.0, 1.5, 8.0]) {
        assert!(
            (got - want).abs() <= 0.03,
            "tone at +{got:.3} s, planned +{want} s"
        );
    }
    // Between the bulletin and the fixed item the card got silence (no [fill] here).
    assert!(found[1].end - zero < 4.6 && found[2].start - zero > 7.9);
    let start_fixed = log
        .iter()
        .find(|r| r["event"] == "start" && r["item"]["id"] == "fixed.mp3")
        .unwrap();
    assert_eq!(start_fixed["ts"], "2021-10-01T05:30:08.000+07:00");
}

#[test]
fn play_is_a_sound_check_with_the_amplifier() {
    let station = Station::new("wav:check.wav", "");
    tone(&station.path("check.ogg"), BULLETIN, 1.0);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_loaxa"))
        .args([
            "--config",
            station.dir.path().to_str().unwrap(),
            "play",
            station.path("check.ogg").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("played"));
    assert_eq!(
        std::fs::read_to_string(station.path("amp.log")).unwrap(),
        "on\noff\n"
    );
    let (rate, samples) = read_wav(&station.path("check.wav"));
    let found = tone_segments(rate, &samples, &[BULLETIN]);
    assert_eq!(found.len(), 1);
    assert!(
        (found[0].end - found[0].start - 1.0).abs() < 0.05,
        "{found:?}"
    );

    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_loaxa"))
        .args([
            "--config",
            station.dir.path().to_str().unwrap(),
            "play",
            "/nonexistent.mp3",
        ])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("nonexistent.mp3"));
}

#[test]
fn the_recording_timeline_ignores_a_late_reader_and_keeps_the_place_of_dropped_samples() {
    use std::time::{Duration as D, SystemTime};
    let t0 = SystemTime::UNIX_EPOCH + D::from_secs(1_000_000);
    let rate = 1000;
    // 10 chunks of 100 samples, each arriving 5 ms after it is complete (the pipe), except
    // chunk 3, read 300 ms late (a busy machine); chunk 5 is lost, so from chunk 6 on the
    // sample count is 100 behind the arrival times.
    let mut chunks = Vec::new();
    for i in 0..10u64 {
        let mut arrive = t0 + D::from_millis(100 * (i + 1) + 5);
        if i == 3 {
            arrive += D::from_millis(300);
        }
        if i == 5 {
            continue; // dropped
        }
        chunks.push((arrive, vec![i as f32; 100]));
    }
    let (zero, samples) = live::lay_out(&chunks, rate);
    // First sample captured at t0 (+5 ms of pipe delay, which no stamp can reveal).
    assert_eq!(zero, t0 + D::from_millis(5));
    assert_eq!(samples.len(), 1000, "the dropped chunk is kept as silence");
    for i in 0..10usize {
        let want = if i == 5 { 0.0 } else { i as f32 };
        assert!(
            samples[i * 100..(i + 1) * 100].iter().all(|s| *s == want),
            "chunk {i} out of place"
        );
    }
}
