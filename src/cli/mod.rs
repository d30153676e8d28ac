//! The `loaxa` command line (SPEC §6): argument parsing and the commands.

#[cfg(feature = "province")]
mod args;
#[cfg(feature = "province")]
mod cap;
#[cfg(feature = "province")]
mod fleet;
#[cfg(feature = "province")]
mod province;
mod status;

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use clap::{Parser, Subcommand, ValueEnum};

use crate::config::{self, Config};
use crate::i18n::Lang;
use crate::station::plan as plan_view;
use crate::tr;

fn parse_lang(text: &str) -> Result<Lang, String> {
    Lang::parse(text).ok_or_else(|| format!("{text:?}: use vi or en"))
}

/// Exit codes (SPEC §6).
const EXIT_RUNTIME: u8 = 1;
const EXIT_CONFIG: u8 = 78;

#[derive(Parser)]
#[command(
    name = "loaxa",
    version,
    about = "Broadcast daemon for a commune loudspeaker radio (đài truyền thanh cấp xã)"
)]
struct Cli {
    /// Config dir holding station.toml and schedule.toml [default: $LOAXA_CONFIG or /etc/loaxa]
    #[arg(long, global = true, value_name = "DIR")]
    config: Option<PathBuf>,
    /// Log format on stderr
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human)]
    log_format: LogFormat,
    /// The language of what a person reads: vi or en [default: $LOAXA_LANG, else
    /// station.toml's `language`, else vi]
    #[arg(long, global = true, value_parser = parse_lang)]
    lang: Option<Lang>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// The daemon: broadcast the plan on the clock, day after day
    Run {
        /// Rehearsal: run with the clock shifted so that now is this instant (RFC 3339)
        #[arg(long, value_name = "RFC3339")]
        start_at: Option<DateTime<FixedOffset>>,
    },
    /// What the running daemon is doing: now playing, next items, quotas
    Status {
        /// JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// The audio outputs `[audio] output` can name
    Devices,
    /// Decode FILE from start to end and print what was measured (used by the feed sync,
    /// in a separate process, before any file enters the catalog)
    #[command(hide = true)]
    ValidateAudio {
        file: PathBuf,
        #[arg(long, default_value_t = 4 * 3_600_000)]
        max_duration_ms: i64,
    },
    /// Sound check: play one file on the configured output, amplifier included
    Play {
        /// The audio file
        file: PathBuf,
    },
    /// Validate station.toml and schedule.toml; print every error (exit 78) or a summary
    Check,
    #[cfg(feature = "province")]
    #[command(flatten)]
    Province(Box<province::Command>),
    /// Proof of play: per campaign per day, plays done vs required, from the as-run log
    Report {
        /// First day (YYYY-MM-DD)
        #[arg(long)]
        from: NaiveDate,
        /// Last day, included (YYYY-MM-DD)
        #[arg(long)]
        to: NaiveDate,
        /// JSON instead of a table
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        /// CSV (UTF-8) for a spreadsheet
        #[arg(long)]
        csv: bool,
        /// With --csv: start with a byte-order mark (for Excel)
        #[arg(long, requires = "csv")]
        bom: bool,
        /// Count only plays the monitor heard (`"heard": "yes"`, needs `[monitor]`)
        #[arg(long)]
        heard: bool,
    },
    /// Show a day's plan: what plays when, campaign quotas and warnings
    Plan {
        /// The day to plan [default: today in the station's time zone]
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: Option<NaiveDate>,
        /// JSON instead of a table
        #[arg(long)]
        json: bool,
    },
}

pub fn main() -> ExitCode {
    #[cfg(not(feature = "province"))]
    if let Some(name) = province_command(std::env::args().skip(1)) {
        eprintln!(
            "error: `loaxa {name}` is one of the province's tools; this loaxa is a station's \
             build (without the cargo feature `province`). Run it where the province's loaxa is \
             installed."
        );
        return ExitCode::from(2);
    }
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let dir = config::config_dir(cli.config);
    let lang = crate::i18n::for_command(cli.lang, &dir);
    if let Some(chosen) = cli.lang {
        // Said on the command line: it holds for the config's own errors too.
        crate::i18n::choose(chosen);
    }
    match cli.command {
        Command::Run { start_at } => match crate::daemon::run(&dir, start_at) {
            Ok(()) => ExitCode::SUCCESS,
            Err(crate::daemon::RunError::Config(_)) => ExitCode::from(EXIT_CONFIG),
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(EXIT_RUNTIME)
            }
        },
        Command::Status { json } => status(&dir, json, lang),
        Command::Devices => {
            for (value, description) in crate::audio::output::list_devices() {
                println!("{value:<40} {description}");
            }
            ExitCode::SUCCESS
        }
        Command::Play { file } => play(&dir, &file, lang),
        Command::ValidateAudio {
            file,
            max_duration_ms,
        } => match validate_audio(&file, max_duration_ms) {
            Ok(info) => {
                println!("{}", serde_json::to_string(&info).unwrap_or_default());
                ExitCode::SUCCESS
            }
            Err(e) => runtime_error(&e.to_string()),
        },
        Command::Check => check(&dir, lang),
        #[cfg(feature = "province")]
        Command::Province(command) => province::run(*command, lang),
        Command::Plan { date, json } => plan(&dir, date, json, lang),
        Command::Report {
            from,
            to,
            json,
            csv,
            bom,
            heard,
        } => report(&dir, (from, to), heard, json, csv.then_some(bom), lang),
    }
}

/// The child side of the audio check: limits first, then the whole decode.
fn validate_audio(
    file: &std::path::Path,
    max_ms: i64,
) -> Result<crate::audio::ingest::MediaInfo, crate::audio::ingest::MediaError> {
    crate::audio::validate::limit_memory();
    crate::audio::validate::check_audio(file, chrono::TimeDelta::milliseconds(max_ms))
}

fn init_logging(format: LogFormat) {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    // `Targets` ("info,loaxa::daemon=debug") rather than `EnvFilter`: the same directives
    // loaxa's users write, without the regex engine EnvFilter builds in (a fifth of a
    // newcomer's first build).
    const DEFAULT: &str = "info,symphonia=warn,pulseaudio=warn,pulseaudio::client::reactor=off";
    let wanted = std::env::var("LOAXA_LOG").ok();
    let filter: Targets = match wanted.as_deref().map(str::parse::<Targets>) {
        Some(Ok(filter)) => filter,
        Some(Err(e)) => {
            eprintln!("LOAXA_LOG: {e} (write e.g. `debug` or `info,loaxa::daemon=debug`)");
            DEFAULT.parse().unwrap_or_default()
        }
        None => DEFAULT.parse().unwrap_or_default(),
    };
    let layer = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        LogFormat::Human => registry.with(layer).init(),
        LogFormat::Json => registry.with(layer.json()).init(),
    }
}

/// Loads the config or prints every problem with it.
fn load(dir: &std::path::Path, lang: Lang) -> Result<Config, ExitCode> {
    let today = Utc::now()
        .with_timezone(&crate::core::schedule::DEFAULT_TIMEZONE)
        .date_naive();
    crate::station::config::load(dir, today).map_err(|errors| {
        for e in &errors {
            eprintln!("{}", e.shown(lang));
        }
        let shown = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        let dir = shown.display().to_string();
        eprintln!(
            "{}",
            tr!(lang, "check-errors", count = errors.len(), dir = &dir)
        );
        ExitCode::from(EXIT_CONFIG)
    })
}

fn check(dir: &std::path::Path, lang: Lang) -> ExitCode {
    let config = match load(dir, lang) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let s = &config.schedule;
    let fill = s.fill.as_ref().map_or_else(
        || tr!(lang, "check-fill-none"),
        |f| tr!(lang, "check-fill-files", files = f.files.len()),
    );
    let dir = config.dir.display().to_string();
    println!(
        "{}",
        tr!(
            lang,
            "check-ok",
            dir = &dir,
            station = &config.station.station_id,
            sessions = s.sessions.len(),
            campaigns = s.campaigns.len(),
            bulletins = s.bulletins.len(),
            fill = &fill
        )
    );
    print_coming_warnings(&config, lang);
    ExitCode::SUCCESS
}

/// How many days ahead `check` plans, to say what `plan` would warn about.
const CHECK_DAYS: i64 = 7;

/// What the plans of the coming days could not do (a relay cut short, a quota that does
/// not fit): the config is valid, but the operator's intent is not met. Each warning once,
/// with the days it applies to.
fn print_coming_warnings(config: &Config, lang: Lang) {
    let tz = config.schedule.timezone;
    let today = Utc::now().with_timezone(&tz).date_naive();
    let mut seen: Vec<(String, Vec<NaiveDate>)> = Vec::new();
    // The state (feed, pushes) read once for the week; each day's history from its log.
    let catalog = crate::station::catalog::load(config);
    let store = crate::store::Store::of(&config.station);
    for date in (0..CHECK_DAYS).filter_map(|n| today.checked_add_signed(chrono::TimeDelta::days(n)))
    {
        let history = store.history(date, tz);
        let plan = plan_view::plan_of(config, &catalog, date, None, &history);
        for w in plan_view::warnings(&plan, lang) {
            match seen.iter_mut().find(|(text, _)| *text == w) {
                Some((_, dates)) => dates.push(date),
                None => seen.push((w, vec![date])),
            }
        }
    }
    if seen.is_empty() {
        return;
    }
    println!("{}", tr!(lang, "check-warnings", days = CHECK_DAYS));
    for (text, dates) in seen {
        let days = if dates.len() as i64 == CHECK_DAYS {
            tr!(lang, "check-every-day")
        } else {
            dates
                .iter()
                .map(|d| lang.date(*d))
                .collect::<Vec<_>>()
                .join(", ")
        };
        println!("  ! {days} — {text}");
    }
}

fn plan(dir: &std::path::Path, date: Option<NaiveDate>, json: bool, lang: Lang) -> ExitCode {
    let config = match load(dir, lang) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let tz = config.schedule.timezone;
    let date = date.unwrap_or_else(|| Utc::now().with_timezone(&tz).date_naive());
    let plan = plan_view::load(&config, date, None);
    print_json_or(&plan, json, |p| plan_view::render(p, lang))
}

/// `csv`: Some(with a byte-order mark?) for CSV output.
fn report(
    dir: &std::path::Path,
    (from, to): (NaiveDate, NaiveDate),
    heard: bool,
    json: bool,
    csv: Option<bool>,
    lang: Lang,
) -> ExitCode {
    let config = match load(dir, lang) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let counting = if heard {
        crate::core::report::Counting::Heard
    } else {
        crate::core::report::Counting::Ended
    };
    let tz = config.schedule.timezone;
    let now = Utc::now().with_timezone(&tz);
    let report = match crate::station::report::build(&config, from, to, counting, now) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(bom) = csv {
        print!("{}", crate::station::report::csv(&report, bom, lang, tz));
        return ExitCode::SUCCESS;
    }
    print_json_or(&report, json, |r| {
        crate::station::report::render(r, lang, tz)
    })
}

/// Prints `value` as pretty JSON, or as the text `render` makes of it.
fn print_json_or<T: serde::Serialize>(
    value: &T,
    json: bool,
    render: impl FnOnce(&T) -> String,
) -> ExitCode {
    if !json {
        print!("{}", render(value));
        return ExitCode::SUCCESS;
    }
    match serde_json::to_string_pretty(value) {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => runtime_error(&format!("cannot write JSON: {e}")),
    }
}

fn status(dir: &std::path::Path, json: bool, lang: Lang) -> ExitCode {
    // Only station.toml is needed: status must work while schedule.toml is being fixed.
    let station = match config::load_station(dir) {
        Ok(s) => s,
        Err(errors) => {
            errors.iter().for_each(|e| eprintln!("{}", e.shown(lang)));
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    match status::fetch(station.api.listen, station.api.token.as_deref()) {
        Ok(status) => print_json_or(&status, json, |s| status::render(s, lang)),
        Err(why) => {
            eprintln!("error: {why}");
            // The last status the daemon wrote, so the operator sees where it stopped.
            let store = crate::store::Store::of(&station);
            if let Ok(Some(mut last)) = store.read_status() {
                status::settle_if_stopped(&mut last, &store);
                eprintln!("{}", tr!(lang, "status-stopped-note"));
                eprint!("{}", status::render(&last, lang));
            }
            ExitCode::from(EXIT_RUNTIME)
        }
    }
}

/// A sound check: the amplifier, its warmup, one file, the amplifier off again.
fn play(dir: &std::path::Path, file: &std::path::Path, lang: Lang) -> ExitCode {
    use crate::audio::decode::{AudioStream, CHANNELS};
    use crate::sys::clock::SystemClock;
    let config = match load(dir, lang) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let clock = std::sync::Arc::new(SystemClock::new());
    let mut sink = match crate::audio::output::open(&config.station.audio.output, clock)
        .and_then(|mut s| s.start().map(|_| s))
    {
        Ok(s) => s,
        Err(e) => return runtime_error(&e.to_string()),
    };
    // As the broadcast would play it: silence trimmed, brought to loudness_target.
    let info = match crate::audio::ingest::measure(file, config.station.audio.max_duration) {
        Ok(i) => i,
        Err(e) => return runtime_error(&e.to_string()),
    };
    let mut stream = match AudioStream::open_file(file, sink.rate(), info.gapless_trusted) {
        Ok(s) => s,
        Err(e) => return runtime_error(&format!("{}: {e}", file.display())),
    };
    let audio = &config.station.audio;
    let span = info.span(audio.trim_silence_below);
    stream.trim(span.skip, span.len);
    let gain = audio.loudness_target.map_or(1.0, |t| info.gain_to(t));
    if audio.loudness_target.is_some() {
        stream.gain(gain, crate::core::media::PEAK_CEILING_DB);
    }
    let amp = config.station.amplifier.as_ref();
    if let Some(amp) = amp {
        if let Err(e) = crate::daemon::amplifier::run(&amp.on) {
            eprintln!("warning: amplifier on failed: {e}");
        }
        std::thread::sleep(amp.warmup.to_std().unwrap_or_default());
    }
    let volume = audio.volume as f32;
    let mut buf = vec![0.0f32; (sink.rate() as usize / 50) * CHANNELS];
    let mut frames = 0u64;
    let result = loop {
        let n = stream.read(&mut buf);
        if n == 0 {
            break sink.drain();
        }
        buf[..n * CHANNELS].iter_mut().for_each(|s| *s *= volume);
        if let Err(e) = sink.write(&buf[..n * CHANNELS]) {
            break Err(e);
        }
        frames += n as u64;
    };
    sink.stop();
    if let Some(amp) = amp
        && let Err(e) = crate::daemon::amplifier::run(&amp.off)
    {
        eprintln!("warning: amplifier off failed: {e}");
    }
    match result {
        Ok(()) if frames > 0 => {
            println!(
                "played {} ({:.1}s) on {}{}",
                file.display(),
                frames as f64 / f64::from(sink.rate()),
                config.station.audio.output,
                match (info.loudness_lufs, config.station.audio.loudness_target) {
                    (Some(l), Some(t)) => format!(
                        "; {l:.1} LUFS brought to {t:.1} ({:+.1} dB)",
                        20.0 * f64::from(gain).log10()
                    ),
                    _ => String::new(),
                }
            );
            ExitCode::SUCCESS
        }
        Ok(()) => runtime_error(&format!("{}: no audio could be decoded", file.display())),
        Err(e) => runtime_error(&e.to_string()),
    }
}

/// The province's command a station's build was asked for, if it was: the first word
/// that is neither an option nor an option's value.
#[cfg_attr(feature = "province", allow(dead_code))]
fn province_command(args: impl Iterator<Item = String>) -> Option<String> {
    const PROVINCE: [&str; 5] = ["keygen", "feed", "push", "cap", "fleet"];
    let mut args = args;
    while let Some(arg) = args.next() {
        if arg == "--config" || arg == "--log-format" {
            args.next();
        } else if !arg.starts_with('-') {
            return PROVINCE.contains(&arg.as_str()).then_some(arg);
        }
    }
    None
}

pub(crate) fn runtime_error(what: &str) -> ExitCode {
    eprintln!("error: {what}");
    ExitCode::from(EXIT_RUNTIME)
}

#[cfg(test)]
mod tests {
    use super::province_command;

    fn asked(args: &[&str]) -> Option<String> {
        province_command(args.iter().map(|a| a.to_string()))
    }

    #[test]
    fn the_province_command_is_the_first_word_that_is_not_an_option() {
        assert_eq!(asked(&["fleet", "status"]).as_deref(), Some("fleet"));
        assert_eq!(asked(&["--config", "push", "cap"]).as_deref(), Some("cap"));
        assert_eq!(
            asked(&["--log-format", "json", "keygen", "k"]).as_deref(),
            Some("keygen")
        );
        assert_eq!(
            asked(&["--config=/etc/loaxa", "feed"]).as_deref(),
            Some("feed")
        );
        assert_eq!(asked(&["run", "push"]), None);
        assert_eq!(asked(&["--help"]), None);
    }
}
