//! The as-run log's records (SPEC §9): what played, and what a restarted daemon continues
//! from. Where they are kept is `store::asrun`'s business.

use std::collections::HashMap;

use chrono::DateTime;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::plan::{Kind, PlanItem, Played};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    Start,
    End,
    Interrupted,
    Failed,
    Skipped,
    AmpOn,
    AmpOff,
    Rejected,
    /// The clock stepped (SPEC §12): forward, back, or to a time that cannot be true.
    ClockJump,
    /// Dead air (SPEC §14): on air, yet the monitor input heard silence for `silence_for`.
    Silence,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    #[serde(with = "crate::timefmt::ms")]
    pub ts: DateTime<Tz>,
    pub event: Event,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<PlanItem>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::timefmt::opt_ms"
    )]
    pub scheduled: Option<DateTime<Tz>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// On an `end`, with `[monitor]`: what the monitor input heard of it (SPEC §14).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heard: Option<Heard>,
}

/// Proof of air: did the monitor input hear the item?
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Heard {
    /// What came back follows what was sent.
    Yes,
    /// Dead air while it played, or most of it came back below `silence_below`.
    Silent,
    /// Sound came back, but not this item's (another file or source), or far too quiet.
    Mismatch,
}

impl Record {
    pub fn new(ts: DateTime<Tz>, event: Event) -> Self {
        Record {
            ts: round_ms(ts),
            event,
            item: None,
            scheduled: None,
            late_ms: None,
            reason: None,
            heard: None,
        }
    }

    pub fn item(mut self, item: &PlanItem) -> Self {
        self.item = Some(item.clone());
        self
    }

    pub fn scheduled(mut self, at: DateTime<Tz>) -> Self {
        self.late_ms = Some((self.ts - at).num_milliseconds());
        self.scheduled = Some(at);
        self
    }

    pub fn reason(mut self, why: impl Into<String>) -> Self {
        self.reason = Some(why.into());
        self
    }
}

/// Times in the log have millisecond precision.
pub fn round_ms(t: DateTime<Tz>) -> DateTime<Tz> {
    let ns = t.timestamp_subsec_nanos() % 1_000_000;
    t - chrono::TimeDelta::nanoseconds(i64::from(ns))
}

/// The same record with every time in `tz` (records are read back in any zone).
pub fn rezone(r: &mut Record, tz: Tz) {
    r.ts = r.ts.with_timezone(&tz);
    r.scheduled = r.scheduled.map(|t| t.with_timezone(&tz));
    if let Some(item) = &mut r.item {
        item.start = item.start.with_timezone(&tz);
        item.end = item.end.with_timezone(&tz);
    }
}

/// The plays that finished, from one day's records: each `end` paired with its `start`.
pub fn completed_plays(records: &[Record]) -> Vec<Played> {
    let mut started: HashMap<(&str, Kind), DateTime<Tz>> = HashMap::new();
    let mut out = Vec::new();
    for r in records {
        let Some(item) = &r.item else { continue };
        let key = (item.id.as_str(), item.kind);
        match r.event {
            Event::Start => {
                started.insert(key, r.ts);
            }
            Event::End => out.push(Played {
                id: item.id.clone(),
                kind: item.kind,
                campaign: item.campaign.clone(),
                start: started.remove(&key).unwrap_or(r.ts),
                end: r.ts,
            }),
            _ => {}
        }
    }
    out
}

/// Items that started and never ended, interrupted or failed: the daemon was killed.
pub fn unfinished(records: &[Record]) -> Vec<PlanItem> {
    let mut open: Vec<&PlanItem> = Vec::new();
    for r in records {
        let Some(item) = &r.item else { continue };
        match r.event {
            Event::Start => open.push(item),
            Event::End | Event::Interrupted | Event::Failed => {
                open.retain(|o| !(o.id == item.id && o.kind == item.kind && o.start == item.start));
            }
            _ => {}
        }
    }
    open.into_iter().cloned().collect()
}
