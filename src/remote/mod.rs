//! What comes from the province: the signed feed, signed pushes, and the signatures.

pub mod feed;
pub mod push;
pub mod signing;
