//! `<state>/status.json`: the daemon's last status, for `loaxa status` when the daemon
//! does not answer.

use std::path::PathBuf;

use super::Store;
use crate::core::status::Status;

impl Store {
    fn status_file(&self) -> PathBuf {
        self.path("status.json")
    }

    pub fn write_status(&self, status: &Status) -> Result<(), super::files::StateError> {
        super::files::write(&self.status_file(), status)
    }

    pub fn read_status(&self) -> Result<Status, String> {
        let p = self.status_file();
        let bytes = std::fs::read(&p).map_err(|e| {
            format!(
                "no status at {} ({e}): is `loaxa run` running?",
                p.display()
            )
        })?;
        serde_json::from_slice(&bytes).map_err(|e| format!("{} is unreadable: {e}", p.display()))
    }
}
