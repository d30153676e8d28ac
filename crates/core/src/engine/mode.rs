//! The engine's modes: what it is doing, decided in one place. A mode higher in `Mode`
//! wins over those below it; `advance` (mod.rs) acts on the mode, and what plays is
//! stopped here when the mode has no room for it.

use super::{Action, Engine, Kind, Purpose};

/// What the engine is doing, in order of precedence: the first that applies is the
/// mode (`Engine::mode`). An emergency outranks a held clock (warnings sound whatever
/// the clock says) and the plan; shutting down outranks everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Shut down: it takes no more events.
    Exited,
    /// Shutting down: what plays is faded out, then the amplifier off and the output closed.
    Stopping,
    /// An emergency run, or one waiting to begin: start chime, its plays, end chime.
    Emergency,
    /// The clock is not believed (it went back): silence until it catches up.
    Held,
    /// The plan on the clock: off air between sessions, a session on air in them.
    Program,
}

/// Whether the engine runs, is shutting down, or has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Life {
    Running,
    Stopping,
    Exited,
}

impl Engine {
    /// What the engine is doing now: the first mode that applies, in `Mode`'s order.
    /// Every question of "which wins" is answered here and nowhere else.
    pub fn mode(&self) -> Mode {
        match self.life {
            Life::Exited => Mode::Exited,
            Life::Stopping => Mode::Stopping,
            Life::Running if self.run.is_some() || !self.emergencies.is_empty() => Mode::Emergency,
            Life::Running if self.held.is_some() => Mode::Held,
            Life::Running => Mode::Program,
        }
    }

    /// What plays is stopped when the mode has no room for it: at shutdown; when the
    /// clock is held (all but an emergency); when an emergency waits and no run has begun
    /// (a planned item that had started is played again after it).
    pub(super) fn overrule_playing(&mut self, mode: Mode, out: &mut Vec<Action>) {
        let Some(p) = &self.playing else { return };
        if p.stopping.is_some() {
            return;
        }
        match mode {
            Mode::Exited | Mode::Program => {}
            Mode::Stopping => self.stop("the station is shutting down", out),
            Mode::Held if p.purpose != Purpose::Emergency => {
                self.stop("the clock is not believed (it went back)", out);
            }
            Mode::Held => {}
            // The clock went back under a planned item an emergency is also waiting for:
            // it is not played again after the emergency, the clock not being believed.
            Mode::Emergency if self.held.is_some() && p.purpose != Purpose::Emergency => {
                self.stop("the clock is not believed (it went back)", out);
            }
            Mode::Emergency if self.run.is_none() => {
                let item = p.item.clone();
                if p.purpose == Purpose::Planned
                    && !matches!(item.kind, Kind::Fill | Kind::Relay)
                    && p.started.is_some()
                {
                    self.resume = self.on_air.clone().map(|s| (item, s));
                }
                self.stop("an emergency broadcast breaks in", out);
            }
            Mode::Emergency => {}
        }
    }
}
