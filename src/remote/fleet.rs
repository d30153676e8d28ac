//! A push that came by the fleet channel (SPEC §13), the station's side: the same checks,
//! refusals and replay rules as an HTTP push (`remote::push`), in the same order of
//! trust. Only the signature is trusted, never the broker: the message is parsed
//! (bounded), the signature and manifest checked, and only then is the audio fetched
//! from the URL the signed manifest names, never past the size it announces, hashed on
//! the way, and decoded in a child process before anything is stored.

use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::config::station::Station;
use crate::core::fleet::PushMessage;
use crate::core::push::{Checked, CheckedWhat, Clocks, Judged, PushError};
use crate::core::sound::Sound;
use crate::remote::push::{self, Accepted, UploadedAudio};
use crate::store::Store;
use crate::store::trust::Trust;
use crate::sys::clock::Clock;

/// A fetch that sends nothing for this long is given up.
const STALL: Duration = Duration::from_secs(20);
/// The longest a fetch may take whatever its size. Fetches run side by side
/// (`daemon::fleet`), so a slow server costs only its own push this long.
const FETCH_LIMIT: Duration = Duration::from_secs(300);

/// What the station knows to judge a push by.
pub struct Judge<'a> {
    pub station: &'a Station,
    /// The program that decodes audio in a child process (`loaxa validate-audio`).
    pub validator: &'a Path,
    pub trust: &'a Trust,
    pub clock: &'a dyn Clock,
}

/// A push message's outcome: what it did, or why it was refused (with the id it claims,
/// for the acknowledgement).
pub struct Refused {
    pub id: Option<String>,
    pub error: PushError,
}

/// A push message whose signature, manifest, id and validity passed (`Judge::admit`):
/// what is left to do is its audio, the slow part.
pub struct Admitted {
    pub id: String,
    checked: Checked,
    /// When the province signed it, if the station's clock judged it (a trusted time).
    issued: Option<chrono::DateTime<chrono::Utc>>,
}

impl Admitted {
    /// An emergency or a cancel: taken before anything else that waits.
    pub fn urgent(&self) -> bool {
        match &self.checked.what {
            CheckedWhat::Cancel { .. } => true,
            CheckedWhat::Bulletin { bulletin, .. } => {
                bulletin.priority == crate::core::catalog::Priority::Emergency
            }
        }
    }
}

impl Judge<'_> {
    /// The fast checks, as a message arrives (parsed, bounded, by `PushMessage::parse`):
    /// the signature, the manifest, the id never seen, validity. No network, no
    /// decoding: tens of microseconds, so a flood of forged or replayed messages is
    /// refused as fast as the broker can send it and never waits in a queue beside a
    /// genuine push.
    pub fn admit(&self, message: &PushMessage) -> Result<Admitted, PushError> {
        if let Some(why) = self.trust.problem() {
            return Err(PushError::Unavailable(why.to_string()));
        }
        let now = self.clock.now();
        let clocks = Clocks {
            station: self.trust.now(now),
            real: self.clock.shifted_by().map(|shift| now - shift),
        };
        let checked = push::check(
            self.station,
            clocks,
            message.manifest.as_bytes(),
            message.signature.as_bytes(),
        )?;
        let issued = checked
            .manifest
            .issued_at
            .map(|t| t.to_utc())
            .filter(|_| checked.judged == Judged::Station);
        Ok(Admitted {
            id: checked.manifest.id.clone(),
            checked,
            issued,
        })
    }

    /// Takes an admitted push: fetches its audio (bounded in size and time), decodes it in
    /// a child process and stores it. Blocking: run it off the async workers.
    pub fn take(&self, admitted: Admitted) -> Result<Accepted, Refused> {
        let id = Some(admitted.id.clone());
        self.take_admitted(admitted)
            .map_err(|error| Refused { id, error })
    }

    fn take_admitted(&self, admitted: Admitted) -> Result<Accepted, PushError> {
        let Admitted {
            checked, issued, ..
        } = admitted;
        let audio = match &checked.what {
            CheckedWhat::Bulletin {
                sound: Sound::File { url, size, sha256 },
                ..
            } => {
                let url = url.as_deref().ok_or_else(|| {
                    PushError::Malformed(
                        "a bulletin pushed by the fleet channel names its audio with `url` (or carries `text`)".into(),
                    )
                })?;
                let audio = self.fetch(url, *size)?;
                if !audio.sha256.eq_ignore_ascii_case(sha256) {
                    return Err(PushError::Mismatch(format!(
                        "the audio at {url} has sha256 {}; the signed manifest says {sha256}",
                        audio.sha256
                    )));
                }
                Some(audio)
            }
            _ => None,
        };
        let accepted = push::accept(
            self.station,
            self.validator,
            self.clock.now(),
            checked,
            audio,
        )?;
        if let Some(t) = issued
            && let Err(e) = self.trust.saw_signed(t)
        {
            tracing::error!("{e}");
        }
        Ok(accepted)
    }

    /// Fetches the audio to a temp file in the push uploads dir: at most `size` bytes
    /// are taken (one more is a refusal), hashed on the way.
    fn fetch(&self, url: &str, size: u64) -> Result<UploadedAudio, PushError> {
        check_url(url)?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_recv_response(Some(STALL))
            .timeout_per_read(Some(STALL))
            .timeout_global(Some(FETCH_LIMIT))
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        let unreachable = |e: ureq::Error| {
            PushError::Unreachable(format!("the audio cannot be fetched from {url}: {e}"))
        };
        let mut response = agent.get(url).call().map_err(unreachable)?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(PushError::Unreachable(format!(
                "the audio cannot be fetched from {url}: HTTP {status}"
            )));
        }
        let dir = Store::of(self.station).push_uploads();
        let internal =
            |e: std::io::Error| PushError::Internal(format!("cannot keep the audio: {e}"));
        std::fs::create_dir_all(&dir).map_err(internal)?;
        let mut file = tempfile::Builder::new()
            .prefix("fetched-")
            .suffix(&extension(url))
            .tempfile_in(&dir)
            .map_err(internal)?;
        let mut reader = response.body_mut().as_reader().take(size + 1);
        let mut hasher = Sha256::new();
        let mut got: u64 = 0;
        let mut buf = vec![0u8; 64 * 1024];
        let started = Instant::now();
        loop {
            let n = reader.read(&mut buf).map_err(|e| {
                PushError::Unreachable(format!("the audio from {url} broke off: {e}"))
            })?;
            if n == 0 {
                break;
            }
            got += n as u64;
            if got > size {
                return Err(PushError::TooLarge(format!(
                    "the audio at {url} is larger than the {size} bytes its signed manifest announces"
                )));
            }
            if started.elapsed() > FETCH_LIMIT {
                return Err(PushError::Unreachable(format!(
                    "the audio from {url} took over {}s",
                    FETCH_LIMIT.as_secs()
                )));
            }
            hasher.update(&buf[..n]);
            file.write_all(&buf[..n]).map_err(internal)?;
        }
        if got != size {
            return Err(PushError::Mismatch(format!(
                "the audio at {url} is {got} bytes; the signed manifest says {size}"
            )));
        }
        file.flush().map_err(internal)?;
        Ok(UploadedAudio {
            file,
            size: got,
            sha256: crate::remote::signing::hex(&hasher.finalize()),
        })
    }
}

/// An absolute http(s) URL with a host, of bounded length.
pub fn check_url(url: &str) -> Result<(), PushError> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    let host_ok = rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or("");
        !host.is_empty() && !host.contains('@')
    });
    if url.len() > 2048 || !host_ok || url.chars().any(|c| c.is_control() || c == ' ') {
        return Err(PushError::Malformed(format!(
            "`url` {:?} is not an absolute http(s) address",
            crate::core::text::shorten(url, 80)
        )));
    }
    Ok(())
}

/// The URL's file extension, when it is a plain one: it helps the decoder's probe.
pub fn extension(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or("");
    let name = path.rsplit('/').next().unwrap_or("");
    name.rsplit_once('.')
        .map(|(_, e)| e)
        .filter(|e| e.len() <= 5 && !e.is_empty() && e.chars().all(|c| c.is_ascii_alphanumeric()))
        .map(|e| format!(".{}", e.to_ascii_lowercase()))
        .unwrap_or_else(|| ".audio".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(check_url("http://tinh.example/a/b.mp3").is_ok());
        assert!(check_url("https://10.0.0.1:8080/x").is_ok());
        for bad in [
            "ftp://x/a",
            "http://",
            "/a.mp3",
            "http://u@x/a",
            "http://x/a b",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
        assert_eq!(extension("http://x/a/b.MP3?v=1"), ".mp3");
        assert_eq!(extension("http://x/a/b"), ".audio");
    }
}
