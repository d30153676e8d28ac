//! `loaxa fleet serve`: the province's page of every station (the station page's
//! counterpart at fleet level). What the broker says — each station's retained status and
//! every acknowledgement — is folded into a `View`; a small HTTP server on the province's
//! own machine serves the page and the view as JSON.
//!
//! Bounded like everything that comes from outside: at most `MAX_STATIONS` stations and
//! the last `MAX_PUSHES` pushes are kept, and each message is read only if it is small.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::core::fleet::{Ack, AckEvent, SeenStatus};

pub const MAX_STATIONS: usize = 20_000;
pub const MAX_PUSHES: usize = 20;
/// A status or acknowledgement bigger than this is not read (the broker already drops
/// anything over `PROVINCE_MAX_PACKET` for the province's client).
pub const MAX_MESSAGE: usize = crate::core::fleet::PROVINCE_MAX_PACKET;
/// A station says how it is every 60 s: silent for three of those, it counts as offline.
pub const STALE_SECS: i64 = 180;

#[derive(Default)]
pub struct View {
    stations: BTreeMap<String, Seen>,
    pushes: VecDeque<PushAcks>,
}

struct Seen {
    status: SeenStatus,
    /// When the province last heard from it (the retained status may be old).
    heard: DateTime<Utc>,
}

#[derive(Clone, Serialize)]
struct PushAcks {
    id: String,
    first: DateTime<Utc>,
    stations: BTreeMap<String, AckRow>,
}

#[derive(Clone, Serialize)]
struct AckRow {
    event: AckEvent,
    reason: Option<String>,
    at: DateTime<Utc>,
}

/// What the page shows.
#[derive(Serialize)]
pub struct Snapshot {
    pub generated: DateTime<Utc>,
    pub stations: Vec<StationView>,
    pushes: Vec<PushView>,
}

#[derive(Serialize)]
pub struct StationView {
    pub id: String,
    pub online: bool,
    pub heard: DateTime<Utc>,
    pub updated: Option<String>,
    pub session: Option<String>,
    pub emergency: Option<String>,
    pub amplifier_on: bool,
    pub output_ok: Option<bool>,
    pub playing: Option<String>,
    pub feed_sequence: Option<u64>,
    pub quotas: Vec<QuotaView>,
    pub problems: Vec<String>,
    pub version: Option<String>,
    /// In a session but nothing sounds: no item, the amplifier off, the output failing, or
    /// the station's monitor hearing dead air.
    pub silent: bool,
    /// A campaign cannot meet today's quota with what is done and planned.
    pub short: bool,
}

#[derive(Serialize)]
pub struct QuotaView {
    pub campaign: String,
    pub done: u64,
    pub planned: u64,
    pub required: u64,
}

#[derive(Serialize)]
struct PushView {
    id: String,
    first: DateTime<Utc>,
    counts: BTreeMap<&'static str, usize>,
    stations: Vec<(String, AckRow)>,
}

impl View {
    /// One message from `station` on its `kind` topic ("status" or "ack"), published
    /// at `now` by the broker's clock. Every text kept is bounded (`SeenStatus::read`).
    pub fn take(&mut self, station: &str, kind: &str, payload: &[u8], now: DateTime<Utc>) {
        if payload.len() > MAX_MESSAGE {
            return;
        }
        let station = &crate::core::text::shorten(station, 128);
        if !self.stations.contains_key(station) && self.stations.len() >= MAX_STATIONS {
            return;
        }
        match kind {
            "status" => {
                let status = SeenStatus::read(payload);
                let seen = Seen { status, heard: now };
                self.stations.insert(station.to_string(), seen);
            }
            "ack" => {
                let Ok(ack) = serde_json::from_slice::<Ack>(payload) else {
                    return;
                };
                let Some(id) = ack.id.clone() else { return };
                if let Some(s) = self.stations.get_mut(station) {
                    s.heard = now;
                }
                let row = AckRow {
                    event: ack.event,
                    reason: ack.reason.map(|r| crate::core::text::shorten(&r, 300)),
                    at: now,
                };
                let push = match self.pushes.iter_mut().position(|p| p.id == id) {
                    Some(i) => &mut self.pushes[i],
                    None => {
                        if self.pushes.len() >= MAX_PUSHES {
                            self.pushes.pop_front();
                        }
                        self.pushes.push_back(PushAcks {
                            id: crate::core::text::shorten(&id, 128),
                            first: now,
                            stations: BTreeMap::new(),
                        });
                        let last = self.pushes.len() - 1;
                        &mut self.pushes[last]
                    }
                };
                // What the station did last stands: an `ended` after `accepted`, not before.
                let later = push
                    .stations
                    .get(station)
                    .is_none_or(|old| rank(row.event) >= rank(old.event));
                if later {
                    push.stations.insert(station.to_string(), row);
                }
            }
            _ => {}
        }
    }

    pub fn snapshot(&self, now: DateTime<Utc>) -> Snapshot {
        let stations = self
            .stations
            .iter()
            .map(|(id, s)| station_view(id, s, now))
            .collect();
        let pushes = self
            .pushes
            .iter()
            .rev()
            .map(|p| {
                let mut counts = BTreeMap::new();
                for row in p.stations.values() {
                    *counts.entry(row.event.as_str()).or_default() += 1;
                }
                PushView {
                    id: p.id.clone(),
                    first: p.first,
                    counts,
                    stations: p
                        .stations
                        .iter()
                        .map(|(s, r)| (s.clone(), r.clone()))
                        .collect(),
                }
            })
            .collect();
        Snapshot {
            generated: now,
            stations,
            pushes,
        }
    }
}

/// How far along a push an acknowledgement is.
fn rank(event: AckEvent) -> u8 {
    match event {
        AckEvent::Accepted | AckEvent::Refused => 0,
        AckEvent::Started => 1,
        AckEvent::Ended | AckEvent::Interrupted => 2,
    }
}

fn station_view(id: &str, seen: &Seen, now: DateTime<Utc>) -> StationView {
    let s = &seen.status;
    let online = s.online && (now - seen.heard).num_seconds() <= STALE_SECS;
    let number = |q: &serde_json::Value, k: &str| q.get(k).and_then(|v| v.as_u64()).unwrap_or(0);
    let quotas: Vec<QuotaView> = s
        .quotas
        .iter()
        .map(|q| QuotaView {
            campaign: q
                .get("campaign")
                .and_then(|v| v.as_str())
                .map(|c| crate::core::text::shorten(c, 128))
                .unwrap_or_default(),
            done: number(q, "done"),
            planned: number(q, "planned"),
            required: number(q, "required"),
        })
        .collect();
    let short = quotas.iter().any(|q| q.done + q.planned < q.required);
    let playing = s
        .now_playing
        .as_ref()
        .and_then(|p| p.get("title"))
        .and_then(|t| t.as_str())
        .map(|t| crate::core::text::shorten(t, 200));
    let silent = online
        && (s.session.is_some() || s.emergency.is_some())
        && (playing.is_none()
            || !s.amplifier_on
            || s.output_ok == Some(false)
            || s.silence.is_some());
    StationView {
        id: id.to_string(),
        online,
        heard: seen.heard,
        updated: s.updated.clone(),
        session: s.session.clone(),
        emergency: s.emergency.clone(),
        amplifier_on: s.amplifier_on,
        output_ok: s.output_ok,
        playing,
        feed_sequence: s.feed.as_ref().and_then(|f| f.sequence),
        quotas,
        problems: s
            .problems
            .iter()
            .take(5)
            .map(|p| crate::core::text::shorten(p, 300))
            .collect(),
        version: s.version.clone(),
        silent,
        short,
    }
}

const PAGE: &str = include_str!("fleet_page/fleet.html");
const SCRIPT: &str = include_str!("fleet_page/fleet.js");
const STYLE: &str = include_str!("fleet_page/fleet.css");
/// The station page's style sheet, so both pages look alike.
const STATION_STYLE: &str = include_str!("../http/page/app.css");
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The page's routes over a shared view, for a server on loopback `port`.
pub fn router(view: Arc<Mutex<View>>, port: u16) -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { asset("text/html; charset=utf-8", PAGE) }),
        )
        .route(
            "/fleet.js",
            get(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }),
        )
        .route(
            "/fleet.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE) }),
        )
        .route(
            "/app.css",
            get(|| async { asset("text/css; charset=utf-8", STATION_STYLE) }),
        )
        .route("/api/v1/fleet", get(snapshot))
        .fallback(|| async { (StatusCode::NOT_FOUND, "no such page; see /").into_response() })
        // As on a station: a page elsewhere cannot read this one through DNS rebinding.
        .layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| async move {
                let host = request
                    .headers()
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or("");
                if crate::http::is_local_host(host, port) {
                    next.run(request).await
                } else {
                    (
                        StatusCode::FORBIDDEN,
                        "this page answers only requests addressed to this machine",
                    )
                        .into_response()
                }
            },
        ))
        .with_state(view)
}

async fn snapshot(State(view): State<Arc<Mutex<View>>>) -> Response {
    let snap = view
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .snapshot(Utc::now());
    axum::Json(snap).into_response()
}

fn asset(kind: &'static str, body: &'static str) -> Response {
    crate::http::page::embedded(StatusCode::OK, kind, body, "no-cache", Some(POLICY))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap()
    }

    #[test]
    fn stations_are_offline_silent_or_short_as_their_statuses_say() {
        let mut v = View::default();
        v.take("a", "status", br#"{"online": true, "session": "Sang", "amplifier_on": true, "now_playing": {"title": "Tin"}, "quotas": [{"campaign": "c", "done": 1, "planned": 2, "required": 3}]}"#, at(0));
        v.take("b", "status", br#"{"online": true, "session": "Sang", "amplifier_on": true, "output_ok": false, "now_playing": {"title": "Tin"}}"#, at(0));
        v.take("c", "status", br#"{"online": true, "quotas": [{"campaign": "c", "done": 0, "planned": 1, "required": 3}]}"#, at(0));
        v.take("d", "status", br#"{"online": false}"#, at(0));
        v.take("e", "status", b"not json", at(0));
        let s = v.snapshot(at(10));
        let flags: Vec<(&str, bool, bool, bool)> = s
            .stations
            .iter()
            .map(|x| (x.id.as_str(), x.online, x.silent, x.short))
            .collect();
        assert_eq!(
            flags,
            [
                ("a", true, false, false),
                ("b", true, true, false),
                ("c", true, false, true),
                ("d", false, false, false),
                ("e", false, false, false)
            ]
        );
        // Nothing heard for three status periods: offline, whatever its last status said.
        assert!(!v.snapshot(at(STALE_SECS + 1)).stations[0].online);
    }

    #[test]
    fn acknowledgements_fill_in_and_a_late_accepted_does_not_undo_an_end() {
        let mut v = View::default();
        v.take(
            "a",
            "ack",
            br#"{"id": "p1", "event": "accepted", "ts": "2021-10-01T05:30:00+07:00"}"#,
            at(0),
        );
        v.take("b", "ack", br#"{"id": "p1", "event": "refused", "reason": "expired: too late", "ts": "2021-10-01T05:30:00+07:00"}"#, at(0));
        v.take(
            "a",
            "ack",
            br#"{"id": "p1", "event": "ended", "ts": "2021-10-01T05:30:00+07:00"}"#,
            at(2),
        );
        v.take(
            "a",
            "ack",
            br#"{"id": "p1", "event": "accepted", "ts": "2021-10-01T05:30:00+07:00"}"#,
            at(3),
        );
        let s = v.snapshot(at(4));
        let p = &s.pushes[0];
        assert_eq!(p.counts.get("ended"), Some(&1));
        assert_eq!(p.counts.get("refused"), Some(&1));
        assert_eq!(p.counts.get("accepted"), None);
        for n in 0..(MAX_PUSHES + 5) {
            v.take(
                "a",
                "ack",
                format!(
                    r#"{{"id": "q{n}", "event": "accepted", "ts": "2021-10-01T05:30:00+07:00"}}"#
                )
                .as_bytes(),
                at(5),
            );
        }
        assert_eq!(v.snapshot(at(6)).pushes.len(), MAX_PUSHES);
    }
}
