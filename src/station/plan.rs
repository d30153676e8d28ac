//! A day's plan from what is on disk (config, catalog, as-run log), and the plan as an
//! operator reads it: a table per session, quotas, and warnings.

use std::fmt::Write;

use chrono::{DateTime, Datelike, NaiveDate};
use chrono_tz::Tz;

use crate::config::Config;
use crate::core::plan::{Kind, Plan, PlanItem};
use crate::core::planner::{PlanInput, plan_day};
use crate::core::units::format_duration;
use crate::i18n::Lang;
use crate::tr;

/// The plan `loaxa plan` and `GET /api/v1/plan` show: the whole day (`not_before` None),
/// or the rest of it.
pub fn load(config: &Config, date: NaiveDate, not_before: Option<DateTime<Tz>>) -> Plan {
    let history = crate::store::Store::of(&config.station).history(date, config.schedule.timezone);
    plan_with(config, date, not_before, &history)
}

/// The day as it was planned before anything of it played (what played on earlier days
/// still turns the rotation): the station page draws the as-run log over it.
pub fn load_unplayed(config: &Config, date: NaiveDate) -> Plan {
    let mut history =
        crate::store::Store::of(&config.station).history(date, config.schedule.timezone);
    history.today.clear();
    plan_with(config, date, None, &history)
}

fn plan_with(
    config: &Config,
    date: NaiveDate,
    not_before: Option<DateTime<Tz>>,
    history: &crate::core::plan::History,
) -> Plan {
    let catalog = crate::station::catalog::load(config);
    plan_of(config, &catalog, date, not_before, history)
}

/// A day's plan from a catalog already loaded (a report or `check` plans many days from
/// one read of the state).
pub fn plan_of(
    config: &Config,
    catalog: &crate::core::catalog::Catalog,
    date: NaiveDate,
    not_before: Option<DateTime<Tz>>,
    history: &crate::core::plan::History,
) -> Plan {
    plan_day(&PlanInput {
        station_id: &config.station.station_id,
        schedule: &config.schedule,
        catalog,
        date,
        history,
        not_before,
    })
}

/// The plan as an operator reads it, in `lang`.
pub fn render(plan: &Plan, lang: Lang) -> String {
    let mut out = String::new();
    let weekday = lang.text(
        &format!("weekday-{}", plan.date.weekday().number_from_monday()),
        &[],
    );
    let title = tr!(
        lang,
        "plan-title",
        date = &lang.date(plan.date),
        weekday = &weekday,
        station = &plan.station_id
    );
    let _ = writeln!(out, "{title}");
    let rules = match &plan.special {
        Some(name) => tr!(lang, "plan-special", name = name),
        None => tr!(lang, "plan-weekday"),
    };
    let _ = writeln!(out, "{rules}");
    if plan.sessions.is_empty() {
        let _ = writeln!(out, "\n{}", tr!(lang, "plan-no-sessions"));
    }
    for s in &plan.sessions {
        let _ = writeln!(
            out,
            "\n{}  {}–{}",
            s.name,
            s.start.format("%H:%M"),
            s.end.format("%H:%M")
        );
        table(&mut out, &session_rows(s, lang));
    }
    if !plan.quotas.is_empty() {
        let _ = writeln!(out, "\n{}", tr!(lang, "plan-quotas"));
        table(&mut out, &quota_rows(plan, lang));
    }
    if !plan.warnings.is_empty() {
        let _ = writeln!(out, "\n{}", tr!(lang, "plan-warnings"));
        for w in warnings(plan, lang) {
            let _ = writeln!(out, "  ! {w}");
        }
    }
    out
}

/// The plan's warnings in `lang` (a plan read back from JSON has only the English).
pub fn warnings(plan: &Plan, lang: Lang) -> Vec<String> {
    if plan.notes.len() == plan.warnings.len() {
        plan.notes
            .iter()
            .map(|w| super::words::warning(lang, w))
            .collect()
    } else {
        plan.warnings.clone()
    }
}

/// A session's items, a row each; consecutive fill pieces read as one row.
fn session_rows(s: &crate::core::plan::PlannedSession, lang: Lang) -> Vec<[String; 6]> {
    let mut rows = vec![
        [
            "plan-col-time",
            "plan-col-length",
            "plan-col-kind",
            "plan-col-title",
            "plan-col-campaign",
            "plan-col-priority",
        ]
        .map(|id| lang.text(id, &[])),
    ];
    let mut i = 0;
    while i < s.items.len() {
        let run = s.items[i..]
            .iter()
            .take_while(|it| it.kind == Kind::Fill)
            .count();
        if run > 1 {
            let (first, last) = (&s.items[i], &s.items[i + run - 1]);
            let title = tr!(lang, "plan-music-pieces", count = run);
            rows.push(row(first, last.end - first.start, &title, lang));
            i += run;
            continue;
        }
        let it = &s.items[i];
        let title = if it.kind == Kind::Fill {
            tr!(lang, "plan-music", title = &it.title)
        } else {
            it.title.clone()
        };
        rows.push(row(it, it.duration(), &title, lang));
        i += 1;
    }
    rows
}

fn quota_rows(plan: &Plan, lang: Lang) -> Vec<[String; 6]> {
    let mut rows = vec![[
        tr!(lang, "plan-col-campaign"),
        tr!(lang, "plan-col-required"),
        tr!(lang, "plan-col-done"),
        tr!(lang, "plan-col-planned"),
        tr!(lang, "plan-col-where"),
        String::new(),
    ]];
    for q in &plan.quotas {
        let short = q.required.saturating_sub(q.done + q.planned);
        let flag = if short > 0 {
            tr!(lang, "plan-short-by", count = short)
        } else {
            tr!(lang, "plan-ok")
        };
        rows.push([
            q.campaign.clone(),
            q.required.to_string(),
            q.done.to_string(),
            q.planned.to_string(),
            q.sessions
                .iter()
                .map(|s| format!("{} ×{}", s.session, s.plays))
                .collect::<Vec<_>>()
                .join(", "),
            flag,
        ]);
    }
    rows
}

fn row(it: &PlanItem, length: chrono::TimeDelta, title: &str, lang: Lang) -> [String; 6] {
    let priority = if it.kind == Kind::Bulletin {
        super::words::priority(lang, it.priority)
    } else {
        String::new()
    };
    [
        it.start.format("%H:%M:%S").to_string(),
        format_duration(length),
        super::words::kind(lang, it.kind),
        title.to_string(),
        it.campaign.clone().unwrap_or_default(),
        priority,
    ]
}

/// Left-aligned columns, measured in characters so Vietnamese text lines up.
fn table<const N: usize>(out: &mut String, rows: &[[String; N]]) {
    let mut widths = [0usize; N];
    for r in rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for r in rows {
        let mut line = String::from(" ");
        for (w, cell) in widths.iter().zip(r) {
            let _ = write!(line, " {cell}{}", " ".repeat(w - cell.chars().count()));
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
}
