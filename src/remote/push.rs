//! Bulletins pushed to the station by the province (SPEC §8): the signed push manifest,
//! the checks an upload must pass, and what the station keeps under `<state>/push/`.
//!
//! Order of the checks: signature first (nothing unsigned is even parsed for meaning),
//! then the manifest, the id (never seen before), expiry, size, sha256, and a full decode
//! in a separate process. A refused push leaves nothing behind: its upload is a temp file
//! that is deleted when the check fails.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, FixedOffset, NaiveDate, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::config::station::Station;
use crate::core::catalog::{Bulletin, Priority, Source};
use crate::core::text::{clip_bytes, shorten};
use crate::store::files::{self, StateError};

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
    /// Stations a cancel applies at (empty: every station). A bulletin names its own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
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

/// The longest a push may be valid: a captured push cannot be replayed for long.
pub const MAX_VALIDITY: TimeDelta = TimeDelta::hours(24);
/// How far ahead of the station's clock `issued_at` may be (clocks are never exact).
pub const MAX_CLOCK_AHEAD: TimeDelta = TimeDelta::minutes(5);

/// Why a push was refused; each maps to one HTTP status (SPEC §8, §11).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PushError {
    #[error("{0}")]
    Malformed(String),
    /// Missing or implausible `issued_at` / `expires_at` (SPEC §11: 400 `validity`).
    #[error("{0}")]
    Validity(String),
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
    /// The body came in too slowly: the connection is cut rather than held.
    #[error("{0}")]
    TooSlow(String),
    /// The station cannot take pushes now (its push state is unreadable).
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

impl PushError {
    pub fn status(&self) -> u16 {
        match self {
            PushError::Malformed(_) | PushError::Validity(_) => 400,
            PushError::Signature(_) => 401,
            PushError::Duplicate(_) => 409,
            PushError::Expired(_) => 410,
            PushError::TooLarge(_) => 413,
            PushError::NotAudio(_) => 415,
            PushError::Mismatch(_) => 422,
            PushError::TooSlow(_) => 408,
            PushError::Unavailable(_) => 503,
            PushError::Internal(_) => 500,
        }
    }

    /// A short label for metrics and the as-run log.
    pub fn label(&self) -> &'static str {
        match self {
            PushError::Malformed(_) => "malformed",
            PushError::Validity(_) => "validity",
            PushError::Signature(_) => "signature",
            PushError::Duplicate(_) => "duplicate",
            PushError::Expired(_) => "expired",
            PushError::TooLarge(_) => "too_large",
            PushError::NotAudio(_) => "not_audio",
            PushError::Mismatch(_) => "mismatch",
            PushError::TooSlow(_) => "too_slow",
            PushError::Unavailable(_) => "unavailable",
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

fn state_path(state_dir: &Path) -> PathBuf {
    dir(state_dir).join("state.json")
}

/// The stored push state; a missing file is an empty state, an unreadable one an error.
pub fn load(state_dir: &Path) -> Result<PushState, StateError> {
    files::read(&state_path(state_dir))
}

/// Applies `change` to the stored state and saves it atomically. A state that cannot be
/// read is left untouched (and the change not made).
pub fn update<R>(
    state_dir: &Path,
    change: impl FnOnce(&mut PushState) -> R,
) -> Result<R, StateError> {
    let _guard = STATE_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let mut state = load(state_dir)?;
    let result = change(&mut state);
    files::write(&state_path(state_dir), &state)?;
    Ok(result)
}

/// The pushed bulletins the planner may place (not emergencies: the engine plays those at
/// once), and those it must not.
pub fn catalog_bulletins(state: &PushState, state_dir: &Path) -> Vec<Bulletin> {
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

/// A manifest whose signature, form, id and validity have been checked: all that can be
/// known before a single byte of audio is taken.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub manifest: PushManifest,
    pub what: CheckedWhat,
    pub judged: Judged,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CheckedWhat {
    Cancel {
        target: String,
    },
    /// Audio follows, of exactly this size and hash.
    Audio {
        bulletin: PushBulletin,
        repeat: u32,
        size: u64,
        sha256: String,
    },
    Text {
        bulletin: PushBulletin,
        repeat: u32,
        text: String,
    },
}

impl Checked {
    /// The audio part's size the signed manifest announces, if it announces one.
    pub fn audio_size(&self) -> Option<u64> {
        match &self.what {
            CheckedWhat::Audio { size, .. } => Some(*size),
            _ => None,
        }
    }
}

/// Checks the manifest and its signature against the station's keys and clocks. Order of trust: nothing about
/// the manifest is even parsed before its signature verifies.
pub fn check(
    station: &Station,
    clocks: Clocks,
    manifest_bytes: &[u8],
    signature: &[u8],
) -> Result<Checked, PushError> {
    let signature = std::str::from_utf8(signature)
        .map_err(|_| PushError::Signature("the signature is not a minisign text file".into()))?;
    crate::remote::signing::verify(manifest_bytes, signature, &station.feed.public_keys)
        .map_err(|e| PushError::Signature(format!("signature refused: {e}")))?;
    let state = load(&station.state_dir).map_err(unavailable)?;
    check_signed(station, clocks, manifest_bytes, &state)
}

/// Everything after the signature: form, id, validity, targets, sizes. `state` says
/// which ids were seen. No I/O (the fuzz harness drives it with any bytes).
pub fn check_signed(
    station: &Station,
    clocks: Clocks,
    manifest_bytes: &[u8],
    state: &PushState,
) -> Result<Checked, PushError> {
    let m: PushManifest = serde_json::from_slice(manifest_bytes)
        .map_err(|e| PushError::Malformed(clip_bytes(&format!("manifest: {e}"), 300)))?;
    if m.loaxa_push != FORMAT_VERSION {
        return Err(PushError::Malformed(format!(
            "manifest: loaxa_push {} is not a version this station reads (expected {FORMAT_VERSION})",
            m.loaxa_push
        )));
    }
    crate::core::catalog::check_id(&m.id)
        .map_err(|e| PushError::Malformed(format!("manifest: {e}")))?;
    if state.seen.contains(&m.id) {
        return Err(PushError::Duplicate(m.id));
    }
    let judged = check_validity(&m, clocks)?;
    if !applies_here(&m.targets, &station.station_id) {
        return Err(not_here(&m.targets, &station.station_id));
    }
    let what = match m.action.as_str() {
        "bulletin" => check_bulletin(station, &m)?,
        "cancel" => check_cancel(&m)?,
        other => {
            return Err(PushError::Malformed(format!(
                "manifest: unknown action {:?}; use \"bulletin\" or \"cancel\"",
                shorten(other, 40)
            )));
        }
    };
    Ok(Checked {
        manifest: m,
        what,
        judged,
    })
}

fn unavailable(e: StateError) -> PushError {
    PushError::Unavailable(format!(
        "the station's push state is unreadable ({e}); no push is accepted until it is repaired; the broadcast goes on"
    ))
}

/// The clocks a push is judged by.
#[derive(Debug, Clone, Copy)]
pub struct Clocks {
    /// The station's clock, raised to the trusted time (see `trust`).
    pub station: DateTime<Utc>,
    /// During a rehearsal (`--start-at`), the real time: the province's tools sign on the
    /// real clock, so a push issued on it just now is judged on it.
    pub real: Option<DateTime<Utc>>,
}

impl Clocks {
    pub fn station(now: DateTime<Utc>) -> Clocks {
        Clocks {
            station: now,
            real: None,
        }
    }
}

/// SPEC §11: `expires_at` required, at most 24 h after `issued_at`, `issued_at` not in
/// the station's future; then expiry itself (410). Returns the clock it was judged by.
fn check_validity(m: &PushManifest, clocks: Clocks) -> Result<Judged, PushError> {
    let issued = m.issued_at.ok_or_else(|| {
        PushError::Validity(
            "manifest: issued_at is missing: a push must say when it was made".into(),
        )
    })?;
    let expires = m.expires_at.ok_or_else(|| {
        PushError::Validity(
            "manifest: expires_at is missing: a push must say until when it is valid (at most 24 h after issued_at)"
                .into(),
        )
    })?;
    if expires <= issued {
        return Err(PushError::Validity(format!(
            "manifest: expires_at {expires} is not after issued_at {issued}"
        )));
    }
    if expires.to_utc() - issued.to_utc() > MAX_VALIDITY {
        return Err(PushError::Validity(format!(
            "manifest: valid from {issued} to {expires}: a push may be valid for at most 24 h"
        )));
    }
    let plausible = |now: DateTime<Utc>| {
        issued.to_utc() <= now + MAX_CLOCK_AHEAD && issued.to_utc() > now - MAX_VALIDITY
    };
    let (now, judged) = if issued.to_utc() <= clocks.station + MAX_CLOCK_AHEAD {
        (clocks.station, Judged::Station)
    } else if let Some(real) = clocks.real.filter(|r| plausible(*r)) {
        (real, Judged::Real)
    } else {
        return Err(PushError::Validity(format!(
            "manifest: issued_at {issued} is in the future: the station's clock says {} (check the province's clock, or this station's)",
            clocks.station.with_timezone(&issued.timezone())
        )));
    };
    if expires.to_utc() <= now {
        return Err(PushError::Expired(format!(
            "push {} expired at {expires}; the station's clock says {}",
            m.id,
            now.with_timezone(&expires.timezone())
        )));
    }
    Ok(judged)
}

/// Which clock a push was judged by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judged {
    Station,
    /// The real clock, during a rehearsal: its times say nothing about the station's.
    Real,
}

/// Empty targets: every station; else the station must be named.
pub fn applies_here(targets: &[String], station_id: &str) -> bool {
    targets.is_empty() || targets.iter().any(|t| t == station_id)
}

fn not_here(targets: &[String], station_id: &str) -> PushError {
    let named: Vec<String> = targets.iter().take(5).map(|t| shorten(t, 64)).collect();
    PushError::Malformed(format!(
        "this push is for {named:?}{}, not for station {station_id}",
        if targets.len() > 5 { " and others" } else { "" }
    ))
}

fn check_cancel(m: &PushManifest) -> Result<CheckedWhat, PushError> {
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
    crate::core::catalog::check_id(&target)
        .map_err(|e| PushError::Malformed(format!("cancel: {e}")))?;
    Ok(CheckedWhat::Cancel { target })
}

fn check_bulletin(station: &Station, m: &PushManifest) -> Result<CheckedWhat, PushError> {
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
    if b.title.chars().count() > crate::core::catalog::MAX_TITLE_CHARS {
        return Err(PushError::Malformed(format!(
            "bulletin.title is over {} characters",
            crate::core::catalog::MAX_TITLE_CHARS
        )));
    }
    if let Some(c) = &b.campaign {
        crate::core::catalog::check_id(c)
            .map_err(|e| PushError::Malformed(format!("bulletin.campaign: {e}")))?;
    }
    if !applies_here(&b.targets, &station.station_id) {
        return Err(not_here(&b.targets, &station.station_id));
    }
    if let (Some(from), Some(until)) = (b.valid_from, b.valid_until)
        && until < from
    {
        return Err(PushError::Malformed(
            "bulletin.valid_until is before valid_from".into(),
        ));
    }
    for d in [b.valid_from, b.valid_until].into_iter().flatten() {
        if !crate::core::catalog::plausible_date(d) {
            return Err(PushError::Malformed(format!(
                "bulletin date {d} is outside {}–{}",
                crate::core::catalog::FIRST_YEAR,
                crate::core::catalog::LAST_YEAR
            )));
        }
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
    if let Some(text) = &b.text {
        if b.sha256.is_some() || b.size.is_some() {
            return Err(PushError::Malformed(
                "a text bulletin has no \"sha256\" or \"size\"".into(),
            ));
        }
        return Ok(CheckedWhat::Text {
            text: text.clone(),
            bulletin: b,
            repeat,
        });
    }
    let (Some(sha256), Some(size)) = (b.sha256.clone(), b.size) else {
        return Err(PushError::Malformed(
            "bulletin needs \"sha256\" and \"size\" of its audio (or \"text\" instead of audio)"
                .into(),
        ));
    };
    if sha256.len() != 64 || !sha256.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Err(PushError::Malformed(
            "bulletin.sha256 must be 64 hex digits".into(),
        ));
    }
    let max = station.feed.max_bulletin_bytes;
    if size > max {
        return Err(PushError::TooLarge(format!(
            "bulletin.size {size} is over this station's limit of {max} bytes"
        )));
    }
    if size == 0 {
        return Err(PushError::Malformed("bulletin.size is 0".into()));
    }
    Ok(CheckedWhat::Audio {
        bulletin: b,
        repeat,
        size,
        sha256,
    })
}

/// Takes a checked push: for a bulletin, its audio (already received, sized and hashed:
/// see `UploadedAudio`) must match the manifest and decode; then it is stored.
/// `validator` is the program that decodes audio in a child process (`loaxa`).
pub fn accept(
    station: &Station,
    validator: &Path,
    now: DateTime<Utc>,
    checked: Checked,
    audio: Option<UploadedAudio>,
) -> Result<Accepted, PushError> {
    let m = checked.manifest;
    match checked.what {
        CheckedWhat::Cancel { target } => {
            if audio.is_some() {
                return Err(PushError::Malformed(
                    "a cancel carries no `audio` part".into(),
                ));
            }
            accept_cancel(station, m, target)
        }
        CheckedWhat::Text {
            bulletin,
            repeat,
            text,
        } => {
            if audio.is_some() {
                return Err(PushError::Malformed(
                    "a text bulletin carries no `audio` part".into(),
                ));
            }
            let audio = spoken(station, &text)?;
            store_bulletin(station, validator, now, m, bulletin, repeat, audio)
        }
        CheckedWhat::Audio {
            bulletin,
            repeat,
            size,
            sha256,
        } => {
            let audio =
                audio.ok_or_else(|| PushError::Malformed("the `audio` part is missing".into()))?;
            if audio.size != size {
                return Err(PushError::Mismatch(format!(
                    "the audio is {} bytes; the signed manifest says {size}",
                    audio.size
                )));
            }
            if !audio.sha256.eq_ignore_ascii_case(&sha256) {
                return Err(PushError::Mismatch(format!(
                    "the audio's sha256 is {}; the signed manifest says {sha256}",
                    audio.sha256
                )));
            }
            store_bulletin(station, validator, now, m, bulletin, repeat, audio)
        }
    }
}

fn accept_cancel(
    station: &Station,
    m: PushManifest,
    target: String,
) -> Result<Accepted, PushError> {
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
            freed.push(crate::audio::ingest::sidecar(&file));
            freed.push(file);
        }
        Ok(freed)
    })
    .map_err(not_saved)??;
    for f in stored {
        let _ = std::fs::remove_file(f);
    }
    Ok(Accepted::Cancel {
        id: m.id,
        cancels: target,
    })
}

fn not_saved(e: StateError) -> PushError {
    match e {
        StateError::NotSaved { .. } => PushError::Internal(format!("push state not saved: {e}")),
        other => unavailable(other),
    }
}

fn store_bulletin(
    station: &Station,
    validator: &Path,
    now: DateTime<Utc>,
    m: PushManifest,
    b: PushBulletin,
    repeat: u32,
    audio: UploadedAudio,
) -> Result<Accepted, PushError> {
    let info =
        crate::remote::feed::sync::validate_audio(validator, audio.file.path(), &station.audio)
            .map_err(|why| {
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
            .and_then(|json| {
                crate::sys::fs::write_atomic(&crate::audio::ingest::sidecar(&dest), &json)
            })
            .and_then(|_| audio.file.persist(&dest).map(|_| ()).map_err(|e| e.error))
            .map_err(|e| PushError::Internal(format!("cannot store the audio: {e}")))?;
        s.seen.push(m.id.clone());
        s.bulletins.push(pushed.clone());
        Ok(())
    })
    .map_err(not_saved)??;
    Ok(Accepted::Bulletin(pushed))
}

/// A text bulletin spoken by the station, as if its recording had been uploaded.
fn spoken(station: &Station, text: &str) -> Result<UploadedAudio, PushError> {
    let wav = crate::audio::speech::Speech::new(&station.tts, &station.state_dir)
        .with_limits(station.audio.max_duration)
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
        sha256: crate::remote::signing::hex(&sha2::Sha256::digest(&bytes)),
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
                freed.push(crate::audio::ingest::sidecar(&file));
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
