//! SPEC §3 and §12: a campaign's plays spread over the day's sessions, and special days
//! (dates, ranges, lunar dates) that replace the weekday rules or add fixed items.

use crate::common;

use std::collections::HashMap;

use chrono::TimeDelta;
use common::*;
use loaxa::core::catalog::{Catalog, Priority};
use loaxa::core::plan::{History, Kind, Plan};
use loaxa::core::planner::{PlanInput, plan_day};
use loaxa::core::schedule::{DateRule, Schedule, Special};

fn plan(schedule: &Schedule, catalog: &Catalog, day: &str) -> Plan {
    let p = plan_day(&PlanInput {
        station_id: "test-station",
        schedule,
        catalog,
        date: date(day),
        history: &History::default(),
        not_before: None,
    });
    assert_well_formed(&p);
    p
}

/// `n` daily sessions of 40 minutes, three hours apart from 05:00.
fn sessions(n: usize) -> Schedule {
    let names = ["Sáng", "Trưa", "Chiều", "Tối"];
    schedule(
        (0..n)
            .map(|i| {
                let start = format!("{:02}:00", 5 + 3 * i);
                let end = format!("{:02}:40", 5 + 3 * i);
                session(names[i], "daily", &start, &end)
            })
            .collect(),
    )
}

fn one_campaign(per_day: u32, gap_min: i64) -> Catalog {
    catalog(
        vec![campaign(
            "bcd389",
            "2021-09-17",
            "2021-12-31",
            per_day,
            gap_min,
            Priority::Normal,
        )],
        vec![
            bulletin("b1", Some("bcd389"), 60, 0),
            bulletin("b2", Some("bcd389"), 90, 1),
        ],
    )
}

fn per_session(p: &Plan, campaign: &str) -> Vec<(String, usize)> {
    p.sessions
        .iter()
        .map(|s| {
            let n = s
                .items
                .iter()
                .filter(|i| i.campaign.as_deref() == Some(campaign))
                .count();
            (s.name.clone(), n)
        })
        .collect()
}

fn counts(list: &[(String, usize)]) -> Vec<usize> {
    list.iter().map(|(_, n)| *n).collect()
}

#[test]
fn three_plays_over_two_sessions_reach_the_evening() {
    // The operator's case: the gap allows all three in the morning, yet the evening's
    // listeners must hear it too.
    let s = sessions(2);
    let p = plan(&s, &one_campaign(3, 5), "2021-10-04");
    assert_eq!(counts(&per_session(&p, "bcd389")), vec![2, 1], "{p:#?}");
    let q = &p.quotas[0];
    assert_eq!((q.planned, q.required), (3, 3));
    let table: Vec<(&str, u32)> = q
        .sessions
        .iter()
        .map(|s| (s.session.as_str(), s.plays))
        .collect();
    assert_eq!(table, vec![("Sáng", 2), ("Trưa", 1)]);
}

#[test]
fn spreading_over_two_three_and_four_sessions_with_various_gaps() {
    // (sessions, plays a day, min_gap in minutes) → plays per session.
    let cases: [(usize, u32, i64, &[usize]); 9] = [
        (2, 2, 0, &[1, 1]),
        (2, 4, 5, &[2, 2]),
        (2, 5, 10, &[3, 2]),
        (3, 3, 0, &[1, 1, 1]),
        (3, 4, 5, &[2, 1, 1]),
        (3, 7, 10, &[3, 2, 2]),
        (4, 4, 30, &[1, 1, 1, 1]),
        (4, 6, 5, &[2, 2, 1, 1]),
        (4, 8, 15, &[2, 2, 2, 2]),
    ];
    for (n, per_day, gap, want) in cases {
        let p = plan(&sessions(n), &one_campaign(per_day, gap), "2021-10-04");
        assert_eq!(
            counts(&per_session(&p, "bcd389")),
            want,
            "{n} sessions, {per_day} plays, gap {gap}m: {:?}",
            p.warnings
        );
        let starts: Vec<_> = plays_of(&p, "bcd389").iter().map(|i| i.start).collect();
        for pair in starts.windows(2) {
            assert!(pair[1] - pair[0] >= TimeDelta::minutes(gap), "{starts:?}");
        }
    }
}

#[test]
fn a_share_that_does_not_fit_moves_to_the_next_session() {
    // 40-minute sessions and a 15-minute gap: three plays fit in one (05:00, 05:15,
    // 05:30), so 7 plays over 2 sessions take 4 shares in the morning, 3 fit, and the
    // fourth moves to the evening.
    let p = plan(&sessions(2), &one_campaign(7, 15), "2021-10-04");
    assert_eq!(
        counts(&per_session(&p, "bcd389")),
        vec![3, 3],
        "{:?}",
        p.warnings
    );
    let p = plan(&sessions(3), &one_campaign(7, 15), "2021-10-04");
    assert_eq!(
        counts(&per_session(&p, "bcd389")),
        vec![3, 2, 2],
        "{:?}",
        p.warnings
    );

    // A gap so long that only one play fits per session: the rest move on, then drop.
    let p = plan(&sessions(2), &one_campaign(4, 39), "2021-10-04");
    assert_eq!(counts(&per_session(&p, "bcd389")), vec![1, 1]);
    assert!(
        p.warnings.iter().any(|w| w.contains("only 2 of 4")),
        "{:?}",
        p.warnings
    );
}

#[test]
fn spreading_respects_the_campaigns_own_sessions() {
    let mut c = one_campaign(4, 0);
    c.campaigns[0].sessions = Some(vec!["Trưa".into(), "Tối".into()]);
    let p = plan(&sessions(4), &c, "2021-10-04");
    assert_eq!(counts(&per_session(&p, "bcd389")), vec![0, 2, 0, 2]);
}

fn special(name: &str, dates: Vec<DateRule>, sessions: Option<&[&str]>) -> Special {
    Special {
        name: name.into(),
        dates,
        sessions: sessions.map(|l| l.iter().map(|s| s.to_string()).collect()),
        items: Vec::new(),
    }
}

fn names(p: &Plan) -> Vec<&str> {
    p.sessions.iter().map(|s| s.name.as_str()).collect()
}

#[test]
fn a_special_date_replaces_the_days_sessions() {
    let mut s = sessions(3);
    // "Lễ" runs only when a special day names it.
    s.sessions.push(session("Lễ", "none", "20:00", "21:00"));
    s.specials = vec![special(
        "Quốc khánh",
        vec![DateRule::Day(date("2021-09-02"))],
        Some(&["Sáng", "Lễ"]),
    )];
    let normal = plan(&s, &Catalog::default(), "2021-09-01");
    assert_eq!(names(&normal), vec!["Sáng", "Trưa", "Chiều"]);
    assert_eq!(normal.special, None);
    let holiday = plan(&s, &Catalog::default(), "2021-09-02");
    assert_eq!(names(&holiday), vec!["Sáng", "Lễ"]);
    assert_eq!(holiday.special.as_deref(), Some("Quốc khánh"));
    // The plan JSON says which rule made the day.
    let json = serde_json::to_value(&holiday).unwrap();
    assert_eq!(json["special"], "Quốc khánh");
    assert!(serde_json::to_value(&normal).unwrap()["special"].is_null());
}

#[test]
fn a_week_of_mourning_as_a_range_with_no_sessions_and_later_rules_win() {
    let mut s = sessions(2);
    s.specials = vec![
        special(
            "Quốc tang",
            vec![DateRule::Range(date("2021-10-10"), date("2021-10-16"))],
            Some(&[]),
        ),
        // A later rule wins on the day both name: the mourning's last day has a morning.
        special(
            "Thông báo",
            vec![DateRule::Day(date("2021-10-16"))],
            Some(&["Sáng"]),
        ),
    ];
    let c = one_campaign(3, 0);
    for day in ["2021-10-10", "2021-10-13", "2021-10-15"] {
        let p = plan(&s, &c, day);
        assert!(p.sessions.is_empty(), "{day}: {:?}", names(&p));
        assert_eq!(p.special.as_deref(), Some("Quốc tang"));
    }
    assert_eq!(names(&plan(&s, &c, "2021-10-16")), vec!["Sáng"]);
    assert_eq!(names(&plan(&s, &c, "2021-10-17")), vec!["Sáng", "Trưa"]);
    // A day of no sessions leaves the campaign short, and the plan says so.
    let p = plan(&s, &c, "2021-10-12");
    assert!(
        p.warnings.iter().any(|w| w.contains("only 0 of 3")),
        "{:?}",
        p.warnings
    );
}

#[test]
fn a_list_of_dates_and_a_special_session_on_a_weekday_it_does_not_run() {
    let mut s = schedule(vec![
        session("Sáng", "mon-fri", "05:30", "06:30"),
        session("Bầu cử", "none", "07:00", "07:30"),
    ]);
    s.specials = vec![special(
        "Bầu cử",
        vec![
            DateRule::Day(date("2021-05-23")), // a Sunday: "Sáng" does not run on Sundays
            DateRule::Day(date("2021-05-24")),
        ],
        Some(&["Sáng", "Bầu cử"]),
    )];
    assert_eq!(
        names(&plan(&s, &Catalog::default(), "2021-05-23")),
        vec!["Sáng", "Bầu cử"]
    );
    assert_eq!(
        names(&plan(&s, &Catalog::default(), "2021-05-24")),
        vec!["Sáng", "Bầu cử"]
    );
    assert_eq!(
        names(&plan(&s, &Catalog::default(), "2021-05-30")),
        Vec::<&str>::new()
    );
    assert_eq!(
        names(&plan(&s, &Catalog::default(), "2021-05-31")),
        vec!["Sáng"]
    );
}

#[test]
fn a_special_item_joins_the_session_it_falls_in() {
    let mut s = sessions(2);
    let mut day = special(
        "Lễ Quốc khánh",
        vec![DateRule::Day(date("2021-09-02"))],
        None,
    );
    day.items = vec![relay_at("08:05", 20), relay_at("13:00", 5)];
    s.specials = vec![day];
    let p = plan(&s, &Catalog::default(), "2021-09-02");
    // The weekday rules stand (no `sessions`), with the relay added to "Trưa".
    assert_eq!(names(&p), vec!["Sáng", "Trưa"]);
    let relays: Vec<(&str, String)> = all_items(&p)
        .into_iter()
        .filter(|(_, i)| i.kind == Kind::Relay)
        .map(|(s, i)| (s, i.start.format("%H:%M").to_string()))
        .collect();
    assert_eq!(relays, vec![("Trưa", "08:05".to_string())]);
    assert!(
        p.warnings
            .iter()
            .any(|w| w.contains("13:00") && w.contains("none of the day's sessions")),
        "{:?}",
        p.warnings
    );
    // The next day has no relay.
    let p = plan(&s, &Catalog::default(), "2021-09-03");
    assert!(all_items(&p).iter().all(|(_, i)| i.kind != Kind::Relay));
}

#[test]
fn lunar_dates_find_tet_and_gio_to_each_year() {
    let mut s = sessions(1);
    s.specials = vec![
        special("Tết", vec![DateRule::Lunar { month: 1, day: 1 }], Some(&[])),
        special(
            "Giỗ Tổ",
            vec![DateRule::Lunar { month: 3, day: 10 }],
            Some(&["Sáng"]),
        ),
    ];
    let mut found: HashMap<&str, Vec<String>> = HashMap::new();
    let mut d = date("2024-01-01");
    while d < date("2027-01-01") {
        let p = plan(&s, &Catalog::default(), &d.to_string());
        if let Some(name) = &p.special {
            let key = if name == "Tết" {
                "Tết"
            } else {
                "Giỗ Tổ"
            };
            found.entry(key).or_default().push(d.to_string());
        }
        d = d.succ_opt().unwrap();
    }
    assert_eq!(found["Tết"], vec!["2024-02-10", "2025-01-29", "2026-02-17"]);
    assert_eq!(
        found["Giỗ Tổ"],
        vec!["2024-04-18", "2025-04-07", "2026-04-26"]
    );
}

#[test]
fn the_report_gives_each_short_day_its_reason() {
    use loaxa::core::asrun::{Event, Record};
    let mut s = sessions(2);
    s.specials = vec![special(
        "Tết",
        vec![DateRule::Lunar { month: 1, day: 1 }],
        Some(&[]),
    )];
    // 2022-02-01 is Tết (no sessions); 2022-02-02 the station did not run; on 2022-02-03
    // a 4-play campaign with a 39-minute gap cannot fit (2 of 4 at most).
    let mut c = one_campaign(3, 0);
    c.campaigns[0].from = date("2022-01-01");
    c.campaigns[0].until = date("2022-02-28");
    let mut tight = one_campaign(4, 39);
    tight.campaigns[0].id = "tight".into();
    tight.campaigns[0].from = date("2022-02-03");
    tight.campaigns[0].until = date("2022-02-03");
    for b in &mut tight.bulletins {
        b.campaign = Some("tight".into());
        b.id = format!("t-{}", b.id);
    }
    c.campaigns.extend(tight.campaigns);
    c.bulletins.extend(tight.bulletins);
    let records_of = |d: chrono::NaiveDate| -> Vec<Record> {
        if d == date("2022-02-03") {
            vec![Record::new(at("2022-02-03", "05:00"), Event::AmpOn)]
        } else {
            Vec::new()
        }
    };
    let plan_of = |d: chrono::NaiveDate| {
        Some(plan_day(&PlanInput {
            station_id: "s",
            schedule: &s,
            catalog: &c,
            date: d,
            history: &History::default(),
            not_before: None,
        }))
    };
    let r = loaxa::core::report::build(
        "s",
        records_of,
        plan_of,
        None,
        &c,
        loaxa::core::report::Span {
            from: date("2022-02-01"),
            to: date("2022-02-03"),
            today: date("2022-02-04"),
        },
        loaxa::core::report::Counting::Ended,
    )
    .unwrap();
    let reason = |day: &str, campaign: &str| {
        r.days
            .iter()
            .find(|row| row.date == date(day) && row.campaign == campaign)
            .and_then(|row| row.reason.clone())
            .unwrap_or_default()
    };
    assert!(reason("2022-02-01", "bcd389").contains("no session that day (special day Tết)"));
    assert!(reason("2022-02-02", "bcd389").contains("station stopped"));
    assert!(
        reason("2022-02-03", "tight").contains("over-subscribed: only 2 of 4"),
        "{r:#?}"
    );
    let text = loaxa::station::report::render(&r, loaxa::i18n::Lang::En, chrono_tz::UTC);
    assert!(text.contains("SHORT BY 3 (no session that day"), "{text}");
    let text = loaxa::station::report::render(&r, loaxa::i18n::Lang::Vi, chrono_tz::UTC);
    assert!(
        text.contains("THIẾU 3 (hôm đó không có buổi phát (ngày đặc biệt Tết))"),
        "{text}"
    );
}
