//! Emergencies on air (SPEC §3): what is playing gives way with a short fade, the
//! amplifier comes on (its warmup only if it was off), start chime, the bulletin `repeat`
//! times, end chime; then the schedule resumes from a fresh plan in which the item that
//! was cut starts again. A second emergency arriving meanwhile queues behind the first.
//! Which emergencies are due is `core::emergency`'s business.

use chrono::TimeDelta;

use super::{Action, Engine, Level, Now, Play, Purpose, REPEAT_GAP};
use crate::asrun::{Event as Logged, Record};
use crate::catalog::{Priority, Source};
use crate::emergency::Emergency;

use crate::plan::{Kind, PlanItem};
use crate::schedule::MediaFile;

/// One run of emergencies, from the first break-in to the schedule's return.
#[derive(Debug, Clone)]
pub(super) struct Run {
    current: Option<Current>,
    /// Waiting for the item asked for to end.
    busy: bool,
}

#[derive(Debug, Clone)]
struct Current {
    e: Emergency,
    step: Step,
    cancelled: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    StartChime,
    /// Play number n (from 1).
    Play(u32),
    EndChime,
    Done,
}

impl Run {
    pub(super) fn current_id(&self) -> Option<String> {
        self.current.as_ref().map(|c| c.e.bulletin.id.clone())
    }

    /// The item asked for has ended: on to the next step.
    pub(super) fn ended(&mut self) {
        self.busy = false;
        if let Some(c) = &mut self.current {
            c.step = match c.step {
                Step::StartChime => Step::Play(1),
                Step::Play(n) if n < c.e.repeat && !c.cancelled => Step::Play(n + 1),
                Step::Play(_) => Step::EndChime,
                Step::EndChime | Step::Done => Step::Done,
            };
        }
    }

    /// The emergency `id` is withdrawn: its remaining repeats are skipped. True if it was
    /// the one on air.
    pub(super) fn cancel(&mut self, id: &str) -> bool {
        match &mut self.current {
            Some(c) if c.e.bulletin.id == id => {
                c.cancelled = true;
                true
            }
            _ => false,
        }
    }
}

impl Engine {
    /// One step of the emergency run. True when the engine must now wait for an event;
    /// false to look again (a step was taken without sound, or the run is over).
    /// An emergency run begins: whatever the state, the amplifier on and the output open;
    /// nothing planned chains on or falls back under it.
    fn begin_run(&mut self, now: Now, out: &mut Vec<Action>) {
        self.run = Some(Run {
            current: None,
            busy: false,
        });
        self.chain = None;
        self.fallback = None;
        self.amplifier_on(now, out);
        self.open_output(out);
    }

    pub(super) fn emergency_step(&mut self, now: Now, out: &mut Vec<Action>) -> bool {
        if self.run.is_none() {
            self.begin_run(now, out);
        }
        if !self.output_usable(now, out) {
            return true;
        }
        let start_chime = self.setup.start_chime.clone();
        let end_chime = self.setup.end_chime.clone();
        let tz = self.tz();
        let at = self.not_before(now.heard);
        let Some(run) = &mut self.run else {
            return false;
        };
        if run.busy {
            return true;
        }
        let Some(c) = &mut run.current else {
            let Some(e) = self.emergencies.pop_front() else {
                self.finish_run(now, out);
                return false;
            };
            let step = if start_chime.is_some() {
                Step::StartChime
            } else {
                Step::Play(1)
            };
            run.current = Some(Current {
                e,
                step,
                cancelled: false,
            });
            out.push(Action::StatusChanged);
            return false;
        };
        let since = c.e.since.with_timezone(&tz);
        let item = match (c.step, &start_chime, &end_chime) {
            (Step::StartChime, Some(chime), _) => chime_item(
                chime,
                "emergency-start-chime",
                "Emergency start chime",
                since,
            ),
            (Step::Play(_), _, _) if c.cancelled => {
                c.step = Step::EndChime;
                return false;
            }
            (Step::Play(n), _, _) => {
                out.push(Action::Log(
                    Level::Warn,
                    format!("EMERGENCY {}: play {n} of {}", c.e.bulletin.id, c.e.repeat),
                ));
                // Silence between repeats, so listeners hear where one ends; the first
                // play is "scheduled" for when the station took the push (late_ms is the
                // reaction time).
                let start = match n {
                    1 if start_chime.is_none() => since,
                    1 => at,
                    _ => at + REPEAT_GAP,
                };
                let item = repeat_item(&c.e.bulletin, start);
                let at = if n > 1 { start } else { at };
                self.emergency_play(item, at, out);
                return true;
            }
            (Step::EndChime, _, Some(chime)) => {
                chime_item(chime, "emergency-end-chime", "Emergency end chime", at)
            }
            (Step::StartChime, _, _) => {
                c.step = Step::Play(1);
                return false;
            }
            (Step::EndChime, _, _) => {
                c.step = Step::Done;
                return false;
            }
            (Step::Done, _, _) => {
                let id = c.e.bulletin.id.clone();
                run.current = None;
                if self.done_emergencies.insert(id.clone()) {
                    out.push(Action::EmergencyDone(id.clone()));
                }
                out.push(Action::Log(Level::Info, format!("emergency {id} done")));
                out.push(Action::StatusChanged);
                return false;
            }
        };
        self.emergency_play(item, at, out);
        true
    }

    fn emergency_play(
        &mut self,
        item: PlanItem,
        at: chrono::DateTime<chrono_tz::Tz>,
        out: &mut Vec<Action>,
    ) {
        if let Some(run) = &mut self.run {
            run.busy = true;
        }
        self.play(
            Play {
                item,
                at,
                chain: false,
                limit: None,
            },
            Purpose::Emergency,
            out,
        );
    }

    /// Every emergency played: outside session hours the speakers go quiet again; then
    /// the schedule resumes from a fresh plan.
    fn finish_run(&mut self, now: Now, out: &mut Vec<Action>) {
        self.run = None;
        self.chain = None;
        let in_session = self
            .on_air
            .as_ref()
            .is_some_and(|s| s.start <= now.clock && now.clock < s.end);
        if !in_session {
            self.on_air = None;
            self.close_output(out);
            self.amplifier_off(out);
        }
        out.push(Action::StatusChanged);
        // What was due while the emergency played and the fresh plan has no place for (a
        // fixed item whose time passed) is recorded as skipped: the as-run log must say
        // what did not air, not only what did.
        let passed: Vec<PlanItem> = self
            .plan
            .iter()
            .flat_map(|p| p.sessions.iter().flat_map(|s| &s.items))
            .filter(|i| i.kind != Kind::Fill && i.start < now.clock)
            .filter(|i| self.cursor.is_none_or(|c| i.start >= c))
            .cloned()
            .collect();
        self.replan(now, out);
        let ahead: Vec<(&str, Kind)> = self
            .plan
            .iter()
            .flat_map(|p| p.sessions.iter().flat_map(|s| &s.items))
            .map(|i| (i.id.as_str(), i.kind))
            .collect();
        let dropped: Vec<PlanItem> = passed
            .into_iter()
            .filter(|i| !ahead.contains(&(i.id.as_str(), i.kind)))
            .collect();
        for item in dropped {
            out.push(Action::Record(
                Record::new(now.clock, Logged::Skipped)
                    .item(&item)
                    .scheduled(item.start)
                    .reason("an emergency broadcast was on air at its time"),
            ));
        }
    }
}

fn chime_item(
    chime: &MediaFile,
    id: &str,
    title: &str,
    at: chrono::DateTime<chrono_tz::Tz>,
) -> PlanItem {
    PlanItem {
        start: at,
        end: at + chime.duration.max(TimeDelta::zero()),
        kind: Kind::File,
        id: id.to_string(),
        title: title.to_string(),
        campaign: None,
        priority: Priority::Emergency,
        source: Source::Local,
        path: chime.path.to_string_lossy().into_owned(),
        fixed: false,
    }
}

/// One play of an emergency bulletin, heard from `start`.
fn repeat_item(b: &crate::catalog::Bulletin, start: chrono::DateTime<chrono_tz::Tz>) -> PlanItem {
    PlanItem {
        start,
        end: start + b.duration,
        kind: Kind::Bulletin,
        id: b.id.clone(),
        title: b.title.clone(),
        campaign: None,
        priority: Priority::Emergency,
        source: b.source,
        path: b.path.to_string_lossy().into_owned(),
        fixed: false,
    }
}
