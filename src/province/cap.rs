//! `loaxa cap import ALERT.xml --key KEY (--feed DIR | --push URL | --fleet BROKER
//! --prefix P)` (SPEC §14): a CAP 1.2 alert becomes signed bulletins, through the
//! province's usual ways out. What the alert means is `core::cap`'s; this reads the file,
//! fetches a recording the alert points to, and signs and sends.
//!
//! The same alert imported twice is the same bulletin id, so it is delivered once: the feed
//! keeps the bulletin it has, a station answers a second push `duplicate`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use crate::core::cap::{CapBulletin, CapError, Decision, Sound};
use crate::province::push::{DEFAULT_EXPIRES, Request, What};

/// The largest recording fetched for an alert.
pub const MAX_AUDIO_BYTES: u64 = 64 * 1024 * 1024;

/// Where the bulletins go.
pub enum Out<'a> {
    Feed(PathBuf),
    Push(String),
    Fleet(crate::province::fleet::Link<'a>),
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The alert cannot be used: exit 65.
    #[error("{0}")]
    Alert(#[from] CapError),
    /// Reading, fetching, signing or sending failed: exit 1.
    #[error("{0}")]
    Runtime(String),
}

/// What was done, one line each, for the operator.
pub fn import(
    xml_file: &Path,
    key: &Path,
    out: &Out,
    issued_at: Option<DateTime<Utc>>,
) -> Result<Vec<String>, ImportError> {
    let mut text = String::new();
    std::fs::File::open(xml_file)
        .and_then(|f| {
            f.take(crate::core::cap::MAX_ALERT_BYTES as u64 + 1)
                .read_to_string(&mut text)
        })
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidData => {
                ImportError::Alert(CapError::Malformed("the file is not UTF-8 text".into()))
            }
            _ => ImportError::Runtime(format!("cannot read {}: {e}", xml_file.display())),
        })?;
    let now = issued_at.unwrap_or_else(Utc::now);
    let mut done = Vec::new();
    match crate::core::cap::decide(&text, now.fixed_offset())? {
        Decision::NotVoiced(why) => done.push(format!("not voiced: {why}")),
        Decision::Withdraw { ids } => {
            for id in &ids {
                done.push(withdraw(id, key, out, now)?);
            }
        }
        Decision::Voice { bulletin, replaces } => {
            for id in &replaces {
                done.push(withdraw(id, key, out, now)?);
            }
            done.push(voice(&bulletin, key, out, now)?);
        }
    }
    Ok(done)
}

fn runtime(e: impl std::fmt::Display) -> ImportError {
    ImportError::Runtime(e.to_string())
}

fn withdraw(id: &str, key: &Path, out: &Out, now: DateTime<Utc>) -> Result<String, ImportError> {
    match out {
        Out::Feed(dir) => {
            crate::province::feed::revoke(dir, id).map_err(runtime)?;
            let sequence = crate::province::feed::publish(dir, key).map_err(runtime)?;
            Ok(format!("{id}: revoked in the feed (sequence {sequence})"))
        }
        Out::Push(_) | Out::Fleet(_) => {
            // A cancel is a push of its own, with an id of its own.
            let request = Request {
                url: String::new(),
                key: key.to_path_buf(),
                id: Some(format!("{id}-withdrawn")),
                expires: Some(DEFAULT_EXPIRES),
                issued_at: Some(now),
                what: What::Cancel {
                    id: id.to_string(),
                    targets: Vec::new(),
                },
            };
            send(request, None, out).map(|r| format!("{id}: withdrawn — {r}"))
        }
    }
}

/// The alert as a bulletin, into the feed or pushed; what was done, in a line.
fn voice(
    b: &CapBulletin,
    key: &Path,
    out: &Out,
    now: DateTime<Utc>,
) -> Result<String, ImportError> {
    let scratch = tempfile::tempdir().map_err(runtime)?;
    let (audio, url) = sound(b, scratch.path())?;
    // The last day it may play, in Vietnam's time.
    let until = b
        .expires
        .map(|e| e.with_timezone(&chrono_tz::Asia::Ho_Chi_Minh).date_naive());
    match out {
        Out::Feed(dir) => into_feed(b, dir, key, audio, until),
        Out::Push(_) | Out::Fleet(_) => {
            let sent = Sent { audio, url, until };
            pushed(b, key, out, now, sent)
        }
    }
}

/// The alert's sound as a push or the feed takes it: a file (and the URL it came from),
/// or `Err(text)` for words the stations speak.
fn sound(
    b: &CapBulletin,
    scratch: &Path,
) -> Result<(Result<PathBuf, String>, Option<String>), ImportError> {
    Ok(match &b.sound {
        Sound::Text(t) => (Err(t.clone()), None),
        Sound::Embedded(bytes, mime) => {
            let file = scratch.join(format!("{}.{}", b.id, extension(mime)));
            std::fs::write(&file, bytes).map_err(runtime)?;
            (Ok(file), None)
        }
        Sound::Url(u) => {
            let file = scratch.join(format!("{}{}", b.id, crate::remote::fleet::extension(u)));
            fetch(u, &file)?;
            (Ok(file), Some(u.clone()))
        }
    })
}

fn kind(audio: &Result<PathBuf, String>) -> &'static str {
    if audio.is_ok() { "recording" } else { "text" }
}

fn into_feed(
    b: &CapBulletin,
    dir: &Path,
    key: &Path,
    audio: Result<PathBuf, String>,
    until: Option<chrono::NaiveDate>,
) -> Result<String, ImportError> {
    let kind = kind(&audio);
    if crate::province::feed::knows(dir, &b.id).map_err(runtime)? {
        return Ok(format!(
            "{}: this alert is in the feed already (or was withdrawn): nothing done",
            b.id
        ));
    }
    let new = crate::province::feed::NewBulletin {
        file: audio.clone().unwrap_or_default(),
        id: Some(b.id.clone()),
        title: b.title.clone(),
        campaign: None,
        priority: b.priority,
        from: None,
        until,
        targets: targets(b),
        test: b.test,
    };
    let added = match &audio {
        Ok(_) => crate::province::feed::add(dir, new),
        Err(text) => crate::province::feed::add_text(dir, text, new),
    };
    added.map_err(runtime)?;
    let sequence = crate::province::feed::publish(dir, key).map_err(runtime)?;
    Ok(format!(
        "{}: {} bulletin ({kind}, {}) \"{}\" in the feed, sequence {sequence}",
        b.id,
        b.priority.as_str(),
        describe(b),
        b.title
    ))
}

/// What a push of the alert carries.
struct Sent {
    audio: Result<PathBuf, String>,
    url: Option<String>,
    until: Option<chrono::NaiveDate>,
}

fn pushed(
    b: &CapBulletin,
    key: &Path,
    out: &Out,
    now: DateTime<Utc>,
    Sent { audio, url, until }: Sent,
) -> Result<String, ImportError> {
    let kind = kind(&audio);
    // A push lives at most 24 h (SPEC §11): the alert's expiry, within that.
    let expires = b
        .expires
        .map(|e| (e.to_utc() - now).min(crate::core::push::MAX_VALIDITY))
        .unwrap_or(DEFAULT_EXPIRES)
        .max(TimeDelta::seconds(1));
    if matches!(out, Out::Fleet(_)) && matches!(b.sound, Sound::Embedded(..)) {
        return Err(ImportError::Alert(CapError::Unusable(
            "the alert carries its recording inside (derefUri): over the fleet channel stations fetch audio by URL; use --feed or --push".into(),
        )));
    }
    let request = Request {
        url: String::new(),
        key: key.to_path_buf(),
        id: Some(b.id.clone()),
        expires: Some(expires),
        issued_at: Some(now),
        what: What::Bulletin {
            audio,
            title: b.title.clone(),
            priority: b.priority,
            repeat: None,
            campaign: None,
            valid_from: None,
            valid_until: until,
            targets: targets(b),
            test: b.test,
        },
    };
    send(request, url.as_deref(), out).map(|r| {
        format!(
            "{}: {} bulletin ({kind}, {}) \"{}\" — {r}",
            b.id,
            b.priority.as_str(),
            describe(b),
            b.title
        )
    })
}

/// The stations an alert is for: its areas (none: every station).
fn targets(b: &CapBulletin) -> Vec<String> {
    b.areas
        .iter()
        .map(|a| format!("{}{a}", crate::core::targets::AREA))
        .collect()
}

/// How the bulletin is described: its expiry, its areas, and whether it is a test.
fn describe(b: &CapBulletin) -> String {
    let mut out = expiry(b);
    if !b.areas.is_empty() {
        out.push_str(&format!(", for areas {}", b.areas.join(" ")));
    }
    if b.test {
        out.push_str(", a test: only stations in test_mode play it");
    }
    out
}

fn expiry(b: &CapBulletin) -> String {
    b.expires.map_or("no expiry".into(), |e| {
        format!("expires {}", e.to_rfc3339())
    })
}

/// Sends one signed push over HTTP or the fleet channel; what came of it.
fn send(mut request: Request, url: Option<&str>, out: &Out) -> Result<String, ImportError> {
    match out {
        Out::Push(station) => {
            request.url = station.clone();
            let answer = crate::province::push::send(request).map_err(runtime)?;
            let label = serde_json::from_str::<serde_json::Value>(&answer.body)
                .ok()
                .and_then(|v| v["error"].as_str().map(str::to_string));
            match (answer.status, label.as_deref()) {
                (200..=299, _) => Ok(format!("accepted by the station ({})", answer.status)),
                (_, Some("duplicate")) => Ok("the station has it already (duplicate)".into()),
                (status, _) => Err(runtime(format!(
                    "the station refused it ({status}): {}",
                    answer.body.trim()
                ))),
            }
        }
        Out::Fleet(link) => {
            let signed = crate::province::push::sign(request, url).map_err(runtime)?;
            let message = crate::core::fleet::PushMessage {
                manifest: String::from_utf8_lossy(&signed.manifest).into_owned(),
                signature: signed.signature,
            };
            let outcomes = crate::province::fleet::push(
                link,
                &crate::province::fleet::Targets::All,
                &message,
                &signed.id,
                Duration::from_secs(20),
            )
            .map_err(runtime)?;
            let accepted = outcomes.iter().filter(|o| o.accepted).count();
            Ok(format!(
                "published to every station; {accepted} of {} online accepted",
                outcomes.iter().filter(|o| o.expected).count()
            ))
        }
        Out::Feed(_) => Err(runtime("internal: a feed is not sent to")),
    }
}

/// Fetches the alert's recording (http or https), at most `MAX_AUDIO_BYTES`.
fn fetch(url: &str, to: &Path) -> Result<(), ImportError> {
    crate::remote::fleet::check_url(url)
        .map_err(|e| ImportError::Alert(CapError::Unusable(e.to_string())))?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into();
    let mut response = agent
        .get(url)
        .call()
        .map_err(|e| runtime(format!("cannot fetch the alert's audio {url}: {e}")))?;
    let mut bytes = Vec::new();
    response
        .body_mut()
        .as_reader()
        .take(MAX_AUDIO_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| runtime(format!("cannot fetch the alert's audio {url}: {e}")))?;
    if bytes.len() as u64 > MAX_AUDIO_BYTES {
        return Err(ImportError::Alert(CapError::Unusable(format!(
            "the audio at {url} is over {} MB",
            MAX_AUDIO_BYTES / (1024 * 1024)
        ))));
    }
    std::fs::write(to, bytes).map_err(runtime)
}

fn extension(mime: &str) -> &'static str {
    match mime.to_ascii_lowercase().as_str() {
        "audio/mpeg" | "audio/mp3" => "mp3",
        "audio/ogg" | "audio/vorbis" => "ogg",
        "audio/flac" | "audio/x-flac" => "flac",
        "audio/mp4" | "audio/aac" | "audio/x-m4a" => "m4a",
        _ => "wav",
    }
}
