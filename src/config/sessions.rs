//! Session times (days, start/end, cron) and the checks across sessions: fixed items
//! inside their session and in order, and no two sessions overlapping.

use std::ops::Range;
use std::str::FromStr;

use chrono::{NaiveDate, NaiveTime, TimeDelta};
use chrono_tz::Tz;
use toml::Spanned;

use super::station::duration;
use super::toml_reader::Fields;
use crate::config::diag::Diagnostics;
use crate::core::schedule::{ItemContent, Session, SessionTime};
use crate::core::units::{Days, parse_clock, parse_days};
use crate::tr;

pub(super) fn session_time(t: &mut Fields, d: &mut Diagnostics) -> Option<SessionTime> {
    if let Some(cron_text) = t.string(d, "cron") {
        return cron_time(t, d, &cron_text);
    }
    let lang = d.lang();
    let days = match t.string(d, "days") {
        Some(text) => parse_days(text.get_ref())
            .map_err(|_| {
                d.error_help(
                    text.span(),
                    tr!(
                        lang,
                        "cfg-not-days",
                        text = &format!("{:?}", text.get_ref())
                    ),
                    tr!(lang, "cfg-days-help"),
                )
            })
            .ok(),
        None => Some(Days::ALL),
    };
    let Some(start_text) = t.string(d, "start") else {
        // What follows `start` is still this session's, not an unknown key.
        for key in ["end", "duration"] {
            t.has(key);
        }
        if !t.has("start") {
            d.error_help(
                t.span(),
                tr!(lang, "cfg-no-start", what = t.what()),
                tr!(lang, "cfg-no-start-help"),
            );
        }
        return None;
    };
    let start = clock(d, &start_text);
    let end = match (t.string(d, "end"), t.has("duration")) {
        (Some(end_text), false) => {
            let end = clock(d, &end_text)?;
            if let Some(s) = start
                && end <= s
            {
                d.error_help(
                    end_text.span(),
                    tr!(
                        lang,
                        "cfg-ends-before-start",
                        end = &end.format("%H:%M").to_string(),
                        start = &s.format("%H:%M").to_string()
                    ),
                    tr!(lang, "cfg-midnight-help"),
                );
                return None;
            }
            Some(end)
        }
        (None, true) => {
            let length = duration(t, d, "duration")?;
            let s = start?;
            let (end, wrapped) = s.overflowing_add_signed(length);
            if wrapped != 0 || end <= s {
                d.error_help(
                    start_text.span(),
                    tr!(
                        lang,
                        "cfg-past-midnight",
                        start = &s.format("%H:%M").to_string(),
                        length = &crate::core::units::format_duration(length)
                    ),
                    tr!(lang, "cfg-midnight-help"),
                );
                return None;
            }
            Some(end)
        }
        (Some(end_text), true) => {
            d.error_help(
                end_text.span(),
                tr!(lang, "cfg-end-or-duration"),
                tr!(lang, "cfg-remove-one"),
            );
            None
        }
        (None, false) => {
            d.error_help(
                start_text.span(),
                tr!(lang, "cfg-no-end", what = t.what()),
                tr!(lang, "cfg-no-end-help"),
            );
            None
        }
    };
    Some(SessionTime::Days {
        days: days?,
        start: start?,
        end: end?,
    })
}

/// A session of `cron` and `duration`; `days`, `start` and `end` may not come with them.
fn cron_time(
    t: &mut Fields,
    d: &mut Diagnostics,
    cron_text: &Spanned<String>,
) -> Option<SessionTime> {
    for key in ["days", "start", "end"] {
        if let Some(v) = t.value(key) {
            d.error_help(
                v.span(),
                format!("`{key}` cannot be used with `cron`"),
                "give either `cron` and `duration`, or `days`, `start` and `end`",
            );
        }
    }
    let schedule = match cron::Schedule::from_str(cron_text.get_ref()) {
        Ok(s) => Some(Box::new(s)),
        Err(e) => {
            d.error_help(cron_text.span(), format!("invalid cron expression {:?}: {e}", cron_text.get_ref()), "cron here has seconds first: \"0 0 17 * * Mon-Sat\" starts at 17:00:00 Monday to Saturday");
            None
        }
    };
    if !t.has("duration") {
        d.error_help(
            cron_text.span(),
            "a cron session needs a `duration`",
            "add e.g. duration = \"60m\"",
        );
        return None;
    }
    let duration = duration(t, d, "duration")?;
    if duration <= TimeDelta::zero() || duration > TimeDelta::hours(24) {
        d.error(
            cron_text.span(),
            "session duration must be between 1s and 24h",
        );
        return None;
    }
    Some(SessionTime::Cron {
        schedule: schedule?,
        duration,
    })
}

/// Fixed items must sit inside the session, clear of the jingles and of each other.
pub(super) fn check_fixed_items(s: &Session, spans: &[Range<usize>], d: &mut Diagnostics) {
    let SessionTime::Days { start, end, .. } = s.when else {
        return; // cron sessions move; the planner checks them each day
    };
    let first_free = start + s.opening.as_ref().map_or(TimeDelta::zero(), |f| f.duration);
    let last_free = end - s.closing.as_ref().map_or(TimeDelta::zero(), |f| f.duration);
    let mut fixed: Vec<(NaiveTime, NaiveTime, &Range<usize>)> = Vec::new();
    for (item, span) in s.items.iter().zip(spans) {
        let Some(at) = item.at else { continue };
        let until = at + item.content.duration();
        // A live relay may run into the closing: it is faded out for it, as on air.
        let is_relay = matches!(item.content, ItemContent::Relay { .. });
        let overruns = if is_relay {
            at >= last_free
        } else {
            until > last_free || until < at
        };
        if at < first_free || overruns {
            d.error_help(
                span.clone(),
                format!(
                    "item at {} ({} long) does not fit in session {:?} ({}–{}{})",
                    at.format("%H:%M:%S"),
                    crate::core::units::format_duration(item.content.duration()),
                    s.name,
                    start.format("%H:%M"),
                    end.format("%H:%M"),
                    if s.opening.is_some() || s.closing.is_some() {
                        ", less its opening and closing"
                    } else {
                        ""
                    }
                ),
                "move `at`, shorten `duration`, or widen the session",
            );
        }
        fixed.push((
            at,
            if is_relay {
                until.min(last_free)
            } else {
                until
            },
            span,
        ));
    }
    fixed.sort_by_key(|f| f.0);
    for pair in fixed.windows(2) {
        if pair[1].0 < pair[0].1 {
            d.error_help(
                pair[1].2.clone(),
                format!(
                    "item at {} starts before the item at {} has ended ({})",
                    pair[1].0.format("%H:%M:%S"),
                    pair[0].0.format("%H:%M:%S"),
                    pair[0].1.format("%H:%M:%S")
                ),
                "move one of them",
            );
        }
    }
}

/// Sessions may not overlap: the amplifier and the schedule would fight.
pub(super) fn check_overlaps(
    sessions: &[Session],
    name_spans: &[Range<usize>],
    tz: Tz,
    check_from: NaiveDate,
    d: &mut Diagnostics,
) {
    for i in 0..sessions.len() {
        for j in i + 1..sessions.len() {
            let (a, b) = (&sessions[i], &sessions[j]);
            if let Some(when) = first_overlap(a, b, tz, check_from) {
                d.error_help(
                    name_spans[j].clone(),
                    format!("session {:?} overlaps session {:?}{when}", b.name, a.name),
                    "change the times so one ends before the other starts",
                );
            }
        }
    }
}

pub(super) fn first_overlap(
    a: &Session,
    b: &Session,
    tz: Tz,
    check_from: NaiveDate,
) -> Option<String> {
    if let (
        SessionTime::Days {
            days: da,
            start: sa,
            end: ea,
        },
        SessionTime::Days {
            days: db,
            start: sb,
            end: eb,
        },
    ) = (&a.when, &b.when)
    {
        return (da.intersects(*db) && sa < eb && sb < ea).then(String::new);
    }
    // A cron session's days depend on the calendar: look a year and a bit ahead.
    let mut date = check_from;
    for _ in 0..400 {
        for (s1, e1) in a.windows_on(date, tz) {
            for (s2, e2) in b.windows_on(date, tz) {
                if s1 < e2 && s2 < e1 {
                    return Some(format!(" on {date}"));
                }
            }
        }
        date = date.succ_opt()?;
    }
    None
}

pub(super) fn clock(d: &mut Diagnostics, text: &Spanned<String>) -> Option<NaiveTime> {
    let lang = d.lang();
    parse_clock(text.get_ref())
        .map_err(|_| {
            d.error_help(
                text.span(),
                tr!(
                    lang,
                    "cfg-not-clock",
                    text = &format!("{:?}", text.get_ref())
                ),
                tr!(lang, "cfg-clock-help"),
            )
        })
        .ok()
}
