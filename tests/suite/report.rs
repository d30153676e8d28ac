//! `loaxa report`: a month of as-run logs, written here play by play (with interrupted and
//! failed plays that must not count, a campaign that ended, and one no longer known), and
//! the report must match them exactly, shortfalls included; as a table, JSON and CSV.

use crate::live;

use std::collections::BTreeMap;

use live::*;
use serde_json::{Value, json};

const SCHEDULE: &str = r#"
[[session]]
name = "Sáng"
start = "05:30"
end = "06:30"

[[campaign]]
id = "bcd389"
title = "Chống buôn lậu, gian lận thương mại"
from = 2021-10-01
until = 2021-10-31
plays_per_day = 3

[[campaign]]
id = "tiem-chung"
title = "Tiêm chủng, \"5K\""
from = 2021-10-10
until = 2021-10-20
plays_per_day = 1

[[bulletin]]
id = "b389"
file = "b.mp3"
campaign = "bcd389"
"#;

fn record(ts: &str, event: &str, id: &str, campaign: &str) -> Value {
    json!({
        "ts": ts, "event": event, "scheduled": ts, "late_ms": 0,
        "item": { "start": ts, "end": ts, "kind": "bulletin", "id": id, "title": id,
                  "campaign": campaign, "priority": "normal", "source": "local", "path": "b.mp3" }
    })
}

#[test]
fn a_month_of_as_run_logs_gives_exactly_the_report() {
    let s = Station::new("null", SCHEDULE);
    tone(&s.path("b.mp3"), 440, 1.0);
    std::fs::create_dir_all(s.path("state/asrun")).unwrap();
    // (date, campaign) → plays that ended, as written into the logs.
    let mut ended: BTreeMap<(String, &str), u32> = BTreeMap::new();
    for d in 1..=31u32 {
        let date = format!("2021-10-{d:02}");
        let mut lines = Vec::new();
        // bcd389: 3 most days, fewer on some, 4 on one (an extra play is not "short").
        let n = match d % 7 {
            0 => 0,
            3 => 2,
            5 => 4,
            _ => 3,
        };
        for k in 0..n {
            let t = format!("{date}T0{}:{:02}:00.000+07:00", 5 + k / 2, 30 + k);
            lines.push(record(&t, "start", "b389", "bcd389"));
            lines.push(record(&t, "end", "b389", "bcd389"));
        }
        *ended.entry((date.clone(), "bcd389")).or_default() += n;
        // An interrupted and a failed play: neither counts.
        let t = format!("{date}T06:20:00.000+07:00");
        lines.push(record(&t, "start", "b389", "bcd389"));
        lines.push(record(&t, "interrupted", "b389", "bcd389"));
        lines.push(record(&t, "failed", "b389", "bcd389"));
        // tiem-chung: every other day within its range.
        if (10..=20).contains(&d) && d % 2 == 0 {
            let t = format!("{date}T06:25:00.000+07:00");
            lines.push(record(&t, "start", "tc-1", "tiem-chung"));
            lines.push(record(&t, "end", "tc-1", "tiem-chung"));
            *ended.entry((date.clone(), "tiem-chung")).or_default() += 1;
        }
        // A campaign the station no longer knows, once.
        if d == 15 {
            let t = format!("{date}T06:28:00.000+07:00");
            lines.push(record(&t, "start", "old", "cu-2020"));
            lines.push(record(&t, "end", "old", "cu-2020"));
            ended.insert((date.clone(), "cu-2020"), 1);
        }
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(s.path(&format!("state/asrun/{date}.jsonl")), text).unwrap();
    }
    let cfg = s.dir.path().to_str().unwrap().to_string();
    let report = |extra: &[&str]| {
        let mut args = vec![
            "--lang",
            "en",
            "--config",
            &cfg,
            "report",
            "--from",
            "2021-10-01",
            "--to",
            "2021-10-31",
        ];
        args.extend_from_slice(extra);
        let out = loaxa(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let json: Value = serde_json::from_slice(&report(&["--json"])).unwrap();

    let mut want_short = 0;
    for row in json["days"].as_array().unwrap() {
        let date = row["date"].as_str().unwrap().to_string();
        let campaign = row["campaign"].as_str().unwrap();
        let done = ended.get(&(date.clone(), campaign)).copied().unwrap_or(0);
        let required: u32 = match campaign {
            "bcd389" => 3,
            "tiem-chung" => 1,
            _ => 0,
        };
        assert_eq!(row["done"], done, "{date} {campaign}");
        assert_eq!(row["required"], required, "{date} {campaign}");
        assert_eq!(
            row["short"],
            required.saturating_sub(done),
            "{date} {campaign}"
        );
        want_short += required.saturating_sub(done);
    }
    // 31 days of bcd389, 11 of tiem-chung, 1 of the unknown campaign.
    assert_eq!(json["days"].as_array().unwrap().len(), 31 + 11 + 1);
    let totals: BTreeMap<&str, &Value> = json["totals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["campaign"].as_str().unwrap(), t))
        .collect();
    let bcd = totals["bcd389"];
    assert_eq!(bcd["required"], 93);
    let bcd_done: u32 = ended
        .iter()
        .filter(|(k, _)| k.1 == "bcd389")
        .map(|(_, n)| n)
        .sum();
    assert_eq!(bcd["done"], bcd_done);
    // Days 7, 14, 21, 28 played none (short 3), days 3, 10, 17, 24, 31 played two (short 1).
    assert_eq!(bcd["short"], 4 * 3 + 5);
    assert_eq!(bcd["days_short"], 9);
    assert_eq!(totals["tiem-chung"]["short"], 5);
    assert_eq!(totals["cu-2020"]["done"], 1);
    let total_short: u64 = json["totals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["short"].as_u64().unwrap())
        .sum();
    assert_eq!(total_short, u64::from(want_short));

    // The table marks shortfalls.
    let table = String::from_utf8(report(&[])).unwrap();
    assert!(
        table.contains("2021-10-07  bcd389") && table.contains("SHORT BY 3"),
        "{table}"
    );
    assert!(table.contains("SHORT BY 17 on 9 days"), "{table}");

    // CSV: UTF-8 with a BOM, Vietnamese intact, quotes escaped, one line per row, then the
    // totals and the plays of no campaign, each a section with its own header.
    let csv = report(&["--csv", "--bom"]);
    assert_eq!(&csv[..3], b"\xef\xbb\xbf");
    let text = String::from_utf8(csv[3..].to_vec()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "station,date,campaign,title,state,required,done,short,reason"
    );
    // 43 rows, a blank line, "TOTAL", its header, 3 totals, a blank line, the other
    // plays' title and header (none played).
    assert_eq!(lines.len(), 1 + 43 + 1 + 2 + 3 + 1 + 2, "{text}");
    assert!(
        text.contains("test,2021-10-07,bcd389,\"Chống buôn lậu, gian lận thương mại\",over,3,0,3,\"plays interrupted or failed"),
        "{text}"
    );
    assert_eq!(lines[45], "TOTAL");
    assert!(
        text.contains("test,tiem-chung,\"Tiêm chủng, \"\"5K\"\"\",11,6,5,5"),
        "{text}"
    );
    let plain = report(&["--csv"]);
    assert!(plain.starts_with(b"station,"));

    // A backwards range is a usage error.
    let out = loaxa(&[
        "--lang",
        "en",
        "--config",
        &cfg,
        "report",
        "--from",
        "2021-10-31",
        "--to",
        "2021-10-01",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn with_heard_only_the_plays_the_monitor_heard_count() {
    let s = Station::new("null", SCHEDULE);
    tone(&s.path("b.mp3"), 440, 1.0);
    std::fs::create_dir_all(s.path("state/asrun")).unwrap();
    // Three plays of bcd389 ended: heard, silent, another sound; and one of tiem-chung
    // from before a monitor was fitted (no verdict).
    let mut lines = Vec::new();
    for (i, heard) in ["yes", "silent", "mismatch"].iter().enumerate() {
        let ts = format!("2021-10-12T05:3{i}:00.000+07:00");
        lines.push(record(&ts, "start", "b389", "bcd389"));
        let mut end = record(&ts, "end", "b389", "bcd389");
        end["heard"] = json!(heard);
        lines.push(end);
    }
    lines.push(record(
        "2021-10-12T05:40:00.000+07:00",
        "start",
        "t",
        "tiem-chung",
    ));
    lines.push(record(
        "2021-10-12T05:40:00.000+07:00",
        "end",
        "t",
        "tiem-chung",
    ));
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(s.path("state/asrun/2021-10-12.jsonl"), text).unwrap();
    let cfg = s.dir.path().to_str().unwrap().to_string();
    let report = |extra: &[&str]| -> Value {
        let mut args = vec![
            "--lang",
            "en",
            "--config",
            &cfg,
            "report",
            "--from",
            "2021-10-12",
            "--to",
            "2021-10-12",
            "--json",
        ];
        args.extend_from_slice(extra);
        let out = loaxa(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let row = |r: &Value, c: &str| {
        r["days"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["campaign"] == c)
            .cloned()
            .unwrap()
    };
    let all = report(&[]);
    assert_eq!(row(&all, "bcd389")["done"], 3, "{all:#}");
    assert_eq!(row(&all, "tiem-chung")["done"], 1);
    assert!(all.get("heard_only").is_none());

    let heard = report(&["--heard"]);
    assert_eq!(heard["heard_only"], true);
    let b = row(&heard, "bcd389");
    assert_eq!(
        (b["done"].clone(), b["short"].clone()),
        (json!(1), json!(2)),
        "{heard:#}"
    );
    assert_eq!(
        b["reason"],
        "not heard: the monitor heard 1 play(s) silent, 1 not as sent, 0 not judged"
    );
    let t = row(&heard, "tiem-chung");
    assert_eq!(t["done"], 0);
    assert!(
        t["reason"].as_str().unwrap().contains("1 not judged"),
        "{t}"
    );
    let out = loaxa(&[
        "--lang",
        "en",
        "--config",
        &cfg,
        "report",
        "--from",
        "2021-10-12",
        "--to",
        "2021-10-12",
        "--heard",
    ]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("only plays the monitor heard"), "{table}");
}
