//! Plans 365 days for a busy station: 3 sessions a day, 50 campaigns, 500 bulletins.
//! Run: `cargo bench --bench plan_year`. Prints the time per day-plan.

#[path = "../tests/suite/common/mod.rs"]
mod common;

use std::time::Instant;

use chrono::TimeDelta;
use common::*;
use loaxa::core::catalog::Priority;
use loaxa::core::plan::{History, Kind};
use loaxa::core::planner::{PlanInput, plan_day};

fn main() {
    let mut sang = session("Sáng", "daily", "05:30", "06:30");
    sang.items = vec![relay_at("06:00", 25), flexible("tin.mp3", 90)];
    let sched = schedule(vec![
        sang,
        session("Trưa", "daily", "11:00", "11:30"),
        session("Chiều", "daily", "17:00", "18:00"),
    ]);

    let mut campaigns = Vec::new();
    let mut bulletins = Vec::new();
    for c in 0..50u32 {
        let from = date("2022-01-01") + TimeDelta::days(i64::from(c * 7 % 300));
        let until = from + TimeDelta::days(i64::from(30 + c * 13 % 120));
        let priority = if c % 5 == 0 {
            Priority::Priority
        } else {
            Priority::Normal
        };
        let id = format!("c{c:02}");
        campaigns.push(campaign(
            &id,
            &from.to_string(),
            &until.to_string(),
            1 + c % 3,
            i64::from(c % 4) * 60,
            priority,
        ));
        for b in 0..10u32 {
            let n = c * 10 + b;
            bulletins.push(bulletin(
                &format!("b{n:03}"),
                Some(&id),
                30 + i64::from(n * 37 % 150),
                u64::from(n),
            ));
        }
    }
    let cat = catalog(campaigns, bulletins);

    let mut history = History::default();
    let (mut plays, mut warnings) = (0usize, 0usize);
    let started = Instant::now();
    let mut day = date("2022-01-01");
    for _ in 0..365 {
        let plan = plan_day(&PlanInput {
            station_id: "bench",
            schedule: &sched,
            catalog: &cat,
            date: day,
            history: &history,
            not_before: None,
        });
        // Feed the day's plays into the next day's rotation, as the daemon would.
        for (_, item) in all_items(&plan)
            .iter()
            .filter(|(_, i)| i.kind == Kind::Bulletin)
        {
            *history.earlier_counts.entry(item.id.clone()).or_default() += 1;
            plays += 1;
        }
        warnings += plan.warnings.len();
        day = day.succ_opt().unwrap();
    }
    let elapsed = started.elapsed();
    println!(
        "planned 365 days (50 campaigns, 500 bulletins, 3 sessions/day): {:.1} ms total, {:.1} µs per day-plan; {plays} bulletin plays, {warnings} warnings",
        elapsed.as_secs_f64() * 1e3,
        elapsed.as_secs_f64() * 1e6 / 365.0
    );
}
