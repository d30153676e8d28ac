//! What the rest of the daemon (the HTTP door, the feed follower, signals, the config
//! watcher) can ask of the playout. The player turns each into an engine event.

use crate::config::Config;
use crate::core::catalog::Priority;

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
}
