//! What the rest of the daemon (the HTTP door, the fleet channel, the feed follower,
//! signals, the config watcher, and the playout itself) asks of the station: `Command`s go
//! to the catalog's owner (`daemon::catalog`), which reads what changed once and hands
//! the playout a `Change` carrying it. The playout reads no push or feed state itself.

use crate::config::Config;
use crate::core::catalog::Priority;
use crate::remote::push::Accepted;

use super::catalog::Holdings;

pub enum Command {
    /// A new, already validated config (schedule.toml or station.toml changed).
    Reload(Box<Config>),
    /// Finish cleanly: stop the audio, switch the amplifier off.
    Shutdown,
    /// The feed or a push brought new campaigns or bulletins, or revoked some: re-plan,
    /// stop a revoked bulletin that is playing now, and play new emergencies at once.
    CatalogChanged,
    /// A push was accepted: like `CatalogChanged`, and a priority bulletin does not wait
    /// for filler music to end.
    Pushed(Priority),
    /// A bulletin (pushed or from the feed) was withdrawn: stop it if it plays, drop it
    /// from every plan and from the emergency queue.
    Cancel(String),
    /// From the playout: a pushed bulletin played to its end (saved in the push state).
    Aired(String),
    /// From the playout: an emergency played all its repeats, or was cancelled.
    EmergencyDone(String),
    /// From the playout as it stops: answered once everything sent before it is saved.
    Saved(std::sync::mpsc::Sender<()>),
}

/// What the playout is handed: a change, with what the station holds after it.
pub enum Change {
    Reload {
        config: Box<Config>,
        holdings: Box<Holdings>,
    },
    Catalog {
        holdings: Box<Holdings>,
        /// The priority of the push that caused it, if one did.
        pushed: Option<Priority>,
    },
    Cancel {
        id: String,
        holdings: Box<Holdings>,
    },
    Shutdown,
}

impl Command {
    /// A push accepted, whichever way it came (`via`: "push" through the HTTP door,
    /// "fleet push" through the broker): logged, counted, and what the catalog's owner
    /// is told.
    pub fn accepted(accepted: &Accepted, via: &str) -> Command {
        match accepted {
            Accepted::Cancel { id, cancels } => {
                tracing::info!("{via} {id}: cancel {cancels}");
                crate::metrics::push_accepted("cancel");
                Command::Cancel(cancels.clone())
            }
            Accepted::Bulletin(p) => {
                tracing::info!(
                    "{via} {}: {} bulletin {:?} accepted ({} ms)",
                    p.id,
                    p.priority.as_str(),
                    p.title,
                    p.duration_ms
                );
                crate::metrics::push_accepted("bulletin");
                Command::Pushed(p.priority)
            }
        }
    }
}
