//! The amplifier relay: `on` before a session, `off` after it. The commands run on a
//! worker thread, so a relay that hangs never stalls the audio; a command that fails is
//! logged and retried with backoff, and never stops the broadcast.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use chrono::DateTime;
use chrono_tz::Tz;

use crate::config::station::Amplifier as AmpConfig;
use crate::core::asrun::{Event, Record};
use crate::store::asrun::AsRunLog;
use crate::sys::clock::Clock;

/// A command that has not finished in this long is killed and counts as failed.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
const RETRY_FIRST: Duration = Duration::from_secs(5);
const RETRY_MAX: Duration = Duration::from_secs(60);

/// On or off, as of when it was asked; `None`: the daemon is exiting.
type Request = Option<(bool, DateTime<Tz>)>;

/// The engine's handle: say what state is wanted; the worker makes it so.
pub struct Amplifier {
    want: Option<Sender<Request>>,
    worker: Option<std::thread::JoinHandle<()>>,
    on: Arc<AtomicBool>,
}

impl Amplifier {
    /// `None` config: there is no relay to switch; requests are accepted and ignored.
    pub fn start(
        config: Option<AmpConfig>,
        log: Arc<AsRunLog>,
        clock: Arc<dyn Clock>,
        tz: Tz,
    ) -> Self {
        let on = Arc::new(AtomicBool::new(false));
        let Some(config) = config else {
            return Amplifier {
                want: None,
                worker: None,
                on,
            };
        };
        let (tx, rx) = mpsc::channel::<Request>();
        let state = on.clone();
        let spawned = std::thread::Builder::new()
            .name("amplifier".into())
            .spawn(move || {
                let mut wanted: Option<bool> = None;
                // When the switch was asked for: the record says so, however late the
                // worker gets to it (a busy machine, a test's clock racing ahead).
                let mut asked_at: Option<DateTime<Tz>> = None;
                let mut retry_in = RETRY_FIRST;
                let mut due: Option<Instant> = None;
                loop {
                    let wait = due.map_or(Duration::from_secs(3600), |d| {
                        d.saturating_duration_since(Instant::now())
                    });
                    match rx.recv_timeout(wait) {
                        // `None`: the daemon is exiting; the requests before it are done.
                        Ok(None) => return,
                        Ok(Some((w, at))) => {
                            if wanted == Some(w) && due.is_none() {
                                continue;
                            }
                            wanted = Some(w);
                            asked_at = Some(at);
                            retry_in = RETRY_FIRST;
                        }
                        Err(RecvTimeoutError::Timeout) if due.is_some() => {}
                        Err(RecvTimeoutError::Timeout) => continue,
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                    let Some(w) = wanted else { continue };
                    let argv = if w { &config.on } else { &config.off };
                    let event = if w { Event::AmpOn } else { Event::AmpOff };
                    let now = asked_at
                        .take()
                        .unwrap_or_else(|| clock.now().with_timezone(&tz));
                    match run(argv) {
                        Ok(()) => {
                            state.store(w, Ordering::Relaxed);
                            log.log(&Record::new(now, event));
                            due = None;
                        }
                        Err(why) => {
                            let reason = format!(
                                "command failed: {why}; retrying in {}s",
                                retry_in.as_secs()
                            );
                            tracing::warn!("amplifier {}: {reason}", if w { "on" } else { "off" });
                            log.log(&Record::new(now, event).reason(reason));
                            due = Some(Instant::now() + retry_in);
                            retry_in = (retry_in * 2).min(RETRY_MAX);
                        }
                    }
                }
            });
        match spawned {
            Ok(worker) => Amplifier {
                want: Some(tx),
                worker: Some(worker),
                on,
            },
            Err(e) => {
                tracing::error!("amplifier worker not started: {e}");
                Amplifier {
                    want: None,
                    worker: None,
                    on,
                }
            }
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
    pub fn finish(mut self) {
        if let Some(tx) = self.want.take() {
            let _ = tx.send(None);
        }
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }

    /// Whether the relay last reported on (or was asked on, with no relay configured).
    pub fn is_on(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }
}

/// Runs a command without a shell, killing it if it hangs.
pub fn run(argv: &[String]) -> Result<(), String> {
    crate::sys::command::run(argv, None, COMMAND_TIMEOUT)
}
