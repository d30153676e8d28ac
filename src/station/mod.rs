//! What the station makes of its config and state: its catalog, a day's plan, refusals.

pub mod catalog;
pub mod command;
pub mod config;
pub mod plan;
pub mod refusals;
pub mod report;
pub mod words;
