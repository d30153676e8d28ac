//! The daemon's HTTP API (SPEC §10), on `[api] listen`:
//!
//! - `GET /api/v1/status`: what plays now, what is next, quotas (as `loaxa status --json`)
//! - `GET /api/v1/plan?date=YYYY-MM-DD`: a day's plan (as `loaxa plan --json`)
//! - `GET /api/v1/asrun?date=YYYY-MM-DD`: the day's as-run log, as a JSON array
//! - `GET /api/v1/report?from=D&to=D[&format=csv]`: proof of play (as `loaxa report`)
//! - `POST /api/v1/push`: a signed bulletin or cancel from the province (SPEC §8)
//! - `GET /metrics`: Prometheus text format
//!
//! It runs on its own small tokio runtime beside the playout engine and only talks to it
//! through the engine's command channel, so no request can hold up the broadcast. Audio
//! checks run one at a time in a child process, leaving the other core to the playout.

use std::path::PathBuf;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, RwLock};

use axum::Router;
use axum::extract::multipart::{Field, MultipartRejection};
use axum::extract::{DefaultBodyLimit, Multipart, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::io::Write;

use crate::asrun::{AsRunLog, Event, Record};
use crate::catalog::Priority;
use crate::clock::Clock;
use crate::config::Config;
use crate::playout::Command;
use crate::push::{self, Accepted, PushError, Upload, UploadedAudio};
use crate::status::Status;

/// What the engine shares with the API: its config (reloads included) and latest status.
pub struct Shared {
    pub config: RwLock<Config>,
    pub status: RwLock<Option<Status>>,
}

impl Shared {
    pub fn new(config: Config) -> Arc<Shared> {
        Arc::new(Shared {
            config: RwLock::new(config),
            status: RwLock::new(None),
        })
    }

    pub fn config(&self) -> Config {
        self.config
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn status(&self) -> Option<Status> {
        self.status
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

struct Ctx {
    shared: Arc<Shared>,
    clock: Arc<dyn Clock>,
    commands: Mutex<Sender<Command>>,
    /// The program that decodes uploads in a child process (`loaxa validate-audio`).
    validator: PathBuf,
    /// One audio check at a time.
    checks: tokio::sync::Semaphore,
}

impl Ctx {
    fn tell_engine(&self, command: Command) {
        let sender = self.commands.lock().unwrap_or_else(|p| p.into_inner());
        if sender.send(command).is_err() {
            tracing::error!(
                "the playout engine is gone; the push is stored and plays after a restart"
            );
        }
    }
}

/// Starts the API in its own thread. A port that cannot be opened is logged; the
/// broadcast goes on without the API.
pub fn serve(
    shared: Arc<Shared>,
    clock: Arc<dyn Clock>,
    commands: Sender<Command>,
    validator: PathBuf,
) {
    let listen = shared.config().station.api.listen;
    let ctx = Arc::new(Ctx {
        shared,
        clock,
        commands: Mutex::new(commands),
        validator,
        checks: tokio::sync::Semaphore::new(1),
    });
    let spawned = std::thread::Builder::new()
        .name("api".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("api-worker")
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!("HTTP API not started: {e}");
                    return;
                }
            };
            runtime.block_on(async move {
                let listener = match tokio::net::TcpListener::bind(listen).await {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::error!(
                            "HTTP API not started: cannot listen on {listen}: {e}; broadcasting goes on without it"
                        );
                        return;
                    }
                };
                tracing::info!("HTTP API on http://{listen}/api/v1/status");
                if let Err(e) = axum::serve(listener, router(ctx)).await {
                    tracing::error!("HTTP API stopped: {e}");
                }
            });
        });
    if let Err(e) = spawned {
        tracing::error!("HTTP API not started: {e}");
    }
}

fn router(ctx: Arc<Ctx>) -> Router {
    let max = ctx.shared.config().station.feed.max_bulletin_bytes;
    Router::new()
        .route("/api/v1/status", get(get_status))
        .route("/api/v1/plan", get(get_plan))
        .route("/api/v1/asrun", get(get_asrun))
        .route("/api/v1/report", get(get_report))
        .route(
            "/api/v1/push",
            post(post_push).layer(DefaultBodyLimit::max(body_limit(max) as usize)),
        )
        .route("/metrics", get(get_metrics))
        .fallback(|| async {
            error(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such endpoint; see /api/v1/status, /api/v1/plan, /api/v1/asrun, /api/v1/push, /metrics",
            )
        })
        .with_state(ctx)
}

/// The largest push body: the audio limit plus room for the manifest, signature and
/// multipart framing.
fn body_limit(max_bulletin_bytes: u64) -> u64 {
    max_bulletin_bytes + 2 * push::MAX_MANIFEST_BYTES as u64 + 16 * 1024
}

fn error(status: StatusCode, label: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({ "error": label, "status": status.as_u16(), "message": message })),
    )
        .into_response()
}

async fn get_status(State(ctx): State<Arc<Ctx>>) -> Response {
    match ctx.shared.status() {
        Some(s) => axum::Json(s).into_response(),
        None => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "starting",
            "the daemon has not made its first plan yet",
        ),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DateQuery {
    date: Option<String>,
}

/// The config, and the asked date or today in the station's time zone.
fn dated(
    ctx: &Ctx,
    q: Result<Query<DateQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<(Config, NaiveDate), String> {
    let Query(q) = q.map_err(|e| e.body_text())?;
    let config = ctx.shared.config();
    let date = match &q.date {
        None => ctx
            .clock
            .now()
            .with_timezone(&config.schedule.timezone)
            .date_naive(),
        Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|_| format!("date {d:?} is not YYYY-MM-DD"))?,
    };
    Ok((config, date))
}

async fn get_plan(
    State(ctx): State<Arc<Ctx>>,
    q: Result<Query<DateQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let (config, date) = match dated(&ctx, q) {
        Ok(d) => d,
        Err(why) => return error(StatusCode::BAD_REQUEST, "malformed", &why),
    };
    blocking_json(move || crate::plan_view::load(&config, date, None)).await
}

async fn get_asrun(
    State(ctx): State<Arc<Ctx>>,
    q: Result<Query<DateQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let (config, date) = match dated(&ctx, q) {
        Ok(d) => d,
        Err(why) => return error(StatusCode::BAD_REQUEST, "malformed", &why),
    };
    blocking_json(move || {
        crate::asrun::read_day(&config.station.state_dir, date, config.schedule.timezone)
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportQuery {
    from: String,
    to: String,
    #[serde(default)]
    format: Option<String>,
}

async fn get_report(
    State(ctx): State<Arc<Ctx>>,
    q: Result<Query<ReportQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let bad = |why: &str| error(StatusCode::BAD_REQUEST, "malformed", why);
    let Query(q) = match q {
        Ok(q) => q,
        Err(e) => {
            return bad(&format!(
                "{}; use ?from=YYYY-MM-DD&to=YYYY-MM-DD",
                e.body_text()
            ));
        }
    };
    let day = |d: &str| {
        NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| format!("{d:?} is not YYYY-MM-DD"))
    };
    let (from, to) = match (day(&q.from), day(&q.to)) {
        (Ok(f), Ok(t)) => (f, t),
        (Err(e), _) | (_, Err(e)) => return bad(&e),
    };
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => return bad(&format!("format {other:?}: use json or csv")),
    };
    let config = ctx.shared.config();
    let built = tokio::task::spawn_blocking(move || {
        let catalog = crate::catalog::Catalog::load(&config);
        crate::report::build(
            &config.station.station_id,
            &config.station.state_dir,
            config.schedule.timezone,
            &catalog,
            from,
            to,
        )
    })
    .await;
    match built {
        Ok(Ok(report)) if csv => (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            crate::report::csv(&report, true),
        )
            .into_response(),
        Ok(Ok(report)) => axum::Json(report).into_response(),
        Ok(Err(why)) => bad(&why),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            &e.to_string(),
        ),
    }
}

/// Runs file-reading work off the async workers and answers with its result as JSON.
async fn blocking_json<T: serde::Serialize + Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Response {
    match tokio::task::spawn_blocking(work).await {
        Ok(value) => axum::Json(value).into_response(),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            &e.to_string(),
        ),
    }
}

async fn get_metrics(State(ctx): State<Arc<Ctx>>) -> Response {
    let status = ctx.shared.status();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::metrics::render(status.as_ref()),
    )
        .into_response()
}

async fn post_push(
    State(ctx): State<Arc<Ctx>>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let config = ctx.shared.config();
    let received = receive(&config, &headers, multipart).await;
    let result = match received {
        Ok(upload) => {
            let _turn = ctx.checks.acquire().await;
            let station = config.station.clone();
            let validator = ctx.validator.clone();
            let now = ctx.clock.now();
            tokio::task::spawn_blocking(move || push::accept(&station, &validator, now, upload))
                .await
                .unwrap_or_else(|e| Err(PushError::Internal(e.to_string())))
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(accepted) => answer_accepted(&ctx, &config, accepted).await,
        Err(e) => {
            refuse(&config, ctx.clock.as_ref(), &e);
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
            error(status, e.label(), &e.to_string())
        }
    }
}

/// Logs a refused push, in the daemon's log, the as-run log and the metrics.
fn refuse(config: &Config, clock: &dyn Clock, e: &PushError) {
    tracing::warn!("push refused ({}): {e}", e.status());
    crate::metrics::rejected("push", e.label());
    AsRunLog::new(&config.station.state_dir).log(
        &Record::new(
            clock.now().with_timezone(&config.schedule.timezone),
            Event::Rejected,
        )
        .reason(format!("push refused ({}): {e}", e.status())),
    );
}

async fn answer_accepted(ctx: &Ctx, config: &Config, accepted: Accepted) -> Response {
    let tz = config.schedule.timezone;
    let now = ctx.clock.now().with_timezone(&tz);
    match accepted {
        Accepted::Cancel { id, cancels } => {
            tracing::info!("push {id}: cancel {cancels}");
            crate::metrics::push_accepted("cancel");
            ctx.tell_engine(Command::Cancel(cancels.clone()));
            (
                StatusCode::ACCEPTED,
                axum::Json(json!({ "id": id, "action": "cancel", "cancelled": cancels })),
            )
                .into_response()
        }
        Accepted::Bulletin(p) => {
            tracing::info!(
                "push {}: {} bulletin {:?} accepted ({} ms)",
                p.id,
                p.priority.as_str(),
                p.title,
                p.duration_ms
            );
            crate::metrics::push_accepted("bulletin");
            ctx.tell_engine(Command::Pushed(p.priority));
            let plays_at = if p.is_emergency() {
                Some(json!("now"))
            } else {
                let config = config.clone();
                let id = p.id.clone();
                tokio::task::spawn_blocking(move || first_play(&config, &id, now))
                    .await
                    .ok()
                    .flatten()
                    .map(|t| json!(crate::timefmt::format(&t)))
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
    let plan = crate::plan_view::load(config, now.date_naive(), Some(now));
    plan.sessions
        .iter()
        .flat_map(|s| &s.items)
        .find(|i| i.id == id)
        .map(|i| i.start)
}

/// Reads the multipart body into an `Upload`: the manifest and signature in memory, the
/// audio streamed to a temp file (hashed on the way) and never past the size limit.
async fn receive(
    config: &Config,
    headers: &HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Upload, PushError> {
    let max = config.station.feed.max_bulletin_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(n) = declared
        && n > body_limit(max)
    {
        return Err(PushError::TooLarge(format!(
            "the body is {n} bytes; this station takes bulletins up to {max} bytes"
        )));
    }
    let mut multipart = multipart.map_err(|e| {
        PushError::Malformed(format!(
            "expected multipart/form-data with parts manifest, signature, audio: {}",
            e.body_text()
        ))
    })?;
    let mut upload = Upload::default();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Err(multipart_error(e, max)),
        };
        let name = field.name().unwrap_or("").to_string();
        match name.as_str() {
            "manifest" | "signature" => {
                let slot = if name == "manifest" {
                    &mut upload.manifest
                } else {
                    &mut upload.signature
                };
                if slot.is_some() {
                    return Err(PushError::Malformed(format!(
                        "the `{name}` part is sent twice"
                    )));
                }
                *slot = Some(read_small(field, &name, max).await?);
            }
            "audio" => {
                if upload.audio.is_some() {
                    return Err(PushError::Malformed(
                        "the `audio` part is sent twice".into(),
                    ));
                }
                upload.audio = Some(read_audio(config, field, max).await?);
            }
            other => {
                return Err(PushError::Malformed(format!(
                    "unknown part {other:?}; a push has parts manifest, signature and audio"
                )));
            }
        }
    }
    Ok(upload)
}

fn multipart_error(e: axum::extract::multipart::MultipartError, max: u64) -> PushError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        PushError::TooLarge(format!(
            "the body is over this station's limit ({max} bytes of audio)"
        ))
    } else {
        PushError::Malformed(format!("malformed multipart body: {}", e.body_text()))
    }
}

async fn read_small(mut field: Field<'_>, name: &str, max: u64) -> Result<Vec<u8>, PushError> {
    let mut out = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| multipart_error(e, max))? {
        out.extend_from_slice(&chunk);
        if out.len() > push::MAX_MANIFEST_BYTES {
            return Err(PushError::Malformed(format!(
                "the `{name}` part is over {} bytes",
                push::MAX_MANIFEST_BYTES
            )));
        }
    }
    Ok(out)
}

async fn read_audio(
    config: &Config,
    mut field: Field<'_>,
    max: u64,
) -> Result<UploadedAudio, PushError> {
    let dir = push::upload_dir(&config.station.state_dir);
    let internal = |e: std::io::Error| PushError::Internal(format!("cannot keep the upload: {e}"));
    std::fs::create_dir_all(&dir).map_err(internal)?;
    // Keep the sender's extension (when it is a plain one): it helps the decoder's probe.
    let ext = field
        .file_name()
        .and_then(|n| std::path::Path::new(n).extension())
        .and_then(|e| e.to_str())
        .filter(|e| e.len() <= 5 && e.chars().all(|c| c.is_ascii_alphanumeric()))
        .map(|e| format!(".{}", e.to_ascii_lowercase()))
        .unwrap_or_else(|| ".audio".into());
    let mut file = tempfile::Builder::new()
        .prefix("upload-")
        .suffix(&ext)
        .tempfile_in(&dir)
        .map_err(internal)?;
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    while let Some(chunk) = field.chunk().await.map_err(|e| multipart_error(e, max))? {
        size += chunk.len() as u64;
        if size > max {
            return Err(PushError::TooLarge(format!(
                "the audio is over this station's limit of {max} bytes"
            )));
        }
        hasher.update(&chunk);
        file.write_all(&chunk).map_err(internal)?;
    }
    file.flush().map_err(internal)?;
    Ok(UploadedAudio {
        file,
        size,
        sha256: crate::signing::hex(&hasher.finalize()),
    })
}

/// Removes uploads a crash left behind.
pub fn clean_uploads(state_dir: &std::path::Path) {
    if let Ok(entries) = std::fs::read_dir(push::upload_dir(state_dir)) {
        for e in entries.flatten() {
            let _ = std::fs::remove_file(e.path());
        }
    }
}
