//! Pushes (SPEC §8, §11): the signed manifest as it travels, and every check of it that
//! needs no I/O — form, id, validity on the station's clocks, targets, sizes. Whether the
//! signature verifies and the id was seen before is `remote::push`'s part.

use chrono::{DateTime, FixedOffset, NaiveDate, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::catalog::Priority;
use super::sound::Sound;
use super::text::{clip_bytes, shorten};

pub const FORMAT_VERSION: u32 = 1;
/// How often an emergency plays when the push does not say.
pub const DEFAULT_REPEAT: u32 = 3;
/// The most repeats a push may ask for (a typo must not hold the speakers for hours).
pub const MAX_REPEAT: u32 = 20;
/// The manifest and signature parts are small; anything bigger is not one.
pub const MAX_MANIFEST_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushManifest {
    pub loaxa_push: u32,
    pub id: String,
    #[serde(default)]
    pub issued_at: Option<DateTime<FixedOffset>>,
    #[serde(default)]
    pub expires_at: Option<DateTime<FixedOffset>>,
    pub action: PushAction,
    #[serde(default)]
    pub bulletin: Option<PushBulletin>,
    #[serde(default)]
    pub cancel: Option<String>,
    /// Stations a cancel applies at (empty: every station). A bulletin names its own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
}

/// What a push asks for. Read from the wire as text: an action this station does not
/// know is kept as it came, so `check` can say which one and what to write instead
/// (a serde enum would refuse it with serde's words, before the id and the clocks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum PushAction {
    Bulletin,
    Cancel,
    Unknown(String),
}

impl From<String> for PushAction {
    fn from(text: String) -> PushAction {
        match text.as_str() {
            "bulletin" => PushAction::Bulletin,
            "cancel" => PushAction::Cancel,
            _ => PushAction::Unknown(text),
        }
    }
}

impl From<PushAction> for String {
    fn from(action: PushAction) -> String {
        match action {
            PushAction::Bulletin => "bulletin".into(),
            PushAction::Cancel => "cancel".into(),
            PushAction::Unknown(text) => text,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushBulletin {
    pub title: String,
    #[serde(default = "normal")]
    pub priority: Priority,
    #[serde(default)]
    pub repeat: Option<u32>,
    /// Of the audio part; absent for a text bulletin.
    #[serde(default)]
    pub sha256: Option<String>,
    #[serde(default)]
    pub size: Option<u64>,
    /// Where the audio is fetched from, for a push that comes by the fleet channel
    /// (SPEC §13): absolute http(s). An HTTP push brings its audio as a part instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Instead of audio: the text the station speaks (see `tts`); the signature covers it.
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub campaign: Option<String>,
    #[serde(default)]
    pub valid_from: Option<NaiveDate>,
    #[serde(default)]
    pub valid_until: Option<NaiveDate>,
    #[serde(default)]
    pub targets: Vec<String>,
    /// A test or exercise (a CAP alert's `status`): played only by a station in
    /// `test_mode` (SPEC §14).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub test: bool,
}

fn normal() -> Priority {
    Priority::Normal
}

/// The longest a push may be valid: a captured push cannot be replayed for long.
pub const MAX_VALIDITY: TimeDelta = TimeDelta::hours(24);
/// How far ahead of the station's clock `issued_at` may be (clocks are never exact).
pub const MAX_CLOCK_AHEAD: TimeDelta = TimeDelta::minutes(5);

/// Why a push was refused; each maps to one HTTP status (SPEC §8, §11).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PushError {
    #[error("{0}")]
    Malformed(String),
    /// Missing or implausible `issued_at` / `expires_at` (SPEC §11: 400 `validity`).
    #[error("{0}")]
    Validity(String),
    #[error("{0}")]
    Signature(String),
    #[error("push id {0:?} was already accepted; a push is taken once")]
    Duplicate(String),
    #[error("{0}")]
    Expired(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    NotAudio(String),
    #[error("{0}")]
    Mismatch(String),
    /// The body came in too slowly: the connection is cut rather than held.
    #[error("{0}")]
    TooSlow(String),
    /// The audio a fleet push names by URL could not be fetched (SPEC §13).
    #[error("{0}")]
    Unreachable(String),
    /// The station cannot take pushes now (its push state is unreadable).
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

impl PushError {
    pub fn status(&self) -> u16 {
        match self {
            PushError::Malformed(_) | PushError::Validity(_) => 400,
            PushError::Signature(_) => 401,
            PushError::Duplicate(_) => 409,
            PushError::Expired(_) => 410,
            PushError::TooLarge(_) => 413,
            PushError::NotAudio(_) => 415,
            PushError::Mismatch(_) => 422,
            PushError::TooSlow(_) => 408,
            PushError::Unreachable(_) => 502,
            PushError::Unavailable(_) => 503,
            PushError::Internal(_) => 500,
        }
    }

    /// A short label for metrics and the as-run log.
    pub fn label(&self) -> &'static str {
        match self {
            PushError::Malformed(_) => "malformed",
            PushError::Validity(_) => "validity",
            PushError::Signature(_) => "signature",
            PushError::Duplicate(_) => "duplicate",
            PushError::Expired(_) => "expired",
            PushError::TooLarge(_) => "too_large",
            PushError::NotAudio(_) => "not_audio",
            PushError::Mismatch(_) => "mismatch",
            PushError::TooSlow(_) => "too_slow",
            PushError::Unreachable(_) => "unreachable",
            PushError::Unavailable(_) => "unavailable",
            PushError::Internal(_) => "internal",
        }
    }
}

/// What a station holds a push to: who it is, and how much audio it takes.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    pub here: super::targets::Here<'a>,
    pub max_bulletin_bytes: u64,
}

/// A manifest whose signature, form, id and validity have been checked: all that can be
/// known before a single byte of audio is taken.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub manifest: PushManifest,
    pub what: CheckedWhat,
    pub judged: Judged,
}

// One per push received, and moved rather than copied: boxing the bulletin saves nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum CheckedWhat {
    Cancel {
        target: String,
    },
    /// A bulletin to take: its audio follows (of exactly the size and hash in `sound`),
    /// or its text is spoken.
    Bulletin {
        bulletin: PushBulletin,
        repeat: u32,
        sound: Sound,
    },
}

impl Checked {
    /// The audio part's size the signed manifest announces, if it announces one.
    pub fn audio_size(&self) -> Option<u64> {
        match &self.what {
            CheckedWhat::Bulletin { sound, .. } => sound.size(),
            CheckedWhat::Cancel { .. } => None,
        }
    }
}

/// Everything after the signature: form, id, validity, targets, sizes. `state` says
/// which ids were seen. No I/O (the fuzz harness drives it with any bytes).
pub fn check_signed(
    rules: Rules,
    clocks: Clocks,
    manifest_bytes: &[u8],
    seen: impl Fn(&str) -> bool,
) -> Result<Checked, PushError> {
    let m: PushManifest = serde_json::from_slice(manifest_bytes)
        .map_err(|e| PushError::Malformed(clip_bytes(&format!("manifest: {e}"), 300)))?;
    if m.loaxa_push != FORMAT_VERSION {
        return Err(PushError::Malformed(format!(
            "manifest: loaxa_push {} is not a version this station reads (expected {FORMAT_VERSION})",
            m.loaxa_push
        )));
    }
    super::catalog::check_id(&m.id).map_err(|e| PushError::Malformed(format!("manifest: {e}")))?;
    if seen(&m.id) {
        return Err(PushError::Duplicate(m.id));
    }
    let judged = check_validity(&m, clocks)?;
    if !rules.here.named_in(&m.targets) {
        return Err(not_here(&m.targets, rules.here.station_id));
    }
    let what = match &m.action {
        PushAction::Bulletin => check_bulletin(rules, &m)?,
        PushAction::Cancel => check_cancel(&m)?,
        PushAction::Unknown(other) => {
            return Err(PushError::Malformed(format!(
                "manifest: unknown action {:?}; use \"bulletin\" or \"cancel\"",
                shorten(other, 40)
            )));
        }
    };
    Ok(Checked {
        manifest: m,
        what,
        judged,
    })
}

/// The clocks a push is judged by.
#[derive(Debug, Clone, Copy)]
pub struct Clocks {
    /// The station's clock, raised to the trusted time (see `trust`).
    pub station: DateTime<Utc>,
    /// During a rehearsal (`--start-at`), the real time: the province's tools sign on the
    /// real clock, so a push issued on it just now is judged on it.
    pub real: Option<DateTime<Utc>>,
}

impl Clocks {
    pub fn station(now: DateTime<Utc>) -> Clocks {
        Clocks {
            station: now,
            real: None,
        }
    }
}

/// SPEC §11: `expires_at` required, at most 24 h after `issued_at`, `issued_at` not in
/// the station's future; then expiry itself (410). Returns the clock it was judged by.
fn check_validity(m: &PushManifest, clocks: Clocks) -> Result<Judged, PushError> {
    let issued = m.issued_at.ok_or_else(|| {
        PushError::Validity(
            "manifest: issued_at is missing: a push must say when it was made".into(),
        )
    })?;
    let expires = m.expires_at.ok_or_else(|| {
        PushError::Validity(
            "manifest: expires_at is missing: a push must say until when it is valid (at most 24 h after issued_at)"
                .into(),
        )
    })?;
    if expires <= issued {
        return Err(PushError::Validity(format!(
            "manifest: expires_at {expires} is not after issued_at {issued}"
        )));
    }
    if expires.to_utc() - issued.to_utc() > MAX_VALIDITY {
        return Err(PushError::Validity(format!(
            "manifest: valid from {issued} to {expires}: a push may be valid for at most 24 h"
        )));
    }
    let plausible = |now: DateTime<Utc>| {
        issued.to_utc() <= now + MAX_CLOCK_AHEAD && issued.to_utc() > now - MAX_VALIDITY
    };
    let (now, judged) = if issued.to_utc() <= clocks.station + MAX_CLOCK_AHEAD {
        (clocks.station, Judged::Station)
    } else if let Some(real) = clocks.real.filter(|r| plausible(*r)) {
        (real, Judged::Real)
    } else {
        return Err(PushError::Validity(format!(
            "manifest: issued_at {issued} is in the future: the station's clock says {} (check the province's clock, or this station's)",
            clocks.station.with_timezone(&issued.timezone())
        )));
    };
    if expires.to_utc() <= now {
        return Err(PushError::Expired(format!(
            "push {} expired at {expires}; the station's clock says {}",
            m.id,
            now.with_timezone(&expires.timezone())
        )));
    }
    Ok(judged)
}

/// Which clock a push was judged by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judged {
    Station,
    /// The real clock, during a rehearsal: its times say nothing about the station's.
    Real,
}

fn not_here(targets: &[String], station_id: &str) -> PushError {
    let named: Vec<String> = targets.iter().take(5).map(|t| shorten(t, 64)).collect();
    PushError::Malformed(format!(
        "this push is for {named:?}{}, not for station {station_id}",
        if targets.len() > 5 { " and others" } else { "" }
    ))
}

fn check_cancel(m: &PushManifest) -> Result<CheckedWhat, PushError> {
    if m.bulletin.is_some() {
        return Err(PushError::Malformed(
            "a cancel carries no `bulletin` object".into(),
        ));
    }
    let target = m.cancel.clone().ok_or_else(|| {
        PushError::Malformed(
            "manifest: action \"cancel\" needs \"cancel\": \"<bulletin id>\"".into(),
        )
    })?;
    super::catalog::check_id(&target).map_err(|e| PushError::Malformed(format!("cancel: {e}")))?;
    Ok(CheckedWhat::Cancel { target })
}

fn check_bulletin(rules: Rules, m: &PushManifest) -> Result<CheckedWhat, PushError> {
    let b = m.bulletin.clone().ok_or_else(|| {
        PushError::Malformed("manifest: action \"bulletin\" needs a \"bulletin\" object".into())
    })?;
    if m.cancel.is_some() {
        return Err(PushError::Malformed(
            "manifest: \"cancel\" belongs to action \"cancel\" only".into(),
        ));
    }
    if b.title.trim().is_empty() {
        return Err(PushError::Malformed("bulletin.title is empty".into()));
    }
    if b.title.chars().count() > super::catalog::MAX_TITLE_CHARS {
        return Err(PushError::Malformed(format!(
            "bulletin.title is over {} characters",
            super::catalog::MAX_TITLE_CHARS
        )));
    }
    if let Some(c) = &b.campaign {
        super::catalog::check_id(c)
            .map_err(|e| PushError::Malformed(format!("bulletin.campaign: {e}")))?;
    }
    if !rules.here.named_in(&b.targets) {
        return Err(not_here(&b.targets, rules.here.station_id));
    }
    if b.test && !rules.here.test_mode {
        return Err(PushError::Malformed(
            "bulletin.test: a test or exercise alert, and this station is not in test_mode".into(),
        ));
    }
    if let (Some(from), Some(until)) = (b.valid_from, b.valid_until)
        && until < from
    {
        return Err(PushError::Malformed(
            "bulletin.valid_until is before valid_from".into(),
        ));
    }
    for d in [b.valid_from, b.valid_until].into_iter().flatten() {
        if !super::catalog::plausible_date(d) {
            return Err(PushError::Malformed(format!(
                "bulletin date {d} is outside {}–{}",
                super::catalog::FIRST_YEAR,
                super::catalog::LAST_YEAR
            )));
        }
    }
    let repeat = b.repeat.unwrap_or(if b.priority == Priority::Emergency {
        DEFAULT_REPEAT
    } else {
        1
    });
    if repeat == 0 || repeat > MAX_REPEAT {
        return Err(PushError::Malformed(format!(
            "bulletin.repeat must be 1–{MAX_REPEAT}, not {repeat}"
        )));
    }
    if let Some(text) = &b.text {
        if b.sha256.is_some() || b.size.is_some() {
            return Err(PushError::Malformed(
                "a text bulletin has no \"sha256\" or \"size\"".into(),
            ));
        }
        return Ok(CheckedWhat::Bulletin {
            sound: Sound::Text(text.clone()),
            bulletin: b,
            repeat,
        });
    }
    let (Some(sha256), Some(size)) = (b.sha256.clone(), b.size) else {
        return Err(PushError::Malformed(
            "bulletin needs \"sha256\" and \"size\" of its audio (or \"text\" instead of audio)"
                .into(),
        ));
    };
    if sha256.len() != 64 || !sha256.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Err(PushError::Malformed(
            "bulletin.sha256 must be 64 hex digits".into(),
        ));
    }
    let max = rules.max_bulletin_bytes;
    if size > max {
        return Err(PushError::TooLarge(format!(
            "bulletin.size {size} is over this station's limit of {max} bytes"
        )));
    }
    if size == 0 {
        return Err(PushError::Malformed("bulletin.size is 0".into()));
    }
    Ok(CheckedWhat::Bulletin {
        sound: Sound::File {
            url: b.url.clone(),
            sha256,
            size,
        },
        bulletin: b,
        repeat,
    })
}

#[cfg(test)]
mod action_tests {
    use super::PushAction;

    #[test]
    fn an_action_reads_and_writes_as_its_word_and_an_unknown_one_is_kept() {
        for (word, action) in [
            ("\"bulletin\"", PushAction::Bulletin),
            ("\"cancel\"", PushAction::Cancel),
            ("\"explode\"", PushAction::Unknown("explode".into())),
        ] {
            let read: PushAction = serde_json::from_str(word).unwrap();
            assert_eq!(read, action);
            assert_eq!(serde_json::to_string(&read).unwrap(), word);
        }
        assert!(serde_json::from_str::<PushAction>("7").is_err());
    }
}
