//! Bounds on everything a signed manifest says (SPEC §11). A signature proves who wrote
//! a manifest, not that it is sane: a typo in the province's tool (`min_gap =
//! "2000000000000h"`, `plays_per_day = 4000000000`, a campaign until the year 20211) must
//! cost the station one refused entry, not a panic at every restart.
//!
//! Pure: bytes in, a vetted manifest and the reasons for what was left out.

use crate::core::catalog::{MAX_TITLE_CHARS, check_id, plausible_date};
use crate::core::feed::{FORMAT_VERSION, FeedBulletin, FeedCampaign, Manifest};
use crate::core::sound::Sound;
use crate::core::text::shorten;

/// More entries than this make the whole manifest suspect.
pub const MAX_CAMPAIGNS: usize = 1_000;
pub const MAX_BULLETINS: usize = 10_000;
pub const MAX_REVOKED: usize = 100_000;
/// Per entry.
pub const MAX_PLAYS_PER_DAY: u32 = 96;
pub const MAX_SESSIONS: usize = 32;
pub const MAX_TARGETS: usize = 10_000;
pub const MAX_URL_LEN: usize = 2_048;

/// A manifest fit for the station, and why entries were left out of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Vetted {
    pub manifest: Manifest,
    pub refused: Vec<String>,
}

/// Parses and bounds a manifest whose signature has verified.
pub fn vet(bytes: &[u8], max_bulletin_bytes: u64) -> Result<Vetted, String> {
    let manifest: Manifest = serde_json::from_slice(bytes)
        .map_err(|e| crate::core::text::clip_bytes(&format!("not a loaxa feed: {e}"), 300))?;
    if manifest.loaxa_feed != FORMAT_VERSION {
        return Err(format!(
            "feed format {} is not supported (this station reads {FORMAT_VERSION})",
            manifest.loaxa_feed
        ));
    }
    for (what, n, max) in [
        ("campaigns", manifest.campaigns.len(), MAX_CAMPAIGNS),
        ("bulletins", manifest.bulletins.len(), MAX_BULLETINS),
        ("revoked ids", manifest.revoked.len(), MAX_REVOKED),
    ] {
        if n > max {
            return Err(format!("{n} {what}: more than the {max} a feed may hold"));
        }
    }
    let mut refused = Vec::new();
    let Manifest {
        loaxa_feed,
        sequence,
        generated_at,
        campaigns,
        bulletins,
        revoked,
    } = manifest;
    let campaigns = campaigns
        .into_iter()
        .filter(|c| keep(campaign(c), "campaign", &c.id, &mut refused))
        .collect();
    let bulletins = bulletins
        .into_iter()
        .filter(|b| {
            keep(
                bulletin(b, max_bulletin_bytes),
                "bulletin",
                &b.id,
                &mut refused,
            )
        })
        .collect();
    Ok(Vetted {
        manifest: Manifest {
            loaxa_feed,
            sequence,
            generated_at,
            campaigns,
            bulletins,
            // An id that could never be valid names nothing to revoke.
            revoked: revoked
                .into_iter()
                .filter(|id| check_id(id).is_ok())
                .collect(),
        },
        refused,
    })
}

fn keep(checked: Result<(), String>, what: &str, id: &str, refused: &mut Vec<String>) -> bool {
    match checked {
        Ok(()) => true,
        Err(why) => {
            refused.push(format!("feed {what} {} refused: {why}", shorten(id, 64)));
            false
        }
    }
}

fn title(t: &str) -> Result<(), String> {
    if t.chars().count() > MAX_TITLE_CHARS {
        return Err(format!("its title is over {MAX_TITLE_CHARS} characters"));
    }
    Ok(())
}

fn dates(from: Option<chrono::NaiveDate>, until: Option<chrono::NaiveDate>) -> Result<(), String> {
    for d in [from, until].into_iter().flatten() {
        if !plausible_date(d) {
            return Err(format!(
                "date {d} is outside {}–{}",
                crate::core::catalog::FIRST_YEAR,
                crate::core::catalog::LAST_YEAR
            ));
        }
    }
    if let (Some(f), Some(u)) = (from, until)
        && u < f
    {
        return Err(format!("it ends ({u}) before it starts ({f})"));
    }
    Ok(())
}

fn campaign(c: &FeedCampaign) -> Result<(), String> {
    check_id(&c.id)?;
    title(&c.title)?;
    dates(Some(c.from), Some(c.until))?;
    if !(1..=MAX_PLAYS_PER_DAY).contains(&c.plays_per_day) {
        return Err(format!(
            "plays_per_day {} is outside 1–{MAX_PLAYS_PER_DAY}",
            c.plays_per_day
        ));
    }
    c.min_gap.get()?;
    if let Some(s) = &c.sessions
        && (s.len() > MAX_SESSIONS || s.iter().any(|n| n.chars().count() > 64))
    {
        return Err(format!(
            "it names more than {MAX_SESSIONS} sessions, or a name over 64 characters"
        ));
    }
    Ok(())
}

fn bulletin(b: &FeedBulletin, max_bytes: u64) -> Result<(), String> {
    check_id(&b.id)?;
    title(&b.title)?;
    if let Some(c) = &b.campaign {
        check_id(c).map_err(|e| format!("campaign: {e}"))?;
    }
    dates(b.valid_from, b.valid_until)?;
    if b.targets.len() > MAX_TARGETS {
        return Err(format!("it names more than {MAX_TARGETS} stations"));
    }
    match b.sound() {
        Sound::Text(text) => {
            if text.trim().is_empty() || text.chars().count() > crate::audio::speech::MAX_TEXT_CHARS
            {
                return Err(format!(
                    "its text is empty or over {} characters",
                    crate::audio::speech::MAX_TEXT_CHARS
                ));
            }
        }
        Sound::File { url, sha256, size } => {
            if url.is_none_or(|u| u.len() > MAX_URL_LEN) {
                return Err(format!("its url is empty or over {MAX_URL_LEN} bytes"));
            }
            if sha256.len() != 64 || !sha256.bytes().all(|c| c.is_ascii_hexdigit()) {
                return Err("its sha256 is not 64 hex digits".into());
            }
            if size == 0 || size > max_bytes {
                return Err(format!(
                    "{size} bytes is outside 1–max_bulletin_bytes ({max_bytes})"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn manifest(campaign: serde_json::Value, bulletin: serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "loaxa_feed": 1, "sequence": 3, "generated_at": "2021-09-20T08:00:00+07:00",
            "campaigns": [campaign], "bulletins": [bulletin], "revoked": ["ok-1", "../x"]
        }))
        .unwrap()
    }

    fn good_campaign() -> serde_json::Value {
        json!({"id": "c1", "title": "t", "from": "2021-09-17", "until": "2021-12-31",
               "plays_per_day": 3, "min_gap": "3h", "sessions": null, "priority": "normal"})
    }

    fn good_bulletin() -> serde_json::Value {
        json!({"id": "b1", "title": "t", "campaign": "c1", "url": "audio/b1.mp3",
               "sha256": "a".repeat(64), "size": 100})
    }

    #[test]
    fn sane_entries_pass_and_absurd_ones_are_refused_one_by_one() {
        let v = vet(&manifest(good_campaign(), good_bulletin()), 1000).unwrap();
        assert_eq!(v.manifest.campaigns.len(), 1);
        assert_eq!(v.manifest.bulletins.len(), 1);
        assert_eq!(v.manifest.revoked, ["ok-1"]);
        assert!(v.refused.is_empty());

        let mut absurd = Vec::new();
        for (key, value) in [
            ("min_gap", json!("2000000000000h")),
            ("min_gap", json!("25h")),
            ("plays_per_day", json!(0)),
            ("plays_per_day", json!(4_000_000_000u64)),
            ("until", json!("2201-01-01")),
            ("id", json!("../../etc")),
            ("title", json!("x".repeat(201))),
        ] {
            let mut c = good_campaign();
            c[key] = value;
            absurd.push((key, c));
        }
        for (key, c) in absurd {
            match vet(&manifest(c, good_bulletin()), 1000) {
                Ok(v) => {
                    assert!(v.manifest.campaigns.is_empty(), "{key}");
                    assert_eq!(v.refused.len(), 1, "{key}");
                    assert_eq!(v.manifest.bulletins.len(), 1, "the rest stands ({key})");
                }
                // A number too large for its field does not even parse: the manifest goes.
                Err(why) => assert_eq!(key, "plays_per_day", "{why}"),
            }
        }
        for (key, value) in [
            ("size", json!(1001)),
            ("sha256", json!("zz")),
            ("id", json!(".hidden")),
            ("url", json!("")),
        ] {
            let mut b = good_bulletin();
            b[key] = value;
            let v = vet(&manifest(good_campaign(), b), 1000).unwrap();
            assert!(v.manifest.bulletins.is_empty(), "{key}");
            assert!(
                v.refused[0].contains("b1") || key == "id",
                "{:?}",
                v.refused
            );
        }
    }
}
