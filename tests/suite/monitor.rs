//! Proof of air (SPEC §14 `[monitor]`) through a real PulseAudio: the station plays to
//! the null sink `amp` and listens to `amp.monitor`. A quiet but present bulletin is no
//! false alarm and is heard; the sink muted mid-item (`pactl set-sink-mute`) is an as-run
//! `silence` record within the threshold, in the status, the page's data and `/metrics`,
//! the item's `end` says `"heard": "silent"`, and sound coming back clears it. Through a
//! loopback (as a line-in from the amplifier's output would be) speech is heard; another
//! recording on that line while the station plays is a `mismatch`.

use crate::live;

use std::process::Command;
use std::time::{Duration, Instant};

use live::push::*;
use live::*;

fn mute(pulse: &Pulse, on: bool) {
    pulse.pactl(&["set-sink-mute", "amp", if on { "1" } else { "0" }]);
}

#[test]
fn a_muted_sink_is_dead_air_and_a_quiet_bulletin_is_not() {
    let pulse = Pulse::start();
    let station = Station::new(
        "pulse:amp",
        r#"
[[session]]
name = "Sáng"
start = "05:30:00"
end = "05:30:40"

  [[session.item]]
  file = "quiet.wav"

  [[session.item]]
  file = "loud.wav"
"#,
    );
    station.add_station_toml(
        "[monitor]\ninput = \"pulse:amp.monitor\"\nsilence_below = -50.0\nsilence_for = \"2s\"\n",
    );
    // The province hears of dead air on the fleet channel.
    let broker = live::mqtt::Mosquitto::start();
    station.add_station_toml(&format!(
        "[fleet]\nbroker = \"{}\"\nprefix = \"loaxa/t\"\n",
        broker.url()
    ));
    let events = broker.subscribe("loaxa/t/station/test/event");
    // About -43 dBFS: quiet, but above the threshold.
    run(
        "sox",
        &[
            "-n",
            "-r",
            "44100",
            "-c",
            "1",
            "-b",
            "16",
            station.path("quiet.wav").to_str().unwrap(),
            "synth",
            "8",
            "sine",
            "440",
            "vol",
            "0.01",
        ],
    );
    tone(&station.path("loud.wav"), 660, 25.0);
    let daemon = Daemon::start(&station, "2021-10-01T05:29:57+07:00", Some(&pulse));
    let api = station.api();
    wait_for_api(&api);
    let day = "2021-10-01";
    station.wait_for(day, 30, "the loud item to start", |r| {
        r["event"] == "start" && r["item"]["id"] == "loud.wav"
    });
    let log = station.asrun(day);
    assert!(
        log.iter().all(|r| r["event"] != "silence"),
        "a quiet bulletin is not dead air: {}",
        show(&log)
    );
    std::thread::sleep(Duration::from_secs(3));

    let muted_at = daemon.rehearsal_now();
    mute(&pulse, true);
    let log = station.wait_for(day, 10, "the dead air record", |r| r["event"] == "silence");
    let found = Instant::now();
    let silence = log.iter().find(|r| r["event"] == "silence").unwrap();
    assert_eq!(silence["item"]["id"], "loud.wav", "{silence}");
    let since = ts(silence, "ts");
    let lag = (since - muted_at).num_milliseconds();
    assert!(
        (-200..1500).contains(&lag),
        "silence from {since}, muted at {muted_at}"
    );
    assert!(
        silence["reason"]
            .as_str()
            .unwrap()
            .contains("pulse:amp.monitor"),
        "{silence}"
    );
    let status = get_json(&api, "/api/v1/status");
    assert!(
        status["silence"]["since"].is_string(),
        "{status:#}\n{}",
        std::fs::read_to_string(station.path("daemon.log")).unwrap_or_default()
    );
    let metrics = Command::new("curl")
        .args(["-s", &format!("{api}/metrics")])
        .output()
        .unwrap();
    let metrics = String::from_utf8_lossy(&metrics.stdout).to_string();
    assert!(metrics.contains("loaxa_silence_total 1"), "{metrics}");
    assert!(metrics.contains("loaxa_silence_now 1"), "{metrics}");
    println!(
        "muted at {muted_at}; dead air recorded from {since}, written {} ms before the status was read",
        found.elapsed().as_millis()
    );

    // Sound back: the flag goes, and one stretch of silence is one record.
    mute(&pulse, false);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !get_json(&api, "/api/v1/status")["silence"].is_null() {
        assert!(
            Instant::now() < deadline,
            "the dead air flag stayed after the unmute"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = station.wait_for(day, 30, "the session to end", |r| {
        r["event"] == "amp_off" && r["ts"].as_str() > Some("2021-10-01T05:30:3")
    });
    assert_eq!(
        log.iter().filter(|r| r["event"] == "silence").count(),
        1,
        "{}",
        show(&log)
    );
    assert_eq!(heard(&log, "quiet.wav"), "yes", "{}", show(&log));
    assert_eq!(heard(&log, "loud.wav"), "silent", "{}", show(&log));
    let m = events.wait_for(5, "the dead air and not-heard events", |m| m.len() >= 2);
    let kinds: Vec<(&str, &str)> = m
        .iter()
        .map(|(_, e)| {
            (
                e["event"].as_str().unwrap_or(""),
                e["item"]["id"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [("silence", "loud.wav"), ("not_heard", "loud.wav")],
        "{m:#?}"
    );
    assert_eq!(m[1].1["heard"], "silent");
    assert!(daemon.stop().success());
}

/// The `heard` of an item's `end` record.
fn heard(log: &[serde_json::Value], id: &str) -> String {
    log.iter()
        .find(|r| r["event"] == "end" && r["item"]["id"] == id)
        .map(|r| r["heard"].as_str().unwrap_or("(none)").to_string())
        .unwrap_or_else(|| "(no end)".into())
}

fn speak(path: &std::path::Path, text: &str) {
    run(
        "espeak-ng",
        &["-v", "vi", "-w", path.to_str().unwrap(), text],
    );
}

#[test]
fn speech_through_a_line_in_is_heard_and_another_recording_is_a_mismatch() {
    let pulse = Pulse::start();
    // `line` stands for the line-in: it hears the amplifier's output through a loopback.
    pulse.pactl(&[
        "load-module",
        "module-null-sink",
        "sink_name=line",
        "rate=48000",
    ]);
    let loopback = pulse.pactl(&[
        "load-module",
        "module-loopback",
        "source=amp.monitor",
        "sink=line",
        "latency_msec=100",
    ]);
    let station = Station::new(
        "pulse:amp",
        r#"
[[session]]
name = "Sáng"
start = "05:30:00"
end = "05:30:40"

  [[session.item]]
  file = "a.wav"

  [[session.item]]
  file = "b.wav"
"#,
    );
    station.add_station_toml("[monitor]\ninput = \"pulse:line.monitor\"\n");
    speak(
        &station.path("a.wav"),
        "Thông báo của Ủy ban nhân dân xã về phòng chống bão lũ, đề nghị bà con chú ý lắng nghe.",
    );
    speak(
        &station.path("b.wav"),
        "Lịch tiêm chủng mở rộng tháng này tại trạm y tế xã, các gia đình có trẻ nhỏ đưa cháu đến đúng giờ.",
    );
    speak(
        &station.path("other.wav"),
        "Hôm nay trời nắng, nhiệt độ cao nhất ba mươi hai độ, gió đông nam cấp hai đến cấp ba, chiều tối có mưa rào.",
    );
    let daemon = Daemon::start(&station, "2021-10-01T05:29:57+07:00", Some(&pulse));
    let day = "2021-10-01";
    station.wait_for(day, 40, "b.wav to start", |r| {
        r["event"] == "start" && r["item"]["id"] == "b.wav"
    });
    // The line now carries another recording, not what the station sends.
    pulse.pactl(&["unload-module", &loopback]);
    let mut other = Command::new("paplay")
        .args(["--device=line", station.path("other.wav").to_str().unwrap()])
        .env("PULSE_SERVER", pulse.server())
        .spawn()
        .unwrap();
    let log = station.wait_for(day, 30, "b.wav to end", |r| {
        r["event"] == "end" && r["item"]["id"] == "b.wav"
    });
    let _ = other.kill();
    let _ = other.wait();
    let verdicts: String = std::fs::read_to_string(station.path("daemon.log"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("heard:"))
        .map(|l| format!("{l}\n"))
        .collect();
    println!("{verdicts}");
    assert_eq!(heard(&log, "a.wav"), "yes", "{}{verdicts}", show(&log));
    assert_eq!(heard(&log, "b.wav"), "mismatch", "{}{verdicts}", show(&log));
    assert!(daemon.stop().success());
}
