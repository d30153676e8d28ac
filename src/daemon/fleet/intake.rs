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

use std::collections::{HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::Sender;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use crate::core::fleet::{Ack, AckEvent};
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
/// push state from disk.
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
    recent: HashSet<String>,
    recent_order: VecDeque<String>,
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
            recent: HashSet::new(),
            recent_order: VecDeque::new(),
        };
        (intake, worker)
    }

    /// One message from a push topic. Returns once it is refused, or queued.
    pub async fn arrive(&mut self, bytes: &[u8]) {
        let p = &self.parts;
        let config = p.shared.config();
        let judge = Judge {
            station: &config.station,
            validator: &p.validator,
            trust: &p.trust,
            clock: p.clock.as_ref(),
        };
        let claimed = crate::core::fleet::PushMessage::parse(bytes)
            .ok()
            .and_then(|m| crate::core::fleet::PushMessage::claimed_id(&m.manifest));
        // A replay of what already came is refused without a signature check or a
        // state read; a forgery that claims the id is refused just the same.
        let admitted = match claimed.filter(|id| self.recent.contains(id)) {
            Some(id) => Err(Refused {
                id: Some(id.clone()),
                error: crate::core::push::PushError::Duplicate(id),
            }),
            None => judge.admit(bytes),
        };
        drop(config);
        let admitted = match admitted {
            Ok(a) => a,
            Err(refused) => return refuse(p, refused),
        };
        self.remember(&admitted.id);
        let queue = if admitted.urgent() {
            &self.urgent
        } else {
            &self.ordinary
        };
        if queue.send(admitted).await.is_err() {
            tracing::error!("fleet channel: the push queue is gone");
        }
    }

    fn remember(&mut self, id: &str) {
        if self.recent.insert(id.to_string()) {
            self.recent_order.push_back(id.to_string());
        }
        while self.recent_order.len() > RECENT {
            if let Some(old) = self.recent_order.pop_front() {
                self.recent.remove(&old);
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
    match outcome {
        Ok(Ok(accepted)) => accept(&p, accepted),
        Ok(Err(refused)) => refuse(&p, refused),
        Err(e) => tracing::error!("fleet push: the check stopped: {e}"),
    }
}

fn now(p: &IntakeParts) -> chrono::DateTime<chrono_tz::Tz> {
    let tz = p.shared.config().schedule.timezone;
    p.clock.now().with_timezone(&tz)
}

fn accept(p: &IntakeParts, accepted: Accepted) {
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
    p.outbox.ack(&Ack {
        id: Some(id),
        event: AckEvent::Accepted,
        reason: None,
        ts: now(p).fixed_offset(),
        heard: None,
    });
}

fn refuse(p: &IntakeParts, refused: Refused) {
    let at = now(p);
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
