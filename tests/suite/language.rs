//! SPEC §16: what a person reads is Vietnamese by default and English on request
//! (`--lang`, `LOAXA_LANG`, station.toml's `language`); what programs read does not change.
//! And the report tells a day that is over from today and from a day to come.

use std::process::Command;

use chrono::TimeZone;
use serde_json::{Value, json};

use crate::config_files::{config_dir, repo};
use crate::live::{Station, tone};
use loaxa::i18n::Lang;

fn run(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_loaxa"));
    cmd.arg("--config")
        .arg(dir)
        .args(args)
        .env_remove("LOAXA_LANG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn commands_speak_vietnamese_by_default_and_english_on_request() {
    let station = std::fs::read_to_string(repo().join("config/station.toml")).unwrap();
    let schedule = std::fs::read_to_string(repo().join("config/schedule.toml")).unwrap();
    let dir = config_dir(&station, &schedule);
    let d = dir.path();

    let (code, out, _) = run(d, &["check"], &[]);
    assert_eq!(code, 0);
    assert!(
        out.contains(": TỐT · đài hn-ba-vi-tan-linh · 3 buổi phát"),
        "{out}"
    );
    let (_, out, _) = run(d, &["--lang", "en", "check"], &[]);
    assert!(
        out.contains(": OK · station hn-ba-vi-tan-linh · 3 sessions"),
        "{out}"
    );
    let (_, out, _) = run(d, &["check"], &[("LOAXA_LANG", "en_US.UTF-8")]);
    assert!(out.contains(": OK ·"), "{out}");

    let (_, out, _) = run(d, &["plan", "--date", "2021-10-01"], &[]);
    assert!(
        out.starts_with("Lịch phát ngày 01/10/2021 (thứ Sáu)"),
        "{out}"
    );
    assert!(out.contains("GIỜ") && out.contains("nhạc hiệu"), "{out}");
    let (_, out, _) = run(d, &["--lang", "en", "plan", "--date", "2021-10-01"], &[]);
    assert!(out.starts_with("Plan for 2021-10-01 (Fri)"), "{out}");
    // JSON is for programs: the same in both languages.
    let (_, vi, _) = run(d, &["plan", "--date", "2021-10-01", "--json"], &[]);
    let (_, en, _) = run(
        d,
        &["--lang", "en", "plan", "--date", "2021-10-01", "--json"],
        &[],
    );
    assert_eq!(vi, en);

    // station.toml says English; --lang says otherwise for one command.
    std::fs::write(
        d.join("station.toml"),
        format!("language = \"en\"\n{station}"),
    )
    .unwrap();
    let (_, out, _) = run(d, &["check"], &[]);
    assert!(out.contains(": OK ·"), "{out}");
    let (_, out, _) = run(d, &["--lang", "vi", "check"], &[]);
    assert!(out.contains(": TỐT ·"), "{out}");
    let (code, _, err) = run(d, &["--lang", "fr", "check"], &[]);
    assert_eq!(code, 2, "{err}");

    // A config with a mistake: the position stays as programs read it, the words change.
    std::fs::write(d.join("station.toml"), &station).unwrap();
    std::fs::write(
        d.join("schedule.toml"),
        schedule.replacen("start = \"05:30\"", "start = \"05:70\"", 1),
    )
    .unwrap();
    let (code, _, err) = run(d, &["check"], &[]);
    assert_eq!(code, 78);
    assert!(
        err.contains("schedule.toml:") && err.contains(": lỗi: "),
        "{err}"
    );
    assert!(
        err.trim_end()
            .ends_with(&format!("1 lỗi trong {}", d.display())),
        "{err}"
    );
    let (_, _, err) = run(d, &["--lang", "en", "check"], &[]);
    assert!(
        err.contains(": error: ") && err.contains("1 error in"),
        "{err}"
    );
    // An unknown language in station.toml is a mistake of its own.
    std::fs::write(
        d.join("station.toml"),
        format!("language = \"fr\"\n{station}"),
    )
    .unwrap();
    let (code, _, err) = run(d, &["--lang", "en", "check"], &[]);
    assert_eq!(code, 78);
    assert!(err.contains("unknown language \"fr\""), "{err}");
}

const SCHEDULE: &str = r#"
[[session]]
name = "Sáng"
start = "05:30"
end = "06:30"

[[session]]
name = "Chiều"
start = "17:00"
end = "18:00"

[[campaign]]
id = "bcd389"
title = "Chống buôn lậu, gian lận thương mại"
from = 2021-10-01
until = 2021-10-31
plays_per_day = 3

[[bulletin]]
id = "b389"
file = "b.mp3"
campaign = "bcd389"
"#;

fn play(ts: &str, event: &str, id: &str, campaign: Option<&str>, heard: Option<&str>) -> Value {
    let mut r = json!({
        "ts": ts, "event": event, "scheduled": ts, "late_ms": 0,
        "item": { "start": ts, "end": ts, "kind": "bulletin", "id": id, "title": id,
                  "campaign": campaign, "priority": if campaign.is_some() { "normal" } else { "emergency" },
                  "source": "local", "path": "b.mp3" }
    });
    if let Some(h) = heard {
        r["heard"] = json!(h);
    }
    r
}

/// A day that is over and short (with its reason), today half done with the rest still
/// planned, a day to come: in JSON, the table and the CSV, in both languages.
#[test]
fn the_report_tells_a_day_that_is_over_from_today_and_from_a_day_to_come() {
    let s = Station::new("null", SCHEDULE);
    tone(&s.path("b.mp3"), 440, 1.0);
    std::fs::create_dir_all(s.path("state/asrun")).unwrap();
    let day = |date: &str, lines: &[Value]| {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(s.path(&format!("state/asrun/{date}.jsonl")), text).unwrap();
    };
    day(
        "2021-10-14",
        &[
            play(
                "2021-10-14T05:31:00.000+07:00",
                "start",
                "b389",
                Some("bcd389"),
                None,
            ),
            play(
                "2021-10-14T05:31:10.000+07:00",
                "end",
                "b389",
                Some("bcd389"),
                None,
            ),
            // The flood warning, pushed: no campaign, heard by the monitor.
            play(
                "2021-10-14T21:05:00.000+07:00",
                "start",
                "lu-lut",
                None,
                None,
            ),
            play(
                "2021-10-14T21:05:30.000+07:00",
                "end",
                "lu-lut",
                None,
                Some("yes"),
            ),
        ],
    );
    day(
        "2021-10-15",
        &[
            play(
                "2021-10-15T05:31:00.000+07:00",
                "start",
                "b389",
                Some("bcd389"),
                None,
            ),
            play(
                "2021-10-15T05:31:10.000+07:00",
                "end",
                "b389",
                Some("bcd389"),
                None,
            ),
        ],
    );
    let config =
        loaxa::station::config::load(s.dir.path(), date(15)).unwrap_or_else(|e| panic!("{e:?}"));
    let tz = config.schedule.timezone;
    // 08:00 on the 15th: the morning session is over, the afternoon's is to come.
    let now = tz.with_ymd_and_hms(2021, 10, 15, 8, 0, 0).unwrap();
    let report = loaxa::station::report::build(
        &config,
        date(14),
        date(16),
        loaxa::core::report::Counting::Ended,
        now,
    )
    .unwrap();
    let json: Value = serde_json::to_value(&report).unwrap();
    let rows = json["days"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "{json:#}");
    let (over, today, future) = (&rows[0], &rows[1], &rows[2]);
    assert_eq!(over["state"], "over");
    assert_eq!(
        (over["done"].as_u64(), over["short"].as_u64()),
        (Some(1), Some(2))
    );
    assert!(
        over["reason"].as_str().is_some_and(|r| !r.is_empty()),
        "{over}"
    );
    assert!(over["cause"]["kind"].is_string(), "{over}");
    assert_eq!(today["state"], "today");
    assert_eq!(today["done"], 1);
    assert_eq!(
        today["planned"], 2,
        "the afternoon places the other two: {today}"
    );
    assert_eq!(
        today["short"], 0,
        "today is not short while its plan can still make it"
    );
    assert!(
        today.get("reason").is_none(),
        "no reason for a day not over: {today}"
    );
    assert_eq!(future["state"], "future");
    assert_eq!(
        (future["planned"].as_u64(), future["short"].as_u64()),
        (Some(3), Some(0))
    );
    assert!(future.get("reason").is_none());
    assert_eq!(json["other_plays"][0]["id"], "lu-lut");
    assert_eq!(json["other_plays"][0]["heard"], "yes");

    let table = loaxa::station::report::render(&report, Lang::Vi, tz);
    assert!(
        table.contains("14/10/2021  bcd389") && table.contains("THIẾU 2 ("),
        "{table}"
    );
    assert!(
        table.contains("hôm nay: đã phát 1, còn 2 lần trong lịch"),
        "{table}"
    );
    assert!(table.contains("sẽ phát: 3 lần trong lịch"), "{table}");
    assert!(
        table.contains("14/10/2021 21:05:00  lu-lut (máy nghe lại: nghe thấy)"),
        "{table}"
    );
    let table = loaxa::station::report::render(&report, Lang::En, tz);
    assert!(
        table.contains("2021-10-14  bcd389") && table.contains("SHORT BY 2 ("),
        "{table}"
    );
    assert!(table.contains("today: 1 done, 2 more planned"), "{table}");

    let csv = loaxa::station::report::csv(&report, false, Lang::Vi, tz);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "đài,ngày,chiến dịch,tiêu đề,tình trạng,phải phát,đã phát,còn thiếu,lý do"
    );
    assert!(
        lines[1].starts_with(
            "test,14/10/2021,bcd389,\"Chống buôn lậu, gian lận thương mại\",đã qua,3,1,2,"
        ),
        "{csv}"
    );
    assert!(
        lines[2].starts_with("test,15/10/2021,bcd389,")
            && lines[2].contains(",hôm nay (đang phát),3,1,0,"),
        "{csv}"
    );
    assert!(lines[3].contains(",chưa tới,3,0,0,"), "{csv}");
    // Totals and the plays of no campaign in sections of their own, after a blank line.
    assert_eq!(lines[4], "");
    assert_eq!(lines[5], "TỔNG");
    assert!(
        csv.contains("test,14/10/2021,21:05:00,lu-lut,khẩn cấp,nghe thấy"),
        "{csv}"
    );
    let csv = loaxa::station::report::csv(&report, false, Lang::En, tz);
    assert!(
        csv.starts_with("station,date,campaign,title,state,required,done,short,reason\r\n"),
        "{csv}"
    );
    assert!(csv.contains("\r\nTOTAL\r\n"), "{csv}");
}

fn date(day: u32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2021, 10, day).unwrap()
}

/// The forms Vietnamese operators write are read (t2-t6, 5h30, 45 phút, 31/12/2021), and
/// the common slips are named in Vietnamese: curly quotes, a time without quotes, an
/// unknown session.
#[test]
fn vietnamese_ways_of_writing_are_read_and_slips_are_named_in_vietnamese() {
    let station = "station_id = \"test\"\n[paths]\nstate = \"state\"\n[audio]\noutput = \"null\"\n";
    let good = r#"
[[session]]
name = "Sáng"
days = "t2-t6"
start = "5h30"
duration = "45 phút"

[[session]]
name = "Chiều"
days = "t7,cn"
start = "17h"
end = "17:30"

[[campaign]]
id = "c"
title = "Tiêm chủng"
from = "01/10/2021"
until = "31/12/2021"
plays_per_day = 1
sessions = ["Sáng"]
"#;
    let dir = config_dir(station, good);
    let d = dir.path();
    let (code, out, err) = run(d, &["check"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("TỐT"), "{out}");
    let (_, plan, _) = run(d, &["plan", "--date", "2021-10-04"], &[]);
    assert!(plan.contains("Sáng  05:30–06:15"), "{plan}");
    let (_, plan, _) = run(d, &["plan", "--date", "2021-10-03"], &[]);
    assert!(
        plan.contains("Chiều  17:00–17:30") && !plan.contains("Sáng"),
        "{plan}"
    );

    // Curly quotes, as Word or a phone keyboard types them.
    std::fs::write(
        d.join("schedule.toml"),
        good.replace("\"Sáng\"\ndays", "“Sáng”\ndays"),
    )
    .unwrap();
    let (code, _, err) = run(d, &["check"], &[]);
    assert_eq!(code, 78);
    assert!(
        err.contains("Sai cú pháp TOML") && err.contains("dấu nháy cong"),
        "{err}"
    );

    // A time without its quotes: said so, and `end` is not called an unknown key.
    std::fs::write(
        d.join("schedule.toml"),
        good.replace("start = \"17h\"", "start = 17:00:00"),
    )
    .unwrap();
    let (code, _, err) = run(d, &["check"], &[]);
    assert_eq!(code, 78);
    assert!(
        err.contains("giờ phải nằm trong dấu nháy kép: start = \"17:00:00\""),
        "{err}"
    );
    assert!(!err.contains("`end`"), "no false unknown key: {err}");

    // An unknown session, with the close one suggested, in Vietnamese.
    std::fs::write(
        d.join("schedule.toml"),
        good.replace("sessions = [\"Sáng\"]", "sessions = [\"Sang\"]"),
    )
    .unwrap();
    let (_, _, err) = run(d, &["check"], &[]);
    assert!(
        err.contains("không có buổi phát nào tên \"Sang\"")
            && err.contains("có phải ý bạn là \"Sáng\"?"),
        "{err}"
    );
    let (_, _, err) = run(d, &["--lang", "en", "check"], &[]);
    assert!(
        err.contains("unknown session \"Sang\"") && err.contains("did you mean \"Sáng\"?"),
        "{err}"
    );
}

/// `check` says what the coming days' plans cannot do (a relay cut by the session's end,
/// a quota that does not fit), so the guide's one command is enough; the config is still
/// valid (exit 0).
#[test]
fn check_warns_about_what_the_coming_days_cannot_do() {
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Ho_Chi_Minh)
        .date_naive();
    let day = |n: i64| {
        (today + chrono::TimeDelta::days(n))
            .format("%Y-%m-%d")
            .to_string()
    };
    let schedule = format!(
        r#"
[[session]]
name = "Sáng"
start = "05:30"
end = "06:00"
  [[session.item]]
  at = "05:40"
  relay = "http://127.0.0.1:9/vov1"
  duration = "25m"

[[campaign]]
id = "c"
title = "Tiêm chủng"
from = {}
until = {}
plays_per_day = 10
min_gap = "1h"

[[bulletin]]
id = "b"
file = "audio/duong-day-nong.mp3"
campaign = "c"
"#,
        day(-1),
        day(30)
    );
    let station = "station_id = \"test\"\n[paths]\nstate = \"state\"\n[audio]\noutput = \"null\"\n";
    let dir = config_dir(station, &schedule);
    let (code, out, err) = run(dir.path(), &["check"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Cảnh báo cho 7 ngày tới"), "{out}");
    assert!(out.contains("tiếp sóng lúc 05:40 bị cắt ngắn"), "{out}");
    assert!(
        out.contains("chiến dịch c: hôm nay chỉ xếp được 1 trên 10 lần"),
        "{out}"
    );
    // Each warning once, with its days (seven of them).
    assert_eq!(out.matches("tiếp sóng lúc 05:40").count(), 1, "{out}");
    let (_, out, _) = run(dir.path(), &["--lang", "en", "check"], &[]);
    assert!(
        out.contains("relay at 05:40 is cut to end with the session"),
        "{out}"
    );
}
