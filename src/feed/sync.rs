//! The station's side of the feed: fetch, verify, download, validate, store.
//!
//! Nothing from the feed enters the catalog until the manifest's signature verifies
//! against `[feed] public_keys`, its sequence is newer than the last accepted one, and
//! each file has the announced size and sha256, fits `max_bulletin_bytes`, and decodes
//! from start to end in a separate process (a decoder crash cannot take the daemon down).
//! Everything is kept under `<state>/feed/` and survives restarts.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::manifest::{FORMAT_VERSION, FeedBulletin, Manifest};
use crate::config::station::Station;
use crate::media::MediaInfo;

/// A manifest larger than this is refused (thousands of bulletins fit in far less).
const MAX_MANIFEST_BYTES: u64 = 4 * 1024 * 1024;

/// What the station remembers of its feed between polls and restarts.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FeedState {
    /// The last accepted (verified) manifest.
    pub manifest: Option<Manifest>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// Files refused for what they are (not for a network error), by sha256: not fetched
    /// again, nor logged again, until a new manifest is accepted.
    #[serde(default)]
    pub refused: Vec<String>,
}

/// A bulletin file the station holds, verified and measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub path: PathBuf,
    pub info: MediaInfo,
}

/// One poll's result.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The accepted manifest or the set of stored files changed: re-plan.
    pub changed: bool,
    /// Refusals, each a sentence for the log and the as-run `rejected` record.
    pub rejected: Vec<String>,
}

pub fn dir(state_dir: &Path) -> PathBuf {
    state_dir.join("feed")
}

pub fn load_state(state_dir: &Path) -> FeedState {
    std::fs::read(dir(state_dir).join("state.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn save_state(state_dir: &Path, state: &FeedState) -> std::io::Result<()> {
    std::fs::create_dir_all(dir(state_dir))?;
    let json = serde_json::to_vec_pretty(state).map_err(std::io::Error::other)?;
    crate::fsutil::write_atomic(&dir(state_dir).join("state.json"), &json)
}

/// Where a bulletin's audio lives: a text bulletin's recording (see `tts`), else the
/// verified file, named by its content so a changed file is a new file.
pub fn audio_path(station: &Station, b: &FeedBulletin) -> PathBuf {
    match &b.text {
        Some(text) => {
            crate::tts::Speech::new(&station.tts, &station.state_dir).path_for(text.trim())
        }
        None => stored_path(&station.state_dir, b),
    }
}

/// What a refusal is remembered by: the file's hash, or the text bulletin's id.
fn refusal_key(b: &FeedBulletin) -> String {
    match &b.text {
        Some(_) => format!("text:{}", b.id),
        None => b.sha256.clone(),
    }
}

pub fn stored_path(state_dir: &Path, b: &FeedBulletin) -> PathBuf {
    let ext = Path::new(&b.url)
        .extension()
        .and_then(|e| e.to_str())
        .filter(|e| e.len() <= 5 && e.chars().all(|c| c.is_ascii_alphanumeric()))
        .unwrap_or("audio");
    dir(state_dir)
        .join("audio")
        .join(format!("{}.{ext}", b.sha256.to_ascii_lowercase()))
}

fn info_path(stored: &Path) -> PathBuf {
    crate::media::sidecar(stored)
}

/// What the feed gives the catalog: its campaigns, the bulletins this station holds, and
/// the sequence of the manifest they come from.
#[derive(Debug, Default)]
pub struct Held {
    pub campaigns: Vec<crate::catalog::Campaign>,
    pub bulletins: Vec<crate::catalog::Bulletin>,
    pub sequence: Option<u64>,
}

/// The feed's campaigns and the bulletins this station holds, ready for the catalog.
/// Bulletins not (yet) stored, revoked, or for other stations are left out.
pub fn catalog(station: &Station) -> Held {
    use crate::catalog::{Bulletin, Campaign, Source};
    let state = load_state(&station.state_dir);
    let Some(m) = state.manifest else {
        return Held::default();
    };
    let campaigns = m
        .campaigns
        .iter()
        .filter_map(|c| {
            let min_gap = crate::units::parse_duration(&c.min_gap)
                .inspect_err(|e| tracing::warn!("feed campaign {}: min_gap {e}; ignored", c.id))
                .ok()?;
            Some(Campaign {
                id: c.id.clone(),
                title: c.title.clone(),
                from: c.from,
                until: c.until,
                plays_per_day: c.plays_per_day,
                min_gap,
                sessions: c.sessions.clone(),
                priority: c.priority,
                source: Source::Feed,
            })
        })
        .collect();
    let bulletins = m
        .bulletins
        .iter()
        .enumerate()
        .filter(|(_, b)| b.targets_station(&station.station_id) && !m.revoked.contains(&b.id))
        .filter_map(|(n, b)| {
            let path = audio_path(station, b);
            let info: MediaInfo =
                serde_json::from_slice(&std::fs::read(info_path(&path)).ok()?).ok()?;
            path.is_file().then(|| Bulletin {
                id: b.id.clone(),
                title: b.title.clone(),
                campaign: b.campaign.clone(),
                priority: b.priority,
                source: Source::Feed,
                path,
                duration: info.span(station.audio.trim_silence_below).len,
                valid_from: b.valid_from,
                valid_until: b.valid_until,
                added: 1_000_000 + n as u64,
            })
        })
        .collect();
    Held {
        campaigns,
        bulletins,
        sequence: Some(m.sequence),
    }
}

/// Bulletin ids the province has revoked.
pub fn revoked(state_dir: &Path) -> Vec<String> {
    load_state(state_dir)
        .manifest
        .map(|m| m.revoked)
        .unwrap_or_default()
}

pub struct Syncer {
    station: Station,
    url: String,
    agent: ureq::Agent,
    /// The program that validates audio in a separate process (this binary).
    validator: PathBuf,
}

impl Syncer {
    pub fn new(station: &Station, validator: PathBuf) -> Option<Syncer> {
        let url = station.feed.url.clone()?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_recv_response(Some(Duration::from_secs(20)))
            .timeout_per_read(Some(Duration::from_secs(30)))
            .http_status_as_error(false)
            .build()
            .into();
        Some(Syncer {
            station: station.clone(),
            url,
            agent,
            validator,
        })
    }

    fn state_dir(&self) -> &Path {
        &self.station.state_dir
    }

    /// Fetches the manifest (conditionally), accepts it if it verifies and is newer, then
    /// brings in every file it lists that is still missing.
    pub fn poll(&self) -> Result<Outcome, String> {
        let mut state = load_state(self.state_dir());
        let mut outcome = Outcome::default();
        let mut req = self.agent.get(&self.url);
        if let Some(etag) = &state.etag {
            req = req.header("If-None-Match", etag);
        }
        if let Some(lm) = &state.last_modified {
            req = req.header("If-Modified-Since", lm);
        }
        let response = req.call().map_err(|e| format!("feed unreachable: {e}"))?;
        match response.status().as_u16() {
            304 => {}
            200 => {
                let etag = header(&response, "etag");
                let last_modified = header(&response, "last-modified");
                let bytes = read_limited(response.into_body().into_reader(), MAX_MANIFEST_BYTES)
                    .map_err(|e| format!("feed manifest: {e}"))?;
                match self.accept(&bytes, state.manifest.as_ref()) {
                    Ok(manifest) => {
                        tracing::info!(
                            "feed sequence {} accepted ({} bulletins)",
                            manifest.sequence,
                            manifest.bulletins.len()
                        );
                        state.manifest = Some(manifest);
                        state.refused.clear();
                        outcome.changed = true;
                    }
                    Err(why) => outcome
                        .rejected
                        .push(format!("feed manifest refused: {why}")),
                }
                // Remember the validators either way: an unchanged bad manifest costs a 304 next time.
                state.etag = etag;
                state.last_modified = last_modified;
                save_state(self.state_dir(), &state)
                    .map_err(|e| format!("cannot save the feed state: {e}"))?;
            }
            code => return Err(format!("feed answered HTTP {code}")),
        }
        if outcome.changed
            && let Some(manifest) = &state.manifest
        {
            self.collect_garbage(manifest);
        }
        if let Some(manifest) = state.manifest.clone() {
            let before = state.refused.len();
            self.fetch_files(&manifest, &mut state.refused, &mut outcome);
            if state.refused.len() != before {
                save_state(self.state_dir(), &state)
                    .map_err(|e| format!("cannot save the feed state: {e}"))?;
            }
        }
        Ok(outcome)
    }

    /// Deletes stored and partial files the accepted manifest no longer lists for this
    /// station (revoked, withdrawn, re-targeted), so the disk does not fill up over years.
    /// A file being played stays readable until it is closed.
    fn collect_garbage(&self, manifest: &Manifest) {
        let keep: Vec<String> = manifest
            .bulletins
            .iter()
            .filter(|b| {
                b.targets_station(&self.station.station_id) && !manifest.revoked.contains(&b.id)
            })
            .map(|b| b.sha256.to_ascii_lowercase())
            .collect();
        for sub in ["audio", "partial"] {
            let Ok(entries) = std::fs::read_dir(dir(self.state_dir()).join(sub)) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let sha = name.split('.').next().unwrap_or("");
                if !keep.iter().any(|k| k == sha) {
                    tracing::info!("feed: removing {sub}/{name}, no longer in the feed");
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
    }

    /// Signature, version and sequence checks of a fetched manifest.
    fn accept(&self, bytes: &[u8], current: Option<&Manifest>) -> Result<Manifest, String> {
        let sig_url = format!(
            "{}.minisig",
            self.url.split(['?', '#']).next().unwrap_or(&self.url)
        );
        let sig = self
            .agent
            .get(&sig_url)
            .call()
            .map_err(|e| format!("no signature ({e})"))?;
        if sig.status().as_u16() != 200 {
            return Err(format!(
                "no signature (HTTP {} for {sig_url})",
                sig.status().as_u16()
            ));
        }
        let sig_text = read_limited(sig.into_body().into_reader(), 4096)
            .map_err(|e| format!("signature: {e}"))?;
        let sig_text =
            String::from_utf8(sig_text).map_err(|_| "the signature is not text".to_string())?;
        crate::signing::verify(bytes, &sig_text, &self.station.feed.public_keys)
            .map_err(|e| e.to_string())?;
        let manifest: Manifest =
            serde_json::from_slice(bytes).map_err(|e| format!("not a loaxa feed: {e}"))?;
        if manifest.loaxa_feed != FORMAT_VERSION {
            return Err(format!(
                "feed format {} is not supported (this station reads {FORMAT_VERSION})",
                manifest.loaxa_feed
            ));
        }
        if let Some(cur) = current
            && manifest.sequence <= cur.sequence
        {
            return Err(format!(
                "sequence {} is not newer than the accepted {} (a replay or a rollback)",
                manifest.sequence, cur.sequence
            ));
        }
        Ok(manifest)
    }

    fn fetch_files(&self, manifest: &Manifest, refused: &mut Vec<String>, outcome: &mut Outcome) {
        for b in &manifest.bulletins {
            if !b.targets_station(&self.station.station_id)
                || manifest.revoked.contains(&b.id)
                || refused.contains(&refusal_key(b))
            {
                continue;
            }
            let target = audio_path(&self.station, b);
            if target.is_file() {
                continue;
            }
            let fetched = match &b.text {
                Some(text) => crate::tts::Speech::new(&self.station.tts, self.state_dir())
                    .render(text)
                    .map(|_| ())
                    .map_err(|why| Fetch::Refused(format!("its text cannot be spoken: {why}"))),
                None => self.fetch_one(b, &target),
            };
            match fetched {
                Ok(()) => {
                    tracing::info!("feed bulletin {} stored", b.id);
                    outcome.changed = true;
                }
                Err(Fetch::Retry(why)) => tracing::warn!("feed bulletin {}: {why}", b.id),
                Err(Fetch::Refused(why)) => {
                    refused.push(refusal_key(b));
                    outcome
                        .rejected
                        .push(format!("feed bulletin {} refused: {why}", b.id));
                }
            }
        }
    }

    /// Downloads (resuming a partial file), checks size and sha256, validates the audio in a
    /// separate process, then moves it into place atomically.
    fn fetch_one(&self, b: &FeedBulletin, target: &Path) -> Result<(), Fetch> {
        use Fetch::{Refused, Retry};
        let max = self.station.feed.max_bulletin_bytes;
        if b.size > max {
            return Err(Refused(format!(
                "{} bytes is over max_bulletin_bytes ({max})",
                b.size
            )));
        }
        if b.sha256.len() != 64 || !b.sha256.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(Refused("its sha256 is not 64 hex digits".into()));
        }
        let url = self.resolve(&b.url).map_err(Refused)?;
        let partial = dir(self.state_dir())
            .join("partial")
            .join(b.sha256.to_ascii_lowercase());
        std::fs::create_dir_all(partial.parent().unwrap_or(Path::new(".")))
            .map_err(|e| Retry(e.to_string()))?;
        let have = std::fs::metadata(&partial).map_or(0, |m| m.len());
        let mut req = self.agent.get(&url);
        if have > 0 && have < b.size {
            req = req.header("Range", &format!("bytes={have}-"));
        }
        let response = req
            .call()
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
                return Err(Refused(format!(
                    "the file is larger than the {} bytes announced",
                    b.size
                )));
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
            return Err(Refused(format!(
                "size mismatch: announced {} bytes, the server has {got}",
                b.size
            )));
        }
        let bytes = std::fs::read(&partial).map_err(|e| Retry(e.to_string()))?;
        let sha = crate::signing::hex(&Sha256::digest(&bytes));
        if !sha.eq_ignore_ascii_case(&b.sha256) {
            let _ = std::fs::remove_file(&partial);
            return Err(Refused(format!(
                "sha256 mismatch (announced {}, got {sha})",
                b.sha256
            )));
        }
        let info = validate_audio(&self.validator, &partial)
            .inspect_err(|_| {
                let _ = std::fs::remove_file(&partial);
            })
            .map_err(Refused)?;
        std::fs::create_dir_all(target.parent().unwrap_or(Path::new(".")))
            .map_err(|e| Retry(e.to_string()))?;
        // What the check measured, so the daemon never decodes an unvetted file itself.
        let sidecar = serde_json::to_vec(&info).map_err(|e| Retry(e.to_string()))?;
        crate::fsutil::write_atomic(&info_path(target), &sidecar)
            .map_err(|e| Retry(e.to_string()))?;
        std::fs::rename(&partial, target).map_err(|e| Retry(e.to_string()))?;
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
            return Err(format!("its url {url:?} leaves the feed directory"));
        }
        let base = self
            .url
            .rsplit_once('/')
            .map_or(self.url.as_str(), |(b, _)| b);
        Ok(format!("{base}/{url}"))
    }
}

/// Why a file did not come in: worth another try later, or refused for what it is.
enum Fetch {
    Retry(String),
    Refused(String),
}

fn header(response: &ureq::http::Response<ureq::Body>, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
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

/// Decodes the file from start to end in a child process (`loaxa validate-audio`).
pub fn validate_audio(validator: &Path, file: &Path) -> Result<MediaInfo, String> {
    let out = std::process::Command::new(validator)
        .arg("validate-audio")
        .arg(file)
        .env("LOAXA_LOG", "off")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run the audio check: {e}"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let why = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim()
            .trim_start_matches("error: ")
            .to_string();
        return Err(if why.is_empty() {
            format!("the audio check crashed ({})", out.status)
        } else {
            why
        });
    }
    serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("the audio check answered nonsense: {e}"))
}

/// The check itself, run in the child: the whole file must decode, with no broken packets.
pub fn check_audio(file: &Path) -> Result<MediaInfo, String> {
    let info = crate::media::measure(file).map_err(|e| e.to_string())?;
    if info.bad_packets > 0 {
        return Err(format!(
            "{} is damaged: {} packets did not decode",
            file.display(),
            info.bad_packets
        ));
    }
    if info.duration_ms < 100 {
        return Err(format!(
            "{} holds no real audio ({} ms)",
            file.display(),
            info.duration_ms
        ));
    }
    Ok(info)
}
