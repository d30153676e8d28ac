//! The item playing and the output under it: asking for a play, hearing that it
//! started or how it ended (and what that means for the plan), opening the output and
//! backing off when it fails, the amplifier and its warmup.

use chrono::{DateTime, TimeDelta};
use chrono_tz::Tz;

use super::{
    Action, EARLY_END, Ending, Engine, Level, Now, OUTPUT_RETRY_MAX, Play, Playing, Purpose,
    STOP_FADE,
};
use crate::asrun::{Event as Logged, Record};
use crate::plan::Kind;

impl Engine {
    // --- what happens to the item playing ----------------------------------------------

    pub(super) fn play(&mut self, play: Play, purpose: Purpose, out: &mut Vec<Action>) {
        self.playing = Some(Playing {
            item: play.item.clone(),
            purpose,
            started: None,
            stopping: None,
        });
        out.push(Action::Play(play));
    }

    pub(super) fn started(&mut self, at: DateTime<Tz>, out: &mut Vec<Action>) {
        let Some(p) = &mut self.playing else { return };
        if p.started.is_some() {
            return;
        }
        p.started = Some(at);
        self.chain = None;
        out.push(Action::Record(
            Record::new(at, Logged::Start)
                .item(&p.item)
                .scheduled(p.item.start),
        ));
        out.push(Action::StatusChanged);
    }

    /// Asks what plays to fade out and end, for `why`.
    pub(super) fn stop(&mut self, why: &str, out: &mut Vec<Action>) {
        let Some(p) = &mut self.playing else { return };
        if p.stopping.is_some() {
            return;
        }
        p.stopping = Some(why.to_string());
        out.push(Action::Stop { fade: STOP_FADE });
    }

    /// An item asked for but not heard yet is called off (the plan changes under it).
    /// An emergency's own items are left alone: the run re-reads nothing from the plan, and
    /// a chime called off would be skipped, not replayed.
    pub(super) fn cancel_unstarted(&mut self, why: &str, out: &mut Vec<Action>) {
        if self
            .playing
            .as_ref()
            .is_some_and(|p| p.started.is_none() && p.purpose != Purpose::Emergency)
        {
            self.stop(why, out);
        }
    }

    pub(super) fn ended(&mut self, now: Now, at: DateTime<Tz>, how: Ending, out: &mut Vec<Action>) {
        let Some(p) = self.playing.take() else { return };
        out.push(Action::StatusChanged);
        match how {
            Ending::Finished if p.started.is_some() => self.finished(&p, at, out),
            Ending::Finished => self.failed(&p, now, "no audio could be decoded".into(), out),
            Ending::Failed(why) => self.failed(&p, now, why, out),
            Ending::BrokeOff(why) => self.broke_off(&p, at, &why, out),
            Ending::Stopped => self.stopped(&p, at, out),
            Ending::OutputLost(why) => {
                if p.started.is_some() {
                    out.push(Action::Record(
                        Record::new(now.clock, Logged::Interrupted)
                            .item(&p.item)
                            .reason(why.clone()),
                    ));
                }
                self.output_failed(now, &why, out);
            }
        }
        if p.purpose == Purpose::Planned {
            self.cursor = Some(p.item.end);
        }
        if p.purpose == Purpose::Emergency
            && let Some(run) = &mut self.run
        {
            run.ended();
        }
    }

    /// Played to its end: recorded, counted for the day, a push marked aired; a planned
    /// item that ended well before its planned end leaves its slot to filler.
    fn finished(&mut self, p: &Playing, at: DateTime<Tz>, out: &mut Vec<Action>) {
        let item = &p.item;
        self.chain = Some(item.end);
        out.push(Action::Record(Record::new(at, Logged::End).item(item)));
        let start = p.started.unwrap_or(at);
        if start.date_naive() == self.history_date {
            self.history.today.push(crate::plan::Played {
                id: item.id.clone(),
                kind: item.kind,
                campaign: item.campaign.clone(),
                start,
                end: at,
            });
        }
        if item.source == crate::catalog::Source::Push
            && item.kind == Kind::Bulletin
            && p.purpose != Purpose::Emergency
        {
            out.push(Action::Aired(item.id.clone()));
        }
        if p.purpose == Purpose::Planned && item.end - at > EARLY_END {
            // A relay that died, a file cut short on disk: filler, not silence.
            out.push(Action::Log(
                Level::Warn,
                format!(
                    "{} {} ended {}s early; filler takes its slot",
                    item.kind.as_str(),
                    item.id,
                    (item.end - at).num_seconds()
                ),
            ));
            self.fallback = Some(item.end);
        }
    }

    /// Never started (could not be opened, or held no audio).
    fn failed(&mut self, p: &Playing, now: Now, reason: String, out: &mut Vec<Action>) {
        let item = &p.item;
        out.push(Action::Log(
            Level::Error,
            format!("{} cannot play: {reason}", item.path),
        ));
        out.push(Action::Record(
            Record::new(now.heard, Logged::Failed)
                .item(item)
                .scheduled(item.start)
                .reason(if item.kind == Kind::Relay {
                    format!("relay failed: {reason}")
                } else {
                    reason
                }),
        ));
        match p.purpose {
            Purpose::Planned => self.fallback = Some(item.end),
            Purpose::Filler => self.fill_failures += 1,
            Purpose::Emergency => {}
        }
    }

    /// Decoding broke off mid-way.
    fn broke_off(&mut self, p: &Playing, at: DateTime<Tz>, why: &str, out: &mut Vec<Action>) {
        let item = &p.item;
        self.chain = None;
        out.push(Action::Log(
            Level::Warn,
            format!("{} {}: decoding failed: {why}", item.kind.as_str(), item.id),
        ));
        out.push(Action::Record(
            Record::new(at, Logged::Interrupted)
                .item(item)
                .reason(format!("decoding failed: {why}")),
        ));
        if p.purpose == Purpose::Planned {
            self.fallback = Some(item.end);
        }
    }

    /// Stopped on the engine's word (or cancelled before it started).
    fn stopped(&mut self, p: &Playing, at: DateTime<Tz>, out: &mut Vec<Action>) {
        let item = &p.item;
        self.chain = None;
        let why = p.stopping.clone().unwrap_or_else(|| "stopped".into());
        if p.started.is_some() {
            out.push(Action::Log(
                Level::Warn,
                format!("{} {}: stopped, {why}", item.kind.as_str(), item.id),
            ));
            out.push(Action::Record(
                Record::new(at, Logged::Interrupted).item(item).reason(why),
            ));
        } else {
            out.push(Action::Log(
                Level::Info,
                format!("{} {}: not started, {why}", item.kind.as_str(), item.id),
            ));
        }
    }

    // --- the output -----------------------------------------------------------------------

    pub(super) fn open_output(&mut self, out: &mut Vec<Action>) {
        if !self.output.open {
            self.output.open = true;
            self.output.opening = true;
            out.push(Action::OpenOutput);
        }
    }

    pub(super) fn close_output(&mut self, out: &mut Vec<Action>) {
        self.chain = None;
        if self.output.open {
            self.output.open = false;
            self.output.opening = false;
            out.push(Action::CloseOutput);
        }
    }

    pub(super) fn output_ready(&mut self, now: Now, out: &mut Vec<Action>) {
        self.output.opening = false;
        let was_failing = self.output.retry.is_some();
        self.output.ok = true;
        self.output.retry = None;
        if was_failing {
            out.push(Action::Log(Level::Info, "sound output is back".into()));
            out.push(Action::StatusChanged);
            // Time moved on while the output was down: plan the rest of the day anew.
            if self.run.is_none() {
                self.replan(now, out);
            }
        }
    }

    pub(super) fn output_failed(&mut self, now: Now, why: &str, out: &mut Vec<Action>) {
        let backoff = self.output.retry.map_or(TimeDelta::seconds(1), |(_, b)| {
            (b * 2).min(OUTPUT_RETRY_MAX)
        });
        out.push(Action::Log(
            Level::Error,
            format!("{why}; retrying in {}s", backoff.num_seconds()),
        ));
        self.output.ok = false;
        self.output.open = false;
        self.output.opening = false;
        self.output.retry = Some((now.clock + backoff, backoff));
        self.chain = None;
        out.push(Action::StatusChanged);
    }

    /// The output is open and working; else arranges for it (and says false).
    pub(super) fn output_usable(&mut self, now: Now, out: &mut Vec<Action>) -> bool {
        if self.output.open && !self.output.opening && self.output.ok {
            return true;
        }
        if self.output.opening {
            return false;
        }
        if let Some((due, _)) = self.output.retry
            && now.clock < due
        {
            self.wake = Some(due);
            return false;
        }
        self.open_output(out);
        false
    }

    // --- the amplifier --------------------------------------------------------------------

    pub(super) fn amplifier_on(&mut self, now: Now, out: &mut Vec<Action>) {
        if !self.amp_wanted {
            self.amp_wanted = true;
            self.warm_until = Some(now.clock + self.setup.warmup);
            out.push(Action::Amplifier(true));
        }
    }

    pub(super) fn amplifier_off(&mut self, out: &mut Vec<Action>) {
        if self.amp_wanted {
            self.amp_wanted = false;
            self.warm_until = None;
        }
        out.push(Action::Amplifier(false));
    }

    /// The earliest instant sound may be heard (the warmup over), not before `t`.
    pub(super) fn not_before(&self, t: DateTime<Tz>) -> DateTime<Tz> {
        self.warm_until.map_or(t, |w| w.max(t))
    }
}
