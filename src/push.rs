//! Bulletins pushed to the station by the province (SPEC §8): the signed push manifest,
//! the checks an upload must pass, and what the station keeps under `<state>/push/`.
//!
//! Order of the checks: signature first (nothing unsigned is even parsed for meaning),
//! then the manifest, the id (never seen before), expiry, size, sha256, and a full decode
//! in a separate process. A refused push leaves nothing behind: its upload is a temp file
//! that is deleted when the check fails.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::catalog::{Bulletin, Priority, Source};
use crate::config::station::Station;

pub const FORMAT_VERSION: u32 = 1;
/// How often an emergency plays when the push does not say.
pub const DEFAULT_REPEAT: u32 = 3;
/// The most repeats a push may ask for (a typo must not hold the speakers for hours).
pub const MAX_REPEAT: u32 = 20;
/// The manifest and signature parts are small; anything bigger is not one.
pub const MAX_MANIFEST_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushManifest {
    pub loaxa_push: u32,
    pub id: String,
    #[serde(default)]
    pub issued_at: Option<DateTime<FixedOffset>>,
    #[serde(default)]
    pub expires_at: Option<DateTime<FixedOffset>>,
    pub action: String,
    #[serde(default)]
    pub bulletin: Option<PushBulletin>,
    #[serde(default)]
    pub cancel: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushBulletin {
    pub title: String,
    #[serde(default = "normal")]
    pub priority: Priority,
    #[serde(default)]
    pub repeat: Option<u32>,
    /// Of the audio part; absent for a text bulletin.
    #[serde(default)]
    pub sha256: Option<String>,
    #[serde(default)]
    pub size: Option<u64>,
    /// Instead of audio: the text the station speaks (see `tts`); the signature covers it.
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub campaign: Option<String>,
    #[serde(default)]
    pub valid_from: Option<NaiveDate>,
    #[serde(default)]
    pub valid_until: Option<NaiveDate>,
    #[serde(default)]
    pub targets: Vec<String>,
}

fn normal() -> Priority {
    Priority::Normal
}

/// Why a push was refused; each maps to one HTTP status (SPEC §8).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PushError {
    #[error("{0}")]
    Malformed(String),
    #[error("{0}")]
    Signature(String),
    #[error("push id {0:?} was already accepted; a push is taken once")]
    Duplicate(String),
    #[error("{0}")]
    Expired(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    NotAudio(String),
    #[error("{0}")]
    Mismatch(String),
    #[error("{0}")]
    Internal(String),
}

impl PushError {
    pub fn status(&self) -> u16 {
        match self {
            PushError::Malformed(_) => 400,
            PushError::Signature(_) => 401,
            PushError::Duplicate(_) => 409,
            PushError::Expired(_) => 410,
            PushError::TooLarge(_) => 413,
            PushError::NotAudio(_) => 415,
            PushError::Mismatch(_) => 422,
            PushError::Internal(_) => 500,
        }
    }

    /// A short label for metrics and the as-run log.
    pub fn label(&self) -> &'static str {
        match self {
            PushError::Malformed(_) => "malformed",
            PushError::Signature(_) => "signature",
            PushError::Duplicate(_) => "duplicate",
            PushError::Expired(_) => "expired",
            PushError::TooLarge(_) => "too_large",
            PushError::NotAudio(_) => "not_audio",
            PushError::Mismatch(_) => "mismatch",
            PushError::Internal(_) => "internal",
        }
    }
}

/// The audio part of an upload, already on disk (a temp file in the push dir).
pub struct UploadedAudio {
    pub file: tempfile::NamedTempFile,
    pub size: u64,
    pub sha256: String,
}

/// One multipart upload, as received.
#[derive(Default)]
pub struct Upload {
    pub manifest: Option<Vec<u8>>,
    pub signature: Option<Vec<u8>>,
    pub audio: Option<UploadedAudio>,
}

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
    fn plays_once(&self) -> bool {
        self.campaign.is_none() && self.valid_until.is_none()
    }
}

/// What the station remembers of pushes, across restarts: `<state>/push/state.json`.
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

/// What an accepted push did.
#[derive(Debug, Clone, PartialEq)]
pub enum Accepted {
    Bulletin(Pushed),
    Cancel { id: String, cancels: String },
}

/// Read-modify-write of the state file is serialised: the API and the engine both write.
static STATE_LOCK: Mutex<()> = Mutex::new(());

pub fn dir(state_dir: &Path) -> PathBuf {
    state_dir.join("push")
}

pub fn audio_dir(state_dir: &Path) -> PathBuf {
    dir(state_dir).join("audio")
}

/// Where uploads wait while they are checked (same file system as the store: rename works).
pub fn upload_dir(state_dir: &Path) -> PathBuf {
    dir(state_dir).join("incoming")
}

pub fn load(state_dir: &Path) -> PushState {
    std::fs::read(dir(state_dir).join("state.json"))
        .ok()
        .and_then(|b| {
            serde_json::from_slice(&b)
                .inspect_err(|e| tracing::error!("push state unreadable: {e}"))
                .ok()
        })
        .unwrap_or_default()
}

/// Applies `change` to the stored state and saves it atomically.
pub fn update<R>(state_dir: &Path, change: impl FnOnce(&mut PushState) -> R) -> std::io::Result<R> {
    let _guard = STATE_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let mut state = load(state_dir);
    let result = change(&mut state);
    std::fs::create_dir_all(dir(state_dir))?;
    let json = serde_json::to_vec_pretty(&state).map_err(std::io::Error::other)?;
    crate::fsutil::write_atomic(&dir(state_dir).join("state.json"), &json)?;
    Ok(result)
}

/// The pushed bulletins the planner may place (not emergencies: the engine plays those at
/// once), and those it must not.
pub fn catalog_bulletins(state_dir: &Path) -> Vec<Bulletin> {
    let state = load(state_dir);
    state
        .bulletins
        .iter()
        .enumerate()
        .filter(|(_, p)| !(state.cancelled.contains(&p.id) || p.plays_once() && p.aired))
        .map(|(n, p)| bulletin_of(state_dir, p, n))
        .collect()
}

pub fn bulletin_of(state_dir: &Path, p: &Pushed, n: usize) -> Bulletin {
    Bulletin {
        id: p.id.clone(),
        title: p.title.clone(),
        campaign: p.campaign.clone(),
        priority: p.priority,
        source: Source::Push,
        path: audio_dir(state_dir).join(&p.file),
        duration: chrono::TimeDelta::milliseconds(p.duration_ms as i64),
        valid_from: p.valid_from,
        valid_until: p.valid_until,
        added: 2_000_000 + n as u64,
    }
}

/// Checks an upload against the station's keys and clock, and stores it if it passes.
/// `validator` is the program that decodes audio in a child process (`loaxa`).
pub fn accept(
    station: &Station,
    validator: &Path,
    now: DateTime<Utc>,
    upload: Upload,
) -> Result<Accepted, PushError> {
    let manifest_bytes = upload
        .manifest
        .ok_or_else(|| PushError::Malformed("the `manifest` part is missing".into()))?;
    let signature = upload.signature.ok_or_else(|| {
        PushError::Signature("the `signature` part is missing: pushes must be signed".into())
    })?;
    let signature = String::from_utf8(signature)
        .map_err(|_| PushError::Signature("the signature is not a minisign text file".into()))?;
    crate::signing::verify(&manifest_bytes, &signature, &station.feed.public_keys)
        .map_err(|e| PushError::Signature(format!("signature refused: {e}")))?;

    let m: PushManifest = serde_json::from_slice(&manifest_bytes)
        .map_err(|e| PushError::Malformed(format!("manifest: {e}")))?;
    if m.loaxa_push != FORMAT_VERSION {
        return Err(PushError::Malformed(format!(
            "manifest: loaxa_push {} is not a version this station reads (expected {FORMAT_VERSION})",
            m.loaxa_push
        )));
    }
    check_id(&m.id)?;
    if load(&station.state_dir).seen.contains(&m.id) {
        return Err(PushError::Duplicate(m.id));
    }
    if let Some(expires) = m.expires_at
        && expires.to_utc() <= now
    {
        return Err(PushError::Expired(format!(
            "push {} expired at {expires}; the station's clock says {}",
            m.id,
            now.with_timezone(&expires.timezone())
        )));
    }
    match m.action.as_str() {
        "bulletin" => accept_bulletin(station, validator, now, m, upload.audio),
        "cancel" => accept_cancel(station, m, upload.audio),
        other => Err(PushError::Malformed(format!(
            "manifest: unknown action {other:?}; use \"bulletin\" or \"cancel\""
        ))),
    }
}

fn check_id(id: &str) -> Result<(), PushError> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(PushError::Malformed(format!(
            "manifest: id {id:?} must be 1–128 of A–Z a–z 0–9 - _ . (not starting with a dot)"
        )))
    }
}

fn accept_cancel(
    station: &Station,
    m: PushManifest,
    audio: Option<UploadedAudio>,
) -> Result<Accepted, PushError> {
    if audio.is_some() {
        return Err(PushError::Malformed(
            "a cancel carries no `audio` part".into(),
        ));
    }
    if m.bulletin.is_some() {
        return Err(PushError::Malformed(
            "a cancel carries no `bulletin` object".into(),
        ));
    }
    let target = m.cancel.clone().ok_or_else(|| {
        PushError::Malformed(
            "manifest: action \"cancel\" needs \"cancel\": \"<bulletin id>\"".into(),
        )
    })?;
    let stored = update(&station.state_dir, |s| {
        if s.seen.contains(&m.id) {
            return Err(PushError::Duplicate(m.id.clone()));
        }
        s.seen.push(m.id.clone());
        if !s.cancelled.contains(&target) {
            s.cancelled.push(target.clone());
        }
        let mut freed = Vec::new();
        for p in s.bulletins.iter().filter(|p| p.id == target) {
            let file = audio_dir(&station.state_dir).join(&p.file);
            freed.push(crate::media::sidecar(&file));
            freed.push(file);
        }
        Ok(freed)
    })
    .map_err(|e| PushError::Internal(format!("push state not saved: {e}")))??;
    for f in stored {
        let _ = std::fs::remove_file(f);
    }
    Ok(Accepted::Cancel {
        id: m.id,
        cancels: target,
    })
}

fn accept_bulletin(
    station: &Station,
    validator: &Path,
    now: DateTime<Utc>,
    m: PushManifest,
    audio: Option<UploadedAudio>,
) -> Result<Accepted, PushError> {
    let b = m.bulletin.clone().ok_or_else(|| {
        PushError::Malformed("manifest: action \"bulletin\" needs a \"bulletin\" object".into())
    })?;
    if m.cancel.is_some() {
        return Err(PushError::Malformed(
            "manifest: \"cancel\" belongs to action \"cancel\" only".into(),
        ));
    }
    if b.title.trim().is_empty() {
        return Err(PushError::Malformed("bulletin.title is empty".into()));
    }
    if !b.targets.is_empty() && !b.targets.contains(&station.station_id) {
        return Err(PushError::Malformed(format!(
            "this push is for {:?}, not for station {}",
            b.targets, station.station_id
        )));
    }
    if let (Some(from), Some(until)) = (b.valid_from, b.valid_until)
        && until < from
    {
        return Err(PushError::Malformed(
            "bulletin.valid_until is before valid_from".into(),
        ));
    }
    let repeat = b.repeat.unwrap_or(if b.priority == Priority::Emergency {
        DEFAULT_REPEAT
    } else {
        1
    });
    if repeat == 0 || repeat > MAX_REPEAT {
        return Err(PushError::Malformed(format!(
            "bulletin.repeat must be 1–{MAX_REPEAT}, not {repeat}"
        )));
    }
    let audio = match (&b.text, audio) {
        (Some(_), Some(_)) => {
            return Err(PushError::Malformed(
                "a text bulletin carries no `audio` part".into(),
            ));
        }
        (Some(text), None) => spoken(station, text)?,
        (None, audio) => {
            let (Some(sha256), Some(size)) = (&b.sha256, b.size) else {
                return Err(PushError::Malformed(
                    "bulletin needs \"sha256\" and \"size\" of its audio (or \"text\" instead of audio)"
                        .into(),
                ));
            };
            let max = station.feed.max_bulletin_bytes;
            if size > max {
                return Err(PushError::TooLarge(format!(
                    "bulletin.size {size} is over this station's limit of {max} bytes"
                )));
            }
            let audio =
                audio.ok_or_else(|| PushError::Malformed("the `audio` part is missing".into()))?;
            if audio.size != size {
                return Err(PushError::Mismatch(format!(
                    "the audio is {} bytes; the signed manifest says {size}",
                    audio.size
                )));
            }
            if !audio.sha256.eq_ignore_ascii_case(sha256) {
                return Err(PushError::Mismatch(format!(
                    "the audio's sha256 is {}; the signed manifest says {sha256}",
                    audio.sha256
                )));
            }
            audio
        }
    };
    let info = crate::feed::sync::validate_audio(validator, audio.file.path()).map_err(|why| {
        // The temp file's name means nothing to the sender.
        let why = why.replace(&audio.file.path().display().to_string(), "it");
        PushError::NotAudio(format!("the audio does not decode: {why}"))
    })?;

    let ext = audio
        .file
        .path()
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("audio")
        .to_string();
    let file = format!("{}.{ext}", m.id);
    let pushed = Pushed {
        id: m.id.clone(),
        title: b.title.clone(),
        priority: b.priority,
        repeat,
        campaign: b.campaign.clone(),
        valid_from: b.valid_from,
        valid_until: b.valid_until,
        expires_at: m.expires_at.map(|t| t.to_utc()),
        accepted_at: now,
        file: file.clone(),
        duration_ms: info
            .span(station.audio.trim_silence_below)
            .len
            .num_milliseconds()
            .max(0) as u64,
        sha256: audio.sha256.to_ascii_lowercase(),
        size: audio.size,
        aired: false,
    };
    let dest = audio_dir(&station.state_dir).join(&file);
    std::fs::create_dir_all(audio_dir(&station.state_dir))
        .map_err(|e| PushError::Internal(format!("cannot store the audio: {e}")))?;
    update(&station.state_dir, |s| {
        if s.seen.contains(&m.id) {
            return Err(PushError::Duplicate(m.id.clone()));
        }
        let measured = serde_json::to_vec(&info).map_err(std::io::Error::other);
        audio
            .file
            .as_file()
            .sync_all()
            .and(measured)
            .and_then(|json| crate::fsutil::write_atomic(&crate::media::sidecar(&dest), &json))
            .and_then(|_| audio.file.persist(&dest).map(|_| ()).map_err(|e| e.error))
            .map_err(|e| PushError::Internal(format!("cannot store the audio: {e}")))?;
        s.seen.push(m.id.clone());
        s.bulletins.push(pushed.clone());
        Ok(())
    })
    .map_err(|e| PushError::Internal(format!("push state not saved: {e}")))??;
    Ok(Accepted::Bulletin(pushed))
}

/// A text bulletin spoken by the station, as if its recording had been uploaded.
fn spoken(station: &Station, text: &str) -> Result<UploadedAudio, PushError> {
    let wav = crate::tts::Speech::new(&station.tts, &station.state_dir)
        .render(text)
        .map_err(|why| PushError::NotAudio(format!("the text cannot be spoken: {why}")))?;
    let internal = |e: std::io::Error| PushError::Internal(format!("cannot keep the speech: {e}"));
    let dir = upload_dir(&station.state_dir);
    std::fs::create_dir_all(&dir).map_err(internal)?;
    let bytes = std::fs::read(&wav).map_err(internal)?;
    let mut file = tempfile::Builder::new()
        .prefix("spoken-")
        .suffix(".wav")
        .tempfile_in(&dir)
        .map_err(internal)?;
    std::io::Write::write_all(&mut file, &bytes).map_err(internal)?;
    Ok(UploadedAudio {
        file,
        size: bytes.len() as u64,
        sha256: crate::signing::hex(&sha2::Sha256::digest(&bytes)),
    })
}

/// Marks a pushed bulletin as played to its end.
pub fn mark_aired(state_dir: &Path, id: &str) {
    let changed = update(state_dir, |s| {
        for p in s.bulletins.iter_mut().filter(|p| p.id == id) {
            p.aired = true;
        }
    });
    if let Err(e) = changed {
        tracing::warn!("push state not saved: {e}");
    }
}

/// Marks an emergency as done (all repeats played, or cancelled).
pub fn mark_emergency_done(state_dir: &Path, id: &str) {
    let changed = update(state_dir, |s| {
        if !s.emergencies_done.iter().any(|d| d == id) {
            s.emergencies_done.push(id.to_string());
        }
        for p in s.bulletins.iter_mut().filter(|p| p.id == id) {
            p.aired = true;
        }
    });
    if let Err(e) = changed {
        tracing::warn!("push state not saved: {e}");
    }
}

/// Removes files of cancelled or spent pushes and forgets bulletins past their end date.
/// `seen` is kept whole: a replay must stay refused.
pub fn cleanup(state_dir: &Path, today: NaiveDate) {
    let mut freed = Vec::new();
    let result = update(state_dir, |s| {
        let cancelled = s.cancelled.clone();
        s.bulletins.retain(|p| {
            let over = p.valid_until.is_some_and(|d| d < today);
            let spent = p.plays_once() && p.aired;
            let keep = !over && !spent && !cancelled.contains(&p.id);
            if !keep {
                let file = audio_dir(state_dir).join(&p.file);
                freed.push(crate::media::sidecar(&file));
                freed.push(file);
            }
            keep
        });
    });
    if let Err(e) = result {
        tracing::warn!("push state not saved: {e}");
    }
    for f in freed {
        let _ = std::fs::remove_file(f);
    }
}
