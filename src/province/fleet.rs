//! The province's end of the fleet channel (SPEC §13): `loaxa fleet status`, `push`,
//! `watch` and `nudge`, each a short-lived MQTT client on the province's broker.
//!
//! Every station is seen through its retained status (`P/station/S/status`); a push is
//! one signed manifest published on `P/all/push` or on each target's own topic, and the
//! stations' acknowledgements (`P/station/S/ack`) say what became of it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, EventLoop, Packet, QoS};
use serde::Serialize;

use crate::config::fleet::Broker;
use crate::core::fleet::{Ack, AckEvent, PushMessage, SeenStatus, Topics};
use crate::remote::broker::Login;

/// Which broker, and how to log in.
pub struct Link<'a> {
    pub broker: Broker,
    pub prefix: String,
    pub login: Login<'a>,
}

/// How long the retained statuses may take to arrive after the subscription.
const RETAINED_QUIET: Duration = Duration::from_millis(700);
const RETAINED_MAX: Duration = Duration::from_secs(5);
const CONNECT_WAIT: Duration = Duration::from_secs(10);

/// One MQTT session of the province's: a random client id, a clean session.
struct Session {
    client: AsyncClient,
    events: EventLoop,
    topics: Topics,
    /// Messages that came while `subscribe` waited for its SubAcks (the retained
    /// statuses of the first topic arrive before the second is acknowledged).
    early: std::collections::VecDeque<(String, Vec<u8>)>,
}

impl Session {
    async fn open(link: &Link<'_>) -> Result<Session, String> {
        let mut rnd = [0u8; 6];
        getrandom::fill(&mut rnd).map_err(|e| e.to_string())?;
        let id = format!("loaxa-province-{}", crate::remote::signing::hex(&rnd));
        let mut options = crate::remote::broker::options(&id, &link.broker, &link.login)?;
        options.set_clean_session(true);
        let (client, mut events) = AsyncClient::new(options, 1024);
        let connected = tokio::time::timeout(CONNECT_WAIT, async {
            loop {
                match events.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => return Ok(()),
                    Ok(_) => {}
                    Err(e) => return Err(format!("cannot connect to {}: {e}", link.broker)),
                }
            }
        })
        .await
        .map_err(|_| {
            format!(
                "no answer from {} within {}s",
                link.broker,
                CONNECT_WAIT.as_secs()
            )
        })?;
        connected?;
        Ok(Session {
            client,
            events,
            topics: Topics::new(&link.prefix),
            early: std::collections::VecDeque::new(),
        })
    }

    async fn subscribe(&mut self, topics: &[String]) -> Result<(), String> {
        for t in topics {
            self.client
                .subscribe(t.clone(), QoS::AtLeastOnce)
                .await
                .map_err(|e| e.to_string())?;
        }
        // Wait for every SubAck: retained messages follow them.
        let mut acked = 0;
        while acked < topics.len() {
            match self.next().await? {
                Event::Incoming(Packet::SubAck(_)) => acked += 1,
                Event::Incoming(Packet::Publish(p)) => {
                    self.early.push_back((p.topic, p.payload.to_vec()));
                }
                _ => {}
            }
        }
        Ok(())
    }

    async fn next(&mut self) -> Result<Event, String> {
        self.events.poll().await.map_err(|e| format!("broker: {e}"))
    }

    /// The next message (topic, payload), or `None` if `until` passes first.
    async fn message(&mut self, until: Instant) -> Result<Option<(String, Vec<u8>)>, String> {
        if let Some(m) = self.early.pop_front() {
            return Ok(Some(m));
        }
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.next()).await {
                Err(_) => return Ok(None),
                Ok(Err(e)) => return Err(e),
                Ok(Ok(Event::Incoming(Packet::Publish(p)))) => {
                    return Ok(Some((p.topic, p.payload.to_vec())));
                }
                Ok(Ok(_)) => {}
            }
        }
    }

    /// Drives the connection until what was published has left (QoS 1: acknowledged).
    async fn flush(&mut self, publishes: usize) -> Result<(), String> {
        let mut acked = 0;
        let deadline = Instant::now() + CONNECT_WAIT;
        while acked < publishes {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.next()).await {
                Err(_) => return Err("the broker did not take the message".into()),
                Ok(Err(e)) => return Err(e),
                Ok(Ok(Event::Incoming(Packet::PubAck(_)))) => acked += 1,
                Ok(Ok(_)) => {}
            }
        }
        Ok(())
    }

    async fn close(mut self) {
        let _ = self.client.disconnect().await;
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            while let Ok(e) = self.events.poll().await {
                if matches!(e, Event::Outgoing(rumqttc::Outgoing::Disconnect)) {
                    break;
                }
            }
        })
        .await;
    }

    /// Every station's retained status.
    async fn statuses(&mut self) -> Result<BTreeMap<String, SeenStatus>, String> {
        self.subscribe(&[self.topics.every_status()]).await?;
        let mut seen = BTreeMap::new();
        let end = Instant::now() + RETAINED_MAX;
        loop {
            let until = (Instant::now() + RETAINED_QUIET).min(end);
            let Some((topic, payload)) = self.message(until).await? else {
                break;
            };
            if let Some((station, "status")) = self.topics.station_topic(&topic) {
                let status = serde_json::from_slice::<SeenStatus>(&payload).unwrap_or_default();
                seen.insert(station.to_string(), status);
            }
        }
        Ok(seen)
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start: {e}"))
}

/// A station as `loaxa fleet status` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct StationRow {
    pub id: String,
    pub online: bool,
    pub last_seen: Option<String>,
    pub on_air: bool,
    pub feed_sequence: Option<u64>,
    /// Today's quotas, as "done/required" per campaign.
    pub quotas: Vec<String>,
    pub last_error: Option<String>,
}

impl StationRow {
    fn of(id: &str, s: &SeenStatus) -> StationRow {
        StationRow {
            id: id.to_string(),
            online: s.online,
            last_seen: s.updated.clone(),
            on_air: s.on_air(),
            feed_sequence: s.feed.as_ref().and_then(|f| f.sequence),
            quotas: s
                .quotas
                .iter()
                .map(|q| {
                    let get = |k: &str| q.get(k).map(|v| v.to_string()).unwrap_or_default();
                    format!(
                        "{} {}/{}",
                        q.get("campaign").and_then(|v| v.as_str()).unwrap_or("?"),
                        get("done"),
                        get("required")
                    )
                })
                .collect(),
            last_error: s
                .problems
                .first()
                .cloned()
                .or_else(|| s.feed.as_ref().and_then(|f| f.last_error.clone())),
        }
    }
}

pub fn status(link: &Link) -> Result<Vec<StationRow>, String> {
    runtime()?.block_on(async {
        let mut session = Session::open(link).await?;
        let seen = session.statuses().await?;
        session.close().await;
        Ok(seen.iter().map(|(id, s)| StationRow::of(id, s)).collect())
    })
}

/// Where a push goes.
pub enum Targets {
    /// `P/all/push`; the stations expected to answer are those whose status says online.
    All,
    /// Each station's own topic.
    Some(Vec<String>),
}

/// What one station made of a push.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub station: String,
    /// The last acknowledgement: accepted, refused, started, ended, interrupted; or
    /// `null` if the station said nothing within the wait.
    pub event: Option<AckEvent>,
    pub accepted: bool,
    pub reason: Option<String>,
    /// From publishing to the station's accepted (or refused) acknowledgement.
    pub latency_ms: Option<u64>,
    /// Whether the province expected this station to answer.
    pub expected: bool,
}

/// Publishes one signed push and gathers the acknowledgements for `wait`: done early
/// when every expected station has said accepted or refused (and what follows at once).
pub fn push(
    link: &Link,
    targets: &Targets,
    message: &PushMessage,
    id: &str,
    wait: Duration,
) -> Result<Vec<Outcome>, String> {
    let payload = serde_json::to_vec(message).map_err(|e| e.to_string())?;
    runtime()?.block_on(async {
        let mut session = Session::open(link).await?;
        let expected: Vec<String> = match targets {
            Targets::All => session
                .statuses()
                .await?
                .into_iter()
                .filter(|(_, s)| s.online)
                .map(|(id, _)| id)
                .collect(),
            Targets::Some(ids) => ids.clone(),
        };
        let topics = session.topics.clone();
        session.subscribe(&[topics.every_ack()]).await?;
        let mut outcomes: BTreeMap<String, Outcome> = expected
            .iter()
            .map(|s| {
                let o = Outcome {
                    station: s.clone(),
                    event: None,
                    accepted: false,
                    reason: None,
                    latency_ms: None,
                    expected: true,
                };
                (s.clone(), o)
            })
            .collect();
        let sent = Instant::now();
        let publish_to: Vec<String> = match targets {
            Targets::All => vec![topics.all_push()],
            Targets::Some(ids) => ids.iter().map(|s| topics.push(s)).collect(),
        };
        for topic in &publish_to {
            session
                .client
                .publish(topic.clone(), QoS::AtLeastOnce, false, payload.clone())
                .await
                .map_err(|e| e.to_string())?;
        }
        let end = sent + wait;
        let mut linger_until: Option<Instant> = None;
        let mut published = 0;
        loop {
            let until = linger_until.map_or(end, |l| l.min(end));
            let left = until.saturating_duration_since(Instant::now());
            let event = match tokio::time::timeout(left, session.next()).await {
                Err(_) => break,
                Ok(e) => e?,
            };
            let (topic, body) = match event {
                Event::Incoming(Packet::Publish(p)) => (p.topic, p.payload),
                Event::Incoming(Packet::PubAck(_)) => {
                    published += 1;
                    continue;
                }
                _ => continue,
            };
            let Some((station, "ack")) = topics.station_topic(&topic) else {
                continue;
            };
            let Ok(ack) = serde_json::from_slice::<Ack>(&body) else {
                continue;
            };
            if ack.id.as_deref() != Some(id) {
                continue;
            }
            let o = outcomes
                .entry(station.to_string())
                .or_insert_with(|| Outcome {
                    station: station.to_string(),
                    event: None,
                    accepted: false,
                    reason: None,
                    latency_ms: None,
                    expected: false,
                });
            o.event = Some(ack.event);
            if matches!(ack.event, AckEvent::Accepted | AckEvent::Refused) {
                o.accepted = ack.event == AckEvent::Accepted;
                o.latency_ms = Some(sent.elapsed().as_millis() as u64);
            }
            if ack.reason.is_some() {
                o.reason = ack.reason;
            }
            let all_answered = outcomes
                .values()
                .filter(|o| o.expected)
                .all(|o| o.latency_ms.is_some());
            if all_answered && linger_until.is_none() {
                // What follows at once (an emergency's "started") is shown too.
                linger_until = Some(Instant::now() + Duration::from_millis(1500));
            }
        }
        if published < publish_to.len() {
            let _ = session.flush(publish_to.len() - published).await;
        }
        session.close().await;
        Ok(outcomes.into_values().collect())
    })
}

/// "Poll the feed now", to every station (after `loaxa feed publish`).
pub fn nudge(link: &Link) -> Result<(), String> {
    runtime()?.block_on(async {
        let mut session = Session::open(link).await?;
        let topic = session.topics.all_feed();
        session
            .client
            .publish(topic, QoS::AtLeastOnce, false, b"{}".to_vec())
            .await
            .map_err(|e| e.to_string())?;
        session.flush(1).await?;
        session.close().await;
        Ok(())
    })
}

/// `loaxa fleet serve`: holds a session on the broker (reconnecting when it drops) and
/// serves the fleet page on `listen`, loopback only, until Ctrl-C.
pub fn serve(link: &Link, listen: std::net::SocketAddr) -> Result<(), String> {
    use crate::province::fleet_view::{View, router};
    if !listen.ip().is_loopback() {
        return Err(format!(
            "--listen {listen}: the fleet page listens on loopback only (127.0.0.1); put it behind the province's web server, with its login, to show it elsewhere"
        ));
    }
    runtime()?.block_on(async {
        let view = std::sync::Arc::new(std::sync::Mutex::new(View::default()));
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        let app = router(view.clone(), listen.port());
        let stop = tokio_util::sync::CancellationToken::new();
        let door = crate::http::door::Door::new(crate::http::door::Limits::default());
        let server = tokio::spawn(door.run(listener, stop.clone(), move |io, _| {
            crate::http::serve_connection(app.clone(), io)
        }));
        println!("fleet page on http://{listen}/ (Ctrl-C to stop)");
        let follow = async {
            loop {
                match Session::open(link).await {
                    Ok(mut session) => {
                        let topics = session.topics.clone();
                        let subscribed = session
                            .subscribe(&[topics.every_status(), topics.every_ack()])
                            .await;
                        let far = Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600);
                        let lost = match subscribed {
                            Err(e) => e,
                            Ok(()) => loop {
                                match session.message(far).await {
                                    Ok(Some((topic, payload))) => {
                                        if let Some((station, kind)) = topics.station_topic(&topic)
                                        {
                                            view.lock().unwrap_or_else(|p| p.into_inner()).take(
                                                station,
                                                kind,
                                                &payload,
                                                chrono::Utc::now(),
                                            );
                                        }
                                    }
                                    Ok(None) => break "the session ended".to_string(),
                                    Err(e) => break e,
                                }
                            },
                        };
                        eprintln!("{lost}; connecting again in 5 s");
                    }
                    Err(e) => eprintln!("{e}; trying again in 5 s"),
                }
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        };
        tokio::select! {
            _ = follow => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        stop.cancel();
        let _ = server.await;
        Ok(())
    })
}

/// Prints every status change and acknowledgement as it comes, one line each, until
/// `duration` has passed (forever without it).
pub fn watch(link: &Link, duration: Option<Duration>, json: bool) -> Result<(), String> {
    runtime()?.block_on(async {
        let mut session = Session::open(link).await?;
        let topics = session.topics.clone();
        session
            .subscribe(&[topics.every_status(), topics.every_ack()])
            .await?;
        let end = duration.map(|d| Instant::now() + d);
        let far = Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600);
        while let Some((topic, payload)) = session.message(end.unwrap_or(far)).await? {
            let Some((station, kind)) = topics.station_topic(&topic) else {
                continue;
            };
            let line = if json {
                let value: serde_json::Value =
                    serde_json::from_slice(&payload).unwrap_or(serde_json::Value::Null);
                serde_json::json!({"station": station, "kind": kind, "message": value}).to_string()
            } else {
                describe(station, kind, &payload)
            };
            println!("{line}");
        }
        session.close().await;
        Ok(())
    })
}

fn describe(station: &str, kind: &str, payload: &[u8]) -> String {
    let now = chrono::Local::now().format("%H:%M:%S");
    match kind {
        "ack" => match serde_json::from_slice::<Ack>(payload) {
            Ok(a) => format!(
                "{now} {station:<24} {:<11} {}{}",
                a.event.as_str(),
                a.id.as_deref().unwrap_or("-"),
                a.reason.map(|r| format!(" ({r})")).unwrap_or_default()
            ),
            Err(_) => format!("{now} {station:<24} ack (unreadable)"),
        },
        "status" => {
            let s = serde_json::from_slice::<SeenStatus>(payload).unwrap_or_default();
            let playing = s
                .now_playing
                .as_ref()
                .and_then(|p| p.get("title"))
                .and_then(|t| t.as_str())
                .unwrap_or("-");
            format!(
                "{now} {station:<24} {:<11} amplifier {} now playing: {playing}",
                if s.online { "online" } else { "OFFLINE" },
                if s.amplifier_on { "on" } else { "off" },
            )
        }
        other => format!("{now} {station:<24} {other}"),
    }
}
