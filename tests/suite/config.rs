//! The config files: the shipped example is clean, and every kind of mistake is reported
//! at its file:line:column with a hint, all at once.

use std::path::Path;
use std::process::Command;

use chrono::NaiveDate;
use loaxa::config::diag::Diagnostic;

use crate::config_files;
use config_files::{config_dir, errors_on, repo};
use loaxa::core::catalog::Catalog;
use loaxa::core::plan::History;
use loaxa::core::planner::{PlanInput, plan_day};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2021, 10, 1).unwrap()
}

const STATION: &str = r#"station_id = "test-station"
[paths]
state = "state"
[audio]
output = "null"
"#;

fn errors(station: &str, schedule: &str) -> Vec<Diagnostic> {
    errors_on(today(), station, schedule)
}

/// Asserts one diagnostic sits exactly where `marker` (the n-th occurrence) starts in `text`.
fn expect_at(errs: &[Diagnostic], file: &str, text: &str, marker: &str, nth: usize, says: &str) {
    let offset = text
        .match_indices(marker)
        .nth(nth)
        .unwrap_or_else(|| panic!("marker {marker:?} not in text"))
        .0;
    let (line, column) = loaxa::config::diag::line_column(text, offset);
    let here: Vec<String> = errs
        .iter()
        .filter(|e| e.file.ends_with(file) && e.line == line && e.column == column)
        .map(|e| format!("{} {}", e.message, e.help.clone().unwrap_or_default()))
        .collect();
    assert!(
        !here.is_empty(),
        "no error at {file}:{line}:{column} ({marker:?}); got:\n{}",
        show(errs)
    );
    assert!(
        here.iter().any(|m| m.contains(says)),
        "an error at {line}:{column} should say {says:?}; they say: {here:?}"
    );
}

fn show(errs: &[Diagnostic]) -> String {
    errs.iter().map(|e| format!("  {e}\n")).collect()
}

const GOOD_SESSIONS: &str = r#"timezone = "Asia/Ho_Chi_Minh"

[[session]]
name = "Sáng"
days = "daily"
start = "05:30"
end = "06:30"
opening = "audio/nhac-hieu.mp3"

[[session]]
name = "Chiều"
cron = "0 0 17 * * Mon-Sat"
duration = "60m"
"#;

#[test]
fn shipped_config_is_valid_and_meets_its_campaign_every_day() {
    let config = loaxa::station::config::load(&repo().join("config"), today())
        .unwrap_or_else(|e| panic!("config/ has errors:\n{}", show(&e)));
    assert_eq!(config.station.station_id, "hn-ba-vi-tan-linh");
    let catalog = Catalog::local(
        config.schedule.campaigns.clone(),
        config.schedule.bulletins.clone(),
    );
    let c = catalog
        .campaign("bcd389-2021h2")
        .expect("the 2021 anti-smuggling campaign");
    assert_eq!(
        (c.plays_per_day, c.from, c.until),
        (
            3,
            NaiveDate::from_ymd_opt(2021, 9, 17).unwrap(),
            NaiveDate::from_ymd_opt(2021, 12, 31).unwrap()
        )
    );
    let mut day = c.from;
    while day <= c.until {
        let history = History::default();
        let plan = plan_day(&PlanInput {
            station_id: "s",
            schedule: &config.schedule,
            catalog: &catalog,
            date: day,
            history: &history,
            not_before: None,
        });
        assert_eq!(plan.quotas[0].planned, 3, "{day}: {:?}", plan.warnings);
        assert!(plan.warnings.is_empty(), "{day}: {:?}", plan.warnings);
        day = day.succ_opt().unwrap();
    }
}

#[test]
fn unknown_keys_are_errors_with_a_suggestion() {
    let schedule = format!(
        "{GOOD_SESSIONS}\n[[campaign]]\nid = \"c\"\nfrom = 2021-09-17\nuntil = 2021-12-31\nplays_per_dya = 3\n"
    );
    let station = format!("{STATION}volumne = 0.5\n");
    let errs = errors(&station, &schedule);
    expect_at(
        &errs,
        "schedule.toml",
        &schedule,
        "plays_per_dya",
        0,
        "did you mean `plays_per_day`?",
    );
    expect_at(
        &errs,
        "station.toml",
        &station,
        "volumne",
        0,
        "did you mean `volume`?",
    );
    // The missing plays_per_day is reported too: every error at once.
    expect_at(
        &errs,
        "schedule.toml",
        &schedule,
        "[[campaign]]",
        0,
        "has no `plays_per_day`",
    );
    assert_eq!(errs.len(), 3, "{}", show(&errs));
}

#[test]
fn a_hand_counted_position() {
    // Line 4 is `name = 5`; the value starts at column 8.
    let schedule = "timezone = \"Asia/Ho_Chi_Minh\"\n\n[[session]]\nname = 5\nstart = \"05:30\"\nend = \"06:00\"\n";
    let errs = errors(STATION, schedule);
    assert_eq!((errs[0].line, errs[0].column), (4, 8), "{}", show(&errs));
    assert!(
        errs[0]
            .to_string()
            .contains("schedule.toml:4:8: error: `name` in [[session]] #1 must be a string"),
        "{}",
        errs[0]
    );
}

#[test]
fn unknown_session_and_campaign_names() {
    let schedule = format!(
        "{GOOD_SESSIONS}\n[[campaign]]\nid = \"c\"\nfrom = 2021-09-17\nuntil = 2021-12-31\nplays_per_day = 2\nsessions = [\"Sang\", \"Chiều\"]\n\n[[bulletin]]\nid = \"b\"\nfile = \"audio/duong-day-nong.mp3\"\ncampaign = \"cc\"\n"
    );
    let errs = errors(STATION, &schedule);
    expect_at(
        &errs,
        "schedule.toml",
        &schedule,
        "\"Sang\"",
        0,
        "did you mean \"Sáng\"?",
    );
    expect_at(
        &errs,
        "schedule.toml",
        &schedule,
        "\"cc\"",
        0,
        "unknown campaign",
    );
    assert_eq!(errs.len(), 2, "{}", show(&errs));
}

#[test]
fn cross_references_are_checked_even_in_tables_with_other_errors() {
    // The campaign lacks plays_per_day and the bulletin's file is missing, yet the bad
    // session and campaign names are still found.
    let schedule = format!(
        "{GOOD_SESSIONS}\n[[campaign]]\nid = \"c\"\nfrom = 2021-09-17\nuntil = 2021-12-31\nsessions = [\"Sang\"]\n\n[[bulletin]]\nid = \"b\"\nfile = \"audio/none.mp3\"\ncampaign = \"cx\"\n"
    );
    let errs = errors(STATION, &schedule);
    expect_at(
        &errs,
        "schedule.toml",
        &schedule,
        "\"Sang\"",
        0,
        "unknown session",
    );
    expect_at(
        &errs,
        "schedule.toml",
        &schedule,
        "\"cx\"",
        0,
        "unknown campaign",
    );
    expect_at(
        &errs,
        "schedule.toml",
        &schedule,
        "[[campaign]]",
        0,
        "has no `plays_per_day`",
    );
    expect_at(
        &errs,
        "schedule.toml",
        &schedule,
        "\"audio/none.mp3\"",
        0,
        "not found",
    );
}

#[test]
fn missing_and_undecodable_audio_files() {
    let dir = config_dir(STATION, "");
    std::fs::write(
        dir.path().join("noise.mp3"),
        (0..20_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect::<Vec<u8>>(),
    )
    .unwrap();
    let schedule = format!(
        "{GOOD_SESSIONS}\n[[bulletin]]\nid = \"a\"\nfile = \"audio/khong-co.mp3\"\n\n[[bulletin]]\nid = \"b\"\nfile = \"noise.mp3\"\n"
    );
    std::fs::write(dir.path().join("schedule.toml"), &schedule).unwrap();
    let errs = loaxa::station::config::load(dir.path(), today()).unwrap_err();
    expect_at(
        &errs,
        "schedule.toml",
        &schedule,
        "\"audio/khong-co.mp3\"",
        0,
        "audio file not found",
    );
    expect_at(
        &errs,
        "schedule.toml",
        &schedule,
        "\"noise.mp3\"",
        0,
        "not audio",
    );
}

#[test]
fn session_time_mistakes() {
    let schedule = r#"[[session]]
name = "Sáng"
start = "06:30"
end = "05:30"

[[session]]
name = "Trưa"
start = "11:00"
end = "12:00"

[[session]]
name = "Trưa muộn"
days = "mon-fri"
start = "11:30"
duration = "1h"

[[session]]
name = "Tối"
cron = "0 0 25 * * *"
duration = "30m"

[[session]]
name = "Khuya"
days = "mon-funday"
start = "21:00"
end = "21:30"

[[session]]
name = "Trưa"
start = "13:00"
end = "13:10"
"#;
    let errs = errors(STATION, schedule);
    expect_at(
        &errs,
        "schedule.toml",
        schedule,
        "\"05:30\"",
        0,
        "ends (05:30) before it starts (06:30)",
    );
    expect_at(
        &errs,
        "schedule.toml",
        schedule,
        "\"Trưa muộn\"",
        0,
        "overlaps session \"Trưa\"",
    );
    expect_at(
        &errs,
        "schedule.toml",
        schedule,
        "\"0 0 25 * * *\"",
        0,
        "invalid cron",
    );
    expect_at(
        &errs,
        "schedule.toml",
        schedule,
        "\"mon-funday\"",
        0,
        "is not a set of days",
    );
    expect_at(
        &errs,
        "schedule.toml",
        schedule,
        "\"Trưa\"",
        1,
        "duplicate session name",
    );
    assert_eq!(errs.len(), 5, "{}", show(&errs));
}

#[test]
fn cron_sessions_overlapping_on_some_days_are_found() {
    let schedule = "[[session]]\nname = \"A\"\ndays = \"sun\"\nstart = \"17:00\"\nend = \"17:30\"\n\n[[session]]\nname = \"B\"\ncron = \"0 15 17 * * Sun\"\nduration = \"30m\"\n";
    let errs = errors(STATION, schedule);
    expect_at(
        &errs,
        "schedule.toml",
        schedule,
        "\"B\"",
        0,
        "overlaps session \"A\" on 2021-10-03",
    );
}

#[test]
fn campaign_and_bulletin_value_mistakes() {
    let schedule = format!(
        "{GOOD_SESSIONS}\n[[campaign]]\nid = \"c\"\nfrom = 2021-12-31\nuntil = 2021-09-17\nplays_per_day = 0\nmin_gap = \"3 hours\"\npriority = \"urgent\"\n\n[[campaign]]\nid = \"c\"\nfrom = \"2021-09-17\"\nuntil = \"12/31/2021\"\nplays_per_day = 1\n\n[[bulletin]]\nid = \"b\"\nfile = \"audio/duong-day-nong.mp3\"\nvalid_from = 2021-10-02\nvalid_until = 2021-10-01\n\n[[bulletin]]\nid = \"b\"\nfile = \"audio/duong-day-nong.mp3\"\n"
    );
    let errs = errors(STATION, &schedule);
    expect_at(
        &errs,
        "schedule.toml",
        &schedule,
        "2021-09-17\nplays",
        0,
        "campaign ends (2021-09-17) before it starts (2021-12-31)",
    );
    expect_at(
        &errs,
        "schedule.toml",
        &schedule,
        "0\nmin_gap",
        0,
        "plays_per_day 0 is out of range",
    );
    expect_at(
        &errs,
        "schedule.toml",
        &schedule,
        "\"3 hours\"",
        0,
        "not a duration",
    );
    expect_at(
        &errs,
        "schedule.toml",
        &schedule,
        "\"urgent\"",
        0,
        "unknown priority",
    );
    expect_at(
        &errs,
        "schedule.toml",
        &schedule,
        "\"12/31/2021\"",
        0,
        "write a date as YYYY-MM-DD",
    );
    expect_at(
        &errs,
        "schedule.toml",
        &schedule,
        "2021-10-01\n",
        0,
        "valid until 2021-10-01 but only from 2021-10-02",
    );
    expect_at(
        &errs,
        "schedule.toml",
        &schedule,
        "\"b\"\nfile",
        1,
        "duplicate bulletin id",
    );
    expect_at(
        &errs,
        "schedule.toml",
        &schedule,
        "\"c\"\nfrom",
        1,
        "duplicate campaign id",
    );
    assert_eq!(errs.len(), 8, "{}", show(&errs));
}

#[test]
fn fixed_items_must_fit_their_session() {
    let schedule = r#"[[session]]
name = "Sáng"
start = "05:30"
end = "06:30"
closing = "audio/ket-thuc.ogg"

  [[session.item]]
  at = "06:29:50"
  file = "audio/duong-day-nong.mp3"

  [[session.item]]
  at = "06:00"
  relay = "http://127.0.0.1:8000/vov1"
  duration = "15m"

  [[session.item]]
  at = "06:10"
  relay = "http://127.0.0.1:8000/vov2"
  duration = "5m"

  [[session.item]]
  at = "06:29:59"
  relay = "http://127.0.0.1:8000/vov3"
  duration = "5m"

  [[session.item]]
  relay = "rtsp://camera"
  duration = "5m"
"#;
    let errs = errors(STATION, schedule);
    // A file cannot be cut: it must end before the closing.
    expect_at(
        &errs,
        "schedule.toml",
        schedule,
        "[[session.item]]",
        0,
        "does not fit in session \"Sáng\"",
    );
    // Two fixed items may not overlap.
    expect_at(
        &errs,
        "schedule.toml",
        schedule,
        "[[session.item]]",
        2,
        "starts before the item at 06:00:00 has ended",
    );
    // A relay may run into the closing (it is faded for it) but not start inside it.
    expect_at(
        &errs,
        "schedule.toml",
        schedule,
        "[[session.item]]",
        3,
        "does not fit in session",
    );
    expect_at(
        &errs,
        "schedule.toml",
        schedule,
        "\"rtsp://camera\"",
        0,
        "not an http(s) stream URL",
    );
    expect_at(
        &errs,
        "schedule.toml",
        schedule,
        "[[session.item]]",
        3,
        "starts before the item at 06:29:50 has ended",
    );
    assert_eq!(errs.len(), 5, "{}", show(&errs));
}

#[test]
fn syntax_errors_point_at_the_mistake() {
    let schedule =
        "timezone = \"Asia/Ho_Chi_Minh\"\n[[session]]\nname = \"Sáng\nstart = \"05:30\"\n";
    let errs = errors(STATION, schedule);
    assert!(!errs.is_empty());
    assert!(
        errs.iter().all(|e| e.message.starts_with("TOML syntax")),
        "{}",
        show(&errs)
    );
    assert_eq!(errs[0].line, 3, "{}", show(&errs));
}

#[test]
fn station_mistakes() {
    let station = "station_id = \"Tân Linh\"\n[audio]\noutput = \"speakers\"\nvolume = 3.0\n[amplifier]\non = []\n[feed]\nurl = \"ftp://tinh\"\npublic_keys = [\"abc\"]\n[api]\nlisten = \"localhost\"\n";
    let errs = errors(station, GOOD_SESSIONS);
    expect_at(
        &errs,
        "station.toml",
        station,
        "\"Tân Linh\"",
        0,
        "not a valid id",
    );
    expect_at(
        &errs,
        "station.toml",
        station,
        "\"speakers\"",
        0,
        "unknown audio output",
    );
    expect_at(&errs, "station.toml", station, "3.0", 0, "out of range");
    expect_at(
        &errs,
        "station.toml",
        station,
        "[amplifier]",
        0,
        "has no `off`",
    );
    expect_at(
        &errs,
        "station.toml",
        station,
        "\"ftp://tinh\"",
        0,
        "not an http(s) URL",
    );
    expect_at(
        &errs,
        "station.toml",
        station,
        "\"abc\"",
        0,
        "not a minisign public key",
    );
    // The right length and prefix, but no key: found by decoding it, at its place.
    let shaped = format!("RW{}", "A".repeat(54));
    let station2 = station.replace("\"abc\"", &format!("\"abc\", \"{shaped}\""));
    let errs2 = errors(&station2, GOOD_SESSIONS);
    expect_at(
        &errs2,
        "station.toml",
        &station2,
        &format!("\"{shaped}\""),
        0,
        "not a minisign public key",
    );
    expect_at(
        &errs,
        "station.toml",
        station,
        "\"localhost\"",
        0,
        "not an address to listen on",
    );
}

/// In English: these tests read what the commands say (language.rs checks Vietnamese).
fn loaxa(args: &[&str], dir: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_loaxa"))
        .args(args)
        .env("LOAXA_CONFIG", dir)
        .env("LOAXA_LANG", "en")
        .output()
        .unwrap()
}

#[test]
fn check_command_exit_codes_and_output() {
    let good = loaxa(&["check"], &repo().join("config"));
    assert_eq!(
        good.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );
    assert!(String::from_utf8_lossy(&good.stdout).contains("OK"));

    let schedule = format!(
        "{GOOD_SESSIONS}\n[[campaign]]\nid = \"c\"\nfrom = 2021-09-17\nuntil = 2021-12-31\nplays_per_day = 3\nmin_gap = \"3\"\n"
    );
    let dir = config_dir(STATION, &schedule);
    let bad = loaxa(&["check"], dir.path());
    assert_eq!(bad.status.code(), Some(78));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    let (line, col) = loaxa::config::diag::line_column(&schedule, schedule.find("\"3\"").unwrap());
    assert!(
        stderr.contains(&format!("schedule.toml:{line}:{col}: error:")),
        "{stderr}"
    );
    assert!(stderr.contains("help:"), "{stderr}");

    // --config wins over LOAXA_CONFIG; a missing dir is a config error too.
    let missing = Command::new(env!("CARGO_BIN_EXE_loaxa"))
        .args(["--config", "/nonexistent", "check"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(78));
    let usage = loaxa(&["plan", "--date", "yesterday"], &repo().join("config"));
    assert_eq!(usage.status.code(), Some(2));
}

#[test]
fn plan_command_json_matches_the_spec_shape() {
    let out = loaxa(
        &["plan", "--date", "2021-10-01", "--json"],
        &repo().join("config"),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["date"], "2021-10-01");
    assert_eq!(v["station_id"], "hn-ba-vi-tan-linh");
    let s = &v["sessions"][0];
    assert_eq!(
        (s["name"].as_str(), s["start"].as_str(), s["end"].as_str()),
        (
            Some("Sáng"),
            Some("2021-10-01T05:30:00+07:00"),
            Some("2021-10-01T06:30:00+07:00")
        )
    );
    let item = &s["items"][1];
    for key in [
        "start", "end", "kind", "id", "title", "campaign", "priority", "source", "path",
    ] {
        assert!(item.get(key).is_some(), "item lacks {key}: {item}");
    }
    assert_eq!(item["kind"], "bulletin");
    assert_eq!(item["source"], "local");
    assert_eq!(
        v["quotas"][0],
        serde_json::json!({"campaign": "bcd389-2021h2", "required": 3, "planned": 3, "done": 0})
    );
    assert!(v["warnings"].as_array().unwrap().is_empty());

    let table = loaxa(&["plan", "--date", "2021-10-01"], &repo().join("config"));
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("Sáng  05:30–06:30") && text.contains("Đường dây nóng"),
        "{text}"
    );
}

/// SPEC §4's example, word for word (only the audio files are ours).
const SPEC_SCHEDULE: &str = r#"timezone = "Asia/Ho_Chi_Minh"

[fill]                        # omit [fill] and a session ends when its content ends
folder = "audio/music"

[[session]]
name = "Sáng"                 # unique; UTF-8 names are normal
days = "daily"                # "daily", "mon-fri", "mon,wed,fri", or use `cron` instead
start = "05:30"
end = "06:30"
opening = "audio/nhac-hieu.mp3"
closing = "audio/ket-thuc.mp3"

  [[session.item]]
  at = "06:00"                # fixed time; omit `at` for an ordered, flexible item
  relay = "http://127.0.0.1:8000/vov1"
  duration = "30m"

  [[session.item]]
  file = "audio/tin-dia-phuong.mp3"

[[session]]
name = "Chiều"
cron = "0 0 17 * * Mon-Sat"   # `cron` crate syntax (seconds first); start time
duration = "60m"

[[campaign]]                   # a local campaign; the feed brings others
id = "bcd389-2021h2"
title = "Chống buôn lậu, gian lận thương mại và hàng giả"
from = 2021-09-17
until = 2021-12-31
plays_per_day = 3
min_gap = "3h"
sessions = ["Sáng", "Chiều"]  # optional: default all
priority = "priority"

[[bulletin]]                   # a local bulletin
id = "hotline-389"
file = "audio/duong-day-nong.mp3"
campaign = "bcd389-2021h2"
"#;

#[test]
fn the_spec_example_schedule_is_valid_and_plans_sensibly() {
    let dir = tempfile::tempdir().unwrap();
    let audio = dir.path().join("audio");
    std::fs::create_dir_all(audio.join("music")).unwrap();
    let samples = repo().join("audio-samples");
    for f in ["nhac-hieu.mp3", "tin-dia-phuong.mp3", "duong-day-nong.mp3"] {
        std::fs::copy(samples.join(f), audio.join(f)).unwrap();
    }
    std::fs::copy(samples.join("nhac-hieu.mp3"), audio.join("ket-thuc.mp3")).unwrap();
    std::fs::copy(
        samples.join("music/nhac-nen-1.flac"),
        audio.join("music/nhac-nen-1.flac"),
    )
    .unwrap();
    std::fs::write(dir.path().join("station.toml"), STATION).unwrap();
    std::fs::write(dir.path().join("schedule.toml"), SPEC_SCHEDULE).unwrap();

    let check = loaxa(&["check"], dir.path());
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let out = loaxa(&["plan", "--date", "2021-10-01", "--json"], dir.path());
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sang = &plan["sessions"][0]["items"];
    let relay = sang
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "relay")
        .unwrap();
    let closing = sang
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "closing")
        .unwrap();
    // The relay starts at 06:00 sharp and fades for the closing, which ends the session on time.
    assert_eq!(relay["start"], "2021-10-01T06:00:00+07:00");
    assert_eq!(relay["end"], closing["start"]);
    assert_eq!(closing["end"], "2021-10-01T06:30:00+07:00");
    // 3 plays 3 h apart cannot fit in two one-hour sessions: 2 are planned, and the plan says why.
    assert_eq!(plan["quotas"][0]["planned"], 2);
    assert!(
        plan["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("only 2 of 3")),
        "{}",
        plan["warnings"]
    );
}

/// SPEC §16: names and paths typed with combining accents (Unikey's "tổ hợp" mode, macOS)
/// are the names and files that look the same; a case slip in a file name is named.
#[test]
fn decomposed_names_and_paths_are_the_same_names_and_a_case_slip_is_named() {
    let dir = config_dir(STATION, "");
    // A file whose name is precomposed on disk, and one copied from a Mac (decomposed).
    let sample = repo().join("audio-samples/nhac-hieu.mp3");
    std::fs::copy(&sample, dir.path().join("Bản tin sáng.mp3")).unwrap();
    std::fs::copy(
        &sample,
        dir.path().join("Tho\u{302}\u{301}ng ba\u{301}o.mp3"),
    )
    .unwrap();
    std::fs::copy(&sample, dir.path().join("tin-tuc.MP3")).unwrap();
    // The session is named precomposed; the campaign names it decomposed, and names the
    // files the other way round from how they are on disk.
    let schedule = format!(
        "{GOOD_SESSIONS}
[[campaign]]
id = \"c\"
title = \"t\"
from = \"2021-10-01\"
until = \"2021-10-31\"
plays_per_day = 1
sessions = [\"Sa\u{301}ng\"]

[[bulletin]]
id = \"a\"
campaign = \"c\"
file = \"Ba\u{309}n tin sa\u{301}ng.mp3\"

[[bulletin]]
id = \"b\"
campaign = \"c\"
file = \"Thống báo.mp3\"
"
    );
    std::fs::write(dir.path().join("schedule.toml"), &schedule).unwrap();
    let config = loaxa::station::config::load(dir.path(), today())
        .unwrap_or_else(|e| panic!("NFD names should load:\n{}", show(&e)));
    let campaign = &config.schedule.campaigns[0];
    assert_eq!(
        campaign.sessions.as_deref(),
        Some(&["Sáng".to_string()][..])
    );
    assert!(campaign.allows_session("Sáng"));
    assert!(config.schedule.bulletins.iter().all(|b| b.path.is_file()));

    // `.mp3` written for a file named `.MP3`: not found, and the hint names the file.
    let schedule = format!("{GOOD_SESSIONS}\n[[bulletin]]\nid = \"a\"\nfile = \"tin-tuc.mp3\"\n");
    std::fs::write(dir.path().join("schedule.toml"), &schedule).unwrap();
    let errs = loaxa::station::config::load(dir.path(), today()).unwrap_err();
    expect_at(
        &errs,
        "schedule.toml",
        &schedule,
        "\"tin-tuc.mp3\"",
        0,
        "did you mean \"tin-tuc.MP3\"",
    );
}
