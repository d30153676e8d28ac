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

    /// The status the daemon last saved (`None`: it never saved one here).
    pub fn read_status(&self) -> Result<Option<Status>, super::files::StateError> {
        super::files::read::<Option<Status>>(&self.status_file())
    }
}
