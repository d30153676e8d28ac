//! The day planner: a pure function from (schedule, catalog, date, what already played)
//! to the day's plan. No I/O and no clock of its own: the caller passes "now" if it wants
//! the rest of a day planned, so a test can plan a whole year in a blink.
//!
//! Rules, strongest first (SPEC §3):
//! 1. fixed items at their times; a session never runs past its end;
//! 2. emergency, then priority, then normal;
//! 3. campaign quotas met where the day has room, spread over the allowed sessions,
//!    never two plays of one campaign closer than `min_gap`;
//! 4. leftover time gets filler, or the session ends early without `[fill]`.
//!
//! What cannot fit is dropped, lowest priority first, and `warnings` says so.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, TimeDelta};
use chrono_tz::Tz;

use crate::catalog::{Bulletin, Campaign, Catalog, Priority, Source};
use crate::plan::{History, InSession, Kind, Plan, PlanItem, PlannedSession, Played, Warning};
use crate::schedule::{ItemContent, Schedule, Session, SessionItem, Special, local};
mod fill;
mod quota;

/// Gaps shorter than this are left silent rather than filled with a sliver of music.
const MIN_FILL: TimeDelta = TimeDelta::seconds(1);

/// Everything the plan of one day depends on.
pub struct PlanInput<'a> {
    pub station_id: &'a str,
    pub schedule: &'a Schedule,
    pub catalog: &'a Catalog,
    pub date: NaiveDate,
    pub history: &'a History,
    /// Plan nothing before this instant (the daemon passes "now"); `None` plans the whole day.
    pub not_before: Option<DateTime<Tz>>,
}

/// Plans one day. Same input, same plan.
pub fn plan_day(input: &PlanInput) -> Plan {
    let mut day = DayPlanner::new(input);
    let windows = day.windows();
    let mut sessions = Vec::new();
    for (i, w) in windows.iter().enumerate() {
        let later: Vec<&Window> = windows[i..].iter().collect();
        if let Some(s) = day.plan_session(w, &later) {
            sessions.push(s);
        }
    }
    day.finish(sessions)
}

/// One occurrence of a session on the day.
struct Window<'a> {
    session: &'a Session,
    start: DateTime<Tz>,
    end: DateTime<Tz>,
    /// A special day's fixed items that fall in this window.
    extra: Vec<&'a SessionItem>,
}

/// Per-campaign progress through the day.
struct CampaignState<'a> {
    campaign: &'a Campaign,
    bulletins: Vec<&'a Bulletin>,
    done: u32,
    planned: u32,
    last_start: Option<DateTime<Tz>>,
    /// Plays this session may still take: the campaign's share of it (spreading).
    share: u32,
    /// Plays planned per session, in time order, for the quota table.
    placed: Vec<(String, u32)>,
}

impl CampaignState<'_> {
    fn remaining(&self) -> u32 {
        self.campaign
            .plays_per_day
            .saturating_sub(self.done + self.planned)
    }

    fn earliest(&self) -> Option<DateTime<Tz>> {
        self.last_start.map(|t| t + self.campaign.min_gap)
    }
}

/// Something the session may play in its free time, in the order it is offered.
#[derive(Clone, Copy)]
enum Want<'a> {
    /// One play of campaign number `.0`.
    Campaign(usize),
    /// A bulletin of no campaign: once a day while it is valid.
    Standalone(&'a Bulletin),
    /// The operator's flexible item (index within the session).
    Operator(usize),
}

struct DayPlanner<'a> {
    input: &'a PlanInput<'a>,
    tz: Tz,
    resume: Option<DateTime<Tz>>,
    campaigns: Vec<CampaignState<'a>>,
    standalone: Vec<&'a Bulletin>,
    standalone_placed: Vec<bool>,
    /// Plays per bulletin id: before today, today, and planned so far (for rotation).
    counts: HashMap<&'a str, u32>,
    fill_next: usize,
    warnings: Vec<Warning>,
    /// The `[[special]]` rule that makes the day, looked up once (lunar dates cost a
    /// calculation).
    special: Option<&'a Special>,
}

impl<'a> DayPlanner<'a> {
    fn new(input: &'a PlanInput<'a>) -> Self {
        let date = input.date;
        let history = input.history;
        let mut warnings = Vec::new();
        let last_played_end = history.today.iter().map(|p| p.end).max();
        let resume = match (input.not_before, last_played_end) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };

        let mut campaigns = Vec::new();
        for c in input.catalog.campaigns.iter().filter(|c| c.runs_on(date)) {
            let bulletins: Vec<&Bulletin> = input
                .catalog
                .bulletins
                .iter()
                .filter(|b| b.campaign.as_deref() == Some(&c.id) && b.valid_on(date))
                .collect();
            if bulletins.is_empty() {
                warnings.push(Warning::NoValidBulletin {
                    campaign: c.id.clone(),
                    date,
                    plays: c.plays_per_day,
                });
            }
            let plays: Vec<&Played> = history
                .today
                .iter()
                .filter(|p| p.campaign.as_deref() == Some(&c.id))
                .collect();
            campaigns.push(CampaignState {
                campaign: c,
                bulletins,
                done: plays.len() as u32,
                planned: 0,
                last_start: plays.iter().map(|p| p.start).max(),
                share: 0,
                placed: Vec::new(),
            });
        }

        let mut standalone = Vec::new();
        for b in input.catalog.bulletins.iter().filter(|b| b.valid_on(date)) {
            match &b.campaign {
                None => {
                    if !history
                        .today
                        .iter()
                        .any(|p| p.id == b.id && p.kind == Kind::Bulletin)
                    {
                        standalone.push(b);
                    }
                }
                Some(c) if input.catalog.campaign(c).is_none() => {
                    warnings.push(Warning::UnknownCampaign {
                        bulletin: b.id.clone(),
                        campaign: c.clone(),
                    })
                }
                Some(_) => {}
            }
        }
        standalone.sort_by_key(|b| (std::cmp::Reverse(b.priority), b.added));

        let mut counts: HashMap<&str, u32> = HashMap::new();
        for (id, n) in &history.earlier_counts {
            *counts.entry(id.as_str()).or_default() += n;
        }
        for p in &history.today {
            *counts.entry(p.id.as_str()).or_default() += 1;
        }

        DayPlanner {
            tz: input.schedule.timezone,
            input,
            resume,
            standalone_placed: vec![false; standalone.len()],
            campaigns,
            standalone,
            counts,
            fill_next: 0,
            warnings,
            special: input.schedule.special_on(input.date),
        }
    }

    /// The day's session windows in time order, overlapping ones dropped with a warning.
    /// A special day's `sessions` replace the weekday rules; its items join the window
    /// they fall in.
    fn windows(&mut self) -> Vec<Window<'a>> {
        let date = self.input.date;
        let special = self.special;
        let mut all: Vec<Window> = Vec::new();
        for s in &self.input.schedule.sessions {
            let spans = match special.and_then(|sp| sp.sessions.as_ref()) {
                Some(names) if names.contains(&s.name) => s.windows_any_day(date, self.tz),
                Some(_) => Vec::new(),
                None => s.windows_on(date, self.tz),
            };
            for (start, end) in spans {
                all.push(Window {
                    session: s,
                    start,
                    end,
                    extra: Vec::new(),
                });
            }
        }
        all.sort_by_key(|w| w.start);
        for item in special.map_or(&[][..], |sp| &sp.items[..]) {
            let at = item.at.and_then(|at| local(self.tz, date, at));
            match at.and_then(|t| all.iter_mut().find(|w| w.start <= t && t < w.end)) {
                Some(w) => w.extra.push(item),
                None => self.warnings.push(Warning::SpecialItemOutside {
                    special: special.map_or(String::new(), |sp| sp.name.clone()),
                    item: describe(&item.content),
                    at: item
                        .at
                        .map_or(String::new(), |t| t.format("%H:%M").to_string()),
                }),
            }
        }
        let mut kept: Vec<Window> = Vec::new();
        for w in all {
            if let Some(prev) = kept.last()
                && w.start < prev.end
            {
                self.warnings.push(Warning::SessionOverlap {
                    session: w.session.name.clone(),
                    at: w.start.format("%H:%M").to_string(),
                    other: prev.session.name.clone(),
                });
                continue;
            }
            kept.push(w);
        }
        kept
    }

    fn plan_session(&mut self, w: &Window<'a>, later: &[&Window<'a>]) -> Option<PlannedSession> {
        if self.resume.is_some_and(|r| r >= w.end) {
            return None;
        }
        let s = w.session;
        let resumed = self.resume.filter(|r| *r > w.start);
        let mut cursor = resumed.unwrap_or(w.start);
        let mut items: Vec<PlanItem> = Vec::new();

        let closing_len = s.closing.as_ref().map_or(TimeDelta::zero(), |f| f.duration);
        let content_end = w.end - closing_len;
        if resumed.is_none()
            && let Some(opening) = &s.opening
        {
            if w.start + opening.duration <= content_end {
                items.push(PlanItem::from_media(
                    Kind::Opening,
                    opening,
                    None,
                    w.start,
                    w.start + opening.duration,
                ));
                cursor = w.start + opening.duration;
            } else {
                self.warn_session(w, InSession::OpeningDoesNotFit);
            }
        }

        let fixed = self.fixed_items(w, cursor, content_end);
        let wants = self.wants(w, later);
        let mut placed_operator = vec![false; s.items.len()];
        let mut pos = cursor;
        let mut fixed_iter = fixed.iter().peekable();
        let mut flexible: Vec<PlanItem> = Vec::new();
        while pos < content_end {
            // Step over a fixed item that starts here.
            if let Some(f) = fixed_iter.peek()
                && f.start <= pos
            {
                pos = pos.max(f.end);
                fixed_iter.next();
                continue;
            }
            let segment_end = fixed_iter.peek().map_or(content_end, |f| f.start);
            if let Some(item) = self.place_first(&wants, pos, segment_end, &mut placed_operator, w)
            {
                pos = item.end;
                flexible.push(item);
                continue;
            }
            // Nothing fits now: wait for a campaign's min_gap to pass, or jump the segment.
            pos = self
                .next_ready(&wants, pos, segment_end)
                .unwrap_or(segment_end);
        }
        for (i, item) in s.items.iter().enumerate() {
            if item.at.is_none() && !placed_operator[i] && !self.operator_already_played(w, i) {
                self.warn_session(
                    w,
                    InSession::NoRoom {
                        item: describe(&item.content),
                    },
                );
            }
        }

        items.extend(fixed);
        items.extend(flexible);
        items.sort_by_key(|i| i.start);

        let content_stop = items.last().map_or(cursor, |i| i.end).max(cursor);
        let closing_at = if self.input.schedule.fill.is_some() {
            content_end
        } else {
            content_stop.min(content_end)
        };
        self.fill_gaps(w, &mut items, cursor, closing_at);
        if let Some(closing) = &s.closing
            && closing_at >= cursor
        {
            items.push(PlanItem::from_media(
                Kind::Closing,
                closing,
                None,
                closing_at,
                closing_at + closing.duration,
            ));
        }
        Some(PlannedSession {
            name: s.name.clone(),
            start: w.start,
            end: w.end,
            items,
        })
    }

    /// The session's fixed items still ahead, each kept inside [from, until).
    fn fixed_items(
        &mut self,
        w: &Window<'a>,
        from: DateTime<Tz>,
        until: DateTime<Tz>,
    ) -> Vec<PlanItem> {
        let mut out: Vec<PlanItem> = Vec::new();
        let mut all: Vec<&SessionItem> = w
            .session
            .items
            .iter()
            .chain(w.extra.iter().copied())
            .collect();
        all.sort_by_key(|i| i.at);
        for item in all {
            let Some(at) = item.at else { continue };
            let Some(start) = local(self.tz, self.input.date, at) else {
                continue;
            };
            let mut end = start + item.content.duration();
            let is_relay = matches!(item.content, ItemContent::Relay { .. });
            if start < w.start || start >= until {
                self.warn_session(
                    w,
                    InSession::FixedOutside {
                        at: at.format("%H:%M").to_string(),
                    },
                );
                continue;
            }
            if end > until {
                if !is_relay {
                    self.warn_session(
                        w,
                        InSession::FixedPastEnd {
                            at: at.format("%H:%M").to_string(),
                        },
                    );
                    continue;
                }
                // Cut for the closing is normal; past the session's own end is worth a word.
                if end > w.end {
                    self.warn_session(
                        w,
                        InSession::RelayCut {
                            at: at.format("%H:%M").to_string(),
                        },
                    );
                }
                end = until;
            }
            // Past fixed items are not replayed; a live relay already running is rejoined.
            let start = if start < from {
                if !is_relay || end <= from {
                    continue;
                }
                from
            } else {
                start
            };
            if out.last().is_some_and(|prev| start < prev.end) {
                self.warn_session(
                    w,
                    InSession::FixedCollides {
                        at: at.format("%H:%M").to_string(),
                    },
                );
                continue;
            }
            let mut planned = match &item.content {
                ItemContent::File(f) => {
                    PlanItem::from_media(Kind::File, f, item.title.as_deref(), start, end)
                }
                ItemContent::Relay { url, .. } => PlanItem {
                    start,
                    end,
                    kind: Kind::Relay,
                    id: url.clone(),
                    title: item.title.clone().unwrap_or_else(|| "Relay".into()),
                    campaign: None,
                    priority: Priority::Normal,
                    source: Source::Local,
                    path: url.clone(),
                    fixed: true,
                },
            };
            planned.end = end;
            planned.fixed = true;
            out.push(planned);
        }
        out.sort_by_key(|i| i.start);
        out
    }

    /// What this session should try to play, best first.
    fn wants(&mut self, w: &Window<'a>, later: &[&Window<'a>]) -> Vec<(Priority, Want<'a>)> {
        let mut wants: Vec<(Priority, u8, Want)> = Vec::new();
        for (ci, st) in self.campaigns.iter_mut().enumerate() {
            let c = st.campaign;
            st.share = 0;
            if !c.allows_session(&w.session.name) || st.bulletins.is_empty() {
                continue;
            }
            // Spread what is left evenly over this and the later allowed sessions.
            let sessions_left = later
                .iter()
                .filter(|l| c.allows_session(&l.session.name))
                .count()
                .max(1) as u32;
            // What an earlier session could not take is in `remaining`, so it moves on.
            st.share = st.remaining().div_ceil(sessions_left);
            if st.share > 0 {
                wants.push((c.priority, 0, Want::Campaign(ci)));
            }
        }
        for (i, b) in self.standalone.iter().enumerate() {
            if !self.standalone_placed[i] {
                wants.push((b.priority, 0, Want::Standalone(b)));
            }
        }
        for (i, item) in w.session.items.iter().enumerate() {
            if item.at.is_none() && !self.operator_already_played(w, i) {
                wants.push((Priority::Normal, 1, Want::Operator(i)));
            }
        }
        // Stable: within a level, campaigns and bulletins in catalog order, then the operator's items.
        wants.sort_by_key(|(p, class, _)| (std::cmp::Reverse(*p), *class));
        wants.into_iter().map(|(p, _, want)| (p, want)).collect()
    }

    fn operator_already_played(&self, w: &Window, index: usize) -> bool {
        let Some(ItemContent::File(f)) = w.session.items.get(index).map(|i| &i.content) else {
            return false;
        };
        self.input.history.today.iter().any(|p| {
            p.kind == Kind::File && p.id == f.name && w.start <= p.start && p.start < w.end
        })
    }

    /// Places the first wanted thing that may start at `pos` and ends by `until`.
    fn place_first(
        &mut self,
        wants: &[(Priority, Want<'a>)],
        pos: DateTime<Tz>,
        until: DateTime<Tz>,
        placed_operator: &mut [bool],
        w: &Window<'a>,
    ) -> Option<PlanItem> {
        for (_, want) in wants {
            match *want {
                Want::Campaign(ci) => {
                    let st = &self.campaigns[ci];
                    if st.remaining() == 0
                        || st.share == 0
                        || st.earliest().is_some_and(|t| t > pos)
                    {
                        continue;
                    }
                    let Some(b) = self
                        .rotation(ci)
                        .into_iter()
                        .find(|b| pos + b.duration <= until)
                    else {
                        continue;
                    };
                    let st = &mut self.campaigns[ci];
                    st.planned += 1;
                    st.share -= 1;
                    st.last_start = Some(pos);
                    match st.placed.last_mut() {
                        Some((name, n)) if *name == w.session.name => *n += 1,
                        _ => st.placed.push((w.session.name.clone(), 1)),
                    }
                    *self.counts.entry(b.id.as_str()).or_default() += 1;
                    return Some(bulletin_item(b, st.campaign.priority, pos));
                }
                Want::Standalone(b) => {
                    let i = self.standalone.iter().position(|s| s.id == b.id)?;
                    if self.standalone_placed[i] || pos + b.duration > until {
                        continue;
                    }
                    self.standalone_placed[i] = true;
                    return Some(bulletin_item(b, b.priority, pos));
                }
                Want::Operator(i) => {
                    let item = &w.session.items[i];
                    let ItemContent::File(f) = &item.content else {
                        continue;
                    };
                    if placed_operator[i] || pos + f.duration > until {
                        continue;
                    }
                    placed_operator[i] = true;
                    return Some(PlanItem::from_media(
                        Kind::File,
                        f,
                        item.title.as_deref(),
                        pos,
                        pos + f.duration,
                    ));
                }
            }
        }
        None
    }

    /// The campaign's bulletins in the order rotation would pick them: least played, then oldest.
    fn rotation(&self, ci: usize) -> Vec<&'a Bulletin> {
        let mut list = self.campaigns[ci].bulletins.clone();
        list.sort_by_key(|b| {
            (
                self.counts.get(b.id.as_str()).copied().unwrap_or(0),
                b.added,
            )
        });
        list
    }

    /// The soonest instant after `pos` at which a campaign held back by min_gap may play and fit.
    fn next_ready(
        &self,
        wants: &[(Priority, Want)],
        pos: DateTime<Tz>,
        until: DateTime<Tz>,
    ) -> Option<DateTime<Tz>> {
        wants
            .iter()
            .filter_map(|(_, want)| match want {
                Want::Campaign(ci) => {
                    let st = &self.campaigns[*ci];
                    let t = st.earliest()?;
                    let shortest = st.bulletins.iter().map(|b| b.duration).min()?;
                    (st.remaining() > 0 && st.share > 0 && t > pos && t + shortest <= until)
                        .then_some(t)
                }
                _ => None,
            })
            .min()
    }

    fn warn_session(&mut self, w: &Window, what: InSession) {
        self.warnings.push(Warning::Session {
            session: w.session.name.clone(),
            at: w.start.format("%H:%M").to_string(),
            what,
        });
    }
}

fn bulletin_item(b: &Bulletin, priority: Priority, start: DateTime<Tz>) -> PlanItem {
    PlanItem {
        start,
        end: start + b.duration,
        kind: Kind::Bulletin,
        id: b.id.clone(),
        title: b.title.clone(),
        campaign: b.campaign.clone(),
        priority,
        source: b.source,
        path: b.path.to_string_lossy().into_owned(),
        fixed: false,
    }
}

fn describe(content: &ItemContent) -> String {
    match content {
        ItemContent::File(f) => f.name.clone(),
        ItemContent::Relay { url, .. } => format!("relay {url}"),
    }
}
