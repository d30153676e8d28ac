//! `loaxa status`: the running daemon's status, asked over its API, as an operator reads it.

use std::fmt::Write;

use chrono_tz::Tz;

use crate::core::asrun::Event;
use crate::core::status::Status;
use crate::i18n::Lang;
use crate::station::words::kind as kind_name;
use crate::tr;

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

/// A status the daemon saved before it stopped says what was true then. If the daemon is
/// gone, nothing plays and no emergency is on air; the amplifier is as the as-run log's
/// last switch left it (a clean stop switches it off and records `amp_off`).
pub fn settle_if_stopped(s: &mut Status, store: &crate::store::Store) {
    if std::path::Path::new(&format!("/proc/{}", s.pid)).exists() {
        return;
    }
    s.now_playing = None;
    s.now_started = None;
    s.emergency = None;
    s.emergencies_waiting = 0;
    s.session = None;
    s.next.clear();
    let tz: Tz = s
        .timezone
        .parse()
        .unwrap_or(crate::core::schedule::DEFAULT_TIMEZONE);
    let from = s.updated.with_timezone(&tz).date_naive();
    let today = chrono::Utc::now().with_timezone(&tz).date_naive();
    // The days from the status's last update to today, at most a week of them.
    let last_switch = (0..7)
        .filter_map(|n| from.checked_add_signed(chrono::TimeDelta::days(n)))
        .take_while(|d| *d <= today)
        .flat_map(|d| store.read_day(d, tz))
        .filter(|r| matches!(r.event, Event::AmpOn | Event::AmpOff))
        .last();
    if let Some(r) = last_switch {
        s.amplifier_on = r.event == Event::AmpOn;
    }
}

/// The status as an operator reads it, in the station's time zone and `lang`.
pub fn render(s: &Status, lang: Lang) -> String {
    let tz: Tz = s
        .timezone
        .parse()
        .unwrap_or(crate::core::schedule::DEFAULT_TIMEZONE);
    let mut out = String::new();
    let v = View { lang, tz };
    v.state(&mut out, s);
    v.troubles(&mut out, s);
    v.programme(&mut out, s);
    out
}

struct View {
    lang: Lang,
    tz: Tz,
}

impl View {
    fn at(&self, t: chrono::DateTime<impl chrono::TimeZone>, with_date: bool) -> String {
        let t = t.with_timezone(&self.tz);
        if with_date {
            format!(
                "{} {}",
                self.lang.date(t.date_naive()),
                t.format("%H:%M:%S")
            )
        } else {
            t.format("%H:%M:%S").to_string()
        }
    }

    /// The daemon, its output, the amplifier, the session, an emergency, the feed.
    fn state(&self, out: &mut String, s: &Status) {
        let lang = self.lang;
        let alive = std::path::Path::new(&format!("/proc/{}", s.pid)).exists();
        let state = if alive {
            tr!(lang, "status-running", pid = s.pid)
        } else {
            tr!(lang, "status-not-running", pid = s.pid)
        };
        let lines = [
            tr!(
                lang,
                "status-title",
                station = &s.station_id,
                state = &state
            ),
            tr!(lang, "status-updated", at = &self.at(s.updated, true)),
            if s.output_ok {
                tr!(lang, "status-output-ok", output = &s.output)
            } else {
                tr!(lang, "status-output-failing", output = &s.output)
            },
            if s.amplifier_on {
                tr!(lang, "status-amplifier-on")
            } else {
                tr!(lang, "status-amplifier-off")
            },
            match &s.session {
                Some(name) => tr!(lang, "status-session", session = name),
                None => tr!(lang, "status-session-none"),
            },
        ];
        for line in lines {
            let _ = writeln!(out, "{line}");
        }
        if let Some(e) = &s.emergency {
            let line = tr!(
                lang,
                "status-emergency",
                title = e,
                waiting = s.emergencies_waiting
            );
            let _ = writeln!(out, "{line}");
        }
        if let Some(f) = &s.feed {
            let seen = f
                .last_success
                .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
                .map_or_else(|| tr!(lang, "status-feed-not-yet"), |t| self.at(t, true));
            let error = f
                .last_error
                .as_ref()
                .map_or(String::new(), |e| tr!(lang, "status-feed-error", error = e));
            let sequence = f
                .sequence
                .map_or_else(|| tr!(lang, "status-feed-none"), |n| n.to_string());
            let line = tr!(
                lang,
                "status-feed",
                sequence = &sequence,
                bulletins = f.bulletins,
                seen = &seen,
                error = &error
            );
            let _ = writeln!(out, "{line}");
        }
    }

    /// Problems, dead air, a refused reload, the last refusal.
    fn troubles(&self, out: &mut String, s: &Status) {
        let lang = self.lang;
        for p in &s.problems {
            let _ = writeln!(out, "{}", tr!(lang, "status-problem", problem = p));
        }
        if let Some(quiet) = &s.silence {
            let level = format!("{:.0}", quiet.level_db);
            let line = tr!(
                lang,
                "status-silence",
                since = &self.at(quiet.since, false),
                level = &level
            );
            let _ = writeln!(out, "{line}");
        }
        if let Some(r) = s
            .last_reload
            .as_ref()
            .filter(|r| r.ok && !r.restart_needed.is_empty())
        {
            let line = tr!(
                lang,
                "status-restart-needed",
                at = &self.at(r.at, false),
                what = &r.restart_needed.join(", ")
            );
            let _ = writeln!(out, "{line}");
        }
        if let Some(r) = s.last_reload.as_ref().filter(|r| !r.ok) {
            let line = tr!(lang, "status-reload-refused", at = &self.at(r.at, false));
            let _ = writeln!(out, "{line}");
            for e in &r.errors {
                let _ = writeln!(out, "  {e}");
            }
        }
        if let Some(r) = &s.last_refusal {
            let line = tr!(
                lang,
                "status-refused",
                at = &self.at(r.at, false),
                source = &r.source,
                reason = &r.reason,
                message = &r.message
            );
            let _ = writeln!(out, "{line}");
        }
    }

    /// What plays, what comes next, today's quotas.
    fn programme(&self, out: &mut String, s: &Status) {
        let lang = self.lang;
        let line = match &s.now_playing {
            Some(i) => tr!(
                lang,
                "status-playing",
                kind = &kind_name(lang, i.kind),
                title = &i.title,
                start = &self.at(i.start, false),
                end = &self.at(i.end, false)
            ),
            None => tr!(lang, "status-playing-nothing"),
        };
        let _ = writeln!(out, "{line}");
        if !s.next.is_empty() {
            let _ = writeln!(out, "{}", tr!(lang, "status-next"));
            for i in &s.next {
                let _ = writeln!(
                    out,
                    "  {} {:<10} {}",
                    self.at(i.start, false),
                    kind_name(lang, i.kind),
                    i.title
                );
            }
        }
        if !s.quotas.is_empty() {
            let date = lang.date(s.plan_date);
            let _ = writeln!(out, "{}", tr!(lang, "status-quotas", date = &date));
            for q in &s.quotas {
                let line = tr!(
                    lang,
                    "status-quota",
                    campaign = &q.campaign,
                    done = q.done,
                    required = q.required,
                    planned = q.planned
                );
                let _ = writeln!(out, "  {line}");
            }
        }
    }
}
