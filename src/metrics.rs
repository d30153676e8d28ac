//! Counters for `GET /metrics` (Prometheus text format). One set per process: the as-run
//! log, the feed thread and the push API feed it; the engine's status adds the gauges.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

use crate::core::asrun::{Event, Record};
use crate::core::status::Status;

/// Upper bounds (ms) of the late_ms histogram: how late items start against their plan.
const LATE_BUCKETS: [i64; 9] = [5, 10, 25, 50, 100, 250, 500, 1000, 5000];

#[derive(Default)]
struct Counters {
    /// (kind, event) → count, from the as-run log.
    items: BTreeMap<(String, String), u64>,
    late_buckets: [u64; LATE_BUCKETS.len()],
    late_count: u64,
    late_sum_ms: i64,
    /// result → count: ok | not_modified | error.
    feed_polls: BTreeMap<String, u64>,
    /// The failed polls by kind (`PollError::label`).
    feed_errors: BTreeMap<&'static str, u64>,
    /// (source, reason) → refused bulletins and pushes.
    rejections: BTreeMap<(String, String), u64>,
    /// action → accepted pushes.
    pushes: BTreeMap<String, u64>,
    /// Refusals counted but not written to the logs (they came too fast).
    rejections_unrecorded: u64,
    silences: u64,
    /// What happened to the fleet channel's connection, by kind (takeover, oversized…).
    fleet: BTreeMap<&'static str, u64>,
    /// The API's connections: open, accepted, refused, shed, timed out.
    door: [u64; 5],
}

static COUNTERS: Mutex<Option<Counters>> = Mutex::new(None);

fn with<R>(f: impl FnOnce(&mut Counters) -> R) -> R {
    let mut guard = COUNTERS.lock().unwrap_or_else(|p| p.into_inner());
    f(guard.get_or_insert_with(Counters::default))
}

/// Counts one as-run record.
pub fn asrun(record: &Record) {
    let Some(item) = &record.item else { return };
    let event = serde_json::to_value(record.event)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    with(|c| {
        *c.items
            .entry((item.kind.as_str().to_string(), event))
            .or_default() += 1;
        if record.event == Event::Start
            && let Some(late) = record.late_ms
        {
            c.late_count += 1;
            c.late_sum_ms += late;
            for (i, bound) in LATE_BUCKETS.iter().enumerate() {
                if late <= *bound {
                    c.late_buckets[i] += 1;
                }
            }
        }
    });
}

/// One feed poll: `error` is the failed poll's kind (`PollError::label`).
pub fn feed_poll(error: Option<&'static str>) {
    with(|c| {
        let result = if error.is_some() { "error" } else { "ok" };
        *c.feed_polls.entry(result.to_string()).or_default() += 1;
        if let Some(kind) = error {
            *c.feed_errors.entry(kind).or_default() += 1;
        }
    });
}

pub fn rejected(source: &str, reason: &str) {
    with(|c| {
        *c.rejections
            .entry((source.to_string(), reason.to_string()))
            .or_default() += 1;
    });
}

/// Dead air heard while on air (SPEC §14 `[monitor]`).
pub fn silence() {
    with(|c| c.silences += 1);
}

pub fn rejection_unrecorded() {
    with(|c| c.rejections_unrecorded += 1);
}

/// The API door's counts, as they are now: open, accepted, refused, shed, timed out.
pub fn door(counts: [u64; 5]) {
    with(|c| c.door = counts);
}

/// Something the fleet channel met: `takeover` (another client logged in with this
/// station's id), `oversized` (a message over the bound, dropped), `status_too_large`.
pub fn fleet(kind: &'static str) {
    with(|c| *c.fleet.entry(kind).or_default() += 1);
}

pub fn push_accepted(action: &str) {
    with(|c| *c.pushes.entry(action.to_string()).or_default() += 1);
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The whole exposition, with the engine's latest status for the gauges.
pub fn render(status: Option<&Status>) -> String {
    let mut out = String::new();
    with(|c| counters(&mut out, c, status));
    if let Some(s) = status {
        gauges(&mut out, s);
    }
    out
}

/// A metric family's HELP and TYPE lines.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A counter family whose samples differ by one label.
fn labelled_counter<'a, N: std::fmt::Display + 'a>(
    out: &mut String,
    (name, help): (&str, &str),
    label: &str,
    samples: impl IntoIterator<Item = (&'a str, N)>,
) {
    family(out, name, "counter", help);
    for (value, n) in samples {
        let _ = writeln!(out, "{name}{{{label}=\"{value}\"}} {n}");
    }
}

fn counters(out: &mut String, c: &Counters, status: Option<&Status>) {
    playout(out, c);
    intake(out, c);
    family(
        out,
        "loaxa_silence_total",
        "counter",
        "Dead air: on air, and the monitor heard silence for [monitor] silence_for.",
    );
    let _ = writeln!(out, "loaxa_silence_total {}", c.silences);
    labelled_counter(
        out,
        (
            "loaxa_fleet_events_total",
            "What the fleet channel met: takeover, oversized, status_too_large.",
        ),
        "kind",
        c.fleet.iter().map(|(k, n)| (*k, n)),
    );
    family(
        out,
        "loaxa_silence_now",
        "gauge",
        "1 while the station is on air and hears dead air.",
    );
    let _ = writeln!(
        out,
        "loaxa_silence_now {}",
        u8::from(status.is_some_and(|s| s.silence.is_some()))
    );
    family(
        out,
        "loaxa_http_connections_open",
        "gauge",
        "API connections open now.",
    );
    let _ = writeln!(out, "loaxa_http_connections_open {}", c.door[0]);
    labelled_counter(
        out,
        (
            "loaxa_http_connections_total",
            "API connections by what became of them.",
        ),
        "result",
        ["accepted", "refused", "shed", "timed_out"]
            .into_iter()
            .zip(&c.door[1..]),
    );
    labelled_counter(
        out,
        ("loaxa_pushes_total", "Pushes accepted, by action."),
        "action",
        c.pushes.iter().map(|(k, n)| (k.as_ref(), n)),
    );
}

/// What the as-run log counted: items by kind and event, and how late they started.
fn playout(out: &mut String, c: &Counters) {
    family(
        out,
        "loaxa_items_total",
        "counter",
        "As-run events by item kind.",
    );
    for ((kind, event), n) in &c.items {
        let _ = writeln!(
            out,
            "loaxa_items_total{{kind=\"{kind}\",event=\"{event}\"}} {n}"
        );
    }
    family(
        out,
        "loaxa_late_ms",
        "histogram",
        "How late items started against their planned time (ms).",
    );
    for (bound, n) in LATE_BUCKETS.iter().zip(c.late_buckets) {
        let _ = writeln!(out, "loaxa_late_ms_bucket{{le=\"{bound}\"}} {n}");
    }
    let _ = writeln!(out, "loaxa_late_ms_bucket{{le=\"+Inf\"}} {}", c.late_count);
    let _ = writeln!(out, "loaxa_late_ms_sum {}", c.late_sum_ms);
    let _ = writeln!(out, "loaxa_late_ms_count {}", c.late_count);
}

/// What came in: feed polls, refusals.
fn intake(out: &mut String, c: &Counters) {
    labelled_counter(
        out,
        ("loaxa_feed_polls_total", "Feed polls by result."),
        "result",
        c.feed_polls.iter().map(|(k, n)| (k.as_ref(), n)),
    );
    labelled_counter(
        out,
        (
            "loaxa_feed_poll_errors_total",
            "Failed feed polls by kind: unreachable, http, read, state, untrusted.",
        ),
        "kind",
        c.feed_errors.iter().map(|(k, n)| (*k, n)),
    );
    family(
        out,
        "loaxa_rejections_total",
        "counter",
        "Bulletins and pushes refused, by source and reason.",
    );
    for ((source, reason), n) in &c.rejections {
        let _ = writeln!(
            out,
            "loaxa_rejections_total{{source=\"{source}\",reason=\"{reason}\"}} {n}"
        );
    }
    family(
        out,
        "loaxa_rejections_unrecorded_total",
        "counter",
        "Refusals only counted: more than 60 came in a minute.",
    );
    let _ = writeln!(
        out,
        "loaxa_rejections_unrecorded_total {}",
        c.rejections_unrecorded
    );
}

fn gauges(out: &mut String, s: &Status) {
    if let Some(t) = s.feed.as_ref().and_then(|f| f.last_success) {
        family(
            out,
            "loaxa_feed_last_success_seconds",
            "gauge",
            "Unix time of the last good feed poll.",
        );
        let _ = writeln!(out, "loaxa_feed_last_success_seconds {t}");
    }
    for (name, help, on) in [
        (
            "loaxa_amplifier_on",
            "1 while the amplifier is switched on.",
            s.amplifier_on,
        ),
        (
            "loaxa_output_ok",
            "1 while the sound output works.",
            s.output_ok,
        ),
        (
            "loaxa_on_air",
            "1 while a session or an emergency is on air.",
            s.session.is_some(),
        ),
    ] {
        family(out, name, "gauge", help);
        let _ = writeln!(out, "{name} {}", u8::from(on));
    }
    family(
        out,
        "loaxa_quota_plays",
        "gauge",
        "Campaign plays today: required, planned (still ahead) and done.",
    );
    for q in &s.quotas {
        let c = escape(&q.campaign);
        for (what, n) in [
            ("required", q.required),
            ("planned", q.planned),
            ("done", q.done),
        ] {
            let _ = writeln!(
                out,
                "loaxa_quota_plays{{campaign=\"{c}\",count=\"{what}\"}} {n}"
            );
        }
    }
}
