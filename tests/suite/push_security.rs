//! Every way a push can be wrong, sent to a running daemon with `curl`: each is refused
//! with its own status and a JSON error, nothing is stored, nothing plays, and the
//! refusal is in the as-run log and the metrics.

use crate::live;

use std::process::Command;

use live::push::*;
use live::*;
use serde_json::{Value, json};

const LIMIT: u64 = 300_000;

fn expect(what: &str, got: (u16, Value), status: u16, label: &str) {
    let (code, body) = got;
    assert_eq!(code, status, "{what}: {body}");
    assert_eq!(body["error"], label, "{what}: {body}");
    assert!(
        body["message"].as_str().is_some_and(|m| m.len() > 10),
        "{what}: the error must say what was wrong: {body}"
    );
    println!("{what}: {code} {}", body["message"]);
}

#[test]
fn bad_pushes_are_refused_with_the_right_status_and_leave_nothing_behind() {
    let province = Province::new();
    let stranger = Province::new();
    let station = Station::new(
        "null",
        "[[session]]\nname = \"Chiều\"\nstart = \"17:00\"\nend = \"18:00\"\n",
    );
    station.write_amp_script("exit 0");
    station.add_station_toml(&format!(
        "{}max_bulletin_bytes = {LIMIT}\n",
        province.trust()
    ));
    let audio = station.path("tin.mp3");
    tone(&audio, 440, 3.0);
    let daemon = Daemon::start(&station, "2021-10-01T09:00:00+07:00", None);
    let api = station.api();
    wait_for_api(&api);
    let scratch = province.scratch();
    let file = |name: &str, bytes: &[u8]| {
        let p = scratch.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };

    // No signature at all.
    let m = file(
        "m.json",
        &serde_json::to_vec(&bulletin("a1", &audio, "emergency", None)).unwrap(),
    );
    expect(
        "no signature",
        curl(&api, &[("manifest", m.clone()), ("audio", audio.clone())]),
        401,
        "signature",
    );
    // Signed by a key the station does not trust.
    expect(
        "untrusted key",
        stranger.push(
            &api,
            &bulletin("a2", &audio, "emergency", None),
            Some(&audio),
        ),
        401,
        "signature",
    );
    // Signed, then edited (normal → emergency).
    let (m, sig) =
        province.sign(&serde_json::to_vec(&bulletin("a3", &audio, "normal", None)).unwrap());
    let edited = std::fs::read_to_string(&m)
        .unwrap()
        .replace("\"normal\"", "\"emergency\"");
    std::fs::write(&m, edited).unwrap();
    expect(
        "manifest edited after signing",
        curl(
            &api,
            &[
                ("manifest", m),
                ("signature", sig),
                ("audio", audio.clone()),
            ],
        ),
        401,
        "signature",
    );
    // Signed for one file, sent with another of the same size.
    let mut swapped = std::fs::read(&audio).unwrap();
    let mid = swapped.len() / 2;
    swapped[mid] ^= 0x55;
    let swapped = file("swapped.mp3", &swapped);
    expect(
        "audio swapped after signing",
        province.push(
            &api,
            &bulletin("a4", &audio, "emergency", None),
            Some(&swapped),
        ),
        422,
        "mismatch",
    );
    // Expired before it arrived.
    let mut old = bulletin("a5", &audio, "emergency", None);
    old["issued_at"] = json!("2021-10-01T07:00:00+07:00");
    old["expires_at"] = json!("2021-10-01T08:00:00+07:00");
    expect(
        "expired",
        province.push(&api, &old, Some(&audio)),
        410,
        "expired",
    );
    // Too large: over the station's limit, refused before the body is read.
    let big = file("big.mp3", &vec![0u8; 2 * LIMIT as usize]);
    expect(
        "oversized body",
        province.push(&api, &bulletin("a6", &big, "normal", None), Some(&big)),
        413,
        "too_large",
    );
    // A manifest that announces a small file, and a body that keeps going.
    let mut liar = bulletin("a6b", &audio, "normal", None);
    liar["bulletin"]["size"] = json!(1000);
    let over = file("over.mp3", &vec![7u8; LIMIT as usize + 50_000]);
    expect(
        "oversized audio part under a small manifest size",
        province.push(&api, &liar, Some(&over)),
        413,
        "too_large",
    );
    // Not audio: right size and hash, but noise named .mp3; and a truncated MP3.
    let noise: Vec<u8> = (0..50_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let noise = file("noise.mp3", &noise);
    expect(
        "non-audio body",
        province.push(
            &api,
            &bulletin("a7", &noise, "emergency", None),
            Some(&noise),
        ),
        415,
        "not_audio",
    );
    let whole = std::fs::read(&audio).unwrap();
    let cut = file("cut.mp3", &whole[..whole.len() / 2]);
    expect(
        "truncated MP3",
        province.push(&api, &bulletin("a7b", &cut, "emergency", None), Some(&cut)),
        415,
        "not_audio",
    );
    // Malformed multipart.
    let out = Command::new("curl")
        .args([
            "-s",
            "-w",
            "\n%{http_code}",
            "-H",
            "Content-Type: multipart/form-data; boundary=xyz",
        ])
        .args([
            "--data-binary",
            "--xyz\r\nthis is not a part\r\n",
            &format!("{api}/api/v1/push"),
        ])
        .output()
        .unwrap();
    expect(
        "malformed multipart",
        parse_curl(&out.stdout),
        400,
        "malformed",
    );
    let out = Command::new("curl")
        .args([
            "-s",
            "-w",
            "\n%{http_code}",
            "-H",
            "Content-Type: application/json",
        ])
        .args(["--data-binary", "{}", &format!("{api}/api/v1/push")])
        .output()
        .unwrap();
    expect(
        "not multipart at all",
        parse_curl(&out.stdout),
        400,
        "malformed",
    );
    // Signed, well-formed, but an action no station knows; and an unknown field.
    let mut unknown = bulletin("a8", &audio, "normal", None);
    unknown["action"] = json!("explode");
    expect(
        "unknown action",
        province.push(&api, &unknown, Some(&audio)),
        400,
        "malformed",
    );
    let mut extra = bulletin("a9", &audio, "normal", None);
    extra["bulletin"]["volume"] = json!(11);
    expect(
        "unknown field",
        province.push(&api, &extra, Some(&audio)),
        400,
        "malformed",
    );
    expect(
        "no audio part",
        province.push(&api, &bulletin("a10", &audio, "normal", None), None),
        400,
        "malformed",
    );
    let mut elsewhere = bulletin("a11", &audio, "emergency", None);
    elsewhere["bulletin"]["targets"] = json!(["another-commune"]);
    expect(
        "for another station",
        province.push(&api, &elsewhere, Some(&audio)),
        400,
        "malformed",
    );

    // One good push, then the very same request again.
    let good = bulletin("ok-1", &audio, "normal", None);
    let (m, sig) = province.sign(&serde_json::to_vec(&good).unwrap());
    let parts = [
        ("manifest", m),
        ("signature", sig),
        ("audio", audio.clone()),
    ];
    let (code, body) = curl(&api, &parts);
    assert_eq!(code, 202, "{body}");
    expect(
        "replay of an accepted push",
        curl(&api, &parts),
        409,
        "duplicate",
    );

    let metrics = Command::new("curl")
        .args(["-s", &format!("{api}/metrics")])
        .output()
        .unwrap();
    let metrics = String::from_utf8_lossy(&metrics.stdout).to_string();
    let log = station.asrun("2021-10-01");
    // The report endpoint answers too, and refuses a bad range with a JSON error.
    let report = get_json(&api, "/api/v1/report?from=2021-10-01&to=2021-10-02");
    assert_eq!(report["station_id"], "test", "{report}");
    let out = Command::new("curl")
        .args([
            "-s",
            "-w",
            "\n%{http_code}",
            &format!("{api}/api/v1/report?from=2021-10-05&to=2021-10-01"),
        ])
        .output()
        .unwrap();
    expect(
        "report range backwards",
        parse_curl(&out.stdout),
        400,
        "malformed",
    );
    assert!(daemon.stop().success());

    // Only the good push is kept; no upload is left; nothing played.
    let mut kept: Vec<String> = std::fs::read_dir(station.path("state/push/audio"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    kept.sort();
    assert_eq!(kept, ["ok-1.info.json", "ok-1.mp3"]);
    assert_eq!(
        std::fs::read_dir(station.path("state/push/incoming"))
            .unwrap()
            .count(),
        0
    );
    let state: Value =
        serde_json::from_slice(&std::fs::read(station.path("state/push/state.json")).unwrap())
            .unwrap();
    assert_eq!(state["seen"], json!(["ok-1"]));
    assert!(!log.iter().any(|r| r["event"] == "start"), "{}", show(&log));
    let rejected = log.iter().filter(|r| r["event"] == "rejected").count();
    assert_eq!(rejected, 16, "{}", show(&log));
    for line in [
        "loaxa_rejections_total{source=\"push\",reason=\"signature\"} 3",
        "loaxa_rejections_total{source=\"push\",reason=\"malformed\"} 6",
        "loaxa_rejections_total{source=\"push\",reason=\"too_large\"} 2",
        "loaxa_rejections_total{source=\"push\",reason=\"not_audio\"} 2",
        "loaxa_rejections_total{source=\"push\",reason=\"duplicate\"} 1",
        "loaxa_pushes_total{action=\"bulletin\"} 1",
    ] {
        assert!(metrics.contains(line), "missing {line} in\n{metrics}");
    }
}
