//! `loaxa report` and `GET /api/v1/report`: proof of play from the store's as-run log
//! (see `core::report`), and the report as a person reads it: a table, or a CSV a commune
//! can send upward, in the station's language.

use std::fmt::Write;

use chrono::{DateTime, NaiveDate};
use chrono_tz::Tz;

use crate::config::Config;
use crate::core::asrun::Heard;
use crate::core::report::{DayState, Report, ReportError, Row, Shortfall, Span};
use crate::i18n::Lang;
use crate::store::Store;
use crate::tr;

/// The report for `from`–`to` as of `now` (days before today are over).
pub fn build(
    config: &Config,
    from: NaiveDate,
    to: NaiveDate,
    counting: crate::core::report::Counting,
    now: DateTime<Tz>,
) -> Result<Report, ReportError> {
    let catalog = super::catalog::load(config);
    let store = Store::of(&config.station);
    let tz = config.schedule.timezone;
    let today = now.with_timezone(&tz).date_naive();
    let rest_of_today = (from <= today && today <= to).then(|| {
        let history = store.history(today, tz);
        super::plan::plan_of(config, &catalog, today, Some(now), &history)
    });
    crate::core::report::build(
        &config.station.station_id,
        |date| store.read_day(date, tz),
        |date| {
            let nothing_played = crate::core::plan::History::default();
            Some(super::plan::plan_of(
                config,
                &catalog,
                date,
                None,
                &nothing_played,
            ))
        },
        rest_of_today.as_ref(),
        &catalog,
        Span { from, to, today },
        counting,
    )
}

/// Why a day fell short, in `lang`.
pub fn why(lang: Lang, cause: &Shortfall) -> String {
    match cause {
        Shortfall::NotHeard {
            silent,
            mismatch,
            unjudged,
        } => tr!(
            lang,
            "why-not-heard",
            silent = *silent,
            mismatch = *mismatch,
            unjudged = *unjudged
        ),
        Shortfall::NoSession {
            special: Some(name),
        } => {
            tr!(lang, "why-no-session-special", name = name)
        }
        Shortfall::NoSession { special: None } => tr!(lang, "why-no-session"),
        Shortfall::NoSessionAllows => tr!(lang, "why-no-session-allows"),
        Shortfall::OverSubscribed { placed, required } => tr!(
            lang,
            "why-over-subscribed",
            placed = *placed,
            required = *required
        ),
        Shortfall::StationStopped => tr!(lang, "why-stopped"),
        Shortfall::ClockFault => tr!(lang, "why-clock"),
        Shortfall::Interrupted => tr!(lang, "why-interrupted"),
        Shortfall::OffAir => tr!(lang, "why-off-air"),
        Shortfall::StoppedOrOffAir => tr!(lang, "why-off"),
    }
}

fn state(lang: Lang, state: DayState) -> String {
    match state {
        DayState::Over => tr!(lang, "state-over"),
        DayState::Today => tr!(lang, "state-today"),
        DayState::Future => tr!(lang, "state-future"),
    }
}

fn heard(lang: Lang, heard: Option<Heard>) -> String {
    match heard {
        Some(Heard::Yes) => tr!(lang, "heard-yes"),
        Some(Heard::Silent) => tr!(lang, "heard-silent"),
        Some(Heard::Mismatch) => tr!(lang, "heard-mismatch"),
        None => String::new(),
    }
}

/// What a row's last column says: a shortfall and its reason for a day that is over,
/// what is still planned for today or a day to come.
fn remark(lang: Lang, row: &Row) -> String {
    let still = match row.state {
        DayState::Today => tr!(lang, "report-today", done = row.done, planned = row.planned),
        DayState::Future => tr!(lang, "report-future", planned = row.planned),
        DayState::Over if row.short > 0 => {
            let reason = row
                .cause
                .as_ref()
                .map_or(String::new(), |c| format!(" ({})", why(lang, c)));
            return tr!(lang, "report-short", count = row.short, reason = &reason);
        }
        DayState::Over => return String::new(),
    };
    // Today or a day to come that its plan cannot fill: how many will be missing.
    if row.short > 0 {
        let short = tr!(lang, "report-short", count = row.short, reason = "");
        format!("{still} · {short}")
    } else {
        still
    }
}

/// The report as an admin reads it: a table per day, shortfalls marked, then totals and
/// the plays of no campaign.
pub fn render(r: &Report, lang: Lang, tz: Tz) -> String {
    let mut out = String::new();
    let heard_only = if r.heard_only {
        tr!(lang, "report-heard-only")
    } else {
        String::new()
    };
    let title = tr!(
        lang,
        "report-title",
        station = &r.station_id,
        from = &lang.date(r.from),
        to = &lang.date(r.to)
    );
    let _ = writeln!(out, "{title}{heard_only}");
    if r.days.is_empty() && r.other_plays.is_empty() {
        let _ = writeln!(out, "\n{}", tr!(lang, "report-nothing"));
        return out;
    }
    let _ = writeln!(
        out,
        "\n{:<10}  {:<28} {:>9} {:>8}  ",
        tr!(lang, "report-col-date"),
        tr!(lang, "report-col-campaign"),
        tr!(lang, "report-col-required"),
        tr!(lang, "report-col-done")
    );
    for row in &r.days {
        let _ = writeln!(
            out,
            "{:<10}  {:<28} {:>9} {:>8}  {}",
            lang.date(row.date),
            row.campaign,
            row.required,
            row.done,
            remark(lang, row)
        );
    }
    let _ = writeln!(out, "\n{}", tr!(lang, "report-totals"));
    for t in &r.totals {
        let short = if t.short > 0 {
            tr!(
                lang,
                "report-total-short",
                count = t.short,
                days = t.days_short
            )
        } else {
            String::new()
        };
        let line = tr!(
            lang,
            "report-total",
            campaign = &t.campaign,
            done = t.done,
            required = t.required,
            short = &short,
            title = &t.title
        );
        let _ = writeln!(out, "  {line}");
    }
    if !r.other_plays.is_empty() {
        let _ = writeln!(out, "\n{}", tr!(lang, "report-emergencies"));
        for p in &r.other_plays {
            let start = p.start.with_timezone(&tz);
            let heard = match p.heard {
                Some(Heard::Yes) => tr!(lang, "report-heard-yes"),
                Some(_) => tr!(lang, "report-heard-no"),
                None => String::new(),
            };
            let line = tr!(
                lang,
                "report-emergency-row",
                date = &lang.date(start.date_naive()),
                time = &start.format("%H:%M:%S").to_string(),
                title = &p.title,
                heard = &heard
            );
            let _ = writeln!(out, "  {line}");
        }
    }
    out
}

/// CSV (RFC 4180, UTF-8) a commune can send upward as it is: one line per campaign and
/// day with the station, the day's state and the reason; then the totals and the plays of
/// no campaign, each a section with its own header. `bom` puts a byte-order mark first,
/// so spreadsheet programs read Vietnamese correctly.
pub fn csv(r: &Report, bom: bool, lang: Lang, tz: Tz) -> String {
    let mut out = String::new();
    if bom {
        out.push('\u{feff}');
    }
    let header = |ids: &[&str]| -> String {
        let names: Vec<String> = ids.iter().map(|id| field(&lang.text(id, &[]))).collect();
        format!("{}\r\n", names.join(","))
    };
    out.push_str(&header(&[
        "csv-station",
        "csv-date",
        "csv-campaign",
        "csv-title",
        "csv-state",
        "csv-required",
        "csv-done",
        "csv-short",
        "csv-reason",
    ]));
    for row in &r.days {
        let reason = row.cause.as_ref().map_or(String::new(), |c| why(lang, c));
        let _ = write!(
            out,
            "{},{},{},{},{},{},{},{},{}\r\n",
            field(&r.station_id),
            lang.date(row.date),
            field(&row.campaign),
            field(&row.title),
            field(&state(lang, row.state)),
            row.required,
            row.done,
            row.short,
            field(&reason)
        );
    }
    out.push_str("\r\n");
    out.push_str(&format!("{}\r\n", field(&tr!(lang, "csv-total"))));
    out.push_str(&header(&[
        "csv-station",
        "csv-campaign",
        "csv-title",
        "csv-required",
        "csv-done",
        "csv-short",
        "csv-days-short",
    ]));
    for t in &r.totals {
        let _ = write!(
            out,
            "{},{},{},{},{},{},{}\r\n",
            field(&r.station_id),
            field(&t.campaign),
            field(&t.title),
            t.required,
            t.done,
            t.short,
            t.days_short
        );
    }
    out.push_str("\r\n");
    out.push_str(&format!("{}\r\n", field(&tr!(lang, "report-emergencies"))));
    out.push_str(&header(&[
        "csv-station",
        "csv-date",
        "csv-time",
        "csv-title",
        "csv-priority",
        "csv-heard",
    ]));
    for p in &r.other_plays {
        let start = p.start.with_timezone(&tz);
        let priority = super::words::priority(lang, p.priority);
        let _ = write!(
            out,
            "{},{},{},{},{},{}\r\n",
            field(&r.station_id),
            lang.date(start.date_naive()),
            start.format("%H:%M:%S"),
            field(&p.title),
            field(&priority),
            field(&heard(lang, p.heard))
        );
    }
    out
}

/// A CSV field, quoted when it must be; a leading = + - @ is defused so a spreadsheet
/// never runs a title as a formula.
fn field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}
