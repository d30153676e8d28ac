//! Crash-safe file writes: a reader sees the old file or the new one, never half of one.

use std::cell::Cell;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

thread_local! {
    /// Files written (made or appended to) by this thread: the playout's must stay at 0
    /// (tests/suite/playout_thread.rs). A counter per thread costs nothing to keep.
    static WRITES: Cell<u64> = const { Cell::new(0) };
    /// State files read by this thread (`store::files::read`).
    static READS: Cell<u64> = const { Cell::new(0) };
}

/// Counts a file write made by this thread (every write in `sys::fs`, the as-run log's
/// appends).
pub fn count_write() {
    WRITES.with(|w| w.set(w.get() + 1));
}

/// Files this thread has written so far.
pub fn writes_on_this_thread() -> u64 {
    WRITES.with(Cell::get)
}

/// Counts a state file read by this thread.
pub fn count_read() {
    READS.with(|r| r.set(r.get() + 1));
}

/// State files this thread has read so far.
pub fn reads_on_this_thread() -> u64 {
    READS.with(Cell::get)
}

/// Writes `bytes` to a temp file beside `path`, syncs it, renames it over `path`, and
/// syncs the directory so the rename itself survives a power cut.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_mode(path, bytes, None)
}

/// As `write_atomic`, readable by everyone (0644): a file meant to be served, such as
/// the province's feed, which a web server running as another user must read. (A temp
/// file is born 0600, and `rsync -a` keeps that mode.)
pub fn write_public(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_mode(path, bytes, Some(0o644))
}

fn write_atomic_mode(path: &Path, bytes: &[u8], mode: Option<u32>) -> io::Result<()> {
    count_write();
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    #[cfg(unix)]
    if let Some(mode) = mode {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(mode))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    if let Ok(d) = File::open(dir) {
        d.sync_all()?;
    }
    Ok(())
}
