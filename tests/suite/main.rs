//! The integration tests, one binary: most of them wait on real time (a session on air,
//! a broker, a sound server, a browser), so they run side by side — the test threads
//! are set in .cargo/config.toml — and the suite links once instead of thirty times.
//! Each module is one subject; each test starts its own servers (PulseAudio, mosquitto,
//! nginx) on free ports, so nothing is shared between them.

mod common;
mod config_files;
mod live;

mod cap;
mod clock_jumps;
mod clock_real;
mod config;
mod config_days;
mod engine_props;
mod engine_week;
mod feed_daemon;
mod feed_sync;
mod feed_tools;
mod fleet;
mod fleet_channel;
mod fleet_page;
mod formats;
mod front_door;
mod fuzz_regressions;
mod language;
mod layers;
mod loudness;
mod media;
mod monitor;
mod planner;
mod planner_days;
mod playout_faults;
mod playout_relay;
mod playout_sound;
mod playout_thread;
mod push_emergency;
mod push_load;
mod push_security;
mod report;
mod station_page;
mod text_bulletins;
