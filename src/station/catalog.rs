//! The station's catalog: schedule.toml's campaigns and bulletins, what the feed brought
//! and what was pushed, read from the store and merged into the one catalog the planner
//! and the engine read.

use crate::config::Config;
use crate::config::station::Station;
use crate::core::catalog::Catalog;
use crate::store::Store;
use crate::store::feed::FeedState;
use crate::store::files::StateError;
use crate::store::push::PushState;

/// The station's whole catalog: schedule.toml first, then what the feed brought (a
/// local campaign wins over a feed campaign of the same id), then pushed bulletins.
/// Cancelled bulletins are left out; emergencies from outside go to `emergencies`.
pub fn load(config: &Config) -> Catalog {
    Holdings::load(config).catalog
}

/// What the station holds now, read once from the store: the catalog, what the feed
/// revoked, and what the emergencies due are judged from. One read of the feed state and
/// one of the push state, whoever asks (`daemon::catalog` after every change).
#[derive(Debug, Clone)]
pub struct Holdings {
    pub catalog: Catalog,
    pub revoked: Vec<String>,
    /// `None` when the push or feed state is unreadable: no emergency is due then (what
    /// was cancelled or revoked would be unknown).
    pub facts: Option<crate::core::emergency::Facts>,
}

impl Holdings {
    pub fn load(config: &Config) -> Holdings {
        let store = Store::of(&config.station);
        let feed = store.feed_state();
        let push = store.push_state();
        let holdings = Holdings {
            catalog: gather(config, &store, &feed, &push),
            revoked: revoked(&feed),
            facts: emergency_facts(&feed, &push),
        };
        for p in &holdings.catalog.problems {
            tracing::error!("{p}");
        }
        holdings
    }

    /// The emergencies due now (see `core::emergency`).
    pub fn due(
        &self,
        now: chrono::DateTime<chrono_tz::Tz>,
        trusted_now: chrono::DateTime<chrono::Utc>,
    ) -> Vec<crate::core::emergency::Emergency> {
        match &self.facts {
            Some(facts) => crate::core::emergency::due(&self.catalog, facts, now, trusted_now),
            None => {
                tracing::error!("no emergency can be played: the push or feed state is unreadable");
                Vec::new()
            }
        }
    }
}

type Read<T> = Result<T, StateError>;

fn revoked(feed: &Read<FeedState>) -> Vec<String> {
    feed.as_ref()
        .ok()
        .and_then(|f| f.manifest.as_ref())
        .map(|m| m.revoked.clone())
        .unwrap_or_default()
}

fn gather(
    config: &Config,
    store: &Store,
    feed: &Read<FeedState>,
    push: &Read<PushState>,
) -> Catalog {
    let mut catalog = Catalog::local(
        config.schedule.campaigns.clone(),
        config.schedule.bulletins.clone(),
    );
    let feed = match feed {
        Ok(state) => held(&config.station, state),
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
    let (pushed, cancelled) = match push {
        Ok(state) => (store.pushed_bulletins(state), &state.cancelled),
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
struct Held {
    campaigns: Vec<crate::core::catalog::Campaign>,
    bulletins: Vec<crate::core::catalog::Bulletin>,
    sequence: Option<u64>,
}

/// The feed's campaigns and the bulletins this station holds, ready for the catalog.
/// Bulletins not (yet) stored, revoked, or for other stations are left out.
fn held(station: &Station, state: &FeedState) -> Held {
    use crate::core::catalog::{Bulletin, Campaign, Source};
    let Some(m) = &state.manifest else {
        return Held::default();
    };
    let campaigns = m
        .campaigns
        .iter()
        .filter_map(|c| {
            let min_gap = c
                .min_gap
                .get()
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
            if b.sound().size().is_some_and(|expected| size != expected) {
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
    Held {
        campaigns,
        bulletins,
        sequence: Some(m.sequence),
    }
}

fn emergency_facts(
    feed: &Read<FeedState>,
    push: &Read<PushState>,
) -> Option<crate::core::emergency::Facts> {
    use crate::core::emergency::{Facts, PushedEmergency};
    let (Ok(feed), Ok(state)) = (feed, push) else {
        return None;
    };
    Some(Facts {
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
        done: state.emergencies_done.clone(),
        revoked: feed
            .manifest
            .as_ref()
            .map(|m| m.revoked.clone())
            .unwrap_or_default(),
    })
}
