//! Emergencies on air (SPEC §3): what is playing gives way with a short fade, the
//! amplifier comes on (its warmup only if it was off), start chime, the bulletin `repeat`
//! times, end chime; then the schedule resumes from a fresh plan in which the item that
//! was cut starts again. Which emergencies are due is `crate::core::emergency`'s business.

use chrono::{DateTime, TimeDelta};
use chrono_tz::Tz;

use super::{Engine, REPEAT_GAP};
use crate::core::emergency::Emergency;
use crate::core::planner::{Kind, PlanItem};

impl Engine {
    /// Adds emergencies that became due (a push, the feed, a restart) to the queue.
    pub(super) fn queue_emergencies(&mut self) {
        let due = crate::core::emergency::due(
            &self.config.station.state_dir,
            &self.catalog,
            self.now(),
            self.trust.now(self.clock.now()),
        );
        for e in due {
            let known = self.emergency_on_air.as_ref() == Some(&e.bulletin.id)
                || self
                    .emergencies
                    .iter()
                    .any(|q| q.bulletin.id == e.bulletin.id);
            if !known {
                tracing::warn!(
                    "EMERGENCY {} {:?}: on air at once, {} time(s)",
                    e.bulletin.id,
                    e.bulletin.title,
                    e.repeat
                );
                self.emergencies.push_back(e);
            }
        }
    }

    /// Plays every queued emergency: amplifier on (with its warmup only if it was off),
    /// start chime, the bulletin `repeat` times, end chime. A second emergency arriving
    /// meanwhile is queued and follows. Then the schedule resumes from a fresh plan.
    pub(super) fn run_emergencies(&mut self) {
        self.in_emergency = true;
        self.play_emergencies();
        self.in_emergency = false;
    }

    /// An emergency is queued and none is on air: what plays must give way.
    pub(super) fn emergency_waiting(&self) -> bool {
        !self.in_emergency && !self.emergencies.is_empty()
    }

    fn play_emergencies(&mut self) {
        let was_on = self.amp.is_on();
        self.amp.switch(true);
        if !self.ensure_output() {
            return;
        }
        self.chain = None;
        if !was_on {
            let warm_until = self.now() + self.warmup();
            self.wait_for(warm_until);
        }
        while !self.stopping {
            let Some(e) = self.emergencies.pop_front() else {
                break;
            };
            self.play_emergency(&e);
        }
        self.emergency_on_air = None;
        self.emergency_cancelled = false;
        if self.stopping {
            return;
        }
        let in_session = self
            .on_air
            .as_ref()
            .is_some_and(|s| s.start <= self.now() && self.now() < s.end);
        if !in_session {
            // Outside session hours: the speakers go quiet again.
            self.on_air = None;
            self.chain = None;
            if let Some(sink) = &mut self.sink {
                if let Err(e) = sink.drain() {
                    tracing::warn!("{e}");
                }
                sink.stop();
            }
            self.amp.switch(false);
        }
        self.replan();
    }

    fn play_emergency(&mut self, e: &Emergency) {
        let id = e.bulletin.id.clone();
        self.emergency_on_air = Some(id.clone());
        self.emergency_cancelled = false;
        self.publish_status();
        let since = e.since.with_timezone(&self.tz);
        let chimes = self.config.station.emergency.clone();
        if let Some(chime) = &chimes.start_chime {
            self.play_chime(
                chime,
                "emergency-start-chime",
                "Emergency start chime",
                since,
            );
        }
        for n in 1..=e.repeat {
            if self.stopping || self.emergency_cancelled {
                break;
            }
            if n > 1 {
                let gap_end = self.audible_now() + REPEAT_GAP;
                self.chain = None;
                self.wait_for(gap_end);
            }
            let start = if n == 1 && chimes.start_chime.is_none() {
                since
            } else {
                self.audible_now()
            };
            let item = PlanItem {
                start,
                end: start + e.bulletin.duration,
                kind: Kind::Bulletin,
                id: id.clone(),
                title: e.bulletin.title.clone(),
                campaign: None,
                priority: crate::core::catalog::Priority::Emergency,
                source: e.bulletin.source,
                path: e.bulletin.path.to_string_lossy().into_owned(),
                fixed: false,
            };
            tracing::warn!("EMERGENCY {id}: play {n} of {}", e.repeat);
            self.play_file(&item);
        }
        if self.stopping {
            // Not done: it plays again after the restart if it is still valid.
            return;
        }
        if let Some(chime) = &chimes.end_chime {
            let now = self.audible_now();
            self.play_chime(chime, "emergency-end-chime", "Emergency end chime", now);
        }
        crate::remote::push::mark_emergency_done(&self.config.station.state_dir, &id);
        tracing::info!("emergency {id} done");
    }

    fn play_chime(&mut self, path: &std::path::Path, id: &str, title: &str, at: DateTime<Tz>) {
        let len = self
            .media
            .info(path)
            .map(|i| i.duration())
            .unwrap_or(TimeDelta::seconds(5));
        let item = PlanItem {
            start: at,
            end: at + len,
            kind: Kind::File,
            id: id.to_string(),
            title: title.to_string(),
            campaign: None,
            priority: crate::core::catalog::Priority::Emergency,
            source: crate::core::catalog::Source::Local,
            path: path.to_string_lossy().into_owned(),
            fixed: false,
        };
        self.play_file(&item);
    }
}
