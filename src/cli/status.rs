//! `loaxa status`: the running daemon's status, asked over its API, as an operator reads it.

use std::fmt::Write;

use chrono_tz::Tz;

use crate::core::status::Status;

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
        .unwrap_or(crate::core::schedule::DEFAULT_TIMEZONE);
    let mut out = String::new();
    state(&mut out, s, tz);
    troubles(&mut out, s, tz);
    programme(&mut out, s, tz);
    out
}

/// The daemon, its output, the amplifier, the session, an emergency, the feed.
fn state(out: &mut String, s: &Status, tz: Tz) {
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
}

/// Problems, a refused reload, the last refusal.
fn troubles(out: &mut String, s: &Status, tz: Tz) {
    for p in &s.problems {
        let _ = writeln!(out, "PROBLEM   {p}");
    }
    if let Some(r) = s.last_reload.as_ref().filter(|r| !r.ok) {
        let _ = writeln!(
            out,
            "RELOAD    {} the new configuration was refused; still on the last good one:",
            r.at.with_timezone(&tz).format("%H:%M:%S")
        );
        for e in &r.errors {
            let _ = writeln!(out, "  {e}");
        }
    }
    if let Some(r) = &s.last_refusal {
        let _ = writeln!(
            out,
            "refused   {} {} ({}): {}",
            r.at.with_timezone(&tz).format("%H:%M:%S"),
            r.source,
            r.reason,
            r.message
        );
    }
}

/// What plays, what comes next, today's quotas.
fn programme(out: &mut String, s: &Status, tz: Tz) {
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
}
