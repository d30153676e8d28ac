//! The fleet channel at province scale: N light stations (default 2,000) in this one
//! process, each its own MQTT client on one local mosquitto, each running the real
//! station-side handling of a push message without audio (bounded parse, minisign
//! verification, every manifest check, replay set) and acknowledging. Then the real
//! `loaxa fleet push --all --text …` is timed from publish to each acknowledgement, and
//! the broker's CPU and memory are read from /proc.
//!
//! `cargo bench --bench fleet_scale [-- N]` (needs mosquitto; raises its own and the
//! broker's open-file limit). Results go in docs/benchmarks.md.

use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use loaxa::core::fleet::{Ack, AckEvent, PushMessage, Topics, status_payload};
use loaxa::core::push::{Clocks, Rules};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

const PREFIX: &str = "loaxa/bench";

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(2000);
    let _ = rlimit::increase_nofile_limit(4 * n as u64 + 1024);
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(
        dir.path().join("m.conf"),
        format!("user root\nlistener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 10000\n"),
    )
    .unwrap();
    let mut broker = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "ulimit -n {}; exec mosquitto -c {}",
            4 * n + 1024,
            dir.path().join("m.conf").display()
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mosquitto");
    let pid = broker.id();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        std::thread::sleep(Duration::from_millis(50));
    }

    // The province's key, made by loaxa itself.
    let loaxa = env!("CARGO_BIN_EXE_loaxa");
    let keys = dir.path().join("keys");
    assert!(
        Command::new(loaxa)
            .arg("keygen")
            .arg(&keys)
            .status()
            .unwrap()
            .success()
    );
    let public = std::fs::read_to_string(keys.join("loaxa.pub"))
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .to_string();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let accepted = Arc::new(Mutex::new(0usize));
    let connect_started = Instant::now();
    runtime.block_on(async {
        let (ready_tx, mut ready) = tokio::sync::mpsc::channel(n);
        for i in 0..n {
            let id = format!("xa-{i:05}");
            let (public, ready_tx, accepted) = (public.clone(), ready_tx.clone(), accepted.clone());
            tokio::spawn(station(id, port, public, ready_tx, accepted));
            if i % 100 == 99 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        for _ in 0..n {
            ready.recv().await;
        }
    });
    println!(
        "{n} stations connected, subscribed and online in {:.1} s",
        connect_started.elapsed().as_secs_f64()
    );
    let before = cpu_ticks(pid);
    let started = Instant::now();
    let out = Command::new(loaxa)
        .args([
            "fleet",
            "push",
            "--broker",
            &format!("mqtt://127.0.0.1:{port}"),
        ])
        .args([
            "--prefix",
            PREFIX,
            "--all",
            "--text",
            "Thông báo khẩn: bão số 9",
        ])
        .args([
            "--title",
            "Bão số 9",
            "--priority",
            "emergency",
            "--wait",
            "120s",
            "--json",
        ])
        .arg("--key")
        .arg(keys.join("loaxa.key"))
        .output()
        .unwrap();
    let wall = started.elapsed();
    let cpu = (cpu_ticks(pid) - before) as f64 / 100.0;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let mut lat: Vec<u64> = v["stations"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["latency_ms"].as_u64())
        .collect();
    lat.sort_unstable();
    let pct = |p: f64| lat[((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1];
    println!(
        "loaxa fleet push --all: {} of {n} acknowledged accepted, exit {}; whole command {:.2} s (incl. reading {n} retained statuses)",
        *accepted.lock().unwrap(),
        out.status.code().unwrap_or(-1),
        wall.as_secs_f64()
    );
    println!(
        "publish → acknowledgement: p50 {} ms, p99 {} ms, max {} ms",
        pct(0.5),
        pct(0.99),
        lat.last().unwrap()
    );
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |k: &str| {
        status
            .lines()
            .find(|l| l.starts_with(k))
            .map(|l| l.split_whitespace().nth(1).unwrap_or("?").to_string())
            .unwrap_or_default()
    };
    println!(
        "mosquitto: {cpu:.2} s CPU during the push; RSS {} kB, peak {} kB with {n} sessions",
        field("VmRSS:"),
        field("VmHWM:")
    );
    let _ = broker.kill();
    let _ = broker.wait();
}

fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    f.get(11).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0)
}

/// One light station: the real message handling, no audio, no disk.
async fn station(
    id: String,
    port: u16,
    public: String,
    ready: tokio::sync::mpsc::Sender<()>,
    accepted: Arc<Mutex<usize>>,
) {
    let topics = Topics::new(PREFIX);
    let mut o = MqttOptions::new(id.clone(), "127.0.0.1", port);
    o.set_keep_alive(Duration::from_secs(60));
    o.set_last_will(rumqttc::LastWill::new(
        topics.status(&id),
        status_payload(None, false, &id),
        QoS::AtLeastOnce,
        true,
    ));
    let (client, mut events) = AsyncClient::new(o, 16);
    let mut seen: HashSet<String> = HashSet::new();
    let mut told = false;
    let mut subacks = 0;
    loop {
        let Ok(event) = events.poll().await else {
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        };
        match event {
            Event::Incoming(Packet::ConnAck(_)) => {
                for t in [topics.push(&id), topics.all_push()] {
                    let _ = client.try_subscribe(t, QoS::AtLeastOnce);
                }
                let s = serde_json::json!({"station_id": id});
                let _ = client.try_publish(
                    topics.status(&id),
                    QoS::AtLeastOnce,
                    true,
                    status_payload(Some(&s), true, &id),
                );
            }
            Event::Incoming(Packet::SubAck(_)) => {
                subacks += 1;
                if subacks == 2 && !told {
                    told = true;
                    let _ = ready.send(()).await;
                }
            }
            Event::Incoming(Packet::Publish(p)) => {
                let verdict = PushMessage::parse(&p.payload).and_then(|m| {
                    loaxa::remote::signing::verify(
                        m.manifest.as_bytes(),
                        &m.signature,
                        std::slice::from_ref(&public),
                    )
                    .map_err(|e| e.to_string())?;
                    let now = chrono::Utc::now();
                    let rules = Rules {
                        here: loaxa::core::targets::Here {
                            station_id: &id,
                            areas: &[],
                            test_mode: false,
                        },
                        max_bulletin_bytes: 50 << 20,
                    };
                    let clocks = Clocks {
                        station: now,
                        real: None,
                    };
                    loaxa::core::push::check_signed(rules, clocks, m.manifest.as_bytes(), |i| {
                        seen.contains(i)
                    })
                    .map_err(|e| e.to_string())
                });
                let ack = match verdict {
                    Ok(c) => {
                        seen.insert(c.manifest.id.clone());
                        *accepted.lock().unwrap() += 1;
                        Ack {
                            id: Some(c.manifest.id),
                            event: AckEvent::Accepted,
                            reason: None,
                            ts: chrono::Utc::now().fixed_offset(),
                            heard: None,
                        }
                    }
                    Err(why) => Ack {
                        id: None,
                        event: AckEvent::Refused,
                        reason: Some(why),
                        ts: chrono::Utc::now().fixed_offset(),
                        heard: None,
                    },
                };
                let _ = client.try_publish(
                    topics.ack(&id),
                    QoS::AtLeastOnce,
                    false,
                    serde_json::to_vec(&ack).unwrap(),
                );
            }
            _ => {}
        }
    }
}
