//! The station's end of the fleet channel (SPEC §13): a task on the daemon's runtime
//! that connects out to the province's broker and keeps the connection (keep-alive,
//! reconnect with backoff, a persistent session so QoS 1 commands sent while the station
//! was away arrive when it is back). It takes pushes (`fleet/intake.rs`: judged as they
//! arrive, acknowledged to the broker once queued, fetched side by side, emergencies
//! first), nudges the feed follower, and reports: a retained status (a summary, small
//! whatever the station holds), a Last Will that says offline, and an acknowledgement
//! of every push.
//!
//! Bounded against the broker too (issue 26): the station tells the broker the largest
//! packet it takes, so an oversized message is dropped by the broker instead of cutting
//! the connection; a DISCONNECT saying another client took this station's session is
//! logged and counted.
//!
//! With the broker down the station broadcasts exactly as before: nothing here is on the
//! playout's path; the engine only ever hears `Command`s, as from the HTTP API.

mod intake;

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{
    DisconnectReasonCode, LastWill, LastWillProperties, Packet, Publish, PublishProperties,
};
use rumqttc::v5::{AsyncClient, ConnectionError, Event, EventLoop, MqttOptions, StateError};
use tokio::sync::{Notify, broadcast, mpsc};
use tokio_util::sync::CancellationToken;

use crate::config::fleet::Fleet;
use crate::core::asrun::{Event as AsRun, Heard as AsRunHeard, Record};
use crate::core::catalog::Source;
use crate::core::fleet::{
    Ack, AckEvent, MAX_STATUS, STATION_MAX_PACKET, STATUS_EXPIRY, Topics, status_payload, summary,
};
use crate::http::Shared;
use crate::station::command::Command;
use crate::station::refusals::Refusals;
use crate::store::trust::Trust;
use crate::sys::clock::Clock;

use intake::{Intake, IntakeParts};

/// The status is published at least this often, and on every change.
const STATUS_EVERY: Duration = Duration::from_secs(60);
/// How often a change of status is looked for.
const STATUS_LOOK: Duration = Duration::from_millis(500);
/// Reconnect backoff: doubles from the first to the last.
const BACKOFF: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(60));
/// The session the broker keeps while the station is away (MQTT 5 Session Expiry): what
/// the province sends meanwhile waits this long. As the example broker config's
/// `persistent_client_expiration`.
const SESSION_EXPIRY: u32 = 14 * 24 * 3600;
/// Requests (publishes, acknowledgements) waiting for the event loop.
const REQUESTS: usize = 1024;

/// What the fleet task needs from the rest of the daemon.
pub struct Parts {
    pub fleet: Fleet,
    pub station_id: String,
    pub shared: Arc<Shared>,
    pub clock: Arc<dyn Clock>,
    pub trust: Arc<Trust>,
    pub refusals: Arc<Refusals>,
    pub commands: Sender<Command>,
    pub validator: PathBuf,
    /// Wakes the feed follower (a message on `P/all/feed`).
    pub feed_nudge: Arc<Notify>,
    /// Every as-run record, for the started/ended/interrupted acknowledgements.
    pub records: broadcast::Receiver<Record>,
}

/// What the station publishes: acknowledgements, events and its status, each on its
/// own topic, never more than the broker takes.
#[derive(Clone)]
pub struct Outbox {
    client: AsyncClient,
    topics: Topics,
    id: String,
}

impl Outbox {
    fn ack(&self, ack: &Ack) {
        let Ok(payload) = serde_json::to_vec(ack) else {
            return;
        };
        self.send(self.topics.ack(&self.id), payload, "acknowledgement");
    }

    fn event(&self, event: &serde_json::Value) {
        self.send(
            self.topics.event(&self.id),
            event.to_string().into_bytes(),
            "event",
        );
    }

    fn send(&self, topic: String, payload: Vec<u8>, what: &str) {
        if let Err(e) = self
            .client
            .try_publish(topic, QoS::AtLeastOnce, false, payload)
        {
            tracing::warn!("fleet {what} not sent: {e}");
        }
    }

    /// The retained status, with the expiry by which the province dates it.
    fn status(&self, payload: Vec<u8>) -> bool {
        let properties = PublishProperties {
            message_expiry_interval: Some(STATUS_EXPIRY),
            ..Default::default()
        };
        self.client
            .try_publish_with_properties(
                self.topics.status(&self.id),
                QoS::AtLeastOnce,
                true,
                payload,
                properties,
            )
            .map_err(|e| tracing::debug!("fleet status not sent: {e}"))
            .is_ok()
    }
}

pub async fn run(mut parts: Parts, stop: CancellationToken) {
    let topics = Topics::new(&parts.fleet.prefix);
    let id = parts.station_id.clone();
    let options = match station_options(&parts.fleet, &id, &topics) {
        Ok(o) => o,
        Err(e) => {
            tracing::error!("fleet channel not started: {e}; broadcasting goes on without it");
            return;
        }
    };
    let (client, events) = AsyncClient::new(options, REQUESTS);
    tracing::info!(
        "fleet channel: connecting to {} as {id}",
        parts.fleet.broker
    );
    let outbox = Outbox {
        client: client.clone(),
        topics: topics.clone(),
        id: id.clone(),
    };
    let (intake, worker) = Intake::new(IntakeParts {
        shared: parts.shared.clone(),
        clock: parts.clock.clone(),
        trust: parts.trust.clone(),
        refusals: parts.refusals.clone(),
        commands: parts.commands.clone(),
        validator: parts.validator.clone(),
        outbox: outbox.clone(),
    });
    let worker = tokio::spawn(worker);

    let mut reporter = Reporter {
        outbox: outbox.clone(),
        last: None,
        sent_at: None,
    };
    // The event loop is polled by a task of its own and never cancelled mid-poll (its
    // cancel safety is not documented); it says here when it has connected.
    let (connected_tx, mut connected) = mpsc::channel::<()>(4);
    let driver = tokio::spawn(
        Driver {
            client: client.clone(),
            topics: topics.clone(),
            id: id.clone(),
            intake,
            feed_nudge: parts.feed_nudge.clone(),
            connected: connected_tx,
            broker: parts.fleet.broker.to_string(),
            unacked: VecDeque::new(),
            closes: VecDeque::new(),
            takeover_said: None,
        }
        .drive(events),
    );
    let mut records_open = true;
    let mut look = tokio::time::interval(STATUS_LOOK);
    look.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = look.tick() => reporter.maybe_send(&parts.shared, false),
            record = parts.records.recv(), if records_open => match record {
                Ok(r) => acknowledge_play(&outbox, &r),
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!("fleet channel: {n} as-run records not acknowledged (too many at once)");
                }
                Err(broadcast::error::RecvError::Closed) => records_open = false,
            },
            c = connected.recv() => match c {
                Some(()) => {
                    subscribe(&client, &topics, &id);
                    reporter.maybe_send(&parts.shared, true);
                }
                None => break,
            },
        }
    }
    // A clean stop says offline at once (the Last Will is only for a death).
    outbox.status(status_payload(None, false, &id));
    let _ = client.try_disconnect();
    let mut driver = driver;
    if tokio::time::timeout(Duration::from_secs(2), &mut driver)
        .await
        .is_err()
    {
        driver.abort();
    }
    worker.abort();
}

/// The station's MQTT options: its login, a persistent session, manual acknowledgements,
/// the widest receive window and a Last Will that says offline.
fn station_options(
    f: &Fleet,
    id: &str,
    topics: &Topics,
) -> Result<MqttOptions, crate::remote::broker::TlsError> {
    let login = crate::remote::broker::Login {
        username: f.username.as_deref(),
        password: f.password.as_deref(),
        ca_file: f.ca_file.as_deref(),
        client_cert: f
            .client_cert
            .as_ref()
            .map(|(c, k)| (c.as_path(), k.as_path())),
    };
    let mut options = crate::remote::broker::options(id, &f.broker, &login, STATION_MAX_PACKET)?;
    // A persistent session: what the province sends while we are away waits for us.
    options.set_clean_start(false);
    options.set_session_expiry_interval(Some(SESSION_EXPIRY));
    // Acknowledged to the broker only once judged and queued (`intake`).
    options.set_manual_acks(true);
    // Without a Receive Maximum, mosquitto lets 20 messages wait for the station's
    // acknowledgement, queues 1,000 more and drops the rest: a flood of forgeries then
    // pushed a genuine emergency out of the broker's queue. The station judges a message
    // in microseconds, so it takes the protocol's widest window and the broker's queue
    // stays empty.
    options.set_receive_maximum(Some(u16::MAX));
    options.set_last_will(LastWill::new(
        topics.status(id),
        status_payload(None, false, id),
        QoS::AtLeastOnce,
        true,
        Some(LastWillProperties {
            delay_interval: None,
            payload_format_indicator: None,
            message_expiry_interval: Some(STATUS_EXPIRY),
            content_type: None,
            response_topic: None,
            correlation_data: None,
            user_properties: Vec::new(),
        }),
    ));
    Ok(options)
}

/// Polls the MQTT event loop: it connects, keeps alive, resends unacknowledged QoS 1
/// messages and reconnects (after `BACKOFF`) by being polled. What arrives on a push
/// topic goes through the intake before the broker's delivery is acknowledged.
struct Driver {
    client: AsyncClient,
    topics: Topics,
    id: String,
    intake: Intake,
    feed_nudge: Arc<Notify>,
    connected: mpsc::Sender<()>,
    broker: String,
    /// Deliveries judged and queued whose acknowledgement the request queue had no room
    /// for yet (only their packet ids: the payload is dropped).
    unacked: VecDeque<Publish>,
    /// When the broker last closed a working connection without a word, and when that
    /// was last said as a suspected takeover.
    closes: VecDeque<Instant>,
    takeover_said: Option<Instant>,
}

impl Driver {
    async fn drive(mut self, mut events: EventLoop) {
        let mut backoff = BACKOFF.0;
        let mut quiet_since: Option<Instant> = None;
        loop {
            let event = events.poll().await;
            self.send_acks();
            match event {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    backoff = BACKOFF.0;
                    quiet_since = None;
                    tracing::info!("fleet channel: connected to {}", self.broker);
                    if self.connected.send(()).await.is_err() {
                        return;
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) => self.arrived(p).await,
                Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) => return,
                Ok(_) => {}
                Err(e) => {
                    self.lost(&e, &mut quiet_since);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(BACKOFF.1);
                    if self.connected.is_closed() {
                        return;
                    }
                }
            }
        }
    }

    async fn arrived(&mut self, p: Publish) {
        let topic = String::from_utf8_lossy(&p.topic);
        if topic == self.topics.all_feed() {
            self.feed_nudge.notify_one();
        } else if topic == self.topics.all_push() || topic == self.topics.push(&self.id) {
            self.intake.arrive(&p.payload).await;
        }
        let mut delivered = p;
        delivered.payload = Default::default();
        self.unacked.push_back(delivered);
        self.send_acks();
    }

    fn send_acks(&mut self) {
        while let Some(p) = self.unacked.front() {
            if self.client.try_ack(p).is_err() {
                return;
            }
            self.unacked.pop_front();
        }
    }

    fn lost(&mut self, e: &ConnectionError, quiet_since: &mut Option<Instant>) {
        let broker = self.broker.clone();
        let took = || {
            crate::metrics::fleet("takeover");
            format!(
                "fleet channel: another client logged in to {broker} as this station ({}) and took its session; reconnecting. Someone holds this station's broker login, or the broker lets any client take any client id (see README, the broker's set-up)",
                self.id
            )
        };
        if let ConnectionError::MqttState(StateError::ServerDisconnect { reason_code, .. }) = e
            && *reason_code == DisconnectReasonCode::SessionTakenOver
        {
            // A broker that says why (MQTT 5 reason 0x8E): said every time.
            tracing::error!("{}", took());
            return;
        }
        if matches!(e, ConnectionError::MqttState(StateError::ConnectionAborted)) {
            // mosquitto 2.0 closes the taken-over connection without a DISCONNECT; a
            // broker that keeps closing a working connection is the same sign.
            let now = Instant::now();
            self.closes.push_back(now);
            while self
                .closes
                .front()
                .is_some_and(|t| now.duration_since(*t) > Duration::from_secs(600))
            {
                self.closes.pop_front();
            }
            let said_lately = self
                .takeover_said
                .is_some_and(|t| now.duration_since(t) < Duration::from_secs(600));
            if self.closes.len() >= 3 && !said_lately {
                self.takeover_said = Some(now);
                tracing::error!(
                    "{} (the broker closed this station's connection {} times in 10 minutes)",
                    took(),
                    self.closes.len()
                );
                return;
            }
        }
        if let ConnectionError::MqttState(StateError::IncomingPacketTooLarge { pkt_size, .. }) = e {
            crate::metrics::fleet("oversized");
            tracing::warn!(
                "fleet channel: {broker} sent a message of {pkt_size} bytes, over the {STATION_MAX_PACKET} this station takes (the broker should have dropped it)"
            );
        }
        // Said once per outage, then every 10 minutes: a dead zone must not fill the log.
        if quiet_since.is_none_or(|t| t.elapsed() > Duration::from_secs(600)) {
            tracing::warn!("fleet channel: {broker}: {e}; broadcasting goes on; retrying");
            *quiet_since = Some(Instant::now());
        }
    }
}

fn subscribe(client: &AsyncClient, topics: &Topics, id: &str) {
    for topic in [topics.push(id), topics.all_push(), topics.all_feed()] {
        if let Err(e) = client.try_subscribe(topic.clone(), QoS::AtLeastOnce) {
            tracing::warn!("fleet channel: cannot subscribe to {topic}: {e}");
        }
    }
}

/// Publishes the retained status when it changed, or when `STATUS_EVERY` has passed.
struct Reporter {
    outbox: Outbox,
    /// The last status sent, without its `updated` time (which changes every time).
    last: Option<serde_json::Value>,
    sent_at: Option<Instant>,
}

impl Reporter {
    fn maybe_send(&mut self, shared: &Shared, force: bool) {
        let id = &self.outbox.id;
        let mut status = shared
            .status()
            .and_then(|s| serde_json::to_value(s).ok())
            .map(|s| summary(&s))
            .unwrap_or_else(|| serde_json::json!({ "station_id": id }));
        if let serde_json::Value::Object(m) = &mut status {
            m.insert("version".into(), env!("CARGO_PKG_VERSION").into());
        }
        let mut compared = status.clone();
        if let serde_json::Value::Object(m) = &mut compared {
            m.remove("updated");
        }
        let due = self.sent_at.is_none_or(|t| t.elapsed() >= STATUS_EVERY);
        if !force && !due && self.last.as_ref() == Some(&compared) {
            return;
        }
        let mut payload = status_payload(Some(&status), true, id);
        if payload.len() > MAX_STATUS {
            // `summary` keeps it under the bound; if a change ever breaks that, the
            // province still hears that the station is online.
            crate::metrics::fleet("status_too_large");
            payload = status_payload(None, true, id);
        }
        if self.outbox.status(payload) {
            self.last = Some(compared);
            self.sent_at = Some(Instant::now());
        }
    }
}

/// A pushed bulletin started, ended or was cut: the province hears of it. Dead air, and
/// any item the monitor did not hear as sent, is an event of its own.
fn acknowledge_play(outbox: &Outbox, r: &Record) {
    let unheard = r.event == AsRun::End && matches!(r.heard, Some(h) if h != AsRunHeard::Yes);
    if r.event == AsRun::Silence || unheard {
        let event = serde_json::json!({
            "event": if unheard { "not_heard" } else { "silence" },
            "ts": r.ts.fixed_offset(),
            "item": r.item.as_ref().map(|i| serde_json::json!({
                "id": i.id, "title": i.title, "kind": i.kind, "source": i.source,
            })),
            "heard": r.heard,
            "reason": r.reason,
        });
        outbox.event(&event);
    }
    let Some(item) = r.item.as_ref().filter(|i| i.source == Source::Push) else {
        return;
    };
    let event = match r.event {
        AsRun::Start => AckEvent::Started,
        AsRun::End => AckEvent::Ended,
        AsRun::Interrupted | AsRun::Failed => AckEvent::Interrupted,
        _ => return,
    };
    let ack = Ack {
        id: Some(item.id.clone()),
        event,
        reason: r.reason.clone(),
        ts: r.ts.fixed_offset(),
        heard: r.heard,
    };
    outbox.ack(&ack);
}
