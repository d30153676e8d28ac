//! The station's side of the feed: fetch, verify, download, validate, store.
//!
//! Nothing from the feed enters the catalog until the manifest's signature verifies
//! against `[feed] public_keys`, its sequence is newer than any accepted before, every
//! entry is within bounds (`vet`), and each file has the announced size and sha256, fits
//! `max_bulletin_bytes`, and decodes from start to end in a separate process with time and
//! memory limits (a decoder crash cannot take the daemon down). Everything is kept under
//! `<state>/feed/` and survives restarts; the highest sequence also in `trust`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::vet;
use crate::config::station::Station;
use crate::core::feed::{FeedBulletin, Manifest};
use crate::core::sound::Sound;
use crate::store::Store;
use crate::store::files::StateError;
use crate::store::trust::Trust;

/// A manifest larger than this is refused (thousands of bulletins fit in far less).
const MAX_MANIFEST_BYTES: u64 = 4 * 1024 * 1024;
/// Redirects are followed this many times, and only on the same scheme and host.
const MAX_REDIRECTS: usize = 5;
/// A manifest or signature fetch may take this long in all.
const SMALL_FETCH: Duration = Duration::from_secs(60);
/// A file download may take 60 s plus this long per byte (16 KiB/s: a poor 3G link).
const SLOWEST_BYTES_PER_SEC: u64 = 16 * 1024;

/// Why a manifest or a bulletin was refused; its label is the metrics' `reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// An entry out of bounds (dates, counts, sizes, ids).
    Bounds,
    /// No signature, or one that does not verify against `[feed] public_keys`.
    Signature,
    /// Not a manifest, or a bulletin address that cannot be used.
    Malformed,
    /// A sequence not newer than one accepted before.
    Replay,
    /// A file not of the size or sha256 announced.
    Mismatch,
    /// A file that does not decode, or a text that cannot be spoken.
    NotAudio,
}

impl RefusalKind {
    pub fn label(self) -> &'static str {
        match self {
            RefusalKind::Bounds => "bounds",
            RefusalKind::Signature => "signature",
            RefusalKind::Malformed => "malformed",
            RefusalKind::Replay => "replay",
            RefusalKind::Mismatch => "mismatch",
            RefusalKind::NotAudio => "not_audio",
        }
    }
}

/// One refusal: its kind, and a sentence for the log and the as-run record.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub kind: RefusalKind,
    pub message: String,
}

/// Why a poll took nothing at all; its label is the metrics' `kind`.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    /// The trust marks cannot be read: nothing is believed until they are repaired.
    #[error("{0}")]
    Untrusted(String),
    #[error("feed state unreadable ({0}); nothing new is taken from the feed until it is repaired")]
    State(StateError),
    #[error("cannot save the feed state: {0}")]
    Save(StateError),
    #[error("feed unreachable: {0}")]
    Unreachable(String),
    #[error("feed answered HTTP {0}")]
    Http(u16),
    #[error("feed manifest: {0}")]
    Read(String),
}

impl PollError {
    pub fn label(&self) -> &'static str {
        match self {
            PollError::Untrusted(_) => "untrusted",
            PollError::State(_) | PollError::Save(_) => "state",
            PollError::Unreachable(_) => "unreachable",
            PollError::Http(_) => "http",
            PollError::Read(_) => "read",
        }
    }
}

/// One poll's result.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The accepted manifest or the set of stored files changed: re-plan.
    pub changed: bool,
    pub rejected: Vec<Refusal>,
}

/// Where a bulletin's audio lives: a text bulletin's recording (see `speech`), else the
/// verified file.
pub fn audio_path(station: &Station, b: &FeedBulletin) -> PathBuf {
    match b.sound() {
        Sound::Text(text) => crate::audio::speech::Speech::of(station).path_for(text.trim()),
        Sound::File { .. } => Store::of(station).feed_file(b),
    }
}

/// What a refusal is remembered by: the file's hash, or the text bulletin's id.
fn refusal_key(b: &FeedBulletin) -> String {
    match b.sound() {
        Sound::Text(_) => format!("text:{}", b.id),
        Sound::File { sha256, .. } => sha256,
    }
}

/// One fetched manifest with its validators.
struct Fetched {
    bytes: Vec<u8>,
    etag: Option<String>,
    last_modified: Option<String>,
}

pub struct Syncer {
    station: Station,
    url: String,
    agent: ureq::Agent,
    /// The program that validates audio in a separate process (this binary).
    validator: PathBuf,
    trust: Arc<Trust>,
}

impl Syncer {
    pub fn new(station: &Station, validator: PathBuf, trust: Arc<Trust>) -> Option<Syncer> {
        let url = station.feed.url.clone()?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_recv_response(Some(Duration::from_secs(20)))
            .timeout_per_read(Some(Duration::from_secs(30)))
            .http_status_as_error(false)
            // Redirects are followed by hand, and only within the feed's own server.
            .max_redirects(0)
            .build()
            .into();
        Some(Syncer {
            station: station.clone(),
            url,
            agent,
            validator,
            trust,
        })
    }

    fn store(&self) -> Store {
        Store::of(&self.station)
    }

    /// Fetches the manifest (conditionally), accepts it if it verifies and is newer, then
    /// brings in every file it lists that is still missing. `now` is the station's clock
    /// (the rehearsal's, or a test's), never read here.
    pub fn poll(&self, now: chrono::DateTime<chrono::Utc>) -> Result<Outcome, PollError> {
        if let Some(why) = self.trust.problem() {
            return Err(PollError::Untrusted(why.to_string()));
        }
        let mut state = self.store().feed_state().map_err(PollError::State)?;
        let mut outcome = Outcome::default();
        let mut validators = Vec::new();
        if state.manifest.is_some() {
            if let Some(etag) = &state.etag {
                validators.push(("If-None-Match", etag.clone()));
            }
            if let Some(lm) = &state.last_modified {
                validators.push(("If-Modified-Since", lm.clone()));
            }
        }
        match self.fetch_manifest(&validators)? {
            None => {}
            Some(first) => {
                match self.accept(first, state.manifest.as_ref()) {
                    Ok((fetched, vetted)) => {
                        let m = vetted.manifest;
                        tracing::info!(
                            "feed sequence {} accepted ({} bulletins)",
                            m.sequence,
                            m.bulletins.len()
                        );
                        let generated = chrono::DateTime::parse_from_rfc3339(&m.generated_at)
                            .ok()
                            .map(|t| t.to_utc())
                            .filter(|t| {
                                *t <= self.trust.now(now) + crate::core::push::MAX_CLOCK_AHEAD
                            });
                        if let Err(e) = self.trust.accepted_feed(m.sequence, generated) {
                            tracing::error!("{e}");
                        }
                        outcome
                            .rejected
                            .extend(vetted.refused.into_iter().map(|message| Refusal {
                                kind: RefusalKind::Bounds,
                                message,
                            }));
                        state.manifest = Some(m);
                        state.etag = fetched.etag;
                        state.last_modified = fetched.last_modified;
                        state.refused.clear();
                        state.last_refusal = None;
                        outcome.changed = true;
                    }
                    Err((bytes, refusal)) => {
                        let seen = format!(
                            "{} {}",
                            crate::remote::signing::hex(&Sha256::digest(&bytes)),
                            refusal.message
                        );
                        if state.last_refusal.as_ref() != Some(&seen) {
                            outcome.rejected.push(Refusal {
                                kind: refusal.kind,
                                message: format!("feed manifest refused: {}", refusal.message),
                            });
                            state.last_refusal = Some(seen);
                        }
                    }
                }
                self.store()
                    .save_feed_state(&state)
                    .map_err(PollError::Save)?;
            }
        }
        if outcome.changed
            && let Some(manifest) = &state.manifest
        {
            self.collect_garbage(manifest);
            self.verify_stored(manifest);
        }
        if let Some(manifest) = state.manifest.clone() {
            let before = state.refused.len();
            self.fetch_files(&manifest, &mut state.refused, &mut outcome);
            if state.refused.len() != before {
                self.store()
                    .save_feed_state(&state)
                    .map_err(PollError::Save)?;
            }
        }
        Ok(outcome)
    }

    /// The manifest, or `None` when it has not changed (304).
    fn fetch_manifest(&self, validators: &[(&str, String)]) -> Result<Option<Fetched>, PollError> {
        let response = self
            .get(&self.url, validators, SMALL_FETCH)
            .map_err(PollError::Unreachable)?;
        match response.status().as_u16() {
            304 => Ok(None),
            200 => {
                let etag = header(&response, "etag");
                let last_modified = header(&response, "last-modified");
                let bytes = read_limited(response.into_body().into_reader(), MAX_MANIFEST_BYTES)
                    .map_err(PollError::Read)?;
                Ok(Some(Fetched {
                    bytes,
                    etag,
                    last_modified,
                }))
            }
            code => Err(PollError::Http(code)),
        }
    }

    /// GET with redirects followed by hand: same scheme and host only, a few at most.
    fn get(
        &self,
        url: &str,
        headers: &[(&str, String)],
        limit: Duration,
    ) -> Result<ureq::http::Response<ureq::Body>, String> {
        let mut url = url.to_string();
        for _ in 0..=MAX_REDIRECTS {
            let mut req = self
                .agent
                .get(&url)
                .config()
                .timeout_global(Some(limit))
                .build();
            for (k, v) in headers {
                req = req.header(*k, v);
            }
            let response = req.call().map_err(|e| e.to_string())?;
            let status = response.status().as_u16();
            if !(300..400).contains(&status) || status == 304 {
                return Ok(response);
            }
            let location = header(&response, "location")
                .ok_or_else(|| format!("HTTP {status} without a Location"))?;
            url = same_server_redirect(&url, &location)?;
        }
        Err(format!("more than {MAX_REDIRECTS} redirects"))
    }

    /// Deletes stored and partial files the accepted manifest no longer lists for this
    /// station (revoked, withdrawn, re-targeted), so the disk does not fill up over years.
    /// A file being played stays readable until it is closed.
    fn collect_garbage(&self, manifest: &Manifest) {
        let keep: Vec<String> = manifest
            .bulletins
            .iter()
            .filter(|b| b.is_for(&self.station.here()) && !manifest.revoked.contains(&b.id))
            .map(|b| b.sha256.to_ascii_lowercase())
            .collect();
        for (sha, path) in self.store().feed_files() {
            if !keep.contains(&sha) {
                tracing::info!("feed: removing {}, no longer in the feed", path.display());
                let _ = std::fs::remove_file(path);
            }
        }
    }

    /// A newly accepted manifest names files the station already holds: each must still
    /// be the file it names (a damaged disk, a hand-copied file): else it goes, and is
    /// fetched again.
    fn verify_stored(&self, manifest: &Manifest) {
        for b in manifest.bulletins.iter().filter(|b| !b.sound().is_text()) {
            let path = self.store().feed_file(b);
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            let sha = crate::remote::signing::hex(&Sha256::digest(&bytes));
            if !sha.eq_ignore_ascii_case(&b.sha256) {
                tracing::warn!(
                    "feed bulletin {}: the stored file is not the one the manifest names; fetching it again",
                    b.id
                );
                self.store().remove_with_sidecar(&path);
            }
        }
    }

    /// Signature, bounds and sequence checks of a fetched manifest. A signature that does
    /// not match may belong to a newer manifest published between our two fetches: the
    /// manifest is fetched once more before it is refused.
    fn accept(
        &self,
        fetched: Fetched,
        current: Option<&Manifest>,
    ) -> Result<(Fetched, vet::Vetted), (Vec<u8>, Refusal)> {
        let refuse =
            |bytes: &[u8], kind, message: String| Err((bytes.to_vec(), Refusal { kind, message }));
        let sig_text = match self.fetch_signature() {
            Ok(s) => s,
            Err(why) => return refuse(&fetched.bytes, RefusalKind::Signature, why),
        };
        let keys = &self.station.feed.public_keys;
        let fetched = match crate::remote::signing::verify(&fetched.bytes, &sig_text, keys) {
            Ok(()) => fetched,
            Err(crate::remote::signing::VerifyError::BadSignature) => {
                let again = self.fetch_manifest(&[]).ok().flatten();
                match again {
                    Some(f)
                        if crate::remote::signing::verify(&f.bytes, &sig_text, keys).is_ok() =>
                    {
                        f
                    }
                    _ => {
                        return refuse(
                            &fetched.bytes,
                            RefusalKind::Signature,
                            crate::remote::signing::VerifyError::BadSignature.to_string(),
                        );
                    }
                }
            }
            Err(e) => return refuse(&fetched.bytes, RefusalKind::Signature, e.to_string()),
        };
        let vetted = match vet::vet(&fetched.bytes, self.station.feed.max_bulletin_bytes) {
            Ok(v) => v,
            Err(why) => return refuse(&fetched.bytes, RefusalKind::Malformed, why),
        };
        let highest = current
            .map(|c| c.sequence)
            .max(self.trust.marks().feed_sequence);
        if let Some(seq) = highest
            && vetted.manifest.sequence <= seq
        {
            let message = format!(
                "sequence {} is not newer than the accepted {seq} (a replay or a rollback)",
                vetted.manifest.sequence
            );
            return refuse(&fetched.bytes, RefusalKind::Replay, message);
        }
        Ok((fetched, vetted))
    }

    fn fetch_signature(&self) -> Result<String, String> {
        let sig_url = format!(
            "{}.minisig",
            self.url.split(['?', '#']).next().unwrap_or(&self.url)
        );
        let sig = self
            .get(&sig_url, &[], SMALL_FETCH)
            .map_err(|e| format!("no signature ({e})"))?;
        if sig.status().as_u16() != 200 {
            return Err(format!(
                "no signature (HTTP {} for {sig_url})",
                sig.status().as_u16()
            ));
        }
        let sig_text = read_limited(sig.into_body().into_reader(), 4096)
            .map_err(|e| format!("signature: {e}"))?;
        String::from_utf8(sig_text).map_err(|_| "the signature is not text".to_string())
    }

    fn fetch_files(&self, manifest: &Manifest, refused: &mut Vec<String>, outcome: &mut Outcome) {
        for b in &manifest.bulletins {
            if !b.is_for(&self.station.here())
                || manifest.revoked.contains(&b.id)
                || refused.contains(&refusal_key(b))
            {
                continue;
            }
            let target = audio_path(&self.station, b);
            if target.is_file() {
                continue;
            }
            let fetched = match b.sound() {
                Sound::Text(text) => crate::audio::speech::Speech::of(&self.station)
                    .render(&text)
                    .map(|_| ())
                    .map_err(|why| {
                        Fetch::Refused(
                            RefusalKind::NotAudio,
                            format!("its text cannot be spoken: {why}"),
                        )
                    }),
                Sound::File { .. } => self.fetch_one(b, &target),
            };
            match fetched {
                Ok(()) => {
                    tracing::info!("feed bulletin {} stored", b.id);
                    outcome.changed = true;
                }
                Err(Fetch::Retry(why)) => tracing::warn!("feed bulletin {}: {why}", b.id),
                Err(Fetch::Refused(kind, why)) => {
                    refused.push(refusal_key(b));
                    outcome.rejected.push(Refusal {
                        kind,
                        message: format!("feed bulletin {} refused: {why}", b.id),
                    });
                }
            }
        }
    }

    /// Downloads (resuming a partial file), checks size and sha256, validates the audio in a
    /// separate process, then moves it into place atomically.
    fn fetch_one(&self, b: &FeedBulletin, target: &Path) -> Result<(), Fetch> {
        use Fetch::{Refused, Retry};
        let url = self
            .resolve(&b.url)
            .map_err(|e| Refused(RefusalKind::Malformed, e))?;
        let partial = self.store().feed_partial(&b.sha256);
        std::fs::create_dir_all(partial.parent().unwrap_or(Path::new(".")))
            .map_err(|e| Retry(e.to_string()))?;
        let have = std::fs::metadata(&partial).map_or(0, |m| m.len());
        let mut range = Vec::new();
        if have > 0 && have < b.size {
            range.push(("Range", format!("bytes={have}-")));
        }
        let limit = Duration::from_secs(60 + b.size / SLOWEST_BYTES_PER_SEC);
        let response = self
            .get(&url, &range, limit)
            .map_err(|e| Retry(format!("download failed: {e}")))?;
        let status = response.status().as_u16();
        let mut file = match status {
            206 => std::fs::OpenOptions::new().append(true).open(&partial),
            200 => std::fs::File::create(&partial),
            416 => {
                // Our partial file is longer than the server's: start over next time.
                let _ = std::fs::remove_file(&partial);
                return Err(Retry(format!(
                    "the server's file changed size; restarting the download of {url}"
                )));
            }
            code => return Err(Retry(format!("download failed: HTTP {code} for {url}"))),
        }
        .map_err(|e| Retry(e.to_string()))?;
        let already = if status == 206 { have } else { 0 };
        if status == 206 {
            tracing::info!("resuming {} at byte {have}", b.id);
        }
        // Never take more than announced: an endless or swollen body is cut off.
        let mut body = response
            .into_body()
            .into_reader()
            .take(b.size.saturating_sub(already) + 1);
        let mut buf = vec![0u8; 64 * 1024];
        let mut got = already;
        loop {
            let n = body
                .read(&mut buf)
                .map_err(|e| Retry(format!("download interrupted at byte {got}: {e}")))?;
            if n == 0 {
                break;
            }
            got += n as u64;
            if got > b.size {
                drop(file);
                let _ = std::fs::remove_file(&partial);
                return Err(Refused(
                    RefusalKind::Mismatch,
                    format!("the file is larger than the {} bytes announced", b.size),
                ));
            }
            file.write_all(&buf[..n])
                .map_err(|e| Retry(e.to_string()))?;
        }
        file.sync_all().map_err(|e| Retry(e.to_string()))?;
        drop(file);
        if got < b.size {
            // The server ended the body cleanly (a cut connection is a read error above):
            // its file is smaller than announced.
            let _ = std::fs::remove_file(&partial);
            return Err(Refused(
                RefusalKind::Mismatch,
                format!(
                    "size mismatch: announced {} bytes, the server has {got}",
                    b.size
                ),
            ));
        }
        self.keep(b, &partial, target)
    }

    /// A whole download kept: its hash checked, its audio checked in a child, its
    /// measurement written beside it, then moved into place.
    fn keep(&self, b: &FeedBulletin, partial: &Path, target: &Path) -> Result<(), Fetch> {
        use Fetch::{Refused, Retry};
        let sha = sha256_file(partial).map_err(|e| Retry(e.to_string()))?;
        if !sha.eq_ignore_ascii_case(&b.sha256) {
            let _ = std::fs::remove_file(partial);
            return Err(Refused(
                RefusalKind::Mismatch,
                format!("sha256 mismatch (announced {}, got {sha})", b.sha256),
            ));
        }
        let info = validate_audio(&self.validator, partial, &self.station.audio)
            .inspect_err(|_| {
                let _ = std::fs::remove_file(partial);
            })
            .map_err(|e| match e {
                CheckError::Refused(why) => Refused(RefusalKind::NotAudio, why),
                // Nothing known of the file: it is tried again, never refused for it.
                CheckError::NotMade(why) => Retry(why),
            })?;
        std::fs::create_dir_all(target.parent().unwrap_or(Path::new(".")))
            .map_err(|e| Retry(e.to_string()))?;
        // What the check measured, so the daemon never decodes an unvetted file itself.
        crate::store::media::write_sidecar(target, &info).map_err(|e| Retry(e.to_string()))?;
        std::fs::rename(partial, target).map_err(|e| Retry(e.to_string()))?;
        if let Some(d) = target.parent().and_then(|p| std::fs::File::open(p).ok()) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// A bulletin URL: absolute http(s), or relative to feed.json without leaving its directory.
    fn resolve(&self, url: &str) -> Result<String, String> {
        if url.starts_with("http://") || url.starts_with("https://") {
            return Ok(url.to_string());
        }
        if url.contains("://")
            || url.starts_with('/')
            || url.split(['/', '\\']).any(|part| part == "..")
            || url.contains('%')
        {
            return Err(format!(
                "its url {:?} leaves the feed directory",
                crate::core::text::shorten(url, 100)
            ));
        }
        let base = self
            .url
            .rsplit_once('/')
            .map_or(self.url.as_str(), |(b, _)| b);
        Ok(format!("{base}/{url}"))
    }
}

/// Where a redirect from `from` to `location` leads, if it stays on the same scheme and
/// host (and port): a feed server must not be able to send the station elsewhere.
pub fn same_server_redirect(from: &str, location: &str) -> Result<String, String> {
    let origin = |u: &str| -> Option<(String, String)> {
        let (scheme, rest) = u.split_once("://")?;
        let host = rest.split(['/', '?', '#']).next()?;
        Some((scheme.to_ascii_lowercase(), host.to_ascii_lowercase()))
    };
    let (scheme, host) = origin(from).ok_or("not an absolute URL")?;
    let next = if location.contains("://") {
        location.to_string()
    } else if location.starts_with('/') && !location.starts_with("//") {
        format!("{scheme}://{host}{location}")
    } else {
        return Err(format!(
            "redirect to {:?} refused: only absolute paths on the same server are followed",
            crate::core::text::shorten(location, 100)
        ));
    };
    match origin(&next) {
        Some(o) if o == (scheme.clone(), host.clone()) => Ok(next),
        _ => Err(format!(
            "redirect to {:?} refused: it leaves {scheme}://{host}",
            crate::core::text::shorten(location, 100)
        )),
    }
}

/// Why a file did not come in: worth another try later, or refused for what it is.
enum Fetch {
    Retry(String),
    Refused(RefusalKind, String),
}

fn header(response: &ureq::http::Response<ureq::Body>, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 256)
        .map(str::to_string)
}

fn read_limited(reader: impl Read, limit: u64) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    reader
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| e.to_string())?;
    if out.len() as u64 > limit {
        return Err(format!("larger than {limit} bytes"));
    }
    Ok(out)
}

fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(crate::remote::signing::hex(&hasher.finalize()));
        }
        hasher.update(&buf[..n]);
    }
}

pub use crate::audio::validate::{CheckError, check_audio, validate_audio};

#[cfg(test)]
mod tests {
    use super::same_server_redirect as r;

    #[test]
    fn redirects_stay_on_the_feed_server() {
        let from = "https://tinh.example:8443/loaxa/feed.json";
        assert_eq!(
            r(from, "/mirror/feed.json").unwrap(),
            "https://tinh.example:8443/mirror/feed.json"
        );
        assert!(r(from, "https://tinh.example:8443/x").is_ok());
        assert!(
            r(from, "http://tinh.example:8443/x").is_err(),
            "no downgrade"
        );
        assert!(r(from, "https://evil.example/x").is_err());
        assert!(r(from, "https://tinh.example/x").is_err(), "other port");
        assert!(r(from, "//evil.example/x").is_err());
        assert!(r(from, "x.json").is_err());
    }
}
