//! What comes in on the push topics, from arrival to the playout (issue 26).
//!
//! - **Judged as it arrives** (`Intake::arrive`, on the task that polls the MQTT event
//!   loop): the signature, the manifest and the id are checked at once, in tens of
//!   microseconds, so forged and replayed messages are refused as fast as the broker
//!   sends them and never take a place that a genuine push needs.
//! - **Queued before it is acknowledged**: a genuine push goes into the queue, and only
//!   then is the broker's delivery acknowledged (the caller acks after `arrive` returns).
//!   A full queue makes `arrive` wait: the broker keeps what it has not had acknowledged.
//! - **Emergencies and cancels first**, and **fetches side by side**: each push's audio
//!   is fetched, decoded and stored on a blocking thread of its own (at most `WORKERS`
//!   ordinary ones at once, urgent ones always), each fetch bounded in time, so one slow
//!   audio server delays no other push.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::Sender;

use sha2::{Digest, Sha256};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use crate::config::Config;
use crate::core::fleet::{Ack, AckEvent, PushMessage};
use crate::core::push::PushError;
use crate::core::text::clip_bytes;
use crate::http::Shared;
use crate::remote::fleet::{Admitted, Judge, Refused};
use crate::remote::push::Accepted;
use crate::station::command::Command;
use crate::station::refusals::Refusals;
use crate::store::trust::Trust;
use crate::sys::clock::Clock;

use super::Outbox;

/// Genuine pushes waiting for their audio. Only signed pushes get here, so these are
/// what the province itself sent; more make the arrival wait.
const QUEUE: usize = 256;
const URGENT_QUEUE: usize = 64;
/// Ordinary pushes fetched at once.
const WORKERS: usize = 4;
/// Ids of recent genuine pushes, remembered so a replay is refused without reading the
/// push state from disk; and digests of recently refused messages, so a flood of the
/// same forgery costs a hash each, not a signature check. (mosquitto keeps 1,000
/// messages queued per client and drops the rest: the station must read faster than a
/// flood arrives, or the broker drops the genuine push behind it.)
const RECENT: usize = 4096;

/// What the intake needs from the daemon.
pub struct IntakeParts {
    pub shared: Arc<Shared>,
    pub clock: Arc<dyn Clock>,
    pub trust: Arc<Trust>,
    pub refusals: Arc<Refusals>,
    pub commands: Sender<Command>,
    pub validator: PathBuf,
    pub outbox: Outbox,
}

/// The receiving end: judges at arrival and queues what is genuine.
pub struct Intake {
    parts: Arc<IntakeParts>,
    urgent: mpsc::Sender<Admitted>,
    ordinary: mpsc::Sender<Admitted>,
    /// Ids of recent genuine pushes.
    recent: Remembered<String, ()>,
    /// Digests of recently refused messages, with the refusal's label.
    refused: Remembered<[u8; 32], &'static str>,
}

impl Intake {
    /// The intake and the task that takes its queue (run it on the runtime).
    pub fn new(parts: IntakeParts) -> (Intake, impl Future<Output = ()>) {
        let parts = Arc::new(parts);
        let (urgent, urgent_rx) = mpsc::channel(URGENT_QUEUE);
        let (ordinary, ordinary_rx) = mpsc::channel(QUEUE);
        let worker = take_queue(parts.clone(), urgent_rx, ordinary_rx);
        let intake = Intake {
            parts,
            urgent,
            ordinary,
            recent: Remembered::default(),
            refused: Remembered::default(),
        };
        (intake, worker)
    }

    /// One message from a push topic. Returns once it is refused, or queued.
    pub async fn arrive(&mut self, bytes: &[u8]) {
        let digest: [u8; 32] = Sha256::digest(bytes).into();
        let config = self.config();
        let tz = config.schedule.timezone;
        if let Some(label) = self.refused.get(&digest) {
            let at = self.parts.clock.now().with_timezone(&tz);
            let why = format!("fleet push refused ({label}): the same message again");
            self.parts.refusals.record(at, "fleet", label, &why);
            return;
        }
        let admitted = match PushMessage::parse(bytes) {
            Err(error) => Err(Refused { id: None, error }),
            Ok(message) => {
                let claimed = PushMessage::claimed_id(&message.manifest);
                match claimed.as_ref().filter(|id| self.recent.get(*id).is_some()) {
                    // A replay of what already came is refused without a signature check
                    // or a state read; a forgery that claims the id is refused the same.
                    Some(id) => Err(Refused {
                        id: Some(id.clone()),
                        error: PushError::Duplicate(id.clone()),
                    }),
                    None => Judge {
                        station: &config.station,
                        validator: &self.parts.validator,
                        trust: &self.parts.trust,
                        clock: self.parts.clock.as_ref(),
                    }
                    .admit(&message)
                    .map_err(|error| Refused { id: claimed, error }),
                }
            }
        };
        let admitted = match admitted {
            Ok(a) => a,
            Err(refused) => {
                // Only what the same bytes would always meet is remembered: not a
                // refusal that depends on the clock or on the state being readable.
                let label = refused.error.label();
                if matches!(label, "signature" | "malformed" | "duplicate") {
                    self.refused.insert(digest, label);
                }
                return refuse(&self.parts, refused, tz);
            }
        };
        self.recent.insert(admitted.id.clone(), ());
        let queue = if admitted.urgent() {
            &self.urgent
        } else {
            &self.ordinary
        };
        if queue.send(admitted).await.is_err() {
            tracing::error!("fleet channel: the push queue is gone");
        }
    }

    /// The config the station runs now: a snapshot shared, not copied, per message.
    fn config(&self) -> Arc<Config> {
        self.parts.shared.config()
    }
}

/// The last `RECENT` keys inserted, with a value each: older ones are forgotten first.
struct Remembered<K, V> {
    values: HashMap<K, V>,
    order: VecDeque<K>,
}

impl<K, V> Default for Remembered<K, V> {
    fn default() -> Self {
        Remembered {
            values: HashMap::new(),
            order: VecDeque::new(),
        }
    }
}

impl<K: std::hash::Hash + Eq + Clone, V: Copy> Remembered<K, V> {
    fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        self.values.get(key).copied()
    }

    fn insert(&mut self, key: K, value: V) {
        if self.values.insert(key.clone(), value).is_none() {
            self.order.push_back(key);
        }
        while self.order.len() > RECENT {
            if let Some(old) = self.order.pop_front() {
                self.values.remove(&old);
            }
        }
    }
}

/// Takes the queues: each urgent push at once, ordinary ones `WORKERS` at a time. Two
/// loops side by side, so an urgent push never waits behind an ordinary one.
async fn take_queue(
    parts: Arc<IntakeParts>,
    mut urgent: mpsc::Receiver<Admitted>,
    mut ordinary: mpsc::Receiver<Admitted>,
) {
    let urgent_loop = async {
        while let Some(a) = urgent.recv().await {
            tokio::spawn(take(parts.clone(), a, None));
        }
    };
    let workers = Arc::new(Semaphore::new(WORKERS));
    let ordinary_loop = async {
        while let Ok(permit) = workers.clone().acquire_owned().await {
            let Some(a) = ordinary.recv().await else {
                return;
            };
            tokio::spawn(take(parts.clone(), a, Some(permit)));
        }
    };
    tokio::join!(urgent_loop, ordinary_loop);
}

/// One push's audio: fetched, decoded and stored on a blocking thread, then the playout
/// told and the province acknowledged.
async fn take(p: Arc<IntakeParts>, admitted: Admitted, permit: Option<OwnedSemaphorePermit>) {
    let q = p.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let config = q.shared.config();
        Judge {
            station: &config.station,
            validator: &q.validator,
            trust: &q.trust,
            clock: q.clock.as_ref(),
        }
        .take(admitted)
    })
    .await;
    drop(permit);
    let tz = p.shared.config().schedule.timezone;
    match outcome {
        Ok(Ok(accepted)) => accept(&p, accepted, tz),
        Ok(Err(refused)) => refuse(&p, refused, tz),
        Err(e) => tracing::error!("fleet push: the check stopped: {e}"),
    }
}

fn accept(p: &IntakeParts, accepted: Accepted, tz: chrono_tz::Tz) {
    tell(&p.commands, Command::accepted(&accepted, "fleet push"));
    let id = match accepted {
        Accepted::Cancel { id, .. } => id,
        Accepted::Bulletin(b) => b.id,
    };
    p.outbox.ack(&Ack {
        id: Some(id),
        event: AckEvent::Accepted,
        reason: None,
        ts: p.clock.now().with_timezone(&tz).fixed_offset(),
        heard: None,
    });
}

fn refuse(p: &IntakeParts, refused: Refused, tz: chrono_tz::Tz) {
    let at = p.clock.now().with_timezone(&tz);
    let e = refused.error;
    let message = format!("fleet push refused ({}): {e}", e.label());
    // The same budget bounds the log and the acknowledgements of refusals.
    if p.refusals.record(at, "fleet", e.label(), &message) {
        p.outbox.ack(&Ack {
            id: refused.id,
            event: AckEvent::Refused,
            reason: Some(clip_bytes(&format!("{}: {e}", e.label()), 300)),
            ts: at.fixed_offset(),
            heard: None,
        });
    }
}

fn tell(commands: &Sender<Command>, command: Command) {
    if commands.send(command).is_err() {
        tracing::error!("the playout engine is gone; the push is stored and plays after a restart");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_keys_are_bounded_oldest_first() {
        let mut r: Remembered<String, u32> = Remembered::default();
        for i in 0..RECENT + 10 {
            r.insert(format!("id-{i}"), i as u32);
        }
        r.insert("id-20".into(), 99);
        assert_eq!(r.get("id-9"), None);
        assert_eq!(r.get("id-10"), Some(10));
        assert_eq!(r.get("id-20"), Some(99));
        assert_eq!(r.values.len(), RECENT);
        assert_eq!(r.order.len(), RECENT);
    }
}
