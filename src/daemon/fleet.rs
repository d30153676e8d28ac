//! The station's end of the fleet channel (SPEC §13): a task on the daemon's runtime
//! that connects out to the province's broker and keeps the connection (keep-alive,
//! reconnect with backoff, a persistent session so QoS 1 commands sent while the station
//! was away arrive when it is back). It takes pushes (`remote::fleet`, on a blocking
//! thread, one at a time), nudges the feed follower, and reports: a retained status, a
//! Last Will that says offline, and an acknowledgement of every push.
//!
//! With the broker down the station broadcasts exactly as before: nothing here is on the
//! playout's path; the engine only ever hears `Command`s, as from the HTTP API.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, LastWill, Packet, QoS};
use tokio::sync::{Notify, broadcast, mpsc};
use tokio_util::sync::CancellationToken;

use crate::config::fleet::Fleet;
use crate::core::asrun::{Event as AsRun, Heard as AsRunHeard, Record};
use crate::core::catalog::Source;
use crate::core::fleet::{Ack, AckEvent, Topics, status_payload};
use crate::core::text::clip_bytes;
use crate::http::Shared;
use crate::remote::push::Accepted;
use crate::station::command::Command;
use crate::station::refusals::Refusals;
use crate::store::trust::Trust;
use crate::sys::clock::Clock;

/// The status is published at least this often, and on every change.
const STATUS_EVERY: Duration = Duration::from_secs(60);
/// How often a change of status is looked for.
const STATUS_LOOK: Duration = Duration::from_millis(500);
/// Reconnect backoff: doubles from the first to the last.
const BACKOFF: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(60));
/// Push messages waiting to be checked; more are refused as busy (bounded memory).
const QUEUE: usize = 32;

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

pub async fn run(mut parts: Parts, stop: CancellationToken) {
    let topics = Topics::new(&parts.fleet.prefix);
    let id = parts.station_id.clone();
    let f = &parts.fleet;
    let login = crate::remote::broker::Login {
        username: f.username.as_deref(),
        password: f.password.as_deref(),
        ca_file: f.ca_file.as_deref(),
        client_cert: f
            .client_cert
            .as_ref()
            .map(|(c, k)| (c.as_path(), k.as_path())),
    };
    let mut options = match crate::remote::broker::options(&id, &f.broker, &login) {
        Ok(o) => o,
        Err(e) => {
            tracing::error!("fleet channel not started: {e}; broadcasting goes on without it");
            return;
        }
    };
    // A persistent session: what the province sends while we are away waits for us.
    options.set_clean_session(false);
    options.set_last_will(LastWill::new(
        topics.status(&id),
        status_payload(None, false, &id),
        QoS::AtLeastOnce,
        true,
    ));
    let (client, events) = AsyncClient::new(options, 64);
    tracing::info!(
        "fleet channel: connecting to {} as {id}",
        parts.fleet.broker
    );

    let (queue_tx, queue_rx) = mpsc::channel::<Vec<u8>>(QUEUE);
    let judge = tokio::spawn(judge_pushes(
        queue_rx,
        JudgeParts {
            client: client.clone(),
            topics: topics.clone(),
            id: id.clone(),
            shared: parts.shared.clone(),
            clock: parts.clock.clone(),
            trust: parts.trust.clone(),
            refusals: parts.refusals.clone(),
            commands: parts.commands.clone(),
            validator: parts.validator.clone(),
        },
    ));

    let mut reporter = Reporter {
        client: client.clone(),
        topics: topics.clone(),
        id: id.clone(),
        last: None,
        sent_at: None,
    };
    // The event loop is polled by a task of its own and never cancelled mid-poll (its
    // cancel safety is not documented); what it hears comes here.
    let (heard_tx, mut heard) = mpsc::channel::<Heard>(64);
    let broker = parts.fleet.broker.to_string();
    let driver = tokio::spawn(drive(events, heard_tx, broker));
    let mut records_open = true;
    let mut look = tokio::time::interval(STATUS_LOOK);
    look.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = look.tick() => reporter.maybe_send(&parts.shared, false),
            record = parts.records.recv(), if records_open => match record {
                Ok(r) => acknowledge_play(&client, &topics, &id, &r),
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!("fleet channel: {n} as-run records not acknowledged (too many at once)");
                }
                Err(broadcast::error::RecvError::Closed) => records_open = false,
            },
            h = heard.recv() => match h {
                Some(Heard::Connected) => {
                    subscribe(&client, &topics, &id);
                    reporter.maybe_send(&parts.shared, true);
                }
                Some(Heard::Message(topic, payload)) => {
                    if topic == topics.all_feed() {
                        parts.feed_nudge.notify_one();
                    } else if (topic == topics.all_push() || topic == topics.push(&id))
                        && queue_tx.try_send(payload).is_err()
                    {
                        tracing::warn!("fleet channel: {QUEUE} pushes already wait; one is dropped");
                        crate::metrics::rejected("fleet", "busy");
                    }
                }
                None => break,
            },
        }
    }
    // A clean stop says offline at once (the Last Will is only for a death).
    let _ = client.try_publish(
        topics.status(&id),
        QoS::AtLeastOnce,
        true,
        status_payload(None, false, &id),
    );
    let _ = client.try_disconnect();
    let mut driver = driver;
    if tokio::time::timeout(Duration::from_secs(2), &mut driver)
        .await
        .is_err()
    {
        driver.abort();
    }
    judge.abort();
}

/// What the event loop hears that the fleet task acts on.
enum Heard {
    Connected,
    Message(String, Vec<u8>),
}

/// Polls the MQTT event loop: it connects, keeps alive, resends unacknowledged QoS 1
/// messages and reconnects (after `BACKOFF`) by being polled. Ends after a disconnect.
async fn drive(mut events: rumqttc::EventLoop, heard: mpsc::Sender<Heard>, broker: String) {
    let mut backoff = BACKOFF.0;
    let mut quiet_since: Option<Instant> = None;
    loop {
        match events.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                backoff = BACKOFF.0;
                quiet_since = None;
                tracing::info!("fleet channel: connected to {broker}");
                if heard.send(Heard::Connected).await.is_err() {
                    return;
                }
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                if heard
                    .send(Heard::Message(p.topic, p.payload.to_vec()))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) => return,
            Ok(_) => {}
            Err(e) => {
                // Said once per outage, then every 10 minutes: a dead zone must not fill
                // the log.
                if quiet_since.is_none_or(|t| t.elapsed() > Duration::from_secs(600)) {
                    tracing::warn!("fleet channel: {broker}: {e}; broadcasting goes on; retrying");
                    quiet_since = Some(Instant::now());
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(BACKOFF.1);
                if heard.is_closed() {
                    return;
                }
            }
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
    client: AsyncClient,
    topics: Topics,
    id: String,
    /// The last status sent, without its `updated` time (which changes every time).
    last: Option<serde_json::Value>,
    sent_at: Option<Instant>,
}

impl Reporter {
    fn maybe_send(&mut self, shared: &Shared, force: bool) {
        let mut status = shared
            .status()
            .and_then(|s| serde_json::to_value(s).ok())
            .unwrap_or_else(|| serde_json::json!({ "station_id": self.id }));
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
        let payload = status_payload(Some(&status), true, &self.id);
        match self.client.try_publish(
            self.topics.status(&self.id),
            QoS::AtLeastOnce,
            true,
            payload,
        ) {
            Ok(()) => {
                self.last = Some(compared);
                self.sent_at = Some(Instant::now());
            }
            Err(e) => tracing::debug!("fleet status not sent: {e}"),
        }
    }
}

fn send_ack(client: &AsyncClient, topics: &Topics, id: &str, ack: &Ack) {
    let Ok(payload) = serde_json::to_vec(ack) else {
        return;
    };
    if let Err(e) = client.try_publish(topics.ack(id), QoS::AtLeastOnce, false, payload) {
        tracing::warn!("fleet acknowledgement not sent: {e}");
    }
}

/// A pushed bulletin started, ended or was cut: the province hears of it. Dead air, and
/// any item the monitor did not hear as sent, is an event of its own.
fn acknowledge_play(client: &AsyncClient, topics: &Topics, id: &str, r: &Record) {
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
        if let Err(e) =
            client.try_publish(topics.event(id), QoS::AtLeastOnce, false, event.to_string())
        {
            tracing::warn!("fleet event not sent: {e}");
        }
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
    send_ack(client, topics, id, &ack);
}

struct JudgeParts {
    client: AsyncClient,
    topics: Topics,
    id: String,
    shared: Arc<Shared>,
    clock: Arc<dyn Clock>,
    trust: Arc<Trust>,
    refusals: Arc<Refusals>,
    commands: Sender<Command>,
    validator: PathBuf,
}

/// Checks pushes one at a time (a fetch and a decode each), off the async workers.
async fn judge_pushes(mut queue: mpsc::Receiver<Vec<u8>>, p: JudgeParts) {
    let p = Arc::new(p);
    while let Some(bytes) = queue.recv().await {
        let q = p.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            let config = q.shared.config();
            let judge = crate::remote::fleet::Judge {
                station: &config.station,
                validator: &q.validator,
                trust: &q.trust,
                clock: q.clock.as_ref(),
            };
            (judge.take(&bytes), config.schedule.timezone)
        })
        .await;
        let Ok((outcome, tz)) = outcome else {
            continue;
        };
        let now = p.clock.now().with_timezone(&tz);
        match outcome {
            Ok(accepted) => {
                let id = match accepted {
                    Accepted::Cancel { id, cancels } => {
                        tracing::info!("fleet push {id}: cancel {cancels}");
                        crate::metrics::push_accepted("cancel");
                        tell(&p.commands, Command::Cancel(cancels));
                        id
                    }
                    Accepted::Bulletin(b) => {
                        tracing::info!(
                            "fleet push {}: {} bulletin {:?} accepted ({} ms)",
                            b.id,
                            b.priority.as_str(),
                            b.title,
                            b.duration_ms
                        );
                        crate::metrics::push_accepted("bulletin");
                        tell(&p.commands, Command::Pushed(b.priority));
                        b.id
                    }
                };
                let ack = Ack {
                    id: Some(id),
                    event: AckEvent::Accepted,
                    reason: None,
                    ts: now.fixed_offset(),
                    heard: None,
                };
                send_ack(&p.client, &p.topics, &p.id, &ack);
            }
            Err(refused) => {
                let e = refused.error;
                let message = format!("fleet push refused ({}): {e}", e.label());
                // The same budget bounds the log and the acknowledgements of refusals.
                if p.refusals.record(now, "fleet", e.label(), &message) {
                    let ack = Ack {
                        id: refused.id,
                        event: AckEvent::Refused,
                        reason: Some(clip_bytes(&format!("{}: {e}", e.label()), 300)),
                        ts: now.fixed_offset(),
                        heard: None,
                    };
                    send_ack(&p.client, &p.topics, &p.id, &ack);
                }
            }
        }
    }
}

fn tell(commands: &Sender<Command>, command: Command) {
    if commands.send(command).is_err() {
        tracing::error!("the playout engine is gone; the push is stored and plays after a restart");
    }
}
