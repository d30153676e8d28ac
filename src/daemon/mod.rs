//! `loaxa run`: the daemon around the playout engine — signals, config reloads, systemd.

pub mod amplifier;
pub mod catalog;
pub mod fleet;
pub mod monitor;
pub mod player;
pub mod status;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{self, Sender};
use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, FixedOffset};

use crate::config::{SCHEDULE_FILE, STATION_FILE};
use crate::core::status::Reload;
use crate::daemon::player::{Hooks, Player};
use crate::station::command::Command;
use crate::sys::clock::{Clock, SystemClock};
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio_util::sync::CancellationToken;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("configuration has {0} error(s)")]
    Config(usize),
    #[error("{0}")]
    Runtime(String),
}

/// How often the config files are looked at where they cannot be watched.
const WATCH_EVERY: Duration = Duration::from_secs(2);
/// After a change is seen, the wait for the editor to finish writing.
const SETTLE: Duration = Duration::from_millis(300);
/// How long each task has to stop at exit.
const JOIN_WAIT: Duration = Duration::from_secs(5);
/// The least time between two feed polls that a fleet nudge asks for.
const NUDGE_SPACING: Duration = Duration::from_secs(1);

/// What `run` starts from: the clock, the validated config, the state dir (made if
/// missing, left-over uploads cleaned) and its trust marks.
struct Opened {
    clock: Arc<dyn Clock>,
    config: crate::config::Config,
    store: crate::store::Store,
    trust: Arc<crate::store::trust::Trust>,
}

fn open_station(dir: &Path, start_at: Option<DateTime<FixedOffset>>) -> Result<Opened, RunError> {
    let clock: Arc<dyn Clock> = match start_at {
        Some(t) => {
            tracing::info!("rehearsal clock: now is {t}");
            Arc::new(SystemClock::starting_at(t.to_utc()))
        }
        None => Arc::new(SystemClock::new()),
    };
    let config = crate::station::config::load(dir, clock.now().date_naive()).map_err(|errors| {
        for e in &errors {
            eprintln!("{e}");
        }
        RunError::Config(errors.len())
    })?;
    let store = crate::store::Store::of(&config.station);
    store.create().map_err(|e| {
        RunError::Runtime(format!(
            "cannot create the state dir {}: {e}",
            store.root().display()
        ))
    })?;
    tracing::info!(
        "station {} starting; config {}, state {}",
        config.station.station_id,
        config.dir.display(),
        store.root().display()
    );
    store.clean_uploads();
    let trust = Arc::new(crate::store::trust::Trust::open_or_refuse(&store));
    if let Some(behind) = trust.clock_behind(clock.now()) {
        tracing::error!(
            "THE CLOCK IS WRONG: it is {} behind the newest time this station has trusted; pushes are judged by that time until the clock is right",
            crate::core::units::format_duration(behind)
        );
    }
    Ok(Opened {
        clock,
        config,
        store,
        trust,
    })
}

pub fn run(dir: &Path, start_at: Option<DateTime<FixedOffset>>) -> Result<(), RunError> {
    let Opened {
        clock,
        config,
        store,
        trust,
    } = open_station(dir, start_at)?;
    // Every as-run record, for the fleet channel's acknowledgements.
    let (records, _) = tokio::sync::broadcast::channel(256);
    let asrun = Arc::new(
        crate::store::asrun::AsRunLog::new(&store)
            .with_trust(trust.clone())
            .with_tap(records.clone()),
    );
    let refusals = Arc::new(crate::station::refusals::Refusals::new(asrun.clone()));
    store.clean_pushes(
        clock
            .now()
            .with_timezone(&config.schedule.timezone)
            .date_naive(),
    );

    // One runtime for everything that waits on the outside world; the playout keeps its
    // own thread (this one). Every task stops at `stop` and is joined before we return.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("loaxa-io")
        .enable_all()
        .build()
        .map_err(|e| RunError::Runtime(format!("cannot start the runtime: {e}")))?;
    let stop = CancellationToken::new();
    let (tx, rx) = mpsc::channel();
    let mut tasks = Vec::new();
    let signals = {
        let _guard = runtime.enter();
        Signals::new()?
    };
    let shared = crate::http::Shared::new(config.clone());
    let reloader = Reloader {
        dir: dir.to_path_buf(),
        clock: clock.clone(),
        tx: tx.clone(),
        shared: shared.clone(),
    };
    tasks.push(runtime.spawn(watch_signals(signals, reloader.clone(), stop.clone())));
    tasks.push(runtime.spawn(watch_files(reloader, stop.clone())));
    let feed_nudge = Arc::new(tokio::sync::Notify::new());
    let wiring = Wiring {
        runtime: &runtime,
        stop: &stop,
        commands: &tx,
        clock: &clock,
        trust: &trust,
        refusals: &refusals,
        shared: &shared,
    };
    tasks.extend(start_feed(&wiring, &config, feed_nudge.clone()));
    tasks.extend(start_fleet(&wiring, &config, feed_nudge, &records));
    tasks.push(runtime.spawn(crate::http::serve(
        crate::http::Parts {
            shared: shared.clone(),
            clock: clock.clone(),
            trust: trust.clone(),
            refusals,
            commands: tx.clone(),
            validator: validator(),
        },
        stop.clone(),
    )));
    let (listener, proof) = start_monitor(&config, &shared, &asrun, &clock);
    let tx_owner = tx;
    let io = player::Io {
        runtime: runtime.handle().clone(),
        stop: stop.clone(),
    };
    // The catalog's owner sits between every sender and the playout (daemon/catalog.rs).
    let (owner, link) = catalog::start(config.clone(), tx_owner, rx)
        .map_err(|e| RunError::Runtime(format!("cannot start the catalog's owner: {e}")))?;
    let mut player =
        Player::new(config, clock, trust, asrun, link, systemd_hooks(), &io).with_shared(shared);
    if let Some(proof) = proof {
        player = player.with_proof(proof);
    }
    player.run();
    if let Some(l) = listener {
        l.stop();
    }
    wind_down(runtime, &stop, tasks, owner);
    Ok(())
}

/// What the tasks of `run` are wired to.
struct Wiring<'a> {
    runtime: &'a tokio::runtime::Runtime,
    stop: &'a CancellationToken,
    commands: &'a Sender<Command>,
    clock: &'a Arc<dyn Clock>,
    trust: &'a Arc<crate::store::trust::Trust>,
    refusals: &'a Arc<crate::station::refusals::Refusals>,
    shared: &'a Arc<crate::http::Shared>,
}

/// The feed follower, with `[feed]`.
fn start_feed(
    w: &Wiring,
    config: &crate::config::Config,
    nudge: Arc<tokio::sync::Notify>,
) -> Option<tokio::task::JoinHandle<()>> {
    let syncer =
        crate::remote::feed::sync::Syncer::new(&config.station, validator(), w.trust.clone())?;
    let poll = config
        .station
        .feed
        .poll
        .to_std()
        .unwrap_or(Duration::from_secs(60));
    Some(w.runtime.spawn(follow_feed(
        syncer,
        FeedFollower {
            poll,
            tz: config.schedule.timezone,
            clock: w.clock.clone(),
            refusals: w.refusals.clone(),
            shared: w.shared.clone(),
            nudge,
            tx: w.commands.clone(),
            stop: w.stop.clone(),
        },
    )))
}

/// The fleet channel, with `[fleet]`.
fn start_fleet(
    w: &Wiring,
    config: &crate::config::Config,
    feed_nudge: Arc<tokio::sync::Notify>,
    records: &tokio::sync::broadcast::Sender<crate::core::asrun::Record>,
) -> Option<tokio::task::JoinHandle<()>> {
    let fleet = config.station.fleet.clone()?;
    Some(w.runtime.spawn(fleet::run(
        fleet::Parts {
            fleet,
            station_id: config.station.station_id.clone(),
            shared: w.shared.clone(),
            clock: w.clock.clone(),
            trust: w.trust.clone(),
            refusals: w.refusals.clone(),
            commands: w.commands.clone(),
            validator: validator(),
            feed_nudge,
            records: records.subscribe(),
        },
        w.stop.clone(),
    )))
}

/// With `[monitor]`: the listener (a recorder child for dead air and proof of air) and
/// what the playout hands it of each item.
fn start_monitor(
    config: &crate::config::Config,
    shared: &Arc<crate::http::Shared>,
    asrun: &Arc<crate::store::asrun::AsRunLog>,
    clock: &Arc<dyn Clock>,
) -> (Option<monitor::Listener>, Option<player::Proof>) {
    let capture = Arc::new(crate::audio::proof::Capture::default());
    let listener = config.station.monitor.clone().map(|monitor| {
        monitor::Listener::start(monitor::Parts {
            monitor,
            shared: shared.clone(),
            asrun: asrun.clone(),
            clock: clock.clone(),
            tz: config.schedule.timezone,
            capture: capture.clone(),
        })
    });
    let proof = config
        .station
        .monitor
        .as_ref()
        .map(|m| player::Proof::new(capture, m.silence_below));
    (listener, proof)
}

/// After the playout: every task stopped and joined (each within `JOIN_WAIT`).
fn wind_down(
    runtime: tokio::runtime::Runtime,
    stop: &CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    owner: std::thread::JoinHandle<()>,
) {
    stop.cancel();
    runtime.block_on(async {
        for task in tasks {
            if tokio::time::timeout(JOIN_WAIT, task).await.is_err() {
                tracing::warn!("a task did not stop within {}s", JOIN_WAIT.as_secs());
            }
        }
    });
    // A feed poll still in a blocking thread is left to its own timeouts.
    runtime.shutdown_timeout(JOIN_WAIT);
    // Everything the playout reported is saved (it waited for that); the owner ends once
    // the last sender is gone, which a push still fetching on a blocking thread may delay.
    if owner.is_finished() {
        let _ = owner.join();
    }
}

/// Reads the config again on a save or SIGHUP: a good one goes to the playout, a bad
/// one is logged and the last good one stays; either way the status says how it went.
#[derive(Clone)]
struct Reloader {
    dir: PathBuf,
    clock: Arc<dyn Clock>,
    tx: Sender<Command>,
    shared: Arc<crate::http::Shared>,
}

impl Reloader {
    fn reload(&self) {
        let now = self.clock.now();
        let tz = self.shared.config().schedule.timezone;
        match crate::station::config::load(&self.dir, now.date_naive()) {
            Ok(config) => {
                let waiting = needs_restart(&self.shared.config(), &config);
                if !waiting.is_empty() {
                    tracing::warn!(
                        "{} changed: the schedule is reloaded, but these take effect only after a restart (systemctl restart loaxa)",
                        waiting.join(", ")
                    );
                }
                let _ = self.tx.send(Command::Reload(Box::new(config)));
                let mut reload = Reload::new(now.with_timezone(&tz), &[]);
                reload.restart_needed = waiting.iter().map(|s| s.to_string()).collect();
                self.shared.reloaded(reload);
            }
            Err(errors) => {
                for e in &errors {
                    tracing::error!("{e}");
                }
                tracing::error!(
                    "{} error(s) in the new configuration: still broadcasting the last good schedule; fix the file and save it again",
                    errors.len()
                );
                let errors: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
                self.shared
                    .reloaded(Reload::new(now.with_timezone(&tz), &errors));
            }
        }
    }

    /// Config loading decodes new media and may speak text: off the runtime's workers.
    async fn in_background(&self) {
        let me = self.clone();
        if let Err(e) = tokio::task::spawn_blocking(move || me.reload()).await {
            tracing::error!("configuration reload failed: {e}");
        }
    }
}

/// What a reload cannot change in a running daemon: the parts started once (the API's
/// socket, the feed follower, the fleet channel, the monitor) and what names the station
/// and its state.
fn needs_restart(old: &crate::config::Config, new: &crate::config::Config) -> Vec<&'static str> {
    let (a, b) = (&old.station, &new.station);
    [
        ("station_id", a.station_id != b.station_id),
        ("[paths] state", !a.keeps_state_with(b)),
        ("[api] listen", a.api.listen != b.api.listen),
        ("[feed]", a.feed != b.feed),
        ("[fleet]", a.fleet != b.fleet),
        ("[monitor]", a.monitor != b.monitor),
    ]
    .into_iter()
    .filter_map(|(name, changed)| changed.then_some(name))
    .collect()
}

/// SIGHUP, SIGINT and SIGTERM, registered before anything can send them.
struct Signals {
    hup: Signal,
    int: Signal,
    term: Signal,
}

impl Signals {
    fn new() -> Result<Signals, RunError> {
        let watch = |kind: SignalKind| {
            signal(kind).map_err(|e| RunError::Runtime(format!("cannot watch signals: {e}")))
        };
        Ok(Signals {
            hup: watch(SignalKind::hangup())?,
            int: watch(SignalKind::interrupt())?,
            term: watch(SignalKind::terminate())?,
        })
    }
}

async fn watch_signals(mut signals: Signals, reloader: Reloader, stop: CancellationToken) {
    loop {
        let name = tokio::select! {
            _ = stop.cancelled() => return,
            _ = signals.hup.recv() => "SIGHUP",
            _ = signals.int.recv() => "SIGINT",
            _ = signals.term.recv() => "SIGTERM",
        };
        if name == "SIGHUP" {
            tracing::info!("SIGHUP: reloading the configuration");
            reloader.in_background().await;
        } else {
            tracing::info!("stopping ({name})");
            let _ = reloader.tx.send(Command::Shutdown);
            return;
        }
    }
}

/// What the two config files look like on disk, to tell a real change from a touch.
fn stamp(dir: &Path) -> Vec<Option<(SystemTime, u64)>> {
    [STATION_FILE, SCHEDULE_FILE]
        .iter()
        .map(|f| {
            std::fs::metadata(dir.join(f))
                .ok()
                .and_then(|m| Some((m.modified().ok()?, m.len())))
        })
        .collect()
}

/// Reloads when station.toml or schedule.toml is saved, so an operator's edit takes
/// effect without a signal. The directory is watched (`notify`: inotify on Linux), so an
/// editor that saves by renaming is seen too; where no watch can be set (inotify
/// limits), the files are looked at every `WATCH_EVERY`.
async fn watch_files(reloader: Reloader, stop: CancellationToken) {
    let dir = reloader.dir.clone();
    use notify::Watcher;
    let (events_tx, mut events) = tokio::sync::mpsc::unbounded_channel::<()>();
    let watched = notify::recommended_watcher(move |e: notify::Result<notify::Event>| {
        let ours = e.is_ok_and(|e| {
            e.paths.iter().any(|p| {
                p.file_name()
                    .is_some_and(|n| n == STATION_FILE || n == SCHEDULE_FILE)
            })
        });
        if ours {
            let _ = events_tx.send(());
        }
    })
    .and_then(|mut w| {
        w.watch(&dir, notify::RecursiveMode::NonRecursive)
            .map(|()| w)
    });
    // Kept alive for as long as the task runs.
    let _watcher = match watched {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::warn!(
                "config directory not watched ({e}): looking at the files every {}s",
                WATCH_EVERY.as_secs()
            );
            None
        }
    };
    let polling = _watcher.is_none();
    let mut last = stamp(&dir);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = events.recv(), if !polling => {
                // An editor writes in several steps: let them finish.
                tokio::time::sleep(SETTLE).await;
                while events.try_recv().is_ok() {}
            }
            _ = tokio::time::sleep(WATCH_EVERY), if polling => {}
        }
        let now = stamp(&dir);
        if now != last {
            last = now;
            tracing::info!("configuration changed on disk: reloading");
            reloader.in_background().await;
        }
    }
}

/// This program: it checks audio in a child process (`loaxa validate-audio`).
fn validator() -> PathBuf {
    std::env::current_exe().unwrap_or_else(|_| PathBuf::from("loaxa"))
}

/// What the feed follower is told: how often, whom to tell, where to show what it met.
struct FeedFollower {
    poll: Duration,
    tz: chrono_tz::Tz,
    clock: Arc<dyn Clock>,
    refusals: Arc<crate::station::refusals::Refusals>,
    shared: Arc<crate::http::Shared>,
    nudge: Arc<tokio::sync::Notify>,
    tx: Sender<Command>,
    stop: CancellationToken,
}

/// Polls the provincial feed every `[feed] poll`, backing off while it is unreachable;
/// the broadcast goes on with what the station has. Each poll (blocking HTTP, audio
/// checks in a child) runs on a blocking thread.
async fn follow_feed(syncer: crate::remote::feed::sync::Syncer, f: FeedFollower) {
    let FeedFollower {
        poll,
        tz,
        clock,
        refusals,
        shared,
        nudge,
        tx,
        stop,
    } = f;
    let mut syncer = Some(syncer);
    let mut wait = Duration::ZERO;
    let mut last_poll: Option<Instant> = None;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
            // The province published (SPEC §13): poll now, but never more than once a
            // second however many nudges come.
            _ = nudge.notified() => {
                if let Some(t) = last_poll {
                    tokio::time::sleep(NUDGE_SPACING.saturating_sub(t.elapsed())).await;
                }
            }
        }
        last_poll = Some(Instant::now());
        let Some(s) = syncer.take() else { return };
        let now = clock.now();
        let polled = tokio::task::spawn_blocking(move || {
            let result = s.poll(now);
            (s, result)
        })
        .await;
        let result = match polled {
            Ok((s, result)) => {
                syncer = Some(s);
                result
            }
            Err(e) => {
                tracing::error!("feed poll failed: {e}; the feed is no longer followed");
                return;
            }
        };
        match result {
            Ok(outcome) => {
                crate::metrics::feed_poll(None);
                shared.feed_polled(Ok(clock.now().timestamp()));
                for r in &outcome.rejected {
                    let now = clock.now().with_timezone(&tz);
                    refusals.record(now, "feed", r.kind.label(), &r.message);
                }
                if outcome.changed && tx.send(Command::CatalogChanged).is_err() {
                    return;
                }
                wait = poll;
            }
            Err(why) => {
                crate::metrics::feed_poll(Some(why.label()));
                shared.feed_polled(Err(why.to_string()));
                wait = (wait * 2).clamp(poll, poll * 16);
                tracing::warn!("{why}; next try in {}s", wait.as_secs());
            }
        }
    }
}

/// READY once the first plan is made; WATCHDOG from the engine's own loop, so a stuck
/// engine (not merely a live process) gets restarted.
fn systemd_hooks() -> Hooks {
    let mut last = Instant::now() - Duration::from_secs(60);
    let every = sd_notify::watchdog_enabled().map_or(Duration::from_secs(10), |d| d / 3);
    Hooks {
        ready: Box::new(|| {
            let _ = sd_notify::notify(&[
                sd_notify::NotifyState::Ready,
                sd_notify::NotifyState::Status("broadcasting"),
            ]);
        }),
        alive: Box::new(move || {
            if last.elapsed() >= every {
                last = Instant::now();
                let _ = sd_notify::notify(&[sd_notify::NotifyState::Watchdog]);
            }
        }),
    }
}
