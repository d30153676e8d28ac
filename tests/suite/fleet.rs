//! The fleet channel (SPEC §13) with a real mosquitto: a station whose API listens on
//! loopback only is reached through the broker, heard through PulseAudio, acknowledges
//! in order; its Last Will marks it offline when killed; a broker outage changes nothing
//! on air and what was sent meanwhile arrives on reconnect; forged, replayed and
//! misdirected pushes are refused and acknowledged as such; a feed nudge makes the
//! station poll at once.

use crate::live;

use std::time::{Duration, Instant, SystemTime};

use live::fleet::*;
use live::mqtt::{Mosquitto, Sub};
use live::push::*;
use live::*;
use serde_json::{Value, json};

const EMERGENCY: u32 = 1000;
const FILL: u32 = 700;

fn acks_of<'a>(messages: &'a [(String, Value)], id: &str) -> Vec<&'a Value> {
    messages
        .iter()
        .filter(|(t, a)| t.ends_with("/ack") && a["id"] == id)
        .map(|(_, a)| a)
        .collect()
}

fn events(acks: &[&Value]) -> Vec<String> {
    acks.iter()
        .map(|a| a["event"].as_str().unwrap_or("?").to_string())
        .collect()
}

#[test]
fn an_emergency_reaches_a_loopback_only_station_through_the_broker() {
    let pulse = Pulse::start();
    let broker = Mosquitto::start();
    let province = Province::new();
    let (audio, nginx) = audio_server(EMERGENCY, 2.0);
    // On air with filler music: the amplifier is on already (its warm-up is not
    // the channel's latency).
    let station = Station::new(
        "pulse:amp",
        "[fill]\nfolder = \"music\"\n\n[[session]]\nname = \"Sáng\"\nstart = \"05:30\"\nend = \"06:00\"\n",
    );
    std::fs::create_dir(station.path("music")).unwrap();
    tone(&station.path("music/fill.wav"), FILL, 30.0);
    station.add_station_toml(&province.trust());
    station.add_station_toml(&fleet_toml(&broker));
    assert!(
        station.api().starts_with("http://127.0.0.1:"),
        "API on loopback only"
    );

    let recorder = pulse.recorder(&station.path("recording.wav"));
    let daemon = Daemon::start(&station, "2021-10-01T05:30:00+07:00", Some(&pulse));
    wait_online(&broker, "test", true, 30);
    let deadline = Instant::now() + Duration::from_secs(10);
    while fleet_row(&broker, "test").is_none_or(|r| r["on_air"] != true) {
        assert!(Instant::now() < deadline, "the status never said on air");
        std::thread::sleep(Duration::from_millis(200));
    }
    let acks = broker.subscribe(&format!("{PREFIX}/station/+/ack"));

    let out = loaxa(&[
        "fleet",
        "push",
        "--broker",
        &broker.url(),
        "--prefix",
        PREFIX,
        "--target",
        "test",
        audio.path().join("khan.mp3").to_str().unwrap(),
        "--url",
        &nginx.url("khan.mp3"),
        "--key",
        province.key().to_str().unwrap(),
        "--title",
        "Khẩn: bão số 9",
        "--priority",
        "emergency",
        "--repeat",
        "1",
        "--id",
        "khan-bao-09",
        "--wait",
        "20s",
        "--json",
    ]);
    let printed: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    assert!(out.status.success(), "{printed:#}\n{out:?}");
    assert_eq!(printed["ok"], true, "{printed:#}");
    let row = &printed["stations"][0];
    assert_eq!(row["station"], "test", "{printed:#}");
    assert_eq!(row["accepted"], true, "{printed:#}");
    assert!(row["latency_ms"].as_u64().unwrap() < 5000, "{printed:#}");

    let messages = acks.wait_for(30, "the emergency's end", |m| {
        events(&acks_of(m, "khan-bao-09")).contains(&"ended".to_string())
    });
    let heard = recorder.stop(&daemon);
    let ours = acks_of(&messages, "khan-bao-09");
    assert_eq!(events(&ours), ["accepted", "started", "ended"], "{ours:#?}");

    // Heard through PulseAudio within a second of the audio being in hand (accepted).
    let accepted = chrono::DateTime::parse_from_rfc3339(ours[0]["ts"].as_str().unwrap()).unwrap();
    let found = tone_segments(heard.rate, &heard.samples, &[EMERGENCY, FILL]);
    let first = found
        .iter()
        .find(|s| s.freq == EMERGENCY)
        .unwrap_or_else(|| panic!("no emergency heard: {found:?}"));
    let latency = (heard.time(first.start) - accepted).num_milliseconds();
    println!("fleet push accepted → emergency heard: {latency} ms");
    assert!(
        (-100..1000).contains(&latency),
        "heard {latency} ms after accepted"
    );
    assert!((first.end - first.start - 2.0).abs() < 0.3, "{first:?}");
    let log = station.asrun("2021-10-01");
    let end = log
        .iter()
        .find(|r| r["event"] == "end" && r["item"]["id"] == "khan-bao-09")
        .unwrap_or_else(|| panic!("{}", show(&log)));
    assert_eq!(end["item"]["source"], "push");
    assert_eq!(end["item"]["priority"], "emergency");
    assert!(daemon.stop().success());
    // A clean stop says offline at once.
    wait_online(&broker, "test", false, 10);
}

#[test]
fn a_broker_outage_changes_nothing_on_air_and_the_last_will_marks_a_killed_station() {
    let mut broker = Mosquitto::start();
    let province = Province::new();
    let (audio, nginx) = audio_server(900, 1.0);
    let station = Station::new(
        "null",
        "[fill]\nfolder = \"music\"\n\n[[session]]\nname = \"Sáng\"\nstart = \"05:30\"\nend = \"05:45\"\n",
    );
    std::fs::create_dir(station.path("music")).unwrap();
    tone(&station.path("music/a.wav"), 500, 2.0);
    station.add_station_toml(&province.trust());
    station.add_station_toml(&fleet_toml(&broker));
    let daemon = Daemon::start(&station, "2021-10-01T05:30:00+07:00", None);
    wait_online(&broker, "test", true, 30);
    let connected = || {
        std::fs::read_to_string(station.path("daemon.log"))
            .unwrap()
            .matches("fleet channel: connected")
            .count()
    };
    assert_eq!(connected(), 1);

    // The broker goes away for a while: the fill goes on, item after item.
    broker.stop();
    let down = daemon.rehearsal_now();
    std::thread::sleep(Duration::from_secs(6));
    let up = daemon.rehearsal_now();
    let log = station.asrun("2021-10-01");
    let played = log
        .iter()
        .filter(|r| r["event"] == "end" && ts(r, "ts") > down && ts(r, "ts") < up)
        .count();
    assert!(
        played >= 2,
        "fill went on during the outage:\n{}",
        show(&log)
    );
    assert!(
        !log.iter()
            .any(|r| r["event"] == "failed" || r["event"] == "interrupted"),
        "{}",
        show(&log)
    );

    // Back, with the station's session kept: a push sent before the station is back
    // reaches it when it reconnects.
    broker.restart();
    let manifest = by_url(
        "tin-sau-mat-mang",
        &audio.path().join("khan.mp3"),
        &nginx.url("khan.mp3"),
        "normal",
    );
    broker.publish(
        &format!("{PREFIX}/station/test/push"),
        &message(&province, &manifest),
        false,
    );
    assert_eq!(connected(), 1, "published while the station was still away");
    let acks = broker.subscribe(&format!("{PREFIX}/station/+/ack"));
    let deadline = Instant::now() + Duration::from_secs(90);
    while acks_of(&acks.messages(), "tin-sau-mat-mang").is_empty() {
        assert!(
            Instant::now() < deadline,
            "the push sent meanwhile never arrived; broker:\n{}\ndaemon:\n{}",
            broker.log(),
            std::fs::read_to_string(station.path("daemon.log")).unwrap()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let m = acks.messages();
    assert_eq!(
        events(&acks_of(&m, "tin-sau-mat-mang"))[0],
        "accepted",
        "{m:#?}"
    );
    assert!(connected() >= 2);
    wait_online(&broker, "test", true, 10);

    // kill -9: no goodbye; the broker publishes the Last Will.
    daemon.kill9();
    let row = wait_online(&broker, "test", false, 10);
    assert_eq!(row["on_air"], false);
}

#[test]
fn forged_replayed_and_misdirected_pushes_are_refused_and_acknowledged() {
    let broker = Mosquitto::start();
    let province = Province::new();
    let stranger = Province::new();
    let (audio, nginx) = audio_server(900, 1.0);
    let file = audio.path().join("khan.mp3");
    let url = nginx.url("khan.mp3");
    let station = Station::new(
        "null",
        "[[session]]\nname = \"Chiều\"\nstart = \"17:00\"\nend = \"18:00\"\n",
    );
    station.add_station_toml(&province.trust());
    station.add_station_toml(&fleet_toml(&broker));
    let daemon = Daemon::start(&station, "2021-10-01T02:00:00+07:00", None);
    wait_online(&broker, "test", true, 30);
    let acks: Sub = broker.subscribe(&format!("{PREFIX}/station/+/ack"));
    let mine = format!("{PREFIX}/station/test/push");
    let all = format!("{PREFIX}/all/push");

    let forged = message(&stranger, &by_url("forged-1", &file, &url, "emergency"));
    broker.publish(&mine, &forged, false);
    let good = message(&province, &by_url("good-1", &file, &url, "normal"));
    broker.publish(&all, &good, false);
    broker.publish(&all, &good, false);
    let mut elsewhere = by_url("elsewhere-1", &file, &url, "normal");
    elsewhere["bulletin"]["targets"] = json!(["another-station"]);
    broker.publish(&all, &message(&province, &elsewhere), false);
    let mut expired = by_url("expired-1", &file, &url, "normal");
    let past = chrono::Utc::now() - chrono::TimeDelta::hours(3);
    expired["issued_at"] = json!(past.to_rfc3339());
    expired["expires_at"] = json!((past + chrono::TimeDelta::hours(1)).to_rfc3339());
    broker.publish(&all, &message(&province, &expired), false);
    let mut wrong_hash = by_url("wrong-hash-1", &file, &url, "normal");
    wrong_hash["bulletin"]["sha256"] = json!("00".repeat(32));
    broker.publish(&mine, &message(&province, &wrong_hash), false);
    broker.publish(&mine, b"not json at all", false);

    let m = acks.wait_for(30, "every verdict", |m| {
        m.iter().filter(|(t, _)| t.ends_with("/ack")).count() >= 7
    });
    let verdict = |id: &str| -> Vec<(String, String)> {
        acks_of(&m, id)
            .iter()
            .map(|a| {
                (
                    a["event"].as_str().unwrap().to_string(),
                    a["reason"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    };
    let refused_for = |id: &str, label: &str| {
        let v = verdict(id);
        assert!(
            v.iter()
                .any(|(e, r)| e == "refused" && r.starts_with(label)),
            "{id}: expected refused ({label}), got {v:?}"
        );
    };
    refused_for("forged-1", "signature");
    refused_for("elsewhere-1", "malformed");
    refused_for("expired-1", "expired");
    refused_for("wrong-hash-1", "mismatch");
    // Taken once: the replay is refused as it arrives, which may be before the first
    // copy's audio is fetched and it is accepted.
    let good_verdicts = verdict("good-1");
    assert_eq!(
        good_verdicts
            .iter()
            .filter(|(e, _)| e == "accepted")
            .count(),
        1,
        "{good_verdicts:?}"
    );
    assert!(
        good_verdicts
            .iter()
            .any(|(e, r)| e == "refused" && r.starts_with("duplicate")),
        "the replay is refused: {good_verdicts:?}"
    );
    let garbage: Vec<_> = m
        .iter()
        .filter(|(_, a)| a["id"].is_null() && a["event"] == "refused")
        .collect();
    assert_eq!(garbage.len(), 1, "{m:#?}");
    assert!(
        garbage[0].1["reason"]
            .as_str()
            .unwrap()
            .starts_with("malformed")
    );

    // Each refusal is in the as-run log too; the forged emergency never played.
    let log = station.asrun("2021-10-01");
    let rejected = log.iter().filter(|r| r["event"] == "rejected").count();
    assert!(rejected >= 6, "{}", show(&log));
    assert!(
        !log.iter().any(|r| r["item"]["id"] == "forged-1"),
        "{}",
        show(&log)
    );
    assert!(daemon.stop().success());
}

#[test]
fn a_feed_nudge_makes_the_station_fetch_the_new_manifest_at_once() {
    let broker = Mosquitto::start();
    let province = tempfile::tempdir().unwrap();
    let p = |n: &str| province.path().join(n).to_str().unwrap().to_string();
    let feed = p("feed");
    loaxa_ok(&["keygen", &p("keys")]);
    tone(&province.path().join("a.mp3"), 620, 2.0);
    loaxa_ok(&[
        "feed",
        "add",
        &feed,
        &p("a.mp3"),
        "--title",
        "Bản tin A",
        "--id",
        "tin-a",
    ]);
    loaxa_ok(&["feed", "publish", &feed, "--key", &p("keys/loaxa.key")]);
    let key = std::fs::read_to_string(p("keys/loaxa.pub"))
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .to_string();
    let nginx = Nginx::start(&province.path().join("feed"));
    let station = Station::new(
        "null",
        "[[session]]\nname = \"Chiều\"\nstart = \"17:00\"\nend = \"18:00\"\n",
    );
    // Polled hourly: only the nudge can make it look sooner.
    station.add_station_toml(&format!(
        "[feed]\nurl = \"{}\"\npublic_keys = [\"{key}\"]\npoll = \"1h\"\n",
        nginx.url("feed.json")
    ));
    station.add_station_toml(&fleet_toml(&broker));
    let daemon = Daemon::start(&station, "2021-10-01T02:00:00+07:00", None);
    let api = station.api();
    wait_for_api(&api);
    wait_online(&broker, "test", true, 30);
    let sequence = || get_json(&api, "/api/v1/status")["feed"]["sequence"].as_u64();
    let deadline = Instant::now() + Duration::from_secs(20);
    while sequence() != Some(1) {
        assert!(Instant::now() < deadline, "first poll");
        std::thread::sleep(Duration::from_millis(100));
    }

    tone(&province.path().join("b.mp3"), 720, 2.0);
    loaxa_ok(&[
        "feed",
        "add",
        &feed,
        &p("b.mp3"),
        "--title",
        "Bản tin B",
        "--id",
        "tin-b",
    ]);
    loaxa_ok(&["feed", "publish", &feed, "--key", &p("keys/loaxa.key")]);
    let nudged = SystemTime::now();
    let out = loaxa(&[
        "fleet",
        "nudge",
        "--broker",
        &broker.url(),
        "--prefix",
        PREFIX,
    ]);
    assert!(out.status.success(), "{out:?}");
    while sequence() != Some(2) {
        assert!(
            nudged.elapsed().unwrap() < Duration::from_secs(10),
            "the nudge was not heeded"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let took = nudged.elapsed().unwrap();
    println!("feed nudge → new manifest taken: {} ms", took.as_millis());
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert!(daemon.stop().success());
}

#[test]
fn the_example_acl_lets_a_station_speak_only_under_its_own_id() {
    let scratch = tempfile::tempdir().unwrap();
    let acl = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/fleet/loaxa.acl"
    ))
    .unwrap()
    .replace("loaxa/hn/", &format!("{PREFIX}/"));
    std::fs::write(scratch.path().join("acl"), acl).unwrap();
    let passwd = scratch.path().join("passwd");
    std::fs::write(&passwd, "").unwrap();
    for (user, pass) in [
        ("province", "pp-secret"),
        ("test", "tt-secret"),
        ("other", "oo-secret"),
    ] {
        run(
            "mosquitto_passwd",
            &["-b", passwd.to_str().unwrap(), user, pass],
        );
    }
    let broker = Mosquitto::start_with(&format!(
        "allow_anonymous false\npassword_file {}\nacl_file {}\n",
        passwd.display(),
        scratch.path().join("acl").display()
    ));
    let station = Station::new(
        "null",
        "[[session]]\nname = \"Chiều\"\nstart = \"17:00\"\nend = \"18:00\"\n",
    );
    station.add_station_toml(&format!(
        "{}username = \"test\"\npassword = \"tt-secret\"\n",
        fleet_toml(&broker)
    ));
    let daemon = Daemon::start(&station, "2021-10-01T02:00:00+07:00", None);
    let status = |user: &str, pass: &str| -> Vec<Value> {
        let out = loaxa(&[
            "fleet",
            "status",
            "--broker",
            &broker.url(),
            "--prefix",
            PREFIX,
            "--json",
            "--username",
            user,
            "--password",
            pass,
        ]);
        assert!(out.status.success(), "{out:?}");
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !status("province", "pp-secret")
        .iter()
        .any(|r| r["id"] == "test" && r["online"] == true)
    {
        assert!(
            Instant::now() < deadline,
            "station not seen by the province:\n{}",
            broker.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // The table for a person: Vietnamese by default, English on request (SPEC §16).
    let table = |lang: &str| {
        let out = loaxa(&[
            "--lang",
            lang,
            "fleet",
            "status",
            "--broker",
            &broker.url(),
            "--prefix",
            PREFIX,
            "--username",
            "province",
            "--password",
            "pp-secret",
        ]);
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let vi = table("vi");
    assert!(
        vi.starts_with("ĐÀI") && vi.contains("1 đài, 1 đang kết nối"),
        "{vi}"
    );
    let en = table("en");
    assert!(
        en.starts_with("STATION") && en.contains("1 station, 1 online"),
        "{en}"
    );
    // Another station cannot speak for this one, nor read the province's view.
    let out = std::process::Command::new("mosquitto_pub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &broker.port.to_string(),
            "-u",
            "other",
            "-P",
            "oo-secret",
        ])
        .args([
            "-q",
            "1",
            "-r",
            "-t",
            &format!("{PREFIX}/station/test/status"),
            "-m",
            "{\"online\": false}",
        ])
        .output()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let rows = status("province", "pp-secret");
    let row = rows.iter().find(|r| r["id"] == "test").unwrap();
    assert_eq!(
        row["online"], true,
        "a forged status got through ({out:?}): {rows:?}"
    );
    assert!(
        status("other", "oo-secret").is_empty(),
        "a station sees no other station"
    );
    // Without a password there is no way in.
    let out = loaxa(&[
        "fleet",
        "status",
        "--broker",
        &broker.url(),
        "--prefix",
        PREFIX,
    ]);
    assert!(!out.status.success(), "{out:?}");
    assert!(daemon.stop().success());
}
