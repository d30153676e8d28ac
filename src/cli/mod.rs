//! The `loaxa` command line (SPEC §6): argument parsing and the commands.

mod cap;
mod fleet;
mod status;

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use clap::{Parser, Subcommand, ValueEnum};

use crate::config::{self, Config};
use crate::core::catalog::Priority;
use crate::station::plan as plan_view;

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
    /// Make a minisign-compatible key pair for a province: DIR/loaxa.key and DIR/loaxa.pub
    Keygen { dir: PathBuf },
    /// Build and sign a static feed directory (the province's side)
    Feed {
        #[command(subcommand)]
        action: FeedAction,
    },
    /// Push one signed bulletin to a station (the province's side), or withdraw one
    Push {
        /// The station's API, e.g. http://10.1.2.3:8470 (or its /api/v1/push)
        url: String,
        /// The audio file (not with --cancel or --text)
        #[arg(required_unless_present_any = ["cancel", "text"])]
        file: Option<PathBuf>,
        /// A text the station speaks with its text-to-speech command, instead of a file
        #[arg(long, conflicts_with = "file")]
        text: Option<String>,
        /// The province's secret key (from `loaxa keygen`)
        #[arg(long)]
        key: PathBuf,
        #[arg(long, required_unless_present = "cancel")]
        title: Option<String>,
        #[arg(long, value_parser = parse_priority, default_value = "normal")]
        priority: Priority,
        /// Plays of an emergency [default: 3]
        #[arg(long)]
        repeat: Option<u32>,
        /// The push must reach the station within this long, at most 24h [default: 2h]
        #[arg(long, value_parser = parse_span)]
        expires: Option<chrono::TimeDelta>,
        /// Sign as if now were this instant: for a rehearsal against a station run with
        /// `--start-at` [default: now]
        #[arg(long, value_name = "RFC3339")]
        issued_at: Option<DateTime<FixedOffset>>,
        /// The push id (each id is taken once) [default: made from the time]
        #[arg(long)]
        id: Option<String>,
        #[arg(long)]
        campaign: Option<String>,
        #[command(flatten)]
        validity: Validity,
        /// Withdraw this bulletin (pushed or from the feed) instead of pushing one
        #[arg(long, value_name = "BULLETIN_ID", conflicts_with = "file")]
        cancel: Option<String>,
    },
    /// CAP 1.2 alerts into signed bulletins (SPEC §14), the province's side
    Cap {
        #[command(subcommand)]
        action: cap::CapAction,
    },
    /// The fleet channel, the province's side (SPEC §13): see and reach every station
    /// through the MQTT broker
    Fleet {
        #[command(subcommand)]
        action: fleet::FleetAction,
    },
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

/// When and where a bulletin may play (feed add, push).
#[derive(clap::Args)]
struct Validity {
    /// First day it may play
    #[arg(long)]
    from: Option<NaiveDate>,
    /// Last day it may play
    #[arg(long)]
    until: Option<NaiveDate>,
    /// Only these stations (repeatable) [default: every station]
    #[arg(long = "target")]
    targets: Vec<String>,
}

#[derive(Subcommand)]
enum FeedAction {
    /// Add (or replace) a bulletin: copies FILE into DIR/audio and lists it in DIR/feed.json
    /// (or, with --text, a text that stations speak themselves)
    Add {
        dir: PathBuf,
        #[arg(required_unless_present = "text")]
        file: Option<PathBuf>,
        /// A text bulletin: stations speak it with their text-to-speech command
        #[arg(long, conflicts_with = "file")]
        text: Option<String>,
        #[arg(long)]
        title: String,
        /// The bulletin id [default: the file name without extension]
        #[arg(long)]
        id: Option<String>,
        #[arg(long)]
        campaign: Option<String>,
        #[arg(long, value_parser = parse_priority, default_value = "normal")]
        priority: Priority,
        #[command(flatten)]
        validity: Validity,
    },
    /// Add (or replace) a campaign: a directive's plays per day over a date range
    Campaign {
        dir: PathBuf,
        #[arg(long)]
        id: String,
        #[arg(long)]
        title: String,
        #[arg(long)]
        from: NaiveDate,
        #[arg(long)]
        until: NaiveDate,
        #[arg(long)]
        plays_per_day: u32,
        #[arg(long, default_value = "0s")]
        min_gap: String,
        /// Session names it may use, comma-separated [default: all]
        #[arg(long, value_delimiter = ',')]
        sessions: Option<Vec<String>>,
        #[arg(long, value_parser = parse_priority, default_value = "normal")]
        priority: Priority,
    },
    /// Withdraw a bulletin: stations stop it at once and never play it again
    Revoke { dir: PathBuf, id: String },
    /// Bump the sequence and sign DIR/feed.json with KEY (writes feed.json.minisig)
    Publish {
        dir: PathBuf,
        #[arg(long)]
        key: PathBuf,
    },
}

pub(crate) fn parse_span(text: &str) -> Result<chrono::TimeDelta, String> {
    crate::core::units::parse_duration(text).map_err(|e| e.to_string())
}

pub(crate) fn parse_priority(text: &str) -> Result<Priority, String> {
    Priority::parse(text).ok_or_else(|| format!("{text:?}: use normal, priority or emergency"))
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let dir = config::config_dir(cli.config);
    match cli.command {
        Command::Run { start_at } => match crate::daemon::run(&dir, start_at) {
            Ok(()) => ExitCode::SUCCESS,
            Err(crate::daemon::RunError::Config(_)) => ExitCode::from(EXIT_CONFIG),
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(EXIT_RUNTIME)
            }
        },
        Command::Status { json } => status(&dir, json),
        Command::Devices => {
            for (value, description) in crate::audio::output::list_devices() {
                println!("{value:<40} {description}");
            }
            ExitCode::SUCCESS
        }
        Command::Play { file } => play(&dir, &file),
        Command::ValidateAudio {
            file,
            max_duration_ms,
        } => match validate_audio(&file, max_duration_ms) {
            Ok(info) => {
                println!("{}", serde_json::to_string(&info).unwrap_or_default());
                ExitCode::SUCCESS
            }
            Err(e) => runtime_error(&e),
        },
        Command::Check => check(&dir),
        Command::Keygen { dir } => match crate::province::feed::keygen(&dir) {
            Ok(public) => {
                println!(
                    "secret key: {} (keep it offline; it signs everything stations will play)",
                    dir.join(crate::province::feed::SECRET_KEY_FILE).display()
                );
                println!(
                    "public key: {}",
                    dir.join(crate::province::feed::PUBLIC_KEY_FILE).display()
                );
                println!(
                    "for each station's station.toml:\n  [feed]\n  public_keys = [\"{public}\"]"
                );
                ExitCode::SUCCESS
            }
            Err(e) => runtime_error(&e),
        },
        Command::Feed { action } => feed(action),
        Command::Fleet { action } => fleet::run(action),
        Command::Cap { action } => cap::run(action),
        Command::Plan { date, json } => plan(&dir, date, json),
        Command::Report {
            from,
            to,
            json,
            csv,
            bom,
            heard,
        } => report(&dir, (from, to), heard, json, csv.then_some(bom)),
        Command::Push {
            url,
            file,
            text,
            key,
            title,
            priority,
            repeat,
            expires,
            issued_at,
            id,
            campaign,
            validity,
            cancel,
        } => {
            use crate::province::push::{Request, What, send};
            let audio = match (file, text) {
                (Some(file), _) => Some(Ok(file)),
                (None, Some(text)) => Some(Err(text)),
                (None, None) => None,
            };
            let what = match (cancel, audio) {
                (Some(target), _) => What::Cancel {
                    id: target,
                    targets: validity.targets,
                },
                (None, Some(audio)) => What::Bulletin {
                    audio,
                    title: title.unwrap_or_default(),
                    priority,
                    repeat,
                    campaign,
                    valid_from: validity.from,
                    valid_until: validity.until,
                    targets: validity.targets,
                    test: false,
                },
                (None, None) => return runtime_error("give FILE, --text TEXT, or --cancel ID"),
            };
            match send(Request {
                url,
                key,
                id,
                expires,
                issued_at: issued_at.map(|t| t.to_utc()),
                what,
            }) {
                Ok(answer) => {
                    println!("{} {}", answer.status, answer.body.trim());
                    if answer.status == 202 {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::from(EXIT_RUNTIME)
                    }
                }
                Err(e) => runtime_error(&e),
            }
        }
    }
}

/// The child side of the audio check: limits first, then the whole decode.
fn validate_audio(
    file: &std::path::Path,
    max_ms: i64,
) -> Result<crate::audio::ingest::MediaInfo, String> {
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
fn load(dir: &std::path::Path) -> Result<Config, ExitCode> {
    let today = Utc::now()
        .with_timezone(&crate::core::schedule::DEFAULT_TIMEZONE)
        .date_naive();
    crate::station::config::load(dir, today).map_err(|errors| {
        for e in &errors {
            eprintln!("{e}");
        }
        let shown = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        eprintln!(
            "{} error{} in {}",
            errors.len(),
            plural(errors.len()),
            shown.display()
        );
        ExitCode::from(EXIT_CONFIG)
    })
}

fn check(dir: &std::path::Path) -> ExitCode {
    let config = match load(dir) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let s = &config.schedule;
    println!(
        "{}: OK · station {} · {} session{} · {} campaign{} · {} bulletin{} · fill: {}",
        config.dir.display(),
        config.station.station_id,
        s.sessions.len(),
        plural(s.sessions.len()),
        s.campaigns.len(),
        plural(s.campaigns.len()),
        s.bulletins.len(),
        plural(s.bulletins.len()),
        s.fill
            .as_ref()
            .map_or("none".to_string(), |f| format!("{} files", f.files.len())),
    );
    ExitCode::SUCCESS
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn plan(dir: &std::path::Path, date: Option<NaiveDate>, json: bool) -> ExitCode {
    let config = match load(dir) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let tz = config.schedule.timezone;
    let date = date.unwrap_or_else(|| Utc::now().with_timezone(&tz).date_naive());
    let plan = plan_view::load(&config, date, None);
    print_json_or(&plan, json, plan_view::render)
}

/// `csv`: Some(with a byte-order mark?) for CSV output.
fn report(
    dir: &std::path::Path,
    (from, to): (NaiveDate, NaiveDate),
    heard: bool,
    json: bool,
    csv: Option<bool>,
) -> ExitCode {
    let config = match load(dir) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let counting = if heard {
        crate::core::report::Counting::Heard
    } else {
        crate::core::report::Counting::Ended
    };
    let report = match crate::station::report::build(&config, from, to, counting) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(bom) = csv {
        print!("{}", crate::core::report::csv(&report, bom));
        return ExitCode::SUCCESS;
    }
    print_json_or(&report, json, crate::core::report::render)
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

fn status(dir: &std::path::Path, json: bool) -> ExitCode {
    // Only station.toml is needed: status must work while schedule.toml is being fixed.
    let station = match config::load_station(dir) {
        Ok(s) => s,
        Err(errors) => {
            errors.iter().for_each(|e| eprintln!("{e}"));
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    match status::fetch(station.api.listen, station.api.token.as_deref()) {
        Ok(status) => print_json_or(&status, json, status::render),
        Err(why) => {
            eprintln!("error: {why}");
            // The last status the daemon wrote, so the operator sees where it stopped.
            if let Ok(last) = crate::store::Store::of(&station).read_status() {
                eprintln!("last known status:");
                eprint!("{}", status::render(&last));
            }
            ExitCode::from(EXIT_RUNTIME)
        }
    }
}

/// A sound check: the amplifier, its warmup, one file, the amplifier off again.
fn play(dir: &std::path::Path, file: &std::path::Path) -> ExitCode {
    use crate::audio::decode::{AudioStream, CHANNELS};
    use crate::sys::clock::SystemClock;
    let config = match load(dir) {
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

pub(crate) fn runtime_error(what: &str) -> ExitCode {
    eprintln!("error: {what}");
    ExitCode::from(EXIT_RUNTIME)
}

fn feed(action: FeedAction) -> ExitCode {
    use crate::province::feed as admin;
    let done = match action {
        FeedAction::Add {
            dir,
            file,
            text,
            title,
            id,
            campaign,
            priority,
            validity,
        } => {
            let new = admin::NewBulletin {
                file: file.clone().unwrap_or_default(),
                id,
                title,
                campaign,
                priority,
                from: validity.from,
                until: validity.until,
                targets: validity.targets,
                test: false,
            };
            match text {
                Some(text) => admin::add_text(&dir, &text, new),
                None => admin::add(&dir, new),
            }
            .map(|id| format!("added bulletin {id}; run `loaxa feed publish` to sign"))
        }
        FeedAction::Campaign {
            dir,
            id,
            title,
            from,
            until,
            plays_per_day,
            min_gap,
            sessions,
            priority,
        } => admin::add_campaign(
            &dir,
            crate::core::feed::FeedCampaign {
                id: id.clone(),
                title,
                from,
                until,
                plays_per_day,
                min_gap,
                sessions,
                priority,
            },
        )
        .map(|()| format!("campaign {id} saved; run `loaxa feed publish` to sign")),
        FeedAction::Revoke { dir, id } => admin::revoke(&dir, &id)
            .map(|()| format!("{id} revoked; run `loaxa feed publish` to sign")),
        FeedAction::Publish { dir, key } => admin::publish(&dir, &key).map(|seq| {
            format!(
                "published sequence {seq}: {}",
                dir.join("feed.json").display()
            )
        }),
    };
    match done {
        Ok(message) => {
            println!("{message}");
            ExitCode::SUCCESS
        }
        Err(e) => runtime_error(&e),
    }
}
