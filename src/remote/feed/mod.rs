//! The provincial feed, the station's side (SPEC §7): bounds on what a manifest says, and
//! the sync that fetches, verifies and stores it.

pub mod sync;
pub mod vet;
