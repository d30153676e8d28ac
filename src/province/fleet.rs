//! The province's end of the fleet channel (SPEC §13): `loaxa fleet status`, `push`,
//! `watch` and `nudge`, each a short-lived MQTT client on the province's broker.
//!
//! Every station is seen through its retained status (`P/station/S/status`); a push is
//! one signed manifest published on `P/all/push` or on each target's own topic, and the
//! stations' acknowledgements (`P/station/S/ack`) say what became of it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{Packet, Publish};
use rumqttc::v5::{AsyncClient, Event, EventLoop};
use serde::Serialize;

use crate::config::fleet::Broker;
use crate::core::fleet::{
    Ack, AckEvent, PROVINCE_MAX_PACKET, PushMessage, STATUS_EXPIRY, SeenStatus, Topics,
};
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

/// One message as the province's tools read it.
pub struct Message {
    pub topic: String,
    pub payload: Vec<u8>,
    /// When it was published, by the broker's clock: a station's status carries a
    /// Message Expiry of `STATUS_EXPIRY`, which the broker counts down; what is left says
    /// how old a retained status is. Without it (another sender), when it arrived.
    pub published: chrono::DateTime<chrono::Utc>,
}

impl Message {
    fn of(p: Publish) -> Message {
        let now = chrono::Utc::now();
        let left = p
            .properties
            .as_ref()
            .and_then(|q| q.message_expiry_interval);
        let age = left
            .filter(|_| p.retain)
            .map(|left| i64::from(STATUS_EXPIRY.saturating_sub(left)))
            .unwrap_or(0);
        Message {
            topic: String::from_utf8_lossy(&p.topic).into_owned(),
            payload: p.payload.to_vec(),
            published: now - chrono::TimeDelta::seconds(age),
        }
    }
}

/// One MQTT session of the province's: a random client id, a clean session.
struct Session {
    client: AsyncClient,
    events: EventLoop,
    topics: Topics,
    /// Messages that came while `subscribe` waited for its SubAcks (the retained
    /// statuses of the first topic arrive before the second is acknowledged).
    early: std::collections::VecDeque<Message>,
}

impl Session {
    async fn open(link: &Link<'_>) -> Result<Session, String> {
        let mut rnd = [0u8; 6];
        getrandom::fill(&mut rnd).map_err(|e| e.to_string())?;
        let id = format!("loaxa-province-{}", crate::remote::signing::hex(&rnd));
        // The province takes small messages only: a rogue station's retained megabyte
        // is dropped by the broker for this client instead of cutting it off.
        let mut options =
            crate::remote::broker::options(&id, &link.broker, &link.login, PROVINCE_MAX_PACKET)
                .map_err(|e| e.to_string())?;
        options.set_clean_start(true);
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
                Event::Incoming(Packet::Publish(p)) => self.early.push_back(Message::of(p)),
                _ => {}
            }
        }
        Ok(())
    }

    async fn next(&mut self) -> Result<Event, String> {
        self.events.poll().await.map_err(|e| format!("broker: {e}"))
    }

    /// The next message, or `None` if `until` passes first.
    async fn message(&mut self, until: Instant) -> Result<Option<Message>, String> {
        if let Some(m) = self.early.pop_front() {
            return Ok(Some(m));
        }
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.next()).await {
                Err(_) => return Ok(None),
                Ok(Err(e)) => return Err(e),
                Ok(Ok(Event::Incoming(Packet::Publish(p)))) => return Ok(Some(Message::of(p))),
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

    /// Every station's retained status, with when it was published.
    async fn statuses(
        &mut self,
    ) -> Result<BTreeMap<String, (SeenStatus, chrono::DateTime<chrono::Utc>)>, String> {
        self.subscribe(&[self.topics.every_status()]).await?;
        let mut seen = BTreeMap::new();
        let end = Instant::now() + RETAINED_MAX;
        loop {
            let until = (Instant::now() + RETAINED_QUIET).min(end);
            let Some(m) = self.message(until).await? else {
                break;
            };
            if let Some((station, "status")) = self.topics.station_topic(&m.topic)
                && seen.len() < crate::province::fleet_view::MAX_STATIONS
            {
                let station = crate::core::text::shorten(station, 128);
                seen.insert(station, (SeenStatus::read(&m.payload), m.published));
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
    fn of(id: &str, s: &SeenStatus, published: chrono::DateTime<chrono::Utc>) -> StationRow {
        StationRow {
            id: id.to_string(),
            online: s.online,
            last_seen: Some(published.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
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
        Ok(seen
            .iter()
            .map(|(id, (s, at))| StationRow::of(id, s, *at))
            .collect())
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

impl Outcome {
    /// A station that has said nothing yet.
    fn silent(station: &str, expected: bool) -> Outcome {
        Outcome {
            station: station.to_string(),
            event: None,
            accepted: false,
            reason: None,
            latency_ms: None,
            expected,
        }
    }

    /// The station's newest acknowledgement, `after` the push was published.
    fn heard(&mut self, ack: Ack, after: Duration) {
        self.event = Some(ack.event);
        if matches!(ack.event, AckEvent::Accepted | AckEvent::Refused) {
            self.accepted = ack.event == AckEvent::Accepted;
            self.latency_ms = Some(after.as_millis() as u64);
        }
        if ack.reason.is_some() {
            self.reason = ack.reason;
        }
    }
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
                .filter(|(_, (s, _))| s.online)
                .map(|(id, _)| id)
                .collect(),
            Targets::Some(ids) => ids.clone(),
        };
        let topics = session.topics.clone();
        session.subscribe(&[topics.every_ack()]).await?;
        let mut outcomes: BTreeMap<String, Outcome> = expected
            .iter()
            .map(|s| (s.clone(), Outcome::silent(s, true)))
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
                Event::Incoming(Packet::Publish(p)) => {
                    (String::from_utf8_lossy(&p.topic).into_owned(), p.payload)
                }
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
                .or_insert_with(|| Outcome::silent(station, false));
            o.heard(ack, sent.elapsed());
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
                        let lost =
                            match subscribed {
                                Err(e) => e,
                                Ok(()) => loop {
                                    match session.message(far).await {
                                        Ok(Some(m)) => {
                                            if let Some((station, kind)) =
                                                topics.station_topic(&m.topic)
                                            {
                                                view.lock()
                                                    .unwrap_or_else(|p| p.into_inner())
                                                    .take(station, kind, &m.payload, m.published);
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
            .subscribe(&[
                topics.every_status(),
                topics.every_ack(),
                topics.every_event(),
            ])
            .await?;
        let end = duration.map(|d| Instant::now() + d);
        let far = Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600);
        while let Some(m) = session.message(end.unwrap_or(far)).await? {
            let Some((station, kind)) = topics.station_topic(&m.topic) else {
                continue;
            };
            let payload = m.payload;
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

/// One line of `fleet watch`: what a station said, every text from it cut short and
/// its control characters shown as `?` (a station must not drive the admin's terminal).
fn describe(station: &str, kind: &str, payload: &[u8]) -> String {
    let now = chrono::Local::now().format("%H:%M:%S");
    let line = match kind {
        "ack" => match serde_json::from_slice::<Ack>(payload) {
            Ok(a) => format!(
                "{:<11} {}{}",
                a.event.as_str(),
                a.id.as_deref().unwrap_or("-"),
                a.reason.map(|r| format!(" ({r})")).unwrap_or_default()
            ),
            Err(_) => "ack (unreadable)".to_string(),
        },
        "status" => {
            let s = SeenStatus::read(payload);
            let playing = s
                .now_playing
                .as_ref()
                .and_then(|p| p.get("title"))
                .and_then(|t| t.as_str())
                .unwrap_or("-");
            format!(
                "{:<11} amplifier {} now playing: {playing}",
                if s.online { "online" } else { "OFFLINE" },
                if s.amplifier_on { "on" } else { "off" },
            )
        }
        "event" => match serde_json::from_slice::<serde_json::Value>(payload) {
            Ok(e) => {
                let text = |k: &str| e.get(k).and_then(|v| v.as_str()).unwrap_or("-").to_string();
                let title = e
                    .get("item")
                    .and_then(|i| i.get("title"))
                    .and_then(|t| t.as_str())
                    .unwrap_or("-");
                format!("{:<11} {title} ({})", text("event"), text("reason"))
            }
            Err(_) => "event (unreadable)".to_string(),
        },
        other => other.to_string(),
    };
    let station = crate::core::text::shorten(station, 64);
    format!(
        "{now} {station:<24} {}",
        crate::core::text::shorten(&line, 400)
    )
}

/// A station's text for a terminal: cut short, control characters shown as `?`.
pub fn printable(text: &str) -> String {
    crate::core::text::shorten(text, 300)
}
