//! A clock that steps. NTP may step it by minutes or hours; a PC with a dead CMOS
//! battery boots in the year 2000. Whatever it shows, the station must not replay what
//! played, play the past, or wake the village at night.
//!
//! - Forward (the driver sees it against its monotonic clock): recorded, and the rest
//!   of the day planned again from the new now; what was due in the skipped span is
//!   skipped, not played late.
//! - Back, or before `clock_floor()`: recorded, and the station *holds*: what plays is
//!   faded out, the amplifier goes off, nothing planned plays (an emergency still
//!   does) until the clock again reaches the latest time it had shown. Then the day is
//!   planned from there, with what already played on it.

use chrono::{DateTime, NaiveDate, TimeDelta};
use chrono_tz::Tz;

use super::{Action, Engine, Level, Now, Purpose};
use crate::asrun::{Event as Logged, Record};
use crate::plan::History;
use crate::units::format_duration as exact;

/// A step, to the nearest second (the two clocks are read a moment apart).
fn format_duration(d: TimeDelta) -> String {
    exact(TimeDelta::seconds(
        (d.num_milliseconds() + 500).div_euclid(1000),
    ))
}

/// No clock earlier than this is believed: loaxa did not run before it. The daemon sets
/// it on the real clock only; a rehearsal's clock is set to the past on purpose.
pub fn clock_floor() -> DateTime<chrono::Utc> {
    NaiveDate::from_ymd_opt(2025, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map_or(DateTime::UNIX_EPOCH, |t| t.and_utc())
}

/// A clock this far behind the latest it showed (or the newest trusted time) went back:
/// smaller steps are slewing, or the seconds a signed message may be dated ahead. The
/// store's trust marks judge "the clock is behind" by the same bound.
pub const BACK_TOLERANCE: TimeDelta = TimeDelta::seconds(60);
/// A step smaller than this is not worth a record.
pub const JUMP_MIN: TimeDelta = TimeDelta::seconds(5);

/// A step of the clock: logged, and written in the as-run log at the time it shows.
fn record_step(t: DateTime<Tz>, why: String, out: &mut Vec<Action>) {
    out.push(Action::Log(Level::Warn, why.clone()));
    out.push(Action::Record(
        Record::new(t, Logged::ClockJump).reason(why),
    ));
}

impl Engine {
    /// Notices a clock that went back (or is before the floor) and holds; lets go once it
    /// has caught up.
    pub(super) fn watch_clock(&mut self, now: Now, out: &mut Vec<Action>) {
        let t = now.clock;
        let floor = self.floor;
        let before_floor = floor.is_some_and(|f| t < f);
        let back = self.latest.is_some_and(|l| t < l - BACK_TOLERANCE);
        let untrusted = before_floor || back;
        match (self.held, untrusted) {
            (None, true) => {
                let until = self.latest.max(floor).unwrap_or(t);
                let why = if before_floor {
                    format!(
                        "the clock shows {}, before loaxa existed (a dead CMOS battery?): nothing but an emergency plays until it is set",
                        t.format("%Y-%m-%d %H:%M:%S")
                    )
                } else {
                    format!(
                        "the clock went back {} (to {}): nothing but an emergency plays until it reaches {} again",
                        format_duration(until - t),
                        t.format("%Y-%m-%d %H:%M:%S"),
                        until.format("%Y-%m-%d %H:%M:%S")
                    )
                };
                record_step(t, why, out);
                self.held = Some(until);
                self.cancel_unstarted("the clock went back", out);
                out.push(Action::StatusChanged);
            }
            (Some(until), false) => {
                self.held = None;
                self.replan_wanted = true;
                out.push(Action::Log(
                    Level::Info,
                    format!(
                        "the clock is believed again ({}; held for {}): planning from now",
                        t.format("%Y-%m-%d %H:%M:%S"),
                        until.format("%Y-%m-%d %H:%M:%S")
                    ),
                ));
                out.push(Action::StatusChanged);
            }
            _ => {}
        }
        if !untrusted {
            self.latest = Some(self.latest.map_or(t, |l| l.max(t)));
        }
    }

    /// The driver saw the clock step. A step forward is recorded and re-plans; a step
    /// back is caught by `watch_clock`. Either way the history of the day the clock now
    /// shows replaces the engine's if the date changed.
    pub(super) fn clock_jumped(
        &mut self,
        now: Now,
        by: TimeDelta,
        history: History,
        out: &mut Vec<Action>,
    ) {
        let date = now.clock.date_naive();
        if date != self.history_date {
            self.history = history;
            self.history_date = date;
        }
        if by <= -JUMP_MIN && self.held.is_some() {
            // Already held: `watch_clock` records only a hold's start, so say it here.
            let why = format!(
                "the clock went back {} more (to {}) while held: still nothing but an emergency plays",
                format_duration(-by),
                now.clock.format("%Y-%m-%d %H:%M:%S")
            );
            record_step(now.clock, why, out);
        }
        if by >= JUMP_MIN && self.floor.is_none_or(|f| now.clock >= f) {
            let why = format!(
                "the clock jumped forward {} (to {}): what was due meanwhile is skipped, not played late",
                format_duration(by),
                now.clock.format("%Y-%m-%d %H:%M:%S")
            );
            record_step(now.clock, why, out);
            self.replan_wanted = true;
            self.cancel_unstarted("the clock jumped", out);
            // What plays belongs to a time now past (its slot or its session is over).
            let past = self.playing.as_ref().is_some_and(|p| {
                p.purpose != Purpose::Emergency
                    && p.stopping.is_none()
                    && p.started.is_some()
                    && (p.item.end <= now.clock
                        || self.on_air.as_ref().is_some_and(|s| s.end <= now.clock))
            });
            if past {
                self.stop("the clock jumped past its time", out);
            }
        }
    }

    /// Holding: the session (if any) goes off air; only emergencies are looked at.
    pub(super) fn hold_step(&mut self, now: Now, out: &mut Vec<Action>) {
        self.end_session(out);
        if self.amp_wanted {
            self.amplifier_off(out);
        }
        // Check again soon: the clock may be set at any moment.
        self.wake = Some(now.clock + TimeDelta::seconds(1));
    }
}
