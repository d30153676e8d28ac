//! The planned program: the day's plan, the next item due, sessions on and off air,
//! and filler in the place of what could not play.

use chrono::{DateTime, NaiveTime, TimeDelta};
use chrono_tz::Tz;

use super::{Action, Engine, GRACE, LEAD, Level, MIN_FILL, Now, OnAir, Play, Purpose};
use crate::asrun::{Event as Logged, Record};
use crate::emergency::Emergency;
use crate::plan::{Kind, PlanItem, Played};
use crate::planner::{PlanInput, plan_day};
use crate::schedule::local;

/// Why an item the engine did not get to in time was skipped.
const LATE: &str = "its time passed while the station could not play";

impl Engine {
    /// One step of the program. True when the engine must now wait for an event (or its
    /// wake time); false to look again.
    pub(super) fn program_step(&mut self, now: Now, out: &mut Vec<Action>) -> bool {
        if let Some((setup, catalog, output_changed)) = self.pending.take() {
            out.push(Action::Log(Level::Info, "configuration reloaded".into()));
            self.setup = *setup;
            self.catalog = *catalog;
            if output_changed {
                self.end_session(out);
                self.close_output(out);
            }
            self.replan(now, out);
            return false;
        }
        let today = now.clock.date_naive();
        if std::mem::take(&mut self.replan_wanted)
            || self.plan.as_ref().is_none_or(|p| p.date != today)
        {
            self.replan(now, out);
        }
        if let Some(until) = self.fallback {
            if self.fill_step(now, until, out) {
                return true;
            }
            self.fallback = None;
        }
        let Some((session, item)) = self.next_item(now, out) else {
            self.end_session(out);
            self.wake = Some(self.next_midnight(now.clock));
            return true;
        };
        if self.on_air.as_ref().is_some_and(|a| *a != session) {
            self.end_session(out);
        }
        if self.on_air.is_none() {
            let lead = self.setup.warmup + LEAD;
            if item.start - lead > now.clock {
                self.wake = Some(item.start - lead);
                return true;
            }
            out.push(Action::Log(
                Level::Info,
                format!("session {} on air", session.name),
            ));
            self.on_air = Some(session);
            self.amplifier_on(now, out);
            self.open_output(out);
            out.push(Action::StatusChanged);
            return false;
        }
        if !self.output_usable(now, out) {
            return true;
        }
        let chain = !item.fixed && self.chain == Some(item.start);
        let limit = self.limit_for(&item);
        let at = self.not_before(item.start);
        self.play(
            Play {
                item,
                at,
                chain,
                limit,
            },
            Purpose::Planned,
            out,
        );
        true
    }

    /// The next filler in the place of something that could not play, until `until`.
    /// False when there is none to play (no `[fill]`, the slot is over, every file failed).
    fn fill_step(&mut self, now: Now, until: DateTime<Tz>, out: &mut Vec<Action>) -> bool {
        let Some(fill) = self.setup.schedule.fill.clone() else {
            // Silence until the slot is over.
            if until > now.clock {
                self.wake = Some(until);
                return true;
            }
            return false;
        };
        let until = match self.setup.quiet_hours.and_then(|q| q.next_start(now.heard)) {
            Some(q) if q < until => q,
            _ => until,
        };
        if until - now.heard < MIN_FILL || self.fill_failures >= fill.files.len() {
            self.fill_failures = 0;
            return false;
        }
        if !self.output_usable(now, out) {
            return true;
        }
        let f = &fill.files[self.fill_next % fill.files.len()];
        self.fill_next += 1;
        let start = now.heard;
        let item =
            PlanItem::from_media(Kind::Fill, f, None, start, (start + f.duration).min(until));
        let limit = Some(item.end);
        self.play(
            Play {
                item,
                at: start,
                chain: true,
                limit,
            },
            Purpose::Filler,
            out,
        );
        true
    }

    /// Plans the rest of today from now. An item an emergency broke into plays again
    /// from its start, now: the planner sees it as played, so it neither places it twice
    /// nor lets it collide.
    pub(super) fn replan(&mut self, now: Now, out: &mut Vec<Action>) {
        let date = now.clock.date_naive();
        if date != self.history_date {
            // A new day: yesterday's plays count for rotation only.
            for p in std::mem::take(&mut self.history.today) {
                if p.kind == Kind::Bulletin {
                    *self.history.earlier_counts.entry(p.id).or_default() += 1;
                }
            }
            self.history_date = date;
        }
        let mut history = self.history.clone();
        let resume = self
            .resume
            .take()
            .filter(|(_, s)| now.clock < s.end && s.start.date_naive() == date);
        if let Some((item, _)) = &resume {
            history.today.push(Played {
                id: item.id.clone(),
                kind: item.kind,
                campaign: item.campaign.clone(),
                start: now.clock,
                end: now.clock + item.duration(),
            });
        }
        let mut plan = plan_day(&PlanInput {
            station_id: &self.setup.station_id,
            schedule: &self.setup.schedule,
            catalog: &self.catalog,
            date,
            history: &history,
            not_before: Some(now.clock),
        });
        if let Some((mut item, session)) = resume {
            let len = item.duration();
            let home = plan
                .sessions
                .iter_mut()
                .find(|s| s.name == session.name && s.start == session.start);
            match home {
                Some(s) => {
                    out.push(Action::Log(
                        Level::Info,
                        format!(
                            "{} {} restarts after the emergency",
                            item.kind.as_str(),
                            item.id
                        ),
                    ));
                    item.start = now.clock;
                    item.end = now.clock + len;
                    item.fixed = false;
                    s.items.insert(0, item);
                }
                None => out.push(Action::Log(
                    Level::Info,
                    format!(
                        "{} {}: no time left in its session to restart it",
                        item.kind.as_str(),
                        item.id
                    ),
                )),
            }
        }
        for w in &plan.warnings {
            out.push(Action::Log(Level::Warn, format!("plan {date}: {w}")));
        }
        let items: usize = plan.sessions.iter().map(|s| s.items.len()).sum();
        out.push(Action::Log(
            Level::Info,
            format!(
                "planned {date}: {} sessions, {items} items ahead",
                plan.sessions.len()
            ),
        ));
        self.plan = Some(plan);
        self.cursor = None;
        out.push(Action::StatusChanged);
    }

    /// The next item still to play, with its session. Items missed by more than the grace
    /// window are logged as skipped.
    fn next_item(&mut self, now: Now, out: &mut Vec<Action>) -> Option<(OnAir, PlanItem)> {
        let plan = self.plan.as_ref()?;
        let mut skipped = Vec::new();
        let mut found = None;
        let quiet = self.setup.quiet_hours;
        'sessions: for s in &plan.sessions {
            for item in &s.items {
                if self.cursor.is_some_and(|c| item.start < c) {
                    continue;
                }
                let over = item.end <= now.clock || s.end <= now.clock;
                let too_late = item.kind != Kind::Relay && now.clock - item.start > GRACE;
                if over || too_late {
                    if item.kind != Kind::Fill {
                        skipped.push((item.clone(), LATE.to_string()));
                    }
                    continue;
                }
                // Whatever the plan says, nothing but an emergency sounds in quiet hours.
                if let Some(q) = quiet.filter(|q| q.contains(item.start.max(now.clock))) {
                    skipped.push((
                        item.clone(),
                        format!("quiet hours {q}: only an emergency may sound then"),
                    ));
                    continue;
                }
                found = Some((
                    OnAir {
                        name: s.name.clone(),
                        start: s.start,
                        end: s.end,
                    },
                    item.clone(),
                ));
                break 'sessions;
            }
        }
        for (item, why) in skipped {
            out.push(Action::Record(
                Record::new(now.clock, Logged::Skipped)
                    .item(&item)
                    .scheduled(item.start)
                    .reason(&why),
            ));
            self.cursor = Some(item.end);
        }
        found
    }

    /// Where an item must stop at the latest: its own end if it is cut (fill, relay), else
    /// the next fixed item or the session's end.
    fn limit_for(&self, item: &PlanItem) -> Option<DateTime<Tz>> {
        let limit = self.plan_limit(item);
        // Quiet hours begin: whatever plays is cut there.
        let quiet = self
            .setup
            .quiet_hours
            .and_then(|q| q.next_start(item.start));
        match (limit, quiet) {
            (Some(l), Some(q)) => Some(l.min(q)),
            (None, Some(q)) if q < item.end => Some(q),
            (l, _) => l,
        }
    }

    fn plan_limit(&self, item: &PlanItem) -> Option<DateTime<Tz>> {
        if matches!(item.kind, Kind::Fill | Kind::Relay) {
            return Some(item.end);
        }
        let plan = self.plan.as_ref()?;
        let session = plan
            .sessions
            .iter()
            .find(|s| s.items.iter().any(|i| i == item))?;
        let next_fixed = session
            .items
            .iter()
            .filter(|i| i.fixed && i.start > item.start)
            .map(|i| i.start)
            .min();
        Some(next_fixed.unwrap_or(session.end).min(session.end))
    }

    fn next_midnight(&self, now: DateTime<Tz>) -> DateTime<Tz> {
        now.date_naive()
            .succ_opt()
            .and_then(|d| local(self.tz(), d, NaiveTime::MIN))
            .unwrap_or(now + TimeDelta::hours(1))
    }

    /// Adds emergencies that became due to the queue (those not known already).
    pub(super) fn queue(&mut self, due: Vec<Emergency>, out: &mut Vec<Action>) {
        for e in due {
            let id = &e.bulletin.id;
            let known = self.done_emergencies.contains(id)
                || self
                    .run
                    .as_ref()
                    .is_some_and(|r| r.current_id().as_ref() == Some(id))
                || self.emergencies.iter().any(|q| &q.bulletin.id == id);
            if !known {
                out.push(Action::Log(
                    Level::Warn,
                    format!(
                        "EMERGENCY {} {:?}: on air at once, {} time(s)",
                        e.bulletin.id, e.bulletin.title, e.repeat
                    ),
                ));
                self.emergencies.push_back(e);
                out.push(Action::StatusChanged);
            }
        }
    }
}
