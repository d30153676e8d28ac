//! The real playout on the test's own thread, on a clock the test controls, wired as
//! `loaxa run` wires it: the catalog's owner between the commands and the player.

use std::sync::Arc;
use std::sync::mpsc;

use chrono::{DateTime, Utc};
use loaxa::config::Config;
use loaxa::daemon::player::{Hooks, Io, Player};
use loaxa::station::command::Command;
use loaxa::sys::clock::{Clock, ManualClock};

/// Plays until `clock` shows `stop_at`; `each` runs first at every watchdog beat (where a
/// test steps its clock).
pub fn run_playout(
    config: Config,
    clock: &ManualClock,
    stop_at: DateTime<Utc>,
    mut each: impl FnMut() + Send + 'static,
) {
    let (tx, rx) = mpsc::channel();
    let owner = tx.clone();
    let watch = clock.clone();
    let hooks = Hooks {
        ready: Box::new(|| {}),
        alive: Box::new(move || {
            each();
            if watch.now() >= stop_at {
                let _ = tx.send(Command::Shutdown);
            }
        }),
    };
    let store = loaxa::store::Store::of(&config.station);
    let trust = Arc::new(loaxa::store::trust::Trust::empty(&store));
    let asrun = Arc::new(loaxa::store::asrun::AsRunLog::new(&store).with_trust(trust.clone()));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let io = Io {
        runtime: runtime.handle().clone(),
        stop: Default::default(),
    };
    let (_owner, link) = loaxa::daemon::catalog::start(config.clone(), owner, rx).unwrap();
    Player::new(
        config,
        Arc::new(clock.clone()),
        trust,
        asrun,
        link,
        hooks,
        &io,
    )
    .run();
}
