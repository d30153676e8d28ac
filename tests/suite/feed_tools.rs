//! The province's tools against the real `minisign`: our signatures verify with
//! `minisign -V`, `minisign -S` signatures (prehashed and legacy) verify with ours, and
//! `minisign -S` can even sign with a key made by `loaxa keygen`.

use crate::live;

use std::path::Path;
use std::process::Command;

use live::*;
use loaxa::remote::signing::{VerifyError, verify};

fn public_key(pub_file: &Path) -> String {
    std::fs::read_to_string(pub_file)
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn keys_and_signatures_interoperate_with_minisign() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    let out = loaxa(&["keygen", &p("province")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("public_keys = [\"RW"));
    // Never overwrites a key.
    assert_eq!(loaxa(&["keygen", &p("province")]).status.code(), Some(1));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(p("province/loaxa.key"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );

    // A feed signed by loaxa verifies with minisign itself.
    let feed = p("feed");
    tone(&dir.path().join("hotline.mp3"), 620, 2.0);
    let ok = |o: std::process::Output| {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr))
    };
    ok(loaxa(&[
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
        "3",
        "--min-gap",
        "3h",
        "--priority",
        "priority",
    ]));
    ok(loaxa(&[
        "feed",
        "add",
        &feed,
        &p("hotline.mp3"),
        "--title",
        "Đường dây nóng",
        "--campaign",
        "bcd389",
    ]));
    ok(loaxa(&[
        "feed",
        "publish",
        &feed,
        "--key",
        &p("province/loaxa.key"),
    ]));
    run(
        "minisign",
        &[
            "-Vm",
            &format!("{feed}/feed.json"),
            "-p",
            &p("province/loaxa.pub"),
        ],
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(format!("{feed}/feed.json")).unwrap()).unwrap();
    assert_eq!(manifest["sequence"], 1);
    // What a web server serves is readable by everyone: rsync -a keeps the modes, and
    // nginx runs as another user (it answered 403 to files written 0600).
    for served in ["feed.json", "feed.json.minisig", "audio/hotline.mp3"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(format!("{feed}/{served}"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o644, "{served} is {:o}", mode & 0o777);
    }
    assert_eq!(manifest["bulletins"][0]["url"], "audio/hotline.mp3");
    assert_eq!(
        manifest["bulletins"][0]["size"],
        std::fs::metadata(format!("{feed}/audio/hotline.mp3"))
            .unwrap()
            .len()
    );
    let sha = Command::new("sha256sum")
        .arg(format!("{feed}/audio/hotline.mp3"))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&sha.stdout)
            .starts_with(manifest["bulletins"][0]["sha256"].as_str().unwrap())
    );
    // Publishing again moves the sequence on.
    ok(loaxa(&[
        "feed",
        "publish",
        &feed,
        "--key",
        &p("province/loaxa.key"),
    ]));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(format!("{feed}/feed.json")).unwrap()).unwrap();
    assert_eq!(manifest["sequence"], 2);

    // minisign's own signatures, prehashed (default) and legacy, verify with ours.
    run(
        "minisign",
        &["-G", "-W", "-p", &p("m.pub"), "-s", &p("m.key")],
    );
    std::fs::write(p("doc.json"), b"{\"loaxa_feed\": 1}").unwrap();
    run(
        "minisign",
        &[
            "-S",
            "-s",
            &p("m.key"),
            "-m",
            &p("doc.json"),
            "-x",
            &p("hashed.minisig"),
        ],
    );
    run(
        "minisign",
        &[
            "-S",
            "-l",
            "-s",
            &p("m.key"),
            "-m",
            &p("doc.json"),
            "-x",
            &p("legacy.minisig"),
        ],
    );
    let trusted = vec![public_key(Path::new(&p("m.pub")))];
    let doc = std::fs::read(p("doc.json")).unwrap();
    for sig in ["hashed.minisig", "legacy.minisig"] {
        assert_eq!(
            verify(&doc, &std::fs::read_to_string(p(sig)).unwrap(), &trusted),
            Ok(()),
            "{sig}"
        );
        assert_eq!(
            verify(
                b"{\"loaxa_feed\": 2}",
                &std::fs::read_to_string(p(sig)).unwrap(),
                &trusted
            ),
            Err(VerifyError::BadSignature),
            "{sig}"
        );
    }
    // A loaxa key is a real minisign key: minisign signs with it, and we verify that.
    run(
        "minisign",
        &[
            "-S",
            "-s",
            &p("province/loaxa.key"),
            "-m",
            &p("doc.json"),
            "-x",
            &p("by-loaxa-key.minisig"),
        ],
    );
    let ours = vec![public_key(Path::new(&p("province/loaxa.pub")))];
    assert_eq!(
        verify(
            &doc,
            &std::fs::read_to_string(p("by-loaxa-key.minisig")).unwrap(),
            &ours
        ),
        Ok(())
    );
    assert!(matches!(
        verify(
            &doc,
            &std::fs::read_to_string(p("hashed.minisig")).unwrap(),
            &ours
        ),
        Err(VerifyError::UntrustedKey(_))
    ));
}

#[test]
fn feed_tools_refuse_bad_input_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    std::fs::write(p("noise.mp3"), vec![0x55u8; 5000]).unwrap();
    let out = loaxa(&["feed", "add", &p("feed"), &p("noise.mp3"), "--title", "x"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not audio"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    tone(&dir.path().join("ok.ogg"), 500, 1.0);
    let out = loaxa(&[
        "feed",
        "add",
        &p("feed"),
        &p("ok.ogg"),
        "--title",
        "x",
        "--campaign",
        "nope",
    ]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("loaxa feed campaign"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = loaxa(&[
        "feed",
        "add",
        &p("feed"),
        &p("ok.ogg"),
        "--title",
        "x",
        "--priority",
        "urgent",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = loaxa(&["feed", "publish", &p("feed"), "--key", &p("no.key")]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read the key"));
}
