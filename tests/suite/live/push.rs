//! The province's side of a push, done the way an admin without loaxa would: a key made
//! by the `minisign` tool, manifests signed by it, and uploads sent with `curl -F`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::run;

pub struct Province {
    pub dir: tempfile::TempDir,
    n: AtomicUsize,
}

impl Province {
    /// A key pair made by minisign itself (no password).
    pub fn new() -> Province {
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
        run(
            "minisign",
            &["-G", "-W", "-p", &p("m.pub"), "-s", &p("m.key")],
        );
        Province {
            dir,
            n: AtomicUsize::new(0),
        }
    }

    pub fn key(&self) -> PathBuf {
        self.dir.path().join("m.key")
    }

    pub fn public_key(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("m.pub"))
            .unwrap()
            .lines()
            .nth(1)
            .unwrap()
            .to_string()
    }

    /// station.toml lines that make the station trust this province.
    pub fn trust(&self) -> String {
        format!("[feed]\npublic_keys = [\"{}\"]\n", self.public_key())
    }

    /// A fresh folder for one push's files.
    pub fn scratch(&self) -> PathBuf {
        let n = self.n.fetch_add(1, Ordering::SeqCst);
        let d = self.dir.path().join(format!("push{n}"));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// Writes the manifest and signs it with `minisign -S`: (manifest, signature).
    pub fn sign(&self, manifest: &[u8]) -> (PathBuf, PathBuf) {
        let d = self.scratch();
        let m = d.join("m.json");
        std::fs::write(&m, manifest).unwrap();
        run(
            "minisign",
            &[
                "-S",
                "-s",
                self.key().to_str().unwrap(),
                "-m",
                m.to_str().unwrap(),
            ],
        );
        (m.clone(), d.join("m.json.minisig"))
    }

    /// Signs `manifest` and sends it with `audio` as `curl -F` would.
    pub fn push(&self, api: &str, manifest: &Value, audio: Option<&Path>) -> (u16, Value) {
        let (m, sig) = self.sign(&serde_json::to_vec_pretty(manifest).unwrap());
        let mut parts = vec![("manifest", m), ("signature", sig)];
        if let Some(a) = audio {
            parts.push(("audio", a.to_path_buf()));
        }
        curl(api, &parts)
    }
}

/// A bulletin push manifest for `file`, issued on the real clock.
pub fn bulletin(id: &str, file: &Path, priority: &str, repeat: Option<u32>) -> Value {
    bulletin_at(
        id,
        file,
        priority,
        repeat,
        chrono::Utc::now().fixed_offset(),
    )
}

/// A bulletin push manifest for `file`, issued at `issued` (e.g. the station's rehearsal
/// clock), valid for two hours.
pub fn bulletin_at(
    id: &str,
    file: &Path,
    priority: &str,
    repeat: Option<u32>,
    issued: chrono::DateTime<chrono::FixedOffset>,
) -> Value {
    let bytes = std::fs::read(file).unwrap();
    let mut b = json!({
        "title": format!("Bản tin {id}"),
        "priority": priority,
        "sha256": loaxa::remote::signing::hex(&Sha256::digest(&bytes)),
        "size": bytes.len(),
        "campaign": null,
        "valid_from": null,
        "valid_until": null,
        "targets": []
    });
    if let Some(r) = repeat {
        b["repeat"] = json!(r);
    }
    json!({
        "loaxa_push": 1,
        "id": id,
        "issued_at": issued.to_rfc3339(),
        "expires_at": (issued + chrono::TimeDelta::hours(2)).to_rfc3339(),
        "action": "bulletin",
        "bulletin": b
    })
}

pub fn cancel(id: &str, target: &str) -> Value {
    json!({
        "loaxa_push": 1,
        "id": id,
        "issued_at": chrono::Utc::now().to_rfc3339(),
        "expires_at": (chrono::Utc::now() + chrono::TimeDelta::hours(2)).to_rfc3339(),
        "action": "cancel",
        "cancel": target
    })
}

/// `curl -F name=@file …` to the station's push endpoint: (HTTP status, JSON body).
pub fn curl(api: &str, parts: &[(&str, PathBuf)]) -> (u16, Value) {
    let mut args: Vec<String> = vec!["-s".into(), "-w".into(), "\n%{http_code}".into()];
    for (name, path) in parts {
        args.push("-F".into());
        args.push(format!("{name}=@{}", path.display()));
    }
    args.push(format!("{api}/api/v1/push"));
    let out = std::process::Command::new("curl")
        .args(&args)
        .output()
        .unwrap();
    parse_curl(&out.stdout)
}

/// curl's output with `-w "\n%{http_code}"`: the body, then the status.
pub fn parse_curl(stdout: &[u8]) -> (u16, Value) {
    let text = String::from_utf8_lossy(stdout);
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    let status = code.trim().parse().unwrap_or(0);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// GET a JSON endpoint of the daemon's API.
pub fn get_json(api: &str, path: &str) -> Value {
    let out = std::process::Command::new("curl")
        .args(["-s", "-f", &format!("{api}{path}")])
        .output()
        .unwrap();
    assert!(out.status.success(), "GET {path} failed");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Waits until the daemon's API answers.
pub fn wait_for_api(api: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let ok = std::process::Command::new("curl")
            .args([
                "-s",
                "-f",
                "-o",
                "/dev/null",
                &format!("{api}/api/v1/status"),
            ])
            .status()
            .unwrap()
            .success();
        if ok {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the API never answered at {api}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
