//! A CAP 1.2 alert (OASIS Common Alerting Protocol) as the province turns it into
//! bulletins (`loaxa cap import`, SPEC §14). Parsing is `oasiscap`'s (the CAP 1.2 schema's
//! elements and value sets); this decides what the alert asks of the stations, with no I/O.
//!
//! - The Vietnamese `info` block (`language` vi / vi-VN) is the one voiced: an attached
//!   audio `resource` as is, else its headline, description and instruction spoken by the
//!   station.
//! - `urgency` Immediate with `severity` Extreme or Severe is an emergency (plays at once,
//!   day or night); Extreme/Severe or Immediate/Expected otherwise is a priority bulletin;
//!   the rest normal.
//! - Bulletin ids are made from the alert's sender and identifier, so the same alert sent
//!   twice is the same bulletin (a station takes an id once), and an `Update` or `Cancel`
//!   can name the bulletins of the alerts it `references`.
//! - `status` Test or Exercise makes a bulletin marked `test`: only stations in
//!   `test_mode` play it. System and Draft are never voiced.
//! - The `area` geocodes become targets `area:<valueName>=<value>`, matched against each
//!   station's `areas` (`core::targets`).

use chrono::{DateTime, FixedOffset};
use sha2::{Digest, Sha256};

use crate::catalog::Priority;

/// The largest alert file read (an embedded recording included).
pub const MAX_ALERT_BYTES: usize = 32 * 1024 * 1024;
/// The deepest element nesting taken. A CAP alert is five levels deep; the XML parser's
/// time grows with the square of the depth (a million levels took half an hour), so a
/// deeper file is refused by a linear scan before it is parsed.
pub const MAX_DEPTH: usize = 32;
/// The most earlier alerts an Update or Cancel may name: each is a withdrawal message of
/// its own (SPEC §8's cancel names one bulletin).
pub const MAX_REFERENCES: usize = 16;
/// The longest text a station is asked to speak.
pub const MAX_TEXT_CHARS: usize = 4000;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CapError {
    #[error("not a CAP 1.2 alert: {0}")]
    Malformed(String),
    #[error("nothing to broadcast: {0}")]
    Unusable(String),
}

/// What the alert asks of the stations.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Broadcast this; first withdraw the bulletins of the alerts it updates.
    Voice {
        bulletin: CapBulletin,
        replaces: Vec<String>,
    },
    /// Withdraw the bulletins of the alerts it cancels.
    Withdraw { ids: Vec<String> },
    /// Kept out of the air (a test, an exercise, an acknowledgement): why.
    NotVoiced(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct CapBulletin {
    pub id: String,
    pub title: String,
    pub priority: Priority,
    pub expires: Option<DateTime<FixedOffset>>,
    pub sound: Sound,
    /// The area's geocodes (`valueName=value`): the stations it is for.
    pub areas: Vec<String>,
    /// A Test or Exercise: for stations in `test_mode` only.
    pub test: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Sound {
    /// Spoken by each station.
    Text(String),
    /// A recording carried in the alert (`derefUri`), with its MIME type.
    Embedded(Vec<u8>, String),
    /// A recording the alert points to.
    Url(String),
}

/// The bulletin id of the alert `identifier` from `sender`.
pub fn bulletin_id(sender: &str, identifier: &str) -> String {
    let digest = Sha256::digest(format!("{sender}\u{0}{identifier}").as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("cap-{hex}")
}

/// Reads an alert and decides; `now` judges its expiry.
pub fn decide(xml: &str, now: DateTime<FixedOffset>) -> Result<Decision, CapError> {
    use oasiscap::v1dot2::{MessageType, Status};
    let alert = parse(xml)?;
    let sender = alert.sender.to_string();
    let references = references(&alert)?;
    let test = match alert.status {
        Status::Actual => false,
        Status::Test | Status::Exercise => true,
        other => {
            return Ok(Decision::NotVoiced(format!(
                "status {other:?}: a CAP alert that is not Actual, Test or Exercise is never voiced"
            )));
        }
    };
    match alert.message_type {
        MessageType::Cancel => {
            if references.is_empty() {
                return Err(CapError::Unusable(
                    "a Cancel must name the alerts it cancels in <references>".into(),
                ));
            }
            return Ok(Decision::Withdraw { ids: references });
        }
        MessageType::Ack | MessageType::Error => {
            return Ok(Decision::NotVoiced(format!(
                "msgType {:?} carries no warning",
                alert.message_type
            )));
        }
        MessageType::Alert | MessageType::Update => {}
    }
    let info = alert
        .info
        .iter()
        .find(|i| i.language.as_str().to_ascii_lowercase().starts_with("vi"))
        .ok_or_else(|| {
            CapError::Unusable("no <info> block in Vietnamese (<language>vi-VN</language>)".into())
        })?;
    let expires = info.expires.map(DateTime::<FixedOffset>::from);
    if let Some(e) = expires
        && e <= now
    {
        return Err(CapError::Unusable(format!(
            "the alert expired at {}",
            e.to_rfc3339()
        )));
    }
    let priority = priority(info);
    let sound = sound(info)?;
    let title = info.headline.clone().unwrap_or_else(|| info.event.clone());
    let areas = info
        .areas
        .iter()
        .flat_map(|a| a.geocode.iter().map(|(k, v)| format!("{k}={v}")))
        .collect();
    Ok(Decision::Voice {
        bulletin: CapBulletin {
            id: bulletin_id(&sender, alert.identifier.as_ref()),
            title: crate::text::shorten(&crate::text::nfc(title.trim()), 200),
            priority,
            expires,
            sound,
            areas,
            test,
        },
        replaces: match alert.message_type {
            MessageType::Update => references,
            _ => Vec::new(),
        },
    })
}

/// The alert, read within bounds: its size, its depth, then CAP 1.2's schema.
fn parse(xml: &str) -> Result<oasiscap::v1dot2::Alert, CapError> {
    if xml.len() > MAX_ALERT_BYTES {
        return Err(CapError::Malformed(format!(
            "the file is over {} MB",
            MAX_ALERT_BYTES / (1024 * 1024)
        )));
    }
    if let Some(line) = too_deep(xml, MAX_DEPTH) {
        return Err(CapError::Malformed(format!(
            "elements nest more than {MAX_DEPTH} deep (line {line}); a CAP alert is a few levels deep"
        )));
    }
    xml.parse()
        .map_err(|e: <oasiscap::v1dot2::Alert as std::str::FromStr>::Err| {
            CapError::Malformed(first_line(&e.to_string()))
        })
}

/// The bulletin ids of the alerts this one names in `<references>`, each once, at most
/// `MAX_REFERENCES`.
fn references(alert: &oasiscap::v1dot2::Alert) -> Result<Vec<String>, CapError> {
    let mut references: Vec<String> = Vec::new();
    for r in alert.references.iter().flat_map(|r| r.iter()) {
        let id = bulletin_id(r.sender.as_ref(), r.identifier.as_ref());
        if !references.contains(&id) {
            if references.len() == MAX_REFERENCES {
                return Err(CapError::Unusable(format!(
                    "<references> names more than {MAX_REFERENCES} earlier alerts; withdraw them with alerts of their own"
                )));
            }
            references.push(id);
        }
    }
    Ok(references)
}

/// Circular 39's level from CAP's urgency and severity.
fn priority(info: &oasiscap::v1dot2::Info) -> Priority {
    use oasiscap::v1dot2::{Severity, Urgency};
    let strong = matches!(info.severity, Severity::Extreme | Severity::Severe);
    match info.urgency {
        Urgency::Immediate if strong => Priority::Emergency,
        Urgency::Immediate | Urgency::Expected => Priority::Priority,
        _ if strong => Priority::Priority,
        _ => Priority::Normal,
    }
}

/// What the stations play: the alert's audio resource, else its words spoken.
fn sound(info: &oasiscap::v1dot2::Info) -> Result<Sound, CapError> {
    let audio = info
        .resources
        .iter()
        .find(|r| r.mime_type.to_ascii_lowercase().starts_with("audio/"));
    Ok(match audio {
        Some(r) => match (&r.embedded_content, &r.uri) {
            (Some(bytes), _) => Sound::Embedded(bytes.as_slice().to_vec(), r.mime_type.clone()),
            (None, Some(uri)) => Sound::Url(uri.to_string()),
            (None, None) => {
                return Err(CapError::Unusable(format!(
                    "the audio resource {:?} has neither <uri> nor <derefUri>",
                    r.description
                )));
            }
        },
        None => {
            let text = [&info.headline, &info.description, &info.instruction]
                .into_iter()
                .flatten()
                // Sentences, each ended once: a pause between them when spoken.
                .map(|t| t.trim().trim_end_matches(['.', '!', ';', ' ']))
                .filter(|t| !t.is_empty())
                .map(|t| format!("{t}."))
                .collect::<Vec<_>>()
                .join(" ");
            if text.is_empty() {
                return Err(CapError::Unusable(
                    "the Vietnamese <info> has no audio resource and no headline, description or instruction to speak".into(),
                ));
            }
            Sound::Text(crate::text::shorten(
                &crate::text::nfc(&text),
                MAX_TEXT_CHARS,
            ))
        }
    })
}

/// The line where elements first nest deeper than `max`, by one pass over the text:
/// start tags open, end tags and `/>` close; comments, CDATA, declarations and quoted
/// attribute values are stepped over.
fn too_deep(xml: &str, max: usize) -> Option<usize> {
    let b = xml.as_bytes();
    let (mut i, mut depth, mut line) = (0, 0usize, 1);
    while i < b.len() {
        match b[i] {
            b'\n' => line += 1,
            b'<' if b[i..].starts_with(b"<!--") => {
                let end = memchr::memmem::find(&b[i..], b"-->").map_or(b.len(), |e| i + e + 3);
                line += memchr::memchr_iter(b'\n', &b[i..end]).count();
                i = end;
                continue;
            }
            b'<' if b[i..].starts_with(b"<![CDATA[") => {
                let end = memchr::memmem::find(&b[i..], b"]]>").map_or(b.len(), |e| i + e + 3);
                line += memchr::memchr_iter(b'\n', &b[i..end]).count();
                i = end;
                continue;
            }
            b'<' => {
                let closing = b.get(i + 1) == Some(&b'/');
                let special = matches!(b.get(i + 1), Some(b'?' | b'!'));
                let mut j = i + 1;
                let mut quote = None;
                while j < b.len() {
                    match (b[j], quote) {
                        (b'\n', _) => line += 1,
                        (q @ (b'"' | b'\''), None) => quote = Some(q),
                        (q, Some(open)) if q == open => quote = None,
                        (b'>', None) => break,
                        _ => {}
                    }
                    j += 1;
                }
                let empty = j > i + 1 && b[j - 1] == b'/';
                if closing {
                    depth = depth.saturating_sub(1);
                } else if !special && !empty {
                    depth += 1;
                    if depth > max {
                        return Some(line);
                    }
                }
                i = j + 1;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or(text);
    let line = line.replace("{urn:oasis:names:tc:emergency:cap:1.2;}cap:", "<");
    let line = if line.contains("missing field `<") {
        line.replace("missing field `<", "missing element <")
            .replace('`', ">")
    } else {
        line
    };
    crate::text::shorten(&line, 300)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(identifier: &str, status: &str, kind: &str, refs: &str, info: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{identifier}</identifier>
  <sender>canhbao@kttv.gov.vn</sender>
  <sent>2021-10-01T02:00:00+07:00</sent>
  <status>{status}</status>
  <msgType>{kind}</msgType>
  <scope>Public</scope>
  {refs}
  {info}
</alert>"#
        )
    }

    fn info(urgency: &str, severity: &str, extra: &str) -> String {
        format!(
            r#"<info>
    <language>vi-VN</language>
    <category>Met</category>
    <event>Bão</event>
    <urgency>{urgency}</urgency>
    <severity>{severity}</severity>
    <certainty>Observed</certainty>
    <expires>2021-10-01T04:00:00+07:00</expires>
    <headline>Bão số 9 đổ bộ</headline>
    <description>Gió mạnh cấp 12.</description>
    <instruction>Người dân ở trong nhà.</instruction>
    {extra}
    <area><areaDesc>Hải Phòng</areaDesc><geocode><valueName>VN</valueName><value>31</value></geocode></area>
  </info>"#
        )
    }

    fn now() -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339("2021-10-01T02:05:00+07:00").unwrap()
    }

    #[test]
    fn a_storm_alert_with_audio_is_an_emergency_recording() {
        let audio = r#"<resource><resourceDesc>Bản tin</resourceDesc><mimeType>audio/mpeg</mimeType><uri>http://tinh.example/bao.mp3</uri></resource>"#;
        let xml = alert(
            "B9-1",
            "Actual",
            "Alert",
            "",
            &info("Immediate", "Extreme", audio),
        );
        let Decision::Voice { bulletin, replaces } = decide(&xml, now()).unwrap() else {
            panic!("not voiced")
        };
        assert_eq!(bulletin.priority, Priority::Emergency);
        assert_eq!(
            bulletin.sound,
            Sound::Url("http://tinh.example/bao.mp3".into())
        );
        assert_eq!(bulletin.title, "Bão số 9 đổ bộ");
        assert_eq!(bulletin.id, bulletin_id("canhbao@kttv.gov.vn", "B9-1"));
        assert_eq!(bulletin.areas, ["VN=31"]);
        assert!(replaces.is_empty());
    }

    #[test]
    fn text_only_is_spoken_and_priority_follows_urgency_and_severity() {
        for (urgency, severity, priority) in [
            ("Immediate", "Severe", Priority::Emergency),
            ("Expected", "Moderate", Priority::Priority),
            ("Future", "Extreme", Priority::Priority),
            ("Future", "Minor", Priority::Normal),
        ] {
            let xml = alert("T", "Actual", "Alert", "", &info(urgency, severity, ""));
            let Decision::Voice { bulletin, .. } = decide(&xml, now()).unwrap() else {
                panic!("not voiced")
            };
            assert_eq!(bulletin.priority, priority, "{urgency} {severity}");
            assert_eq!(
                bulletin.sound,
                Sound::Text("Bão số 9 đổ bộ. Gió mạnh cấp 12. Người dân ở trong nhà.".into())
            );
        }
    }

    #[test]
    fn embedded_audio_is_carried() {
        let audio = r#"<resource><resourceDesc>x</resourceDesc><mimeType>audio/wav</mimeType><derefUri>UklGRg==</derefUri></resource>"#;
        let xml = alert(
            "E",
            "Actual",
            "Alert",
            "",
            &info("Immediate", "Severe", audio),
        );
        let Decision::Voice { bulletin, .. } = decide(&xml, now()).unwrap() else {
            panic!("not voiced")
        };
        assert_eq!(
            bulletin.sound,
            Sound::Embedded(b"RIFF".to_vec(), "audio/wav".into())
        );
    }

    #[test]
    fn update_replaces_cancel_withdraws_test_is_never_voiced() {
        let refs = "<references>canhbao@kttv.gov.vn,B9-1,2021-10-01T02:00:00+07:00</references>";
        let old = bulletin_id("canhbao@kttv.gov.vn", "B9-1");
        let xml = alert(
            "B9-2",
            "Actual",
            "Update",
            refs,
            &info("Immediate", "Extreme", ""),
        );
        let Decision::Voice { bulletin, replaces } = decide(&xml, now()).unwrap() else {
            panic!("not voiced")
        };
        assert_eq!(replaces, std::slice::from_ref(&old));
        assert_ne!(bulletin.id, old);
        let xml = alert("B9-3", "Actual", "Cancel", refs, "");
        assert_eq!(
            decide(&xml, now()).unwrap(),
            Decision::Withdraw { ids: vec![old] }
        );
        for status in ["Test", "Exercise"] {
            let xml = alert("X", status, "Alert", "", &info("Immediate", "Extreme", ""));
            let Decision::Voice { bulletin, .. } = decide(&xml, now()).unwrap() else {
                panic!("{status} is voiced in test mode")
            };
            assert!(bulletin.test, "{status}");
        }
        for status in ["System", "Draft"] {
            let xml = alert("X", status, "Alert", "", &info("Immediate", "Extreme", ""));
            assert!(
                matches!(decide(&xml, now()).unwrap(), Decision::NotVoiced(_)),
                "{status}"
            );
        }
        let xml = alert("C", "Actual", "Cancel", "", "");
        assert!(matches!(decide(&xml, now()), Err(CapError::Unusable(_))));
    }

    #[test]
    fn deep_nesting_is_refused_in_linear_time_and_references_are_bounded() {
        // A million levels (half an hour in the parser): refused by the scan first.
        let deep = format!("{}{}", "<a>".repeat(1_000_000), "</a>".repeat(1_000_000));
        let e = decide(&deep, now()).unwrap_err();
        assert!(e.to_string().contains("nest more than"), "{e}");
        // A real alert is not too deep, with comments, CDATA and a '>' in an attribute.
        let ok = alert(
            "A",
            "Actual",
            "Alert",
            "",
            &info("Immediate", "Extreme", ""),
        );
        assert_eq!(too_deep(&ok, MAX_DEPTH), None);
        let tricky = "<a x=\"<b>\"><!-- <c><c><c> --><![CDATA[<d><d>]]><e/></a>";
        assert_eq!(too_deep(tricky, 1), None);
        assert_eq!(too_deep("<a>\n<b>\n<c>", 2), Some(3));
        // Twenty thousand references (a few distinct) are one withdrawal each, at most 16.
        let refs = (0..20_000)
            .map(|i| format!("s@x,A{},2021-10-01T02:00:00+07:00", i % 3))
            .collect::<Vec<_>>()
            .join(" ");
        let xml = alert(
            "U",
            "Actual",
            "Cancel",
            &format!("<references>{refs}</references>"),
            "",
        );
        let Decision::Withdraw { ids } = decide(&xml, now()).unwrap() else {
            panic!("a Cancel withdraws");
        };
        assert_eq!(ids.len(), 3);
        let many = (0..17)
            .map(|i| format!("s@x,A{i},2021-10-01T02:00:00+07:00"))
            .collect::<Vec<_>>()
            .join(" ");
        let xml = alert(
            "U",
            "Actual",
            "Cancel",
            &format!("<references>{many}</references>"),
            "",
        );
        assert!(matches!(decide(&xml, now()), Err(CapError::Unusable(_))));
    }

    #[test]
    fn expired_foreign_and_malformed_alerts_are_refused_with_their_reason() {
        let xml = alert(
            "B",
            "Actual",
            "Alert",
            "",
            &info("Immediate", "Extreme", ""),
        );
        let late = DateTime::parse_from_rfc3339("2021-10-01T05:00:00+07:00").unwrap();
        let e = decide(&xml, late).unwrap_err();
        assert!(e.to_string().contains("expired"), "{e}");
        let english = xml.replace("vi-VN", "en-US");
        let e = decide(&english, now()).unwrap_err();
        assert!(e.to_string().contains("Vietnamese"), "{e}");
        for bad in [
            "",
            "<alert>",
            "not xml at all",
            &xml.replace("<status>Actual", "<status>Maybe"),
        ] {
            assert!(
                matches!(decide(bad, now()), Err(CapError::Malformed(_))),
                "{bad}"
            );
        }
    }
}
