//! The fleet channel's messages and topics (SPEC §13), with no I/O: what a station and
//! the province say to each other through an MQTT broker. The broker is never trusted
//! for authenticity: a push is taken on its minisign signature only, exactly as an HTTP
//! push (`core::push`).

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use super::push::MAX_MANIFEST_BYTES;

/// The largest push message: a manifest and a signature, each bounded as over HTTP,
/// JSON-escaped (a manifest of quotes doubles), and the object around them.
pub const MAX_PUSH_MESSAGE: usize = 4 * MAX_MANIFEST_BYTES + 1024;
/// The largest MQTT packet a station takes: a push message and its topic. The broker is
/// told (MQTT 5 Maximum Packet Size) and drops anything larger for this station.
pub const STATION_MAX_PACKET: usize = MAX_PUSH_MESSAGE + 1024;
/// The largest status a station publishes: a summary (`summary`), so a feed of 1,000
/// campaigns still fits.
pub const MAX_STATUS: usize = 16 * 1024;
/// The largest MQTT packet the province's tools take: statuses, acknowledgements and
/// events are all small, so a rogue station's retained megabyte is never delivered to
/// them (the broker drops it for them) and cannot stop them listing the others.
pub const PROVINCE_MAX_PACKET: usize = 2 * MAX_STATUS + 1024;
/// A station's status and Last Will carry this Message Expiry (MQTT 5): the broker
/// counts it down, and delivers a retained status with what is left, so the province
/// knows how old it is by the broker's clock. Ten years: in practice they never expire.
pub const STATUS_EXPIRY: u32 = 10 * 365 * 24 * 3600;
/// How many of a status's list entries, and how many bytes of each text, the summary
/// keeps.
const KEEP_QUOTAS: usize = 20;
const KEEP_LINES: usize = 5;
const KEEP_TEXT: usize = 300;

/// The topics of one province (`prefix`) and station.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    pub prefix: String,
}

impl Topics {
    pub fn new(prefix: &str) -> Topics {
        Topics {
            prefix: prefix.to_string(),
        }
    }
    pub fn all_push(&self) -> String {
        format!("{}/all/push", self.prefix)
    }
    pub fn all_feed(&self) -> String {
        format!("{}/all/feed", self.prefix)
    }
    pub fn push(&self, station: &str) -> String {
        format!("{}/station/{station}/push", self.prefix)
    }
    pub fn status(&self, station: &str) -> String {
        format!("{}/station/{station}/status", self.prefix)
    }
    pub fn ack(&self, station: &str) -> String {
        format!("{}/station/{station}/ack", self.prefix)
    }
    /// What the monitor heard that the province should know at once (dead air, an item
    /// not heard): `{"event": "silence" | "not_heard", "ts", "item", "heard", "reason"}`.
    pub fn event(&self, station: &str) -> String {
        format!("{}/station/{station}/event", self.prefix)
    }
    /// Every station's status (the province's subscription).
    pub fn every_status(&self) -> String {
        format!("{}/station/+/status", self.prefix)
    }
    pub fn every_ack(&self) -> String {
        format!("{}/station/+/ack", self.prefix)
    }
    pub fn every_event(&self) -> String {
        format!("{}/station/+/event", self.prefix)
    }

    /// What a message on `topic` is, as the province reads it: the station and the kind.
    pub fn station_topic<'t>(&self, topic: &'t str) -> Option<(&'t str, &'t str)> {
        let rest = topic
            .strip_prefix(&self.prefix)?
            .strip_prefix("/station/")?;
        let (station, kind) = rest.split_once('/')?;
        (!station.is_empty() && !kind.contains('/')).then_some((station, kind))
    }
}

/// What the station finds on a push topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushMessage {
    /// The push manifest (SPEC §8), as the very bytes that were signed.
    pub manifest: String,
    /// Its minisign signature file, as text.
    pub signature: String,
}

impl PushMessage {
    /// Reads a push message, bounded: anything too big or not this shape is refused as
    /// malformed, with its reason.
    pub fn parse(bytes: &[u8]) -> Result<PushMessage, super::push::PushError> {
        use super::push::PushError::Malformed;
        if bytes.len() > MAX_PUSH_MESSAGE {
            return Err(Malformed(format!(
                "the message is {} bytes; a push message is at most {MAX_PUSH_MESSAGE}",
                bytes.len()
            )));
        }
        let m: PushMessage = serde_json::from_slice(bytes).map_err(|e| {
            Malformed(super::text::clip_bytes(
                &format!("not a push message ({{\"manifest\": …, \"signature\": …}}): {e}"),
                300,
            ))
        })?;
        if m.manifest.len() > MAX_MANIFEST_BYTES || m.signature.len() > MAX_MANIFEST_BYTES {
            return Err(Malformed(format!(
                "the manifest or signature is over {MAX_MANIFEST_BYTES} bytes"
            )));
        }
        Ok(m)
    }

    /// The push id a message claims, for acknowledging a refusal: only a plain id is
    /// repeated back (it is not trusted, merely echoed so the sender can match it).
    pub fn claimed_id(manifest: &str) -> Option<String> {
        #[derive(Deserialize)]
        struct Id {
            id: String,
        }
        let id = serde_json::from_str::<Id>(manifest).ok()?.id;
        super::catalog::check_id(&id).ok().map(|()| id)
    }
}

/// A station's acknowledgement of a push, on `P/station/S/ack`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ack {
    pub id: Option<String>,
    pub event: AckEvent,
    #[serde(default)]
    pub reason: Option<String>,
    pub ts: DateTime<FixedOffset>,
    /// On `ended`, with `[monitor]`: what the monitor heard of it (SPEC §14).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heard: Option<crate::asrun::Heard>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AckEvent {
    Accepted,
    Refused,
    Started,
    Ended,
    Interrupted,
}

impl AckEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            AckEvent::Accepted => "accepted",
            AckEvent::Refused => "refused",
            AckEvent::Started => "started",
            AckEvent::Ended => "ended",
            AckEvent::Interrupted => "interrupted",
        }
    }
}

/// A status payload on the wire: the station's status (as `GET /api/v1/status`) with
/// `online` set, or only `online: false` (the Last Will, or a clean stop).
pub fn status_payload(status: Option<&serde_json::Value>, online: bool, station: &str) -> Vec<u8> {
    let mut v = match status {
        Some(serde_json::Value::Object(m)) => serde_json::Value::Object(m.clone()),
        _ => serde_json::json!({ "station_id": station }),
    };
    if let serde_json::Value::Object(m) = &mut v {
        m.insert("online".into(), serde_json::Value::Bool(online));
    }
    serde_json::to_vec(&v).unwrap_or_default()
}

/// The status a station publishes: `GET /api/v1/status`'s, summarised so that it stays
/// under `MAX_STATUS` whatever the station holds. Lists keep their first few entries
/// (quotas: those short of their count first) and say how many there were in all
/// (`quotas_total`, `warnings_total`, `problems_total`); texts are cut to 300 bytes; the
/// upcoming items are the next three.
pub fn summary(status: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    let Value::Object(full) = status else {
        return serde_json::json!({});
    };
    let mut out = serde_json::Map::new();
    for (key, value) in full {
        let kept = match (key.as_str(), value) {
            ("quotas", Value::Array(q)) => {
                out.insert("quotas_total".into(), q.len().into());
                let mut q: Vec<&Value> = q.iter().collect();
                q.sort_by_key(|q| !quota_short(q));
                Value::Array(q.into_iter().take(KEEP_QUOTAS).map(bounded_value).collect())
            }
            ("warnings" | "problems", Value::Array(l)) => {
                out.insert(format!("{key}_total"), l.len().into());
                Value::Array(l.iter().take(KEEP_LINES).map(bounded_value).collect())
            }
            ("next", Value::Array(l)) => {
                Value::Array(l.iter().take(3).map(bounded_value).collect())
            }
            _ => bounded_value(value),
        };
        out.insert(key.clone(), kept);
    }
    let mut v = Value::Object(out);
    // Whatever a future field adds, the bound holds: the lists go first.
    if serde_json::to_vec(&v).map_or(true, |b| b.len() > MAX_STATUS - 64)
        && let Value::Object(m) = &mut v
    {
        for key in ["next", "quotas", "warnings", "last_reload", "last_refusal"] {
            m.remove(key);
        }
        m.retain(|_, value| serde_json::to_vec(value).is_ok_and(|b| b.len() <= 1024));
    }
    v
}

/// A quota that cannot be met with what is done and planned.
fn quota_short(q: &serde_json::Value) -> bool {
    let n = |k: &str| q.get(k).and_then(|v| v.as_u64()).unwrap_or(0);
    n("done") + n("planned") < n("required")
}

/// `value` with every string cut to `KEEP_TEXT` bytes and every list to `KEEP_LINES`
/// entries, at any depth (bounded: a status is a few levels deep).
fn bounded_value(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(s) => Value::String(super::text::clip_bytes(s, KEEP_TEXT)),
        Value::Array(a) => Value::Array(a.iter().take(KEEP_LINES).map(bounded_value).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .take(32)
                .map(|(k, v)| (super::text::clip_bytes(k, 64), bounded_value(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// What a status says, as the province reads it. Everything is optional: a station of
/// another version, or a Last Will, says less.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct SeenStatus {
    #[serde(default)]
    pub station_id: Option<String>,
    #[serde(default)]
    pub online: bool,
    #[serde(default)]
    pub updated: Option<String>,
    #[serde(default)]
    pub session: Option<String>,
    #[serde(default)]
    pub emergency: Option<String>,
    #[serde(default)]
    pub amplifier_on: bool,
    #[serde(default)]
    pub output_ok: Option<bool>,
    /// Dead air, as the station's monitor hears it.
    #[serde(default)]
    pub silence: Option<serde_json::Value>,
    #[serde(default)]
    pub now_playing: Option<serde_json::Value>,
    #[serde(default)]
    pub feed: Option<SeenFeed>,
    #[serde(default)]
    pub quotas: Vec<serde_json::Value>,
    #[serde(default)]
    pub problems: Vec<String>,
    #[serde(default)]
    pub version: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct SeenFeed {
    #[serde(default)]
    pub sequence: Option<u64>,
    #[serde(default)]
    pub last_error: Option<String>,
}

impl SeenStatus {
    /// Reads a status as the province keeps it: whatever the station sent, each text at
    /// most 300 bytes and each list a few entries, so a station that says too much costs
    /// the province no more than one that says little. Unreadable: an empty status.
    pub fn read(payload: &[u8]) -> SeenStatus {
        let Ok(mut s) = serde_json::from_slice::<SeenStatus>(payload) else {
            return SeenStatus::default();
        };
        let text = |t: &mut Option<String>| {
            if let Some(v) = t {
                *v = super::text::clip_bytes(v, KEEP_TEXT);
            }
        };
        text(&mut s.station_id);
        text(&mut s.updated);
        text(&mut s.session);
        text(&mut s.emergency);
        text(&mut s.version);
        if let Some(f) = &mut s.feed {
            text(&mut f.last_error);
        }
        s.problems.truncate(KEEP_LINES);
        for p in &mut s.problems {
            *p = super::text::clip_bytes(p, KEEP_TEXT);
        }
        s.quotas.truncate(KEEP_QUOTAS);
        s.quotas = s.quotas.iter().map(bounded_value).collect();
        s.silence = s.silence.as_ref().map(bounded_value);
        s.now_playing = s.now_playing.as_ref().map(bounded_value);
        s
    }

    /// On air: something plays, or an emergency runs.
    pub fn on_air(&self) -> bool {
        self.online && (self.now_playing.is_some() || self.emergency.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_of_a_province() {
        let t = Topics::new("loaxa/hn");
        assert_eq!(t.push("s1"), "loaxa/hn/station/s1/push");
        assert_eq!(t.all_push(), "loaxa/hn/all/push");
        assert_eq!(
            t.station_topic("loaxa/hn/station/s1/ack"),
            Some(("s1", "ack"))
        );
        assert_eq!(t.station_topic("loaxa/hn/station/s1/a/b"), None);
        assert_eq!(t.station_topic("loaxa/hp/station/s1/ack"), None);
    }

    #[test]
    fn push_messages_are_bounded_and_strict() {
        let ok = br#"{"manifest": "{}", "signature": "sig"}"#;
        assert!(PushMessage::parse(ok).is_ok());
        assert!(PushMessage::parse(br#"{"manifest": "{}"}"#).is_err());
        assert!(PushMessage::parse(br#"{"manifest": "{}", "signature": "", "x": 1}"#).is_err());
        let big = vec![b' '; MAX_PUSH_MESSAGE + 1];
        let e = PushMessage::parse(&big).unwrap_err();
        assert!(
            matches!(&e, crate::push::PushError::Malformed(why) if why.contains("at most")),
            "{e:?}"
        );
        assert_eq!(
            PushMessage::claimed_id(r#"{"id": "p-1"}"#),
            Some("p-1".into())
        );
        assert_eq!(PushMessage::claimed_id(r#"{"id": "../x"}"#), None);
    }

    #[test]
    fn a_status_with_a_thousand_campaigns_is_summarised_under_the_bound() {
        let quotas: Vec<_> = (0..1000)
            .map(|i| {
                let done = if i == 999 { 0 } else { 3 };
                serde_json::json!({"campaign": format!("c{i}-{}", "x".repeat(200)), "required": 3, "planned": 0, "done": done})
            })
            .collect();
        let warnings: Vec<_> = (0..1000)
            .map(|i| format!("only 0 of 3 fit: c{i}"))
            .collect();
        let full = serde_json::json!({
            "station_id": "s1", "session": "Sáng".repeat(1000), "quotas": quotas,
            "warnings": warnings, "problems": ["a", "b"], "next": [1, 2, 3, 4, 5],
            "now_playing": {"title": "t".repeat(10_000)},
        });
        assert!(serde_json::to_vec(&full).unwrap().len() > 200_000);
        let s = summary(&full);
        let bytes = serde_json::to_vec(&s).unwrap();
        assert!(bytes.len() <= MAX_STATUS, "{} bytes", bytes.len());
        assert_eq!(s["quotas_total"], 1000);
        assert_eq!(s["warnings_total"], 1000);
        assert_eq!(s["problems_total"], 2);
        assert_eq!(s["next"].as_array().unwrap().len(), 3);
        // The short campaign is kept, whatever its place in the list.
        let kept = s["quotas"].as_array().unwrap();
        assert!(kept.len() <= 20);
        assert!(kept[0]["campaign"].as_str().unwrap().starts_with("c999-"));
        assert!(s["session"].as_str().unwrap().len() <= 300);
        // What the province reads back is bounded the same way.
        let seen = SeenStatus::read(&bytes);
        assert_eq!(seen.station_id.as_deref(), Some("s1"));
        assert!(seen.session.unwrap().len() <= 300);
    }

    #[test]
    fn status_payload_says_online() {
        let s = serde_json::json!({"station_id": "s1", "session": "Sáng"});
        let v: serde_json::Value =
            serde_json::from_slice(&status_payload(Some(&s), true, "s1")).unwrap();
        assert_eq!(v["online"], true);
        assert_eq!(v["session"], "Sáng");
        let v: serde_json::Value =
            serde_json::from_slice(&status_payload(None, false, "s1")).unwrap();
        assert_eq!(v, serde_json::json!({"station_id": "s1", "online": false}));
    }
}
