//! `loaxa report` and `GET /api/v1/report`: proof of play from the store's as-run log
//! (see `core::report`).

use chrono::NaiveDate;

use crate::config::Config;
use crate::core::report::Report;
use crate::store::Store;

pub fn build(
    config: &Config,
    from: NaiveDate,
    to: NaiveDate,
    counting: crate::core::report::Counting,
) -> Result<Report, crate::core::report::ReportError> {
    let catalog = super::catalog::load(config);
    let store = Store::of(&config.station);
    let tz = config.schedule.timezone;
    crate::core::report::build(
        &config.station.station_id,
        |date| store.read_day(date, tz),
        |date| {
            Some(crate::core::planner::plan_day(
                &crate::core::planner::PlanInput {
                    station_id: &config.station.station_id,
                    schedule: &config.schedule,
                    catalog: &catalog,
                    date,
                    history: &crate::core::plan::History::default(),
                    not_before: None,
                },
            ))
        },
        &catalog,
        (from, to),
        counting,
    )
}
