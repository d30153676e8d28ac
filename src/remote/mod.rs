//! What comes from the province: the signed feed, signed pushes, and the signatures.

pub mod broker;
pub mod feed;
pub mod fleet;
pub mod push;
pub mod signing;
