//! System helpers that know nothing of broadcasting.

pub mod clock;
pub mod command;
pub mod fs;
pub mod hex;
