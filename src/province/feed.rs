//! The province's side: build a feed directory from audio files and sign it, ready for
//! any static web server (`loaxa keygen`, `loaxa feed add|campaign|revoke|publish`).

use std::path::{Path, PathBuf};

use chrono::{NaiveDate, Utc};
use sha2::{Digest, Sha256};

use crate::core::catalog::Priority;
use crate::core::feed::{FeedBulletin, FeedCampaign, MANIFEST, Manifest, SIGNATURE};
use crate::remote::signing::SecretKey;

pub const SECRET_KEY_FILE: &str = "loaxa.key";
pub const PUBLIC_KEY_FILE: &str = "loaxa.pub";

/// Writes a new key pair into `dir`; never overwrites one. Returns the public key (base64).
pub fn keygen(dir: &Path) -> Result<String, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let (sk_path, pk_path) = (dir.join(SECRET_KEY_FILE), dir.join(PUBLIC_KEY_FILE));
    if sk_path.exists() || pk_path.exists() {
        return Err(format!(
            "{} already holds a key pair; refusing to overwrite it",
            dir.display()
        ));
    }
    let key = SecretKey::generate().map_err(|e| e.to_string())?;
    write_private(&sk_path, key.secret_file().as_bytes())?;
    std::fs::write(&pk_path, key.public_file())
        .map_err(|e| format!("cannot write {}: {e}", pk_path.display()))?;
    Ok(key.public_base64())
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    f.write_all(bytes)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Where `feed add|campaign|revoke` keep their changes until `feed publish` signs them:
/// the served feed.json only ever changes together with its signature.
pub const DRAFT: &str = "feed.json.draft";

/// The manifest being edited: the draft if there is one, else the published feed.json.
fn load(dir: &Path) -> Result<Manifest, String> {
    let draft = dir.join(DRAFT);
    let path = if draft.is_file() {
        draft
    } else {
        dir.join(MANIFEST)
    };
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| format!("{} is not a loaxa feed: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Manifest::empty()),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// Saves the draft (nothing a station reads changes until `publish`).
fn save(dir: &Path, manifest: &Manifest) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    crate::sys::fs::write_atomic(&dir.join(DRAFT), &to_json(manifest)?)
        .map_err(|e| format!("cannot write the draft manifest: {e}"))
}

fn to_json(manifest: &Manifest) -> Result<Vec<u8>, String> {
    let mut json = serde_json::to_vec_pretty(manifest).map_err(|e| e.to_string())?;
    json.push(b'\n');
    Ok(json)
}

/// What `feed add` was told about a bulletin.
pub struct NewBulletin {
    pub file: PathBuf,
    pub id: Option<String>,
    pub title: String,
    pub campaign: Option<String>,
    pub priority: Priority,
    pub from: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
    pub targets: Vec<String>,
    /// A test or exercise alert: only stations in `test_mode` take it.
    pub test: bool,
}

/// Lists a text bulletin in feed.json: stations speak `text` themselves (see `tts`).
pub fn add_text(dir: &Path, text: &str, new: NewBulletin) -> Result<String, String> {
    let manifest = load(dir)?;
    check_campaign(dir, &manifest, new.campaign.as_deref())?;
    if text.trim().is_empty() || text.chars().count() > crate::audio::speech::MAX_TEXT_CHARS {
        return Err(format!(
            "the text must be 1 to {} characters",
            crate::audio::speech::MAX_TEXT_CHARS
        ));
    }
    let id = new.id.unwrap_or_else(|| {
        format!(
            "text-{}",
            &crate::remote::signing::hex(&Sha256::digest(text.as_bytes()))[..12]
        )
    });
    let bulletin = FeedBulletin {
        id: id.clone(),
        title: new.title,
        campaign: new.campaign,
        priority: new.priority,
        url: String::new(),
        sha256: String::new(),
        size: 0,
        text: Some(text.trim().to_string()),
        valid_from: new.from,
        valid_until: new.until,
        targets: new.targets,
        test: new.test,
    };
    list(dir, manifest, bulletin)
}

/// Lists `bulletin` in the manifest (replacing one of the same id, and un-revoking it)
/// and saves it. Returns its id.
fn list(dir: &Path, mut manifest: Manifest, bulletin: FeedBulletin) -> Result<String, String> {
    let id = bulletin.id.clone();
    crate::core::catalog::check_id(&id)?;
    manifest.bulletins.retain(|b| b.id != id);
    manifest.revoked.retain(|r| r != &id);
    manifest.bulletins.push(bulletin);
    save(dir, &manifest)?;
    Ok(id)
}

fn check_campaign(dir: &Path, manifest: &Manifest, campaign: Option<&str>) -> Result<(), String> {
    match campaign {
        Some(c) if !manifest.campaigns.iter().any(|x| x.id == c) => Err(format!(
            "campaign {c:?} is not in this feed; add it first with `loaxa feed campaign {} --id {c} …`",
            dir.display()
        )),
        _ => Ok(()),
    }
}

/// Copies the audio into `dir/audio/`, checks it decodes, and lists it in feed.json
/// (unsigned until `publish`). Returns the bulletin id.
pub fn add(dir: &Path, new: NewBulletin) -> Result<String, String> {
    let manifest = load(dir)?;
    let info = crate::audio::ingest::measure(&new.file, crate::core::media::DEFAULT_MAX_DURATION)
        .map_err(|e| e.to_string())?;
    check_campaign(dir, &manifest, new.campaign.as_deref())?;
    let name = new
        .file
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or("the file has no usable name")?
        .to_string();
    let id = new.id.unwrap_or_else(|| {
        Path::new(&name)
            .file_stem()
            .map_or(name.clone(), |s| s.to_string_lossy().into_owned())
    });
    let bytes =
        std::fs::read(&new.file).map_err(|e| format!("cannot read {}: {e}", new.file.display()))?;
    let audio_dir = dir.join("audio");
    std::fs::create_dir_all(&audio_dir)
        .map_err(|e| format!("cannot create {}: {e}", audio_dir.display()))?;
    let target = audio_dir.join(&name);
    if target.exists()
        && std::fs::read(&target).ok().as_deref() != Some(&bytes[..])
        && manifest.bulletins.iter().all(|b| b.id != id)
    {
        return Err(format!(
            "{} already exists with other content; rename the file",
            target.display()
        ));
    }
    crate::sys::fs::write_public(&target, &bytes)
        .map_err(|e| format!("cannot copy into the feed: {e}"))?;
    let bulletin = FeedBulletin {
        id: id.clone(),
        title: new.title,
        campaign: new.campaign,
        priority: new.priority,
        url: format!("audio/{name}"),
        sha256: crate::remote::signing::hex(&Sha256::digest(&bytes)),
        size: bytes.len() as u64,
        text: None,
        valid_from: new.from,
        valid_until: new.until,
        targets: new.targets,
        test: new.test,
    };
    list(dir, manifest, bulletin)?;
    tracing::info!(
        "added {id} ({:.1}s of audio)",
        info.duration_ms as f64 / 1000.0
    );
    Ok(id)
}

pub fn add_campaign(dir: &Path, campaign: FeedCampaign) -> Result<(), String> {
    crate::core::catalog::check_id(&campaign.id)?;
    campaign.min_gap.get()?;
    if campaign.plays_per_day > crate::remote::feed::vet::MAX_PLAYS_PER_DAY {
        return Err(format!(
            "plays per day must be at most {}",
            crate::remote::feed::vet::MAX_PLAYS_PER_DAY
        ));
    }
    if campaign.until < campaign.from {
        return Err(format!(
            "the campaign ends ({}) before it starts ({})",
            campaign.until, campaign.from
        ));
    }
    if campaign.plays_per_day == 0 {
        return Err("plays per day must be at least 1".into());
    }
    let mut manifest = load(dir)?;
    manifest.campaigns.retain(|c| c.id != campaign.id);
    manifest.campaigns.push(campaign);
    save(dir, &manifest)
}

/// Withdraws a bulletin: stations stop it at once and never play it again.
/// The feed lists `id`, or revoked it: an import of the same alert changes nothing.
pub fn knows(dir: &Path, id: &str) -> Result<bool, String> {
    let manifest = load(dir)?;
    Ok(manifest.bulletins.iter().any(|b| b.id == id) || manifest.revoked.iter().any(|r| r == id))
}

pub fn revoke(dir: &Path, id: &str) -> Result<(), String> {
    let mut manifest = load(dir)?;
    manifest.bulletins.retain(|b| b.id != id);
    if !manifest.revoked.iter().any(|r| r == id) {
        manifest.revoked.push(id.to_string());
    }
    save(dir, &manifest)
}

/// Bumps the sequence, stamps the time, signs, and publishes: the signature is written
/// first, then feed.json is renamed into place, so a station never finds a new manifest
/// without its signature (one that fetches the old manifest with the new signature
/// fetches the manifest again). Returns the new sequence.
pub fn publish(dir: &Path, key_file: &Path) -> Result<u64, String> {
    let key_text = std::fs::read_to_string(key_file)
        .map_err(|e| format!("cannot read the key {}: {e}", key_file.display()))?;
    let key = SecretKey::from_secret_file(&key_text).map_err(|e| e.to_string())?;
    let mut manifest = load(dir)?;
    manifest.sequence += 1;
    manifest.generated_at = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let json = to_json(&manifest)?;
    let comment = format!(
        "timestamp:{}\tfile:{MANIFEST}\thashed",
        Utc::now().timestamp()
    );
    crate::sys::fs::write_public(&dir.join(SIGNATURE), key.sign(&json, &comment).as_bytes())
        .map_err(|e| format!("cannot write the signature: {e}"))?;
    crate::sys::fs::write_public(&dir.join(MANIFEST), &json)
        .map_err(|e| format!("cannot write the manifest: {e}"))?;
    let _ = std::fs::remove_file(dir.join(DRAFT));
    Ok(manifest.sequence)
}
