//! SPEC §12 in the config files: `[[special]]` days and `[audio] quiet_hours`, each
//! mistake at its line:column, and `loaxa check` / `loaxa plan` on them.

use std::process::Command;

use chrono::NaiveDate;
use loaxa::config::diag::Diagnostic;

use crate::config_files;
use config_files::{config_dir, errors_on};

fn station(quiet: &str) -> String {
    format!(
        "station_id = \"test-station\"\n[paths]\nstate = \"state\"\n[audio]\noutput = \"null\"\n{quiet}\n"
    )
}

fn errors(station: &str, schedule: &str) -> Vec<Diagnostic> {
    errors_on(
        NaiveDate::from_ymd_opt(2025, 8, 1).unwrap(),
        station,
        schedule,
    )
}

/// The (line, column) where the n-th `marker` starts in `text`.
fn pos(text: &str, marker: &str, nth: usize) -> (usize, usize) {
    let offset = text.match_indices(marker).nth(nth).expect("marker").0;
    loaxa::config::diag::line_column(text, offset)
}

fn has(errs: &[Diagnostic], file: &str, at: (usize, usize), says: &str) -> bool {
    errs.iter().any(|e| {
        e.file.ends_with(file)
            && (e.line, e.column) == at
            && format!("{} {}", e.message, e.help.clone().unwrap_or_default()).contains(says)
    })
}

const SCHEDULE: &str = r#"timezone = "Asia/Ho_Chi_Minh"

[[session]]
name = "Sáng"
days = "daily"
start = "05:30"
end = "06:30"

[[session]]
name = "Chiều"
days = "mon-sat"
start = "17:00"
end = "18:00"

[[session]]
name = "Lễ"
days = "none"
start = "07:00"
end = "08:00"

[[special]]
name = "Quốc khánh"
dates = ["2025-09-02"]
sessions = ["Sáng", "Lễ"]
  [[special.item]]
  at = "07:00"
  relay = "http://127.0.0.1:8000/vov1"
  duration = "30m"
  title = "Lễ Quốc khánh"

[[special]]
name = "Tết"
dates = ["âl:01-01", "2026-02-16..2026-02-18"]
sessions = []
"#;

#[test]
fn special_days_read_and_plan_shows_which_rule_made_the_day() {
    let quiet = station("quiet_hours = \"22:00-05:00\"");
    assert!(
        errors(&quiet, SCHEDULE).is_empty(),
        "{:?}",
        errors(&quiet, SCHEDULE)
    );
    let dir = config_dir(&quiet, SCHEDULE);
    let plan = |date: &str, json: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_loaxa"));
        cmd.args(["--lang", "en", "plan", "--config"])
            .arg(dir.path())
            .args(["--date", date]);
        if json {
            cmd.arg("--json");
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let text = plan("2025-09-02", false);
    assert!(text.contains("Special day: Quốc khánh"), "{text}");
    assert!(text.contains("Lễ Quốc khánh"), "{text}");
    assert!(!text.contains("Chiều"), "{text}");
    let json: serde_json::Value = serde_json::from_str(&plan("2025-09-02", true)).unwrap();
    assert_eq!(json["special"], "Quốc khánh");
    let names: Vec<&str> = json["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["Sáng", "Lễ"]);
    // Tết 2026 falls on 17 February: no sessions, by the lunar date and by the range.
    for day in ["2026-02-16", "2026-02-17", "2026-02-18"] {
        let json: serde_json::Value = serde_json::from_str(&plan(day, true)).unwrap();
        assert_eq!(json["special"], "Tết", "{day}");
        assert_eq!(json["sessions"].as_array().unwrap().len(), 0, "{day}");
    }
    let json: serde_json::Value = serde_json::from_str(&plan("2026-02-19", true)).unwrap();
    assert!(json["special"].is_null());
    assert!(plan("2026-02-19", false).contains("Weekday rules"));
}

#[test]
fn special_day_mistakes_are_at_their_line() {
    let bad = r#"timezone = "Asia/Ho_Chi_Minh"

[[session]]
name = "Sáng"
days = "daily"
start = "05:30"
end = "06:30"

[[special]]
name = "Sai"
dates = ["2025-02-30", "2025-03-05..2025-03-01", "âl:13-01", "tomorrow"]
sessions = ["Sang"]
  [[special.item]]
  at = "12:00"
  relay = "http://127.0.0.1:8000/vov1"
  duration = "10m"

[[special]]
name = "Không ngày"
"#;
    let errs = errors(&station(""), bad);
    // A special item that collides with a fixed item of the session it joins.
    let clash = SCHEDULE
        .replacen(
            "end = \"06:30\"\n",
            "end = \"06:30\"\n  [[session.item]]\n  at = \"06:00\"\n  relay = \"http://127.0.0.1:8000/vov1\"\n  duration = \"20m\"\n",
            1,
        )
        .replace("at = \"07:00\"\n  relay", "at = \"06:10\"\n  relay");
    let clash_errs = errors(&station(""), &clash);
    assert!(
        has(
            &clash_errs,
            "schedule.toml",
            pos(&clash, "[[special.item]]", 0),
            "collides with session \"Sáng\"'s fixed item at 06:00"
        ),
        "{clash_errs:#?}"
    );
    let want = [
        (pos(bad, "\"2025-02-30\"", 0), "is not a date"),
        (pos(bad, "\"2025-03-05..", 0), "ends before it starts"),
        (pos(bad, "\"âl:13-01\"", 0), "lunar month is 1–12"),
        (pos(bad, "\"tomorrow\"", 0), "is not a date"),
        (pos(bad, "\"Sang\"", 0), "did you mean \"Sáng\""),
        (
            pos(bad, "[[special.item]]", 0),
            "falls in none of the day's sessions",
        ),
        (pos(bad, "[[special]]", 1), "dates"),
    ];
    for (at, says) in want {
        assert!(
            has(&errs, "schedule.toml", at, says),
            "{at:?} {says:?}: {errs:#?}"
        );
    }
}

#[test]
fn anything_planned_into_quiet_hours_is_a_check_error_at_its_line() {
    let late = r#"timezone = "Asia/Ho_Chi_Minh"

[[session]]
name = "Sáng"
days = "daily"
start = "04:30"
end = "06:30"

[[session]]
name = "Tối"
days = "daily"
start = "19:00"
end = "21:00"
  [[session.item]]
  at = "20:50"
  relay = "http://127.0.0.1:8000/vov1"
  duration = "5m"

[[session]]
name = "Đêm"
cron = "0 30 23 * * Sat"
duration = "20m"

[[special]]
name = "Giao thừa"
dates = ["âl:01-01"]
  [[special.item]]
  at = "06:00"
  relay = "http://127.0.0.1:8000/vov1"
  duration = "10m"
"#;
    let quiet = station("quiet_hours = \"22:00-05:00\"");
    let errs = errors(&quiet, late);
    assert!(
        has(
            &errs,
            "schedule.toml",
            pos(late, "\"Sáng\"", 0),
            "quiet hours 22:00-05:00"
        ),
        "{errs:#?}"
    );
    assert!(
        has(
            &errs,
            "schedule.toml",
            pos(late, "\"Đêm\"", 0),
            "quiet hours"
        ),
        "{errs:#?}"
    );
    assert_eq!(errs.len(), 2, "{errs:#?}");
    // An evening that runs on into the quiet: the session and the relay in it.
    let quiet = station("quiet_hours = \"20:52-05:00\"");
    let errs = errors(&quiet, late);
    assert!(
        has(
            &errs,
            "schedule.toml",
            pos(late, "\"Tối\"", 0),
            "quiet hours 20:52-05:00"
        ),
        "{errs:#?}"
    );
    assert!(
        has(
            &errs,
            "schedule.toml",
            pos(late, "[[session.item]]", 0),
            "would sound in quiet hours"
        ),
        "{errs:#?}"
    );
    // A special day's item before the morning ends the quiet.
    let quiet = station("quiet_hours = \"22:00-06:05\"");
    let errs = errors(&quiet, late);
    assert!(
        has(
            &errs,
            "schedule.toml",
            pos(late, "[[special.item]]", 0),
            "would sound in quiet hours"
        ),
        "{errs:#?}"
    );
    // Without quiet hours, all is well; a malformed setting is an error in station.toml.
    assert!(errors(&station(""), late).is_empty());
    let bad = station("quiet_hours = \"22:00-25:00\"");
    let errs = errors(&bad, late);
    assert!(
        has(
            &errs,
            "station.toml",
            pos(&bad, "\"22:00-25:00\"", 0),
            "quiet_hours"
        ),
        "{errs:#?}"
    );
    // As Vietnamese writes the hours, "22h-5h" is 22:00-05:00: the same findings.
    let said = |st: &str| -> Vec<String> {
        errors(st, late)
            .into_iter()
            .filter(|e| e.file.ends_with("schedule.toml"))
            .map(|e| e.message)
            .collect()
    };
    let vi = said(&station("quiet_hours = \"22h-5h\""));
    assert!(!vi.is_empty());
    assert_eq!(vi, said(&station("quiet_hours = \"22:00-05:00\"")));

    // `loaxa check` exits 78 with file:line:column.
    let dir = config_dir(&station("quiet_hours = \"22:00-05:00\""), late);
    let out = Command::new(env!("CARGO_BIN_EXE_loaxa"))
        .args(["check", "--config"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let (line, col) = pos(late, "\"Sáng\"", 0);
    assert!(
        said.contains(&format!("schedule.toml:{line}:{col}")),
        "{said}"
    );
}

#[test]
fn monitor_mistakes_are_reported_at_their_place_and_a_good_monitor_is_read() {
    let bad = station(
        "[monitor]\ninput = \"usb:mic\"\nsilence_below = 3.0\nsilence_for = \"2h\"\nloudness = 1\n",
    );
    let errs = errors(&bad, SCHEDULE);
    assert!(
        has(
            &errs,
            "station.toml",
            pos(&bad, "\"usb:mic\"", 0),
            "pulse:<source>"
        ),
        "{errs:?}"
    );
    assert!(
        has(&errs, "station.toml", pos(&bad, "3.0", 0), "-120.0 and 0.0"),
        "{errs:?}"
    );
    assert!(
        has(&errs, "station.toml", pos(&bad, "\"2h\"", 0), "1s and 10m"),
        "{errs:?}"
    );
    assert!(
        has(&errs, "station.toml", pos(&bad, "loudness", 0), "loudness"),
        "{errs:?}"
    );
    let missing = station("[monitor]\nsilence_for = \"5s\"\n");
    let errs = errors(&missing, SCHEDULE);
    assert!(errs.iter().any(|e| e.message.contains("input")), "{errs:?}");
    let good = station("[monitor]\ninput = \"pulse:amp.monitor\"\nsilence_for = \"5s\"\n");
    assert!(errors(&good, SCHEDULE).is_empty());
}

#[test]
fn area_codes_are_checked_at_their_place_and_test_mode_is_read() {
    let with = |top: &str| {
        format!(
            "station_id = \"test-station\"\n{top}\n[paths]\nstate = \"state\"\n[audio]\noutput = \"null\"\n"
        )
    };
    let bad = with("areas = [\"VN-province=31\", \"Hải Phòng\", \"=31\"]\ntest_mode = \"yes\"");
    let errs = errors(&bad, SCHEDULE);
    for marker in ["\"Hải Phòng\"", "\"=31\""] {
        assert!(
            has(&errs, "station.toml", pos(&bad, marker, 0), "NAME=VALUE"),
            "{marker}: {errs:?}"
        );
    }
    assert!(
        errs.iter().any(|e| e.message.contains("test_mode")),
        "{errs:?}"
    );
    let good = with("areas = [\"VN-province=31\", \"VN-district=303\"]\ntest_mode = true");
    assert!(errors(&good, SCHEDULE).is_empty());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("station.toml"), &good).unwrap();
    let station = loaxa::config::load_station(dir.path()).unwrap();
    assert_eq!(station.areas, ["VN-province=31", "VN-district=303"]);
    assert!(station.test_mode);
    assert!(
        station
            .here()
            .named_in(&["area:VN-district=303".to_string()])
    );
}
