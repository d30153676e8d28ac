//! `station.toml`: set up once by the installer (SPEC §5).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use chrono::TimeDelta;

use super::toml_reader::Fields;
use crate::config::diag::Diagnostics;
use crate::core::units::parse_duration;
use crate::tr;

/// The speech engine `[tts] command` defaults to (`{out}`: the WAV it writes).
pub const DEFAULT_TTS_COMMAND: [&str; 6] = ["espeak-ng", "-v", "vi", "-w", "{out}", "--stdin"];

#[derive(Debug, Clone, PartialEq)]
pub struct Station {
    pub station_id: String,
    pub state_dir: PathBuf,
    pub audio: Audio,
    pub amplifier: Option<Amplifier>,
    pub feed: Feed,
    pub emergency: Emergency,
    pub api: Api,
    /// The text-to-speech command for text bulletins (see `tts`).
    pub tts: Vec<String>,
    /// The province's broker (SPEC §13), if this station joins the fleet channel.
    pub fleet: Option<super::fleet::Fleet>,
    /// Where the station listens to what it emits (SPEC §14 `[monitor]`).
    pub monitor: Option<super::monitor::Monitor>,
    /// Area codes the station belongs to, for bulletins targeted `"area:<code>"`.
    pub areas: Vec<String>,
    /// Plays test and exercise alerts (a station set aside for drills).
    pub test_mode: bool,
    /// What a person reads (SPEC §16): `language = "vi"` (the default) or `"en"`.
    pub language: crate::i18n::Lang,
}

impl Station {
    /// Whether `other` keeps its state in the same directory (a reload cannot move it).
    pub fn keeps_state_with(&self, other: &Station) -> bool {
        self.state_dir == other.state_dir
    }

    /// This station as bulletins' targets see it.
    pub fn here(&self) -> crate::core::targets::Here<'_> {
        crate::core::targets::Here {
            station_id: &self.station_id,
            areas: &self.areas,
            test_mode: self.test_mode,
        }
    }
}

/// Where the sound goes (`[audio] output`).
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    Default,
    Alsa(String),
    Pulse(Option<String>),
    Wav(PathBuf),
    Null,
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Output::Default => write!(f, "default"),
            Output::Alsa(pcm) => write!(f, "alsa:{pcm}"),
            Output::Pulse(None) => write!(f, "pulse"),
            Output::Pulse(Some(sink)) => write!(f, "pulse:{sink}"),
            Output::Wav(path) => write!(f, "wav:{}", path.display()),
            Output::Null => write!(f, "null"),
        }
    }
}

impl Output {
    pub fn parse(text: &str, config_dir: &Path) -> Option<Output> {
        Some(match text.split_once(':') {
            None if text == "default" => Output::Default,
            None if text == "null" => Output::Null,
            None if text == "pulse" => Output::Pulse(None),
            Some(("alsa", pcm)) if !pcm.is_empty() => Output::Alsa(pcm.into()),
            Some(("pulse", sink)) if !sink.is_empty() => Output::Pulse(Some(sink.into())),
            Some(("wav", path)) if !path.is_empty() => Output::Wav(config_dir.join(path)),
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    pub output: Output,
    pub volume: f64,
    /// Integrated loudness to bring every file to, in LUFS; `None` plays files as they are.
    pub loudness_target: Option<f64>,
    /// Leading and trailing audio quieter than this (dBFS) is not played; `None` keeps it.
    pub trim_silence_below: Option<f64>,
    /// The longest audio taken from any source (SPEC §11).
    pub max_duration: TimeDelta,
    /// Only an emergency may sound in these hours (SPEC §12).
    pub quiet_hours: Option<crate::core::schedule::QuietHours>,
}

pub const DEFAULT_TRIM_SILENCE_DB: f64 = -50.0;

#[derive(Debug, Clone, PartialEq)]
pub struct Amplifier {
    pub on: Vec<String>,
    pub off: Vec<String>,
    pub warmup: TimeDelta,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Feed {
    pub url: Option<String>,
    /// minisign public keys (base64, as in a `.pub` file's second line).
    pub public_keys: Vec<String>,
    pub poll: TimeDelta,
    pub max_bulletin_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Emergency {
    pub start_chime: Option<PathBuf>,
    pub end_chime: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Api {
    pub listen: SocketAddr,
    /// Bearer token for reads when `listen` is not a loopback address (SPEC §11).
    pub token: Option<String>,
}

impl Api {
    /// Reads need the token: the API is reachable from other machines.
    pub fn reads_need_token(&self) -> bool {
        !self.listen.ip().is_loopback()
    }
}

pub const DEFAULT_STATE_DIR: &str = "/var/lib/loaxa";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8470";
pub const DEFAULT_MAX_BULLETIN_BYTES: u64 = 50 * 1024 * 1024;

/// Reads station.toml's top table. Returns `None` when anything is wrong (and says what in `d`).
pub fn read(root: &mut Fields, d: &mut Diagnostics, config_dir: &Path) -> Option<Station> {
    let errors_before = d.len();
    let station_id = read_station_id(root, d);
    let state_dir = read_paths(root, d, config_dir);
    let audio = read_audio(root, d, config_dir);
    let amplifier = read_amplifier(root, d, config_dir);
    let feed = read_feed(root, d);
    let emergency = read_emergency(root, d, config_dir);
    let api = read_api(root, d)?;
    let tts = read_tts(root, d, config_dir);
    let fleet = super::fleet::read(root, d, config_dir);
    let monitor = super::monitor::read(root, d);
    let areas = read_areas(root, d);
    let test_mode = root.boolean(d, "test_mode").is_some_and(|b| b.into_inner());
    let language = read_language(root, d);

    if d.len() > errors_before {
        return None;
    }
    Some(Station {
        station_id: station_id?,
        state_dir,
        audio,
        amplifier,
        feed,
        emergency,
        api,
        tts,
        fleet,
        monitor,
        areas,
        test_mode,
        language,
    })
}

/// `language`: vi or en.
fn read_language(root: &mut Fields, d: &mut Diagnostics) -> crate::i18n::Lang {
    let Some(text) = root.string(d, "language") else {
        return crate::i18n::Lang::default();
    };
    crate::i18n::Lang::parse(text.get_ref()).unwrap_or_else(|| {
        d.error_help(
            text.span(),
            tr!(
                d.lang(),
                "st-language",
                text = &format!("{:?}", text.get_ref())
            ),
            tr!(d.lang(), "st-language-help"),
        );
        crate::i18n::Lang::default()
    })
}

/// `station_id`: a plain ASCII id (it names topics, files and URLs).
fn read_station_id(root: &mut Fields, d: &mut Diagnostics) -> Option<String> {
    let station_id = root.required_string(d, "station_id");
    if let Some(id) = &station_id {
        let ok = !id.get_ref().is_empty()
            && id
                .get_ref()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !ok {
            d.error_help(
                id.span(),
                tr!(
                    d.lang(),
                    "st-station-id",
                    id = &format!("{:?}", id.get_ref())
                ),
                tr!(d.lang(), "st-station-id-help"),
            );
        }
    }
    station_id.map(|id| id.into_inner())
}

/// `[paths] state`.
fn read_paths(root: &mut Fields, d: &mut Diagnostics, config_dir: &Path) -> PathBuf {
    let mut state_dir = PathBuf::from(DEFAULT_STATE_DIR);
    if let Some(mut paths) = root.table(d, "paths") {
        if let Some(state) = paths.string(d, "state") {
            state_dir = config_dir.join(state.get_ref());
        }
        paths.finish(d);
    }
    state_dir
}

/// `[audio]`.
fn read_audio(root: &mut Fields, d: &mut Diagnostics, config_dir: &Path) -> Audio {
    let mut audio = Audio {
        output: Output::Default,
        volume: 1.0,
        loudness_target: None,
        trim_silence_below: Some(DEFAULT_TRIM_SILENCE_DB),
        max_duration: crate::core::media::DEFAULT_MAX_DURATION,
        quiet_hours: None,
    };
    if let Some(mut t) = root.table(d, "audio") {
        if let Some(out) = t.string(d, "output") {
            match Output::parse(out.get_ref(), config_dir) {
                Some(o) => audio.output = o,
                None => d.error_help(
                    out.span(),
                    tr!(
                        d.lang(),
                        "st-output",
                        output = &format!("{:?}", out.get_ref())
                    ),
                    tr!(d.lang(), "st-output-help"),
                ),
            }
        }
        if let Some(v) = t.float(d, "volume") {
            if (0.0..=1.0).contains(v.get_ref()) {
                audio.volume = *v.get_ref();
            } else {
                d.error_help(
                    v.span(),
                    tr!(d.lang(), "st-volume", value = &v.get_ref().to_string()),
                    tr!(d.lang(), "st-volume-help"),
                );
            }
        }
        if let Some(v) = t.float(d, "loudness_target") {
            if (-40.0..=-5.0).contains(v.get_ref()) {
                audio.loudness_target = Some(*v.get_ref());
            } else {
                d.error_help(
                    v.span(),
                    tr!(d.lang(), "st-loudness", value = &v.get_ref().to_string()),
                    tr!(d.lang(), "st-loudness-help"),
                );
            }
        }
        if let Some(v) = t.float(d, "trim_silence_below") {
            if (-70.0..=-30.0).contains(v.get_ref()) {
                audio.trim_silence_below = Some(*v.get_ref());
            } else {
                d.error_help(
                    v.span(),
                    tr!(d.lang(), "st-trim", value = &v.get_ref().to_string()),
                    tr!(d.lang(), "st-trim-help"),
                );
            }
        }
        if let Some(v) = t.boolean(d, "trim_silence")
            && !v.get_ref()
        {
            audio.trim_silence_below = None;
        }
        if let Some(max) = duration(&mut t, d, "max_duration") {
            if max < TimeDelta::seconds(10) || max > TimeDelta::hours(24) {
                d.error_help(
                    t.value("max_duration").map_or(t.span(), |v| v.span()),
                    tr!(d.lang(), "st-max-duration"),
                    tr!(d.lang(), "st-max-duration-help"),
                );
            } else {
                audio.max_duration = max;
            }
        }
        if let Some(q) = t.string(d, "quiet_hours") {
            match crate::core::schedule::QuietHours::parse(q.get_ref()) {
                Ok(quiet) => audio.quiet_hours = Some(quiet),
                Err(e) => {
                    let lang = d.lang();
                    d.error_help(
                        q.span(),
                        tr!(lang, "st-quiet-hours", why = &e),
                        tr!(lang, "st-quiet-hours-help"),
                    )
                }
            }
        }
        t.finish(d);
    }
    audio
}

/// `[amplifier]`: both commands, or none.
fn read_amplifier(root: &mut Fields, d: &mut Diagnostics, config_dir: &Path) -> Option<Amplifier> {
    let mut amplifier = None;
    if let Some(mut t) = root.table(d, "amplifier") {
        let on = command(&mut t, d, "on", config_dir);
        let off = command(&mut t, d, "off", config_dir);
        let warmup = duration(&mut t, d, "warmup").unwrap_or(TimeDelta::zero());
        if let (Some(on), Some(off)) = (on, off) {
            amplifier = Some(Amplifier { on, off, warmup });
        }
        t.finish(d);
    }
    amplifier
}

/// `[feed]`.
fn read_feed(root: &mut Fields, d: &mut Diagnostics) -> Feed {
    let mut feed = Feed {
        url: None,
        public_keys: Vec::new(),
        poll: TimeDelta::seconds(60),
        max_bulletin_bytes: DEFAULT_MAX_BULLETIN_BYTES,
    };
    if let Some(mut t) = root.table(d, "feed") {
        if let Some(url) = t.string(d, "url") {
            let u = url.get_ref();
            if u.starts_with("http://") || u.starts_with("https://") {
                feed.url = Some(u.clone());
            } else {
                d.error_help(
                    url.span(),
                    tr!(d.lang(), "st-feed-url", url = &format!("{u:?}")),
                    tr!(d.lang(), "st-feed-url-help"),
                );
            }
        }
        for key in t.string_array(d, "public_keys").unwrap_or_default() {
            match decode_public_key(key.get_ref()) {
                Ok(()) => feed.public_keys.push(key.into_inner()),
                Err(why) => d.error_help(
                    key.span(),
                    tr!(d.lang(), "st-public-key", why = &why),
                    tr!(d.lang(), "st-public-key-help"),
                ),
            }
        }
        if let Some(poll) = duration(&mut t, d, "poll") {
            if poll < TimeDelta::seconds(5) {
                d.error_help(
                    t.span(),
                    tr!(d.lang(), "st-poll"),
                    tr!(d.lang(), "st-poll-help"),
                );
            } else {
                feed.poll = poll;
            }
        }
        if let Some(max) = t.integer(d, "max_bulletin_bytes") {
            match u64::try_from(*max.get_ref()) {
                Ok(n) if n > 0 => feed.max_bulletin_bytes = n,
                _ => d.error_help(
                    max.span(),
                    tr!(d.lang(), "st-max-bytes"),
                    tr!(d.lang(), "st-max-bytes-help"),
                ),
            }
        }
        if feed.url.is_some() && feed.public_keys.is_empty() {
            d.error_help(
                t.span(),
                tr!(d.lang(), "st-no-keys"),
                tr!(d.lang(), "st-no-keys-help"),
            );
        }
        t.finish(d);
    }
    feed
}

/// `[emergency]`: the chimes, which must exist.
fn read_emergency(root: &mut Fields, d: &mut Diagnostics, config_dir: &Path) -> Emergency {
    let mut emergency = Emergency::default();
    if let Some(mut t) = root.table(d, "emergency") {
        emergency.start_chime = t
            .string(d, "start_chime")
            .map(|p| config_dir.join(p.get_ref()));
        emergency.end_chime = t
            .string(d, "end_chime")
            .map(|p| config_dir.join(p.get_ref()));
        for (key, path) in [
            ("start_chime", &emergency.start_chime),
            ("end_chime", &emergency.end_chime),
        ] {
            if let (Some(path), Some(v)) = (path, t.value(key))
                && !path.is_file()
            {
                d.error_help(
                    v.span(),
                    tr!(
                        d.lang(),
                        "st-chime",
                        key = key,
                        path = &path.display().to_string()
                    ),
                    tr!(d.lang(), "st-chime-help"),
                );
            }
        }
        t.finish(d);
    }
    emergency
}

/// `[api]`.
fn read_api(root: &mut Fields, d: &mut Diagnostics) -> Option<Api> {
    let mut api = Api {
        listen: DEFAULT_LISTEN.parse().ok()?,
        token: None,
    };
    if let Some(mut t) = root.table(d, "api") {
        if let Some(listen) = t.string(d, "listen") {
            match listen.get_ref().parse() {
                Ok(addr) => api.listen = addr,
                Err(_) => d.error_help(
                    listen.span(),
                    tr!(
                        d.lang(),
                        "st-listen",
                        text = &format!("{:?}", listen.get_ref())
                    ),
                    tr!(d.lang(), "st-listen-help"),
                ),
            }
        }
        if let Some(token) = t.string(d, "token") {
            let ok = token.get_ref().len() >= 16
                && token.get_ref().len() <= 256
                && token.get_ref().bytes().all(|b| b.is_ascii_graphic());
            if ok {
                api.token = Some(token.into_inner());
            } else {
                d.error_help(
                    token.span(),
                    tr!(d.lang(), "st-token"),
                    tr!(d.lang(), "st-token-help"),
                );
            }
        }
        t.finish(d);
    }
    Some(api)
}

/// `[tts] command`: relative program paths start at the config dir.
fn read_tts(root: &mut Fields, d: &mut Diagnostics, config_dir: &Path) -> Vec<String> {
    let mut tts: Vec<String> = DEFAULT_TTS_COMMAND.map(String::from).to_vec();
    if let Some(mut t) = root.table(d, "tts") {
        if let Some(parts) = t.string_array(d, "command") {
            let span = t.value("command").map(|v| v.span()).unwrap_or(t.span());
            let mut parts: Vec<String> = parts.into_iter().map(|p| p.into_inner()).collect();
            if parts.is_empty() || !parts.iter().any(|p| p.contains("{out}")) {
                d.error_help(span, tr!(d.lang(), "st-tts"), tr!(d.lang(), "st-tts-help"));
            } else {
                if parts[0].contains('/') && Path::new(&parts[0]).is_relative() {
                    parts[0] = config_dir.join(&parts[0]).to_string_lossy().into_owned();
                }
                tts = parts;
            }
        }
        t.finish(d);
    }
    tts
}

/// The most area codes a station lists, and the longest.
pub const MAX_AREAS: usize = 32;
const MAX_AREA_CHARS: usize = 64;

/// `areas = ["VN-ADM=31", …]`: codes as a CAP alert's geocodes write them (`valueName=value`).
fn read_areas(root: &mut Fields, d: &mut Diagnostics) -> Vec<String> {
    let items = root.string_array(d, "areas").unwrap_or_default();
    if items.len() > MAX_AREAS {
        d.error(
            items[MAX_AREAS].span(),
            tr!(d.lang(), "st-areas", max = MAX_AREAS),
        );
    }
    let mut out = Vec::new();
    for a in items.into_iter().take(MAX_AREAS) {
        let text = a.get_ref();
        let ok = text.chars().count() <= MAX_AREA_CHARS
            && text
                .split_once('=')
                .is_some_and(|(k, v)| !k.is_empty() && !v.is_empty())
            && !text.chars().any(|c| c.is_control() || c.is_whitespace());
        if ok {
            out.push(text.clone());
        } else {
            d.error_help(
                a.span(),
                tr!(d.lang(), "st-area", text = &format!("{text:?}")),
                tr!(d.lang(), "st-area-help"),
            );
        }
    }
    out
}

/// A command given as a list: program and arguments, run without a shell. A relative
/// program path with a slash (`scripts/relay`) is resolved against the config dir; a bare
/// name (`relay`) is looked up in PATH.
fn command(
    t: &mut Fields,
    d: &mut Diagnostics,
    key: &'static str,
    config_dir: &Path,
) -> Option<Vec<String>> {
    if !t.has(key) {
        t.missing(d, key);
        return None;
    }
    let parts = t.string_array(d, key)?;
    if parts.is_empty() {
        d.error_help(
            t.span(),
            tr!(d.lang(), "st-amp-empty", key = key),
            tr!(d.lang(), "st-amp-empty-help"),
        );
        return None;
    }
    let mut parts: Vec<String> = parts.into_iter().map(|p| p.into_inner()).collect();
    if parts[0].contains('/') && Path::new(&parts[0]).is_relative() {
        parts[0] = config_dir.join(&parts[0]).to_string_lossy().into_owned();
    }
    Some(parts)
}

pub(super) fn duration(
    t: &mut Fields,
    d: &mut Diagnostics,
    key: &'static str,
) -> Option<TimeDelta> {
    let text = t.string(d, key)?;
    match parse_duration(text.get_ref()) {
        Ok(v) => Some(v),
        Err(_) => {
            let lang = d.lang();
            d.error_help(
                text.span(),
                tr!(
                    lang,
                    "cfg-not-duration",
                    key = key,
                    what = t.what(),
                    text = &format!("{:?}", text.get_ref())
                ),
                tr!(lang, "cfg-duration-help"),
            );
            None
        }
    }
}

/// minisign public keys are base64 of 42 bytes ("Ed" + key id + key): 56 characters.
/// The key must decode as one, or no signature could ever verify against it.
fn decode_public_key(text: &str) -> Result<(), String> {
    if text.len() != 56 || !text.starts_with("RW") {
        return Err(format!("it is {} characters long", text.chars().count()));
    }
    minisign_verify::PublicKey::from_base64(text)
        .map(|_| ())
        .map_err(|e| e.to_string())
}
