//! The station page (SPEC §14 `GET /`) in a real headless Chromium against the real
//! daemon playing to a PulseAudio null sink: the timeline against the as-run log, the
//! emergency banner, a bad schedule's errors, the month chart against `loaxa report`,
//! nothing fetched from elsewhere, the weight, screenshots for docs/, the cost to the
//! broadcast of a page kept open, a 300-item day, and the token off loopback.

use crate::live;

use std::time::{Duration, Instant};

use live::browser::Browser;
use live::push::*;
use live::*;
use serde_json::Value;

const DAY: &str = "2021-10-03";

const SCHEDULE: &str = r#"
[fill]
folder = "music"

[[session]]
name = "Sáng"
start = "05:30:00"
end = "05:30:25"
opening = "opening.wav"

  [[session.item]]
  file = "tin-xa.mp3"

[[session]]
name = "Trưa"
start = "05:30:30"
end = "05:31:00"

  [[session.item]]
  file = "thoi-su.ogg"

  [[session.item]]
  at = "05:30:52"
  file = "thong-bao.wav"

[[campaign]]
id = "chong-buon-lau"
title = "Chống buôn lậu"
from = 2021-09-01
until = 2021-12-31
plays_per_day = 2
min_gap = "10s"

[[bulletin]]
id = "hotline-389"
file = "hotline.wav"
campaign = "chong-buon-lau"
"#;

/// Every as-run play (a start and the end or interruption after it), in order.
fn plays(log: &[Value]) -> Vec<(String, &'static str, i64)> {
    let mut open: Vec<(String, i64)> = Vec::new();
    let mut out = Vec::new();
    for r in log {
        let id = r["item"]["id"].as_str().unwrap_or("").to_string();
        match r["event"].as_str() {
            Some("start") => open.push((id, r["late_ms"].as_i64().unwrap_or(0))),
            Some(e @ ("end" | "interrupted")) => {
                if let Some(k) = open.iter().rposition(|(i, _)| *i == id) {
                    let (id, late) = open.remove(k);
                    let outcome = match e {
                        "interrupted" => "interrupted",
                        _ if late > 1000 => "late",
                        _ => "ok",
                    };
                    out.push((id, outcome, late));
                }
            }
            _ => {}
        }
    }
    out
}

fn docs(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs")
        .join(name)
}

#[test]
fn the_page_shows_the_day_as_it_played_the_emergency_and_a_bad_schedule() {
    let pulse = Pulse::start();
    let province = Province::new();
    let station = Station::new("pulse:amp", SCHEDULE);
    station.add_station_toml(&province.trust());
    station.add_station_toml(
        "[emergency]\nstart_chime = \"chime-start.wav\"\nend_chime = \"chime-end.wav\"\n",
    );
    std::fs::create_dir(station.path("music")).unwrap();
    tone(&station.path("music/nhac.wav"), 700, 20.0);
    tone(&station.path("opening.wav"), 500, 2.0);
    tone(&station.path("tin-xa.mp3"), 440, 6.0);
    tone(&station.path("thoi-su.ogg"), 550, 6.0);
    tone(&station.path("thong-bao.wav"), 660, 4.0);
    tone(&station.path("hotline.wav"), 880, 3.0);
    tone(&station.path("chime-start.wav"), 1500, 0.7);
    tone(&station.path("chime-end.wav"), 1800, 0.7);
    tone(&station.path("khan-cap.mp3"), 1000, 4.0);

    let daemon = Daemon::start(&station, "2021-10-03T05:29:55+07:00", Some(&pulse));
    let api = station.api();
    wait_for_api(&api);
    let mut browser = Browser::start();
    browser.open(&format!("{api}/"), 1280, 900);
    browser.wait_for(
        "the page to show the station",
        10.0,
        "document.getElementById('station').textContent === 'test' && document.querySelectorAll('#timeline rect[data-lane=plan]').length > 0",
    );
    assert_eq!(browser.eval("document.documentElement.lang"), "vi");

    // The first session plays with the page open and polling: every start on time.
    station.wait_for(DAY, 60, "the second session to start", |r| {
        r["event"] == "start" && r["item"]["id"] == "thoi-su.ogg"
    });
    std::thread::sleep(Duration::from_secs(3));
    let before = station.asrun(DAY);
    for r in before.iter().filter(|r| r["event"] == "start") {
        let late = r["late_ms"].as_i64().unwrap_or(0);
        assert!(late <= 50, "late with the page open: {r}");
    }

    // An emergency: the banner within 2 s of the push, gone within 2 s of its end.
    let manifest = bulletin(
        "khan-cap",
        &station.path("khan-cap.mp3"),
        "emergency",
        Some(3),
    );
    let pushed = Instant::now();
    let (status, body) = province.push(&api, &manifest, Some(&station.path("khan-cap.mp3")));
    assert_eq!(status, 202, "{body}");
    browser.wait_for(
        "the emergency banner",
        (2.0 - pushed.elapsed().as_secs_f64()).max(0.0),
        "!document.getElementById('emergency').hidden",
    );
    let shown = pushed.elapsed();
    let text = browser.eval("document.getElementById('emergency').textContent");
    assert!(text.as_str().unwrap().contains("KHẨN CẤP"), "{text}");
    station.wait_for(DAY, 30, "the emergency to end", |r| {
        r["event"] == "end" && r["item"]["id"] == "emergency-end-chime"
    });
    let ended = Instant::now();
    browser.wait_for(
        "the banner to go",
        2.0,
        "document.getElementById('emergency').hidden",
    );
    println!(
        "banner shown {} ms after the push, gone {} ms after the end",
        shown.as_millis(),
        ended.elapsed().as_millis()
    );

    // After the day: the timeline holds every as-run play with its outcome.
    let log = station.wait_for(DAY, 60, "the second session to end", |r| {
        r["event"] == "amp_off" && r["ts"].as_str() > Some("2021-10-03T05:30:55")
    });
    std::thread::sleep(Duration::from_secs(3));
    browser.eval("refreshAsrun()");
    let played = plays(&log);
    assert!(
        played.iter().any(|(_, o, _)| *o == "interrupted"),
        "the emergency cut something: {}",
        show(&log)
    );
    let drawn = browser.wait_for(
        "the timeline to hold every play",
        5.0,
        &format!(
            "(() => {{ const r = [...document.querySelectorAll('#timeline rect[data-lane=asrun]')]; return r.length === {} && r.map(e => [e.dataset.id, e.dataset.outcome]); }})()",
            played.len()
        ),
    );
    let drawn: Vec<(String, String)> = serde_json::from_value(drawn).unwrap();
    let expected: Vec<(String, String)> = played
        .iter()
        .map(|(id, o, _)| (id.clone(), o.to_string()))
        .collect();
    assert_eq!(drawn, expected, "{}", show(&log));
    let rows = browser
        .eval("[...document.querySelectorAll('#timeline g.row')].map(g => g.dataset.session)");
    assert_eq!(rows, serde_json::json!(["Sáng", "Trưa"]));

    // Yesterday, as its log says it went: a late start, a failure, a skip, a refusal.
    let yesterday = "2021-10-02";
    let shifted = |r: &Value| -> Value {
        serde_json::from_str(&r.to_string().replace(DAY, yesterday)).unwrap()
    };
    let hotline: Vec<Value> = log
        .iter()
        .filter(|r| r["item"]["id"] == "hotline-389")
        .take(2)
        .map(shifted)
        .collect();
    let mut late = hotline[0].clone();
    late["late_ms"] = serde_json::json!(4200);
    let mut failed = shifted(
        &log.iter()
            .find(|r| r["item"]["id"] == "tin-xa.mp3")
            .unwrap()
            .clone(),
    );
    failed["event"] = "failed".into();
    failed["reason"] = "cannot decode: the file is cut short".into();
    failed.as_object_mut().unwrap().remove("late_ms");
    let mut skipped = failed.clone();
    skipped["event"] = "skipped".into();
    skipped["item"] = shifted(
        &log.iter()
            .find(|r| r["item"]["id"] == "thoi-su.ogg")
            .unwrap()["item"],
    );
    let rejected = serde_json::json!({"event": "rejected", "ts": "2021-10-02T05:30:20.000+07:00", "reason": "push refused (signature): not signed by a trusted key"});
    let lines: String = [late, hotline[1].clone(), failed, skipped, rejected]
        .iter()
        .map(|r| format!("{r}\n"))
        .collect();
    std::fs::write(
        station.path(&format!("state/asrun/{yesterday}.jsonl")),
        lines,
    )
    .unwrap();
    browser.eval(&format!("loadDay('{yesterday}')"));
    let marked = browser.wait_for(
        "yesterday's marks",
        5.0,
        "(() => { const m = [...document.querySelectorAll('#timeline [data-lane=asrun]')].map(e => e.dataset.outcome); return m.length === 4 && m; })()",
    );
    assert_eq!(
        marked,
        serde_json::json!(["late", "failed", "skipped", "rejected"])
    );
    // The day as Vietnamese readers write it, whatever the browser's locale.
    assert_eq!(
        browser.eval("document.getElementById('date').value"),
        "02/10/2021"
    );
    // Typed as dd/mm/yyyy, a day is that day (never month first); nonsense is put back.
    assert_eq!(
        browser.eval(
            "(() => { const d = document.getElementById('date'); d.value = '3/10/2021'; d.dispatchEvent(new Event('change')); return S.date; })()"
        ),
        "2021-10-03"
    );
    assert_eq!(
        browser.eval(
            "(() => { const d = document.getElementById('date'); d.value = '31/02/2021'; d.dispatchEvent(new Event('change')); return [S.date, d.value]; })()"
        ),
        serde_json::json!(["2021-10-03", "03/10/2021"])
    );
    browser.eval(&format!("loadDay('{yesterday}')"));
    browser.wait_for(
        "yesterday's marks again",
        5.0,
        "document.querySelectorAll('#timeline [data-lane=asrun]').length === 4",
    );
    // A tap on the late play tells by how much.
    let detail = browser.eval(
        "(() => { document.querySelector('#timeline rect[data-outcome=late]').dispatchEvent(new MouseEvent('click')); return document.getElementById('detail').textContent; })()",
    );
    let detail = detail.as_str().unwrap();
    assert!(
        detail.contains("Trễ") && detail.contains("4,2 giây"),
        "detail: {detail}"
    );
    browser.eval(&format!("loadDay('{DAY}')"));

    // The month chart and totals are `loaxa report`'s numbers.
    let report = loaxa(&[
        "--config",
        station.dir.path().to_str().unwrap(),
        "report",
        "--from",
        "2021-10-01",
        "--to",
        DAY,
        "--json",
    ]);
    assert!(report.status.success());
    let report: Value = serde_json::from_slice(&report.stdout).unwrap();
    browser.eval("loadMonth('2021-10')");
    let bars = browser.wait_for(
        "the month chart",
        5.0,
        "(() => { const g = [...document.querySelectorAll('#chart g.day')]; return g.length > 0 && g.map(e => [e.dataset.date, +e.dataset.required, +e.dataset.done, +e.dataset.short]); })()",
    );
    let bars: Vec<(String, u32, u32, u32)> = serde_json::from_value(bars).unwrap();
    assert_eq!(bars.len(), 3, "1–3 October: {bars:?}");
    for (date, required, done, short) in &bars {
        let rows: Vec<&Value> = report["days"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["date"] == date.as_str())
            .collect();
        let sum = |k: &str| {
            rows.iter()
                .map(|r| r[k].as_u64().unwrap() as u32)
                .sum::<u32>()
        };
        assert_eq!(
            (*required, *done, *short),
            (sum("required"), sum("done"), sum("short")),
            "{date}"
        );
    }
    assert!(bars.iter().any(|b| b.3 > 0), "1 and 2 October fell short");
    let totals = browser.eval(
        "[...document.querySelectorAll('#totals tr[data-campaign]')].map(e => [e.dataset.campaign, +e.dataset.required, +e.dataset.done, +e.dataset.short, +e.dataset.daysShort])",
    );
    let expected: Vec<Value> = report["totals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            serde_json::json!([
                t["campaign"],
                t["required"],
                t["done"],
                t["short"],
                t["days_short"]
            ])
        })
        .collect();
    assert_eq!(totals, Value::Array(expected));

    // Nothing came from anywhere but the station, and the page is light.
    let requests = browser.requests();
    let foreign: Vec<&String> = requests
        .iter()
        .filter(|u| !u.starts_with(&format!("{api}/")) && !u.starts_with("data:"))
        .collect();
    assert!(foreign.is_empty(), "requests elsewhere: {foreign:?}");
    let weight: u64 = browser
        .bytes_loaded()
        .iter()
        .filter(|(u, _)| !u.contains("/api/"))
        .map(|(_, n)| n)
        .sum();
    println!("page weight {weight} bytes");
    assert!(
        weight > 1000 && weight <= 150 * 1024,
        "page weight {weight}"
    );

    // Screenshots for docs/, in English and in Vietnamese, phone and desk widths.
    browser.viewport(390, 844);
    std::thread::sleep(Duration::from_millis(500));
    browser.screenshot(&docs("station-page-phone.png"));
    browser.viewport(1280, 900);
    browser.eval("document.getElementById('lang').click()");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        browser.eval("document.getElementById('now').querySelector('h2').textContent"),
        "Now"
    );
    browser.screenshot(&docs("station-page-desktop-en.png"));
    browser.eval("document.getElementById('lang').click()");
    std::thread::sleep(Duration::from_millis(300));
    browser.screenshot(&docs("station-page-desktop.png"));

    // A broken schedule: the error with its line, and the old plan still on.
    let broken = SCHEDULE.replace("plays_per_day = 2", "plays_per_day = 2\ncolour = \"red\"");
    let line = broken
        .lines()
        .position(|l| l.starts_with("colour"))
        .unwrap()
        + 1;
    std::fs::write(station.path("schedule.toml"), broken).unwrap();
    let errors = browser.wait_for(
        "the reload error on the page",
        10.0,
        "(() => { const e = document.getElementById('reload-errors'); return e && e.textContent; })()",
    );
    let errors = errors.as_str().unwrap().to_string();
    assert!(
        errors.contains(&format!("schedule.toml:{line}:")) && errors.contains("colour"),
        "{errors}"
    );
    assert!(daemon.stop().success());
}

#[test]
fn a_day_of_300_items_renders_quickly() {
    let mut schedule =
        String::from("[[session]]\nname = \"Cả ngày\"\nstart = \"06:00\"\nend = \"11:00\"\n");
    for _ in 0..300 {
        schedule.push_str("  [[session.item]]\n  file = \"tin.wav\"\n");
    }
    let station = Station::new("null", &schedule);
    tone(&station.path("tin.wav"), 440, 60.0);
    let _daemon = Daemon::start(&station, "2021-10-03T05:00:00+07:00", None);
    let api = station.api();
    wait_for_api(&api);
    let mut browser = Browser::start();
    browser.open(&format!("{api}/"), 1280, 900);
    let n = browser.wait_for(
        "the 300 items",
        20.0,
        "document.querySelectorAll('#timeline rect[data-lane=plan]').length",
    );
    assert_eq!(n, 300);
    // Drawn again, layout included, five times: the slowest.
    let slowest = browser.eval(
        "(() => { let w = 0; for (let i = 0; i < 5; i++) { const t = performance.now(); renderDay(); document.getElementById('timeline').getBoundingClientRect(); document.body.offsetHeight; w = Math.max(w, performance.now() - t); } return w; })()",
    );
    let slowest = slowest.as_f64().unwrap();
    println!("300 items drawn in {slowest:.1} ms at the slowest");
    assert!(slowest < 300.0, "{slowest} ms");
}

#[test]
fn off_loopback_the_page_asks_for_the_token_and_then_shows() {
    let token = "mot-hai-ba-bon-nam-sau";
    let station = Station::new(
        "null",
        "[[session]]\nname = \"Sáng\"\nstart = \"06:00\"\nend = \"06:30\"\n",
    );
    let toml = std::fs::read_to_string(station.path("station.toml")).unwrap();
    let port = free_port();
    let toml = toml
        .lines()
        .map(|l| {
            if l.starts_with("listen = ") {
                format!("listen = \"0.0.0.0:{port}\"\ntoken = \"{token}\"")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(station.path("station.toml"), toml + "\n").unwrap();
    let _daemon = Daemon::start(&station, "2021-10-03T05:00:00+07:00", None);
    let url = format!("http://127.0.0.1:{port}/");
    let deadline = Instant::now() + Duration::from_secs(20);
    let code = |args: &[&str]| {
        let out = std::process::Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    while code(&[&url]) != "401" {
        assert!(Instant::now() < deadline, "the daemon never answered");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Without the token: the login form, and no data.
    assert_eq!(code(&[&format!("{url}api/v1/status")]), "401");
    assert_eq!(
        code(&[
            "-H",
            "Cookie: loaxa_token=wrong-wrong-wrong",
            &format!("{url}api/v1/status")
        ]),
        "401"
    );
    assert_eq!(
        code(&[
            "-H",
            &format!("Cookie: loaxa_token={token}"),
            &format!("{url}api/v1/status")
        ]),
        "200"
    );
    assert_eq!(code(&[&format!("{url}ui/app.js")]), "200");

    let mut browser = Browser::start();
    browser.open(&url, 390, 844);
    browser.wait_for(
        "the login form",
        10.0,
        "document.getElementById('login')?.dataset.ready === '1'",
    );
    assert_eq!(
        browser.eval("document.getElementById('station') === null"),
        true,
        "no station page before the token"
    );
    browser.eval(&format!(
        "document.getElementById('token').value = '{token}'; document.getElementById('login').requestSubmit(); true"
    ));
    browser.wait_for(
        "the page after the token",
        10.0,
        "!!document.getElementById('station') && document.getElementById('station').textContent === 'test'",
    );
}
