//! loaxa: the broadcast daemon of a Vietnamese commune loudspeaker radio.

pub mod amplifier;
pub mod api;
pub mod asrun;
pub mod catalog;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod decode;
pub mod diag;
pub mod emergency;
pub mod feed;
pub mod fsutil;
pub mod media;
pub mod metrics;
pub mod output;
pub mod plan_view;
pub mod planner;
pub mod playout;
pub mod push;
pub mod push_client;
pub mod relay;
pub mod report;
pub mod signing;
pub mod status;
pub mod timefmt;
pub mod units;
