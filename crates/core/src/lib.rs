//! The pure core: what the station decides, with no I/O, no clock reading and no threads.
//! Times come in as arguments; everything here is a function of its inputs.

pub mod asrun;
#[cfg(feature = "cap")]
pub mod cap;
pub mod catalog;
pub mod emergency;
pub mod engine;
pub mod feed;
pub mod fleet;
pub mod lunar;
pub mod media;
pub mod plan;
pub mod planner;
pub mod push;
pub mod report;
pub mod schedule;
pub mod sound;
pub mod status;
pub mod targets;
pub mod text;
pub mod timefmt;
pub mod units;
