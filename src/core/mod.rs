//! The pure core: what the station decides, with no I/O, no clock reading and no threads.
//! Times come in as arguments; everything here is a function of its inputs.

pub mod catalog;
pub mod emergency;
pub mod feed;
pub mod planner;
pub mod report;
pub mod status;
pub mod text;
pub mod timefmt;
pub mod units;
