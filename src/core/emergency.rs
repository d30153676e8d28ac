//! Which emergencies must play now (SPEC §3): pushed or feed bulletins of priority
//! `emergency` and no campaign, valid today, not cancelled or revoked, and not yet played
//! through. The engine plays them at once; one cut by a crash is found here again after
//! the restart, as long as it is still valid.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::core::catalog::{Bulletin, Catalog, Source};
use crate::remote::push::{self, DEFAULT_REPEAT};

#[derive(Debug, Clone, PartialEq)]
pub struct Emergency {
    pub bulletin: Bulletin,
    pub repeat: u32,
    /// When the station took it: its plays are "scheduled" for then (late_ms = reaction time).
    pub since: DateTime<Utc>,
}

/// The emergencies due now, oldest first. `trusted_now` judges expiry (the clock, or the
/// trusted time when the clock is behind it: see `trust`). Without a readable push or
/// feed state none is due: what was cancelled or revoked would be unknown.
pub fn due(
    state_dir: &std::path::Path,
    catalog: &Catalog,
    now: DateTime<Tz>,
    trusted_now: DateTime<Utc>,
) -> Vec<Emergency> {
    let (state, revoked) = match (
        push::load(state_dir),
        crate::remote::feed::sync::revoked(state_dir),
    ) {
        (Ok(s), Ok(r)) => (s, r),
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!("no emergency can be played: {e}");
            return Vec::new();
        }
    };
    let today = now.date_naive();
    let mut out: Vec<Emergency> = catalog
        .emergencies
        .iter()
        .filter(|b| b.valid_on(today))
        .filter(|b| !state.emergencies_done.contains(&b.id) && !revoked.contains(&b.id))
        .filter_map(|b| {
            let pushed = state.bulletins.iter().find(|p| p.id == b.id);
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
