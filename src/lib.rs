//! loaxa: the broadcast daemon of a Vietnamese commune loudspeaker radio.
//!
//! Layers, each using only those above it in this list (see docs/architecture.md and
//! `tests/suite/layers.rs`):

/// Sound: decoding, resampling, loudness, the outputs, relays, speech, ingest.
pub mod audio;
/// The command line.
pub mod cli;
/// Reads station.toml and schedule.toml.
pub mod config;
/// Pure: catalog, schedule and plan types, the planner, the engine's decisions. No I/O,
/// no clock reading, no threads: the crate `loaxa-core` (crates/core), named here as the
/// layer it is.
pub use loaxa_core as core;
/// `loaxa run`: the runtime, its tasks and the engine's thread.
pub mod daemon;
/// Entry points for the fuzz harness.
pub mod fuzzing;
/// The HTTP API.
pub mod http;
/// What a person reads, in Vietnamese or English (SPEC §16): the message catalogues.
pub mod i18n;
/// Counters and gauges for `/metrics`.
pub mod metrics;
/// The province's tools: keys, feed building, pushes, CAP, the fleet (feature `province`).
#[cfg(feature = "province")]
pub mod province;
/// What comes from the province: the feed, pushes, signatures.
pub mod remote;
/// What the station makes of it all: its catalog, a day's plan, refusals.
pub mod station;
/// The only module that knows the state directory.
pub mod store;
/// Small system helpers with no knowledge of broadcasting: clocks, atomic files, child
/// programs with a time limit.
pub mod sys;
