//! `loaxa run`: the daemon around the playout engine — signals, config reloads, systemd.

pub mod amplifier;
pub mod player;
pub mod status;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{self, Sender};
use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, FixedOffset};

use crate::config::{Config, SCHEDULE_FILE, STATION_FILE};
use crate::daemon::player::{Hooks, Player};
use crate::station::command::Command;
use crate::sys::clock::{Clock, SystemClock};

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("configuration has {0} error(s)")]
    Config(usize),
    #[error("{0}")]
    Runtime(String),
}

/// How often the config files are looked at for changes.
const WATCH_EVERY: Duration = Duration::from_secs(2);

pub fn run(dir: &Path, start_at: Option<DateTime<FixedOffset>>) -> Result<(), RunError> {
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
    let asrun = Arc::new(crate::store::asrun::AsRunLog::new(&store).with_trust(trust.clone()));
    let refusals = Arc::new(crate::station::refusals::Refusals::new(asrun));
    store.clean_pushes(
        clock
            .now()
            .with_timezone(&config.schedule.timezone)
            .date_naive(),
    );

    let (tx, rx) = mpsc::channel();
    watch_signals(dir.to_path_buf(), clock.clone(), tx.clone())?;
    watch_files(dir.to_path_buf(), clock.clone(), tx.clone());
    follow_feed(
        &config,
        clock.clone(),
        trust.clone(),
        refusals.clone(),
        tx.clone(),
    );
    let shared = crate::http::Shared::new(config.clone());
    crate::http::serve(crate::http::Parts {
        shared: shared.clone(),
        clock: clock.clone(),
        trust: trust.clone(),
        refusals,
        commands: tx,
        validator: validator(),
    });
    Player::new(config, clock, rx, systemd_hooks())
        .with_shared(shared)
        .with_trust(trust)
        .run();
    Ok(())
}

/// Loads and validates the config; a bad one is logged and the last good one stays.
fn reload(dir: &Path, clock: &dyn Clock, tx: &Sender<Command>) {
    match crate::station::config::load(dir, clock.now().date_naive()) {
        Ok(config) => {
            let _ = tx.send(Command::Reload(Box::new(config)));
        }
        Err(errors) => {
            for e in &errors {
                tracing::error!("{e}");
            }
            tracing::error!(
                "{} error(s) in the new configuration: still broadcasting the last good schedule; fix the file and save it again",
                errors.len()
            );
        }
    }
}

fn watch_signals(dir: PathBuf, clock: Arc<dyn Clock>, tx: Sender<Command>) -> Result<(), RunError> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGHUP, SIGINT, SIGTERM])
        .map_err(|e| RunError::Runtime(format!("cannot watch signals: {e}")))?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                if signal == SIGHUP {
                    tracing::info!("SIGHUP: reloading the configuration");
                    reload(&dir, clock.as_ref(), &tx);
                } else {
                    tracing::info!("stopping (signal {signal})");
                    let _ = tx.send(Command::Shutdown);
                    return;
                }
            }
        })
        .map_err(|e| RunError::Runtime(e.to_string()))?;
    Ok(())
}

/// Reloads when station.toml or schedule.toml is saved, so an operator's edit takes
/// effect without a signal.
fn watch_files(dir: PathBuf, clock: Arc<dyn Clock>, tx: Sender<Command>) {
    let stamp = |dir: &Path| -> Vec<Option<(SystemTime, u64)>> {
        [STATION_FILE, SCHEDULE_FILE]
            .iter()
            .map(|f| {
                std::fs::metadata(dir.join(f))
                    .ok()
                    .and_then(|m| Some((m.modified().ok()?, m.len())))
            })
            .collect()
    };
    let spawned = std::thread::Builder::new()
        .name("config-watch".into())
        .spawn(move || {
            let mut last = stamp(&dir);
            loop {
                std::thread::sleep(WATCH_EVERY);
                let now = stamp(&dir);
                if now != last {
                    last = now;
                    tracing::info!("configuration changed on disk: reloading");
                    reload(&dir, clock.as_ref(), &tx);
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("config files are not watched ({e}); send SIGHUP after editing");
    }
}

/// Polls the provincial feed every `[feed] poll`, backing off while it is unreachable;
/// the broadcast goes on with what the station has.
/// This program: it checks audio in a child process (`loaxa validate-audio`).
fn validator() -> PathBuf {
    std::env::current_exe().unwrap_or_else(|_| PathBuf::from("loaxa"))
}

fn follow_feed(
    config: &Config,
    clock: Arc<dyn Clock>,
    trust: Arc<crate::store::trust::Trust>,
    refusals: Arc<crate::station::refusals::Refusals>,
    tx: Sender<Command>,
) {
    let Some(syncer) = crate::remote::feed::sync::Syncer::new(&config.station, validator(), trust)
    else {
        return;
    };
    let poll = config
        .station
        .feed
        .poll
        .to_std()
        .unwrap_or(Duration::from_secs(60));
    let tz = config.schedule.timezone;
    let spawned = std::thread::Builder::new()
        .name("feed".into())
        .spawn(move || {
            let mut wait = Duration::ZERO;
            loop {
                std::thread::sleep(wait);
                match syncer.poll() {
                    Ok(outcome) => {
                        crate::metrics::feed_poll(None, clock.now().timestamp());
                        for r in &outcome.rejected {
                            let now = clock.now().with_timezone(&tz);
                            refusals.record(now, "feed", r.reason, &r.message);
                        }
                        if outcome.changed && tx.send(Command::CatalogChanged).is_err() {
                            return;
                        }
                        wait = poll;
                    }
                    Err(why) => {
                        crate::metrics::feed_poll(Some(&why), clock.now().timestamp());
                        wait = (wait * 2).clamp(poll, poll * 16);
                        tracing::warn!("{why}; next try in {}s", wait.as_secs());
                    }
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!("feed not followed: {e}");
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
