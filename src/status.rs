//! What the daemon is doing, for `loaxa status`: `<state>/status.json`, rewritten
//! atomically at every change (the HTTP API will serve the same).

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::planner::{PlanItem, Quota};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    #[serde(with = "crate::timefmt")]
    pub updated: DateTime<Tz>,
    pub pid: u32,
    pub station_id: String,
    /// The station's time zone (IANA name): `loaxa status` shows times in it.
    pub timezone: String,
    pub plan_date: NaiveDate,
    /// The session on air, if any.
    pub session: Option<String>,
    pub amplifier_on: bool,
    pub output: String,
    pub output_ok: bool,
    pub now_playing: Option<PlanItem>,
    pub next: Vec<PlanItem>,
    pub quotas: Vec<Quota>,
    pub warnings: Vec<String>,
}

pub fn path(state_dir: &Path) -> PathBuf {
    state_dir.join("status.json")
}

pub fn write(state_dir: &Path, status: &Status) {
    let saved = serde_json::to_vec_pretty(status)
        .map_err(std::io::Error::other)
        .and_then(|json| crate::fsutil::write_atomic(&path(state_dir), &json));
    if let Err(e) = saved {
        tracing::warn!("status file not written: {e}");
    }
}

pub fn read(state_dir: &Path) -> Result<Status, String> {
    let p = path(state_dir);
    let bytes = std::fs::read(&p).map_err(|e| {
        format!(
            "no status at {} ({e}): is `loaxa run` running?",
            p.display()
        )
    })?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{} is unreadable: {e}", p.display()))
}

/// The status as an operator reads it, in the station's time zone.
pub fn render(s: &Status) -> String {
    let tz: Tz = s
        .timezone
        .parse()
        .unwrap_or(crate::config::schedule::DEFAULT_TIMEZONE);
    use std::fmt::Write;
    let mut out = String::new();
    let alive = std::path::Path::new(&format!("/proc/{}", s.pid)).exists();
    let _ = writeln!(
        out,
        "loaxa · station {} · {}",
        s.station_id,
        if alive {
            format!("running (pid {})", s.pid)
        } else {
            format!("NOT RUNNING (last pid {})", s.pid)
        }
    );
    let _ = writeln!(
        out,
        "updated   {}",
        s.updated.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S")
    );
    let _ = writeln!(
        out,
        "output    {} ({})",
        s.output,
        if s.output_ok {
            "ok"
        } else {
            "FAILING, retrying"
        }
    );
    let _ = writeln!(
        out,
        "amplifier {}",
        if s.amplifier_on { "on" } else { "off" }
    );
    let _ = writeln!(
        out,
        "session   {}",
        s.session.as_deref().unwrap_or("none on air")
    );
    match &s.now_playing {
        Some(i) => {
            let _ = writeln!(
                out,
                "playing   {} {} ({}–{})",
                i.kind.as_str(),
                i.title,
                i.start.with_timezone(&tz).format("%H:%M:%S"),
                i.end.with_timezone(&tz).format("%H:%M:%S")
            );
        }
        None => {
            let _ = writeln!(out, "playing   nothing");
        }
    }
    if !s.next.is_empty() {
        let _ = writeln!(out, "next");
        for i in &s.next {
            let _ = writeln!(
                out,
                "  {} {:<8} {}",
                i.start.with_timezone(&tz).format("%H:%M:%S"),
                i.kind.as_str(),
                i.title
            );
        }
    }
    if !s.quotas.is_empty() {
        let _ = writeln!(out, "quotas ({})", s.plan_date);
        for q in &s.quotas {
            let _ = writeln!(
                out,
                "  {:<24} {}/{} done, {} more planned",
                q.campaign, q.done, q.required, q.planned
            );
        }
    }
    out
}
