//! Pushes, the station's side (SPEC §8, §11): the signature, the ids already seen, and
//! then — the audio received — its size, hash and decode, before anything is stored.
//!
//! Order of the checks: signature first (nothing unsigned is even parsed for meaning),
//! then the manifest (`core::push`), the id (never seen before), validity, size, sha256,
//! and a full decode in a separate process. A refused push leaves nothing behind: its
//! upload is a temp file that is deleted when the check fails.

use std::path::Path;

use chrono::{DateTime, Utc};
use sha2::Digest;

use crate::config::station::Station;
pub use crate::core::push::{
    Checked, CheckedWhat, Clocks, Judged, MAX_MANIFEST_BYTES, PushBulletin, PushError,
    PushManifest, Rules,
};
use crate::core::sound::Sound;
use crate::store::Store;
use crate::store::files::StateError;
use crate::store::push::Pushed;

/// The audio part of an upload, already on disk (a temp file in the push dir).
pub struct UploadedAudio {
    pub file: tempfile::NamedTempFile,
    pub size: u64,
    pub sha256: String,
}

/// What an accepted push did.
#[derive(Debug, Clone, PartialEq)]
pub enum Accepted {
    Bulletin(Pushed),
    Cancel { id: String, cancels: String },
}

/// Checks the manifest and its signature against the station's keys and clocks, and the
/// ids it has seen. Order of trust: nothing about the manifest is even parsed before its
/// signature verifies.
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
    let state = Store::of(station).push_state().map_err(unavailable)?;
    crate::core::push::check_signed(rules(station), clocks, manifest_bytes, |id| {
        state.seen.iter().any(|s| s == id)
    })
}

/// What `core::push` needs to know of this station.
pub fn rules(station: &Station) -> Rules<'_> {
    Rules {
        here: station.here(),
        max_bulletin_bytes: station.feed.max_bulletin_bytes,
    }
}

fn unavailable(e: StateError) -> PushError {
    PushError::Unavailable(format!(
        "the station's push state is unreadable ({e}); no push is accepted until it is repaired; the broadcast goes on"
    ))
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
        CheckedWhat::Bulletin {
            bulletin,
            repeat,
            sound: Sound::Text(text),
        } => {
            if audio.is_some() {
                return Err(PushError::Malformed(
                    "a text bulletin carries no `audio` part".into(),
                ));
            }
            let audio = spoken(station, &text)?;
            store_bulletin(station, validator, now, m, bulletin, repeat, audio)
        }
        CheckedWhat::Bulletin {
            bulletin,
            repeat,
            sound: Sound::File { size, sha256, .. },
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
    let store = Store::of(station);
    let stored = store
        .update_push(|s| {
            if s.seen.contains(&m.id) {
                return Err(PushError::Duplicate(m.id.clone()));
            }
            s.seen.push(m.id.clone());
            if !s.cancelled.contains(&target) {
                s.cancelled.push(target.clone());
            }
            let freed: Vec<_> = s
                .bulletins
                .iter()
                .filter(|p| p.id == target)
                .map(|p| store.push_audio(&p.file))
                .collect();
            Ok(freed)
        })
        .map_err(not_saved)??;
    for f in stored {
        store.remove_with_sidecar(&f);
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
            .map_err(|e| match e {
                crate::audio::validate::CheckError::Refused(why) => {
                    // The temp file's name means nothing to the sender.
                    let why = why.replace(&audio.file.path().display().to_string(), "it");
                    PushError::NotAudio(format!("the audio does not decode: {why}"))
                }
                // The station's own fault: the sender may send the same push again.
                crate::audio::validate::CheckError::NotMade(why) => PushError::Internal(why),
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
    let store = Store::of(station);
    let dest = store.push_audio(&file);
    if let Some(dir) = dest.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| PushError::Internal(format!("cannot store the audio: {e}")))?;
    }
    store
        .update_push(|s| {
            if s.seen.contains(&m.id) {
                return Err(PushError::Duplicate(m.id.clone()));
            }
            audio
                .file
                .as_file()
                .sync_all()
                .and_then(|_| crate::store::media::write_sidecar(&dest, &info))
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
    let wav = crate::audio::speech::Speech::of(station)
        .render(text)
        .map_err(|why| PushError::NotAudio(format!("the text cannot be spoken: {why}")))?;
    let internal = |e: std::io::Error| PushError::Internal(format!("cannot keep the speech: {e}"));
    let dir = Store::of(station).push_uploads();
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
