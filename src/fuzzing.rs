//! What the fuzz harness (`fuzz/`, run by `scripts/fuzz`) feeds with any bytes: every
//! parser that takes input from outside. Each must answer, never panic. Inputs that once
//! made one panic are kept under `fuzz/regressions/<target>/` and replayed by
//! `tests/suite/fuzz_regressions.rs` on every test run.

use std::path::Path;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};

use crate::config::station::Station;

/// One harness: any bytes in, an answer out (never a panic).
pub type Target = fn(&[u8]);

/// The targets, by name, as `fuzz/` and the regression test call them.
pub const TARGETS: &[(&str, Target)] = &[
    ("push_manifest", push_manifest),
    ("feed_manifest", feed_manifest),
    ("multipart", multipart),
    ("station_toml", station_toml),
    ("schedule_toml", schedule_toml),
    ("minisign", minisign),
];

const STATION: &str = "station_id = \"xa-fuzz\"\n[paths]\nstate = \"/nonexistent/loaxa-fuzz\"\n[audio]\noutput = \"null\"\n[feed]\npublic_keys = [\"RWRDPbwd9ejWywHoymccoDVT4GEba9dDLsBO1qK2TKr4Bs0Y9JGP+ccO\"]\n";

fn station() -> &'static Station {
    static S: OnceLock<Option<Station>> = OnceLock::new();
    S.get_or_init(|| crate::config::parse_station(STATION, Path::new("/nonexistent")).ok())
        .as_ref()
        .expect("the fuzz station parses")
}

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_633_053_600, 0).unwrap_or_default()
}

/// A push manifest after its signature verified (SPEC §8, §11).
pub fn push_manifest(data: &[u8]) {
    let clocks = crate::core::push::Clocks {
        station: now(),
        real: Some(now() + chrono::TimeDelta::days(1800)),
    };
    let rules = crate::remote::push::rules(station());
    if let Ok(checked) = crate::core::push::check_signed(rules, clocks, data, |id| id == "seen") {
        let _ = checked.audio_size();
    }
}

/// A feed manifest after its signature verified (SPEC §7, §11), and what the catalog makes
/// of its campaigns.
pub fn feed_manifest(data: &[u8]) {
    if let Ok(v) = crate::remote::feed::vet::vet(data, 50 * 1024 * 1024) {
        for c in &v.manifest.campaigns {
            let _ = c.min_gap.get();
        }
    }
}

/// A push body: the first byte picks the piece size, the next up to 70 the boundary.
pub fn multipart(data: &[u8]) {
    struct Sink(usize);
    impl crate::http::multipart::Parts for Sink {
        type Error = ();
        fn begin(&mut self, name: &str, _: Option<&str>) -> Result<(), ()> {
            if name == "refuse" { Err(()) } else { Ok(()) }
        }
        fn data(&mut self, bytes: &[u8]) -> Result<(), ()> {
            self.0 += bytes.len();
            Ok(())
        }
        fn end(&mut self) -> Result<(), ()> {
            Ok(())
        }
    }
    let Some((&piece, rest)) = data.split_first() else {
        return;
    };
    let (boundary, body) = rest.split_at(rest.len().min(8));
    let boundary = String::from_utf8_lossy(boundary);
    let boundary = if boundary.is_empty() { "b" } else { &boundary };
    let mut reader =
        crate::http::multipart::Reader::new(boundary, crate::http::multipart::Limits::default());
    let mut sink = Sink(0);
    for chunk in body.chunks(usize::from(piece).max(1)) {
        if reader.feed(chunk, &mut sink).is_err() {
            return;
        }
    }
    let _ = reader.finish::<()>();
    let _ = crate::http::multipart::boundary(&String::from_utf8_lossy(rest));
}

pub fn station_toml(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = crate::config::parse_station(text, Path::new("/nonexistent"));
    }
}

pub fn schedule_toml(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let today = now().date_naive();
        let _ = crate::config::parse_schedule(text, Path::new("/nonexistent"), today);
    }
}

/// A minisign signature file over a fixed message, against trusted keys.
pub fn minisign(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = crate::remote::signing::verify(b"feed v1", &text, &station().feed.public_keys);
}
