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

use crate::core::asrun::Record;
use crate::core::catalog::Catalog;
use crate::core::plan::Kind;

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

/// Builds the report from the as-run log, one day's records at a time (`records_of`).
pub fn build(
    station_id: &str,
    mut records_of: impl FnMut(NaiveDate) -> Vec<Record>,
    catalog: &Catalog,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Report, String> {
    if to < from {
        return Err(format!("--to {to} is before --from {from}"));
    }
    if (to - from).num_days() >= MAX_DAYS {
        return Err(format!(
            "{from} to {to} is more than {MAX_DAYS} days; ask for a shorter range"
        ));
    }
    let mut days = Vec::new();
    let mut date = from;
    while date <= to {
        days.extend(day_rows(&records_of(date), catalog, date));
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
    })
}

fn day_rows(records: &[Record], catalog: &Catalog, date: NaiveDate) -> Vec<Row> {
    let mut done: BTreeMap<String, u32> = BTreeMap::new();
    for p in crate::core::asrun::completed_plays(records) {
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

/// The report as an admin reads it: a table per day, shortfalls marked, then totals.
pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Proof of play · station {} · {} to {}",
        r.station_id, r.from, r.to
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
                format!("SHORT BY {}", row.short)
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
