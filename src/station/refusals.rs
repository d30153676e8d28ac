//! Refusals (of pushes, feed manifests and files) as the station records them: every one
//! is counted in `/metrics`, but only so many reach the daemon's log and the as-run log,
//! and each record is small (SPEC §11): someone who sends a thousand bad pushes a second
//! must not fill the disk, or bury the proof of what played.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta};
use chrono_tz::Tz;

use crate::core::asrun::{Event, Record};
use crate::core::status::Refusal;
use crate::store::asrun::AsRunLog;

/// At most this many refusals are written per minute, and per day (a day of flooding
/// at the minute's rate would be 86,400 records)…
pub const PER_MINUTE: u32 = 60;
pub const PER_DAY: u32 = 1000;
/// …each as an as-run line of at most this many bytes.
pub const MAX_RECORD_BYTES: usize = 1024;

pub struct Refusals {
    asrun: Arc<AsRunLog>,
    /// What has been written lately, against the budgets.
    window: Mutex<Window>,
    unrecorded: AtomicU64,
    /// The newest refusal, recorded or not, for the status and the station page.
    last: Mutex<Option<Refusal>>,
}

impl Refusals {
    pub fn new(asrun: Arc<AsRunLog>) -> Refusals {
        Refusals {
            asrun,
            window: Mutex::new(Window::default()),
            unrecorded: AtomicU64::new(0),
            last: Mutex::new(None),
        }
    }

    /// Refusals counted but not written (they came too fast).
    pub fn unrecorded(&self) -> u64 {
        self.unrecorded.load(Ordering::Relaxed)
    }

    /// The newest refusal since the daemon started.
    pub fn last(&self) -> Option<Refusal> {
        self.last.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// One refusal from `source` ("push", "feed"), for `reason` (a metrics label).
    /// Returns whether it was recorded (false: over the minute's budget, only counted).
    pub fn record(&self, now: DateTime<Tz>, source: &str, reason: &str, message: &str) -> bool {
        crate::metrics::rejected(source, reason);
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some(Refusal {
            at: now,
            source: source.to_string(),
            reason: crate::core::text::shorten(reason, 40),
            message: crate::core::text::shorten(message, 300),
        });
        let allowed = self
            .window
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .allow(now);
        if !allowed {
            if self
                .unrecorded
                .fetch_add(1, Ordering::Relaxed)
                .is_multiple_of(1000)
            {
                tracing::warn!(
                    "refusals are coming faster than {PER_MINUTE} a minute or {PER_DAY} a day; the rest are only counted (loaxa_rejections_unrecorded_total)"
                );
            }
            crate::metrics::rejection_unrecorded();
            return false;
        }
        let line = crate::core::text::shorten(message, 900);
        tracing::warn!("{line}");
        self.asrun
            .log(&bounded(Record::new(now, Event::Rejected), &line));
        true
    }
}

/// Refusals written in the current minute and on the current day.
#[derive(Default)]
struct Window {
    minute: Option<(DateTime<Tz>, u32)>,
    day: Option<(chrono::NaiveDate, u32)>,
}

impl Window {
    /// Counts one refusal at `now`: whether it may be written.
    fn allow(&mut self, now: DateTime<Tz>) -> bool {
        let today = now.date_naive();
        let in_day = match &mut self.day {
            Some((d, n)) if *d == today => n,
            _ => &mut self.day.insert((today, 0)).1,
        };
        if *in_day >= PER_DAY {
            return false;
        }
        let in_minute = match &mut self.minute {
            Some((start, n)) if now - *start < TimeDelta::minutes(1) && now >= *start => n,
            _ => &mut self.minute.insert((now, 0)).1,
        };
        if *in_minute >= PER_MINUTE {
            return false;
        }
        *in_minute += 1;
        *in_day += 1;
        true
    }
}

/// The record with as much of `reason` as keeps its JSON line within the bound.
fn bounded(record: Record, reason: &str) -> Record {
    let mut budget = reason.len();
    loop {
        let r = record
            .clone()
            .reason(crate::core::text::clip_bytes(reason, budget));
        let size = serde_json::to_vec(&r).map_or(usize::MAX, |v| v.len() + 1);
        if size <= MAX_RECORD_BYTES || budget == 0 {
            return r;
        }
        budget = budget.saturating_sub((size - MAX_RECORD_BYTES).max(budget / 4).max(8));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_small_and_few() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::at(dir.path());
        let log = Arc::new(AsRunLog::new(&store));
        let refusals = Refusals::new(log);
        let tz = chrono_tz::Asia::Ho_Chi_Minh;
        let t0 = chrono::TimeZone::with_ymd_and_hms(&tz, 2021, 10, 1, 9, 0, 0).unwrap();
        let huge = "\"".repeat(5_000_000);
        for i in 0..200 {
            refusals.record(
                t0 + TimeDelta::milliseconds(i * 10),
                "push",
                "malformed",
                &huge,
            );
        }
        // A minute later the window opens again.
        refusals.record(t0 + TimeDelta::seconds(61), "push", "malformed", "later");
        let file = store.asrun_file(t0.date_naive());
        let text = std::fs::read_to_string(file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), PER_MINUTE as usize + 1);
        assert!(
            lines.iter().all(|l| l.len() < MAX_RECORD_BYTES),
            "{}",
            lines[0].len()
        );
        assert!(
            lines[0].contains("\\\"\\\""),
            "the reason is kept, cut short"
        );
        assert_eq!(refusals.unrecorded(), 200 - u64::from(PER_MINUTE));
    }

    #[test]
    fn a_day_of_flooding_writes_at_most_the_days_budget() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::at(dir.path());
        let refusals = Refusals::new(Arc::new(AsRunLog::new(&store)));
        let tz = chrono_tz::Asia::Ho_Chi_Minh;
        let t0 = chrono::TimeZone::with_ymd_and_hms(&tz, 2021, 10, 1, 0, 0, 0).unwrap();
        // Two a second all day: the minute's budget alone would let 60 × 1,440 through.
        for s in 0..86_400 / 30 {
            for k in 0..60 {
                let at = t0 + TimeDelta::seconds(s * 30) + TimeDelta::milliseconds(k * 400);
                refusals.record(at, "fleet", "signature", "forged");
            }
        }
        let lines = |d| {
            std::fs::read_to_string(store.asrun_file(d))
                .unwrap_or_default()
                .lines()
                .count()
        };
        assert_eq!(lines(t0.date_naive()), PER_DAY as usize);
        // The next day has its own budget.
        let next = t0 + TimeDelta::days(1) + TimeDelta::hours(1);
        assert!(refusals.record(next, "fleet", "signature", "forged"));
        assert_eq!(lines(next.date_naive()), 1);
    }
}
