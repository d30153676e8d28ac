//! The station's feed sync against a real nginx serving a feed signed by the `minisign`
//! tool: accepted bulletins enter the plan; every kind of bad feed or file is refused
//! with a reason and never enters the catalog.

use crate::live;

use std::path::{Path, PathBuf};
use std::process::Command;

use live::*;
use loaxa::config::Config;
use loaxa::remote::feed::sync::{PollError, RefusalKind, Syncer};

struct Province {
    dir: tempfile::TempDir,
}

impl Province {
    /// A key pair made by minisign itself, and an empty feed.
    fn new() -> Province {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("feed")).unwrap();
        let p = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
        run(
            "minisign",
            &["-G", "-W", "-p", &p("m.pub"), "-s", &p("m.key")],
        );
        let feed = p("feed");
        let province = Province { dir };
        loaxa_ok(&[
            "feed",
            "campaign",
            &feed,
            "--id",
            "bcd389",
            "--title",
            "Chống buôn lậu",
            "--from",
            "2021-09-17",
            "--until",
            "2021-12-31",
            "--plays-per-day",
            "2",
            "--priority",
            "priority",
        ]);
        province
    }

    fn feed(&self) -> PathBuf {
        self.dir.path().join("feed")
    }

    fn public_key(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("m.pub"))
            .unwrap()
            .lines()
            .nth(1)
            .unwrap()
            .to_string()
    }

    fn add(&self, file: &Path, id: &str) {
        let feed = self.feed();
        loaxa_ok(&[
            "feed",
            "add",
            feed.to_str().unwrap(),
            file.to_str().unwrap(),
            "--title",
            id,
            "--id",
            id,
            "--campaign",
            "bcd389",
        ]);
    }

    /// Bumps the sequence (loaxa), then signs feed.json with the minisign tool itself.
    fn publish(&self) {
        let key = self.dir.path().join("m.key");
        loaxa_ok(&[
            "feed",
            "publish",
            self.feed().to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ]);
        let manifest = self.feed().join("feed.json");
        run(
            "minisign",
            &[
                "-S",
                "-s",
                key.to_str().unwrap(),
                "-m",
                manifest.to_str().unwrap(),
            ],
        );
    }

    /// Edits the served feed.json, as someone tampering with the web server would.
    fn edit_manifest(&self, f: impl FnOnce(&mut serde_json::Value)) {
        self.edit(self.feed().join("feed.json"), f)
    }

    /// Edits what `loaxa feed publish` will sign next (the draft `feed add` keeps), as a
    /// broken or hostile publisher might.
    fn edit_draft(&self, f: impl FnOnce(&mut serde_json::Value)) {
        let draft = self.feed().join("feed.json.draft");
        if !draft.exists() {
            std::fs::copy(self.feed().join("feed.json"), &draft).unwrap();
        }
        self.edit(draft, f)
    }

    fn edit(&self, path: PathBuf, f: impl FnOnce(&mut serde_json::Value)) {
        let mut v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        f(&mut v);
        // The web server's ETag is mtime-size at one-second resolution: let a second pass so
        // an edit is always seen as a change, as it would be in real life.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let mut bytes = serde_json::to_vec_pretty(&v).unwrap();
        bytes.extend_from_slice(b"\n\n\n");
        std::fs::write(path, bytes).unwrap();
    }
}

/// A station following `url`, trusting `key`.
fn station(url: &str, key: &str, max_bytes: u64) -> (tempfile::TempDir, Config) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("station.toml"),
        format!("station_id = \"tan-linh\"\n[paths]\nstate = \"state\"\n[audio]\noutput = \"null\"\n[feed]\nurl = \"{url}\"\npublic_keys = [\"{key}\"]\nmax_bulletin_bytes = {max_bytes}\n"),
    )
    .unwrap();
    std::fs::write(dir.path().join("schedule.toml"), "[[session]]\nname = \"Sáng\"\nstart = \"05:30\"\nend = \"06:00\"\n\n[[session]]\nname = \"Chiều\"\nstart = \"17:00\"\nend = \"17:30\"\n").unwrap();
    let config = loaxa::station::config::load(
        dir.path(),
        chrono::NaiveDate::from_ymd_opt(2021, 10, 1).unwrap(),
    )
    .unwrap();
    (dir, config)
}

fn syncer(config: &Config) -> Syncer {
    let trust =
        loaxa::store::trust::Trust::open(&loaxa::store::Store::of(&config.station)).unwrap();
    Syncer::new(
        &config.station,
        PathBuf::from(env!("CARGO_BIN_EXE_loaxa")),
        std::sync::Arc::new(trust),
    )
    .unwrap()
}

fn catalog_ids(config: &Config) -> Vec<String> {
    loaxa::station::catalog::load(config)
        .bulletins
        .into_iter()
        .map(|b| b.id)
        .collect()
}

#[test]
fn a_signed_feed_is_accepted_enters_the_plan_and_costs_nothing_when_unchanged() {
    let province = Province::new();
    tone(&province.dir.path().join("hotline.mp3"), 620, 2.0);
    province.add(&province.dir.path().join("hotline.mp3"), "bcd389-01");
    province.publish();
    let nginx = Nginx::start(&province.feed());
    let (dir, config) = station(&nginx.url("feed.json"), &province.public_key(), 50_000_000);

    let s = syncer(&config);
    let first = s.poll(chrono::Utc::now()).unwrap();
    assert!(
        first.changed && first.rejected.is_empty(),
        "{:?}",
        first.rejected
    );
    assert_eq!(catalog_ids(&config), ["bcd389-01"]);
    // It is in the day's plan, twice (plays_per_day 2), from the feed.
    let out = Command::new(env!("CARGO_BIN_EXE_loaxa"))
        .args([
            "--config",
            dir.path().to_str().unwrap(),
            "plan",
            "--date",
            "2021-10-01",
            "--json",
        ])
        .output()
        .unwrap();
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let plays: Vec<_> = plan["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["items"].as_array().unwrap())
        .filter(|i| i["id"] == "bcd389-01")
        .collect();
    assert_eq!(plays.len(), 2, "{plan}");
    assert_eq!(plays[0]["source"], "feed");

    // Unchanged feed: a conditional GET answered 304, no download at all.
    let before = nginx.requests().len();
    let again = s.poll(chrono::Utc::now()).unwrap();
    assert!(!again.changed && again.rejected.is_empty());
    let new: Vec<_> = nginx
        .requests_after(before, 1)
        .into_iter()
        .skip(before)
        .collect();
    assert_eq!(new.len(), 1, "{new:?}");
    assert!(
        new[0].0.starts_with("GET /feed.json ") && new[0].1 == 304,
        "{new:?}"
    );

    // The state survives a restart: a new syncer (as after a reboot) still gets a 304.
    let before = nginx.requests_after(0, 4).len();
    assert!(!syncer(&config).poll(chrono::Utc::now()).unwrap().changed);
    let after = nginx.requests_after(before, 1);
    assert_eq!(
        after[before..].iter().map(|r| r.1).collect::<Vec<_>>(),
        [304]
    );

    // A new bulletin in a newer sequence arrives on the next poll.
    tone(&province.dir.path().join("tuyen-truyen.ogg"), 700, 2.0);
    province.add(&province.dir.path().join("tuyen-truyen.ogg"), "bcd389-02");
    province.publish();
    assert!(s.poll(chrono::Utc::now()).unwrap().changed);
    assert_eq!(catalog_ids(&config), ["bcd389-01", "bcd389-02"]);

    // Revoked: gone from the catalog at once.
    loaxa_ok(&[
        "feed",
        "revoke",
        province.feed().to_str().unwrap(),
        "bcd389-01",
    ]);
    province.publish();
    assert!(s.poll(chrono::Utc::now()).unwrap().changed);
    assert_eq!(catalog_ids(&config), ["bcd389-02"]);
    // And its file is gone from the station's disk (only bcd389-02's audio and sidecar remain).
    let stored: Vec<_> = std::fs::read_dir(config.station.state_dir.join("feed/audio"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(stored.len(), 2, "{stored:?}");
    assert!(
        stored
            .iter()
            .all(|n| n.ends_with(".ogg") || n.ends_with(".info.json")),
        "{stored:?}"
    );
}

#[test]
fn bad_feeds_and_files_are_refused_with_a_reason() {
    let province = Province::new();
    let p = |n: &str| province.dir.path().join(n);
    tone(&p("good.mp3"), 620, 2.0);
    province.add(&p("good.mp3"), "good");
    province.publish();
    let nginx = Nginx::start(&province.feed());
    let (_dir, config) = station(&nginx.url("feed.json"), &province.public_key(), 200_000);
    let s = syncer(&config);
    assert!(s.poll(chrono::Utc::now()).unwrap().rejected.is_empty());
    let accepted = std::fs::read(province.feed().join("feed.json")).unwrap();
    let accepted_sig = std::fs::read(province.feed().join("feed.json.minisig")).unwrap();

    // A manifest edited after signing.
    province.edit_manifest(|m| m["sequence"] = serde_json::json!(99));
    let r = s.poll(chrono::Utc::now()).unwrap();
    assert!(
        r.rejected[0].message.contains("does not match"),
        "{:?}",
        r.rejected
    );

    // Signed by a key the station does not trust.
    run(
        "minisign",
        &[
            "-G",
            "-W",
            "-p",
            p("x.pub").to_str().unwrap(),
            "-s",
            p("x.key").to_str().unwrap(),
        ],
    );
    province.edit_manifest(|m| m["sequence"] = serde_json::json!(50));
    run(
        "minisign",
        &[
            "-S",
            "-s",
            p("x.key").to_str().unwrap(),
            "-m",
            province.feed().join("feed.json").to_str().unwrap(),
        ],
    );
    let r = s.poll(chrono::Utc::now()).unwrap();
    assert!(
        r.rejected[0].message.contains("does not trust"),
        "{:?}",
        r.rejected
    );

    // A replay of the older, genuinely signed manifest after a newer one was accepted.
    province.publish(); // a newer, valid sequence
    assert!(s.poll(chrono::Utc::now()).unwrap().rejected.is_empty());
    let newest = std::fs::read(province.feed().join("feed.json")).unwrap();
    std::fs::write(province.feed().join("feed.json"), &accepted).unwrap();
    std::fs::write(province.feed().join("feed.json.minisig"), &accepted_sig).unwrap();
    let r = s.poll(chrono::Utc::now()).unwrap();
    assert!(
        r.rejected[0].message.contains("not newer") && r.rejected[0].message.contains("replay"),
        "{:?}",
        r.rejected
    );
    std::fs::write(province.feed().join("feed.json"), &newest).unwrap();

    // Bad files in a well-signed manifest.
    std::fs::write(
        province.feed().join("audio/noise.mp3"),
        (0..40_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as u8)
            .collect::<Vec<u8>>(),
    )
    .unwrap();
    tone(&p("long.wav"), 440, 5.0); // ~441 kB: over this station's 200 kB limit
    tone(&p("cut.mp3"), 500, 4.0);
    let cut = std::fs::read(p("cut.mp3")).unwrap();
    std::fs::write(p("truncated.mp3"), &cut[..cut.len() / 3]).unwrap();
    tone(&p("tampered.ogg"), 660, 2.0);
    province.add(&p("long.wav"), "oversized");
    province.add(&p("tampered.ogg"), "tampered");
    // `loaxa feed add` itself refuses a truncated or non-audio file, so those two are
    // listed by hand, as a broken or hostile publisher might.
    std::fs::copy(
        p("truncated.mp3"),
        province.feed().join("audio/truncated.mp3"),
    )
    .unwrap();
    province.edit_draft(|m| {
        let b = m["bulletins"].as_array_mut().unwrap();
        let listed = |id: &str, file: &str| {
            let bytes = std::fs::read(province.feed().join("audio").join(file)).unwrap();
            let mut x = b[0].clone();
            x["id"] = id.into();
            x["url"] = format!("audio/{file}").into();
            x["size"] = (bytes.len() as u64).into();
            x["sha256"] =
                loaxa::remote::signing::hex(&<sha2::Sha256 as sha2::Digest>::digest(&bytes)).into();
            x
        };
        let noise = listed("noise", "noise.mp3");
        let truncated = listed("truncated", "truncated.mp3");
        b.push(truncated);
        let mut escape = b[0].clone();
        escape["id"] = "escape".into();
        escape["url"] = "../m.key".into();
        b.push(noise);
        b.push(escape);
    });
    province.publish();
    // Tampered after publishing: the bytes no longer match the signed sha256.
    std::fs::write(
        province.feed().join("audio/tampered.ogg"),
        b"OggS but not the signed bytes",
    )
    .unwrap();
    let r = s.poll(chrono::Utc::now()).unwrap();
    let reason = |id: &str| {
        r.rejected
            .iter()
            .find(|x| x.message.contains(&format!("bulletin {id} ")))
            .map(|x| x.message.clone())
            .unwrap_or_else(|| panic!("{id} not refused: {:?}", r.rejected))
    };
    assert!(reason("oversized").contains("max_bulletin_bytes"));
    assert!(
        reason("tampered").contains("size mismatch")
            || reason("tampered").contains("sha256 mismatch"),
        "{}",
        reason("tampered")
    );
    assert!(
        reason("noise").contains("not audio") || reason("noise").contains("damaged"),
        "{}",
        reason("noise")
    );
    assert!(reason("escape").contains("leaves the feed directory"));
    assert!(
        reason("truncated").contains("truncated"),
        "{}",
        reason("truncated")
    );
    assert_eq!(
        catalog_ids(&config),
        ["good"],
        "nothing refused enters the catalog"
    );
    // The oversized file was never downloaded.
    assert!(
        !nginx
            .requests()
            .iter()
            .any(|(req, _, _)| req.contains("long.wav"))
    );
    // Refusals are remembered: the next poll neither fetches nor reports them again.
    let again = s.poll(chrono::Utc::now()).unwrap();
    assert!(again.rejected.is_empty(), "{:?}", again.rejected);
}

#[test]
fn an_interrupted_download_resumes_where_it_stopped() {
    let province = Province::new();
    let p = |n: &str| province.dir.path().join(n);
    tone(&p("long.wav"), 440, 6.0); // ~530 kB
    province.add(&p("long.wav"), "long");
    province.publish();
    let nginx = Nginx::start(&province.feed());
    let (_dir, config) = station(&nginx.url("feed.json"), &province.public_key(), 50_000_000);
    // As if a transfer had been cut at 200 kB: the partial file is there.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(province.feed().join("feed.json")).unwrap()).unwrap();
    let sha = manifest["bulletins"][0]["sha256"].as_str().unwrap();
    let partial = config.station.state_dir.join("feed/partial").join(sha);
    std::fs::create_dir_all(partial.parent().unwrap()).unwrap();
    let bytes = std::fs::read(province.feed().join("audio/long.wav")).unwrap();
    std::fs::write(&partial, &bytes[..200_000]).unwrap();

    let r = syncer(&config).poll(chrono::Utc::now()).unwrap();
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    assert_eq!(catalog_ids(&config), ["long"]);
    let audio: Vec<_> = nginx
        .requests()
        .into_iter()
        .filter(|(req, _, _)| req.contains("long.wav"))
        .collect();
    assert_eq!(audio.len(), 1, "{audio:?}");
    assert_eq!(audio[0].1, 206, "a range request: {audio:?}");
    assert_eq!(
        audio[0].2,
        bytes.len() as u64 - 200_000,
        "only the rest was sent: {audio:?}"
    );
}

#[test]
fn a_transfer_cut_by_a_dying_server_resumes_instead_of_restarting() {
    let province = Province::new();
    let p = |n: &str| province.dir.path().join(n);
    tone(&p("long.wav"), 440, 4.0); // ~350 kB at 20 kB/s through /slow/
    province.add(&p("long.wav"), "long");
    province.publish();
    let mut nginx = Nginx::start(&province.feed());
    let (_dir, config) = station(
        &nginx.url("slow/feed.json"),
        &province.public_key(),
        50_000_000,
    );
    let s = std::sync::Arc::new(syncer(&config));
    let s2 = s.clone();
    let first = std::thread::spawn(move || s2.poll(chrono::Utc::now()));
    std::thread::sleep(std::time::Duration::from_millis(2500));
    nginx.kill(); // cut mid-transfer
    let outcome = first.join().unwrap().unwrap();
    assert!(
        outcome.rejected.is_empty(),
        "a cut is not a refusal: {:?}",
        outcome.rejected
    );
    assert!(catalog_ids(&config).is_empty());
    let size = std::fs::metadata(p("feed/audio/long.wav")).unwrap().len();
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(province.feed().join("feed.json")).unwrap()).unwrap();
    let partial = config
        .station
        .state_dir
        .join("feed/partial")
        .join(manifest["bulletins"][0]["sha256"].as_str().unwrap());
    let kept = std::fs::metadata(&partial).map(|m| m.len()).unwrap_or(0);
    assert!(
        kept > 10_000 && kept < size,
        "partial file of {kept} bytes of {size}"
    );

    nginx.restart();
    let outcome = s.poll(chrono::Utc::now()).unwrap();
    assert!(
        outcome.changed && outcome.rejected.is_empty(),
        "{:?}",
        outcome.rejected
    );
    assert_eq!(catalog_ids(&config), ["long"]);
    let resumed: Vec<_> = nginx
        .requests_after(0, 2)
        .into_iter()
        .filter(|(req, _, _)| req.contains("long.wav") && req.starts_with("GET"))
        .collect();
    let last = resumed.last().unwrap();
    assert_eq!(last.1, 206, "resumed with a range request: {resumed:?}");
    assert_eq!(
        last.2,
        size - kept,
        "only the missing bytes were sent: {resumed:?}"
    );
}

#[test]
fn bulletins_for_other_stations_are_ignored() {
    let province = Province::new();
    tone(&province.dir.path().join("a.mp3"), 620, 1.0);
    tone(&province.dir.path().join("b.mp3"), 700, 1.0);
    province.add(&province.dir.path().join("a.mp3"), "for-us");
    let feed = province.feed();
    loaxa_ok(&[
        "feed",
        "add",
        feed.to_str().unwrap(),
        province.dir.path().join("b.mp3").to_str().unwrap(),
        "--title",
        "x",
        "--id",
        "for-others",
        "--campaign",
        "bcd389",
        "--target",
        "hn-other-commune",
    ]);
    province.publish();
    let nginx = Nginx::start(&province.feed());
    let (_dir, config) = station(&nginx.url("feed.json"), &province.public_key(), 50_000_000);
    syncer(&config).poll(chrono::Utc::now()).unwrap();
    assert_eq!(catalog_ids(&config), ["for-us"]);
    assert!(
        !nginx
            .requests()
            .iter()
            .any(|(req, _, _)| req.contains("b.mp3")),
        "not even downloaded"
    );
}

#[test]
fn a_lost_or_corrupt_feed_state_reopens_no_door() {
    let province = Province::new();
    tone(&province.dir.path().join("a.mp3"), 620, 1.0);
    province.add(&province.dir.path().join("a.mp3"), "a-01");
    province.publish();
    let first = std::fs::read(province.feed().join("feed.json")).unwrap();
    let first_sig = std::fs::read(province.feed().join("feed.json.minisig")).unwrap();
    province.publish();
    let nginx = Nginx::start(&province.feed());
    let (_dir, config) = station(&nginx.url("feed.json"), &province.public_key(), 50_000_000);
    let state = config.station.state_dir.join("feed/state.json");
    assert!(
        syncer(&config).poll(chrono::Utc::now()).unwrap().changed,
        "sequence 2 accepted"
    );

    // The feed state is lost; someone serves the genuine, older sequence 1 again.
    std::fs::remove_file(&state).unwrap();
    std::fs::write(province.feed().join("feed.json"), &first).unwrap();
    std::fs::write(province.feed().join("feed.json.minisig"), &first_sig).unwrap();
    let r = syncer(&config).poll(chrono::Utc::now()).unwrap();
    assert!(!r.changed);
    assert!(
        r.rejected[0]
            .message
            .contains("not newer than the accepted 2"),
        "{:?}",
        r.rejected
    );
    assert_eq!(r.rejected[0].kind, RefusalKind::Replay);
    assert_eq!(r.rejected[0].kind.label(), "replay");

    // A corrupt state is not read as empty, nor overwritten: nothing is taken.
    std::fs::write(&state, b"{\"manifest\": nu").unwrap();
    let e = syncer(&config).poll(chrono::Utc::now()).unwrap_err();
    assert!(matches!(e, PollError::State(_)), "{e}");
    assert_eq!(e.label(), "state");
    assert!(e.to_string().contains("feed state unreadable"), "{e}");
    assert_eq!(std::fs::read(&state).unwrap(), b"{\"manifest\": nu");
    assert!(loaxa::station::catalog::load(&config).problems[0].contains("feed state unreadable"));
}
