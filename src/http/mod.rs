//! The daemon's HTTP API (SPEC §10), on `[api] listen`:
//!
//! - `GET /api/v1/status`: what plays now, what is next, quotas (as `loaxa status --json`)
//! - `GET /api/v1/plan?date=YYYY-MM-DD[&unplayed=true]`: a day's plan (as `loaxa plan
//!   --json`), or the day as planned before any of it played (the page's timeline)
//! - `GET /`: the station page (`page.rs`)
//! - `GET /api/v1/asrun?date=YYYY-MM-DD`: the day's as-run log, as a JSON array
//! - `GET /api/v1/report?from=D&to=D[&format=csv]`: proof of play (as `loaxa report`)
//! - `POST /api/v1/push`: a signed bulletin or cancel from the province (SPEC §8)
//! - `GET /metrics`: Prometheus text format
//!
//! It runs as a task on the daemon's tokio runtime, beside the playout thread, and only
//! talks to the playout through its command channel, so no request can hold up the
//! broadcast. Audio
//! checks run one at a time in a child process, leaving the other core to the playout.
//!
//! Who may come in (SPEC §11): connections are bounded by `door`; on loopback the Host
//! header must name this machine (a web page elsewhere cannot reach the API through DNS
//! rebinding); off loopback, reads need `Authorization: Bearer <[api] token>`. Pushes
//! are authenticated by their signature only.

pub mod door;
pub mod multipart;
pub mod page;
mod push;

use std::path::PathBuf;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Query, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::json;

use crate::config::Config;
use crate::core::status::{Reload, Silence, Status};
use crate::station::command::Command;
use crate::station::refusals::Refusals;
use crate::store::trust::Trust;
use crate::sys::clock::Clock;

/// What the engine shares with the API: its config (reloads included) and latest status.
/// What the station shows of itself, published as snapshots: each writer (the playout,
/// the config watch, the monitor) replaces its part, each reader (the API, the page, the
/// fleet channel, the monitor) takes the newest whole value and never holds a lock while
/// it works on it. `tokio::sync::watch` is the well-kept channel for exactly this.
pub struct Shared {
    config: tokio::sync::watch::Sender<Arc<Config>>,
    state: tokio::sync::watch::Sender<Shown>,
}

/// The parts of the status that come from outside the playout.
#[derive(Default)]
struct Shown {
    status: Option<Status>,
    reload: Option<Reload>,
    silence: Option<Silence>,
    /// The last good feed poll (unix time), and the error of the polls since.
    feed_success: Option<i64>,
    feed_error: Option<String>,
}

impl Shared {
    pub fn new(config: Config) -> Arc<Shared> {
        Arc::new(Shared {
            config: tokio::sync::watch::Sender::new(Arc::new(config)),
            state: tokio::sync::watch::Sender::new(Shown::default()),
        })
    }

    /// The config the station runs now (shared, not copied).
    pub fn config(&self) -> Arc<Config> {
        self.config.borrow().clone()
    }

    /// A reloaded config is the one the station runs now.
    pub fn set_config(&self, config: Config) {
        self.config.send_replace(Arc::new(config));
    }

    /// The playout's newest status, with the last reload and what the monitor heard.
    pub fn status(&self) -> Option<Status> {
        let shown = self.state.borrow();
        let mut status = shown.status.clone()?;
        status.last_reload = shown.reload.clone();
        status.silence = shown.silence.clone();
        if let Some(feed) = &mut status.feed {
            feed.last_success = shown.feed_success;
            feed.last_error = shown.feed_error.clone();
        }
        Some(status)
    }

    /// Looks at the playout's newest status without copying it (the monitor does, every
    /// block of audio it hears).
    pub fn with_status<R>(&self, look: impl FnOnce(Option<&Status>) -> R) -> R {
        look(self.state.borrow().status.as_ref())
    }

    pub fn set_status(&self, status: Status) {
        self.state.send_modify(|s| s.status = Some(status));
    }

    pub fn reloaded(&self, reload: Reload) {
        self.state.send_modify(|s| s.reload = Some(reload));
    }

    /// A feed poll's outcome: when it succeeded (unix time), or why it failed.
    pub fn feed_polled(&self, outcome: Result<i64, String>) {
        self.state.send_modify(|s| match outcome {
            Ok(at) => {
                s.feed_success = Some(at);
                s.feed_error = None;
            }
            Err(why) => s.feed_error = Some(why),
        });
    }

    /// Dead air heard by the monitor, or `None` once sound is back.
    pub fn set_silence(&self, silence: Option<Silence>) {
        self.state.send_modify(|s| s.silence = silence);
    }
}

struct Ctx {
    shared: Arc<Shared>,
    clock: Arc<dyn Clock>,
    trust: Arc<Trust>,
    refusals: Arc<Refusals>,
    commands: Mutex<Sender<Command>>,
    /// The program that decodes uploads in a child process (`loaxa validate-audio`).
    validator: PathBuf,
    /// One audio check at a time.
    checks: tokio::sync::Semaphore,
    door: Arc<door::Door>,
    /// The address the socket was bound to at start: a reload that names another takes
    /// effect at the next start, and until then requests to this one are ours.
    listen: std::net::SocketAddr,
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

/// What the API needs from the rest of the daemon.
pub struct Parts {
    pub shared: Arc<Shared>,
    pub clock: Arc<dyn Clock>,
    pub trust: Arc<Trust>,
    pub refusals: Arc<Refusals>,
    pub commands: Sender<Command>,
    pub validator: PathBuf,
}

/// Serves the API until `stop` is cancelled; a task on the daemon's runtime. A port that
/// cannot be opened is logged; the broadcast goes on without the API.
pub async fn serve(parts: Parts, stop: tokio_util::sync::CancellationToken) {
    let listen = parts.shared.config().station.api.listen;
    let ctx = Arc::new(Ctx {
        shared: parts.shared,
        clock: parts.clock,
        trust: parts.trust,
        refusals: parts.refusals,
        commands: Mutex::new(parts.commands),
        validator: parts.validator,
        checks: tokio::sync::Semaphore::new(1),
        door: door::Door::new(door::Limits::default()),
        listen,
    });
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
    if ctx.shared.config().station.api.reads_need_token()
        && ctx.shared.config().station.api.token.is_none()
    {
        tracing::warn!(
            "[api] listen {listen} is not a loopback address and [api] token is not set: every read is refused; set a token in station.toml"
        );
    }
    let door = ctx.door.clone();
    let app = router(ctx);
    door.run(listener, stop, move |io, _peer| {
        serve_connection(app.clone(), io)
    })
    .await;
}

/// One connection: HTTP/1.1 with bounded heads, each request marked busy for the door.
pub async fn serve_connection(app: Router, io: hyper_util::rt::TokioIo<door::Watched>) {
    use tower::ServiceExt;
    let marker = io.inner().marker();
    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let busy = marker.begin();
        let app = app.clone();
        async move {
            let response = app.oneshot(req.map(axum::body::Body::new)).await;
            drop(busy);
            response
        }
    });
    let mut http = hyper::server::conn::http1::Builder::new();
    http.max_headers(64)
        .max_buf_size(door::Limits::default().max_head_bytes)
        .header_read_timeout(None)
        .keep_alive(true);
    if let Err(e) = http.serve_connection(io, service).await {
        tracing::debug!("HTTP API connection: {e}");
    }
}

fn router(ctx: Arc<Ctx>) -> Router {
    Router::new()
        .route("/", get(page::index))
        .route("/ui/app.js", get(page::app_js))
        .route("/ui/app.css", get(page::app_css))
        .route("/ui/login.js", get(page::login_js))
        .route("/api/v1/status", get(get_status))
        .route("/api/v1/plan", get(get_plan))
        .route("/api/v1/asrun", get(get_asrun))
        .route("/api/v1/report", get(get_report))
        .route("/api/v1/push", post(push::post_push))
        .route("/metrics", get(get_metrics))
        .fallback(|| async {
            error(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such endpoint; see / (the station page), /api/v1/status, /api/v1/plan, /api/v1/asrun, /api/v1/report, /api/v1/push, /metrics",
            )
        })
        .layer(axum::middleware::from_fn_with_state(ctx.clone(), admit))
        .with_state(ctx)
}

/// The Host check on loopback and the token for reads off loopback.
async fn admit(State(ctx): State<Arc<Ctx>>, request: Request, next: Next) -> Response {
    let api = ctx.shared.config().station.api.clone();
    if ctx.listen.ip().is_loopback() {
        let host = request
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        if !is_local_host(host, ctx.listen.port()) {
            return error(
                StatusCode::FORBIDDEN,
                "host",
                "this API answers only requests addressed to this machine (Host: 127.0.0.1, localhost or [::1])",
            );
        }
    } else if request.method() != Method::POST && !page::is_public_asset(request.uri().path()) {
        let headers = request.headers();
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(|t| t.trim().to_string());
        // A browser cannot send a header when it opens a page: the login form's cookie.
        let cookie = || {
            headers
                .get_all(header::COOKIE)
                .iter()
                .filter_map(|h| h.to_str().ok())
                .find_map(page::cookie_token)
        };
        let ok = match (&api.token, bearer.or_else(cookie)) {
            (Some(token), Some(given)) => constant_time_eq(token.as_bytes(), given.as_bytes()),
            _ => false,
        };
        if !ok && request.uri().path() == "/" {
            return page::login();
        }
        if !ok {
            let why = if api.token.is_none() {
                "reads need a token, and none is set: add [api] token to station.toml"
            } else {
                "reads need Authorization: Bearer <the [api] token of station.toml>"
            };
            return error(StatusCode::UNAUTHORIZED, "token", why);
        }
    }
    next.run(request).await
}

/// `Host` names this machine: a loopback address or localhost, with our port or none.
pub fn is_local_host(host: &str, port: u16) -> bool {
    let (name, given_port) = match host.rsplit_once(':') {
        Some((n, p)) if !n.ends_with(']') || host.starts_with('[') => match p.parse::<u16>() {
            Ok(p) => (n, Some(p)),
            Err(_) => (host, None),
        },
        _ => (host, None),
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    let local = name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    local && given_port.is_none_or(|p| p == port)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn error(status: StatusCode, label: &str, message: &str) -> Response {
    let message = crate::core::text::clip_bytes(message, 1024);
    (
        status,
        axum::Json(json!({ "error": label, "status": status.as_u16(), "message": message })),
    )
        .into_response()
}

async fn get_status(State(ctx): State<Arc<Ctx>>) -> Response {
    match ctx.shared.status() {
        Some(mut s) => {
            s.last_refusal = ctx.refusals.last();
            axum::Json(s).into_response()
        }
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
    /// `plan` only: `unplayed=true` plans the day as if nothing of it had played yet.
    #[serde(default)]
    unplayed: bool,
}

/// The config, and the asked date or today in the station's time zone.
fn dated(
    ctx: &Ctx,
    q: Result<Query<DateQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<(Arc<Config>, NaiveDate, bool), String> {
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
    Ok((config, date, q.unplayed))
}

async fn get_plan(
    State(ctx): State<Arc<Ctx>>,
    q: Result<Query<DateQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let (config, date, unplayed) = match dated(&ctx, q) {
        Ok(d) => d,
        Err(why) => return error(StatusCode::BAD_REQUEST, "malformed", &why),
    };
    blocking_json(move || match unplayed {
        true => crate::station::plan::load_unplayed(&config, date),
        false => crate::station::plan::load(&config, date, None),
    })
    .await
}

async fn get_asrun(
    State(ctx): State<Arc<Ctx>>,
    q: Result<Query<DateQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let (config, date, _) = match dated(&ctx, q) {
        Ok(d) => d,
        Err(why) => return error(StatusCode::BAD_REQUEST, "malformed", &why),
    };
    blocking_json(move || {
        crate::store::Store::of(&config.station).read_day(date, config.schedule.timezone)
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
    /// `heard=true`: count only plays the monitor heard.
    #[serde(default)]
    heard: bool,
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
    let counting = if q.heard {
        crate::core::report::Counting::Heard
    } else {
        crate::core::report::Counting::Ended
    };
    let now = ctx.clock.now().with_timezone(&config.schedule.timezone);
    let (lang, tz) = (config.station.language, config.schedule.timezone);
    let built = tokio::task::spawn_blocking(move || {
        crate::station::report::build(&config, from, to, counting, now)
    })
    .await;
    match built {
        Ok(Ok(report)) if csv => (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            crate::station::report::csv(&report, true, lang, tz),
        )
            .into_response(),
        Ok(Ok(report)) => axum::Json(report).into_response(),
        Ok(Err(why)) => bad(&why.to_string()),
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
    {
        use std::sync::atomic::Ordering::Relaxed;
        let c = &ctx.door.counts;
        crate::metrics::door([
            c.open.load(Relaxed),
            c.accepted.load(Relaxed),
            c.refused.load(Relaxed),
            c.shed.load(Relaxed),
            c.timed_out.load(Relaxed),
        ]);
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::metrics::render(status.as_ref()),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_this_machine_is_a_host() {
        use super::is_local_host as local;
        for ok in [
            "127.0.0.1:8470",
            "localhost:8470",
            "[::1]:8470",
            "localhost",
            "127.0.0.1",
        ] {
            assert!(local(ok, 8470), "{ok}");
        }
        for bad in [
            "evil.example:8470",
            "127.0.0.1:9999",
            "10.0.0.1:8470",
            "",
            "[::1]:1",
        ] {
            assert!(!local(bad, 8470), "{bad}");
        }
    }
}
