//! `loaxa cap import` (SPEC §14) end to end: real-shaped CAP 1.2 alerts (a storm warning
//! with its recording on the province's web server, one with only Vietnamese text, an
//! Update, a Cancel, a Test, a duplicate, an expired one, malformed XML) become signed
//! pushes to a real daemon, or bulletins in a feed; what the station does with each is
//! read from its as-run log.

use crate::live;

use std::path::Path;
use std::time::Duration;

use live::push::*;
use live::*;
use serde_json::Value;

const SENDER: &str = "canhbao@kttv.gov.vn";

fn alert(identifier: &str, status: &str, kind: &str, refs: &str, info: &str) -> String {
    let refs = if refs.is_empty() {
        String::new()
    } else {
        format!("<references>{refs}</references>")
    };
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{identifier}</identifier>
  <sender>{SENDER}</sender>
  <sent>2021-10-01T02:00:00+07:00</sent>
  <status>{status}</status>
  <msgType>{kind}</msgType>
  <scope>Public</scope>
  {refs}
  {info}
</alert>"#
    )
}

fn info(headline: &str, expires: &str, resource: &str) -> String {
    info_in(headline, expires, resource, "31")
}

/// An info block for the province with this geocode.
fn info_in(headline: &str, expires: &str, resource: &str, province: &str) -> String {
    format!(
        r#"<info>
    <language>vi-VN</language>
    <category>Met</category>
    <event>Bão</event>
    <urgency>Immediate</urgency>
    <severity>Extreme</severity>
    <certainty>Observed</certainty>
    <expires>{expires}</expires>
    <senderName>Trung tâm Dự báo KTTV quốc gia</senderName>
    <headline>{headline}</headline>
    <description>Gió mạnh cấp 12.</description>
    <instruction>Người dân ở trong nhà.</instruction>
    {resource}
    <area><areaDesc>Hải Phòng</areaDesc><geocode><valueName>VN-province</valueName><value>{province}</value></geocode></area>
  </info>"#
    )
}

fn reference(identifier: &str) -> String {
    format!("{SENDER},{identifier},2021-10-01T02:00:00+07:00")
}

fn id_of(identifier: &str) -> String {
    loaxa::core::cap::bulletin_id(SENDER, identifier)
}

/// `loaxa cap import FILE --key … ARGS`, signing at `issued_at`.
fn import(dir: &Path, name: &str, xml: &str, key: &Path, args: &[&str]) -> std::process::Output {
    let file = dir.join(name);
    std::fs::write(&file, xml).unwrap();
    let mut all = vec![
        "cap",
        "import",
        file.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
        "--issued-at",
        "2021-10-01T02:00:30+07:00",
    ];
    all.extend_from_slice(args);
    loaxa(&all)
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn starts(log: &[Value], id: &str) -> usize {
    log.iter()
        .filter(|r| r["event"] == "start" && r["item"]["id"] == id)
        .count()
}

#[test]
fn cap_alerts_become_pushes_the_station_plays_replaces_and_withdraws() {
    let province = Province::new();
    let web = tempfile::tempdir().unwrap();
    tone(&web.path().join("bao-so-9.mp3"), 1000, 1.0);
    let nginx = Nginx::start(web.path());
    let station = Station::new(
        "null",
        "[[session]]\nname = \"Chiều\"\nstart = \"17:00\"\nend = \"18:00\"\n",
    );
    station.add_station_toml(&province.trust());
    // The station is in Hải Phòng (geocode 31), and not in test mode.
    set_top(&station, "areas = [\"VN-province=31\"]");
    let _daemon = Daemon::start(&station, "2021-10-01T02:00:00+07:00", None);
    let api = station.api();
    wait_for_api(&api);
    let key = province.key();
    let work = tempfile::tempdir().unwrap();
    let to = ["--push", api.as_str()];
    let later = "2021-10-01T04:00:00+07:00";

    // A storm warning with its recording: an emergency, played at once, at night.
    let resource = format!(
        "<resource><resourceDesc>Bản tin bão</resourceDesc><mimeType>audio/mpeg</mimeType><uri>{}</uri></resource>",
        nginx.url("bao-so-9.mp3")
    );
    let storm = alert(
        "B9-1",
        "Actual",
        "Alert",
        "",
        &info("Bão số 9", later, &resource),
    );
    let out = import(work.path(), "b9-1.xml", &storm, &key, &to);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("emergency"), "{}", text(&out));
    let log = station.wait_for("2021-10-01", 30, "the storm warning to play", |r| {
        r["event"] == "end" && r["item"]["id"] == id_of("B9-1")
    });
    let played = log
        .iter()
        .find(|r| r["event"] == "start" && r["item"]["id"] == id_of("B9-1"))
        .unwrap();
    assert_eq!(played["item"]["priority"], "emergency");
    assert_eq!(played["item"]["source"], "push");
    assert_eq!(played["item"]["title"], "Bão số 9");

    // The same alert again: delivered once.
    let out = import(work.path(), "b9-1-again.xml", &storm, &key, &to);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("duplicate"), "{}", text(&out));

    // A Test is only for stations in test mode: this one refuses it.
    let test = alert("T-1", "Test", "Alert", "", &info("Thử", later, ""));
    let out = import(work.path(), "t.xml", &test, &key, &to);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("a test"), "{}", text(&out));
    assert!(text(&out).contains("not in test_mode"), "{}", text(&out));
    // Another province's warning (geocode 01) is not for this station.
    let far = alert(
        "HN-1",
        "Actual",
        "Alert",
        "",
        &info_in("Hà Nội", later, "", "01"),
    );
    let out = import(work.path(), "hn-1.xml", &far, &key, &to);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("not for station test"),
        "{}",
        text(&out)
    );
    let log = station.asrun("2021-10-01");
    for why in ["not in test_mode", "not for station test"] {
        assert!(
            log.iter().any(|r| r["event"] == "rejected"
                && r["reason"].as_str().is_some_and(|t| t.contains(why))),
            "{why}: {}",
            show(&log)
        );
    }

    // Text only: the station speaks it.
    let flood = alert("LU-1", "Actual", "Alert", "", &info("Lũ quét", later, ""));
    let out = import(work.path(), "lu-1.xml", &flood, &key, &to);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("text"), "{}", text(&out));
    station.wait_for("2021-10-01", 60, "the flood warning to be spoken", |r| {
        r["event"] == "end" && r["item"]["id"] == id_of("LU-1")
    });

    // An Update withdraws what it updates and brings its own; a Cancel withdraws it.
    let update = alert(
        "LU-2",
        "Actual",
        "Update",
        &reference("LU-1"),
        &info("Lũ quét: cập nhật", later, ""),
    );
    let out = import(work.path(), "lu-2.xml", &update, &key, &to);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("{}: withdrawn", id_of("LU-1"))),
        "{}",
        text(&out)
    );
    station.wait_for("2021-10-01", 60, "the update to be spoken", |r| {
        r["event"] == "start" && r["item"]["id"] == id_of("LU-2")
    });
    let cancel = alert("LU-3", "Actual", "Cancel", &reference("LU-2"), "");
    let out = import(work.path(), "lu-3.xml", &cancel, &key, &to);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("{}: withdrawn", id_of("LU-2"))),
        "{}",
        text(&out)
    );
    std::thread::sleep(Duration::from_secs(2));
    let log = station.asrun("2021-10-01");
    // The cancel stops what still plays of the update: it does not play on to its end
    // three times over.
    assert!(starts(&log, &id_of("LU-2")) < 3, "{}", show(&log));
    let before = log.len();

    // Expired and malformed alerts: exit 65 with the reason, nothing sent.
    let old = alert(
        "OLD",
        "Actual",
        "Alert",
        "",
        &info("Cũ", "2021-10-01T01:00:00+07:00", ""),
    );
    let out = import(work.path(), "old.xml", &old, &key, &to);
    assert_eq!(out.status.code(), Some(65), "{}", text(&out));
    assert!(text(&out).contains("expired"), "{}", text(&out));
    let out = import(
        work.path(),
        "bad.xml",
        "<alert><identifier>x</alert>",
        &key,
        &to,
    );
    assert_eq!(out.status.code(), Some(65), "{}", text(&out));
    assert!(text(&out).contains("not a CAP 1.2 alert"), "{}", text(&out));
    std::thread::sleep(Duration::from_secs(1));
    let log = station.asrun("2021-10-01");
    assert_eq!(starts(&log, &id_of("T-1")), 0, "{}", show(&log));
    assert_eq!(starts(&log, &id_of("HN-1")), 0, "{}", show(&log));
    assert_eq!(starts(&log, &id_of("OLD")), 0, "{}", show(&log));
    assert!(
        log[before..].iter().all(|r| r["event"] != "rejected"),
        "nothing was sent for them: {}",
        show(&log[before..])
    );

    // The installer sets the station aside for a drill: the next test alert plays.
    set_top(&station, "test_mode = true");
    let drill = alert("T-2", "Exercise", "Alert", "", &info("Diễn tập", later, ""));
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let out = import(work.path(), "t-2.xml", &drill, &key, &to);
        if out.status.success() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the reloaded station still refuses the drill: {}",
            text(&out)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    station.wait_for("2021-10-01", 60, "the drill to be spoken", |r| {
        r["event"] == "end" && r["item"]["id"] == id_of("T-2")
    });
}

/// Adds a top-level key to station.toml (before its tables).
fn set_top(station: &Station, line: &str) {
    let path = station.path("station.toml");
    let toml = std::fs::read_to_string(&path).unwrap();
    let toml = toml.replacen("[paths]", &format!("{line}\n[paths]"), 1);
    std::fs::write(path, toml).unwrap();
}

#[test]
fn cap_alerts_go_into_a_feed_once_and_a_cancel_revokes_them() {
    let province = Province::new();
    let feed = tempfile::tempdir().unwrap();
    let key = province.key();
    let work = tempfile::tempdir().unwrap();
    let to = ["--feed", feed.path().to_str().unwrap()];
    let later = "2021-10-01T04:00:00+07:00";
    let embedded = {
        let wav = work.path().join("tin.wav");
        tone(&wav, 800, 1.0);
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(std::fs::read(&wav).unwrap());
        format!(
            "<resource><resourceDesc>Tin</resourceDesc><mimeType>audio/wav</mimeType><derefUri>{b64}</derefUri></resource>"
        )
    };
    let storm = alert(
        "F-1",
        "Actual",
        "Alert",
        "",
        &info("Bão số 10", later, &embedded),
    );
    let out = import(work.path(), "f1.xml", &storm, &key, &to);
    assert!(out.status.success(), "{}", text(&out));
    let manifest = || -> Value {
        serde_json::from_slice(&std::fs::read(feed.path().join("feed.json")).unwrap()).unwrap()
    };
    let m = manifest();
    let listed = m["bulletins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == id_of("F-1"))
        .unwrap_or_else(|| panic!("{m:#}"));
    assert_eq!(listed["priority"], "emergency");
    assert_eq!(listed["valid_until"], "2021-10-01");
    let sequence = m["sequence"].as_u64().unwrap();
    assert!(feed.path().join("feed.json.minisig").exists());

    // Again: nothing changes.
    let out = import(work.path(), "f1-again.xml", &storm, &key, &to);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(manifest()["sequence"].as_u64().unwrap(), sequence);

    // Cancelled: revoked, and an import of the first alert afterwards does not bring it back.
    let cancel = alert("F-2", "Actual", "Cancel", &reference("F-1"), "");
    let out = import(work.path(), "f2.xml", &cancel, &key, &to);
    assert!(out.status.success(), "{}", text(&out));
    let out = import(work.path(), "f1-late.xml", &storm, &key, &to);
    assert!(out.status.success(), "{}", text(&out));
    let m = manifest();
    assert!(
        m["revoked"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == &Value::from(id_of("F-1"))),
        "{m:#}"
    );
    assert!(
        m["bulletins"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["id"] != id_of("F-1")),
        "{m:#}"
    );
}
