//! What the station makes of its config and state: its catalog, a day's plan, refusals.

pub mod plan;
pub mod refusals;
