//! The planner over whole campaigns, crowded days, restarts and edge cases.

use crate::common;

use std::collections::HashMap;

use chrono::{Datelike, TimeDelta};
use common::*;
use loaxa::core::catalog::{Catalog, Priority};
use loaxa::core::plan::{History, Kind, Plan, Played};
use loaxa::core::planner::{PlanInput, plan_day};
use loaxa::core::schedule::Schedule;

fn plan(schedule: &Schedule, catalog: &Catalog, day: &str, history: &History) -> Plan {
    plan_day(&PlanInput {
        station_id: "test-station",
        schedule,
        catalog,
        date: date(day),
        history,
        not_before: None,
    })
}

/// Three daily sessions, a relay at 06:00, and the operator's local news.
fn commune() -> Schedule {
    let mut sang = session("Sáng", "daily", "05:30", "06:30");
    sang.items = vec![relay_at("06:00", 25), flexible("tin-dia-phuong.mp3", 60)];
    schedule(vec![
        sang,
        session("Trưa", "daily", "11:00", "11:30"),
        session("Chiều", "daily", "17:00", "18:00"),
    ])
}

/// The 2021 anti-smuggling campaign with bulletins coming and going, a second campaign
/// limited to evenings, and a one-off bulletin.
fn campaign_catalog() -> Catalog {
    let a = campaign(
        "bcd389",
        "2021-09-17",
        "2021-12-31",
        3,
        180,
        Priority::Priority,
    );
    let mut b = campaign("attt", "2021-10-01", "2021-10-31", 2, 20, Priority::Normal);
    b.sessions = Some(vec!["Chiều".into()]);
    let b1 = bulletin("b1", Some("bcd389"), 90, 0);
    let mut b2 = bulletin("b2", Some("bcd389"), 120, 1);
    b2.valid_from = Some(date("2021-10-15"));
    let mut b3 = bulletin("b3", Some("bcd389"), 60, 2);
    b3.valid_until = Some(date("2021-11-30"));
    let c1 = bulletin("c1", Some("attt"), 45, 3);
    let mut s1 = bulletin("s1", None, 30, 4);
    s1.valid_from = Some(date("2021-11-01"));
    s1.valid_until = Some(date("2021-11-03"));
    catalog(vec![a, b], vec![b1, b2, b3, c1, s1])
}

#[test]
fn whole_campaign_meets_quota_in_range_and_nothing_outside() {
    let schedule = commune();
    let catalog = campaign_catalog();
    let mut history = History::default();
    let mut day = date("2021-09-01");
    let mut days_checked = 0;
    while day <= date("2022-01-15") {
        let d = day.to_string();
        let p = plan(&schedule, &catalog, &d, &history);
        assert_eq!(
            p,
            plan(&schedule, &catalog, &d, &history),
            "{d}: same inputs must give the same plan"
        );
        assert_well_formed(&p);

        // Campaign bcd389: exactly 3 plays inside its range, none outside, min_gap kept.
        let a = plays_of(&p, "bcd389");
        let in_range = date("2021-09-17") <= day && day <= date("2021-12-31");
        assert_eq!(a.len(), if in_range { 3 } else { 0 }, "{d}: bcd389 plays");
        let quota = p.quotas.iter().find(|q| q.campaign == "bcd389");
        assert_eq!(
            quota.map(|q| (q.required, q.planned)),
            in_range.then_some((3, 3)),
            "{d}: quota"
        );
        for pair in a.windows(2) {
            assert!(
                pair[1].start - pair[0].start >= TimeDelta::hours(3),
                "{d}: bcd389 plays closer than 3h"
            );
        }
        // Spread: one play in each of the three sessions.
        if in_range {
            let sessions: Vec<&str> = all_items(&p)
                .into_iter()
                .filter(|(_, i)| i.campaign.as_deref() == Some("bcd389"))
                .map(|(s, _)| s)
                .collect();
            assert_eq!(sessions, ["Sáng", "Trưa", "Chiều"], "{d}");
        }

        // Campaign attt: October only, evenings only, 2 plays at least 20 min apart.
        let b = plays_of(&p, "attt");
        assert_eq!(
            b.len(),
            if day.month() == 10 && day.year() == 2021 {
                2
            } else {
                0
            },
            "{d}: attt plays"
        );
        assert!(
            all_items(&p)
                .iter()
                .filter(|(_, i)| i.campaign.as_deref() == Some("attt"))
                .all(|(s, _)| *s == "Chiều"),
            "{d}: attt outside Chiều"
        );
        for pair in b.windows(2) {
            assert!(
                pair[1].start - pair[0].start >= TimeDelta::minutes(20),
                "{d}: attt plays closer than min_gap"
            );
        }

        // Every bulletin played is valid that day; the one-off plays once on its days only.
        for (_, item) in all_items(&p)
            .iter()
            .filter(|(_, i)| i.kind == Kind::Bulletin)
        {
            let bul = catalog.bulletins.iter().find(|b| b.id == item.id).unwrap();
            assert!(
                bul.valid_on(day),
                "{d}: {} played outside its validity",
                item.id
            );
        }
        let s1 = all_items(&p).iter().filter(|(_, i)| i.id == "s1").count();
        assert_eq!(
            s1,
            usize::from(("2021-11-01".."2021-11-04").contains(&d.as_str())),
            "{d}: s1"
        );

        // The relay is at 06:00 sharp, every day.
        let relay = all_items(&p)
            .into_iter()
            .find(|(_, i)| i.kind == Kind::Relay)
            .map(|(_, i)| i.start);
        assert_eq!(relay, Some(at(&d, "06:00")), "{d}: relay time");

        assert_priority_first(&p, &catalog);
        assert_rotation_takes_least_played(&p, &catalog, &mut history);
        days_checked += 1;
        day = day.succ_opt().unwrap();
    }
    assert_eq!(days_checked, 137);
}

/// Within a session, a normal item never precedes a priority item that could have played then.
fn assert_priority_first(p: &Plan, catalog: &Catalog) {
    for s in &p.sessions {
        let flexible: Vec<_> = s
            .items
            .iter()
            .filter(|i| matches!(i.kind, Kind::Bulletin | Kind::File))
            .collect();
        for (n, normal) in flexible
            .iter()
            .enumerate()
            .filter(|(_, i)| i.priority == Priority::Normal)
        {
            for later in flexible[n + 1..]
                .iter()
                .filter(|i| i.priority > Priority::Normal)
            {
                // Allowed only when min_gap held the priority play back past the normal one's start.
                let gap = later
                    .campaign
                    .as_ref()
                    .and_then(|c| catalog.campaign(c))
                    .map_or(TimeDelta::zero(), |c| c.min_gap);
                let previous = flexible[..n]
                    .iter()
                    .filter(|i| i.campaign == later.campaign && i.campaign.is_some())
                    .map(|i| i.start)
                    .max();
                assert!(
                    previous.is_some_and(|t| t + gap > normal.start),
                    "{}: normal {} before priority {} in {}",
                    p.date,
                    normal.id,
                    later.id,
                    s.name
                );
            }
        }
    }
}

/// Each play takes the valid bulletin of its campaign played least so far (ties: oldest).
fn assert_rotation_takes_least_played(p: &Plan, catalog: &Catalog, history: &mut History) {
    let mut counts: HashMap<String, u32> = history.earlier_counts.clone();
    for (_, item) in all_items(p)
        .iter()
        .filter(|(_, i)| i.kind == Kind::Bulletin && i.campaign.is_some())
    {
        let valid: Vec<_> = catalog
            .bulletins
            .iter()
            .filter(|b| b.campaign == item.campaign && b.valid_on(p.date))
            .collect();
        let least = valid
            .iter()
            .map(|b| counts.get(&b.id).copied().unwrap_or(0))
            .min()
            .unwrap();
        let chosen = counts.get(&item.id).copied().unwrap_or(0);
        assert_eq!(
            chosen, least,
            "{}: {} played {chosen} times, but another had {least}",
            p.date, item.id
        );
        *counts.entry(item.id.clone()).or_default() += 1;
    }
    history.earlier_counts = counts;
}

#[test]
fn oversubscribed_day_fits_drops_lowest_priority_first_and_warns() {
    // One 10-minute session with 3 minutes of jingles and a local item; room for ~6 minutes.
    let mut s = session("Sáng", "daily", "05:30", "05:40");
    s.items = vec![flexible("tin.mp3", 60)];
    let sched = schedule(vec![s]);
    let urgent = campaign(
        "urgent",
        "2021-10-01",
        "2021-10-31",
        3,
        0,
        Priority::Priority,
    );
    let routine = campaign(
        "routine",
        "2021-10-01",
        "2021-10-31",
        3,
        0,
        Priority::Normal,
    );
    let cat = catalog(
        vec![routine, urgent],
        vec![
            bulletin("r1", Some("routine"), 150, 0),
            bulletin("u1", Some("urgent"), 150, 1),
        ],
    );
    let p = plan(&sched, &cat, "2021-10-01", &History::default());
    assert_well_formed(&p);
    // 600 s - 8 s opening - 5 s closing = 587 s of room: three 150 s urgent plays (450 s),
    // then no room for a 150 s routine play; the 60 s local item still fits.
    assert_eq!(plays_of(&p, "urgent").len(), 3);
    assert_eq!(plays_of(&p, "routine").len(), 0);
    assert!(all_items(&p).iter().any(|(_, i)| i.id == "tin.mp3"));
    let q: Vec<_> = p
        .quotas
        .iter()
        .map(|q| (q.campaign.as_str(), q.planned))
        .collect();
    assert_eq!(q, [("routine", 0), ("urgent", 3)]);
    assert!(
        p.warnings
            .iter()
            .any(|w| w.contains("routine") && w.contains("0 of 3")),
        "{:?}",
        p.warnings
    );
    assert!(
        !p.warnings.iter().any(|w| w.contains("urgent")),
        "{:?}",
        p.warnings
    );
    // The session still ends on time with its closing.
    let last = p.sessions[0].items.last().unwrap();
    assert_eq!(
        (last.kind, last.end),
        (Kind::Closing, at("2021-10-01", "05:40"))
    );
}

#[test]
fn min_gap_larger_than_the_day_allows_is_kept_and_reported() {
    // Two one-hour sessions cannot hold 3 plays 3 h apart: min_gap wins over the quota.
    let sched = schedule(vec![
        session("Sáng", "daily", "05:30", "06:30"),
        session("Chiều", "daily", "17:00", "18:00"),
    ]);
    let cat = catalog(
        vec![campaign(
            "c",
            "2021-10-01",
            "2021-10-31",
            3,
            180,
            Priority::Priority,
        )],
        vec![bulletin("b", Some("c"), 60, 0)],
    );
    let p = plan(&sched, &cat, "2021-10-01", &History::default());
    let plays = plays_of(&p, "c");
    assert_eq!(plays.len(), 2);
    assert!(plays[1].start - plays[0].start >= TimeDelta::hours(3));
    assert!(
        p.warnings.iter().any(|w| w.contains("only 2 of 3")),
        "{:?}",
        p.warnings
    );
}

#[test]
fn min_gap_inside_one_long_session_spaces_plays_with_fill_between() {
    let sched = schedule(vec![session("Sáng", "daily", "05:00", "07:00")]);
    let cat = catalog(
        vec![campaign(
            "c",
            "2021-10-01",
            "2021-10-31",
            3,
            30,
            Priority::Normal,
        )],
        vec![bulletin("b", Some("c"), 60, 0)],
    );
    let p = plan(&sched, &cat, "2021-10-01", &History::default());
    assert_well_formed(&p);
    let starts: Vec<_> = plays_of(&p, "c").iter().map(|i| i.start).collect();
    assert_eq!(starts.len(), 3);
    assert_eq!(
        starts[0],
        at("2021-10-01", "05:00") + TimeDelta::seconds(8),
        "first play right after the opening"
    );
    assert_eq!(starts[1] - starts[0], TimeDelta::minutes(30));
    assert_eq!(starts[2] - starts[1], TimeDelta::minutes(30));
    // Between plays there is music, not silence: the session is covered end to end.
    let covered: TimeDelta = p.sessions[0].items.iter().map(|i| i.duration()).sum();
    assert_eq!(covered, TimeDelta::hours(2));
}

#[test]
fn restart_mid_day_counts_what_played_and_plans_only_ahead() {
    let sched = commune();
    let cat = campaign_catalog();
    let d = "2021-10-05";
    let history = History {
        today: vec![Played {
            id: "b1".into(),
            kind: Kind::Bulletin,
            campaign: Some("bcd389".into()),
            start: at(d, "05:30") + TimeDelta::seconds(8),
            end: at(d, "05:31") + TimeDelta::seconds(38),
        }],
        earlier_counts: HashMap::new(),
    };
    let now = at(d, "10:00");
    let p = plan_day(&PlanInput {
        station_id: "s",
        schedule: &sched,
        catalog: &cat,
        date: date(d),
        history: &history,
        not_before: Some(now),
    });
    assert_well_formed(&p);
    assert!(
        all_items(&p).iter().all(|(_, i)| i.start >= now),
        "nothing is planned in the past"
    );
    assert_eq!(
        p.sessions
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>(),
        ["Trưa", "Chiều"]
    );
    let q = p.quotas.iter().find(|q| q.campaign == "bcd389").unwrap();
    assert_eq!((q.required, q.done, q.planned), (3, 1, 2));
    // Rotation continues: b1 already played today, so the next play takes b3 (b2 not valid yet).
    assert_eq!(plays_of(&p, "bcd389")[0].id, "b3");
}

#[test]
fn restart_inside_a_session_resumes_without_opening_or_replays() {
    let sched = commune();
    let cat = campaign_catalog();
    let d = "2021-10-05";
    let played = |id: &str, kind, campaign: Option<&str>, from: i64, to: i64| Played {
        id: id.into(),
        kind,
        campaign: campaign.map(String::from),
        start: at(d, "05:30") + TimeDelta::seconds(from),
        end: at(d, "05:30") + TimeDelta::seconds(to),
    };
    let history = History {
        today: vec![
            played("nhac-hieu.mp3", Kind::Opening, None, 0, 8),
            played("b1", Kind::Bulletin, Some("bcd389"), 8, 98),
            played("tin-dia-phuong.mp3", Kind::File, None, 98, 158),
        ],
        earlier_counts: HashMap::new(),
    };
    let now = at(d, "06:10");
    let p = plan_day(&PlanInput {
        station_id: "s",
        schedule: &sched,
        catalog: &cat,
        date: date(d),
        history: &history,
        not_before: Some(now),
    });
    let sang = &p.sessions[0];
    assert_eq!(sang.name, "Sáng");
    // The live relay (06:00–06:25) is rejoined at 06:10; nothing else is replayed.
    let first = &sang.items[0];
    assert_eq!(
        (first.kind, first.start, first.end),
        (Kind::Relay, now, at(d, "06:25"))
    );
    assert!(
        sang.items
            .iter()
            .all(|i| !matches!(i.kind, Kind::Opening | Kind::File | Kind::Bulletin)),
        "{:?}",
        sang.items
    );
    assert_eq!(sang.items.last().unwrap().kind, Kind::Closing);
    assert_eq!(plays_of(&p, "bcd389").len(), 2);
}

#[test]
fn without_fill_a_session_ends_early_and_silence_is_reported() {
    let mut sched = commune();
    sched.fill = None;
    let cat = campaign_catalog();
    let p = plan(&sched, &cat, "2021-10-05", &History::default());
    assert_well_formed(&p);
    assert!(all_items(&p).iter().all(|(_, i)| i.kind != Kind::Fill));
    // Trưa has only its opening and one bulletin: the closing follows at once.
    let trua = p.sessions.iter().find(|s| s.name == "Trưa").unwrap();
    let kinds: Vec<Kind> = trua.items.iter().map(|i| i.kind).collect();
    assert_eq!(kinds, [Kind::Opening, Kind::Bulletin, Kind::Closing]);
    assert_eq!(trua.items[2].start, trua.items[1].end);
    assert!(trua.items[2].end < trua.end);
    // Sáng waits for its 06:00 relay in silence, and the plan says so.
    assert!(
        p.warnings
            .iter()
            .any(|w| w.contains("Sáng") && w.contains("silence")),
        "{:?}",
        p.warnings
    );
}

#[test]
fn campaign_without_valid_bulletins_or_allowed_sessions_is_reported() {
    let sched = commune();
    let mut c = campaign("c", "2021-10-01", "2021-10-31", 2, 0, Priority::Normal);
    c.sessions = Some(vec!["Tối".into()]);
    let empty = campaign("empty", "2021-10-01", "2021-10-31", 1, 0, Priority::Normal);
    let cat = catalog(
        vec![c, empty],
        vec![
            bulletin("b", Some("c"), 30, 0),
            bulletin("orphan", Some("gone"), 30, 1),
        ],
    );
    let p = plan(&sched, &cat, "2021-10-05", &History::default());
    assert!(
        p.warnings
            .iter()
            .any(|w| w.contains("campaign c:") && w.contains("0 of 2")),
        "{:?}",
        p.warnings
    );
    assert!(
        p.warnings
            .iter()
            .any(|w| w.contains("campaign empty") && w.contains("no valid bulletin")),
        "{:?}",
        p.warnings
    );
    assert!(
        p.warnings
            .iter()
            .any(|w| w.contains("orphan") && w.contains("unknown")),
        "{:?}",
        p.warnings
    );
}

#[test]
fn weekday_sessions_and_cron_sessions_follow_the_calendar() {
    let mut sched = schedule(vec![session("Trưa", "mon-fri", "11:00", "11:30")]);
    let mut chieu = session("Chiều", "daily", "17:00", "18:00");
    chieu.when = loaxa::core::schedule::SessionTime::Cron {
        schedule: Box::new("0 0 17 * * Mon-Sat".parse().unwrap()),
        duration: TimeDelta::minutes(45),
    };
    sched.sessions.push(chieu);
    let cat = Catalog::default();
    let names = |d: &str| {
        plan(&sched, &cat, d, &History::default())
            .sessions
            .iter()
            .map(|s| (s.name.clone(), s.start, s.end))
            .collect::<Vec<_>>()
    };
    // 2021-10-01 is a Friday, 10-02 a Saturday, 10-03 a Sunday.
    assert_eq!(names("2021-10-01").len(), 2);
    assert_eq!(
        names("2021-10-02"),
        [(
            "Chiều".to_string(),
            at("2021-10-02", "17:00"),
            at("2021-10-02", "17:45")
        )]
    );
    assert!(names("2021-10-03").is_empty());
}

#[test]
fn priority_items_go_first_after_the_opening() {
    let mut s = session("Sáng", "daily", "05:30", "06:30");
    s.items = vec![flexible("tin.mp3", 60)];
    let sched = schedule(vec![s]);
    let mut cat = catalog(
        vec![
            campaign("n", "2021-10-01", "2021-10-31", 1, 0, Priority::Normal),
            campaign("p", "2021-10-01", "2021-10-31", 1, 0, Priority::Priority),
        ],
        vec![
            bulletin("nb", Some("n"), 30, 0),
            bulletin("pb", Some("p"), 30, 1),
        ],
    );
    let mut urgent = bulletin("push-1", None, 20, 2);
    urgent.priority = Priority::Priority;
    cat.bulletins.push(urgent);
    let p = plan(&sched, &cat, "2021-10-05", &History::default());
    let order: Vec<&str> = p.sessions[0]
        .items
        .iter()
        .filter(|i| i.kind != Kind::Fill)
        .map(|i| i.id.as_str())
        .collect();
    assert_eq!(
        order,
        [
            "nhac-hieu.mp3",
            "pb",
            "push-1",
            "nb",
            "tin.mp3",
            "ket-thuc.mp3"
        ]
    );
}
