//! A day's plan from what is on disk (config, catalog, as-run log), and the plan as an
//! operator reads it: a table per session, quotas, and warnings.

use std::fmt::Write;

use chrono::{DateTime, Datelike, NaiveDate};
use chrono_tz::Tz;

use crate::config::Config;
use crate::core::plan::{Kind, Plan, PlanItem};
use crate::core::planner::{PlanInput, plan_day};
use crate::core::units::format_duration;

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
    plan_day(&PlanInput {
        station_id: &config.station.station_id,
        schedule: &config.schedule,
        catalog: &catalog,
        date,
        history,
        not_before,
    })
}

pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Plan for {} ({}) · station {}",
        plan.date,
        plan.date.weekday(),
        plan.station_id
    );
    let _ = match &plan.special {
        Some(name) => writeln!(out, "Special day: {name} ([[special]] in schedule.toml)"),
        None => writeln!(out, "Weekday rules (no special day)"),
    };
    if plan.sessions.is_empty() {
        let _ = writeln!(out, "\nNo sessions on this day.");
    }
    for s in &plan.sessions {
        let _ = writeln!(
            out,
            "\n{}  {}–{}",
            s.name,
            s.start.format("%H:%M"),
            s.end.format("%H:%M")
        );
        let mut rows =
            vec![["TIME", "LENGTH", "KIND", "TITLE", "CAMPAIGN", "PRIORITY"].map(String::from)];
        let mut i = 0;
        while i < s.items.len() {
            // Consecutive fill pieces read as one row: "music (3 pieces)".
            let run = s.items[i..]
                .iter()
                .take_while(|it| it.kind == Kind::Fill)
                .count();
            if run > 1 {
                let (first, last) = (&s.items[i], &s.items[i + run - 1]);
                rows.push(row(
                    first,
                    last.end - first.start,
                    &format!("music ({run} pieces)"),
                ));
                i += run;
                continue;
            }
            let it = &s.items[i];
            let title = if it.kind == Kind::Fill {
                format!("music: {}", it.title)
            } else {
                it.title.clone()
            };
            rows.push(row(it, it.duration(), &title));
            i += 1;
        }
        table(&mut out, &rows);
    }
    if !plan.quotas.is_empty() {
        let _ = writeln!(out, "\nCampaign quotas");
        let mut rows =
            vec![["CAMPAIGN", "REQUIRED", "DONE", "PLANNED", "WHERE", ""].map(String::from)];
        for q in &plan.quotas {
            let short = q.required.saturating_sub(q.done + q.planned);
            let flag = if short > 0 {
                format!("SHORT BY {short}")
            } else {
                "ok".into()
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
        table(&mut out, &rows);
    }
    if !plan.warnings.is_empty() {
        let _ = writeln!(out, "\nWarnings");
        for w in &plan.warnings {
            let _ = writeln!(out, "  ! {w}");
        }
    }
    out
}

fn row(it: &PlanItem, length: chrono::TimeDelta, title: &str) -> [String; 6] {
    let priority = if it.kind == Kind::Bulletin {
        it.priority.as_str().to_string()
    } else {
        String::new()
    };
    [
        it.start.format("%H:%M:%S").to_string(),
        format_duration(length),
        it.kind.as_str().to_string(),
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
