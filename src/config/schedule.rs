//! `schedule.toml`: the operator's sessions, items, local campaigns and bulletins (SPEC §4).

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, TimeDelta};
use chrono_tz::Tz;
use toml::Spanned;

use super::Media;
use super::sessions::{check_fixed_items, check_overlaps, clock, session_time};
use super::special::{quiet_items, quiet_sessions, special};
use super::station::duration;
use super::toml_reader::Fields;
use crate::config::diag::{Diagnostics, names, unknown_name};
use crate::core::catalog::{Bulletin, Campaign, Priority, Source};
use crate::core::schedule::{
    AUDIO_EXTENSIONS, DEFAULT_TIMEZONE, Fill, ItemContent, MediaFile, QuietHours, Schedule,
    Session, SessionItem, Special,
};
use crate::tr;

/// Reads everything the operator may write and resolves files against `dir`.
pub(super) struct Reader<'m> {
    dir: PathBuf,
    media: &'m mut dyn Media,
    /// station.toml's `[audio] quiet_hours`: nothing planned may sound in them.
    pub(super) quiet: Option<QuietHours>,
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
        let path = match super::paths::locate(&self.dir, name) {
            Ok(path) => path,
            Err(near) => {
                let looked = self.dir.join(name);
                let lang = d.lang();
                let help = match near {
                    Some(other) => tr!(lang, "cfg-file-case", name = &format!("{other:?}")),
                    None => tr!(
                        lang,
                        "cfg-file-looked",
                        path = &looked.display().to_string()
                    ),
                };
                d.error_help(span, tr!(lang, "cfg-file-not-found", name = name), help);
                return None;
            }
        };
        match self.media.playing_time(&path) {
            Ok(duration) => Some(MediaFile {
                path,
                name: name.to_string(),
                duration,
            }),
            Err(e) => {
                let help = tr!(d.lang(), "cfg-reexport");
                d.error_help(span, e, help);
                None
            }
        }
    }

    /// A text bulletin: spoken now (or found already spoken) and measured like a file.
    fn spoken(&mut self, t: &mut Fields, d: &mut Diagnostics) -> Option<MediaFile> {
        let text = t.string(d, "text")?;
        match self.media.speak(text.get_ref())? {
            Ok(path) => {
                let name = path.to_string_lossy().into_owned();
                self.media_at(d, &name, text.span())
            }
            Err(why) => {
                let lang = d.lang();
                d.error_help(
                    text.span(),
                    tr!(lang, "cfg-not-spoken", why = &why),
                    tr!(lang, "cfg-not-spoken-help"),
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
                let lang = d.lang();
                d.error_help(
                    folder_name.span(),
                    tr!(
                        lang,
                        "cfg-fill-unreadable",
                        folder = &folder.display().to_string(),
                        why = &e.to_string()
                    ),
                    tr!(lang, "cfg-fill-unreadable-help"),
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
            let lang = d.lang();
            d.error_help(
                folder_name.span(),
                tr!(
                    lang,
                    "cfg-fill-empty",
                    folder = &folder.display().to_string()
                ),
                tr!(lang, "cfg-fill-empty-help"),
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
        if let Some(q) = self.quiet {
            quiet_items(q, &session.items, &spans, d);
        }
        Some(session)
    }

    pub(super) fn item(&mut self, t: &mut Fields, d: &mut Diagnostics) -> Option<SessionItem> {
        let at = t.string(d, "at").and_then(|s| clock(d, &s));
        let title = t.string(d, "title").map(Spanned::into_inner);
        let content = match (t.has("file"), t.has("relay")) {
            (true, false) => {
                if let Some(v) = t.value("duration") {
                    let lang = d.lang();
                    d.error_help(
                        v.span(),
                        tr!(lang, "cfg-duration-relay-only"),
                        tr!(lang, "cfg-duration-relay-only-help"),
                    );
                }
                ItemContent::File(self.media(t, d, "file")?)
            }
            (false, true) => {
                let url = t.string(d, "relay")?;
                if !(url.get_ref().starts_with("http://") || url.get_ref().starts_with("https://"))
                {
                    let lang = d.lang();
                    d.error_help(
                        url.span(),
                        tr!(lang, "cfg-relay-url", url = &format!("{:?}", url.get_ref())),
                        tr!(lang, "cfg-relay-url-help"),
                    );
                }
                if !t.has("duration") {
                    let lang = d.lang();
                    d.error_help(
                        url.span(),
                        tr!(lang, "cfg-relay-duration"),
                        tr!(lang, "cfg-relay-duration-help"),
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
                let lang = d.lang();
                d.error_help(
                    t.span(),
                    tr!(lang, "cfg-file-and-relay"),
                    tr!(lang, "cfg-file-and-relay-help"),
                );
                return None;
            }
            (false, false) => {
                let lang = d.lang();
                d.error_help(
                    t.span(),
                    tr!(lang, "cfg-item-empty"),
                    tr!(lang, "cfg-item-empty-help"),
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
            let lang = d.lang();
            d.error_help(
                u.span(),
                tr!(
                    lang,
                    "cfg-campaign-backwards",
                    until = &lang.date(*u.get_ref()),
                    from = &lang.date(*f.get_ref())
                ),
                tr!(lang, "cfg-campaign-backwards-help"),
            );
        }
        let plays = required(t, d, "plays_per_day", Fields::integer).and_then(|n| {
            match u32::try_from(*n.get_ref()) {
                Ok(v @ 1..=96) => Some(v),
                _ => {
                    let lang = d.lang();
                    d.error_help(
                        n.span(),
                        tr!(lang, "cfg-plays-range", n = *n.get_ref()),
                        tr!(lang, "cfg-plays-range-help"),
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
                let lang = d.lang();
                d.error_help(
                    span,
                    tr!(lang, "cfg-file-or-text"),
                    tr!(lang, "cfg-file-or-text-help"),
                );
                None
            }
            (false, false) => {
                let lang = d.lang();
                d.error_help(
                    t.span(),
                    tr!(lang, "cfg-no-file-no-text", what = t.what()),
                    tr!(lang, "cfg-no-file-no-text-help"),
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
            let lang = d.lang();
            d.error_help(
                u.span(),
                tr!(
                    lang,
                    "cfg-valid-backwards",
                    until = &lang.date(*u.get_ref()),
                    from = &lang.date(*f.get_ref())
                ),
                tr!(lang, "cfg-valid-backwards-help"),
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
        let lang = d.lang();
        d.error_help(
            p.span(),
            tr!(lang, "cfg-priority", text = &format!("{:?}", p.get_ref())),
            tr!(lang, "cfg-priority-help"),
        );
    }
    parsed
}

/// Reads the whole of schedule.toml. `check_from` is the first day the overlap check looks at
/// for cron sessions, whose occurrences depend on the date.
pub fn read(
    root: &mut Fields,
    d: &mut Diagnostics,
    dir: &Path,
    media: &mut dyn Media,
    check_from: NaiveDate,
    quiet: Option<QuietHours>,
) -> Option<Schedule> {
    let errors_before = d.len();
    let mut r = Reader {
        dir: dir.to_path_buf(),
        media,
        quiet,
    };
    let timezone = read_timezone(root, d);
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
    let mut special_tables = root.tables(d, "special");
    let peek = |tables: &[Fields], key| -> Vec<Spanned<String>> {
        tables.iter().filter_map(|t| t.peek_string(key)).collect()
    };
    let session_names = peek(&session_tables, "name");
    let campaign_ids = peek(&campaign_tables, "id");
    duplicates(d, &session_names, "session-name");
    duplicates(d, &campaign_ids, "campaign-id");
    duplicates(d, &peek(&bulletin_tables, "id"), "bulletin-id");

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
        if let Some(q) = quiet {
            quiet_sessions(q, &sessions, &session_spans, tz, check_from, d);
        }
    }
    let specials: Vec<Special> = special_tables
        .iter_mut()
        .filter_map(|t| {
            let quiet = r.quiet;
            special(t, d, &session_names, &sessions, quiet, &mut |t, d| {
                r.item(t, d)
            })
        })
        .collect();
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
        .chain(special_tables)
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
        specials,
    })
}

/// `timezone`: an IANA name; Vietnam's when absent.
fn read_timezone(root: &mut Fields, d: &mut Diagnostics) -> Option<Tz> {
    match root.string(d, "timezone") {
        Some(tz) => match tz.get_ref().parse::<Tz>() {
            Ok(z) => Some(z),
            Err(_) => {
                let lang = d.lang();
                d.error_help(
                    tz.span(),
                    tr!(lang, "cfg-timezone", text = &format!("{:?}", tz.get_ref())),
                    tr!(lang, "cfg-timezone-help"),
                );
                None
            }
        },
        None => Some(DEFAULT_TIMEZONE),
    }
}

fn duplicates(d: &mut Diagnostics, names: &[Spanned<String>], what: &str) {
    let mut first: HashMap<&str, usize> = HashMap::new();
    for (i, n) in names.iter().enumerate() {
        if let Some(&j) = first.get(n.get_ref().as_str()) {
            let (line, _) = crate::config::diag::line_column(d.source(), names[j].span().start);
            let lang = d.lang();
            d.error_help(
                n.span(),
                tr!(
                    lang,
                    "cfg-duplicate",
                    what = &lang.text(&format!("cfg-what-{what}"), &[]),
                    name = &format!("{:?}", n.get_ref())
                ),
                tr!(lang, "cfg-duplicate-help", line = line),
            );
        } else {
            first.insert(n.get_ref(), i);
        }
    }
}
