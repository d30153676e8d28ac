//! The as-run log's files: `<state>/asrun/YYYY-MM-DD.jsonl`, one JSON record a line
//! (SPEC §9), each flushed and synced as it is written.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;

use chrono::{DateTime, NaiveDate};
use chrono_tz::Tz;

use super::Store;
use crate::core::asrun::{Record, completed_plays, rezone};
use crate::core::plan::{History, Kind};

impl Store {
    /// The file of one day's log.
    pub fn asrun_file(&self, date: NaiveDate) -> PathBuf {
        self.path("asrun")
            .join(format!("{}.jsonl", date.format("%Y-%m-%d")))
    }

    /// The days the log has a file for, oldest first.
    pub fn asrun_days(&self) -> Vec<NaiveDate> {
        let mut days: Vec<NaiveDate> = std::fs::read_dir(self.path("asrun"))
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                NaiveDate::parse_from_str(name.strip_suffix(".jsonl")?, "%Y-%m-%d").ok()
            })
            .collect();
        days.sort();
        days
    }

    /// Reads one day's log. A line that does not parse (a torn last line after a power
    /// cut) is skipped with a warning: the rest of the day's proof stands.
    pub fn read_day(&self, date: NaiveDate, tz: Tz) -> Vec<Record> {
        read_day(self, date, tz)
    }

    /// The history a plan of `date` needs: that day's finished plays, and how often each
    /// bulletin played on the days before (for rotation).
    pub fn history(&self, date: NaiveDate, tz: Tz) -> History {
        history(self, date, tz)
    }

    /// The time of the newest record in the log (of its latest day), if any.
    pub fn newest_record(&self) -> Option<DateTime<chrono::Utc>> {
        let latest = *self.asrun_days().last()?;
        read_day(self, latest, chrono_tz::UTC)
            .iter()
            .map(|r| r.ts.to_utc())
            .max()
    }

    /// Appends one record to the file of its own (local) date, flushed and synced before
    /// this returns: the proof survives a power cut.
    pub fn append_record(&self, record: &Record) -> std::io::Result<()> {
        use std::io::Write;
        crate::sys::fs::count_write();
        let path = self.asrun_file(record.ts.date_naive());
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut line = serde_json::to_vec(record).map_err(std::io::Error::other)?;
        line.push(b'\n');
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        file.write_all(&line)?;
        file.sync_data()
    }
}

fn read_day(store: &Store, date: NaiveDate, tz: Tz) -> Vec<Record> {
    let path = store.asrun_file(date);
    let Ok(file) = std::fs::File::open(&path) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Record>(&line) {
            Ok(mut r) => {
                rezone(&mut r, tz);
                out.push(r);
            }
            Err(e) => tracing::warn!(
                "{}:{}: unreadable as-run line skipped: {e}",
                path.display(),
                n + 1
            ),
        }
    }
    out
}

fn history(store: &Store, date: NaiveDate, tz: Tz) -> History {
    let today = completed_plays(&read_day(store, date, tz));
    let mut earlier_counts: HashMap<String, u32> = HashMap::new();
    for day in store.asrun_days().into_iter().filter(|d| *d < date) {
        for p in completed_plays(&read_day(store, day, tz)) {
            if p.kind == Kind::Bulletin {
                *earlier_counts.entry(p.id).or_default() += 1;
            }
        }
    }
    History {
        today,
        earlier_counts,
    }
}

/// Appends records to the day files, each flushed and synced before `log` returns, so
/// the proof survives a power cut and a restarted daemon knows exactly what played.
pub struct AsRunLog {
    store: Store,
    lock: std::sync::Mutex<()>,
    /// Told the time of every record: proof that the clock has been there.
    trust: Option<std::sync::Arc<crate::store::trust::Trust>>,
    /// Told every record written, for whoever reports them (the fleet channel's acks).
    tap: Option<tokio::sync::broadcast::Sender<Record>>,
}

impl AsRunLog {
    pub fn new(store: &Store) -> Self {
        AsRunLog {
            store: store.clone(),
            lock: std::sync::Mutex::new(()),
            trust: None,
            tap: None,
        }
    }

    /// Every record logged is also sent here (a slow receiver misses some; the log
    /// itself never waits).
    pub fn with_tap(mut self, tap: tokio::sync::broadcast::Sender<Record>) -> Self {
        self.tap = Some(tap);
        self
    }

    pub fn with_trust(mut self, trust: std::sync::Arc<crate::store::trust::Trust>) -> Self {
        self.trust = Some(trust);
        self
    }

    /// Writes one record to the file of its own (local) date. A full disk is logged, not
    /// fatal: the broadcast matters more than its proof.
    pub fn log(&self, record: &Record) {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        crate::metrics::asrun(record);
        if let Some(t) = &self.trust {
            t.saw(record.ts.to_utc());
        }
        if let Err(e) = self.store.append_record(record) {
            tracing::error!("as-run log not written: {e}");
        }
        if let Some(tap) = &self.tap {
            let _ = tap.send(record.clone());
        }
    }
}
