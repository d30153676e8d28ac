//! Links the `loaxa` binary as a fixed-address (non-PIE) executable on Linux.
//!
//! Why: a position-independent executable is relocated by the loader at every start, which
//! reads the whole 1 MB relocation table and writes every page of the 1.3 MB of
//! relocated read-only data, so all of it stays resident for the daemon's life. Linked at
//! a fixed address those are plain file pages, read only where used: the daemon's peak
//! RSS while broadcasting goes from 13.1 MB to 10.7 MB (`benches/playout.sh`; issue 11
//! asks for at most 12 MB on the station's cheap PC). What it costs: the executable's own
//! code and data sit at the same address every run (shared libraries, heap, stacks and
//! mmaps stay randomised). loaxa's own code has no `unsafe`; see docs/architecture.md,
//! "Decisions written down".
fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
