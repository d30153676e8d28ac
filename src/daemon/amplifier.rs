//! The amplifier relay: `on` before a session, `off` after it. The commands run as a task
//! on the daemon's runtime, so a relay that hangs never stalls the audio; a command that
//! fails is logged and retried with backoff, and never stops the broadcast.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::DateTime;
use chrono_tz::Tz;
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::station::Amplifier as AmpConfig;
use crate::core::asrun::{Event, Record};
use crate::store::asrun::AsRunLog;
use crate::sys::clock::Clock;
use crate::sys::command::CommandError;

/// A command that has not finished in this long is killed and counts as failed.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
const RETRY_FIRST: Duration = Duration::from_secs(5);
const RETRY_MAX: Duration = Duration::from_secs(60);

/// On or off, as of when it was asked; `None`: the daemon is exiting.
type Request = Option<(bool, DateTime<Tz>)>;

/// The engine's handle: say what state is wanted; the task makes it so.
pub struct Amplifier {
    want: Option<UnboundedSender<Request>>,
    task: Option<(tokio::runtime::Handle, tokio::task::JoinHandle<()>)>,
    on: Arc<AtomicBool>,
}

/// What the task needs besides its requests.
struct Relay {
    config: AmpConfig,
    log: Arc<AsRunLog>,
    clock: Arc<dyn Clock>,
    tz: Tz,
    on: Arc<AtomicBool>,
}

impl Amplifier {
    /// `None` config: there is no relay to switch; requests are accepted and ignored.
    /// The task runs on `io` until `finish` or `stop`.
    pub fn start(
        config: Option<AmpConfig>,
        log: Arc<AsRunLog>,
        clock: Arc<dyn Clock>,
        tz: Tz,
        io: &tokio::runtime::Handle,
        stop: CancellationToken,
    ) -> Self {
        let on = Arc::new(AtomicBool::new(false));
        let Some(config) = config else {
            return Amplifier {
                want: None,
                task: None,
                on,
            };
        };
        let (tx, rx) = mpsc::unbounded_channel::<Request>();
        let relay = Relay {
            config,
            log,
            clock,
            tz,
            on: on.clone(),
        };
        let task = io.spawn(relay.run(rx, stop));
        Amplifier {
            want: Some(tx),
            task: Some((io.clone(), task)),
            on,
        }
    }

    /// Asks for the relay `on` or off, as of `at`.
    pub fn switch(&self, on: bool, at: DateTime<Tz>) {
        if let Some(tx) = &self.want {
            let _ = tx.send(Some((on, at)));
        } else {
            self.on.store(on, Ordering::Relaxed);
        }
    }

    /// Waits until the requests made so far have been carried out once (not retried).
    /// Called from the playout thread, which is not one of the runtime's.
    pub fn finish(mut self) {
        if let Some(tx) = self.want.take() {
            let _ = tx.send(None);
        }
        if let Some((io, task)) = self.task.take() {
            let _ = io.block_on(task);
        }
    }

    /// Whether the relay last reported on (or was asked on, with no relay configured).
    pub fn is_on(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }
}

impl Relay {
    async fn run(self, mut rx: UnboundedReceiver<Request>, stop: CancellationToken) {
        let mut wanted: Option<bool> = None;
        // When the switch was asked for: the record says so, however late the task gets
        // to it (a busy machine, a test's clock racing ahead).
        let mut asked_at: Option<DateTime<Tz>> = None;
        let mut retry_in = RETRY_FIRST;
        let mut due: Option<Instant> = None;
        loop {
            tokio::select! {
                biased;
                _ = stop.cancelled() => return,
                request = rx.recv() => match request {
                    // `None` inside: the daemon is exiting; the requests before it are
                    // done. `None` outside: the handle is gone.
                    Some(None) | None => return,
                    Some(Some((w, at))) => {
                        if wanted == Some(w) && due.is_none() {
                            continue;
                        }
                        wanted = Some(w);
                        asked_at = Some(at);
                        retry_in = RETRY_FIRST;
                    }
                },
                _ = sleep_until(due) => {}
            }
            let Some(w) = wanted else { continue };
            let event = if w { Event::AmpOn } else { Event::AmpOff };
            let now = asked_at
                .take()
                .unwrap_or_else(|| self.clock.now().with_timezone(&self.tz));
            let argv = if w { &self.config.on } else { &self.config.off };
            match crate::sys::command::run_async(argv, COMMAND_TIMEOUT).await {
                Ok(()) => {
                    self.on.store(w, Ordering::Relaxed);
                    self.record(Record::new(now, event)).await;
                    due = None;
                }
                Err(why) => {
                    let reason =
                        format!("command failed: {why}; retrying in {}s", retry_in.as_secs());
                    tracing::warn!("amplifier {}: {reason}", if w { "on" } else { "off" });
                    self.record(Record::new(now, event).reason(reason)).await;
                    due = Some(Instant::now() + retry_in);
                    retry_in = (retry_in * 2).min(RETRY_MAX);
                }
            }
        }
    }
}

impl Relay {
    /// The as-run log writes and syncs a file: off the runtime's workers.
    async fn record(&self, record: Record) {
        let log = self.log.clone();
        if let Err(e) = tokio::task::spawn_blocking(move || log.log(&record)).await {
            tracing::error!("amplifier record not written: {e}");
        }
    }
}

/// Until `due`, or never.
async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

/// Runs a command without a shell, killing it if it hangs (blocking: `loaxa play`).
pub fn run(argv: &[String]) -> Result<(), CommandError> {
    crate::sys::command::run(argv, None, COMMAND_TIMEOUT)
}
