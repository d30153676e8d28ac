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
/// The largest message a station or the province takes from the broker at all; bigger
/// ones are dropped by the MQTT client before they are read whole.
pub const MAX_MESSAGE: usize = MAX_PUSH_MESSAGE;

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
    /// Reads a push message, bounded: anything too big or not this shape is refused with
    /// its reason.
    pub fn parse(bytes: &[u8]) -> Result<PushMessage, String> {
        if bytes.len() > MAX_PUSH_MESSAGE {
            return Err(format!(
                "the message is {} bytes; a push message is at most {MAX_PUSH_MESSAGE}",
                bytes.len()
            ));
        }
        let m: PushMessage = serde_json::from_slice(bytes).map_err(|e| {
            super::text::clip_bytes(
                &format!("not a push message ({{\"manifest\": …, \"signature\": …}}): {e}"),
                300,
            )
        })?;
        if m.manifest.len() > MAX_MANIFEST_BYTES || m.signature.len() > MAX_MANIFEST_BYTES {
            return Err(format!(
                "the manifest or signature is over {MAX_MANIFEST_BYTES} bytes"
            ));
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
    pub heard: Option<crate::core::asrun::Heard>,
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
        assert!(PushMessage::parse(&big).unwrap_err().contains("at most"));
        assert_eq!(
            PushMessage::claimed_id(r#"{"id": "p-1"}"#),
            Some("p-1".into())
        );
        assert_eq!(PushMessage::claimed_id(r#"{"id": "../x"}"#), None);
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
