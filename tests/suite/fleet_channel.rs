//! The fleet channel holds (issue 26), with a real mosquitto: no oversized message, rogue
//! status, flood, slow audio server or other station's credentials can cut the
//! province off from a station; the shipped broker set-up starts and lets a station
//! publish everything it publishes.

use crate::live;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use live::fleet::*;
use live::mqtt::{Mosquitto, Sub};
use live::push::*;
use live::*;
use serde_json::{Value, json};

fn tail(text: &str, n: usize) -> &str {
    let mut start = text.len().saturating_sub(n);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

fn ack_events(m: &[(String, Value)], id: &str) -> Vec<String> {
    m.iter()
        .filter(|(t, a)| t.ends_with("/ack") && a["id"] == id)
        .map(|(_, a)| a["event"].as_str().unwrap_or("?").to_string())
        .collect()
}

/// How many times the station connected, by its log.
fn connections(station: &Station) -> usize {
    std::fs::read_to_string(station.path("daemon.log"))
        .unwrap_or_default()
        .matches("fleet channel: connected to")
        .count()
}

/// A station off air at 02:00 that trusts `province`, on `broker`.
fn station_on(broker: &Mosquitto, province: &Province) -> (Station, Daemon) {
    let station = Station::new(
        "null",
        "[[session]]\nname = \"Chiều\"\nstart = \"17:00\"\nend = \"18:00\"\n",
    );
    station.add_station_toml(&province.trust());
    station.add_station_toml(&fleet_toml(broker));
    let daemon = Daemon::start(&station, "2021-10-01T02:00:00+07:00", None);
    wait_online(broker, "test", true, 30);
    (station, daemon)
}

#[test]
fn an_oversized_message_is_dropped_and_the_next_emergency_still_plays() {
    let broker = Mosquitto::start();
    let province = Province::new();
    let (audio, nginx) = audio_server(1000, 1.0);
    let (station, _daemon) = station_on(&broker, &province);
    let acks: Sub = broker.subscribe(&format!("{PREFIX}/station/test/ack"));
    let mine = format!("{PREFIX}/station/test/push");
    let connected = connections(&station);

    // 300 KB on the station's own topic, and a retained one on the province-wide topic:
    // both over what the station takes (STATION_MAX_PACKET), so the broker drops them.
    let huge = vec![b'x'; 300 * 1024];
    broker.publish(&mine, &huge, false);
    broker.publish(&format!("{PREFIX}/all/push"), &huge, true);
    let sent = Instant::now();
    let emergency = by_url(
        "after-huge-1",
        &audio.path().join("khan.mp3"),
        &nginx.url("khan.mp3"),
        "emergency",
    );
    broker.publish(&mine, &message(&province, &emergency), false);
    acks.wait_for(10, "the emergency accepted", |m| {
        ack_events(m, "after-huge-1").contains(&"accepted".to_string())
    });
    station.wait_for("2021-10-01", 10, "the emergency on air", |r| {
        r["event"] == "start" && r["item"]["id"] == "after-huge-1"
    });
    assert!(
        sent.elapsed() < Duration::from_secs(10),
        "{:?}",
        sent.elapsed()
    );
    // The connection stayed up: no reconnect, not even after a restart of the session.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(connections(&station), connected, "the station reconnected");
    assert!(
        broker.log().contains("too large"),
        "the broker said nothing of dropping it:\n{}",
        tail(&broker.log(), 3000)
    );
}

#[test]
fn a_rogue_retained_status_does_not_hide_the_good_stations() {
    let broker = Mosquitto::start();
    let province = Province::new();
    let (_station, _daemon) = station_on(&broker, &province);
    // A compromised station publishes a retained 300 KB status, and one with a
    // terminal's escape codes in it.
    let mut rogue =
        json!({"station_id": "rogue", "online": true, "problems": ["x".repeat(300 * 1024)]});
    broker.publish(
        &format!("{PREFIX}/station/rogue/status"),
        &serde_json::to_vec(&rogue).unwrap(),
        true,
    );
    rogue["problems"] = json!(["\u{1b}[2J\u{1b}]0;pwned\u{7}"]);
    broker.publish(
        &format!("{PREFIX}/station/sly/status"),
        &serde_json::to_vec(&rogue).unwrap(),
        true,
    );
    let rows = fleet_rows(&broker);
    assert!(
        rows.iter()
            .any(|r| r["id"] == "test" && r["online"] == true),
        "{rows:#?}"
    );
    assert!(!rows.iter().any(|r| r["id"] == "rogue"), "{rows:#?}");
    // Last seen is the broker's: the status was published seconds ago.
    let test = rows.iter().find(|r| r["id"] == "test").unwrap();
    let seen = chrono::DateTime::parse_from_rfc3339(test["last_seen"].as_str().unwrap()).unwrap();
    let age = chrono::Utc::now() - seen.to_utc();
    assert!(age.num_seconds().abs() < 120, "last seen {seen}");

    // The table a person reads has no escape code in it.
    let out = loaxa(&[
        "fleet",
        "status",
        "--broker",
        &broker.url(),
        "--prefix",
        PREFIX,
    ]);
    assert!(out.status.success(), "{out:?}");
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("sly"), "{table}");
    assert!(
        !table.contains('\u{1b}') && !table.contains('\u{7}'),
        "{table:?}"
    );

    // The fleet page lists the good station too.
    let port = free_port();
    let mut serve = Command::new(env!("CARGO_BIN_EXE_loaxa"))
        .args([
            "fleet",
            "serve",
            "--broker",
            &broker.url(),
            "--prefix",
            PREFIX,
        ])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    let ids = loop {
        let body = http_get(port, "/api/v1/fleet").unwrap_or_default();
        let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let ids: Vec<String> = v["stations"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s["id"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        if ids.contains(&"test".to_string()) || Instant::now() > deadline {
            break ids;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let _ = serve.kill();
    let _ = serve.wait();
    assert!(ids.contains(&"test".to_string()), "{ids:?}");
    assert!(!ids.contains(&"rogue".to_string()), "{ids:?}");
}

fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.split_once("\r\n\r\n").map(|(_, b)| b.to_string())
}

#[test]
fn a_station_with_a_thousand_campaigns_stays_online_with_a_small_status() {
    let broker = Mosquitto::start();
    let province = Province::new();
    let mut schedule =
        String::from("[[session]]\nname = \"Sáng\"\nstart = \"05:30\"\nend = \"06:00\"\n\n");
    for i in 0..1000 {
        schedule.push_str(&format!(
            "[[campaign]]\nid = \"c{i}\"\ntitle = \"Chiến dịch {i} {}\"\nfrom = \"2021-09-01\"\nuntil = \"2021-12-31\"\nplays_per_day = 3\n\n[[bulletin]]\nid = \"b{i}\"\ncampaign = \"c{i}\"\nfile = \"b.wav\"\n\n",
            "x".repeat(100)
        ));
    }
    let station = Station::new("null", &schedule);
    tone(&station.path("b.wav"), 700, 1.0);
    station.add_station_toml(&province.trust());
    station.add_station_toml(&fleet_toml(&broker));
    let statuses = broker.subscribe(&format!("{PREFIX}/station/test/status"));
    let _daemon = Daemon::start(&station, "2021-10-01T02:00:00+07:00", None);
    wait_online(&broker, "test", true, 60);
    let raw = std::fs::read(statuses.path()).unwrap();
    let biggest = raw
        .split(|b| *b == b'\n')
        .map(<[u8]>::len)
        .max()
        .unwrap_or(0);
    assert!(
        biggest <= 16 * 1024 + 64,
        "a status line of {biggest} bytes"
    );
    let m = statuses.messages();
    let last = &m.last().unwrap().1;
    assert_eq!(last["quotas_total"], 1000, "{last}");
    assert!(last["quotas"].as_array().unwrap().len() <= 20);

    // Acknowledgements flow.
    let acks = broker.subscribe(&format!("{PREFIX}/station/test/ack"));
    let cancel = json!({"loaxa_push": 1, "id": "cancel-1",
        "issued_at": chrono::Utc::now().to_rfc3339(),
        "expires_at": (chrono::Utc::now() + chrono::TimeDelta::hours(1)).to_rfc3339(),
        "action": "cancel", "cancel": "b1"});
    broker.publish(
        &format!("{PREFIX}/station/test/push"),
        &message(&province, &cancel),
        false,
    );
    acks.wait_for(15, "the cancel accepted", |m| {
        ack_events(m, "cancel-1").contains(&"accepted".to_string())
    });
    std::thread::sleep(Duration::from_secs(3));
    let reconnects = connections(&station);
    assert_eq!(reconnects, 1, "the station reconnected {reconnects} times");
}

#[test]
fn a_flood_of_forgeries_does_not_drop_the_genuine_emergency() {
    let broker = Mosquitto::start();
    let province = Province::new();
    let stranger = Province::new();
    let (audio, nginx) = audio_server(1000, 1.0);
    let (station, _daemon) = station_on(&broker, &province);
    let acks: Sub = broker.subscribe(&format!("{PREFIX}/station/test/ack"));
    let mine = format!("{PREFIX}/station/test/push");
    let file = audio.path().join("khan.mp3");
    let url = nginx.url("khan.mp3");

    // 20,000 forged messages (signed by another key) from four publishers at once, two
    // at QoS 1 and two at QoS 0 (the broker sends those as fast as it can), one message
    // per line (`mosquitto_pub -l`); the genuine emergency comes in the middle of it.
    let forged = String::from_utf8(message(
        &stranger,
        &by_url("forged", &file, &url, "emergency"),
    ))
    .unwrap();
    let genuine = message(&province, &by_url("genuine-1", &file, &url, "emergency"));
    let lines = format!("{forged}\n").repeat(5_000);
    let started = Instant::now();
    let flooders: Vec<_> = ["1", "1", "0", "0"]
        .iter()
        .map(|qos| {
            let mut c = Command::new("mosquitto_pub")
                .args(["-h", "127.0.0.1", "-p", &broker.port.to_string()])
                .args(["-q", qos, "-t", &mine, "-l"])
                .stdin(Stdio::piped())
                .spawn()
                .unwrap();
            let mut stdin = c.stdin.take().unwrap();
            let lines = lines.clone();
            std::thread::spawn(move || {
                let _ = stdin.write_all(lines.as_bytes());
            });
            c
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    broker.publish(&mine, &genuine, false);
    for mut f in flooders {
        assert!(f.wait().unwrap().success());
    }
    let flooded = started.elapsed();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ack_events(&acks.messages(), "genuine-1").contains(&"accepted".to_string()) {
        if Instant::now() > deadline {
            let log = broker.log();
            let dropped: Vec<&str> = log
                .lines()
                .filter(|l| l.contains("dropped"))
                .take(5)
                .collect();
            let daemon = std::fs::read_to_string(station.path("daemon.log")).unwrap_or_default();
            let genuine: Vec<&str> = daemon.lines().filter(|l| l.contains("genuine")).collect();
            panic!(
                "the genuine emergency was not accepted in 30 s; {} acks; broker: {dropped:?}; station: {genuine:?}; broker saw it: {}",
                acks.messages().len(),
                log.matches("genuine").count()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!(
        "20,000 forgeries published in {flooded:?}; the genuine emergency accepted after {:?}",
        started.elapsed()
    );
    station.wait_for("2021-10-01", 30, "the emergency on air", |r| {
        r["event"] == "start" && r["item"]["id"] == "genuine-1"
    });
    // The forgeries cost the as-run log at most its budget.
    let rejected = station
        .asrun("2021-10-01")
        .iter()
        .filter(|r| r["event"] == "rejected")
        .count();
    assert!(rejected <= 60, "{rejected} refusals written");
}

/// Answers any request with headers announcing `size` bytes, then one byte every
/// `every`: a server too slow to finish, never silent long enough to be given up.
fn trickling_server(size: u64, every: Duration) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming().take(4) {
            let Ok(mut c) = conn else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 2048];
                let _ = c.read(&mut buf);
                let _ = write!(
                    c,
                    "HTTP/1.1 200 OK\r\nContent-Length: {size}\r\nContent-Type: audio/mpeg\r\n\r\n"
                );
                for _ in 0..size {
                    if c.write_all(b"\0").is_err() {
                        return;
                    }
                    std::thread::sleep(every);
                }
            });
        }
    });
    port
}

#[test]
fn a_slow_audio_server_delays_no_other_push() {
    let broker = Mosquitto::start();
    let province = Province::new();
    let (audio, nginx) = audio_server(1000, 1.0);
    let (_station, _daemon) = station_on(&broker, &province);
    let acks: Sub = broker.subscribe(&format!("{PREFIX}/station/test/ack"));
    let mine = format!("{PREFIX}/station/test/push");
    let file = audio.path().join("khan.mp3");

    let slow = trickling_server(
        std::fs::metadata(&file).unwrap().len(),
        Duration::from_secs(10),
    );
    let slow_url = format!("http://127.0.0.1:{slow}/khan.mp3");
    broker.publish(
        &mine,
        &message(&province, &by_url("slow-1", &file, &slow_url, "normal")),
        false,
    );
    std::thread::sleep(Duration::from_secs(1));
    let sent = Instant::now();
    let next = by_url("next-1", &file, &nginx.url("khan.mp3"), "emergency");
    broker.publish(&mine, &message(&province, &next), false);
    acks.wait_for(15, "the next push accepted", |m| {
        ack_events(m, "next-1").contains(&"accepted".to_string())
    });
    assert!(
        sent.elapsed() < Duration::from_secs(5),
        "the next push waited {:?}",
        sent.elapsed()
    );
}

/// The shipped broker config and ACL, with their ports and paths moved into a temp dir.
fn shipped_broker() -> Mosquitto {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/fleet");
    let conf = std::fs::read_to_string(root.join("mosquitto.conf")).unwrap();
    let acl = std::fs::read_to_string(root.join("loaxa.acl"))
        .unwrap()
        .replace("loaxa/hn/", &format!("{PREFIX}/"));
    Mosquitto::start_from(|dir, stations, province| {
        std::fs::write(dir.join("loaxa.acl"), &acl).unwrap();
        for (file, users) in [
            (
                "loaxa-stations.passwd",
                &[("st1", "pw1"), ("st2", "pw2")][..],
            ),
            ("loaxa-province.passwd", &[("province", "pwp")][..]),
        ] {
            let path = dir.join(file);
            for (user, pass) in users {
                let mut c = Command::new("mosquitto_passwd");
                if !path.exists() {
                    c.arg("-c");
                }
                let out = c.arg("-b").arg(&path).args([user, pass]).output().unwrap();
                assert!(out.status.success(), "mosquitto_passwd: {out:?}");
            }
        }
        let d = dir.display();
        conf.replace("listener 1883", &format!("listener {stations} 127.0.0.1"))
            .replace("listener 8884", &format!("listener {province} 127.0.0.1"))
            .replace("/etc/mosquitto/", &format!("{d}/"))
            + &format!(
                "user root\npersistence_location {d}/\nlog_dest file {d}/mosquitto.log\nlog_type all\n"
            )
    })
}

#[test]
fn the_shipped_broker_config_starts_and_a_station_cannot_take_another_ones_session() {
    let broker = shipped_broker();
    let province = Province::new();
    let station = Station::new(
        "null",
        "[[session]]\nname = \"Chiều\"\nstart = \"17:00\"\nend = \"18:00\"\n",
    );
    std::fs::write(
        station.path("station.toml"),
        std::fs::read_to_string(station.path("station.toml"))
            .unwrap()
            .replace("station_id = \"test\"", "station_id = \"st1\""),
    )
    .unwrap();
    station.add_station_toml(&province.trust());
    station.add_station_toml(&format!(
        "[fleet]\nbroker = \"{}\"\nprefix = \"{PREFIX}\"\nusername = \"st1\"\npassword = \"pw1\"\n",
        broker.url()
    ));
    let _daemon = Daemon::start(&station, "2021-10-01T02:00:00+07:00", None);
    let province_url = format!("mqtt://127.0.0.1:{}", broker.second_port);
    let status = |user: &str, pass: &str| {
        loaxa(&[
            "fleet",
            "status",
            "--broker",
            &province_url,
            "--prefix",
            PREFIX,
            "--json",
            "--username",
            user,
            "--password",
            pass,
        ])
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = status("province", "pwp");
        assert!(
            out.status.success(),
            "{out:?}\n{}",
            tail(&broker.log(), 3000)
        );
        let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
        if rows.iter().any(|r| r["id"] == "st1" && r["online"] == true) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "st1 never online:\n{}",
            tail(&broker.log(), 3000)
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    // The province watches its events (the ACL lets it read them).
    let watch = Command::new(env!("CARGO_BIN_EXE_loaxa"))
        .args([
            "fleet",
            "watch",
            "--broker",
            &province_url,
            "--prefix",
            PREFIX,
        ])
        .args([
            "--username",
            "province",
            "--password",
            "pwp",
            "--for",
            "4s",
            "--json",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));

    // st2 logs in claiming st1's client id, and publishes on every topic a station uses.
    let mut thief = broker
        .client("mosquitto_sub")
        .args(["-u", "st2", "-P", "pw2", "-i", "st1", "-t", "x/#"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    for kind in ["status", "ack", "event"] {
        let out = broker
            .client("mosquitto_pub")
            .args(["-u", "st2", "-P", "pw2", "-q", "1"])
            .args(["-t", &format!("{PREFIX}/station/st2/{kind}")])
            .args([
                "-m",
                &format!("{{\"event\":\"{kind}-from-st2\",\"online\":true}}"),
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{kind}: {out:?}");
    }
    let _ = thief.kill();
    let _ = thief.wait();
    let log = std::fs::read_to_string(station.path("daemon.log")).unwrap();
    assert_eq!(
        log.matches("fleet channel: connected to").count(),
        1,
        "st1 lost its session:\n{log}"
    );
    assert!(!log.contains("took its session"), "{log}");
    let watched = watch.wait_with_output().unwrap();
    let watched = String::from_utf8_lossy(&watched.stdout);
    for kind in ["status", "ack", "event"] {
        assert!(
            watched.contains(&format!("{kind}-from-st2")),
            "the province did not see st2's {kind}:\n{watched}\n{}",
            tail(&broker.log(), 3000)
        );
    }
    // A station may not publish under another's id, nor as the province.
    let out = broker
        .client("mosquitto_pub")
        .args(["-u", "st2", "-P", "pw2", "-q", "1"])
        .args(["-t", &format!("{PREFIX}/all/push"), "-m", "{}"])
        .output()
        .unwrap();
    let refused = !out.status.success() || broker.log().contains("Denied PUBLISH from st2");
    assert!(refused, "{out:?}");

    // `cap import --fleet` logs in as `fleet push` does, and st1 takes the alert.
    let alert = r#"<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>B9-1</identifier><sender>canhbao@kttv.gov.vn</sender>
  <sent>2021-10-01T02:00:00+07:00</sent><status>Actual</status><msgType>Alert</msgType>
  <scope>Public</scope>
  <info><language>vi-VN</language><category>Met</category><event>Bão</event>
    <urgency>Immediate</urgency><severity>Extreme</severity><certainty>Observed</certainty>
    <expires>2021-10-01T08:00:00+07:00</expires><headline>Bão số 9</headline>
    <description>Gió mạnh cấp 12.</description>
    <area><areaDesc>Hà Nội</areaDesc></area></info>
</alert>"#;
    let file = station.path("alert.xml");
    std::fs::write(&file, alert).unwrap();
    let out = loaxa(&[
        "cap",
        "import",
        file.to_str().unwrap(),
        "--key",
        province.key().to_str().unwrap(),
        "--issued-at",
        "2021-10-01T02:00:30+07:00",
        "--fleet",
        &province_url,
        "--prefix",
        PREFIX,
        "--username",
        "province",
        "--password",
        "pwp",
    ]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(said.contains("1 of 1 online accepted"), "{said}");
}

#[test]
fn a_takeover_is_noticed_and_logged() {
    // The test broker lets any client take any id: the station must say so. mosquitto
    // 2.0 closes the old connection without a reason; both clients reconnect and throw
    // each other off, which the station notices.
    let broker = Mosquitto::start();
    let province = Province::new();
    let (station, _daemon) = station_on(&broker, &province);
    let mut thief = broker
        .client("mosquitto_sub")
        .args(["-i", "test", "-t", "x/#"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(8));
    let _ = thief.kill();
    let _ = thief.wait();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = std::fs::read_to_string(station.path("daemon.log")).unwrap();
        if log.contains("took its session") {
            break;
        }
        assert!(Instant::now() < deadline, "no takeover logged:\n{log}");
        std::thread::sleep(Duration::from_millis(200));
    }
    // And it takes its session back.
    wait_online(&broker, "test", true, 30);
}
