//! Builders for schedules and catalogs in code, so planner tests need no audio files.
#![allow(dead_code)]

use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta};
use chrono_tz::Tz;
use loaxa::core::catalog::{Bulletin, Campaign, Catalog, Priority, Source};
use loaxa::core::plan::{Kind, Plan, PlanItem};
use loaxa::core::schedule::{
    Fill, ItemContent, MediaFile, Schedule, Session, SessionItem, SessionTime, local,
};
use loaxa::core::units::parse_days;

pub const TZ: Tz = chrono_tz::Asia::Ho_Chi_Minh;

pub fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

pub fn clock(s: &str) -> NaiveTime {
    NaiveTime::parse_from_str(s, "%H:%M").unwrap()
}

pub fn at(d: &str, t: &str) -> DateTime<Tz> {
    local(TZ, date(d), clock(t)).unwrap()
}

pub fn media(name: &str, secs: i64) -> MediaFile {
    MediaFile {
        path: PathBuf::from("/audio").join(name),
        name: name.into(),
        duration: TimeDelta::seconds(secs),
    }
}

pub fn session(name: &str, days: &str, start: &str, end: &str) -> Session {
    Session {
        name: name.into(),
        when: SessionTime::Days {
            days: parse_days(days).unwrap(),
            start: clock(start),
            end: clock(end),
        },
        opening: Some(media("nhac-hieu.mp3", 8)),
        closing: Some(media("ket-thuc.mp3", 5)),
        items: Vec::new(),
    }
}

pub fn flexible(name: &str, secs: i64) -> SessionItem {
    SessionItem {
        at: None,
        title: None,
        content: ItemContent::File(media(name, secs)),
    }
}

pub fn relay_at(t: &str, minutes: i64) -> SessionItem {
    SessionItem {
        at: Some(clock(t)),
        title: Some("VOV1".into()),
        content: ItemContent::Relay {
            url: "http://127.0.0.1:8000/vov1".into(),
            duration: TimeDelta::minutes(minutes),
        },
    }
}

pub fn fill() -> Option<Fill> {
    Some(Fill {
        folder: PathBuf::from("/audio/music"),
        files: vec![
            media("music/a.mp3", 170),
            media("music/b.mp3", 200),
            media("music/c.mp3", 95),
        ],
    })
}

pub fn schedule(sessions: Vec<Session>) -> Schedule {
    Schedule {
        timezone: TZ,
        fill: fill(),
        sessions,
        campaigns: Vec::new(),
        bulletins: Vec::new(),
        specials: Vec::new(),
    }
}

pub fn campaign(
    id: &str,
    from: &str,
    until: &str,
    per_day: u32,
    gap_min: i64,
    priority: Priority,
) -> Campaign {
    Campaign {
        id: id.into(),
        title: format!("Campaign {id}"),
        from: date(from),
        until: date(until),
        plays_per_day: per_day,
        min_gap: TimeDelta::minutes(gap_min),
        sessions: None,
        priority,
        source: Source::Feed,
    }
}

pub fn bulletin(id: &str, campaign: Option<&str>, secs: i64, added: u64) -> Bulletin {
    Bulletin {
        id: id.into(),
        title: format!("Bản tin {id}"),
        campaign: campaign.map(String::from),
        priority: Priority::Normal,
        source: Source::Feed,
        path: PathBuf::from(format!("/state/bulletins/{id}.mp3")),
        duration: TimeDelta::seconds(secs),
        valid_from: None,
        valid_until: None,
        added,
    }
}

pub fn catalog(campaigns: Vec<Campaign>, bulletins: Vec<Bulletin>) -> Catalog {
    Catalog {
        campaigns,
        bulletins,
        ..Catalog::default()
    }
}

/// Every item of the plan with its session name, in time order.
pub fn all_items(plan: &Plan) -> Vec<(&str, &PlanItem)> {
    plan.sessions
        .iter()
        .flat_map(|s| s.items.iter().map(move |i| (s.name.as_str(), i)))
        .collect()
}

pub fn plays_of<'p>(plan: &'p Plan, campaign: &str) -> Vec<&'p PlanItem> {
    all_items(plan)
        .into_iter()
        .map(|(_, i)| i)
        .filter(|i| i.kind == Kind::Bulletin && i.campaign.as_deref() == Some(campaign))
        .collect()
}

/// The structural rules every plan must keep: items inside their session, in order, no overlap.
pub fn assert_well_formed(plan: &Plan) {
    for s in &plan.sessions {
        let mut prev_end = s.start;
        for item in &s.items {
            assert!(
                item.start >= s.start && item.end <= s.end,
                "{}: {:?} {} outside session {} {}–{}",
                plan.date,
                item.kind,
                item.id,
                s.name,
                s.start,
                s.end
            );
            assert!(
                item.start >= prev_end,
                "{}: {:?} {} at {} overlaps the item before (ends {})",
                plan.date,
                item.kind,
                item.id,
                item.start,
                prev_end
            );
            assert!(
                item.end > item.start,
                "{}: empty item {}",
                plan.date,
                item.id
            );
            prev_end = item.end;
        }
    }
    for pair in plan.sessions.windows(2) {
        assert!(
            pair[0].end <= pair[1].start,
            "{}: sessions overlap",
            plan.date
        );
    }
}
