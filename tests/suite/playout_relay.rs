//! Relays: live audio over HTTP (MP3 and ADTS AAC, as Icecast serves them) played for
//! their slot, and filler in place of a stream that dies or never answers.

use crate::live;

use std::io::{Read, Write};
use std::net::TcpListener;

use live::*;

/// Serves `path → (content type, body)` over HTTP/1.0 until the test ends.
fn serve(routes: Vec<(&'static str, &'static str, Vec<u8>)>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut req = [0u8; 2048];
            let n = stream.read(&mut req).unwrap_or(0);
            let line = String::from_utf8_lossy(&req[..n]);
            let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
            match routes.iter().find(|(p, _, _)| *p == path) {
                Some((_, ct, body)) => {
                    let _ = stream.write_all(
                        format!("HTTP/1.0 200 OK\r\nContent-Type: {ct}\r\nicy-name: test\r\n\r\n")
                            .as_bytes(),
                    );
                    let _ = stream.write_all(body);
                }
                None => {
                    let _ = stream.write_all(b"HTTP/1.0 404 Not Found\r\n\r\n");
                }
            }
        }
    });
    port
}

#[test]
fn relays_play_live_streams_and_fall_back_to_filler() {
    let dir = tempfile::tempdir().unwrap();
    let mp3 = dir.path().join("live.mp3");
    tone(&mp3, 620, 5.0);
    let wav = dir.path().join("live.wav");
    tone(&wav, 700, 4.0);
    let aac = dir.path().join("live.aac");
    run(
        "ffmpeg",
        &[
            "-v",
            "error",
            "-y",
            "-i",
            wav.to_str().unwrap(),
            "-c:a",
            "aac",
            "-f",
            "adts",
            aac.to_str().unwrap(),
        ],
    );
    let port = serve(vec![
        ("/vov1", "audio/mpeg", std::fs::read(&mp3).unwrap()),
        ("/vov2", "audio/aac", std::fs::read(&aac).unwrap()),
    ]);
    let dead = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();

    let schedule = format!(
        r#"
[fill]
folder = "music"

[[session]]
name = "Tiếp sóng"
start = "05:30:00"
end = "05:30:30"

  [[session.item]]
  at = "05:30:02"
  relay = "http://127.0.0.1:{port}/vov1"
  duration = "8s"

  [[session.item]]
  at = "05:30:12"
  relay = "http://127.0.0.1:{port}/vov2"
  duration = "6s"

  [[session.item]]
  at = "05:30:20"
  relay = "http://127.0.0.1:{dead}/gone"
  duration = "5s"
"#
    );
    let s = Station::new("null", &schedule);
    std::fs::create_dir(s.path("music")).unwrap();
    tone(&s.path("music/fill.wav"), 1250, 3.0);
    let d = Daemon::start(&s, "2021-10-01T05:29:57+07:00", None);
    let log = s.wait_for("2021-10-01", 60, "the session to end", |r| {
        r["event"] == "amp_off" && r["ts"].as_str().unwrap() > "2021-10-01T05:30:2"
    });
    assert!(d.stop().success());

    let relay = |id: &str, event: &str| {
        log.iter()
            .find(|r| r["event"] == event && r["item"]["id"].as_str().unwrap().ends_with(id))
            .cloned()
    };
    for (id, planned, lasted) in [("/vov1", "05:30:02", 5.0), ("/vov2", "05:30:12", 4.0)] {
        let start =
            relay(id, "start").unwrap_or_else(|| panic!("{id} did not start:\n{}", show(&log)));
        let end = relay(id, "end").unwrap();
        // The stream is connected and probed at its start time, so under load its first
        // sample can come a few ms late: within the 50 ms every item must keep.
        let planned_at =
            chrono::DateTime::parse_from_rfc3339(&format!("2021-10-01T{planned}+07:00")).unwrap();
        let late = (ts(&start, "ts") - planned_at).num_milliseconds();
        assert!(
            (0..=50).contains(&late),
            "{id} started {late} ms after {planned}"
        );
        let secs = (ts(&end, "ts") - ts(&start, "ts")).num_milliseconds() as f64 / 1000.0;
        assert!(
            (secs - lasted).abs() < 0.2,
            "{id} played {secs} s of a {lasted} s stream"
        );
        // The stream ended before its slot: filler follows at once.
        let next = log
            .iter()
            .skip_while(|r| **r != end)
            .find(|r| r["event"] == "start")
            .unwrap();
        assert_eq!(
            (next["item"]["kind"].as_str(), next["ts"].as_str()),
            (Some("fill"), end["ts"].as_str()),
            "after {id}"
        );
    }
    let failed = relay("/gone", "failed")
        .unwrap_or_else(|| panic!("dead relay not marked failed:\n{}", show(&log)));
    assert!(
        failed["reason"].as_str().unwrap().contains("relay failed"),
        "{failed}"
    );
    let next = log
        .iter()
        .skip_while(|r| **r != failed)
        .find(|r| r["event"] == "start")
        .unwrap();
    assert_eq!(next["item"]["kind"], "fill");
    assert!(
        (ts(next, "ts") - ts(&failed, "ts"))
            .num_milliseconds()
            .abs()
            < 200
    );
    // The filler in the dead relay's slot stops when the slot ends (05:30:25).
    let last_fill_end = log
        .iter()
        .filter(|r| r["event"] == "end" && r["item"]["kind"] == "fill")
        .map(|r| ts(r, "ts"))
        .max()
        .unwrap();
    assert!(
        last_fill_end <= chrono::DateTime::parse_from_rfc3339("2021-10-01T05:30:30+07:00").unwrap()
    );
}
