//! The station's catalog: schedule.toml's campaigns and bulletins, what the feed brought
//! and what was pushed, read from the store and merged into the one catalog the planner
//! and the engine read.

use crate::config::Config;
use crate::config::station::Station;
use crate::core::catalog::Catalog;
use crate::store::Store;
use crate::store::files::StateError;

/// The station's whole catalog: schedule.toml first, then what the feed brought (a
/// local campaign wins over a feed campaign of the same id), then pushed bulletins.
/// Cancelled bulletins are left out; emergencies from outside go to `emergencies`.
pub fn load(config: &Config) -> Catalog {
    let catalog = gather(config);
    for p in &catalog.problems {
        tracing::error!("{p}");
    }
    catalog
}

fn gather(config: &Config) -> Catalog {
    let store = Store::of(&config.station);
    let mut catalog = Catalog::local(
        config.schedule.campaigns.clone(),
        config.schedule.bulletins.clone(),
    );
    let feed = match feed_part(&config.station) {
        Ok(feed) => feed,
        Err(e) => {
            catalog.problem(format!(
                "feed state unreadable: {e}; feed bulletins are left out"
            ));
            Held::default()
        }
    };
    catalog.feed_sequence = feed.sequence;
    for c in feed.campaigns {
        if catalog.campaign(&c.id).is_none() {
            catalog.campaigns.push(c);
        }
    }
    // Without a readable push state, cancels are unknown too: no pushed bulletin plays
    // (never speak what may have been withdrawn), and no feed bulletin either.
    let (pushed, cancelled) = match store.push_state() {
        Ok(state) => (store.pushed_bulletins(&state), state.cancelled),
        Err(e) => {
            catalog.problem(format!(
                "push state unreadable: {e}; pushed and feed bulletins are left out"
            ));
            return catalog;
        }
    };
    let outside = feed
        .bulletins
        .into_iter()
        .chain(pushed)
        .filter(|b| !cancelled.contains(&b.id));
    for b in outside {
        if b.is_emergency() {
            catalog.emergencies.push(b);
        } else {
            catalog.bulletins.push(b);
        }
    }
    catalog
}

/// What the feed gives the catalog: its campaigns, the bulletins this station holds, and
/// the sequence of the manifest they come from.
#[derive(Debug, Default)]
pub struct Held {
    pub campaigns: Vec<crate::core::catalog::Campaign>,
    pub bulletins: Vec<crate::core::catalog::Bulletin>,
    pub sequence: Option<u64>,
}

/// The feed's campaigns and the bulletins this station holds, ready for the catalog.
/// Bulletins not (yet) stored, revoked, or for other stations are left out.
pub fn feed_part(station: &Station) -> Result<Held, StateError> {
    use crate::core::catalog::{Bulletin, Campaign, Source};
    let state = Store::of(station).feed_state()?;
    let Some(m) = state.manifest else {
        return Ok(Held::default());
    };
    let campaigns = m
        .campaigns
        .iter()
        .filter_map(|c| {
            let min_gap = crate::remote::feed::vet::min_gap(c)
                .inspect_err(|e| tracing::warn!("feed campaign {}: {e}; ignored", c.id))
                .ok()?;
            Some(Campaign {
                id: c.id.clone(),
                title: c.title.clone(),
                from: c.from,
                until: c.until,
                plays_per_day: c.plays_per_day,
                min_gap,
                sessions: c.sessions.clone(),
                priority: c.priority,
                source: Source::Feed,
            })
        })
        .collect();
    let bulletins = m
        .bulletins
        .iter()
        .enumerate()
        .filter(|(_, b)| b.is_for(&station.here()) && !m.revoked.contains(&b.id))
        .filter_map(|(n, b)| {
            let path = crate::remote::feed::sync::audio_path(station, b);
            let info = crate::store::media::read_sidecar(&path)?;
            // A stored file is the one the manifest names: its size at least, every time
            // (its hash is checked when it is stored and when a new manifest names it).
            let size = std::fs::metadata(&path).ok()?.len();
            if b.text.is_none() && size != b.size {
                tracing::warn!(
                    "feed bulletin {}: stored file has the wrong size; not played",
                    b.id
                );
                return None;
            }
            Some(Bulletin {
                id: b.id.clone(),
                title: b.title.clone(),
                campaign: b.campaign.clone(),
                priority: b.priority,
                source: Source::Feed,
                path,
                duration: info.span(station.audio.trim_silence_below).len,
                valid_from: b.valid_from,
                valid_until: b.valid_until,
                added: 1_000_000 + n as u64,
            })
        })
        .collect();
    Ok(Held {
        campaigns,
        bulletins,
        sequence: Some(m.sequence),
    })
}

/// The emergencies due now (see `core::emergency`), from the store. Without a readable
/// push or feed state none is due: what was cancelled or revoked would be unknown.
pub fn due_emergencies(
    station: &Station,
    catalog: &Catalog,
    now: chrono::DateTime<chrono_tz::Tz>,
    trusted_now: chrono::DateTime<chrono::Utc>,
) -> Vec<crate::core::emergency::Emergency> {
    let store = Store::of(station);
    match emergency_facts(&store) {
        Ok(facts) => crate::core::emergency::due(catalog, &facts, now, trusted_now),
        Err(e) => {
            tracing::error!("no emergency can be played: {e}");
            Vec::new()
        }
    }
}

fn emergency_facts(store: &Store) -> Result<crate::core::emergency::Facts, StateError> {
    use crate::core::emergency::{Facts, PushedEmergency};
    let state = store.push_state()?;
    Ok(Facts {
        pushed: state
            .bulletins
            .iter()
            .map(|p| PushedEmergency {
                id: p.id.clone(),
                repeat: p.repeat,
                expires_at: p.expires_at,
                accepted_at: p.accepted_at,
            })
            .collect(),
        done: state.emergencies_done,
        revoked: store.feed_revoked()?,
    })
}
