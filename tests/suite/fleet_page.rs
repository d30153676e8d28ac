//! `loaxa fleet serve` in a real headless Chromium, fed by a real mosquitto: a real
//! station and two others (one gone offline, one short of its quota and silent) in one
//! table with filters, and an emergency's acknowledgements filling in as the station
//! takes and plays it.

use crate::live;

use std::process::{Command, Stdio};
use std::time::Duration;

use live::browser::Browser;
use live::mqtt::Mosquitto;
use live::push::*;
use live::*;

const PREFIX: &str = "loaxa/test";

struct Serve(std::process::Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_fleet_page_shows_every_station_and_an_emergency_filling_in() {
    let broker = Mosquitto::start();
    let province = Province::new();
    let audio = tempfile::tempdir().unwrap();
    tone(&audio.path().join("khan.mp3"), 1000, 2.0);
    let nginx = Nginx::start(audio.path());

    let station = Station::new(
        "null",
        "[fill]\nfolder = \"music\"\n\n[[session]]\nname = \"Sáng\"\nstart = \"05:30\"\nend = \"06:00\"\n",
    );
    std::fs::create_dir(station.path("music")).unwrap();
    tone(&station.path("music/fill.wav"), 700, 30.0);
    station.add_station_toml(&province.trust());
    station.add_station_toml(&format!(
        "[fleet]\nbroker = \"{}\"\nprefix = \"{PREFIX}\"\n",
        broker.url()
    ));
    let daemon = Daemon::start(&station, "2021-10-01T05:31:00+07:00", None);
    // Two more stations, as their retained statuses say.
    broker.publish(
        &format!("{PREFIX}/station/xa-tan-linh/status"),
        br#"{"station_id": "xa-tan-linh", "online": false}"#,
        true,
    );
    broker.publish(
        &format!("{PREFIX}/station/xa-ba-trai/status"),
        r#"{"station_id": "xa-ba-trai", "online": true, "session": "Sáng", "amplifier_on": true, "output_ok": false,
            "now_playing": {"title": "Nhạc"}, "quotas": [{"campaign": "chong-buon-lau", "done": 0, "planned": 1, "required": 3}]}"#
            .as_bytes(),
        true,
    );

    let port = free_port();
    let _serve = Serve(
        Command::new(env!("CARGO_BIN_EXE_loaxa"))
            .args([
                "fleet",
                "serve",
                "--broker",
                &broker.url(),
                "--prefix",
                PREFIX,
                "--listen",
                &format!("127.0.0.1:{port}"),
            ])
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut browser = Browser::start();
    browser.open(&format!("http://127.0.0.1:{port}/"), 1280, 800);
    let rows = browser.wait_for(
        "three stations, the real one on air",
        30.0,
        "(() => { const r = [...document.querySelectorAll('#stations tr[data-station]')]; return (r.length === 3 && r.some(e => e.dataset.station === 'test' && e.className === '')) ? r.map(e => [e.dataset.station, e.className]) : false; })()",
    );
    assert_eq!(
        rows,
        serde_json::json!([
            ["test", ""],
            ["xa-ba-trai", "silent short"],
            ["xa-tan-linh", "offline"]
        ])
    );
    for (filter, expected) in [
        ("offline", vec!["xa-tan-linh"]),
        ("silent", vec!["xa-ba-trai"]),
        ("short", vec!["xa-ba-trai"]),
        ("all", vec!["test", "xa-ba-trai", "xa-tan-linh"]),
    ] {
        let shown = browser.eval(&format!(
            "(() => {{ document.querySelector('[data-filter={filter}]').click(); return [...document.querySelectorAll('#stations tr[data-station]')].map(e => e.dataset.station); }})()"
        ));
        assert_eq!(shown, serde_json::json!(expected), "filter {filter}");
    }

    // An emergency to the real station: its acknowledgements fill in on the page.
    let pushing = std::thread::spawn({
        let (url, key, file) = (broker.url(), province.key(), audio.path().join("khan.mp3"));
        let audio_url = nginx.url("khan.mp3");
        move || {
            loaxa(&[
                "fleet",
                "push",
                "--broker",
                &url,
                "--prefix",
                PREFIX,
                "--target",
                "test",
                file.to_str().unwrap(),
                "--url",
                &audio_url,
                "--key",
                key.to_str().unwrap(),
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
            ])
        }
    });
    browser.wait_for(
        "the station to accept",
        15.0,
        "!!document.querySelector('[data-push=khan-bao-09] [data-station=test]')",
    );
    browser.wait_for(
        "the station to have played it",
        30.0,
        "document.querySelector('[data-push=khan-bao-09] [data-station=test]').dataset.event === 'ended'",
    );
    let out = pushing.join().unwrap();
    assert!(out.status.success(), "{out:?}");

    // A CAP storm warning through the same channel: its push fills in too.
    let cap = audio.path().join("bao.xml");
    std::fs::write(
        &cap,
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>B9-1</identifier><sender>canhbao@kttv.gov.vn</sender>
  <sent>2021-10-01T05:30:00+07:00</sent><status>Actual</status><msgType>Alert</msgType><scope>Public</scope>
  <info><language>vi-VN</language><category>Met</category><event>Bão</event><urgency>Immediate</urgency>
    <severity>Extreme</severity><certainty>Observed</certainty><expires>2021-10-01T09:00:00+07:00</expires>
    <headline>Bão số 9</headline>
    <resource><resourceDesc>Bản tin</resourceDesc><mimeType>audio/mpeg</mimeType><uri>{}</uri></resource>
  </info>
</alert>"#,
            nginx.url("khan.mp3")
        ),
    )
    .unwrap();
    let out = loaxa(&[
        "cap",
        "import",
        cap.to_str().unwrap(),
        "--key",
        province.key().to_str().unwrap(),
        "--fleet",
        &broker.url(),
        "--prefix",
        PREFIX,
        "--issued-at",
        &daemon.rehearsal_now().to_rfc3339(),
    ]);
    assert!(out.status.success(), "{out:?}");
    let cap_id = loaxa::core::cap::bulletin_id("canhbao@kttv.gov.vn", "B9-1");
    browser.wait_for(
        "the CAP warning to have played",
        30.0,
        &format!("document.querySelector('[data-push={cap_id}] [data-station=test]')?.dataset.event === 'ended'"),
    );
    browser.viewport(1280, 800);
    std::thread::sleep(Duration::from_millis(300));
    browser
        .screenshot(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/fleet-page.png"));
    let foreign: Vec<String> = browser
        .requests()
        .into_iter()
        .filter(|u| !u.starts_with(&format!("http://127.0.0.1:{port}/")) && !u.starts_with("data:"))
        .collect();
    assert!(foreign.is_empty(), "{foreign:?}");
}
