//! Durations measured by decoding real files made by real encoders, checked against
//! what ffmpeg decodes from the same file.

use crate::live;

use std::path::Path;

use live::{ffmpeg_ms, run};
use loaxa::audio::ingest::{MediaCache, measure};

#[test]
fn every_encoder_gives_the_duration_ffmpeg_decodes() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("tone.wav");
    run(
        "sox",
        &[
            "-n",
            "-r",
            "44100",
            "-c",
            "2",
            "-b",
            "16",
            wav.to_str().unwrap(),
            "synth",
            "7.5",
            "sine",
            "440",
        ],
    );
    let p = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    run(
        "lame",
        &["--quiet", "-b", "128", &p("tone.wav"), &p("cbr.mp3")],
    );
    run(
        "lame",
        &["--quiet", "-V", "4", &p("tone.wav"), &p("vbr.mp3")],
    );
    run("oggenc", &["--quiet", "-o", &p("tone.ogg"), &p("tone.wav")]);
    run("flac", &["--silent", "-o", &p("tone.flac"), &p("tone.wav")]);
    run(
        "ffmpeg",
        &[
            "-v",
            "error",
            "-i",
            &p("tone.wav"),
            "-c:a",
            "aac",
            "-b:a",
            "96k",
            &p("tone.m4a"),
        ],
    );
    run(
        "sox",
        &[&p("tone.wav"), "-r", "8000", "-c", "1", &p("low.wav")],
    );
    run(
        "lame",
        &["--quiet", "-b", "32", &p("low.wav"), &p("low.mp3")],
    );
    for name in [
        "tone.wav",
        "cbr.mp3",
        "vbr.mp3",
        "tone.ogg",
        "tone.flac",
        "tone.m4a",
        "low.wav",
        "low.mp3",
    ] {
        let path = dir.path().join(name);
        let ours = measure(&path, loaxa::core::media::DEFAULT_MAX_DURATION)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .duration_ms;
        let theirs = ffmpeg_ms(&path);
        assert!(
            (ours - theirs).abs() <= 50,
            "{name}: we measure {ours} ms, ffmpeg decodes {theirs} ms"
        );
        assert!(
            (ours - 7500).abs() <= 80,
            "{name}: {ours} ms for a 7.5 s tone"
        );
    }
}

#[test]
fn a_lying_xing_header_does_not_fool_the_measurement() {
    // Two VBR MP3s joined: the first one's Xing header claims the whole file is 3 s.
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    run(
        "sox",
        &[
            "-n",
            "-r",
            "44100",
            "-c",
            "1",
            "-b",
            "16",
            &p("a.wav"),
            "synth",
            "3",
            "sine",
            "440",
        ],
    );
    run(
        "sox",
        &[
            "-n",
            "-r",
            "44100",
            "-c",
            "1",
            "-b",
            "16",
            &p("b.wav"),
            "synth",
            "9",
            "sine",
            "660",
        ],
    );
    run("lame", &["--quiet", "-V", "5", &p("a.wav"), &p("a.mp3")]);
    run("lame", &["--quiet", "-V", "5", &p("b.wav"), &p("b.mp3")]);
    let mut joined = std::fs::read(p("a.mp3")).unwrap();
    joined.extend(std::fs::read(p("b.mp3")).unwrap());
    std::fs::write(p("joined.mp3"), joined).unwrap();
    let info = measure(
        Path::new(&p("joined.mp3")),
        loaxa::core::media::DEFAULT_MAX_DURATION,
    )
    .unwrap();
    let ours = info.duration_ms;
    assert!(
        !info.gapless_trusted,
        "the lie is noticed, so playback will not trim either"
    );
    assert!(
        measure(
            Path::new(&p("a.mp3")),
            loaxa::core::media::DEFAULT_MAX_DURATION
        )
        .unwrap()
        .gapless_trusted
    );
    // The Xing header: "Xing", 4 flag bytes, then the frame count (big-endian) when flag 1 is set.
    let bytes = std::fs::read(p("joined.mp3")).unwrap();
    let at = bytes
        .windows(4)
        .position(|w| w == b"Xing")
        .expect("lame writes a Xing header for VBR");
    let word = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
    assert_eq!(word(at + 4) & 1, 1, "frame count present");
    let header_ms = i64::from(word(at + 8)) * 1152 * 1000 / 44100;
    assert!(
        (header_ms - 3000).abs() < 100,
        "the header should claim about 3 s, claims {header_ms} ms"
    );
    assert!(
        (ours - 12_000).abs() <= 150,
        "measured {ours} ms for 3 s + 9 s of audio"
    );
}

#[test]
fn non_audio_is_refused_and_the_cache_remembers_measurements() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.mp3");
    std::fs::write(
        &junk,
        b"this is a text file pretending to be an mp3\n".repeat(200),
    )
    .unwrap();
    assert!(measure(&junk, loaxa::core::media::DEFAULT_MAX_DURATION).is_err());
    assert!(
        measure(
            &dir.path().join("absent.mp3"),
            loaxa::core::media::DEFAULT_MAX_DURATION
        )
        .is_err()
    );

    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("audio-samples/duong-day-nong.mp3");
    let state = dir.path().join("state");
    let mut cache = MediaCache::open(&loaxa::store::Store::at(&state));
    let first = cache.info(&sample).unwrap();
    cache.save();
    let stored = std::fs::read_to_string(state.join("cache/media.json")).unwrap();
    assert!(stored.contains("duong-day-nong.mp3"), "{stored}");
    // A fresh cache answers from the file; a changed file would be measured again.
    let mut again = MediaCache::open(&loaxa::store::Store::at(&state));
    assert_eq!(again.info(&sample).unwrap(), first);
}
