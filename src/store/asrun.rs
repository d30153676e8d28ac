//! The as-run log: `<state>/asrun/YYYY-MM-DD.jsonl`, one JSON event a line (SPEC §9).
//! It is the proof of what played, and what a restarted daemon continues from.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::core::planner::{History, Kind, PlanItem, Played};

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
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    #[serde(with = "crate::core::timefmt::ms")]
    pub ts: DateTime<Tz>,
    pub event: Event,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<PlanItem>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_time")]
    pub scheduled: Option<DateTime<Tz>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

mod opt_time {
    use chrono::DateTime;
    use chrono_tz::Tz;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Tz>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => crate::core::timefmt::ms::serialize(t, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Tz>>, D::Error> {
        #[derive(Deserialize)]
        struct Wrap(#[serde(with = "crate::core::timefmt")] DateTime<Tz>);
        Ok(Option::<Wrap>::deserialize(d)?.map(|w| w.0))
    }
}

pub fn day_file(state_dir: &Path, date: NaiveDate) -> PathBuf {
    state_dir
        .join("asrun")
        .join(format!("{}.jsonl", date.format("%Y-%m-%d")))
}

/// Reads one day's log. A line that does not parse (a torn last line after a power cut)
/// is skipped with a warning: the rest of the day's proof stands.
pub fn read_day(state_dir: &Path, date: NaiveDate, tz: Tz) -> Vec<Record> {
    let path = day_file(state_dir, date);
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

fn rezone(r: &mut Record, tz: Tz) {
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

/// The history a plan of `date` needs: that day's finished plays, and how often each
/// bulletin played on the days before (for rotation).
pub fn history(state_dir: &Path, date: NaiveDate, tz: Tz) -> History {
    let today = completed_plays(&read_day(state_dir, date, tz));
    let mut earlier_counts: HashMap<String, u32> = HashMap::new();
    let dir = state_dir.join("asrun");
    let mut days: Vec<NaiveDate> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            NaiveDate::parse_from_str(name.strip_suffix(".jsonl")?, "%Y-%m-%d").ok()
        })
        .filter(|d| *d < date)
        .collect();
    days.sort();
    for day in days {
        for p in completed_plays(&read_day(state_dir, day, tz)) {
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
    state_dir: PathBuf,
    lock: std::sync::Mutex<()>,
    /// Told the time of every record: proof that the clock has been there.
    trust: Option<std::sync::Arc<crate::store::trust::Trust>>,
}

impl AsRunLog {
    pub fn new(state_dir: &Path) -> Self {
        AsRunLog {
            state_dir: state_dir.to_path_buf(),
            lock: std::sync::Mutex::new(()),
            trust: None,
        }
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
        if let Err(e) = self.append(record) {
            tracing::error!("as-run log not written: {e}");
        }
    }

    fn append(&self, record: &Record) -> std::io::Result<()> {
        use std::io::Write;
        let path = day_file(&self.state_dir, record.ts.date_naive());
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

impl Record {
    pub fn new(ts: DateTime<Tz>, event: Event) -> Self {
        Record {
            ts: round_ms(ts),
            event,
            item: None,
            scheduled: None,
            late_ms: None,
            reason: None,
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

/// The time of the newest record in the log (of its latest day), if any.
pub fn newest_record(state_dir: &Path) -> Option<DateTime<chrono::Utc>> {
    let latest = std::fs::read_dir(state_dir.join("asrun"))
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            NaiveDate::parse_from_str(name.strip_suffix(".jsonl")?, "%Y-%m-%d").ok()
        })
        .max()?;
    read_day(state_dir, latest, chrono_tz::UTC)
        .iter()
        .map(|r| r.ts.to_utc())
        .max()
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
