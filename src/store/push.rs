//! What the station keeps of pushes, across restarts: `<state>/push/state.json` (ids
//! seen, bulletins held, cancels, emergencies done) and the audio under `push/audio/`.

use std::path::PathBuf;
use std::sync::Mutex;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::Store;
use super::files::{self, StateError};
use crate::core::catalog::{Bulletin, Priority, Source};

/// A pushed bulletin the station holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pushed {
    pub id: String,
    pub title: String,
    pub priority: Priority,
    pub repeat: u32,
    pub campaign: Option<String>,
    pub valid_from: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
    pub expires_at: Option<DateTime<Utc>>,
    pub accepted_at: DateTime<Utc>,
    /// File name under `<state>/push/audio/`.
    pub file: String,
    pub duration_ms: u64,
    pub sha256: String,
    pub size: u64,
    /// Played to its end at least once (a bulletin without campaign or end date plays once).
    #[serde(default)]
    pub aired: bool,
}

impl Pushed {
    pub fn is_emergency(&self) -> bool {
        self.priority == Priority::Emergency && self.campaign.is_none()
    }

    /// Plays once and is then done: no campaign and no end date.
    pub fn plays_once(&self) -> bool {
        self.campaign.is_none() && self.valid_until.is_none()
    }
}

/// What the station remembers of pushes, across restarts.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PushState {
    /// Every accepted push id (bulletins and cancels): a replay is refused.
    pub seen: Vec<String>,
    pub bulletins: Vec<Pushed>,
    /// Bulletin ids withdrawn by a cancel: pushed or from the feed, they never play again.
    pub cancelled: Vec<String>,
    /// Emergencies (pushed or from the feed) that played all their repeats.
    pub emergencies_done: Vec<String>,
}

/// Read-modify-write of the state file is serialised: the API and the engine both write.
static STATE_LOCK: Mutex<()> = Mutex::new(());

impl Store {
    fn push_state_file(&self) -> PathBuf {
        self.path("push/state.json")
    }

    /// Where a pushed bulletin's audio is kept.
    pub fn push_audio(&self, file: &str) -> PathBuf {
        self.path("push/audio").join(file)
    }

    /// Where uploads wait while they are checked (same file system as the audio: a rename
    /// moves them in).
    pub fn push_uploads(&self) -> PathBuf {
        self.path("push/incoming")
    }

    /// Removes uploads a crash left behind.
    pub fn clean_uploads(&self) {
        if let Ok(entries) = std::fs::read_dir(self.push_uploads()) {
            for e in entries.flatten() {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }

    /// The stored push state; a missing file is an empty state, an unreadable one an error.
    pub fn push_state(&self) -> Result<PushState, StateError> {
        files::read(&self.push_state_file())
    }

    /// Applies `change` to the stored state and saves it atomically. A state that cannot be
    /// read is left untouched (and the change not made).
    pub fn update_push<R>(
        &self,
        change: impl FnOnce(&mut PushState) -> R,
    ) -> Result<R, StateError> {
        let _guard = STATE_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        let mut state = self.push_state()?;
        let result = change(&mut state);
        files::write(&self.push_state_file(), &state)?;
        Ok(result)
    }

    /// The pushed bulletins the planner may place (not the spent or cancelled ones).
    pub fn pushed_bulletins(&self, state: &PushState) -> Vec<Bulletin> {
        state
            .bulletins
            .iter()
            .enumerate()
            .filter(|(_, p)| !(state.cancelled.contains(&p.id) || p.plays_once() && p.aired))
            .map(|(n, p)| Bulletin {
                id: p.id.clone(),
                title: p.title.clone(),
                campaign: p.campaign.clone(),
                priority: p.priority,
                source: Source::Push,
                path: self.push_audio(&p.file),
                duration: chrono::TimeDelta::milliseconds(p.duration_ms as i64),
                valid_from: p.valid_from,
                valid_until: p.valid_until,
                added: 2_000_000 + n as u64,
            })
            .collect()
    }

    /// Marks a pushed bulletin as played to its end.
    pub fn mark_aired(&self, id: &str) -> Result<(), StateError> {
        self.update_push(|s| {
            for p in s.bulletins.iter_mut().filter(|p| p.id == id) {
                p.aired = true;
            }
        })
    }

    /// Marks an emergency as done (all repeats played, or cancelled).
    pub fn mark_emergency_done(&self, id: &str) -> Result<(), StateError> {
        self.update_push(|s| {
            if !s.emergencies_done.iter().any(|d| d == id) {
                s.emergencies_done.push(id.to_string());
            }
            for p in s.bulletins.iter_mut().filter(|p| p.id == id) {
                p.aired = true;
            }
        })
    }

    /// Removes files of cancelled or spent pushes and forgets bulletins past their end date.
    /// `seen` is kept whole: a replay must stay refused.
    pub fn clean_pushes(&self, today: NaiveDate) {
        let mut freed = Vec::new();
        let result = self.update_push(|s| {
            let cancelled = s.cancelled.clone();
            s.bulletins.retain(|p| {
                let over = p.valid_until.is_some_and(|d| d < today);
                let spent = p.plays_once() && p.aired;
                let keep = !over && !spent && !cancelled.contains(&p.id);
                if !keep {
                    freed.push(self.push_audio(&p.file));
                }
                keep
            });
        });
        if let Err(e) = result {
            tracing::warn!("push state not saved: {e}");
        }
        for f in freed {
            self.remove_with_sidecar(&f);
        }
    }

    /// Deletes a stored file and the measurement beside it.
    pub fn remove_with_sidecar(&self, file: &std::path::Path) {
        let _ = std::fs::remove_file(super::media::sidecar(file));
        let _ = std::fs::remove_file(file);
    }
}
