//! The station's front door (SPEC §11), tried as an attacker would, against the real
//! daemon over real sockets: each attack's cost to the station is measured (open files,
//! as-run growth, memory, what is stored), and the broadcast must not notice.

use crate::live;

use std::io::Read;
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, TimeDelta};
use live::push::*;
use live::*;
use serde_json::{Value, json};

/// A session of short fill pieces: an item starts every 3 s, each with its late_ms.
const SESSION: &str = r#"
[fill]
folder = "music"

[[session]]
name = "Sáng"
start = "05:30:00"
end = "05:31:00"
"#;

fn station_with_session(province: &Province) -> Station {
    let s = Station::new("null", SESSION);
    s.add_station_toml(&province.trust());
    std::fs::create_dir(s.path("music")).unwrap();
    for (i, f) in [700, 900, 1100].iter().enumerate() {
        tone(&s.path(&format!("music/m{i}.wav")), *f, 3.0);
    }
    tone(&s.path("tin.mp3"), 440, 3.0);
    s
}

fn port_of(api: &str) -> u16 {
    api.rsplit(':').next().unwrap().parse().unwrap()
}

fn open_files(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}

fn asrun_bytes(s: &Station, date: &str) -> u64 {
    std::fs::metadata(s.path(&format!("state/asrun/{date}.jsonl"))).map_or(0, |m| m.len())
}

/// `curl` with a raw body: (status, answer).
fn post_raw(api: &str, content_type: &str, body: &Path, extra: &[&str]) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-s", "-w", "\n%{http_code}", "-H"])
        .arg(format!("Content-Type: {content_type}"))
        .args(extra)
        .arg("--data-binary")
        .arg(format!("@{}", body.display()))
        .arg(format!("{api}/api/v1/push"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (answer, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    (code.trim().parse().unwrap_or(0), answer.to_string())
}

fn starts(log: &[Value]) -> Vec<&Value> {
    log.iter().filter(|r| r["event"] == "start").collect()
}

#[test]
fn a_flood_of_idle_connections_neither_silences_nor_locks_out_the_station() {
    let province = Province::new();
    let s = station_with_session(&province);
    // The daemon gets systemd's default limit of open files.
    let d = Daemon::start_under(
        &s,
        "2021-10-01T05:29:58+07:00",
        None,
        &["prlimit", "--nofile=1024", "--"],
    );
    let api = s.api();
    wait_for_api(&api);
    rlimit::increase_nofile_limit(8192).unwrap();
    s.wait_for("2021-10-01", 20, "the session to start", |r| {
        r["event"] == "start"
    });

    let pid = d.child.id();
    let before = open_files(pid);
    println!("open files before the flood: {before}");
    let addr: std::net::SocketAddr = format!("127.0.0.1:{}", port_of(&api)).parse().unwrap();
    let flood_started = Instant::now();
    // From 35 addresses (127.0.0.2–36), so that the cap on all connections is tried,
    // not only the cap per client.
    let mut idle = Vec::new();
    for i in 0..1100u32 {
        let from: std::net::SocketAddr = format!("127.0.0.{}:0", 2 + i % 35).parse().unwrap();
        let socket =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        socket.bind(&from.into()).unwrap();
        socket
            .connect_timeout(&addr.into(), Duration::from_secs(5))
            .expect("connect");
        idle.push(TcpStream::from(socket));
    }
    // How many files the daemon holds, sampled while the flood is on.
    let sampler = std::thread::spawn(move || {
        let mut most = 0;
        let until = Instant::now() + Duration::from_secs(12);
        while Instant::now() < until {
            most = most.max(open_files(pid));
            std::thread::sleep(Duration::from_millis(50));
        }
        most
    });

    // A real push gets through while 1,100 connections hang about.
    let sent = Instant::now();
    let manifest = bulletin_at(
        "flood-ok",
        &s.path("tin.mp3"),
        "normal",
        None,
        d.rehearsal_now(),
    );
    let (code, body) = province.push(&api, &manifest, Some(&s.path("tin.mp3")));
    let took = sent.elapsed();
    assert_eq!(code, 202, "{body}");
    assert!(took < Duration::from_secs(15), "the push took {took:?}");

    // Every idle connection is closed by the station (head timeout 10 s, or shed).
    let deadline = flood_started + Duration::from_secs(25);
    let mut closed = 0;
    for mut c in idle {
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(10));
        c.set_read_timeout(Some(left)).unwrap();
        let mut buf = [0u8; 16];
        match c.read(&mut buf) {
            Ok(0) => closed += 1,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => closed += 1,
            other => panic!("connection still open: {other:?}"),
        }
    }
    assert_eq!(closed, 1100);
    let most_files = sampler.join().unwrap();
    println!("open files at most {most_files}; push answered in {took:?}");
    assert!(
        most_files <= 256 + 64,
        "the daemon held {most_files} files during the flood"
    );
    let metrics = String::from_utf8(
        Command::new("curl")
            .args(["-s", &format!("{api}/metrics")])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(
        metrics.contains("loaxa_http_connections_total{result=\"shed\"}"),
        "{metrics}"
    );

    // The broadcast never noticed: every item started on time.
    let log = s.wait_for("2021-10-01", 70, "the session to end", |r| {
        r["event"] == "amp_off" && r["ts"].as_str() > Some("2021-10-01T05:30:30")
    });
    assert!(d.stop().success());
    let items = starts(&log);
    assert!(items.len() >= 15, "{}", show(&log));
    for r in items {
        assert!(r["late_ms"].as_i64().unwrap() <= 50, "late: {r}");
    }
}

#[test]
fn a_5_mb_part_name_costs_a_few_bytes_of_log_and_no_memory() {
    let province = Province::new();
    let s = station_with_session(&province);
    let d = Daemon::start(&s, "2021-10-01T09:00:00+07:00", None);
    let api = s.api();
    wait_for_api(&api);
    let pid = d.child.id();
    let body = s.path("body");
    let mut bytes = b"--B\r\nContent-Disposition: form-data; name=\"".to_vec();
    bytes.extend(std::iter::repeat_n(b'n', 5_000_000));
    bytes.extend_from_slice(b"\"\r\n\r\nx\r\n--B--\r\n");
    std::fs::write(&body, &bytes).unwrap();
    let (rss_before, log_before) = (rss_kb(pid), asrun_bytes(&s, "2021-10-01"));
    for _ in 0..3 {
        let (code, answer) = post_raw(&api, "multipart/form-data; boundary=B", &body, &[]);
        assert_eq!(code, 400, "{}", &answer[..answer.len().min(300)]);
        assert!(
            answer.len() < 2048,
            "the answer echoes {} bytes",
            answer.len()
        );
        assert_eq!(
            serde_json::from_str::<Value>(&answer).unwrap()["error"],
            "malformed"
        );
    }
    let grown = asrun_bytes(&s, "2021-10-01") - log_before;
    let rss_grown = rss_kb(pid).saturating_sub(rss_before);
    println!("as-run +{grown} bytes, RSS +{rss_grown} kB for three 5 MB part names");
    assert!(grown < 10_000, "as-run grew {grown} bytes");
    assert!(rss_grown < 8_000, "RSS grew {rss_grown} kB");
    // The refusal is recorded, short.
    let log = s.asrun("2021-10-01");
    let r = log.iter().rev().find(|r| r["event"] == "rejected").unwrap();
    assert!(
        r["reason"].as_str().unwrap().contains("headers are longer"),
        "{r}"
    );
    assert!(d.stop().success());
}

#[test]
fn no_audio_byte_is_taken_before_the_signature_and_manifest_are_checked() {
    let province = Province::new();
    let stranger = Province::new();
    let s = station_with_session(&province);
    let d = Daemon::start(&s, "2021-10-01T09:00:00+07:00", None);
    let api = s.api();
    wait_for_api(&api);
    let big = s.path("big.mp3");
    std::fs::write(&big, vec![0x55u8; 4_000_000]).unwrap();
    let incoming = s.path("state/push/incoming");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watch = {
        let (incoming, stop) = (incoming.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut seen = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                seen += std::fs::read_dir(&incoming).map_or(0, |d| d.count());
                std::thread::sleep(Duration::from_millis(2));
            }
            seen
        })
    };
    // Signed by a stranger, with 4 MB of "audio" sent at 200 kB/s: refused as soon as the
    // audio part begins, not 20 s later.
    let mut m = bulletin_at("stranger-1", &big, "emergency", None, d.rehearsal_now());
    let (mf, sig) = stranger.sign(&serde_json::to_vec(&m).unwrap());
    let t = Instant::now();
    let out = Command::new("curl")
        .args(["-s", "-w", "\n%{http_code}", "--limit-rate", "200k"])
        .args(["-F", &format!("manifest=@{}", mf.display())])
        .args(["-F", &format!("signature=@{}", sig.display())])
        .args(["-F", &format!("audio=@{}", big.display())])
        .arg(format!("{api}/api/v1/push"))
        .output()
        .unwrap();
    let (code, body) = parse_curl(&out.stdout);
    assert_eq!(code, 401, "{body}");
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "took {:?}",
        t.elapsed()
    );
    // Audio before the manifest and signature: refused too, nothing kept.
    let (mf2, sig2) = province.sign(&serde_json::to_vec(&m).unwrap());
    let out = Command::new("curl")
        .args(["-s", "-w", "\n%{http_code}"])
        .args(["-F", &format!("audio=@{}", big.display())])
        .args(["-F", &format!("manifest=@{}", mf2.display())])
        .args(["-F", &format!("signature=@{}", sig2.display())])
        .arg(format!("{api}/api/v1/push"))
        .output()
        .unwrap();
    let (code, body) = parse_curl(&out.stdout);
    assert!(code == 400 || code == 401, "{code} {body}");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert_eq!(
        watch.join().unwrap(),
        0,
        "an upload was written before the checks"
    );
    // A trusted manifest announcing 1,000 bytes: the 4 MB part is cut at 1,001.
    m["id"] = json!("liar-1");
    m["bulletin"]["size"] = json!(1000);
    let (code, body) = province.push(&api, &m, Some(&big));
    assert_eq!(code, 413, "{body}");
    assert_eq!(std::fs::read_dir(&incoming).map_or(0, |d| d.count()), 0);
    assert!(d.stop().success());
}

/// A station named `id` trusting `province`, no sessions, its clock at `start`.
fn plain_station(province: &Province, id: &str) -> Station {
    let s = Station::new("null", "");
    let toml = std::fs::read_to_string(s.path("station.toml"))
        .unwrap()
        .replace("station_id = \"test\"", &format!("station_id = \"{id}\""));
    std::fs::write(s.path("station.toml"), toml).unwrap();
    s.add_station_toml(&province.trust());
    tone(&s.path("khan.mp3"), 1000, 2.0);
    s
}

fn at(t: DateTime<FixedOffset>, minutes: i64) -> String {
    (t + TimeDelta::minutes(minutes)).to_rfc3339()
}

fn expect(what: &str, got: (u16, Value), status: u16, label: &str) {
    assert_eq!(got.0, status, "{what}: {}", got.1);
    assert_eq!(got.1["error"], label, "{what}: {}", got.1);
    println!("{what}: {} {}", got.0, got.1["message"]);
}

#[test]
fn a_captured_emergency_cannot_be_replayed_anywhere_it_was_not_meant() {
    let province = Province::new();
    let a = plain_station(&province, "xa-a");
    let b = plain_station(&province, "xa-b");
    let da = Daemon::start(&a, "2021-10-01T09:00:00+07:00", None);
    let db = Daemon::start(&b, "2021-10-01T09:00:00+07:00", None);
    let (api_a, api_b) = (a.api(), b.api());
    wait_for_api(&api_a);
    wait_for_api(&api_b);
    let audio = a.path("khan.mp3");
    let now = da.rehearsal_now();
    let mut emergency = bulletin_at("khan-01", &audio, "emergency", Some(1), now);
    emergency["bulletin"]["targets"] = json!(["xa-a"]);

    // Meant for A: accepted there, refused at B.
    let (m, sig) = province.sign(&serde_json::to_vec(&emergency).unwrap());
    let parts = [
        ("manifest", m),
        ("signature", sig),
        ("audio", audio.clone()),
    ];
    assert_eq!(curl(&api_a, &parts).0, 202);
    expect(
        "outside its targets",
        curl(&api_b, &parts),
        400,
        "malformed",
    );
    expect(
        "replayed to its own station",
        curl(&api_a, &parts),
        409,
        "duplicate",
    );

    // The same push after its expiry, from the future, with no expiry, valid too long.
    let mut late = emergency.clone();
    late["id"] = json!("khan-late");
    late["bulletin"]["targets"] = json!([]);
    late["issued_at"] = json!(at(now, -180));
    late["expires_at"] = json!(at(now, -60));
    expect(
        "expired",
        province.push(&api_b, &late, Some(&audio)),
        410,
        "expired",
    );
    let mut future = late.clone();
    future["issued_at"] = json!(at(now, 60));
    future["expires_at"] = json!(at(now, 120));
    expect(
        "issued in the future",
        province.push(&api_b, &future, Some(&audio)),
        400,
        "validity",
    );
    let mut forever = late.clone();
    forever["issued_at"] = json!(at(now, -1));
    forever["expires_at"] = Value::Null;
    expect(
        "no expires_at",
        province.push(&api_b, &forever, Some(&audio)),
        400,
        "validity",
    );
    forever["expires_at"] = json!(at(now, 25 * 60));
    expect(
        "valid for 25 h",
        province.push(&api_b, &forever, Some(&audio)),
        400,
        "validity",
    );

    // A cancel names its stations too.
    let mut cancel = cancel("huy-01", "khan-01");
    cancel["issued_at"] = json!(at(now, 0));
    cancel["expires_at"] = json!(at(now, 60));
    cancel["targets"] = json!(["xa-a"]);
    expect(
        "cancel elsewhere",
        province.push(&api_b, &cancel, None),
        400,
        "malformed",
    );
    assert_eq!(province.push(&api_a, &cancel, None).0, 202);
    // `loaxa push` sets an expiry of its own (2 h).
    let out = loaxa(&[
        "push",
        &api_b,
        audio.to_str().unwrap(),
        "--key",
        province.key().to_str().unwrap(),
        "--title",
        "t",
        "--id",
        "cli-1",
        "--issued-at",
        &now.to_rfc3339(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let state: Value =
        serde_json::from_slice(&std::fs::read(b.path("state/push/state.json")).unwrap()).unwrap();
    let kept = &state["bulletins"][0];
    assert_eq!(kept["id"], "cli-1");
    let expires = DateTime::parse_from_rfc3339(kept["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!(expires - now, TimeDelta::hours(2));
    assert!(da.stop().success());
    assert!(db.stop().success());
}

#[test]
fn a_clock_behind_the_trusted_time_never_revives_an_expired_push() {
    let province = Province::new();
    let s = plain_station(&province, "xa-c");
    // The station played at noon; after a power cut its clock says 09:00.
    std::fs::create_dir_all(s.path("state/asrun")).unwrap();
    std::fs::write(
        s.path("state/asrun/2021-10-01.jsonl"),
        "{\"ts\":\"2021-10-01T12:00:00.000+07:00\",\"event\":\"amp_off\"}\n",
    )
    .unwrap();
    let d = Daemon::start(&s, "2021-10-01T09:00:00+07:00", None);
    let api = s.api();
    wait_for_api(&api);
    let now = d.rehearsal_now();
    let mut m = bulletin_at("cu-01", &s.path("khan.mp3"), "emergency", Some(1), now);
    m["issued_at"] = json!(at(now, -30));
    m["expires_at"] = json!(at(now, 90)); // 10:30: valid by the clock, not by noon
    expect(
        "expired by the trusted time",
        province.push(&api, &m, Some(&s.path("khan.mp3"))),
        410,
        "expired",
    );
    let status = get_json(&api, "/api/v1/status");
    let problems = status["problems"].to_string();
    assert!(
        problems.contains("behind the newest trusted time"),
        "{status}"
    );
    let log = std::fs::read_to_string(s.path("daemon.log")).unwrap();
    assert!(log.contains("THE CLOCK IS WRONG"), "{log}");
    assert!(d.stop().success());
}

#[test]
fn a_corrupt_push_state_stops_pushes_but_not_the_broadcast() {
    let province = Province::new();
    let s = station_with_session(&province);
    std::fs::create_dir_all(s.path("state/push")).unwrap();
    let garbage = b"{\"seen\": [\"a\", \"b\"], \"bulle";
    std::fs::write(s.path("state/push/state.json"), garbage).unwrap();
    let d = Daemon::start(&s, "2021-10-01T05:29:58+07:00", None);
    let api = s.api();
    wait_for_api(&api);
    let m = bulletin_at(
        "after-damage",
        &s.path("tin.mp3"),
        "emergency",
        None,
        d.rehearsal_now(),
    );
    expect(
        "push with a corrupt state",
        province.push(&api, &m, Some(&s.path("tin.mp3"))),
        503,
        "unavailable",
    );
    let status = get_json(&api, "/api/v1/status");
    assert!(
        status["problems"].to_string().contains("push state"),
        "{status}"
    );
    let log = s.wait_for("2021-10-01", 30, "three items", |_| {
        starts(&s.asrun("2021-10-01")).len() >= 3
    });
    assert!(d.stop().success());
    assert!(starts(&log).iter().all(|r| r["item"]["kind"] == "fill"));
    assert_eq!(
        std::fs::read(s.path("state/push/state.json")).unwrap(),
        garbage,
        "kept for repair"
    );
}

/// A WAV whose header says `rate` Hz and `channels` channels, with 4 KB of samples.
fn odd_wav(path: &Path, rate: u32, channels: u16) {
    let data = vec![0u8; 4000];
    let mut h = b"RIFF".to_vec();
    h.extend((36 + data.len() as u32).to_le_bytes());
    h.extend(b"WAVEfmt ");
    h.extend(16u32.to_le_bytes());
    h.extend(1u16.to_le_bytes());
    h.extend(channels.to_le_bytes());
    h.extend(rate.to_le_bytes());
    h.extend((rate * 2 * u32::from(channels)).to_le_bytes());
    h.extend((2 * channels).to_le_bytes());
    h.extend(16u16.to_le_bytes());
    h.extend(b"data");
    h.extend((data.len() as u32).to_le_bytes());
    h.extend(data);
    std::fs::write(path, h).unwrap();
}

#[test]
fn audio_out_of_bounds_is_not_audio_wherever_it_comes_from() {
    let province = Province::new();
    let s = plain_station(&province, "xa-d");
    let toml = std::fs::read_to_string(s.path("station.toml")).unwrap();
    let toml = toml.replace(
        "output = \"null\"\n",
        "output = \"null\"\nmax_duration = \"10s\"\n",
    );
    std::fs::write(s.path("station.toml"), toml).unwrap();
    odd_wav(&s.path("one-hertz.wav"), 1, 1);
    odd_wav(&s.path("nine.wav"), 8000, 9);
    tone(&s.path("long.wav"), 440, 12.0);
    let d = Daemon::start(&s, "2021-10-01T09:00:00+07:00", None);
    let api = s.api();
    wait_for_api(&api);
    for (id, file, says) in [
        ("hz-1", "one-hertz.wav", Some("sample rate 1 Hz")),
        ("ch-9", "nine.wav", None),
        ("long-1", "long.wav", Some("max_duration")),
    ] {
        let m = bulletin_at(id, &s.path(file), "priority", None, d.rehearsal_now());
        let (code, body) = province.push(&api, &m, Some(&s.path(file)));
        assert_eq!(code, 415, "{id}: {body}");
        let message = body["message"].as_str().unwrap();
        assert!(says.is_none_or(|w| message.contains(w)), "{id}: {body}");
    }
    assert!(d.stop().success());
    assert!(
        !s.path("state/push/audio").exists()
            || std::fs::read_dir(s.path("state/push/audio"))
                .unwrap()
                .count()
                == 0
    );
    // The operator's schedule is held to the same bounds, at its line.
    std::fs::write(
        s.path("schedule.toml"),
        "[[session]]\nname = \"S\"\nstart = \"05:00\"\nend = \"06:00\"\n  [[session.item]]\n  file = \"one-hertz.wav\"\n",
    )
    .unwrap();
    let out = loaxa(&["--config", s.dir.path().to_str().unwrap(), "check"]);
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("schedule.toml:6:") && err.contains("sample rate 1 Hz"),
        "{err}"
    );
}

/// A province feed with one good bulletin and a campaign whose min_gap is absurd.
fn absurd_feed() -> (tempfile::TempDir, String) {
    let province = tempfile::tempdir().unwrap();
    let p = |n: &str| province.path().join(n).to_str().unwrap().to_string();
    let feed = p("feed");
    loaxa_ok(&["keygen", &p("keys")]);
    loaxa_ok(&[
        "feed",
        "campaign",
        &feed,
        "--id",
        "sane",
        "--title",
        "Sane",
        "--from",
        "2021-10-01",
        "--until",
        "2021-10-31",
        "--plays-per-day",
        "1",
    ]);
    loaxa_ok(&[
        "feed",
        "campaign",
        &feed,
        "--id",
        "absurd",
        "--title",
        "Absurd",
        "--from",
        "2021-10-01",
        "--until",
        "2021-10-31",
        "--plays-per-day",
        "2",
    ]);
    tone(&province.path().join("b.mp3"), 620, 3.0);
    loaxa_ok(&[
        "feed",
        "add",
        &feed,
        &p("b.mp3"),
        "--title",
        "B",
        "--id",
        "b-01",
        "--campaign",
        "sane",
    ]);
    // The province's tool refuses such a gap, so a broken publisher writes it by hand.
    let draft = province.path().join("feed/feed.json.draft");
    let text = std::fs::read_to_string(&draft).unwrap();
    let mut m: Value = serde_json::from_str(&text).unwrap();
    for c in m["campaigns"].as_array_mut().unwrap() {
        if c["id"] == "absurd" {
            c["min_gap"] = json!("2000000000000h");
        }
    }
    std::fs::write(&draft, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    loaxa_ok(&["feed", "publish", &feed, "--key", &p("keys/loaxa.key")]);
    let key = std::fs::read_to_string(p("keys/loaxa.pub"))
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .to_string();
    (province, key)
}

fn feed_station(url: &str, key: &str) -> Station {
    let s = Station::new(
        "null",
        "[[session]]\nname = \"Sáng\"\nstart = \"05:30\"\nend = \"06:00\"\n",
    );
    s.add_station_toml(&format!(
        "[feed]\nurl = \"{url}\"\npublic_keys = [\"{key}\"]\npoll = \"5s\"\n"
    ));
    s
}

#[test]
fn an_absurd_signed_campaign_is_refused_alone_and_the_daemon_lives_on() {
    let (province, key) = absurd_feed();
    let nginx = Nginx::start(&province.path().join("feed"));
    let s = feed_station(&nginx.url("feed.json"), &key);
    let d = Daemon::start(&s, "2021-10-01T05:00:00+07:00", None);
    let api = s.api();
    wait_for_api(&api);
    let log = s.wait_for("2021-10-01", 20, "the refusal", |r| {
        r["event"] == "rejected"
    });
    let r = log.iter().find(|r| r["event"] == "rejected").unwrap();
    assert!(
        r["reason"].as_str().unwrap().contains("absurd")
            && r["reason"].as_str().unwrap().contains("min_gap"),
        "{r}"
    );
    // The rest of the feed stands, and the daemon plans with it, restart after restart.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = get_json(&api, "/api/v1/status");
        if status["feed"]["bulletins"] == 1 {
            assert_eq!(status["feed"]["sequence"], 1);
            break;
        }
        assert!(Instant::now() < deadline, "{status}");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(d.stop().success());
    let d = Daemon::start(&s, "2021-10-01T05:10:00+07:00", None);
    wait_for_api(&api);
    let plan = get_json(&api, "/api/v1/plan?date=2021-10-01");
    let quotas = plan["quotas"].to_string();
    assert!(
        quotas.contains("sane") && !quotas.contains("absurd"),
        "{plan}"
    );
    assert!(d.stop().success());
}

#[test]
fn a_signature_missing_once_does_not_keep_the_manifest_out() {
    let (province, key) = absurd_feed();
    let flag = province.path().join("fail-once");
    std::fs::write(&flag, "").unwrap();
    let nginx = Nginx::start_with(
        &province.path().join("feed"),
        &format!(
            "location = /feed.json.minisig {{ if (-f {}) {{ return 503; }} }}",
            flag.display()
        ),
    );
    let s = feed_station(&nginx.url("feed.json"), &key);
    let d = Daemon::start(&s, "2021-10-01T05:00:00+07:00", None);
    let api = s.api();
    wait_for_api(&api);
    let log = s.wait_for("2021-10-01", 20, "the refusal", |r| {
        r["event"] == "rejected" && r["reason"].as_str().is_some_and(|t| t.contains("503"))
    });
    assert!(!log.is_empty());
    std::fs::remove_file(&flag).unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let status = get_json(&api, "/api/v1/status");
        if status["feed"]["sequence"] == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the manifest never came in: {status}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(d.stop().success());
}

#[test]
fn reads_off_loopback_need_the_token_and_loopback_needs_a_local_host() {
    let province = Province::new();
    let s = plain_station(&province, "xa-e");
    let api = s.api();
    // On loopback: a page elsewhere that rebinds its name to 127.0.0.1 is turned away.
    let d = Daemon::start(&s, "2021-10-01T09:00:00+07:00", None);
    wait_for_api(&api);
    let code = |args: &[&str]| -> u16 {
        let out = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).parse().unwrap_or(0)
    };
    let status_url = format!("{api}/api/v1/status");
    assert_eq!(code(&[&status_url]), 200);
    assert_eq!(code(&["-H", "Host: evil.example", &status_url]), 403);
    assert!(d.stop().success());
    // Off loopback (all addresses): reads need the token; pushes do not.
    let port = port_of(&api);
    let toml = std::fs::read_to_string(s.path("station.toml"))
        .unwrap()
        .replace(
            &format!("listen = \"127.0.0.1:{port}\""),
            &format!("listen = \"0.0.0.0:{port}\"\ntoken = \"0123456789abcdef-secret\""),
        );
    std::fs::write(s.path("station.toml"), toml).unwrap();
    let d = Daemon::start(&s, "2021-10-01T09:00:00+07:00", None);
    let deadline = Instant::now() + Duration::from_secs(10);
    while code(&[&status_url]) != 401 {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        code(&[
            "-H",
            "Authorization: Bearer wrong-token-wrong-token",
            &status_url
        ]),
        401
    );
    assert_eq!(
        code(&[
            "-H",
            "Authorization: Bearer 0123456789abcdef-secret",
            &status_url
        ]),
        200
    );
    // `loaxa status` sends it.
    let out = loaxa(&[
        "--config",
        s.dir.path().to_str().unwrap(),
        "status",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m = bulletin_at(
        "push-no-token",
        &s.path("khan.mp3"),
        "normal",
        None,
        d.rehearsal_now(),
    );
    assert_eq!(province.push(&api, &m, Some(&s.path("khan.mp3"))).0, 202);
    assert!(d.stop().success());
}
