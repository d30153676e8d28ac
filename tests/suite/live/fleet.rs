//! The fleet channel's test helpers: a station's `[fleet]`, the province's view of it
//! (`loaxa fleet status`), signed push messages as the province publishes them, and the
//! province's audio on nginx.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::mqtt::Mosquitto;
use super::push::{Province, bulletin};
use super::{Nginx, loaxa, tone};

pub const PREFIX: &str = "loaxa/test";

pub fn fleet_toml(broker: &Mosquitto) -> String {
    format!(
        "[fleet]\nbroker = \"{}\"\nprefix = \"{PREFIX}\"\n",
        broker.url()
    )
}

/// The station as `loaxa fleet status --json` sees it, if it has been seen.
pub fn fleet_row(broker: &Mosquitto, id: &str) -> Option<Value> {
    fleet_rows(broker).into_iter().find(|r| r["id"] == id)
}

/// Every station `loaxa fleet status --json` lists.
pub fn fleet_rows(broker: &Mosquitto) -> Vec<Value> {
    let out = loaxa(&[
        "fleet",
        "status",
        "--broker",
        &broker.url(),
        "--prefix",
        PREFIX,
        "--json",
    ]);
    assert!(out.status.success(), "fleet status failed: {out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

pub fn wait_online(broker: &Mosquitto, id: &str, online: bool, secs: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(r) = fleet_row(broker, id)
            && r["online"] == online
        {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "station {id} never seen online={online}; broker log:\n{}",
            broker.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A push message as the province publishes it: the manifest signed by minisign.
pub fn message(province: &Province, manifest: &Value) -> Vec<u8> {
    let bytes = serde_json::to_vec_pretty(manifest).unwrap();
    let (_, sig) = province.sign(&bytes);
    serde_json::to_vec(&json!({
        "manifest": String::from_utf8(bytes).unwrap(),
        "signature": std::fs::read_to_string(sig).unwrap(),
    }))
    .unwrap()
}

/// A bulletin manifest naming its audio by URL.
pub fn by_url(id: &str, file: &Path, url: &str, priority: &str) -> Value {
    let mut m = bulletin(id, file, priority, Some(1));
    m["bulletin"]["url"] = json!(url);
    m
}

/// The province's audio, served by nginx.
pub fn audio_server(freq: u32, secs: f64) -> (tempfile::TempDir, Nginx) {
    let dir = tempfile::tempdir().unwrap();
    tone(&dir.path().join("khan.mp3"), freq, secs);
    let nginx = Nginx::start(dir.path());
    (dir, nginx)
}
