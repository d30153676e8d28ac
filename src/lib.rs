//! loaxa: the broadcast daemon of a Vietnamese commune loudspeaker radio.

pub mod asrun;
pub mod catalog;
pub mod config;
pub mod diag;
pub mod fsutil;
pub mod media;
pub mod plan_view;
pub mod planner;
pub mod timefmt;
pub mod units;
