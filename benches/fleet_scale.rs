//! The fleet channel at province scale: N light stations (default 2,000) in this one
//! process, each its own MQTT client on one local mosquitto, each running the real
//! station-side handling of a push message without audio (bounded parse, minisign
//! verification, every manifest check, replay set) and acknowledging. Then the real
//! `loaxa fleet push --all --text …` is timed from publish to each acknowledgement, and
//! the broker's CPU and memory are read from /proc.
//!
//! While the push is out, `FORGED` (10,000) forged pushes — signed by another key — are
//! published on the stations' own topics, as an attacker with a province login would:
//! every station must still acknowledge the real push (issue 26).
//!
//! `cargo bench --bench fleet_scale [-- N]` (needs mosquitto; raises its own and the
//! broker's open-file limit). Results go in docs/benchmarks.md.

use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use loaxa::core::fleet::{Ack, AckEvent, PushMessage, Topics, status_payload};
use loaxa::core::push::{Clocks, Rules};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{LastWill, Packet};
use rumqttc::v5::{AsyncClient, Event, MqttOptions};

const PREFIX: &str = "loaxa/bench";
/// Forged pushes published while the real one is out.
const FORGED: usize = 10_000;
/// Refusals a station acknowledges (the real one: 60 a minute).
const REFUSALS_ACKED: usize = 60;

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
    let refused = Arc::new(Mutex::new(0usize));
    let connect_started = Instant::now();
    runtime.block_on(async {
        let (ready_tx, mut ready) = tokio::sync::mpsc::channel(n);
        for i in 0..n {
            let id = format!("xa-{i:05}");
            let counts = (accepted.clone(), refused.clone());
            let (public, ready_tx) = (public.clone(), ready_tx.clone());
            tokio::spawn(station(id, port, public, ready_tx, counts));
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
    // The forgeries: signed with a key the stations do not trust, one line each for
    // `mosquitto_pub -l`, spread over the stations' own topics by one publisher each.
    let stranger = dir.path().join("stranger");
    assert!(
        Command::new(loaxa)
            .arg("keygen")
            .arg(&stranger)
            .status()
            .unwrap()
            .success()
    );
    let forged = forged_message(&stranger);
    let flooders: Vec<_> = (0..4)
        .map(|k| {
            let mut lines = String::new();
            for _ in 0..FORGED / 4 {
                lines.push_str(&forged);
                lines.push('\n');
            }
            let topic = Topics::new(PREFIX).push(&format!("xa-{:05}", k * (n / 4)));
            let mut c = Command::new("mosquitto_pub")
                .args([
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &port.to_string(),
                    "-q",
                    "1",
                    "-t",
                    &topic,
                    "-l",
                ])
                .stdin(Stdio::piped())
                .spawn()
                .expect("mosquitto_pub");
            let mut stdin = c.stdin.take().unwrap();
            std::thread::spawn(move || {
                use std::io::Write;
                let _ = stdin.write_all(lines.as_bytes());
            });
            c
        })
        .collect();
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
    for mut f in flooders {
        let _ = f.wait();
    }
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
        "loaxa fleet push --all with {FORGED} forged pushes arriving: {} of {n} acknowledged accepted, {} forgeries refused, exit {}; whole command {:.2} s (incl. reading {n} retained statuses)",
        *accepted.lock().unwrap(),
        *refused.lock().unwrap(),
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

/// A push message signed with `key_dir`'s key, as one line of JSON.
fn forged_message(key_dir: &std::path::Path) -> String {
    let now = chrono::Utc::now();
    let manifest = serde_json::json!({"loaxa_push": 1, "id": "forged-1",
        "issued_at": now.to_rfc3339(), "expires_at": (now + chrono::TimeDelta::hours(1)).to_rfc3339(),
        "action": "cancel", "cancel": "anything"});
    let text = std::fs::read_to_string(key_dir.join("loaxa.key")).unwrap();
    let key =
        loaxa::remote::signing::SecretKey::from_secret_file(&text).expect("the stranger's key");
    let bytes = serde_json::to_vec(&manifest).unwrap();
    let signature = key.sign(&bytes, "forged");
    serde_json::to_string(&PushMessage {
        manifest: String::from_utf8(bytes).unwrap(),
        signature,
    })
    .unwrap()
}

/// One light station: the real message handling, no audio, no disk.
async fn station(
    id: String,
    port: u16,
    public: String,
    ready: tokio::sync::mpsc::Sender<()>,
    (accepted, refused): (Arc<Mutex<usize>>, Arc<Mutex<usize>>),
) {
    let topics = Topics::new(PREFIX);
    let mut o = MqttOptions::new(id.clone(), "127.0.0.1", port);
    o.set_keep_alive(Duration::from_secs(60));
    o.set_max_packet_size(Some(loaxa::core::fleet::STATION_MAX_PACKET as u32));
    o.set_outgoing_inflight_upper_limit(loaxa::remote::broker::OUTGOING_INFLIGHT);
    o.set_last_will(LastWill::new(
        topics.status(&id),
        status_payload(None, false, &id),
        QoS::AtLeastOnce,
        true,
        None,
    ));
    let (client, mut events) = AsyncClient::new(o, 1024);
    let mut refusals_acked = 0;
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
                let verdict = PushMessage::parse(&p.payload)
                    .map_err(|e| e.to_string())
                    .and_then(|m| {
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
                    Err(_) if refusals_acked >= REFUSALS_ACKED => {
                        *refused.lock().unwrap() += 1;
                        continue;
                    }
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
                    Err(why) => {
                        refusals_acked += 1;
                        *refused.lock().unwrap() += 1;
                        Ack {
                            id: None,
                            event: AckEvent::Refused,
                            reason: Some(why),
                            ts: chrono::Utc::now().fixed_offset(),
                            heard: None,
                        }
                    }
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
