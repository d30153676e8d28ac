//! What the station has learnt about time and the feed that no clock fault or lost file
//! may take back (SPEC §11), kept in `<state>/trust.json`:
//!
//! - the newest trusted time: the latest `issued_at` of an accepted push, `generated_at`
//!   of an accepted feed manifest, or as-run record. A station whose clock runs behind it
//!   (a dead CMOS battery, a wrong NTP step) never judges expiry on that clock: a push
//!   that expired yesterday stays expired even if the clock says last year. It says so
//!   loudly, in the log and in its status.
//! - the highest feed sequence accepted, kept apart from the feed's own state file so a
//!   lost or deleted feed state does not reopen the door to an old, replayed manifest.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::store::files::{self, StateError};

/// A clock this far behind the trusted time is reported as wrong.
pub const BEHIND_TOLERANCE: TimeDelta = TimeDelta::seconds(60);

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Marks {
    pub trusted_time: Option<DateTime<Utc>>,
    pub feed_sequence: Option<u64>,
}

pub struct Trust {
    path: PathBuf,
    marks: Mutex<Marks>,
    /// Why the marks could not be read: then nothing new is accepted from outside.
    problem: Option<String>,
}

pub fn path(state_dir: &Path) -> PathBuf {
    state_dir.join("trust.json")
}

impl Trust {
    /// Reads the marks, raised by the newest as-run record (`asrun_newest`).
    pub fn open(
        state_dir: &Path,
        asrun_newest: Option<DateTime<Utc>>,
    ) -> Result<Trust, StateError> {
        let path = path(state_dir);
        let mut marks: Marks = files::read(&path)?;
        marks.trusted_time = marks.trusted_time.max(asrun_newest);
        Ok(Trust {
            path,
            marks: Mutex::new(marks),
            problem: None,
        })
    }

    /// `open`, or when the file is unreadable a trust that refuses everything from
    /// outside (pushes, the feed) until it is repaired, and says why.
    pub fn open_or_refuse(state_dir: &Path, asrun_newest: Option<DateTime<Utc>>) -> Trust {
        Trust::open(state_dir, asrun_newest).unwrap_or_else(|e| {
            let why = format!(
                "{e}: pushes and the feed are refused until it is repaired (the broadcast goes on)"
            );
            tracing::error!("{why}");
            Trust {
                path: path(state_dir),
                marks: Mutex::new(Marks {
                    trusted_time: asrun_newest,
                    feed_sequence: None,
                }),
                problem: Some(why),
            }
        })
    }

    pub fn problem(&self) -> Option<&str> {
        self.problem.as_deref()
    }

    /// A trust that starts from nothing (tests, one-shot commands).
    pub fn empty(state_dir: &Path) -> Trust {
        Trust {
            path: path(state_dir),
            marks: Mutex::new(Marks::default()),
            problem: None,
        }
    }

    pub fn marks(&self) -> Marks {
        *self.marks.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The time to judge validity by: the clock, or the trusted time if the clock is behind it.
    pub fn now(&self, clock: DateTime<Utc>) -> DateTime<Utc> {
        self.marks().trusted_time.map_or(clock, |t| t.max(clock))
    }

    /// How far the clock is behind the trusted time, when it is more than the tolerance.
    pub fn clock_behind(&self, clock: DateTime<Utc>) -> Option<TimeDelta> {
        let t = self.marks().trusted_time?;
        (t - clock > BEHIND_TOLERANCE).then(|| t - clock)
    }

    /// Something trustworthy happened at `t` (an as-run record): remembered in memory;
    /// the as-run log itself keeps it across restarts.
    pub fn saw(&self, t: DateTime<Utc>) {
        let mut m = self.marks.lock().unwrap_or_else(|p| p.into_inner());
        m.trusted_time = m.trusted_time.max(Some(t));
    }

    /// A signed message dated `t` was accepted: remembered and saved.
    pub fn saw_signed(&self, t: DateTime<Utc>) -> Result<(), StateError> {
        self.change(|m| m.trusted_time = m.trusted_time.max(Some(t)))
    }

    /// A feed manifest with `sequence` was accepted.
    pub fn accepted_feed(
        &self,
        sequence: u64,
        generated: Option<DateTime<Utc>>,
    ) -> Result<(), StateError> {
        self.change(|m| {
            m.feed_sequence = m.feed_sequence.max(Some(sequence));
            m.trusted_time = m.trusted_time.max(generated);
        })
    }

    fn change(&self, f: impl FnOnce(&mut Marks)) -> Result<(), StateError> {
        if self.problem.is_some() {
            // Never overwrite the unreadable file: it is evidence.
            return Ok(());
        }
        let mut m = self.marks.lock().unwrap_or_else(|p| p.into_inner());
        let before = *m;
        f(&mut m);
        if *m == before {
            return Ok(());
        }
        // What is on disk may be ahead of us (another process): never lower it.
        let stored: Marks = files::read(&self.path).unwrap_or_default();
        m.trusted_time = m.trusted_time.max(stored.trusted_time);
        m.feed_sequence = m.feed_sequence.max(stored.feed_sequence);
        files::write(&self.path, &*m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_only_rise_and_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let t0 = DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
            .unwrap()
            .to_utc();
        let trust = Trust::open(dir.path(), Some(t0)).unwrap();
        assert_eq!(
            trust.now(t0 - TimeDelta::days(9000)),
            t0,
            "a clock in 2002 is not believed"
        );
        assert_eq!(
            trust.now(t0 + TimeDelta::hours(1)),
            t0 + TimeDelta::hours(1)
        );
        assert!(trust.clock_behind(t0 - TimeDelta::hours(2)).is_some());
        assert!(trust.clock_behind(t0 - TimeDelta::seconds(5)).is_none());
        trust
            .accepted_feed(42, Some(t0 + TimeDelta::hours(2)))
            .unwrap();
        trust.accepted_feed(7, None).unwrap();
        trust.saw_signed(t0).unwrap();
        let again = Trust::open(dir.path(), None).unwrap();
        assert_eq!(again.marks().feed_sequence, Some(42));
        assert_eq!(again.marks().trusted_time, Some(t0 + TimeDelta::hours(2)));
        std::fs::write(path(dir.path()), b"{not json").unwrap();
        assert!(matches!(
            Trust::open(dir.path(), None),
            Err(StateError::Corrupt { .. })
        ));
    }
}
