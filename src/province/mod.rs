//! The province's tools: key pairs, building and signing a feed, pushing to a station.

pub mod cap;
pub mod feed;
pub mod fleet;
pub mod fleet_view;
pub mod push;
