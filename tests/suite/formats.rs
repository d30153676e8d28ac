//! Every format a commune receives bulletins in, made by the real encoders: each is
//! measured within 50 ms of what ffmpeg decodes from it, and plays at the output rate
//! (48 kHz stereo) with the right length and the right pitch. Opus is refused with a
//! message that says what to do.

use crate::live;

use std::path::{Path, PathBuf};
use std::process::Command;

use live::{ffmpeg_ms, run};
use loaxa::audio::decode::{AudioStream, CHANNELS};
use loaxa::audio::ingest::measure;

const FREQ: u32 = 440;
const SECS: f64 = 4.0;

/// A sine source at `rate` Hz with `channels`, as WAV with sox's `-b bits [-e encoding]`.
fn source(dir: &Path, name: &str, rate: u32, channels: u32, fmt: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let mut args: Vec<String> = vec![
        "-n".into(),
        "-r".into(),
        rate.to_string(),
        "-c".into(),
        channels.to_string(),
    ];
    args.extend(fmt.iter().map(|s| s.to_string()));
    args.extend([
        out.to_str().unwrap().into(),
        "synth".into(),
        SECS.to_string(),
        "sine".into(),
        FREQ.to_string(),
        "vol".into(),
        "0.5".into(),
    ]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    run("sox", &refs);
    out
}

fn ffmpeg(args: &[&str]) {
    let mut all = vec!["-v", "error", "-y"];
    all.extend_from_slice(args);
    run("ffmpeg", &all);
}

/// Power of `freq` in the samples (Goertzel), normalised.
fn power(samples: &[f32], rate: u32, freq: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * freq / f64::from(rate);
    let c = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for x in samples {
        let s0 = f64::from(*x) + c * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    (s1 * s1 + s2 * s2 - c * s1 * s2) / samples.len() as f64
}

#[test]
fn every_format_measures_like_ffmpeg_and_plays_at_the_output_rate() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let p = |n: &str| d.join(n).to_str().unwrap().to_string();
    // WAV: 8-bit unsigned, 16-bit, 24-bit, 32-bit float; mono and stereo; 8 to 48 kHz.
    let mut files: Vec<PathBuf> = vec![
        source(
            d,
            "u8-8k-mono.wav",
            8000,
            1,
            &["-b", "8", "-e", "unsigned-integer"],
        ),
        source(d, "s16-11k-stereo.wav", 11025, 2, &["-b", "16"]),
        source(d, "s24-48k-stereo.wav", 48000, 2, &["-b", "24"]),
        source(
            d,
            "f32-22k-mono.wav",
            22050,
            1,
            &["-b", "32", "-e", "floating-point"],
        ),
    ];
    // FLAC 16 and 24 bit.
    let s16 = source(d, "src16.wav", 44100, 2, &["-b", "16"]);
    let s24 = source(d, "src24.wav", 96000 / 2, 1, &["-b", "24"]);
    run(
        "flac",
        &["--silent", "-o", &p("16bit.flac"), s16.to_str().unwrap()],
    );
    run(
        "flac",
        &[
            "--silent",
            "-o",
            &p("24bit-mono.flac"),
            s24.to_str().unwrap(),
        ],
    );
    files.extend([d.join("16bit.flac"), d.join("24bit-mono.flac")]);
    // MP3: CBR, VBR, 8 kHz mono, and one with ID3v2 tags and cover art.
    run(
        "lame",
        &["--quiet", "-b", "128", s16.to_str().unwrap(), &p("cbr.mp3")],
    );
    run(
        "lame",
        &["--quiet", "-V", "4", s16.to_str().unwrap(), &p("vbr.mp3")],
    );
    let low = source(d, "src8k.wav", 8000, 1, &["-b", "16"]);
    run(
        "lame",
        &[
            "--quiet",
            "-b",
            "24",
            low.to_str().unwrap(),
            &p("8k-mono.mp3"),
        ],
    );
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "color=c=red:s=300x300",
        "-frames:v",
        "1",
        &p("cover.jpg"),
    ]);
    ffmpeg(&[
        "-i",
        &p("cbr.mp3"),
        "-i",
        &p("cover.jpg"),
        "-map",
        "0",
        "-map",
        "1",
        "-c",
        "copy",
        "-id3v2_version",
        "3",
        "-metadata",
        "title=Bản tin phòng chống bão lũ",
        "-metadata:s:v",
        "comment=Cover (front)",
        &p("tagged-cover.mp3"),
    ]);
    files.extend(["cbr.mp3", "vbr.mp3", "8k-mono.mp3", "tagged-cover.mp3"].map(|n| d.join(n)));
    // AAC in M4A and as raw ADTS; Ogg Vorbis; 16 kHz and 32 kHz.
    let s16k = source(d, "src16k.wav", 16000, 1, &["-b", "16"]);
    let s32k = source(d, "src32k.wav", 32000, 2, &["-b", "16"]);
    ffmpeg(&[
        "-i",
        s16.to_str().unwrap(),
        "-c:a",
        "aac",
        "-b:a",
        "96k",
        &p("aac.m4a"),
    ]);
    ffmpeg(&[
        "-i",
        s16k.to_str().unwrap(),
        "-c:a",
        "aac",
        "-b:a",
        "48k",
        "-f",
        "adts",
        &p("16k-mono.aac"),
    ]);
    run(
        "oggenc",
        &["--quiet", "-o", &p("32k.ogg"), s32k.to_str().unwrap()],
    );
    files.extend(["aac.m4a", "16k-mono.aac", "32k.ogg"].map(|n| d.join(n)));

    let mut report = String::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let info = measure(path, loaxa::core::media::DEFAULT_MAX_DURATION)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let theirs = ffmpeg_ms(path);
        let ours = info.duration_ms;
        // Plays: decoded and resampled to 48 kHz stereo, the right length and pitch.
        let mut stream = AudioStream::open_file(path, 48000, info.gapless_trusted).unwrap();
        let mut out = Vec::new();
        let mut buf = vec![0.0f32; 4800 * CHANNELS];
        loop {
            let n = stream.read(&mut buf);
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n * CHANNELS]);
        }
        let played_ms = (out.len() / CHANNELS) as i64 * 1000 / 48000;
        let left: Vec<f32> = out.iter().step_by(CHANNELS).copied().collect();
        let right: Vec<f32> = out.iter().skip(1).step_by(CHANNELS).copied().collect();
        let mid = &left[left.len() / 4..left.len() * 3 / 4];
        let on = power(mid, 48000, f64::from(FREQ));
        let off = power(mid, 48000, f64::from(FREQ) * 1.5);
        report += &format!(
            "{name:<20} {}Hz/{}ch  ours {ours} ms, ffmpeg {theirs} ms, played {played_ms} ms, tone/off {:.0}\n",
            info.sample_rate,
            info.channels,
            on / off.max(1e-12)
        );
        assert!(
            (ours - theirs).abs() <= 50,
            "{name}: {ours} vs ffmpeg {theirs}\n{report}"
        );
        assert!(
            (played_ms - ours).abs() <= 50,
            "{name}: played {played_ms} ms\n{report}"
        );
        assert!(
            on > 1000.0 * off,
            "{name}: not a {FREQ} Hz tone at the output\n{report}"
        );
        assert!(
            (power(
                &right[right.len() / 4..right.len() * 3 / 4],
                48000,
                f64::from(FREQ)
            ) / on
                - 1.0)
                .abs()
                < 0.1,
            "{name}: mono goes to both speakers\n{report}"
        );
        assert!(info.loudness_lufs.is_some(), "{name}: loudness measured");
    }
    println!("{report}");
}

#[test]
fn opus_voice_notes_are_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let src = source(dir.path(), "src.wav", 48000, 1, &["-b", "16"]);
    let opus = dir.path().join("voice.opus");
    ffmpeg(&[
        "-i",
        src.to_str().unwrap(),
        "-c:a",
        "libopus",
        opus.to_str().unwrap(),
    ]);
    let err = measure(&opus, loaxa::core::media::DEFAULT_MAX_DURATION)
        .unwrap_err()
        .to_string();
    assert!(err.contains("Opus") && err.contains("ffmpeg -i"), "{err}");
    // The same message where an operator meets it: `loaxa check` on a schedule naming it.
    let station = live::Station::new(
        "null",
        "[[session]]\nname = \"S\"\nstart = \"05:30\"\nend = \"06:00\"\n  [[session.item]]\n  file = \"voice.opus\"\n",
    );
    std::fs::copy(&opus, station.path("voice.opus")).unwrap();
    let out = live::loaxa(&["--config", station.dir.path().to_str().unwrap(), "check"]);
    assert_eq!(out.status.code(), Some(78));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("schedule.toml:6:10") && text.contains("Opus"),
        "{text}"
    );
}

/// ffmpeg's integrated loudness (LUFS) and true peak (dBFS) of a file.
fn ffmpeg_r128(path: &Path) -> (f64, f64) {
    let out = Command::new("ffmpeg")
        .args(["-nostats", "-hide_banner", "-i"])
        .arg(path)
        // Mono files play on both speakers: measured as dual mono, as loaxa does.
        .args(["-af", "ebur128=peak=true:dualmono=true", "-f", "null", "-"])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    let last = |key: &str| -> f64 {
        log.lines()
            .filter_map(|l| l.trim().strip_prefix(key))
            .next_back()
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {key} in ffmpeg's summary:\n{log}"))
    };
    (last("I:"), last("Peak:"))
}

#[test]
fn loudness_and_true_peak_match_ffmpeg() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("audio-samples");
    for name in [
        "duong-day-nong.mp3",
        "tin-dia-phuong.mp3",
        "bcd389-tuyen-truyen.m4a",
        "ket-thuc.ogg",
    ] {
        let path = sample.join(name);
        let info = measure(&path, loaxa::core::media::DEFAULT_MAX_DURATION).unwrap();
        let (lufs, peak) = ffmpeg_r128(&path);
        let (ours, our_peak) = (info.loudness_lufs.unwrap(), info.true_peak_db.unwrap());
        println!(
            "{name}: ours {ours:.2} LUFS / {our_peak:.2} dBTP, ffmpeg {lufs:.1} LUFS / {peak:.1} dBTP"
        );
        assert!(
            (ours - lufs).abs() <= 0.3,
            "{name}: {ours} vs ffmpeg {lufs}"
        );
        assert!(
            (our_peak - peak).abs() <= 0.5,
            "{name}: {our_peak} vs ffmpeg {peak}"
        );
    }
}
