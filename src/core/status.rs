//! What the daemon is doing, for `loaxa status`: `<state>/status.json`, rewritten
//! atomically at every change (the HTTP API will serve the same).

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::core::planner::{PlanItem, Quota};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    #[serde(with = "crate::core::timefmt")]
    pub updated: DateTime<Tz>,
    pub pid: u32,
    pub station_id: String,
    /// The station's time zone (IANA name): `loaxa status` shows times in it.
    pub timezone: String,
    pub plan_date: NaiveDate,
    /// The session on air, if any.
    pub session: Option<String>,
    /// The emergency on air (its bulletin id), and how many more wait behind it.
    #[serde(default)]
    pub emergency: Option<String>,
    #[serde(default)]
    pub emergencies_waiting: usize,
    pub amplifier_on: bool,
    pub output: String,
    pub output_ok: bool,
    pub now_playing: Option<PlanItem>,
    /// The provincial feed as the station last saw it (absent without `[feed] url`).
    #[serde(default)]
    pub feed: Option<FeedSummary>,
    pub next: Vec<PlanItem>,
    pub quotas: Vec<Quota>,
    pub warnings: Vec<String>,
    /// What keeps the station from taking in new bulletins (unreadable state), or makes
    /// its clock suspect. Empty when all is well.
    #[serde(default)]
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedSummary {
    pub url: String,
    /// Sequence of the last accepted manifest.
    pub sequence: Option<u64>,
    /// Bulletins from the feed this station holds, verified.
    pub bulletins: usize,
    /// Unix time of the last poll that reached the feed (since this daemon started).
    pub last_success: Option<i64>,
    pub last_error: Option<String>,
}

pub fn path(state_dir: &Path) -> PathBuf {
    state_dir.join("status.json")
}

pub fn write(state_dir: &Path, status: &Status) {
    let saved = serde_json::to_vec_pretty(status)
        .map_err(std::io::Error::other)
        .and_then(|json| crate::sys::fs::write_atomic(&path(state_dir), &json));
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

/// The running daemon's status, from its HTTP API.
pub fn fetch(listen: std::net::SocketAddr, token: Option<&str>) -> Result<Status, String> {
    let host = if listen.ip().is_unspecified() {
        std::net::SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), listen.port())
    } else {
        listen
    };
    let url = format!("http://{host}/api/v1/status");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(5)))
        .build()
        .into();
    let mut request = agent.get(&url);
    if let Some(t) = token {
        request = request.header("Authorization", &format!("Bearer {t}"));
    }
    let mut response = request.call().map_err(|e| {
        format!("the daemon does not answer at {url} ({e}): is `loaxa run` running?")
    })?;
    let text = response
        .body_mut()
        .read_to_string()
        .map_err(|e| format!("{url}: unreadable status: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("{url}: unreadable status: {e}"))
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
    if let Some(e) = &s.emergency {
        let _ = writeln!(
            out,
            "EMERGENCY {e} on air ({} more waiting)",
            s.emergencies_waiting
        );
    }
    if let Some(f) = &s.feed {
        let seen = f
            .last_success
            .and_then(|t| chrono::DateTime::from_timestamp(t, 0));
        let _ = writeln!(
            out,
            "feed      sequence {} · {} bulletins held · last reached {}{}",
            f.sequence.map_or("none".into(), |n| n.to_string()),
            f.bulletins,
            seen.map_or("not yet".into(), |t| t
                .with_timezone(&tz)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()),
            f.last_error
                .as_ref()
                .map_or(String::new(), |e| format!(" · last error: {e}"))
        );
    }
    for p in &s.problems {
        let _ = writeln!(out, "PROBLEM   {p}");
    }
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
