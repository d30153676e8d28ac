//! The state directory (`[paths] state`): the only module that knows its layout.

pub mod asrun;
pub mod files;
pub mod trust;
