//! Emergencies and pushes end to end: the daemon plays to a PulseAudio null sink, the
//! province pushes with `curl -F` (manifests signed by the `minisign` tool), and what was
//! heard is read back from the recording.

use crate::live;

use std::time::{Duration, SystemTime};

use chrono::{DateTime, FixedOffset, TimeDelta};
use live::push::*;
use live::*;
use serde_json::Value;

const BULLETIN: u32 = 440;
const EMERGENCY: u32 = 1000;
const START_CHIME: u32 = 1500;
const END_CHIME: u32 = 1800;
const FILL: u32 = 700;
const PUSHED: u32 = 600;

/// A station trusting `province`, with emergency chimes, and the tones it plays.
fn station(province: &Province, schedule: &str) -> Station {
    let station = Station::new("pulse:amp", schedule);
    station.write_amp_script("exit 0");
    station.add_station_toml(&province.trust());
    station.add_station_toml(
        "[emergency]\nstart_chime = \"chime-start.wav\"\nend_chime = \"chime-end.wav\"\n",
    );
    tone(&station.path("chime-start.wav"), START_CHIME, 0.7);
    tone(&station.path("chime-end.wav"), END_CHIME, 0.7);
    tone(&station.path("emergency.mp3"), EMERGENCY, 2.0);
    station
}

/// The rehearsal-clock time of a real instant.
fn rehearsal(daemon: &Daemon, t: SystemTime) -> DateTime<FixedOffset> {
    daemon.start_at + TimeDelta::from_std(t.duration_since(daemon.spawned).unwrap()).unwrap()
}

fn events<'a>(log: &'a [Value], event: &str, id: &str) -> Vec<&'a Value> {
    log.iter()
        .filter(|r| r["event"] == event && r["item"]["id"] == id)
        .collect()
}

#[test]
fn an_emergency_breaks_into_a_bulletin_which_then_restarts() {
    let pulse = Pulse::start();
    let province = Province::new();
    let station = station(
        &province,
        r#"
[fill]
folder = "music"

[[session]]
name = "Sáng"
start = "05:30:00"
end = "05:31:00"

[[bulletin]]
id = "tin-sang"
file = "bulletin.mp3"
"#,
    );
    std::fs::create_dir(station.path("music")).unwrap();
    tone(&station.path("music/fill.wav"), FILL, 30.0);
    tone(&station.path("bulletin.mp3"), BULLETIN, 8.0);

    let recording = station.path("recording.wav");
    let recorder = pulse.recorder(&recording);
    let daemon = Daemon::start(&station, "2021-10-01T05:29:57+07:00", Some(&pulse));
    let api = station.api();
    wait_for_api(&api);
    station.wait_for("2021-10-01", 30, "the bulletin to start", |r| {
        r["event"] == "start" && r["item"]["id"] == "tin-sang"
    });
    std::thread::sleep(Duration::from_secs(3));

    let manifest = bulletin(
        "khan-cap-01",
        &station.path("emergency.mp3"),
        "emergency",
        Some(2),
    );
    let pushed_real = SystemTime::now();
    let (status, body) = province.push(&api, &manifest, Some(&station.path("emergency.mp3")));
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["plays_at"], "now", "{body}");
    let pushed_at = rehearsal(&daemon, pushed_real);

    let log = station.wait_for(
        "2021-10-01",
        40,
        "the bulletin to end after the emergency",
        |r| r["event"] == "end" && r["item"]["id"] == "tin-sang",
    );
    let heard = recorder.stop(&daemon);
    assert!(daemon.stop().success());

    // Heard: the bulletin (cut), start chime, the emergency twice, end chime, the
    // bulletin again from its start, then fill.
    let (rate, samples) = (heard.rate, &heard.samples);
    let found = tone_segments(
        rate,
        samples,
        &[BULLETIN, EMERGENCY, START_CHIME, END_CHIME, FILL],
    );
    let order: Vec<u32> = found
        .iter()
        .map(|s| s.freq)
        .filter(|f| *f != FILL)
        .collect();
    assert_eq!(
        order,
        [
            BULLETIN,
            START_CHIME,
            EMERGENCY,
            EMERGENCY,
            END_CHIME,
            BULLETIN
        ],
        "heard: {found:?}"
    );
    let chime = found.iter().find(|s| s.freq == START_CHIME).unwrap();
    let latency = (heard.time(chime.start) - pushed_at).num_milliseconds();
    println!("push → first emergency sample heard: {latency} ms");
    assert!(
        latency < 1000,
        "emergency heard {latency} ms after the push"
    );
    let restarted = found.iter().rev().find(|s| s.freq == BULLETIN).unwrap();
    assert!(
        (restarted.end - restarted.start - 8.0).abs() < 0.3,
        "the interrupted bulletin replays whole: {restarted:?}"
    );

    // The as-run log says the same.
    let cut = events(&log, "interrupted", "tin-sang");
    assert_eq!(cut.len(), 1, "{}", show(&log));
    assert!(cut[0]["reason"].as_str().unwrap().contains("emergency"));
    let plays = events(&log, "end", "khan-cap-01");
    assert_eq!(plays.len(), 2, "{}", show(&log));
    for p in &plays {
        assert_eq!(p["item"]["priority"], "emergency");
        assert_eq!(p["item"]["source"], "push");
    }
    assert_eq!(events(&log, "end", "emergency-start-chime").len(), 1);
    assert_eq!(events(&log, "end", "emergency-end-chime").len(), 1);
    assert_eq!(events(&log, "start", "tin-sang").len(), 2);
    // The amplifier was on already: no switching in between (the last off is the stop).
    let amp = std::fs::read_to_string(station.path("amp.log")).unwrap();
    assert_eq!(
        amp.lines().collect::<Vec<_>>(),
        ["off", "on", "off"],
        "{amp}"
    );
}

#[test]
fn emergencies_outside_session_hours_switch_the_amplifier_and_queue() {
    let pulse = Pulse::start();
    let province = Province::new();
    let station = station(
        &province,
        r#"
[[session]]
name = "Chiều"
start = "17:00"
end = "18:00"
"#,
    );
    tone(&station.path("second.ogg"), PUSHED, 1.5);
    let recording = station.path("recording.wav");
    let recorder = pulse.recorder(&recording);
    let daemon = Daemon::start(&station, "2021-10-01T02:00:00+07:00", Some(&pulse));
    let api = station.api();
    wait_for_api(&api);

    // Two emergencies in a row: the second queues behind the first.
    let first = bulletin(
        "dem-01",
        &station.path("emergency.mp3"),
        "emergency",
        Some(2),
    );
    let second = bulletin("dem-02", &station.path("second.ogg"), "emergency", Some(1));
    let pushed_real = SystemTime::now();
    let (s1, b1) = province.push(&api, &first, Some(&station.path("emergency.mp3")));
    let (s2, b2) = province.push(&api, &second, Some(&station.path("second.ogg")));
    assert_eq!((s1, s2), (202, 202), "{b1} {b2}");
    let pushed_at = rehearsal(&daemon, pushed_real);

    let log = station.wait_for("2021-10-01", 40, "the amplifier to go off again", |r| {
        r["event"] == "amp_off"
            && r["reason"].is_null()
            && r["ts"].as_str() > Some("2021-10-01T02:00:01")
    });
    let heard = recorder.stop(&daemon);
    assert!(daemon.stop().success());

    let (rate, samples) = (heard.rate, &heard.samples);
    let found = tone_segments(rate, samples, &[EMERGENCY, PUSHED, START_CHIME, END_CHIME]);
    let order: Vec<u32> = found.iter().map(|s| s.freq).collect();
    println!("{}", show(&log));
    assert_eq!(
        order,
        [
            START_CHIME,
            EMERGENCY,
            EMERGENCY,
            END_CHIME,
            START_CHIME,
            PUSHED,
            END_CHIME
        ],
        "heard: {found:?}"
    );
    // Off-air, the amplifier's 1 s warmup comes first.
    let latency = (heard.time(found[0].start) - pushed_at).num_milliseconds();
    println!("push → first emergency sample, amplifier off (1 s warmup): {latency} ms");
    assert!(latency < 2000, "heard {latency} ms after the push");

    let amp = std::fs::read_to_string(station.path("amp.log")).unwrap();
    assert_eq!(
        amp.lines().collect::<Vec<_>>(),
        ["off", "on", "off"],
        "{amp}"
    );
    let amp_on = log.iter().find(|r| r["event"] == "amp_on").unwrap();
    let first_start = log.iter().find(|r| r["event"] == "start").unwrap();
    assert!(ts(first_start, "ts") - ts(amp_on, "ts") >= TimeDelta::milliseconds(950));
    assert_eq!(events(&log, "end", "dem-01").len(), 2);
    assert_eq!(events(&log, "end", "dem-02").len(), 1);
}

#[test]
fn a_priority_push_plays_next_and_a_cancel_stops_it_within_a_second() {
    let pulse = Pulse::start();
    let province = Province::new();
    let station = station(
        &province,
        r#"
[fill]
folder = "music"

[[session]]
name = "Sáng"
start = "05:30:00"
end = "05:31:00"

[[bulletin]]
id = "tin-sang"
file = "bulletin.mp3"
"#,
    );
    std::fs::create_dir(station.path("music")).unwrap();
    tone(&station.path("music/fill.wav"), FILL, 40.0);
    tone(&station.path("bulletin.mp3"), BULLETIN, 3.0);
    tone(&station.path("pushed.m4a"), PUSHED, 10.0);

    let recording = station.path("recording.wav");
    let recorder = pulse.recorder(&recording);
    let daemon = Daemon::start(&station, "2021-10-01T05:29:58+07:00", Some(&pulse));
    let api = station.api();
    wait_for_api(&api);
    station.wait_for("2021-10-01", 30, "fill to start", |r| {
        r["event"] == "start" && r["item"]["kind"] == "fill"
    });
    std::thread::sleep(Duration::from_secs(1));

    // The province's own tool, with the key minisign made.
    let pushed_real = SystemTime::now();
    let out = loaxa(&[
        "push",
        &api,
        station.path("pushed.m4a").to_str().unwrap(),
        "--key",
        province.key().to_str().unwrap(),
        "--title",
        "Thông báo tiêm chủng",
        "--priority",
        "priority",
        "--id",
        "uu-tien-01",
        "--expires",
        "2h",
    ]);
    let answer = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{answer} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(answer.starts_with("202 "), "{answer}");
    let pushed_at = rehearsal(&daemon, pushed_real);

    station.wait_for("2021-10-01", 20, "the pushed bulletin to start", |r| {
        r["event"] == "start" && r["item"]["id"] == "uu-tien-01"
    });
    let plan = get_json(&api, "/api/v1/plan?date=2021-10-01");
    let planned = plan["sessions"][0]["items"].as_array().unwrap();
    assert!(
        planned
            .iter()
            .any(|i| i["id"] == "uu-tien-01" && i["source"] == "push"),
        "{plan}"
    );
    // `loaxa status` asks the running daemon.
    let status = loaxa(&[
        "--config",
        station.dir.path().to_str().unwrap(),
        "status",
        "--json",
    ]);
    assert!(status.status.success());
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["now_playing"]["id"], "uu-tien-01", "{status}");
    std::thread::sleep(Duration::from_secs(3));

    let cancel_real = SystemTime::now();
    let (code, body) = province.push(&api, &cancel("huy-01", "uu-tien-01"), None);
    assert_eq!(code, 202, "{body}");
    let cancelled_at = rehearsal(&daemon, cancel_real);
    let log = station.wait_for("2021-10-01", 10, "the cancelled bulletin to stop", |r| {
        r["event"] == "interrupted" && r["item"]["id"] == "uu-tien-01"
    });
    std::thread::sleep(Duration::from_millis(2700));
    let heard = recorder.stop(&daemon);
    let plan_after = get_json(&api, "/api/v1/plan?date=2021-10-01");
    let asrun_api = get_json(&api, "/api/v1/asrun?date=2021-10-01");
    assert!(daemon.stop().success());
    // The API serves the as-run log as it is on disk.
    let on_disk = station.asrun("2021-10-01");
    let served = asrun_api.as_array().unwrap();
    assert!(served.len() <= on_disk.len() && served.len() >= log.len());
    assert_eq!(served[..], on_disk[..served.len()]);

    let (rate, samples) = (heard.rate, &heard.samples);
    let found = tone_segments(rate, samples, &[BULLETIN, FILL, PUSHED]);
    let order: Vec<u32> = found.iter().map(|s| s.freq).collect();
    assert_eq!(order, [BULLETIN, FILL, PUSHED, FILL], "heard: {found:?}");
    let pushed = found[2];
    let waited = (heard.time(pushed.start) - pushed_at).num_milliseconds();
    let stopped_after = (heard.time(pushed.end) - cancelled_at).num_milliseconds();
    println!(
        "priority push → heard: {waited} ms (fill faded out); cancel → silent: {stopped_after} ms"
    );
    assert!(waited < 1500, "the priority push waited {waited} ms");
    assert!(
        stopped_after < 1000,
        "the cancelled bulletin went on {stopped_after} ms"
    );

    let cut = events(&log, "interrupted", "uu-tien-01");
    assert!(
        cut[0]["reason"].as_str().unwrap().contains("cancelled"),
        "{}",
        show(&log)
    );
    let items = plan_after["sessions"][0]["items"].as_array().unwrap();
    assert!(
        !items.iter().any(|i| i["id"] == "uu-tien-01"),
        "{plan_after}"
    );
}

#[test]
fn an_emergency_cut_by_a_crash_plays_again_after_the_restart_and_only_then() {
    let province = Province::new();
    let station = Station::new(
        "null",
        "[[session]]\nname = \"Chiều\"\nstart = \"17:00\"\nend = \"18:00\"\n",
    );
    station.write_amp_script("exit 0");
    station.add_station_toml(&province.trust());
    tone(&station.path("emergency.mp3"), EMERGENCY, 3.0);
    let daemon = Daemon::start(&station, "2021-10-01T02:00:00+07:00", None);
    let api = station.api();
    wait_for_api(&api);
    let manifest = bulletin(
        "lu-01",
        &station.path("emergency.mp3"),
        "emergency",
        Some(2),
    );
    let (code, body) = province.push(&api, &manifest, Some(&station.path("emergency.mp3")));
    assert_eq!(code, 202, "{body}");
    station.wait_for("2021-10-01", 20, "the emergency to start", |r| {
        r["event"] == "start" && r["item"]["id"] == "lu-01"
    });
    std::thread::sleep(Duration::from_millis(1000));
    let crash_at = daemon.rehearsal_now();
    daemon.kill9();

    // Restarted (as systemd would) with the clock where it was.
    let restart = (crash_at + TimeDelta::seconds(2)).to_rfc3339();
    let daemon = Daemon::start(&station, &restart, None);
    let log = station.wait_for("2021-10-01", 30, "the replayed emergency to finish", |r| {
        r["event"] == "end"
            && r["item"]["id"] == "lu-01"
            && ts(r, "ts") > crash_at + TimeDelta::seconds(7)
    });
    assert!(daemon.stop().success());
    let cut = events(&log, "interrupted", "lu-01");
    assert_eq!(cut.len(), 1, "{}", show(&log));
    assert!(cut[0]["reason"].as_str().unwrap().contains("crash"));
    assert_eq!(
        events(&log, "start", "lu-01").len(),
        3,
        "one cut play, then both again:\n{}",
        show(&log)
    );
    assert_eq!(events(&log, "end", "lu-01").len(), 2, "{}", show(&log));

    // Played through: another restart does not play it again.
    let later = (crash_at + TimeDelta::seconds(30)).to_rfc3339();
    let daemon = Daemon::start(&station, &later, None);
    wait_for_api(&api);
    std::thread::sleep(Duration::from_secs(3));
    assert!(daemon.stop().success());
    let log = station.asrun("2021-10-01");
    assert_eq!(events(&log, "start", "lu-01").len(), 3, "{}", show(&log));
}
