//! The province's side of a push (`loaxa push`): build the manifest, sign it with the
//! province key, and send manifest, signature and audio as one multipart request, the
//! same request `curl -F manifest=@m.json -F signature=@m.json.minisig -F audio=@b.mp3`
//! makes.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use sha2::{Digest, Sha256};

use crate::core::catalog::Priority;
use crate::core::push::{FORMAT_VERSION, PushAction, PushBulletin, PushManifest};
use crate::remote::signing::{SecretKey, hex};

/// What to push.
pub struct Request {
    pub url: String,
    pub key: PathBuf,
    pub id: Option<String>,
    /// How long the push stays valid [default: `DEFAULT_EXPIRES`]; at most 24 h.
    pub expires: Option<TimeDelta>,
    /// Sign as if now were this instant (a rehearsal against a station whose clock is
    /// shifted with `--start-at`) [default: now].
    pub issued_at: Option<DateTime<Utc>>,
    pub what: What,
}

/// SPEC §11: a push carries an expiry; `loaxa push` gives it two hours unless told.
pub const DEFAULT_EXPIRES: TimeDelta = TimeDelta::hours(2);

pub enum What {
    Bulletin {
        /// The recording, or `Err(text)` for a text the station speaks.
        audio: Result<PathBuf, String>,
        title: String,
        priority: Priority,
        repeat: Option<u32>,
        campaign: Option<String>,
        valid_from: Option<NaiveDate>,
        valid_until: Option<NaiveDate>,
        targets: Vec<String>,
        /// A test or exercise alert: only stations in `test_mode` take it.
        test: bool,
    },
    Cancel {
        id: String,
        /// Only at these stations (empty: every station).
        targets: Vec<String>,
    },
}

/// The station's answer: HTTP status and body.
pub struct Answer {
    pub status: u16,
    pub body: String,
}

/// `http://host:8470` and `http://host:8470/api/v1/push` both name a station's push endpoint.
pub fn endpoint(url: &str) -> String {
    let trimmed = url.trim_end_matches('/');
    if trimmed.ends_with("/api/v1/push") {
        trimmed.to_string()
    } else {
        format!("{trimmed}/api/v1/push")
    }
}

/// A push signed and ready to send, by HTTP (`send`) or the fleet channel.
pub struct Signed {
    pub id: String,
    /// The manifest, as the very bytes signed.
    pub manifest: Vec<u8>,
    pub signature: String,
    /// The recording, for an HTTP push (the fleet names it by URL instead).
    pub audio: Option<(PathBuf, Vec<u8>)>,
    pub expires_at: DateTime<Utc>,
}

pub fn send(req: Request) -> Result<Answer, String> {
    let url = endpoint(&req.url);
    let Signed {
        manifest: json,
        signature,
        audio,
        ..
    } = sign(req, None)?;
    post(&url, &json, &signature, audio.as_ref())
}

/// Builds and signs the manifest. `audio_url` is where stations fetch the recording
/// (fleet pushes, SPEC §13); `None` for an HTTP push, which carries it.
pub fn sign(req: Request, audio_url: Option<&str>) -> Result<Signed, String> {
    let key_text = std::fs::read_to_string(&req.key)
        .map_err(|e| format!("cannot read the key {}: {e}", req.key.display()))?;
    let key = SecretKey::from_secret_file(&key_text).map_err(|e| e.to_string())?;
    let expires = req.expires.unwrap_or(DEFAULT_EXPIRES);
    if expires <= TimeDelta::zero() || expires > crate::core::push::MAX_VALIDITY {
        return Err("--expires must be more than 0 and at most 24h".into());
    }
    let now = req.issued_at.unwrap_or_else(Utc::now);
    let id = req
        .id
        .unwrap_or_else(|| format!("push-{}", now.format("%Y%m%dT%H%M%S%.3fZ")).replace('.', "-"));
    let mut cancel_targets = Vec::new();
    let (bulletin, cancel, audio) = match req.what {
        What::Bulletin {
            audio,
            title,
            priority,
            repeat,
            campaign,
            valid_from,
            valid_until,
            targets,
            test,
        } => {
            let mut b = PushBulletin {
                title,
                priority,
                repeat,
                sha256: None,
                size: None,
                url: None,
                text: None,
                campaign,
                valid_from,
                valid_until,
                targets,
                test,
            };
            match audio {
                Ok(file) => {
                    let bytes = std::fs::read(&file)
                        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
                    b.sha256 = Some(hex(&Sha256::digest(&bytes)));
                    b.size = Some(bytes.len() as u64);
                    b.url = audio_url.map(str::to_string);
                    (Some(b), None, Some((file, bytes)))
                }
                Err(text) => {
                    b.text = Some(text);
                    (Some(b), None, None)
                }
            }
        }
        What::Cancel { id, targets } => {
            cancel_targets = targets;
            (None, Some(id), None)
        }
    };
    let manifest = PushManifest {
        loaxa_push: FORMAT_VERSION,
        id: id.clone(),
        issued_at: Some(now.fixed_offset()),
        expires_at: Some((now + expires).fixed_offset()),
        action: if cancel.is_some() {
            PushAction::Cancel
        } else {
            PushAction::Bulletin
        },
        bulletin,
        cancel,
        targets: cancel_targets,
    };
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| e.to_string())?;
    let comment = format!("timestamp:{}\tfile:{id}.json\thashed", now.timestamp());
    let signature = key.sign(&json, &comment);
    Ok(Signed {
        id,
        manifest: json,
        signature,
        audio,
        expires_at: now + expires,
    })
}

fn post(
    url: &str,
    json: &[u8],
    signature: &str,
    audio: Option<&(PathBuf, Vec<u8>)>,
) -> Result<Answer, String> {
    let boundary = format!("loaxa-{}", hex(&Sha256::digest(json))[..24].to_owned());
    let mut body = Vec::new();
    part(
        &mut body,
        &boundary,
        "manifest",
        Some("manifest.json"),
        json,
    );
    part(
        &mut body,
        &boundary,
        "signature",
        Some("manifest.json.minisig"),
        signature.as_bytes(),
    );
    if let Some((file, bytes)) = audio {
        let name = file_name(file);
        part(&mut body, &boundary, "audio", Some(&name), bytes);
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());

    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(10)))
        .timeout_global(Some(Duration::from_secs(600)))
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent
        .post(url)
        .header(
            "Content-Type",
            &format!("multipart/form-data; boundary={boundary}"),
        )
        .send(&body[..])
        .map_err(|e| format!("cannot reach {url}: {e}"))?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .read_to_string()
        .map_err(|e| format!("{url}: unreadable answer: {e}"))?;
    Ok(Answer { status, body })
}

fn part(out: &mut Vec<u8>, boundary: &str, name: &str, file: Option<&str>, bytes: &[u8]) {
    out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
    let disposition = match file {
        Some(f) => format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\n"),
        None => format!("Content-Disposition: form-data; name=\"{name}\"\r\n"),
    };
    out.extend_from_slice(disposition.as_bytes());
    out.extend_from_slice(b"Content-Type: application/octet-stream\r\n\r\n");
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
}

/// The file's name for the multipart header: plain ASCII (quotes and controls dropped).
fn file_name(path: &Path) -> String {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .filter(|e| e.chars().all(|c| c.is_ascii_alphanumeric()))
        .unwrap_or("audio");
    format!("bulletin.{ext}")
}
