//! The one owner of the station's catalog: every change (a push accepted, a cancel, the
//! feed synced, a reload, a push aired) comes here as a `Command`; this thread saves what
//! the playout reports, reads the store once per change, and hands the playout the result
//! as a value (`Change`). So the playout thread writes no file and reads no push or feed
//! state after start-up (the as-run history it still reads, at start and after a clock
//! step), a change costs one read of each state file, and changes reach the playout in the order
//! they were made: what was saved before a change was sent is in what the playout gets.

use std::sync::mpsc::{Receiver, Sender};
use std::thread::JoinHandle;

use crate::config::Config;
use crate::station::catalog::Holdings;
use crate::station::command::{Change, Command};
use crate::store::Store;

/// The playout's ends of its link to the owner.
pub struct PlayoutLink {
    /// Every change, with what it brought.
    pub changes: Receiver<Change>,
    /// Where the playout reports what the push state must remember.
    pub reports: Sender<Command>,
}

/// Starts the owner on a thread of its own, taking `commands` (whose sender `reports` is
/// one of); it ends when every sender is gone. The playout, as it stops, waits for
/// `Command::Saved` to be answered: what it reported is saved by then.
pub fn start(
    config: Config,
    reports: Sender<Command>,
    commands: Receiver<Command>,
) -> std::io::Result<(JoinHandle<()>, PlayoutLink)> {
    let (playout, changes) = std::sync::mpsc::channel();
    let owner = std::thread::Builder::new()
        .name("loaxa-catalog".into())
        .spawn(move || run(config, &commands, &playout))?;
    Ok((owner, PlayoutLink { changes, reports }))
}

fn run(mut config: Config, commands: &Receiver<Command>, playout: &Sender<Change>) {
    let mut store = Store::of(&config.station);
    while let Ok(command) = commands.recv() {
        let change = match command {
            Command::Reload(new) => {
                config = (*new).clone();
                store = Store::of(&config.station);
                Change::Reload {
                    holdings: Box::new(Holdings::load(&config)),
                    config: new,
                }
            }
            Command::CatalogChanged => Change::Catalog {
                holdings: Box::new(Holdings::load(&config)),
                pushed: None,
            },
            Command::Pushed(priority) => Change::Catalog {
                holdings: Box::new(Holdings::load(&config)),
                pushed: Some(priority),
            },
            Command::Cancel(id) => Change::Cancel {
                id,
                holdings: Box::new(Holdings::load(&config)),
            },
            Command::Aired(id) => {
                if let Err(e) = store.mark_aired(&id) {
                    tracing::warn!("push state not saved: {e}");
                }
                continue;
            }
            Command::EmergencyDone(id) => {
                if let Err(e) = store.mark_emergency_done(&id) {
                    tracing::warn!("push state not saved: {e}");
                }
                continue;
            }
            Command::Saved(answer) => {
                let _ = answer.send(());
                continue;
            }
            Command::Shutdown => Change::Shutdown,
        };
        // Once the playout has stopped nobody takes changes; what it reported before
        // stopping is still saved, so this goes on until every sender is gone.
        let _ = playout.send(change);
    }
}
