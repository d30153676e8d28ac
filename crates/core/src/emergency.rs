//! Which emergencies must play now (SPEC §3): pushed or feed bulletins of priority
//! `emergency` and no campaign, valid today, not cancelled or revoked, and not yet played
//! through. The engine plays them at once; one cut by a crash is found here again after
//! the restart, as long as it is still valid.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::catalog::{Bulletin, Catalog, Source};
use super::push::DEFAULT_REPEAT;

#[derive(Debug, Clone, PartialEq)]
pub struct Emergency {
    pub bulletin: Bulletin,
    pub repeat: u32,
    /// When the station took it: its plays are "scheduled" for then (late_ms = reaction time).
    pub since: DateTime<Utc>,
}

/// What the station holds of a pushed emergency.
#[derive(Debug, Clone, PartialEq)]
pub struct PushedEmergency {
    pub id: String,
    pub repeat: u32,
    pub expires_at: Option<DateTime<Utc>>,
    pub accepted_at: DateTime<Utc>,
}

/// What the emergencies due depend on, besides the catalog and the time.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub pushed: Vec<PushedEmergency>,
    /// Played through, or cancelled.
    pub done: Vec<String>,
    pub revoked: Vec<String>,
}

/// The emergencies due now, oldest first. `trusted_now` judges expiry (the clock, or the
/// trusted time when the clock is behind it).
pub fn due(
    catalog: &Catalog,
    facts: &Facts,
    now: DateTime<Tz>,
    trusted_now: DateTime<Utc>,
) -> Vec<Emergency> {
    let today = now.date_naive();
    let mut out: Vec<Emergency> = catalog
        .emergencies
        .iter()
        .filter(|b| b.valid_on(today))
        .filter(|b| !facts.done.contains(&b.id) && !facts.revoked.contains(&b.id))
        .filter_map(|b| {
            let pushed = facts.pushed.iter().find(|p| p.id == b.id);
            match (b.source, pushed) {
                (Source::Push, Some(p)) => {
                    if p.expires_at.is_some_and(|t| t <= trusted_now) {
                        return None;
                    }
                    Some(Emergency {
                        bulletin: b.clone(),
                        repeat: p.repeat,
                        since: p.accepted_at,
                    })
                }
                (Source::Push, None) => None,
                _ => Some(Emergency {
                    bulletin: b.clone(),
                    repeat: DEFAULT_REPEAT,
                    since: now.to_utc(),
                }),
            }
        })
        .collect();
    out.sort_by_key(|e| (e.since, e.bulletin.added));
    out
}
