//! `schedule.toml`: the operator's sessions, items, local campaigns and bulletins (SPEC §4).

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, TimeZone};
use chrono_tz::Tz;
use toml::Spanned;

use super::station::duration;
use super::toml_reader::Fields;
use crate::audio::ingest::MediaCache;
use crate::config::diag::{Diagnostics, did_you_mean};
use crate::core::catalog::{Bulletin, Campaign, Priority, Source};
use crate::core::units::{Days, parse_clock, parse_days};

pub const DEFAULT_TIMEZONE: Tz = chrono_tz::Asia::Ho_Chi_Minh;

/// File extensions taken from the fill folder; anything else there is ignored.
pub const AUDIO_EXTENSIONS: &[&str] = &["mp3", "ogg", "oga", "flac", "wav", "m4a", "aac", "mp4"];

#[derive(Debug, Clone)]
pub struct Schedule {
    pub timezone: Tz,
    pub fill: Option<Fill>,
    pub sessions: Vec<Session>,
    pub campaigns: Vec<Campaign>,
    pub bulletins: Vec<Bulletin>,
}

/// An audio file named in the config, with its measured duration.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaFile {
    /// Absolute (resolved against the config dir).
    pub path: PathBuf,
    /// As the operator wrote it, for messages and plan ids.
    pub name: String,
    pub duration: TimeDelta,
}

#[derive(Debug, Clone)]
pub struct Fill {
    pub folder: PathBuf,
    /// Sorted by file name: the order fill rotates through.
    pub files: Vec<MediaFile>,
}

#[derive(Debug, Clone)]
pub struct Session {
    pub name: String,
    pub when: SessionTime,
    pub opening: Option<MediaFile>,
    pub closing: Option<MediaFile>,
    pub items: Vec<SessionItem>,
}

#[derive(Debug, Clone)]
pub enum SessionTime {
    /// `days` + `start` + `end` (or `duration`).
    Days {
        days: Days,
        start: NaiveTime,
        end: NaiveTime,
    },
    /// `cron` gives start times; every occurrence lasts `duration`.
    Cron {
        schedule: Box<cron::Schedule>,
        duration: TimeDelta,
    },
}

#[derive(Debug, Clone)]
pub struct SessionItem {
    /// A fixed clock time, or `None` for an ordered, flexible item.
    pub at: Option<NaiveTime>,
    pub title: Option<String>,
    pub content: ItemContent,
}

#[derive(Debug, Clone)]
pub enum ItemContent {
    File(MediaFile),
    /// A live HTTP audio stream, played for `duration`.
    Relay {
        url: String,
        duration: TimeDelta,
    },
}

impl ItemContent {
    pub fn duration(&self) -> TimeDelta {
        match self {
            ItemContent::File(f) => f.duration,
            ItemContent::Relay { duration, .. } => *duration,
        }
    }
}

impl Session {
    /// The windows this session occupies on `date` (local day in `tz`), in order.
    pub fn windows_on(&self, date: NaiveDate, tz: Tz) -> Vec<(DateTime<Tz>, DateTime<Tz>)> {
        let Some(day_start) = local(tz, date, NaiveTime::MIN) else {
            return Vec::new();
        };
        let Some(next_day) = date.succ_opt().and_then(|d| local(tz, d, NaiveTime::MIN)) else {
            return Vec::new();
        };
        match &self.when {
            SessionTime::Days { days, start, end } => {
                if !days.contains(chrono::Datelike::weekday(&date)) {
                    return Vec::new();
                }
                match (local(tz, date, *start), local(tz, date, *end)) {
                    (Some(s), Some(e)) if s < e => vec![(s, e)],
                    _ => Vec::new(),
                }
            }
            SessionTime::Cron { schedule, duration } => {
                let before = day_start - TimeDelta::seconds(1);
                schedule
                    .after(&before)
                    .take_while(|s| *s < next_day)
                    .filter(|s| *s >= day_start)
                    .map(|s| (s, (s + *duration).min(next_day)))
                    .collect()
            }
        }
    }
}

/// The instant a local wall-clock time names (the earlier one if a clock change repeats it).
pub fn local(tz: Tz, date: NaiveDate, time: NaiveTime) -> Option<DateTime<Tz>> {
    let naive = date.and_time(time);
    tz.from_local_datetime(&naive)
        .earliest()
        // In a spring-forward gap the time does not exist: use the first instant after it.
        .or_else(|| {
            tz.from_local_datetime(&(naive + TimeDelta::hours(1)))
                .earliest()
        })
}

/// Reads everything the operator may write and resolves files against `dir`.
struct Reader<'m> {
    dir: PathBuf,
    media: &'m mut MediaCache,
    /// Speaks text bulletins; `None` when station.toml could not be read.
    speech: Option<crate::audio::speech::Speech>,
}

impl Reader<'_> {
    /// An audio file named by `key`: it must exist and decode.
    fn media(
        &mut self,
        t: &mut Fields,
        d: &mut Diagnostics,
        key: &'static str,
    ) -> Option<MediaFile> {
        let name = t.string(d, key)?;
        self.media_at(d, name.get_ref(), name.span())
    }

    fn media_at(
        &mut self,
        d: &mut Diagnostics,
        name: &str,
        span: Range<usize>,
    ) -> Option<MediaFile> {
        let path = self.dir.join(name);
        if !path.is_file() {
            d.error_help(
                span,
                format!("audio file not found: {name}"),
                format!("looked for {}; put the file there or fix the path (relative paths start at the config dir)", path.display()),
            );
            return None;
        }
        match self.media.info(&path) {
            Ok(info) => Some(MediaFile {
                path,
                name: name.to_string(),
                duration: self.media.playing_time(&info),
            }),
            Err(e) => {
                d.error_help(
                    span,
                    e.to_string(),
                    "re-export it as MP3, Ogg Vorbis, FLAC, WAV or AAC (M4A)",
                );
                None
            }
        }
    }

    /// A text bulletin: spoken now (or found already spoken) and measured like a file.
    fn spoken(&mut self, t: &mut Fields, d: &mut Diagnostics) -> Option<MediaFile> {
        let text = t.string(d, "text")?;
        let speech = self.speech.clone()?;
        match speech.render(text.get_ref()) {
            Ok(path) => {
                let name = path.to_string_lossy().into_owned();
                self.media_at(d, &name, text.span())
            }
            Err(why) => {
                d.error_help(
                    text.span(),
                    format!("the text cannot be spoken: {why}"),
                    "check `[tts] command` in station.toml (default: espeak-ng -v vi), or give a recording with `file`",
                );
                None
            }
        }
    }

    fn fill(&mut self, t: &mut Fields, d: &mut Diagnostics) -> Option<Fill> {
        let folder_name = t.required_string(d, "folder")?;
        let folder = self.dir.join(folder_name.get_ref());
        let mut names: Vec<String> = match std::fs::read_dir(&folder) {
            Ok(entries) => entries
                .filter_map(|e| e.ok())
                .filter(|e| e.path().is_file())
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| {
                    Path::new(n)
                        .extension()
                        .and_then(|x| x.to_str())
                        .is_some_and(|x| {
                            AUDIO_EXTENSIONS.contains(&x.to_ascii_lowercase().as_str())
                        })
                })
                .collect(),
            Err(e) => {
                d.error_help(
                    folder_name.span(),
                    format!("fill folder {} cannot be read: {e}", folder.display()),
                    "create the folder and put music files in it, or remove [fill]",
                );
                return None;
            }
        };
        names.sort();
        let mut files = Vec::new();
        for n in names {
            let rel = format!("{}/{}", folder_name.get_ref().trim_end_matches('/'), n);
            files.extend(self.media_at(d, &rel, folder_name.span()));
        }
        if files.is_empty() {
            d.error_help(
                folder_name.span(),
                format!("fill folder {} has no audio files", folder.display()),
                "put some music (MP3, Ogg, FLAC, WAV, M4A) in it, or remove [fill]",
            );
            return None;
        }
        Some(Fill { folder, files })
    }

    fn session(&mut self, t: &mut Fields, d: &mut Diagnostics) -> Option<Session> {
        let name = t.required_string(d, "name");
        if let Some(n) = &name {
            t.rename(format!("session {:?}", n.get_ref()));
        }
        let when = session_time(t, d);
        let opening = t
            .has("opening")
            .then(|| self.media(t, d, "opening"))
            .flatten();
        let closing = t
            .has("closing")
            .then(|| self.media(t, d, "closing"))
            .flatten();
        let mut items = Vec::new();
        let mut spans = Vec::new();
        for mut item in t.tables(d, "item") {
            let span = item.span();
            if let Some(it) = self.item(&mut item, d) {
                items.push(it);
                spans.push(span);
            }
            item.finish(d);
        }
        let (name, when) = (name?, when?);
        let session = Session {
            name: name.get_ref().clone(),
            when,
            opening,
            closing,
            items,
        };
        check_fixed_items(&session, &spans, d);
        Some(session)
    }

    fn item(&mut self, t: &mut Fields, d: &mut Diagnostics) -> Option<SessionItem> {
        let at = t.string(d, "at").and_then(|s| clock(d, &s));
        let title = t.string(d, "title").map(Spanned::into_inner);
        let content = match (t.has("file"), t.has("relay")) {
            (true, false) => {
                if let Some(v) = t.value("duration") {
                    d.error_help(
                        v.span(),
                        "`duration` is for relay items; a file plays to its end",
                        "remove `duration`, or trim the file",
                    );
                }
                ItemContent::File(self.media(t, d, "file")?)
            }
            (false, true) => {
                let url = t.string(d, "relay")?;
                if !(url.get_ref().starts_with("http://") || url.get_ref().starts_with("https://"))
                {
                    d.error_help(
                        url.span(),
                        format!("relay {:?} is not an http(s) stream URL", url.get_ref()),
                        "write the stream's full address, e.g. \"http://127.0.0.1:8000/vov1\"",
                    );
                }
                if !t.has("duration") {
                    d.error_help(
                        url.span(),
                        "a relay item needs a `duration`",
                        "add e.g. duration = \"30m\"",
                    );
                    return None;
                }
                let duration = duration(t, d, "duration")?;
                ItemContent::Relay {
                    url: url.into_inner(),
                    duration,
                }
            }
            (true, true) => {
                d.error_help(
                    t.span(),
                    "an item has both `file` and `relay`",
                    "split it into two [[session.item]] blocks",
                );
                return None;
            }
            (false, false) => {
                d.error_help(
                    t.span(),
                    "an item needs `file` or `relay`",
                    "add file = \"audio/….mp3\" or relay = \"http://…\"",
                );
                return None;
            }
        };
        Some(SessionItem { at, title, content })
    }

    fn campaign(
        &mut self,
        t: &mut Fields,
        d: &mut Diagnostics,
        session_names: &[Spanned<String>],
    ) -> Option<Campaign> {
        let id = t.required_string(d, "id");
        if let Some(id) = &id {
            t.rename(format!("campaign {:?}", id.get_ref()));
        }
        let title = t.string(d, "title").map(Spanned::into_inner);
        let from = required(t, d, "from", Fields::date);
        let until = required(t, d, "until", Fields::date);
        if let (Some(f), Some(u)) = (&from, &until)
            && u.get_ref() < f.get_ref()
        {
            d.error_help(
                u.span(),
                format!(
                    "campaign ends ({}) before it starts ({})",
                    u.get_ref(),
                    f.get_ref()
                ),
                "`until` is the last day of the campaign and must not be before `from`",
            );
        }
        let plays = required(t, d, "plays_per_day", Fields::integer).and_then(|n| {
            match u32::try_from(*n.get_ref()) {
                Ok(v @ 1..=96) => Some(v),
                _ => {
                    d.error_help(
                        n.span(),
                        format!("plays_per_day {} is out of range", n.get_ref()),
                        "give how many times a day it must play, from 1 to 96",
                    );
                    None
                }
            }
        });
        let min_gap = if t.has("min_gap") {
            duration(t, d, "min_gap")
        } else {
            Some(TimeDelta::zero())
        };
        let sessions = t.string_array(d, "sessions");
        for wanted in sessions.iter().flatten() {
            unknown_name(d, wanted, names(session_names), "session");
        }
        let priority = priority(t, d);
        let (id, from, until, plays, min_gap, priority) =
            (id?, from?, until?, plays?, min_gap?, priority?);
        let campaign = Campaign {
            title: title.unwrap_or_else(|| id.get_ref().clone()),
            id: id.get_ref().clone(),
            from: from.into_inner(),
            until: until.into_inner(),
            plays_per_day: plays,
            min_gap,
            sessions: sessions
                .as_ref()
                .map(|s| s.iter().map(|n| n.get_ref().clone()).collect()),
            priority,
            source: Source::Local,
        };
        Some(campaign)
    }

    fn bulletin(
        &mut self,
        t: &mut Fields,
        d: &mut Diagnostics,
        added: u64,
        campaign_ids: &[Spanned<String>],
    ) -> Option<Bulletin> {
        let id = t.required_string(d, "id");
        if let Some(id) = &id {
            t.rename(format!("bulletin {:?}", id.get_ref()));
        }
        let title = t.string(d, "title").map(Spanned::into_inner);
        let file = match (t.has("file"), t.has("text")) {
            (true, false) => self.media(t, d, "file"),
            (false, true) => self.spoken(t, d),
            (true, true) => {
                let span = t.value("text").map_or(t.span(), |v| v.span());
                d.error_help(
                    span,
                    "a bulletin has `file` or `text`, not both",
                    "keep the recording (`file`) or the text to be spoken (`text`)",
                );
                None
            }
            (false, false) => {
                d.error_help(
                    t.span(),
                    format!("{} has no `file` and no `text`", t.what()),
                    "add `file = \"audio/….mp3\"`, or `text = \"…\"` to have it spoken",
                );
                None
            }
        };
        let campaign = t.string(d, "campaign");
        if let Some(c) = &campaign {
            unknown_name(d, c, names(campaign_ids), "campaign");
        }
        let priority = priority(t, d);
        let valid_from = t.date(d, "valid_from");
        let valid_until = t.date(d, "valid_until");
        if let (Some(f), Some(u)) = (&valid_from, &valid_until)
            && u.get_ref() < f.get_ref()
        {
            d.error_help(
                u.span(),
                format!(
                    "bulletin is valid until {} but only from {}",
                    u.get_ref(),
                    f.get_ref()
                ),
                "`valid_until` is the last day it may play and must not be before `valid_from`",
            );
        }
        let (id, file, priority) = (id?, file?, priority?);
        let bulletin = Bulletin {
            title: title.unwrap_or_else(|| id.get_ref().clone()),
            id: id.get_ref().clone(),
            campaign: campaign.as_ref().map(|c| c.get_ref().clone()),
            priority,
            source: Source::Local,
            path: file.path,
            duration: file.duration,
            valid_from: valid_from.map(Spanned::into_inner),
            valid_until: valid_until.map(Spanned::into_inner),
            added,
        };
        Some(bulletin)
    }
}

fn required<'a, 'i, T>(
    t: &mut Fields<'a, 'i>,
    d: &mut Diagnostics,
    key: &'static str,
    get: fn(&mut Fields<'a, 'i>, &mut Diagnostics, &'static str) -> Option<T>,
) -> Option<T> {
    if !t.has(key) {
        t.missing(d, key);
        return None;
    }
    get(t, d, key)
}

fn priority(t: &mut Fields, d: &mut Diagnostics) -> Option<Priority> {
    let Some(p) = t.string(d, "priority") else {
        return Some(Priority::Normal);
    };
    let parsed = Priority::parse(p.get_ref());
    if parsed.is_none() {
        d.error_help(
            p.span(),
            format!("unknown priority {:?}", p.get_ref()),
            "use \"normal\", \"priority\" or \"emergency\"",
        );
    }
    parsed
}

fn clock(d: &mut Diagnostics, text: &Spanned<String>) -> Option<NaiveTime> {
    parse_clock(text.get_ref())
        .map_err(|e| d.error(text.span(), e))
        .ok()
}

fn session_time(t: &mut Fields, d: &mut Diagnostics) -> Option<SessionTime> {
    if let Some(cron_text) = t.string(d, "cron") {
        for key in ["days", "start", "end"] {
            if let Some(v) = t.value(key) {
                d.error_help(
                    v.span(),
                    format!("`{key}` cannot be used with `cron`"),
                    "give either `cron` and `duration`, or `days`, `start` and `end`",
                );
            }
        }
        let schedule = match cron::Schedule::from_str(cron_text.get_ref()) {
            Ok(s) => Some(Box::new(s)),
            Err(e) => {
                d.error_help(cron_text.span(), format!("invalid cron expression {:?}: {e}", cron_text.get_ref()), "cron here has seconds first: \"0 0 17 * * Mon-Sat\" starts at 17:00:00 Monday to Saturday");
                None
            }
        };
        if !t.has("duration") {
            d.error_help(
                cron_text.span(),
                "a cron session needs a `duration`",
                "add e.g. duration = \"60m\"",
            );
            return None;
        }
        let duration = duration(t, d, "duration")?;
        if duration <= TimeDelta::zero() || duration > TimeDelta::hours(24) {
            d.error(
                cron_text.span(),
                "session duration must be between 1s and 24h",
            );
            return None;
        }
        return Some(SessionTime::Cron {
            schedule: schedule?,
            duration,
        });
    }
    let days = match t.string(d, "days") {
        Some(text) => parse_days(text.get_ref())
            .map_err(|e| d.error(text.span(), e))
            .ok(),
        None => Some(Days::ALL),
    };
    let Some(start_text) = t.string(d, "start") else {
        if !t.has("start") {
            d.error_help(t.span(), format!("{} has no start time", t.what()), "add start = \"05:30\" and end = \"06:30\", or cron = \"0 30 5 * * *\" and duration = \"60m\"");
        }
        return None;
    };
    let start = clock(d, &start_text);
    let end = match (t.string(d, "end"), t.has("duration")) {
        (Some(end_text), false) => {
            let end = clock(d, &end_text)?;
            if let Some(s) = start
                && end <= s
            {
                d.error_help(end_text.span(), format!("session ends ({end}) before it starts ({s})"), "`end` must be later the same day; a session cannot cross midnight — split it in two");
                return None;
            }
            Some(end)
        }
        (None, true) => {
            let length = duration(t, d, "duration")?;
            let s = start?;
            let (end, wrapped) = s.overflowing_add_signed(length);
            if wrapped != 0 || end <= s {
                d.error_help(
                    start_text.span(),
                    format!(
                        "session starting {s} and lasting {} runs past midnight",
                        crate::core::units::format_duration(length)
                    ),
                    "a session cannot cross midnight — split it in two",
                );
                return None;
            }
            Some(end)
        }
        (Some(end_text), true) => {
            d.error_help(
                end_text.span(),
                "give `end` or `duration`, not both",
                "remove one of them",
            );
            None
        }
        (None, false) => {
            d.error_help(
                start_text.span(),
                format!("{} has no end", t.what()),
                "add end = \"06:30\" or duration = \"60m\"",
            );
            None
        }
    };
    Some(SessionTime::Days {
        days: days?,
        start: start?,
        end: end?,
    })
}

/// Fixed items must sit inside the session, clear of the jingles and of each other.
fn check_fixed_items(s: &Session, spans: &[Range<usize>], d: &mut Diagnostics) {
    let SessionTime::Days { start, end, .. } = s.when else {
        return; // cron sessions move; the planner checks them each day
    };
    let first_free = start + s.opening.as_ref().map_or(TimeDelta::zero(), |f| f.duration);
    let last_free = end - s.closing.as_ref().map_or(TimeDelta::zero(), |f| f.duration);
    let mut fixed: Vec<(NaiveTime, NaiveTime, &Range<usize>)> = Vec::new();
    for (item, span) in s.items.iter().zip(spans) {
        let Some(at) = item.at else { continue };
        let until = at + item.content.duration();
        // A live relay may run into the closing: it is faded out for it, as on air.
        let is_relay = matches!(item.content, ItemContent::Relay { .. });
        let overruns = if is_relay {
            at >= last_free
        } else {
            until > last_free || until < at
        };
        if at < first_free || overruns {
            d.error_help(
                span.clone(),
                format!(
                    "item at {} ({} long) does not fit in session {:?} ({}–{}{})",
                    at.format("%H:%M:%S"),
                    crate::core::units::format_duration(item.content.duration()),
                    s.name,
                    start.format("%H:%M"),
                    end.format("%H:%M"),
                    if s.opening.is_some() || s.closing.is_some() {
                        ", less its opening and closing"
                    } else {
                        ""
                    }
                ),
                "move `at`, shorten `duration`, or widen the session",
            );
        }
        fixed.push((
            at,
            if is_relay {
                until.min(last_free)
            } else {
                until
            },
            span,
        ));
    }
    fixed.sort_by_key(|f| f.0);
    for pair in fixed.windows(2) {
        if pair[1].0 < pair[0].1 {
            d.error_help(
                pair[1].2.clone(),
                format!(
                    "item at {} starts before the item at {} has ended ({})",
                    pair[1].0.format("%H:%M:%S"),
                    pair[0].0.format("%H:%M:%S"),
                    pair[0].1.format("%H:%M:%S")
                ),
                "move one of them",
            );
        }
    }
}

/// Reads the whole of schedule.toml. `check_from` is the first day the overlap check looks at
/// for cron sessions, whose occurrences depend on the date.
pub fn read(
    root: &mut Fields,
    d: &mut Diagnostics,
    dir: &Path,
    media: &mut MediaCache,
    speech: Option<crate::audio::speech::Speech>,
    check_from: NaiveDate,
) -> Option<Schedule> {
    let errors_before = d.len();
    let mut r = Reader {
        dir: dir.to_path_buf(),
        media,
        speech,
    };
    let timezone = match root.string(d, "timezone") {
        Some(tz) => match tz.get_ref().parse::<Tz>() {
            Ok(z) => Some(z),
            Err(_) => {
                d.error_help(
                    tz.span(),
                    format!("unknown time zone {:?}", tz.get_ref()),
                    "use an IANA name such as \"Asia/Ho_Chi_Minh\"",
                );
                None
            }
        },
        None => Some(DEFAULT_TIMEZONE),
    };
    let fill = root.table(d, "fill").and_then(|mut t| {
        let f = r.fill(&mut t, d);
        t.finish(d);
        f
    });

    // Names and ids are gathered first, from every table, so cross-references are checked
    // even where a table has errors of its own.
    let mut session_tables = root.tables(d, "session");
    let mut campaign_tables = root.tables(d, "campaign");
    let mut bulletin_tables = root.tables(d, "bulletin");
    let peek = |tables: &[Fields], key| -> Vec<Spanned<String>> {
        tables.iter().filter_map(|t| t.peek_string(key)).collect()
    };
    let session_names = peek(&session_tables, "name");
    let campaign_ids = peek(&campaign_tables, "id");
    duplicates(d, &session_names, "session name");
    duplicates(d, &campaign_ids, "campaign id");
    duplicates(d, &peek(&bulletin_tables, "id"), "bulletin id");

    let mut sessions = Vec::new();
    let mut session_spans = Vec::new();
    for t in &mut session_tables {
        if let Some(s) = r.session(t, d) {
            session_spans.push(t.peek_string("name").map_or(t.span(), |n| n.span()));
            sessions.push(s);
        }
    }
    if let Some(tz) = timezone {
        check_overlaps(&sessions, &session_spans, tz, check_from, d);
    }
    let campaigns: Vec<Campaign> = campaign_tables
        .iter_mut()
        .filter_map(|t| r.campaign(t, d, &session_names))
        .collect();
    let bulletins: Vec<Bulletin> = bulletin_tables
        .iter_mut()
        .enumerate()
        .filter_map(|(n, t)| r.bulletin(t, d, n as u64, &campaign_ids))
        .collect();
    for t in session_tables
        .into_iter()
        .chain(campaign_tables)
        .chain(bulletin_tables)
    {
        t.finish(d);
    }

    if d.len() > errors_before {
        return None;
    }
    Some(Schedule {
        timezone: timezone?,
        fill,
        sessions,
        campaigns,
        bulletins,
    })
}

fn names(list: &[Spanned<String>]) -> impl Iterator<Item = &str> + Clone {
    list.iter().map(|n| n.get_ref().as_str())
}

fn unknown_name<'n>(
    d: &mut Diagnostics,
    name: &Spanned<String>,
    known: impl Iterator<Item = &'n str> + Clone,
    what: &str,
) {
    if known.clone().any(|k| k == name.get_ref()) {
        return;
    }
    let help = match did_you_mean(name.get_ref(), known.clone()) {
        Some(close) => format!("did you mean {close:?}?"),
        None => format!(
            "the {what}s defined here are: {}",
            known
                .map(|k| format!("{k:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    d.error_help(
        name.span(),
        format!("unknown {what} {:?}", name.get_ref()),
        help,
    );
}

fn duplicates(d: &mut Diagnostics, names: &[Spanned<String>], what: &str) {
    let mut first: HashMap<&str, usize> = HashMap::new();
    for (i, n) in names.iter().enumerate() {
        if let Some(&j) = first.get(n.get_ref().as_str()) {
            let (line, _) = crate::config::diag::line_column(d.source(), names[j].span().start);
            d.error_help(
                n.span(),
                format!("duplicate {what} {:?}", n.get_ref()),
                format!("it is already used on line {line}; each must be unique"),
            );
        } else {
            first.insert(n.get_ref(), i);
        }
    }
}

/// Sessions may not overlap: the amplifier and the schedule would fight.
fn check_overlaps(
    sessions: &[Session],
    name_spans: &[Range<usize>],
    tz: Tz,
    check_from: NaiveDate,
    d: &mut Diagnostics,
) {
    for i in 0..sessions.len() {
        for j in i + 1..sessions.len() {
            let (a, b) = (&sessions[i], &sessions[j]);
            if let Some(when) = first_overlap(a, b, tz, check_from) {
                d.error_help(
                    name_spans[j].clone(),
                    format!("session {:?} overlaps session {:?}{when}", b.name, a.name),
                    "change the times so one ends before the other starts",
                );
            }
        }
    }
}

fn first_overlap(a: &Session, b: &Session, tz: Tz, check_from: NaiveDate) -> Option<String> {
    if let (
        SessionTime::Days {
            days: da,
            start: sa,
            end: ea,
        },
        SessionTime::Days {
            days: db,
            start: sb,
            end: eb,
        },
    ) = (&a.when, &b.when)
    {
        return (da.intersects(*db) && sa < eb && sb < ea).then(String::new);
    }
    // A cron session's days depend on the calendar: look a year and a bit ahead.
    let mut date = check_from;
    for _ in 0..400 {
        for (s1, e1) in a.windows_on(date, tz) {
            for (s2, e2) in b.windows_on(date, tz) {
                if s1 < e2 && s2 < e1 {
                    return Some(format!(" on {date}"));
                }
            }
        }
        date = date.succ_opt()?;
    }
    None
}
