//! The full decode every file from outside (feed, push, speech engine) passes before it
//! is ever scheduled, run in a child process (`loaxa validate-audio`) so that a decoder
//! that crashes, loops or swells on a malformed file costs a refusal, not the daemon.
//! The child limits its own address space; the parent stops it after a time limit.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use chrono::TimeDelta;
use wait_timeout::ChildExt;

use super::ingest::{MediaError, MediaInfo};
use crate::config::station::Audio;

/// A check that takes longer than this is stopped: even four hours of MP3 decode in well
/// under a minute on a station PC.
pub const TIME_LIMIT: Duration = Duration::from_secs(180);
/// The child's address space: decoding streams, and needs a few MB.
pub const MEMORY_LIMIT: u64 = 512 * 1024 * 1024;

/// Why a file did not pass the check.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CheckError {
    /// The file is not audio the station plays (it does not decode, is damaged, too
    /// long, or the decoder crashed or looped on it): the sender's to fix.
    #[error("{0}")]
    Refused(String),
    /// The check could not be made (the child did not start or answered nonsense): says
    /// nothing of the file, which may pass another time.
    #[error("{0}")]
    NotMade(String),
}

/// Decodes the file from start to end in a child process (`loaxa validate-audio`).
pub fn validate_audio(
    validator: &Path,
    file: &Path,
    audio: &Audio,
) -> Result<MediaInfo, CheckError> {
    run_check(validator, file, audio.max_duration, TIME_LIMIT)
}

fn run_check(
    validator: &Path,
    file: &Path,
    max_duration: TimeDelta,
    limit: Duration,
) -> Result<MediaInfo, CheckError> {
    let mut child = Command::new(validator)
        .arg("validate-audio")
        .arg(file)
        .arg("--max-duration-ms")
        .arg(max_duration.num_milliseconds().to_string())
        .env("LOAXA_LOG", "off")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| CheckError::NotMade(format!("cannot run the audio check: {e}")))?;
    // Both pipes are read while the child runs, so it never blocks on a full pipe.
    let read = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut out = Vec::new();
            if let Some(p) = pipe {
                let _ = p.take(1024 * 1024).read_to_end(&mut out);
            }
            out
        })
    };
    let stdout = read(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = read(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let status = match child.wait_timeout(limit) {
        Ok(Some(status)) => status,
        Ok(None) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(CheckError::Refused(format!(
                "the audio check did not finish in {}s and was stopped",
                limit.as_secs()
            )));
        }
        Err(e) => return Err(CheckError::NotMade(format!("the audio check: {e}"))),
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    if !status.success() {
        let stderr = String::from_utf8_lossy(&stderr);
        let why = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim()
            .trim_start_matches("error: ")
            .to_string();
        return Err(CheckError::Refused(if why.is_empty() {
            format!("the audio check crashed ({status})")
        } else {
            crate::core::text::clip_bytes(&why, 500)
        }));
    }
    serde_json::from_slice(&stdout)
        .map_err(|e| CheckError::NotMade(format!("the audio check answered nonsense: {e}")))
}

/// Run first thing in the child: a decoder that swells fails to allocate, and dies.
pub fn limit_memory() {
    if let Err(e) = rlimit::setrlimit(rlimit::Resource::AS, MEMORY_LIMIT, MEMORY_LIMIT) {
        tracing::warn!("the audio check runs without a memory limit: {e}");
    }
}

/// The check itself, run in the child: the whole file must decode, with no broken packets.
pub fn check_audio(file: &Path, max_duration: TimeDelta) -> Result<MediaInfo, MediaError> {
    let info = super::ingest::measure(file, max_duration)?;
    let not_audio = |reason: String| MediaError::NotAudio {
        path: file.to_path_buf(),
        reason,
    };
    if info.bad_packets > 0 {
        return Err(not_audio(format!(
            "it is damaged: {} packets did not decode",
            info.bad_packets
        )));
    }
    if info.duration_ms < 100 {
        return Err(not_audio(format!(
            "it holds no real audio ({} ms)",
            info.duration_ms
        )));
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_that_hangs_is_stopped() {
        // `sleep` ignores the arguments it does not know… so use a script that does.
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("hang");
        std::fs::write(&script, "#!/bin/sh\nsleep 30\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let started = std::time::Instant::now();
        let e = run_check(
            &script,
            Path::new("x.mp3"),
            TimeDelta::hours(4),
            Duration::from_millis(300),
        )
        .unwrap_err();
        // A decoder that loops on a file is the file's doing: refused.
        assert!(
            matches!(&e, CheckError::Refused(why) if why.contains("did not finish")),
            "{e:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_check_that_cannot_be_made_says_nothing_of_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-such-loaxa");
        let e = run_check(
            &missing,
            Path::new("x.mp3"),
            TimeDelta::hours(4),
            Duration::from_secs(5),
        )
        .unwrap_err();
        assert!(matches!(e, CheckError::NotMade(_)), "{e:?}");
        // A child that answers something other than the measurement.
        let script = dir.path().join("babble");
        std::fs::write(&script, "#!/bin/sh\necho hello\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let e = run_check(
            &script,
            Path::new("x.mp3"),
            TimeDelta::hours(4),
            Duration::from_secs(5),
        )
        .unwrap_err();
        assert!(matches!(e, CheckError::NotMade(_)), "{e:?}");
    }
}
