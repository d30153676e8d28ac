//! The station's own JSON state files (push state, feed state, trust): read strictly.
//!
//! Only a missing file means "nothing yet". A file that exists but cannot be read or
//! parsed is an error the caller must act on: read as empty, a corrupt push state would
//! forget every push id already seen (replays accepted) and a corrupt feed state its
//! sequence (rollbacks accepted), and the next save would overwrite the evidence.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StateError {
    #[error("{path} cannot be read: {why}")]
    Unreadable { path: PathBuf, why: String },
    #[error("{path} is corrupt ({why}); it is kept as it is for repair")]
    Corrupt { path: PathBuf, why: String },
    #[error("{path} cannot be saved: {why}")]
    NotSaved { path: PathBuf, why: String },
}

/// Reads `path` as JSON; a missing file is `T::default()`.
pub fn read<T: DeserializeOwned + Default>(path: &Path) -> Result<T, StateError> {
    crate::sys::fs::count_read();
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| StateError::Corrupt {
            path: path.to_path_buf(),
            why: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
        Err(e) => Err(StateError::Unreadable {
            path: path.to_path_buf(),
            why: e.to_string(),
        }),
    }
}

/// Writes `value` as JSON, atomically (see `fsutil::write_atomic`).
pub fn write<T: Serialize>(path: &Path, value: &T) -> Result<(), StateError> {
    let not_saved = |why: String| StateError::NotSaved {
        path: path.to_path_buf(),
        why,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| not_saved(e.to_string()))?;
    }
    let json = serde_json::to_vec_pretty(value).map_err(|e| not_saved(e.to_string()))?;
    crate::sys::fs::write_atomic(path, &json).map_err(|e| not_saved(e.to_string()))
}
