//! Loudness normalisation and silence trimming, heard through a real sound server: two
//! spoken bulletins recorded 20 dB apart come out of the sink within 1 LU of each other,
//! and a file padded with silence starts sounding at its planned time.

use crate::live;

use live::*;
use serde_json::Value;

const SCHEDULE: &str = r#"
[[session]]
name = "Sáng"
start = "05:30:00"
end = "05:30:40"

  [[session.item]]
  file = "loud.wav"

  [[session.item]]
  file = "quiet.mp3"

  [[session.item]]
  file = "padded.wav"
"#;

/// Integrated loudness (LUFS) of mono samples.
fn lufs(rate: u32, samples: &[f32]) -> f64 {
    let mut m = ebur128::EbuR128::new(1, rate, ebur128::Mode::I).unwrap();
    m.add_frames_f32(samples).unwrap();
    m.loudness_global().unwrap()
}

#[test]
fn bulletins_20_db_apart_play_equally_loud_and_silence_is_trimmed() {
    let pulse = Pulse::start();
    let s = Station::new("pulse:amp", SCHEDULE);
    s.write_amp_script("exit 0");
    let toml = std::fs::read_to_string(s.path("station.toml")).unwrap();
    std::fs::write(
        s.path("station.toml"),
        toml.replace(
            "output = \"pulse:amp\"\n",
            "output = \"pulse:amp\"\nloudness_target = -16.0\n",
        ),
    )
    .unwrap();
    // The same Vietnamese sentence, as a phone at arm's length and one held close would
    // record it: 20 dB apart.
    let speech = s.path("speech.wav");
    run(
        "espeak-ng",
        &[
            "-v",
            "vi",
            "-w",
            speech.to_str().unwrap(),
            "Thông báo của Ủy ban nhân dân xã về phòng chống bão lũ, đề nghị bà con chú ý lắng nghe.",
        ],
    );
    run(
        "sox",
        &[
            speech.to_str().unwrap(),
            s.path("loud.wav").to_str().unwrap(),
            "vol",
            "0.9",
        ],
    );
    let quiet_wav = s.path("quiet.src.wav");
    run(
        "sox",
        &[
            speech.to_str().unwrap(),
            quiet_wav.to_str().unwrap(),
            "vol",
            "0.09",
        ],
    );
    run(
        "lame",
        &[
            "--quiet",
            "-b",
            "128",
            quiet_wav.to_str().unwrap(),
            s.path("quiet.mp3").to_str().unwrap(),
        ],
    );
    // A tone with 1.5 s of silence before and after it.
    let tone_wav = s.path("tone.wav");
    tone(&tone_wav, 1000, 2.0);
    run(
        "sox",
        &[
            tone_wav.to_str().unwrap(),
            s.path("padded.wav").to_str().unwrap(),
            "pad",
            "1.5",
            "1.5",
        ],
    );

    let plan = loaxa(&[
        "--config",
        s.dir.path().to_str().unwrap(),
        "plan",
        "--date",
        "2021-10-01",
        "--json",
    ]);
    let plan: Value = serde_json::from_slice(&plan.stdout).unwrap();
    let items = plan["sessions"][0]["items"].as_array().unwrap().clone();
    let span = |i: &Value| (ts(i, "end") - ts(i, "start")).num_milliseconds();
    let padded = items.iter().find(|i| i["id"] == "padded.wav").unwrap();
    assert!(
        (2100..=2300).contains(&span(padded)),
        "padded file planned for {} ms",
        span(padded)
    );

    let recording = s.path("recording.wav");
    let recorder = pulse.recorder(&recording);
    let daemon = Daemon::start(&s, "2021-10-01T05:29:57+07:00", Some(&pulse));
    let log = s.wait_for("2021-10-01", 60, "the padded file to end", |r| {
        r["event"] == "end" && r["item"]["id"] == "padded.wav"
    });
    let heard = recorder.stop(&daemon);
    assert!(daemon.stop().success());

    let rate = heard.rate;
    let item = |id: &str| {
        let start = log
            .iter()
            .find(|r| r["event"] == "start" && r["item"]["id"] == id)
            .unwrap();
        let end = log
            .iter()
            .find(|r| r["event"] == "end" && r["item"]["id"] == id)
            .unwrap();
        heard.between(ts(start, "ts"), ts(end, "ts"))
    };
    let (loud, quiet) = (lufs(rate, item("loud.wav")), lufs(rate, item("quiet.mp3")));
    let source_loud = lufs_of_file(&s.path("loud.wav"));
    let source_quiet = lufs_of_file(&s.path("quiet.mp3"));
    println!(
        "sources {source_loud:.1} and {source_quiet:.1} LUFS ({:.1} dB apart); heard {loud:.1} and {quiet:.1} LUFS ({:.2} LU apart)",
        source_loud - source_quiet,
        (loud - quiet).abs()
    );
    assert!((source_loud - source_quiet - 20.0).abs() < 1.0);
    assert!(
        (loud - quiet).abs() <= 1.0,
        "heard {loud:.2} vs {quiet:.2} LUFS"
    );
    // And at the target: -16 LUFS on two speakers is -19 LUFS in this mono recording of
    // them (the limiter may take a little off the peaks).
    assert!(
        (-20.5..=-18.5).contains(&loud),
        "heard {loud:.2} LUFS for a -16 target"
    );
    let peak = heard.samples.iter().fold(0f32, |m, x| m.max(x.abs()));
    assert!(peak <= 0.9, "peaks held under -1 dBFS: {peak}");

    // The padded file sounds from its first planned millisecond: no dead air.
    let start = log
        .iter()
        .find(|r| r["event"] == "start" && r["item"]["id"] == "padded.wav")
        .unwrap();
    let from = heard.index(ts(start, "ts"));
    let found = tone_segments(rate, &heard.samples[from..], &[1000]);
    let heard_at = heard.time(from as f64 / f64::from(rate) + found[0].start);
    let offset = (heard_at - ts(start, "ts")).num_milliseconds();
    println!("padded file: tone heard {offset} ms after its as-run start");
    assert!(
        (0..=250).contains(&offset),
        "tone heard {offset} ms after the item started"
    );
}

/// A file's loudness as ffmpeg-independent ground truth: decoded by sox to mono WAV.
fn lufs_of_file(path: &std::path::Path) -> f64 {
    let wav = path.with_extension("mono.wav");
    run(
        "sox",
        &[path.to_str().unwrap(), "-c", "1", wav.to_str().unwrap()],
    );
    let (rate, samples) = read_wav(&wav);
    lufs(rate, &samples)
}
