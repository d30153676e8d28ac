//! The config as the station loads it: both files read by `config`, every audio file they
//! name measured by a full decode (cached in the store), and every text spoken.

use std::path::{Path, PathBuf};

use chrono::{NaiveDate, TimeDelta};

use crate::audio::ingest::MediaCache;
use crate::audio::speech::Speech;
use crate::config::diag::Diagnostic;
use crate::config::{Config, Media, Station};
use crate::store::Store;

/// Loads and checks both files in `dir`, measuring and speaking as the station would.
pub fn load(dir: &Path, today: NaiveDate) -> Result<Config, Vec<Diagnostic>> {
    Config::load(dir, today, |station| {
        Box::new(Measured::for_station(station))
    })
}

/// The station's decoder (through its cache) and speech engine.
pub struct Measured {
    cache: MediaCache,
    speech: Option<Speech>,
}

impl Measured {
    pub fn for_station(station: Option<&Station>) -> Measured {
        match station {
            Some(s) => Measured {
                cache: MediaCache::open(&Store::of(s)).for_station(&s.audio),
                speech: Some(Speech::of(s)),
            },
            None => Measured {
                cache: MediaCache::in_memory(),
                speech: None,
            },
        }
    }
}

impl Media for Measured {
    fn playing_time(&mut self, path: &Path) -> Result<TimeDelta, String> {
        let info = self.cache.info(path).map_err(|e| e.to_string())?;
        Ok(self.cache.playing_time(&info))
    }

    fn speak(&mut self, text: &str) -> Option<Result<PathBuf, String>> {
        Some(
            self.speech
                .as_ref()?
                .render(text)
                .map_err(|e| e.to_string()),
        )
    }
}

impl Drop for Measured {
    /// What was measured is kept for next time (failing to save only costs time).
    fn drop(&mut self) {
        self.cache.save();
    }
}

/// A chime whose length cannot be measured is planned as this long.
const CHIME_GUESS: chrono::TimeDelta = chrono::TimeDelta::seconds(5);

/// What the engine needs of a configuration; the emergency chimes measured here.
pub fn setup_of(
    config: &Config,
    media: &mut crate::audio::ingest::MediaCache,
) -> crate::core::engine::Setup {
    let mut chime = |path: &Option<std::path::PathBuf>| {
        path.as_ref().map(|p| crate::core::schedule::MediaFile {
            path: p.clone(),
            name: p.display().to_string(),
            duration: media.info(p).map(|i| i.duration()).unwrap_or(CHIME_GUESS),
        })
    };
    let emergency = &config.station.emergency;
    crate::core::engine::Setup {
        station_id: config.station.station_id.clone(),
        schedule: config.schedule.clone(),
        warmup: config
            .station
            .amplifier
            .as_ref()
            .map_or(chrono::TimeDelta::zero(), |a| a.warmup),
        quiet_hours: config.station.audio.quiet_hours,
        start_chime: chime(&emergency.start_chime),
        end_chime: chime(&emergency.end_chime),
    }
}
