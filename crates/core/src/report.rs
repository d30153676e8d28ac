//! Proof of play (SPEC §6 `loaxa report`, `GET /api/v1/report`): for each campaign and
//! day, the plays done against the plays required, read from the as-run log only.
//!
//! A play counts when its bulletin played to its `end` (an interrupted or failed play does
//! not). What a day requires comes from the campaign as the station knows it now
//! (schedule.toml and the feed); a campaign found in the log but no longer known is still
//! listed, with nothing required.

use std::collections::BTreeMap;

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
    /// Bulletins of no campaign that played (emergencies, pushes), in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_plays: Vec<OtherPlay>,
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
    /// Plays missing: for a day that is over, required − done; for today, what will be
    /// missing even if the rest of its plan plays; for a day to come, what its plan
    /// cannot place. Never negative.
    pub short: u32,
    /// Whether the day is over, running (today) or to come.
    #[serde(default)]
    pub state: DayState,
    /// Plays still planned: the rest of today, or the whole of a day to come.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub planned: u32,
    /// Why a day that is over was short (SPEC §12), in English; `cause` says it for
    /// programs and the translations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<Shortfall>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Where a day stands against the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DayState {
    #[default]
    Over,
    Today,
    Future,
}

/// Why a day that is over fell short, first what the schedule allowed, then what the
/// as-run log shows happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Shortfall {
    /// Counting only what the monitor heard: plays that ended unheard.
    NotHeard {
        silent: u32,
        mismatch: u32,
        unjudged: u32,
    },
    NoSession {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        special: Option<String>,
    },
    NoSessionAllows,
    OverSubscribed {
        placed: u32,
        required: u32,
    },
    StationStopped,
    ClockFault,
    Interrupted,
    OffAir,
    StoppedOrOffAir,
}

impl Shortfall {
    /// In English: the `reason` JSON has always carried.
    pub fn english(&self) -> String {
        match self {
            Shortfall::NotHeard {
                silent,
                mismatch,
                unjudged,
            } => format!(
                "not heard: the monitor heard {silent} play(s) silent, {mismatch} not as sent, {unjudged} not judged"
            ),
            Shortfall::NoSession {
                special: Some(name),
            } => {
                format!("no session that day (special day {name})")
            }
            Shortfall::NoSession { special: None } => "no session that day".into(),
            Shortfall::NoSessionAllows => {
                "none of the day's sessions may carry it (or it had no valid bulletin)".into()
            }
            Shortfall::OverSubscribed { placed, required } => {
                format!("over-subscribed: only {placed} of {required} fit in the day's sessions")
            }
            Shortfall::StationStopped => {
                "station stopped: nothing in the as-run log that day".into()
            }
            Shortfall::ClockFault => {
                "clock fault: the clock stepped and the station held or skipped".into()
            }
            Shortfall::Interrupted => {
                "plays interrupted or failed (output lost, a cancel, an emergency, a restart)"
                    .into()
            }
            Shortfall::OffAir => {
                "off air: items were skipped while the station could not play".into()
            }
            Shortfall::StoppedOrOffAir => "station stopped or off air during the sessions".into(),
        }
    }
}

/// A bulletin of no campaign that played to its end: an emergency, a push, a CAP alert.
/// Listed so the report proves them too (the flood warning aired, and when).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtherPlay {
    #[serde(with = "crate::timefmt")]
    pub start: chrono::DateTime<chrono_tz::Tz>,
    pub id: String,
    pub title: String,
    pub priority: crate::catalog::Priority,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heard: Option<Heard>,
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

/// The days a report covers, and today (the days before it are over; today's plays so
/// far count, with what is still planned beside them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub today: NaiveDate,
}

/// Builds the report from the as-run log, one day's records at a time (`records_of`).
/// `plan_of` gives a day's plan as if nothing had played: why a day that is over fell
/// short, and what a day to come will place. `rest_of_today` is today's plan from now on.
pub fn build(
    station_id: &str,
    mut records_of: impl FnMut(NaiveDate) -> Vec<Record>,
    mut plan_of: impl FnMut(NaiveDate) -> Option<Plan>,
    rest_of_today: Option<&Plan>,
    catalog: &Catalog,
    span: Span,
    counting: Counting,
) -> Result<Report, ReportError> {
    let Span { from, to, today } = span;
    if to < from {
        return Err(ReportError::Backwards { from, to });
    }
    if (to - from).num_days() >= MAX_DAYS {
        return Err(ReportError::TooLong { from, to });
    }
    let mut days = Vec::new();
    let mut other_plays = Vec::new();
    let mut date = from;
    while date <= to {
        let state = match date.cmp(&today) {
            std::cmp::Ordering::Less => DayState::Over,
            std::cmp::Ordering::Equal => DayState::Today,
            std::cmp::Ordering::Greater => DayState::Future,
        };
        let records = if state == DayState::Future {
            Vec::new()
        } else {
            records_of(date)
        };
        let counted = counted(&records, counting);
        let mut rows = day_rows(&counted, catalog, date);
        other_plays.extend(others(&records));
        match state {
            DayState::Over => {
                if rows.iter().any(|r| r.short > 0) {
                    let plan = plan_of(date);
                    for r in rows.iter_mut().filter(|r| r.short > 0) {
                        let cause = why_short(r, &records, plan.as_ref(), counting);
                        r.reason = Some(cause.english());
                        r.cause = Some(cause);
                    }
                }
            }
            DayState::Today => still_planned(&mut rows, rest_of_today, state),
            DayState::Future => still_planned(&mut rows, plan_of(date).as_ref(), state),
        }
        days.extend(rows);
        match date.succ_opt() {
            Some(next) => date = next,
            None => break,
        }
    }
    Ok(Report {
        station_id: station_id.to_string(),
        from,
        to,
        totals: totals(&days),
        days,
        other_plays,
        heard_only: counting == Counting::Heard,
    })
}

/// The records whose plays count: all, or with `Heard`, only the ends the monitor heard.
fn counted(records: &[Record], counting: Counting) -> Vec<Record> {
    match counting {
        Counting::Ended => records.to_vec(),
        Counting::Heard => records
            .iter()
            .filter(|r| r.event != Event::End || r.heard == Some(Heard::Yes))
            .cloned()
            .collect(),
    }
}

/// Today or a day to come: what its plan still places beside what is done, and what it
/// will miss even so; no reason yet (the day is not over).
fn still_planned(rows: &mut [Row], plan: Option<&Plan>, state: DayState) {
    for r in rows.iter_mut() {
        r.state = state;
        r.planned = plan
            .and_then(|p| p.quotas.iter().find(|q| q.campaign == r.campaign))
            .map_or(0, |q| q.planned);
        r.short = r.required.saturating_sub(r.done + r.planned);
    }
}

fn totals(days: &[Row]) -> Vec<Total> {
    let mut totals: BTreeMap<&str, Total> = BTreeMap::new();
    for row in days {
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
    totals.into_values().collect()
}

/// Bulletins of no campaign that played to their end, with when they started.
fn others(records: &[Record]) -> Vec<OtherPlay> {
    let mut started: BTreeMap<&str, chrono::DateTime<chrono_tz::Tz>> = BTreeMap::new();
    let mut out = Vec::new();
    for r in records {
        let Some(item) = r.item.as_ref().filter(|i| i.kind == Kind::Bulletin) else {
            continue;
        };
        if item.campaign.is_some() {
            continue;
        }
        match r.event {
            Event::Start => {
                started.insert(item.id.as_str(), r.ts);
            }
            Event::End => out.push(OtherPlay {
                start: started.remove(item.id.as_str()).unwrap_or(r.ts),
                id: item.id.clone(),
                title: item.title.clone(),
                priority: item.priority,
                heard: r.heard,
            }),
            _ => {}
        }
    }
    out
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
                state: DayState::Over,
                planned: 0,
                reason: None,
                cause: None,
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
                state: DayState::Over,
                planned: 0,
                reason: None,
                cause: None,
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
fn why_short(row: &Row, records: &[Record], plan: Option<&Plan>, counting: Counting) -> Shortfall {
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
        let n = |k: usize| u32::try_from(k).unwrap_or(u32::MAX);
        return Shortfall::NotHeard {
            silent: n(silent),
            mismatch: n(mismatch),
            unjudged: n(unjudged),
        };
    }
    if let Some(plan) = plan {
        let quota = plan.quotas.iter().find(|q| q.campaign == row.campaign);
        let placed = quota.map_or(0, |q| q.planned);
        if placed == 0 && plan.sessions.is_empty() {
            return Shortfall::NoSession {
                special: plan.special.clone(),
            };
        }
        if placed == 0 {
            return Shortfall::NoSessionAllows;
        }
        if placed < row.required {
            return Shortfall::OverSubscribed {
                placed,
                required: row.required,
            };
        }
    }
    let has = |e: Event| records.iter().any(|r| r.event == e);
    if records.is_empty() {
        return Shortfall::StationStopped;
    }
    if has(Event::ClockJump) {
        return Shortfall::ClockFault;
    }
    if records
        .iter()
        .filter(ours)
        .any(|r| matches!(r.event, Event::Interrupted | Event::Failed))
    {
        return Shortfall::Interrupted;
    }
    if has(Event::Skipped) {
        return Shortfall::OffAir;
    }
    Shortfall::StoppedOrOffAir
}
