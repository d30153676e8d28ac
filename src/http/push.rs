//! `POST /api/v1/push` (SPEC §8, §11), in order of trust on the wire: the `manifest` and
//! `signature` parts come first and are checked — signature, form, id, validity, targets,
//! sizes — before a single byte of audio is written anywhere. Only then is the audio
//! streamed to a temp file, hashed on the way and never past the size the signed manifest
//! announces. A sender slower than `MIN_RATE` is cut off.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::multipart::{self, MultipartError, Parts};
use super::{Ctx, error};
use crate::config::Config;
use crate::core::catalog::Priority;
use crate::core::text::shorten;
use crate::remote::push::{self, Accepted, Checked, PushError, UploadedAudio};
use crate::station::command::Command;

/// A body that sends nothing for this long is cut.
const STALL: Duration = Duration::from_secs(10);
/// After `GRACE`, a body must have come at this average rate or better.
const MIN_RATE: u64 = 2 * 1024;
const GRACE: Duration = Duration::from_secs(10);

/// The largest push body: the audio limit plus room for the manifest, signature and
/// multipart framing.
fn body_limit(max_bulletin_bytes: u64) -> u64 {
    max_bulletin_bytes + 2 * push::MAX_MANIFEST_BYTES as u64 + 16 * 1024
}

pub(super) async fn post_push(
    State(ctx): State<Arc<Ctx>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let config = ctx.shared.config();
    let mut stream = body.into_data_stream();
    let received = receive(&ctx, &config, &headers, &mut stream).await;
    if received.is_err() {
        linger(&mut stream).await;
    }
    let result = match received {
        Ok((checked, audio)) => {
            // A signed push is proof the province's clock had reached `issued_at` (unless
            // it was judged on the real clock during a rehearsal).
            let issued = checked
                .manifest
                .issued_at
                .map(|t| t.to_utc())
                .filter(|_| checked.judged == push::Judged::Station);
            let _turn = ctx.checks.acquire().await;
            let station = config.station.clone();
            let validator = ctx.validator.clone();
            let now = ctx.clock.now();
            tokio::task::spawn_blocking(move || {
                push::accept(&station, &validator, now, checked, audio)
            })
            .await
            .unwrap_or_else(|e| Err(PushError::Internal(e.to_string())))
            .inspect(|_| {
                if let Some(t) = issued
                    && let Err(e) = ctx.trust.saw_signed(t)
                {
                    tracing::error!("{e}");
                }
            })
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(accepted) => answer_accepted(&ctx, &config, accepted).await,
        Err(e) => {
            let now = ctx.clock.now().with_timezone(&config.schedule.timezone);
            let message = format!("push refused ({}): {e}", e.status());
            ctx.refusals.record(now, "push", e.label(), &message);
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
            error(status, e.label(), &e.to_string())
        }
    }
}

/// What the parts have brought so far.
struct Received<'a> {
    ctx: &'a Ctx,
    config: &'a Config,
    current: Option<Part>,
    manifest: Option<Vec<u8>>,
    signature: Option<Vec<u8>>,
    checked: Option<Checked>,
    audio: Option<Audio>,
    /// The audio part's file name, as sent (shortened).
    audio_name: Option<String>,
}

#[derive(Clone, Copy, PartialEq)]
enum Part {
    Manifest,
    Signature,
    Audio,
}

/// The audio part as it streams in.
struct Audio {
    file: tempfile::NamedTempFile,
    hasher: Sha256,
    size: u64,
    /// The size the signed manifest announces: not one byte more is taken.
    expected: u64,
}

impl Received<'_> {
    /// The manifest and signature are in: check them, before any audio is taken.
    fn check(&mut self) -> Result<Checked, PushError> {
        let manifest = self.manifest.as_deref().ok_or_else(|| {
            PushError::Malformed("the `manifest` part is missing (it comes first)".into())
        })?;
        let signature = self.signature.as_deref().ok_or_else(|| {
            PushError::Signature(
                "the `signature` part is missing (it comes before the audio): pushes must be signed"
                    .into(),
            )
        })?;
        if let Some(why) = self.ctx.trust.problem() {
            return Err(PushError::Unavailable(why.to_string()));
        }
        let now = self.ctx.clock.now();
        let clocks = push::Clocks {
            station: self.ctx.trust.now(now),
            real: self.ctx.clock.shifted_by().map(|shift| now - shift),
        };
        push::check(&self.config.station, clocks, manifest, signature)
    }

    fn start_audio(&mut self) -> Result<(), PushError> {
        let checked = self.check()?;
        let expected = checked.audio_size().ok_or_else(|| {
            PushError::Malformed(match checked.what {
                push::CheckedWhat::Cancel { .. } => "a cancel carries no `audio` part".into(),
                _ => "a text bulletin carries no `audio` part".into(),
            })
        })?;
        let dir = crate::store::Store::of(&self.config.station).push_uploads();
        let internal =
            |e: std::io::Error| PushError::Internal(format!("cannot keep the upload: {e}"));
        std::fs::create_dir_all(&dir).map_err(internal)?;
        let file = tempfile::Builder::new()
            .prefix("upload-")
            .suffix(&self.extension())
            .tempfile_in(&dir)
            .map_err(internal)?;
        self.checked = Some(checked);
        self.audio = Some(Audio {
            file,
            hasher: Sha256::new(),
            size: 0,
            expected,
        });
        Ok(())
    }

    /// The sender's file extension, when it is a plain one: it helps the decoder's probe.
    fn extension(&self) -> String {
        self.audio_name
            .as_deref()
            .and_then(|n| std::path::Path::new(n).extension())
            .and_then(|e| e.to_str())
            .filter(|e| e.len() <= 5 && e.chars().all(|c| c.is_ascii_alphanumeric()))
            .map(|e| format!(".{}", e.to_ascii_lowercase()))
            .unwrap_or_else(|| ".audio".into())
    }
}

impl Parts for Received<'_> {
    type Error = PushError;

    fn begin(&mut self, name: &str, filename: Option<&str>) -> Result<(), PushError> {
        let part = match name {
            "manifest" => Part::Manifest,
            "signature" => Part::Signature,
            "audio" => Part::Audio,
            other => {
                return Err(PushError::Malformed(format!(
                    "unknown part {:?}; a push has parts manifest, signature and audio",
                    shorten(other, 40)
                )));
            }
        };
        let taken = match part {
            Part::Manifest => self.manifest.is_some(),
            Part::Signature => self.signature.is_some(),
            Part::Audio => self.audio.is_some(),
        };
        if taken {
            return Err(PushError::Malformed(format!(
                "the `{name}` part is sent twice"
            )));
        }
        self.current = Some(part);
        match part {
            Part::Manifest => self.manifest = Some(Vec::new()),
            Part::Signature => self.signature = Some(Vec::new()),
            Part::Audio => {
                self.audio_name = filename.map(|f| shorten(f, 100));
                self.start_audio()?;
            }
        }
        Ok(())
    }

    fn data(&mut self, bytes: &[u8]) -> Result<(), PushError> {
        match self.current {
            Some(Part::Manifest) | Some(Part::Signature) => {
                let (slot, name) = if self.current == Some(Part::Manifest) {
                    (&mut self.manifest, "manifest")
                } else {
                    (&mut self.signature, "signature")
                };
                let buf = slot.get_or_insert_with(Vec::new);
                if buf.len() + bytes.len() > push::MAX_MANIFEST_BYTES {
                    return Err(PushError::Malformed(format!(
                        "the `{name}` part is over {} bytes",
                        push::MAX_MANIFEST_BYTES
                    )));
                }
                buf.extend_from_slice(bytes);
                Ok(())
            }
            Some(Part::Audio) => {
                let Some(a) = self.audio.as_mut() else {
                    return Ok(());
                };
                a.size += bytes.len() as u64;
                if a.size > a.expected {
                    return Err(PushError::TooLarge(format!(
                        "the audio part is larger than the {} bytes its signed manifest announces",
                        a.expected
                    )));
                }
                a.hasher.update(bytes);
                a.file
                    .write_all(bytes)
                    .map_err(|e| PushError::Internal(format!("cannot keep the upload: {e}")))
            }
            None => Ok(()),
        }
    }

    fn end(&mut self) -> Result<(), PushError> {
        self.current = None;
        Ok(())
    }
}

/// Reads the body through the bounded multipart reader: the checked manifest, and the
/// audio on disk if the push carries audio.
async fn receive(
    ctx: &Ctx,
    config: &Config,
    headers: &HeaderMap,
    stream: &mut axum::body::BodyDataStream,
) -> Result<(Checked, Option<UploadedAudio>), PushError> {
    let max = config.station.feed.max_bulletin_bytes;
    let limit = body_limit(max);
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(n) = declared
        && n > limit
    {
        return Err(PushError::TooLarge(format!(
            "the body is {n} bytes; this station takes bulletins up to {max} bytes"
        )));
    }
    let boundary = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(multipart::boundary)
        .ok_or_else(|| {
            PushError::Malformed(
                "expected multipart/form-data with parts manifest, signature, audio".into(),
            )
        })?;
    let mut reader = multipart::Reader::new(&boundary, multipart::Limits::default());
    let mut received = Received {
        ctx,
        config,
        current: None,
        manifest: None,
        signature: None,
        checked: None,
        audio: None,
        audio_name: None,
    };
    let started = Instant::now();
    let mut total: u64 = 0;
    loop {
        let next = tokio::time::timeout(STALL, stream.next())
            .await
            .map_err(|_| {
                PushError::TooSlow(format!(
                    "nothing came for {}s; the connection is cut",
                    STALL.as_secs()
                ))
            })?;
        let Some(chunk) = next else { break };
        let chunk = chunk.map_err(|e| PushError::Malformed(format!("the body broke off: {e}")))?;
        total += chunk.len() as u64;
        if total > limit {
            return Err(PushError::TooLarge(format!(
                "the body is over this station's limit ({max} bytes of audio)"
            )));
        }
        let elapsed = started.elapsed();
        if elapsed > GRACE && total < elapsed.as_secs() * MIN_RATE {
            return Err(PushError::TooSlow(format!(
                "the body comes slower than {} KiB/s; the connection is cut",
                MIN_RATE / 1024
            )));
        }
        reader.feed(&chunk, &mut received).map_err(refused)?;
        if reader.is_done() {
            break;
        }
    }
    reader.finish().map_err(refused)?;
    let checked = match received.checked.take() {
        Some(c) => c,
        // No audio part: a cancel or a text bulletin (or a push missing its audio).
        None => received.check()?,
    };
    let audio = match received.audio.take() {
        Some(mut a) => {
            a.file
                .flush()
                .map_err(|e| PushError::Internal(format!("cannot keep the upload: {e}")))?;
            Some(UploadedAudio {
                file: a.file,
                size: a.size,
                sha256: crate::remote::signing::hex(&a.hasher.finalize()),
            })
        }
        None => None,
    };
    Ok((checked, audio))
}

/// After a refusal mid-body, reads (and drops) a little more of what the sender is still
/// sending, so it gets the answer instead of a reset connection (closing a socket with
/// unread data resets it). Bounded in time and bytes; nothing is kept.
async fn linger(stream: &mut axum::body::BodyDataStream) {
    const MAX_BYTES: usize = 16 * 1024 * 1024;
    let drained = tokio::time::timeout(Duration::from_secs(2), async {
        let mut n = 0;
        while let Some(Ok(chunk)) = stream.next().await {
            n += chunk.len();
            if n > MAX_BYTES {
                break;
            }
        }
    });
    let _ = drained.await;
}

fn refused(e: MultipartError<PushError>) -> PushError {
    match e {
        MultipartError::Refused(e) => e,
        MultipartError::Malformed(why) => {
            PushError::Malformed(format!("malformed multipart body: {why}"))
        }
    }
}

async fn answer_accepted(ctx: &Ctx, config: &Config, accepted: Accepted) -> Response {
    let tz = config.schedule.timezone;
    let now = ctx.clock.now().with_timezone(&tz);
    ctx.tell_engine(Command::accepted(&accepted, "push"));
    match accepted {
        Accepted::Cancel { id, cancels } => (
            StatusCode::ACCEPTED,
            axum::Json(json!({ "id": id, "action": "cancel", "cancelled": cancels })),
        )
            .into_response(),
        Accepted::Bulletin(p) => {
            let plays_at = if p.is_emergency() {
                Some(json!("now"))
            } else {
                let config = config.clone();
                let id = p.id.clone();
                tokio::task::spawn_blocking(move || first_play(&config, &id, now))
                    .await
                    .ok()
                    .flatten()
                    .map(|t| json!(crate::core::timefmt::format(&t)))
            };
            let note = match (&plays_at, p.priority) {
                (Some(_), Priority::Emergency) if p.is_emergency() => {
                    format!("on air now, {} time(s)", p.repeat)
                }
                (Some(_), _) => "planned".to_string(),
                (None, _) => {
                    "no session today has room for it; it is planned on the next day that does"
                        .to_string()
                }
            };
            (
                StatusCode::ACCEPTED,
                axum::Json(json!({
                    "id": p.id,
                    "action": "bulletin",
                    "priority": p.priority,
                    "repeat": p.repeat,
                    "duration_ms": p.duration_ms,
                    "plays_at": plays_at,
                    "note": note,
                })),
            )
                .into_response()
        }
    }
}

/// When a just-pushed bulletin first plays in the rest of today's plan.
fn first_play(
    config: &Config,
    id: &str,
    now: chrono::DateTime<chrono_tz::Tz>,
) -> Option<chrono::DateTime<chrono_tz::Tz>> {
    let plan = crate::station::plan::load(config, now.date_naive(), Some(now));
    plan.sessions
        .iter()
        .flat_map(|s| &s.items)
        .find(|i| i.id == id)
        .map(|i| i.start)
}
