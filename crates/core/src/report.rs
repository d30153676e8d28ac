//! Proof of play (SPEC §6 `loaxa report`, `GET /api/v1/report`): for each campaign and
//! day, the plays done against the plays required, read from the as-run log only.
//!
//! A play counts when its bulletin played to its `end` (an interrupted or failed play does
//! not). What a day requires comes from the campaign as the station knows it now
//! (schedule.toml and the feed); a campaign found in the log but no longer known is still
//! listed, with nothing required.

use std::collections::BTreeMap;
use std::fmt::Write;

use chrono::NaiveDate;

use serde::{Deserialize, Serialize};

use crate::asrun::{Event, Heard, Record};
use crate::catalog::Catalog;
use crate::plan::{Kind, Plan};

/// The longest range one report covers (a few years of days).
pub const MAX_DAYS: i64 = 3 * 366;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub station_id: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// One row per campaign and day it ran or played, by date then campaign.
    pub days: Vec<Row>,
    /// One row per campaign over the whole range.
    pub totals: Vec<Total>,
    /// Only plays the monitor heard (`"heard": "yes"`, SPEC §14) were counted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub heard_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    pub date: NaiveDate,
    pub campaign: String,
    pub title: String,
    pub required: u32,
    pub done: u32,
    /// Plays missing (required − done, never negative).
    pub short: u32,
    /// Why a short day was short (SPEC §12): no session that day, over-subscribed, the
    /// clock, off air, plays cut, or the station stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Total {
    pub campaign: String,
    pub title: String,
    pub required: u32,
    pub done: u32,
    pub short: u32,
    /// Days on which the campaign fell short.
    pub days_short: u32,
}

/// Which plays count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Counting {
    /// Every play that ended.
    #[default]
    Ended,
    /// Only those the monitor heard (`heard: yes`): a silent, mismatched or unjudged
    /// play does not count.
    Heard,
}

/// Builds the report from the as-run log, one day's records at a time (`records_of`);
/// A range of days no report is made for.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReportError {
    #[error("--to {to} is before --from {from}")]
    Backwards { from: NaiveDate, to: NaiveDate },
    #[error("{from} to {to} is more than {MAX_DAYS} days; ask for a shorter range")]
    TooLong { from: NaiveDate, to: NaiveDate },
}

/// `plan_of` gives a day's plan as if nothing had played, to tell why a day fell short.
pub fn build(
    station_id: &str,
    mut records_of: impl FnMut(NaiveDate) -> Vec<Record>,
    mut plan_of: impl FnMut(NaiveDate) -> Option<Plan>,
    catalog: &Catalog,
    (from, to): (NaiveDate, NaiveDate),
    counting: Counting,
) -> Result<Report, ReportError> {
    if to < from {
        return Err(ReportError::Backwards { from, to });
    }
    if (to - from).num_days() >= MAX_DAYS {
        return Err(ReportError::TooLong { from, to });
    }
    let mut days = Vec::new();
    let mut date = from;
    while date <= to {
        let records = records_of(date);
        let heard: Vec<Record>;
        let counted = match counting {
            Counting::Ended => &records,
            Counting::Heard => {
                heard = records
                    .iter()
                    .filter(|r| r.event != Event::End || r.heard == Some(Heard::Yes))
                    .cloned()
                    .collect();
                &heard
            }
        };
        let mut rows = day_rows(counted, catalog, date);
        if rows.iter().any(|r| r.short > 0) {
            let plan = plan_of(date);
            for r in rows.iter_mut().filter(|r| r.short > 0) {
                r.reason = Some(why_short(r, &records, plan.as_ref(), counting));
            }
        }
        days.extend(rows);
        match date.succ_opt() {
            Some(next) => date = next,
            None => break,
        }
    }
    let mut totals: BTreeMap<&str, Total> = BTreeMap::new();
    for row in &days {
        let t = totals
            .entry(row.campaign.as_str())
            .or_insert_with(|| Total {
                campaign: row.campaign.clone(),
                title: row.title.clone(),
                required: 0,
                done: 0,
                short: 0,
                days_short: 0,
            });
        t.required += row.required;
        t.done += row.done;
        t.short += row.short;
        t.days_short += u32::from(row.short > 0);
    }
    Ok(Report {
        station_id: station_id.to_string(),
        from,
        to,
        totals: totals.into_values().collect(),
        days,
        heard_only: counting == Counting::Heard,
    })
}

fn day_rows(records: &[Record], catalog: &Catalog, date: NaiveDate) -> Vec<Row> {
    let mut done: BTreeMap<String, u32> = BTreeMap::new();
    for p in crate::asrun::completed_plays(records) {
        if p.kind == Kind::Bulletin
            && let Some(c) = p.campaign
        {
            *done.entry(c).or_default() += 1;
        }
    }
    let mut rows: BTreeMap<String, Row> = BTreeMap::new();
    for c in catalog.campaigns.iter().filter(|c| c.runs_on(date)) {
        rows.insert(
            c.id.clone(),
            Row {
                date,
                campaign: c.id.clone(),
                title: c.title.clone(),
                required: c.plays_per_day,
                done: 0,
                short: 0,
                reason: None,
            },
        );
    }
    for (campaign, n) in done {
        let title = catalog
            .campaign(&campaign)
            .map_or_else(String::new, |c| c.title.clone());
        rows.entry(campaign.clone())
            .or_insert(Row {
                date,
                campaign,
                title,
                required: 0,
                done: 0,
                short: 0,
                reason: None,
            })
            .done = n;
    }
    rows.into_values()
        .map(|mut r| {
            r.short = r.required.saturating_sub(r.done);
            r
        })
        .collect()
}

/// Why `row`'s day fell short: first what the schedule allowed (from a plan made as if
/// nothing had played), then what the as-run log shows happened.
fn why_short(row: &Row, records: &[Record], plan: Option<&Plan>, counting: Counting) -> String {
    let ours = |r: &&Record| {
        r.item
            .as_ref()
            .is_some_and(|i| i.campaign.as_deref() == Some(row.campaign.as_str()))
    };
    // Plays that ended but were not heard come first: they are why it is short.
    let unheard = |h: Option<Heard>| {
        records
            .iter()
            .filter(ours)
            .filter(|r| r.event == Event::End && r.heard == h)
            .count()
    };
    let (silent, mismatch, unjudged) = (
        unheard(Some(Heard::Silent)),
        unheard(Some(Heard::Mismatch)),
        unheard(None),
    );
    if counting == Counting::Heard && silent + mismatch + unjudged > 0 {
        return format!(
            "not heard: the monitor heard {silent} play(s) silent, {mismatch} not as sent, {unjudged} not judged"
        );
    }
    if let Some(plan) = plan {
        let quota = plan.quotas.iter().find(|q| q.campaign == row.campaign);
        let placed = quota.map_or(0, |q| q.planned);
        if placed == 0 && plan.sessions.is_empty() {
            return match &plan.special {
                Some(name) => format!("no session that day (special day {name})"),
                None => "no session that day".into(),
            };
        }
        if placed == 0 {
            return "none of the day's sessions may carry it (or it had no valid bulletin)".into();
        }
        if placed < row.required {
            return format!(
                "over-subscribed: only {placed} of {} fit in the day's sessions",
                row.required
            );
        }
    }
    let has = |e: Event| records.iter().any(|r| r.event == e);
    if records.is_empty() {
        return "station stopped: nothing in the as-run log that day".into();
    }
    if has(Event::ClockJump) {
        return "clock fault: the clock stepped and the station held or skipped".into();
    }
    if records
        .iter()
        .filter(ours)
        .any(|r| matches!(r.event, Event::Interrupted | Event::Failed))
    {
        return "plays interrupted or failed (output lost, a cancel, an emergency, a restart)"
            .into();
    }
    if has(Event::Skipped) {
        return "off air: items were skipped while the station could not play".into();
    }
    "station stopped or off air during the sessions".into()
}

/// The report as an admin reads it: a table per day, shortfalls marked, then totals.
pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Proof of play · station {} · {} to {}{}",
        r.station_id,
        r.from,
        r.to,
        if r.heard_only {
            " · only plays the monitor heard"
        } else {
            ""
        }
    );
    if r.days.is_empty() {
        let _ = writeln!(out, "\nNo campaign ran and nothing of a campaign played.");
        return out;
    }
    let _ = writeln!(
        out,
        "\n{:<10}  {:<28} {:>8} {:>5}  ",
        "date", "campaign", "required", "done"
    );
    for row in &r.days {
        let _ = writeln!(
            out,
            "{}  {:<28} {:>8} {:>5}  {}",
            row.date,
            row.campaign,
            row.required,
            row.done,
            if row.short > 0 {
                format!(
                    "SHORT BY {}{}",
                    row.short,
                    row.reason
                        .as_ref()
                        .map_or(String::new(), |w| format!(" ({w})"))
                )
            } else {
                String::new()
            }
        );
    }
    let _ = writeln!(out, "\nTotals");
    for t in &r.totals {
        let _ = writeln!(
            out,
            "  {:<28} {:>5} of {:>5} done{}   {}",
            t.campaign,
            t.done,
            t.required,
            if t.short > 0 {
                format!(", SHORT BY {} on {} day(s)", t.short, t.days_short)
            } else {
                String::new()
            },
            t.title
        );
    }
    out
}

/// CSV (RFC 4180, UTF-8), one line per campaign and day, then a TOTAL line per campaign.
/// `bom` puts a byte-order mark first, so spreadsheet programs read Vietnamese correctly.
pub fn csv(r: &Report, bom: bool) -> String {
    let mut out = String::new();
    if bom {
        out.push('\u{feff}');
    }
    out.push_str("date,campaign,title,required,done,short\r\n");
    let line =
        |out: &mut String, date: &str, c: &str, title: &str, req: u32, done: u32, short: u32| {
            let _ = write!(
                out,
                "{},{},{},{req},{done},{short}\r\n",
                field(date),
                field(c),
                field(title)
            );
        };
    for row in &r.days {
        line(
            &mut out,
            &row.date.to_string(),
            &row.campaign,
            &row.title,
            row.required,
            row.done,
            row.short,
        );
    }
    for t in &r.totals {
        line(
            &mut out,
            "TOTAL",
            &t.campaign,
            &t.title,
            t.required,
            t.done,
            t.short,
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
