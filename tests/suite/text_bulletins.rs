//! Text bulletins: written, not recorded. The station speaks them with its
//! text-to-speech command (espeak-ng, Vietnamese), once, and plays them like audio —
//! from schedule.toml, from a push, and from the provincial feed.

use crate::live;

use std::path::PathBuf;
use std::time::Duration;

use live::push::*;
use live::*;
use serde_json::{Value, json};

const TEXT: &str = "Thông báo: chiều nay, Ủy ban nhân dân xã tổ chức tiêm phòng cho trẻ em tại trạm y tế. Đề nghị các gia đình đưa con em đến đúng giờ.";

#[test]
fn a_vietnamese_text_in_schedule_toml_is_spoken_and_played() {
    let pulse = Pulse::start();
    let schedule = format!(
        "[[session]]\nname = \"Chiều\"\nstart = \"17:00:00\"\nend = \"17:01:00\"\n\n[[bulletin]]\nid = \"tiem-phong\"\ntitle = \"Tiêm phòng\"\ntext = \"{TEXT}\"\n"
    );
    let s = Station::new("pulse:amp", &schedule);
    s.write_amp_script("exit 0");
    let cfg = s.dir.path().to_str().unwrap().to_string();

    // Spoken once, at `check`; the second check reuses the recording.
    live::loaxa_ok(&["--config", &cfg, "check"]);
    let spoken: Vec<PathBuf> = std::fs::read_dir(s.path("state/tts"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wav"))
        .collect();
    assert_eq!(spoken.len(), 1, "{spoken:?}");
    let made = std::fs::metadata(&spoken[0]).unwrap().modified().unwrap();
    std::thread::sleep(Duration::from_millis(20));
    live::loaxa_ok(&["--config", &cfg, "check"]);
    assert_eq!(
        std::fs::metadata(&spoken[0]).unwrap().modified().unwrap(),
        made
    );

    let plan = loaxa(&["--config", &cfg, "plan", "--date", "2021-10-01", "--json"]);
    let plan: Value = serde_json::from_slice(&plan.stdout).unwrap();
    let item = plan["sessions"][0]["items"][0].clone();
    assert_eq!(item["id"], "tiem-phong", "{plan}");
    let planned_ms = (ts(&item, "end") - ts(&item, "start")).num_milliseconds();
    assert!(
        planned_ms > 4000,
        "a sentence of speech, not {planned_ms} ms"
    );

    let recording = s.path("recording.wav");
    let recorder = pulse.recorder(&recording);
    let daemon = Daemon::start(&s, "2021-10-01T16:59:57+07:00", Some(&pulse));
    let log = s.wait_for("2021-10-01", 60, "the spoken bulletin to end", |r| {
        r["event"] == "end" && r["item"]["id"] == "tiem-phong"
    });
    let heard = recorder.stop(&daemon);
    assert!(daemon.stop().success());

    // Speech is heard through the whole item: most 100 ms windows carry sound.
    let rate = heard.rate;
    let start = log
        .iter()
        .find(|r| r["event"] == "start" && r["item"]["id"] == "tiem-phong")
        .unwrap();
    let end = log
        .iter()
        .find(|r| r["event"] == "end" && r["item"]["id"] == "tiem-phong")
        .unwrap();
    let spoken = heard.between(ts(start, "ts"), ts(end, "ts"));
    let windows: Vec<f32> = spoken
        .chunks(rate as usize / 10)
        .map(|w| (w.iter().map(|x| x * x).sum::<f32>() / w.len() as f32).sqrt())
        .collect();
    let voiced = windows.iter().filter(|r| **r > 0.01).count();
    println!(
        "{voiced} of {} windows voiced, {} ms played",
        windows.len(),
        spoken.len() * 1000 / rate as usize
    );
    assert!(
        voiced * 10 >= windows.len() * 6,
        "speech heard in {voiced} of {} windows",
        windows.len()
    );
    assert!(((spoken.len() * 1000 / rate as usize) as i64 - planned_ms).abs() < 200);
}

#[test]
fn a_pushed_text_is_spoken_and_a_broken_speech_engine_is_a_clear_refusal() {
    let province = Province::new();
    let s = Station::new(
        "null",
        "[[session]]\nname = \"Chiều\"\nstart = \"17:00\"\nend = \"18:00\"\n",
    );
    s.write_amp_script("exit 0");
    s.add_station_toml(&province.trust());
    let daemon = Daemon::start(&s, "2021-10-01T09:00:00+07:00", None);
    let api = s.api();
    wait_for_api(&api);
    let manifest = json!({
        "loaxa_push": 1, "id": "loi-noi-01", "action": "bulletin",
        "issued_at": "2021-10-01T09:00:00+07:00", "expires_at": "2021-10-01T11:00:00+07:00",
        "bulletin": { "title": "Thông báo tiêm phòng", "priority": "normal", "text": TEXT }
    });
    let (code, body) = province.push(&api, &manifest, None);
    assert_eq!(code, 202, "{body}");
    assert!(body["duration_ms"].as_u64().unwrap() > 4000, "{body}");
    assert!(
        body["plays_at"]
            .as_str()
            .unwrap()
            .starts_with("2021-10-01T17:00"),
        "{body}"
    );
    let plan = get_json(&api, "/api/v1/plan?date=2021-10-01");
    assert!(plan.to_string().contains("loi-noi-01"), "{plan}");
    // Text and audio together is not a thing.
    let (code, body) = province.push(
        &api,
        &manifest_with_id(&manifest, "loi-noi-02"),
        Some(&s.path("station.toml")),
    );
    assert_eq!(code, 400, "{body}");
    assert!(daemon.stop().success());

    // A station whose speech engine fails says so, and keeps nothing.
    std::fs::write(
        s.path("station.toml"),
        std::fs::read_to_string(s.path("station.toml")).unwrap()
            + "[tts]\ncommand = [\"sh\", \"-c\", \"echo no voice installed >&2; exit 3\", \"{out}\"]\n",
    )
    .unwrap();
    let daemon = Daemon::start(&s, "2021-10-01T09:00:00+07:00", None);
    wait_for_api(&api);
    let (code, body) = province.push(&api, &manifest_with_id(&manifest, "loi-noi-03"), None);
    assert!(daemon.stop().success());
    assert_eq!(code, 415, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("no voice installed"),
        "{body}"
    );
}

fn manifest_with_id(m: &Value, id: &str) -> Value {
    let mut m = m.clone();
    m["id"] = json!(id);
    m
}

#[test]
fn a_text_bulletin_from_the_feed_is_spoken_and_planned() {
    let province = tempfile::tempdir().unwrap();
    let p = |n: &str| province.path().join(n).to_str().unwrap().to_string();
    loaxa_ok(&["keygen", &p("keys")]);
    loaxa_ok(&[
        "feed",
        "add",
        &p("feed"),
        "--text",
        TEXT,
        "--title",
        "Tiêm phòng",
        "--id",
        "tinh-loi-01",
    ]);
    loaxa_ok(&["feed", "publish", &p("feed"), "--key", &p("keys/loaxa.key")]);
    let manifest = std::fs::read_to_string(p("feed/feed.json")).unwrap();
    assert!(
        manifest.contains("\"text\"") && !manifest.contains("\"url\""),
        "{manifest}"
    );
    let key = std::fs::read_to_string(p("keys/loaxa.pub"))
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .to_string();
    let nginx = Nginx::start(&province.path().join("feed"));
    let s = Station::new(
        "null",
        "[[session]]\nname = \"Chiều\"\nstart = \"17:00\"\nend = \"18:00\"\n",
    );
    s.add_station_toml(&format!(
        "[feed]\nurl = \"{}\"\npublic_keys = [\"{key}\"]\npoll = \"5s\"\n",
        nginx.url("feed.json")
    ));
    s.write_amp_script("exit 0");
    let daemon = Daemon::start(&s, "2021-10-01T09:00:00+07:00", None);
    let cfg = s.dir.path().to_str().unwrap().to_string();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let plan = loop {
        let out = loaxa(&["--config", &cfg, "plan", "--date", "2021-10-01", "--json"]);
        let plan: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        if plan.to_string().contains("tinh-loi-01") {
            break plan;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the text bulletin never entered the plan"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(daemon.stop().success());
    let item = &plan["sessions"][0]["items"][0];
    assert_eq!(item["source"], "feed");
    assert!(item["path"].as_str().unwrap().contains("/tts/"), "{item}");
    assert!((ts(item, "end") - ts(item, "start")).num_milliseconds() > 4000);
}
