//! `[[special]]` days in schedule.toml and the checks against station.toml's
//! `[audio] quiet_hours` (SPEC §12).

use std::ops::Range;

use chrono::{NaiveDate, NaiveTime};
use chrono_tz::Tz;
use toml::Spanned;

use super::diag::Diagnostics;
use super::diag::{names, unknown_name};
use super::toml_reader::Fields;
use crate::core::schedule::{DateRule, QuietHours, Session, SessionItem, SessionTime, Special};
use crate::tr;

/// A `[[special]]` day. Its items are checked against the sessions it may fall in.
/// `item` reads one `[[special.item]]` as schedule.toml reads `[[session.item]]`.
pub(super) fn special(
    t: &mut Fields,
    d: &mut Diagnostics,
    session_names: &[Spanned<String>],
    sessions: &[Session],
    quiet: Option<QuietHours>,
    item: &mut dyn FnMut(&mut Fields, &mut Diagnostics) -> Option<SessionItem>,
) -> Option<Special> {
    let name = t.required_string(d, "name");
    if let Some(n) = &name {
        t.rename(format!("special day {:?}", n.get_ref()));
    }
    let dates = read_dates(t, d);
    let names_given = t.string_array(d, "sessions");
    for wanted in names_given.iter().flatten() {
        unknown_name(d, wanted, names(session_names), "session");
    }
    let day_sessions: Vec<&Session> = match &names_given {
        Some(list) => sessions
            .iter()
            .filter(|s| list.iter().any(|n| n.get_ref() == &s.name))
            .collect(),
        None => sessions.iter().collect(),
    };
    let mut items = Vec::new();
    let mut spans = Vec::new();
    for mut table in t.tables(d, "item") {
        let span = table.span();
        if let Some(item) = item(&mut table, d) {
            match item.at {
                None => {
                    let lang = d.lang();
                    d.error_help(
                        span.clone(),
                        tr!(lang, "cfg-special-needs-at"),
                        tr!(lang, "cfg-special-needs-at-help"),
                    )
                }
                Some(at) => {
                    check_place(d, &span, &day_sessions, &item, at);
                    items.push(item);
                    spans.push(span);
                }
            }
        }
        table.finish(d);
    }
    if let Some(q) = quiet {
        quiet_items(q, &items, &spans, d);
    }
    Some(Special {
        name: name?.into_inner(),
        dates,
        sessions: names_given.map(|l| l.into_iter().map(Spanned::into_inner).collect()),
        items,
    })
}

/// `dates`: at least one, each a date, a range or a lunar date.
fn read_dates(t: &mut Fields, d: &mut Diagnostics) -> Vec<DateRule> {
    let mut dates = Vec::new();
    match t.string_array(d, "dates") {
        Some(list) if list.is_empty() => {
            let lang = d.lang();
            d.error_help(
                t.span(),
                tr!(lang, "cfg-special-needs-date"),
                tr!(lang, "cfg-special-needs-date-help"),
            )
        }
        Some(list) => {
            for text in &list {
                match parse_date_rule(text.get_ref()) {
                    Ok(rule) => dates.push(rule),
                    Err(e) => d.error_help(text.span(), e, DATE_RULE_HELP),
                }
            }
        }
        None => {
            if !t.has("dates") {
                t.missing(d, "dates");
            }
        }
    }
    dates
}

/// A special day's item must fall in one of the day's sessions, clear of their fixed items.
fn check_place(
    d: &mut Diagnostics,
    span: &Range<usize>,
    day_sessions: &[&Session],
    item: &SessionItem,
    at: NaiveTime,
) {
    let homes: Vec<&&Session> = day_sessions
        .iter()
        .filter(|s| {
            s.times_of_day_naive()
                .is_some_and(|(a, b)| a <= at && (at < b || b == NaiveTime::MIN))
        })
        .collect();
    // It must not collide with the fixed items of the session it joins.
    let end = at + item.content.duration();
    for s in &homes {
        let clash = s.items.iter().find(|other| {
            other
                .at
                .is_some_and(|o| o < end && at < o + other.content.duration())
        });
        if let Some(o) = clash.and_then(|o| o.at) {
            let lang = d.lang();
            d.error_help(
                span.clone(),
                tr!(
                    lang,
                    "cfg-special-collides",
                    at = &at.format("%H:%M").to_string(),
                    session = &format!("{:?}", s.name),
                    other = &o.format("%H:%M").to_string()
                ),
                tr!(lang, "cfg-special-collides-help"),
            );
        }
    }
    if homes.is_empty() {
        let lang = d.lang();
        d.error_help(
            span.clone(),
            tr!(
                lang,
                "cfg-special-no-session",
                at = &at.format("%H:%M").to_string()
            ),
            tr!(lang, "cfg-special-no-session-help"),
        );
    }
}

const DATE_RULE_HELP: &str = "write \"YYYY-MM-DD\", a range \"YYYY-MM-DD..YYYY-MM-DD\" (both days included) or a lunar date \"âl:MM-DD\" (e.g. \"âl:01-01\" for Tết)";

/// `2025-09-02`, `2026-02-16..2026-02-22` or `âl:01-01`.
pub fn parse_date_rule(text: &str) -> Result<DateRule, String> {
    let t = text.trim();
    let date = |s: &str| {
        NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| format!("{s:?} is not a date"))
    };
    if let Some(lunar) = t.strip_prefix("âl:").or_else(|| t.strip_prefix("al:")) {
        let (m, day) = lunar
            .split_once('-')
            .ok_or_else(|| format!("{text:?} is not a lunar date"))?;
        let month: u32 = m
            .parse()
            .map_err(|_| format!("{text:?}: month {m:?} is not a number"))?;
        let day: u32 = day
            .parse()
            .map_err(|_| format!("{text:?}: day {day:?} is not a number"))?;
        if !(1..=12).contains(&month) || !(1..=30).contains(&day) {
            return Err(format!("{text:?}: a lunar month is 1–12 and its day 1–30"));
        }
        return Ok(DateRule::Lunar { month, day });
    }
    if let Some((a, b)) = t.split_once("..") {
        let (a, b) = (date(a)?, date(b)?);
        if b < a {
            return Err(format!("{text:?} ends before it starts"));
        }
        return Ok(DateRule::Range(a, b));
    }
    Ok(DateRule::Day(date(t)?))
}

/// Fixed items (and relays) that would sound in quiet hours are errors at their line.
pub(super) fn quiet_items(
    q: QuietHours,
    items: &[SessionItem],
    spans: &[Range<usize>],
    d: &mut Diagnostics,
) {
    for (item, span) in items.iter().zip(spans) {
        let Some(at) = item.at else { continue };
        if q.overlaps_times(at, item.content.duration()) {
            d.error_help(
                span.clone(),
                format!(
                    "the item at {} ({} long) would sound in quiet hours {q}",
                    at.format("%H:%M"),
                    crate::core::units::format_duration(item.content.duration())
                ),
                "only an emergency may sound then ([audio] quiet_hours in station.toml): move the item",
            );
        }
    }
}

/// Sessions that would sound in quiet hours are errors at their name. A cron session is
/// looked at on every day of the coming year.
pub(super) fn quiet_sessions(
    q: QuietHours,
    sessions: &[Session],
    name_spans: &[Range<usize>],
    tz: Tz,
    check_from: NaiveDate,
    d: &mut Diagnostics,
) {
    for (s, span) in sessions.iter().zip(name_spans) {
        let hit = match &s.when {
            SessionTime::Days { start, end, .. } => q
                .overlaps_times(*start, *end - *start)
                .then(|| format!("{}–{}", start.format("%H:%M"), end.format("%H:%M"))),
            SessionTime::Cron { .. } => {
                let mut date = check_from;
                let mut found = None;
                for _ in 0..400 {
                    if let Some((a, b)) = s
                        .windows_on(date, tz)
                        .into_iter()
                        .find(|(a, b)| q.overlaps(*a, *b))
                    {
                        found = Some(format!(
                            "{}–{} on {date}",
                            a.format("%H:%M"),
                            b.format("%H:%M")
                        ));
                        break;
                    }
                    let Some(next) = date.succ_opt() else { break };
                    date = next;
                }
                found
            }
        };
        if let Some(when) = hit {
            d.error_help(
                span.clone(),
                format!("session {:?} ({when}) would sound in quiet hours {q}", s.name),
                "only an emergency may sound then ([audio] quiet_hours in station.toml): move the session, or change quiet_hours with the installer",
            );
        }
    }
}
