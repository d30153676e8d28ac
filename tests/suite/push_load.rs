//! A bounded load test on 127.0.0.1: while a session plays to a PulseAudio null sink,
//! threads hammer the API with status, plan and metrics requests and push bulletins
//! concurrently. The broadcast must stay on time (late_ms in the as-run log) and every
//! accepted push must be kept.

use crate::live;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use live::push::*;
use live::*;
use serde_json::json;

const PUSHES: usize = 24;

#[test]
fn the_broadcast_stays_on_time_under_api_load_and_no_push_is_lost() {
    let pulse = Pulse::start();
    let province = Arc::new(Province::new());
    let mut schedule = String::from(
        "[[session]]\nname = \"Tải\"\nstart = \"05:30:00\"\nend = \"05:30:40\"\nopening = \"opening.wav\"\n",
    );
    for i in 0..8 {
        schedule += &format!("  [[session.item]]\n  file = \"item{i}.mp3\"\n");
    }
    let station = Station::new("pulse:amp", &schedule);
    station.write_amp_script("exit 0");
    station.add_station_toml(&province.trust());
    tone(&station.path("opening.wav"), 900, 2.0);
    for i in 0..8 {
        tone(&station.path(&format!("item{i}.mp3")), 400 + 50 * i, 3.0);
    }
    let clip = station.path("clip.ogg");
    tone(&clip, 600, 1.0);

    let daemon = Daemon::start(&station, "2021-10-01T05:29:57+07:00", Some(&pulse));
    let api = station.api();
    wait_for_api(&api);

    let stop = Arc::new(AtomicBool::new(false));
    let requests = Arc::new(AtomicU64::new(0));
    let slowest_us = Arc::new(AtomicU64::new(0));
    let mut readers = Vec::new();
    for n in 0..6 {
        let (stop, requests, slowest_us, api) = (
            stop.clone(),
            requests.clone(),
            slowest_us.clone(),
            api.clone(),
        );
        readers.push(std::thread::spawn(move || {
            let agent = ureq::Agent::new_with_defaults();
            let path = ["/api/v1/status", "/metrics", "/api/v1/plan?date=2021-10-01"][n % 3];
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let mut r = agent
                    .get(&format!("{api}{path}"))
                    .call()
                    .expect("API answers");
                let _ = r.body_mut().read_to_string();
                slowest_us.fetch_max(t.elapsed().as_micros() as u64, Ordering::Relaxed);
                requests.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let started = Instant::now();
    let mut pushers = Vec::new();
    for t in 0..3 {
        let (province, api, clip) = (province.clone(), api.clone(), clip.clone());
        pushers.push(std::thread::spawn(move || {
            let mut answers = Vec::new();
            for i in (t..PUSHES).step_by(3) {
                let mut m = bulletin(&format!("load-{i:02}"), &clip, "normal", None);
                m["bulletin"]["valid_from"] = json!("2021-10-02");
                m["bulletin"]["valid_until"] = json!("2021-10-02");
                answers.push(province.push(&api, &m, Some(&clip)));
            }
            answers
        }));
    }
    let answers: Vec<_> = pushers
        .into_iter()
        .flat_map(|p| p.join().unwrap())
        .collect();
    let log = station.wait_for("2021-10-01", 60, "the session to end", |r| {
        r["event"] == "amp_off"
            && r["reason"].is_null()
            && r["ts"].as_str() > Some("2021-10-01T05:30")
    });
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        r.join().unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let tomorrow = get_json(&api, "/api/v1/plan?date=2021-10-02");
    assert!(daemon.stop().success());

    for (code, body) in &answers {
        assert_eq!(*code, 202, "{body}");
    }
    let n = requests.load(Ordering::Relaxed);
    println!(
        "{n} API reads in {elapsed:.1} s ({:.0}/s, slowest {} ms) and {PUSHES} pushes during the session",
        n as f64 / elapsed,
        slowest_us.load(Ordering::Relaxed) / 1000
    );
    // On time: every item of the session started within 50 ms of its plan.
    let starts: Vec<_> = log.iter().filter(|r| r["event"] == "start").collect();
    assert_eq!(starts.len(), 9, "{}", show(&log));
    let worst = starts
        .iter()
        .map(|r| r["late_ms"].as_i64().unwrap().abs())
        .max()
        .unwrap();
    println!("worst late_ms under load: {worst}");
    assert!(worst <= 50, "{}", show(&log));
    assert!(
        !log.iter()
            .any(|r| r["event"] == "interrupted" || r["event"] == "failed")
    );
    // Nothing accepted is lost: every push is in tomorrow's plan.
    let planned: Vec<&str> = tomorrow["sessions"][0]["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["source"] == "push")
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(planned.len(), PUSHES, "{tomorrow}");
}
