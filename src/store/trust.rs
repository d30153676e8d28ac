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

use std::path::PathBuf;
use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::Store;
use super::files::{self, StateError};

/// A clock this far behind the trusted time is reported as wrong: the bound by which
/// the engine holds a clock that went back.
pub const BEHIND_TOLERANCE: TimeDelta = crate::core::engine::clock::BACK_TOLERANCE;

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

fn path(store: &Store) -> PathBuf {
    store.path("trust.json")
}

impl Trust {
    /// Reads the marks, raised by the newest record of the as-run log.
    pub fn open(store: &Store) -> Result<Trust, StateError> {
        let path = path(store);
        let mut marks: Marks = files::read(&path)?;
        marks.trusted_time = marks.trusted_time.max(store.newest_record());
        Ok(Trust {
            path,
            marks: Mutex::new(marks),
            problem: None,
        })
    }

    /// `open`, or when the file is unreadable a trust that refuses everything from
    /// outside (pushes, the feed) until it is repaired, and says why.
    pub fn open_or_refuse(store: &Store) -> Trust {
        Trust::open(store).unwrap_or_else(|e| {
            let why = format!(
                "{e}: pushes and the feed are refused until it is repaired (the broadcast goes on)"
            );
            tracing::error!("{why}");
            Trust {
                path: path(store),
                marks: Mutex::new(Marks {
                    trusted_time: store.newest_record(),
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
    pub fn empty(store: &Store) -> Trust {
        Trust {
            path: path(store),
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
        let store = Store::at(dir.path());
        // The station's last as-run record was at t0.
        store
            .append_record(&crate::core::asrun::Record::new(
                t0.with_timezone(&chrono_tz::UTC),
                crate::core::asrun::Event::AmpOff,
            ))
            .unwrap();
        let trust = Trust::open(&store).unwrap();
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
        let again = Trust::open(&store).unwrap();
        assert_eq!(again.marks().feed_sequence, Some(42));
        assert_eq!(again.marks().trusted_time, Some(t0 + TimeDelta::hours(2)));
        std::fs::write(path(&store), b"{not json").unwrap();
        assert!(matches!(
            Trust::open(&store),
            Err(StateError::Corrupt { .. })
        ));
    }
}
