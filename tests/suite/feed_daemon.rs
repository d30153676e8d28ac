//! The daemon following a real feed: a new bulletin arrives and airs; a revocation stops
//! it mid-play and it never airs again; a feed that is down all along changes nothing.

use crate::live;

use std::time::Duration;

use live::*;

const SCHEDULE: &str = r#"
[fill]
folder = "music"

[[session]]
name = "Sáng"
start = "05:30:00"
end = "05:30:40"

  [[session.item]]
  file = "local.wav"
"#;

fn station(feed_url: &str, key: &str) -> Station {
    let s = Station::new("null", SCHEDULE);
    let toml = std::fs::read_to_string(s.path("station.toml")).unwrap();
    std::fs::write(
        s.path("station.toml"),
        format!("{toml}[feed]\nurl = \"{feed_url}\"\npublic_keys = [\"{key}\"]\npoll = \"5s\"\n"),
    )
    .unwrap();
    std::fs::create_dir(s.path("music")).unwrap();
    tone(&s.path("music/fill.wav"), 1250, 5.0);
    tone(&s.path("local.wav"), 400, 2.0);
    s
}

/// A province with a key, a campaign and one 15 s bulletin, served by nginx.
fn province_with_bulletin() -> (tempfile::TempDir, Nginx, String) {
    let province = tempfile::tempdir().unwrap();
    let p = |n: &str| province.path().join(n).to_str().unwrap().to_string();
    let feed = p("feed");
    loaxa_ok(&["keygen", &p("keys")]);
    loaxa_ok(&[
        "feed",
        "campaign",
        &feed,
        "--id",
        "bcd389",
        "--title",
        "Chống buôn lậu",
        "--from",
        "2021-10-01",
        "--until",
        "2021-10-31",
        "--plays-per-day",
        "1",
        "--priority",
        "priority",
    ]);
    tone(&province.path().join("bulletin.mp3"), 620, 15.0);
    loaxa_ok(&[
        "feed",
        "add",
        &feed,
        &p("bulletin.mp3"),
        "--title",
        "Bản tin 389",
        "--id",
        "bcd389-01",
        "--campaign",
        "bcd389",
    ]);
    loaxa_ok(&["feed", "publish", &feed, "--key", &p("keys/loaxa.key")]);
    let key = std::fs::read_to_string(p("keys/loaxa.pub"))
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .to_string();
    let nginx = Nginx::start(&province.path().join("feed"));
    (province, nginx, key)
}

#[test]
fn a_feed_bulletin_airs_and_a_revocation_stops_it_at_once() {
    let (province, nginx, key) = province_with_bulletin();
    let p = |n: &str| province.path().join(n).to_str().unwrap().to_string();
    let feed = p("feed");
    let s = station(&nginx.url("feed.json"), &key);

    let d = Daemon::start(&s, "2021-10-01T05:29:50+07:00", None);
    let log = s.wait_for("2021-10-01", 30, "the feed bulletin to start", |r| {
        r["event"] == "start" && r["item"]["id"] == "bcd389-01"
    });
    let start = log
        .iter()
        .find(|r| r["event"] == "start" && r["item"]["id"] == "bcd389-01")
        .unwrap();
    assert_eq!(start["item"]["source"], "feed");
    assert_eq!(start["item"]["priority"], "priority");
    assert_eq!(
        start["ts"], "2021-10-01T05:30:00.000+07:00",
        "priority: first in the session"
    );

    // The province revokes it while it plays; the next poll (≤ 5 s) stops it.
    std::thread::sleep(Duration::from_secs(2));
    loaxa_ok(&["feed", "revoke", &feed, "bcd389-01"]);
    loaxa_ok(&["feed", "publish", &feed, "--key", &p("keys/loaxa.key")]);
    let log = s.wait_for("2021-10-01", 20, "the revoked bulletin to stop", |r| {
        r["event"] == "interrupted" && r["item"]["id"] == "bcd389-01"
    });
    let stop = log.iter().find(|r| r["event"] == "interrupted").unwrap();
    assert!(
        stop["reason"].as_str().unwrap().contains("revoked"),
        "{stop}"
    );
    let played = (ts(stop, "ts") - ts(start, "ts")).num_milliseconds();
    assert!(
        (2000..9000).contains(&played),
        "stopped after {played} ms of a 15 s bulletin"
    );
    // Right after it, the session goes on (the local item or filler), and it never airs again.
    let log = s.wait_for("2021-10-01", 40, "the session to end", |r| {
        r["event"] == "amp_off" && r["ts"].as_str().unwrap() > "2021-10-01T05:30:3"
    });
    assert!(d.stop().success());
    assert_eq!(
        log.iter()
            .filter(|r| r["event"] == "start" && r["item"]["id"] == "bcd389-01")
            .count(),
        1
    );
    assert!(
        !log.iter()
            .any(|r| r["event"] == "end" && r["item"]["id"] == "bcd389-01")
    );
    let after = log
        .iter()
        .skip_while(|r| *r != stop)
        .find(|r| r["event"] == "start")
        .unwrap();
    assert!(
        (ts(after, "ts") - ts(stop, "ts")).num_milliseconds() < 200,
        "no dead air after the cut: {after}"
    );
}

#[test]
fn a_feed_that_is_down_all_along_does_not_disturb_the_broadcast() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let key = "RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3";
    let s = station(&format!("http://127.0.0.1:{dead}/feed.json"), key);
    let d = Daemon::start(&s, "2021-10-01T05:29:55+07:00", None);
    let log = s.wait_for("2021-10-01", 70, "the session to end", |r| {
        r["event"] == "amp_off" && r["ts"].as_str().unwrap() > "2021-10-01T05:30:3"
    });
    // The failed polls are counted by what went wrong.
    let metrics = std::process::Command::new("curl")
        .args(["-s", &format!("{}/metrics", s.api())])
        .output()
        .unwrap();
    let metrics = String::from_utf8_lossy(&metrics.stdout).to_string();
    assert!(d.stop().success());
    let failed = |kind: &str| {
        metrics
            .lines()
            .find_map(|l| {
                l.strip_prefix(&format!("loaxa_feed_poll_errors_total{{kind=\"{kind}\"}} "))
            })
            .and_then(|n| n.parse::<u64>().ok())
    };
    assert!(failed("unreachable").is_some_and(|n| n >= 2), "{metrics}");
    assert_eq!(failed("http"), None, "{metrics}");
    let local = log
        .iter()
        .find(|r| r["event"] == "start" && r["item"]["id"] == "local.wav")
        .unwrap();
    assert_eq!(local["ts"], "2021-10-01T05:30:00.000+07:00");
    assert!(
        log.iter()
            .filter(|r| r["event"] == "start")
            .all(|r| r["late_ms"].as_i64().unwrap().abs() <= 5),
        "{}",
        show(&log)
    );
    assert!(
        !log.iter()
            .any(|r| r["event"] == "rejected" || r["event"] == "failed"),
        "{}",
        show(&log)
    );
    let daemon_log = std::fs::read_to_string(s.path("daemon.log")).unwrap();
    assert!(daemon_log.contains("feed unreachable"), "{daemon_log}");
}

#[test]
fn a_refused_feed_is_recorded_in_the_as_run_log() {
    let province = tempfile::tempdir().unwrap();
    let p = |n: &str| province.path().join(n).to_str().unwrap().to_string();
    loaxa_ok(&["keygen", &p("keys")]);
    loaxa_ok(&["keygen", &p("stranger")]);
    loaxa_ok(&[
        "feed",
        "campaign",
        &p("feed"),
        "--id",
        "c",
        "--title",
        "c",
        "--from",
        "2021-10-01",
        "--until",
        "2021-10-31",
        "--plays-per-day",
        "1",
    ]);
    loaxa_ok(&[
        "feed",
        "publish",
        &p("feed"),
        "--key",
        &p("stranger/loaxa.key"),
    ]);
    let trusted = std::fs::read_to_string(p("keys/loaxa.pub"))
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .to_string();
    let nginx = Nginx::start(&province.path().join("feed"));
    let s = station(&nginx.url("feed.json"), &trusted);
    let d = Daemon::start(&s, "2021-10-01T04:00:00+07:00", None);
    let log = s.wait_for("2021-10-01", 20, "a rejected record", |r| {
        r["event"] == "rejected"
    });
    assert!(d.stop().success());
    let r = log.iter().find(|r| r["event"] == "rejected").unwrap();
    assert!(
        r["reason"].as_str().unwrap().contains("does not trust"),
        "{r}"
    );
}

#[test]
fn a_push_cancel_stops_a_feed_bulletin_within_a_second() {
    let (province, nginx, key) = province_with_bulletin();
    let s = station(&nginx.url("feed.json"), &key);
    let d = Daemon::start(&s, "2021-10-01T05:29:55+07:00", None);
    s.wait_for("2021-10-01", 30, "the feed bulletin to start", |r| {
        r["event"] == "start" && r["item"]["id"] == "bcd389-01"
    });
    std::thread::sleep(Duration::from_secs(2));
    let key_file = province.path().join("keys/loaxa.key");
    let sent = d.rehearsal_now();
    let out = loaxa(&[
        "push",
        &s.api(),
        "--cancel",
        "bcd389-01",
        "--key",
        key_file.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let log = s.wait_for("2021-10-01", 5, "the cancelled bulletin to stop", |r| {
        r["event"] == "interrupted" && r["item"]["id"] == "bcd389-01"
    });
    let stop = log.iter().find(|r| r["event"] == "interrupted").unwrap();
    assert!(
        stop["reason"].as_str().unwrap().contains("cancelled"),
        "{stop}"
    );
    let after = (ts(stop, "ts") - sent).num_milliseconds();
    println!("push cancel → feed bulletin silent: {after} ms");
    assert!(after < 1000, "stopped {after} ms after the cancel");
    // The status reports the feed the station follows: the manifest it accepted.
    let status = loaxa(&[
        "--config",
        s.dir.path().to_str().unwrap(),
        "status",
        "--json",
    ]);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["feed"]["sequence"], 1, "{status}");
    assert_eq!(status["feed"]["bulletins"], 0, "cancelled: {status}");
    let plan = loaxa(&[
        "--config",
        s.dir.path().to_str().unwrap(),
        "plan",
        "--json",
        "--date",
        "2021-10-02",
    ]);
    let plan = String::from_utf8_lossy(&plan.stdout).to_string();
    assert!(
        plan.contains("\"sessions\"") && !plan.contains("bcd389-01"),
        "{plan}"
    );
    assert!(d.stop().success());
}
