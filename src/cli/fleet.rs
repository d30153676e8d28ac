//! `loaxa fleet …` (SPEC §13): the province's view of and voice to every station through
//! the broker. The work is `province::fleet`'s; this is arguments and printing.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::args::{Signing, parse_span};
use super::{EXIT_RUNTIME, runtime_error};
use crate::config::fleet::{Broker, check_prefix};
use crate::core::catalog::Priority;
use crate::core::fleet::PushMessage;
use crate::i18n::Lang;
use crate::province::fleet::{self, Link, Targets};
use crate::remote::broker::Login;
use crate::tr;

#[derive(Args)]
pub(super) struct BrokerArgs {
    /// The province's broker, e.g. mqtt://tinh.example:1883 (or mqtts://)
    #[arg(long)]
    broker: String,
    /// The province's topic prefix, e.g. loaxa/hn
    #[arg(long)]
    prefix: String,
    #[command(flatten)]
    login: LoginArgs,
}

/// How the province's tools log in to the broker (`fleet …` and `cap import --fleet`).
#[derive(Args, Default)]
pub(super) struct LoginArgs {
    /// The broker user [default: $LOAXA_FLEET_USERNAME]
    #[arg(long)]
    username: Option<String>,
    /// The broker password [default: $LOAXA_FLEET_PASSWORD, which keeps it out of `ps`]
    #[arg(long)]
    password: Option<String>,
    /// For mqtts://: the CA that signed the broker's certificate (PEM)
    #[arg(long)]
    ca_file: Option<PathBuf>,
}

impl BrokerArgs {
    /// A broker and prefix given another way (`loaxa cap import --fleet`).
    pub(super) fn new(broker: String, prefix: String, login: LoginArgs) -> BrokerArgs {
        BrokerArgs {
            broker,
            prefix,
            login,
        }
    }

    pub(super) fn link(&mut self) -> Result<Link<'_>, String> {
        check_prefix(&self.prefix)?;
        let l = &mut self.login;
        if l.username.is_none() {
            l.username = std::env::var("LOAXA_FLEET_USERNAME").ok();
        }
        if l.password.is_none() {
            l.password = std::env::var("LOAXA_FLEET_PASSWORD").ok();
        }
        Ok(Link {
            broker: Broker::parse(&self.broker)?,
            prefix: self.prefix.clone(),
            login: Login {
                username: l.username.as_deref(),
                password: l.password.as_deref(),
                ca_file: l.ca_file.as_deref(),
                client_cert: None,
            },
        })
    }
}

// Parsed once per run: the size of the push variant costs nothing worth boxing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub(super) enum FleetAction {
    /// Every station seen: online, last seen, on air, feed sequence, today's quotas
    Status {
        #[command(flatten)]
        broker: BrokerArgs,
        #[arg(long)]
        json: bool,
    },
    /// Publish one signed push to every station (--all) or some (--target), and wait
    /// for their acknowledgements; exit 0 only if every expected station accepted it
    Push(PushArgs),
    /// Every status change and acknowledgement, live, one line each
    Watch {
        #[command(flatten)]
        broker: BrokerArgs,
        /// Stop after this long [default: never]
        #[arg(long = "for", value_parser = parse_span)]
        duration: Option<chrono::TimeDelta>,
        #[arg(long)]
        json: bool,
    },
    /// The fleet page: every station in one table (filters: offline, silent, short of
    /// quota) and each push's acknowledgements filling in, in a browser on this machine
    Serve {
        #[command(flatten)]
        broker: BrokerArgs,
        /// Where the page listens (loopback only)
        #[arg(long, default_value = "127.0.0.1:8480")]
        listen: std::net::SocketAddr,
    },
    /// Tell every station to poll the feed now (after `loaxa feed publish`)
    Nudge {
        #[command(flatten)]
        broker: BrokerArgs,
    },
}

#[derive(Args)]
pub(super) struct PushArgs {
    #[command(flatten)]
    broker: BrokerArgs,
    /// Every station whose status says online is expected to answer
    #[arg(long, conflicts_with = "targets", required_unless_present = "targets")]
    all: bool,
    /// These stations (repeatable)
    #[arg(long = "target", value_name = "ID")]
    targets: Vec<String>,
    /// The audio file; stations fetch it from --url (it must be the same bytes)
    #[arg(required_unless_present_any = ["text", "cancel"], requires = "url")]
    file: Option<PathBuf>,
    /// Where stations fetch FILE from (absolute http(s))
    #[arg(long)]
    url: Option<String>,
    /// A text the stations speak with their text-to-speech command, instead of a file
    #[arg(long, conflicts_with = "file")]
    text: Option<String>,
    /// Withdraw this bulletin instead of pushing one
    #[arg(long, value_name = "BULLETIN_ID", conflicts_with_all = ["file", "text"])]
    cancel: Option<String>,
    #[command(flatten)]
    signing: Signing,
    /// How long to wait for the acknowledgements
    #[arg(long, value_parser = parse_span, default_value = "30s")]
    wait: chrono::TimeDelta,
    #[arg(long)]
    json: bool,
}

pub(super) fn run(action: FleetAction, lang: Lang) -> ExitCode {
    match action {
        FleetAction::Status { mut broker, json } => status(&mut broker, json, lang),
        FleetAction::Push(args) => push(args, lang),
        FleetAction::Watch {
            mut broker,
            duration,
            json,
        } => {
            let d = duration.and_then(|d| d.to_std().ok());
            match broker.link().and_then(|l| fleet::watch(&l, d, json)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => runtime_error(&e),
            }
        }
        FleetAction::Serve { mut broker, listen } => {
            match broker.link().and_then(|l| fleet::serve(&l, listen)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => runtime_error(&e),
            }
        }
        FleetAction::Nudge { mut broker } => match broker.link().and_then(|l| fleet::nudge(&l)) {
            Ok(()) => {
                println!("{}", tr!(lang, "fleet-nudged"));
                ExitCode::SUCCESS
            }
            Err(e) => runtime_error(&e),
        },
    }
}

/// `fleet status`: one line a station.
fn status(broker: &mut BrokerArgs, json: bool, lang: Lang) -> ExitCode {
    let rows = match broker.link().and_then(|l| fleet::status(&l)) {
        Ok(r) => r,
        Err(e) => return runtime_error(&e),
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&rows).unwrap_or_default()
        );
        return ExitCode::SUCCESS;
    }
    let (yes, no) = (tr!(lang, "fleet-yes"), tr!(lang, "fleet-no"));
    println!(
        "{:<24} {:<9} {:<26} {:<8} {:>7}  {}",
        tr!(lang, "fleet-col-station"),
        tr!(lang, "fleet-col-online"),
        tr!(lang, "fleet-col-last-seen"),
        tr!(lang, "fleet-col-on-air"),
        tr!(lang, "fleet-col-feed"),
        tr!(lang, "fleet-col-quotas")
    );
    for r in &rows {
        // What a station says reaches the admin's terminal escaped.
        println!(
            "{:<24} {:<9} {:<26} {:<8} {:>7}  {}{}",
            fleet::printable(&r.id),
            if r.online {
                yes.clone()
            } else {
                no.to_uppercase()
            },
            r.last_seen.as_deref().unwrap_or("-"),
            if r.on_air { &yes } else { &no },
            r.feed_sequence.map_or("-".into(), |s| s.to_string()),
            fleet::printable(&r.quotas.join(", ")),
            r.last_error
                .as_ref()
                .map(|e| format!("  [{}]", fleet::printable(e)))
                .unwrap_or_default()
        );
    }
    let online = rows.iter().filter(|r| r.online).count();
    println!(
        "{}",
        tr!(lang, "fleet-total", count = rows.len(), online = online)
    );
    ExitCode::SUCCESS
}

/// `fleet push`: sign, publish, wait for the acknowledgements.
fn push(args: PushArgs, lang: Lang) -> ExitCode {
    let PushArgs {
        mut broker,
        all,
        targets,
        file,
        url,
        text,
        cancel,
        signing:
            Signing {
                key,
                title,
                priority,
                repeat,
                expires,
                issued_at,
                id,
            },
        wait,
        json,
    } = args;
    use crate::province::push::{Request, What, sign};
    let link = match broker.link() {
        Ok(l) => l,
        Err(e) => return runtime_error(&e),
    };
    if let Some(u) = &url
        && let Err(e) = crate::remote::fleet::check_url(u)
    {
        return runtime_error(&e.to_string());
    }
    let stations = if all { Vec::new() } else { targets.clone() };
    let what = match (cancel, file, text) {
        (Some(target), _, _) => What::Cancel {
            id: target,
            targets: stations,
        },
        (None, Some(file), _) => bulletin(Ok(file), title, priority, repeat, stations),
        (None, None, Some(text)) => bulletin(Err(text), title, priority, repeat, stations),
        (None, None, None) => {
            return runtime_error("give FILE --url URL, --text TEXT, or --cancel ID");
        }
    };
    let signed = match sign(
        Request {
            url: String::new(),
            key,
            id,
            expires,
            issued_at: issued_at.map(|t| t.to_utc()),
            what,
        },
        url.as_deref(),
    ) {
        Ok(s) => s,
        Err(e) => return runtime_error(&e),
    };
    let message = PushMessage {
        manifest: String::from_utf8_lossy(&signed.manifest).into_owned(),
        signature: signed.signature,
    };
    let to = if all {
        Targets::All
    } else {
        Targets::Some(targets)
    };
    let wait = wait.to_std().unwrap_or_default();
    let outcomes = match fleet::push(&link, &to, &message, &signed.id, wait) {
        Ok(o) => o,
        Err(e) => return runtime_error(&e),
    };
    let good = outcomes.iter().filter(|o| o.expected).all(|o| o.accepted);
    if json {
        let v = serde_json::json!({"id": signed.id, "ok": good, "stations": outcomes});
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        print_outcomes(&signed.id, &outcomes, lang);
    }
    if good && !outcomes.is_empty() {
        ExitCode::SUCCESS
    } else {
        if outcomes.is_empty() {
            eprintln!("{}", tr!(lang, "fleet-none-expected"));
        }
        ExitCode::from(EXIT_RUNTIME)
    }
}

/// The acknowledgements of one push, a line a station.
fn print_outcomes(id: &str, outcomes: &[fleet::Outcome], lang: Lang) {
    println!("{}", tr!(lang, "fleet-push", id = id));
    println!(
        "{:<24} {:<12} {:>8}  {}",
        tr!(lang, "fleet-col-station"),
        tr!(lang, "fleet-col-outcome"),
        tr!(lang, "fleet-col-latency"),
        tr!(lang, "fleet-col-reason")
    );
    let silent = tr!(lang, "fleet-silent");
    let unexpected = tr!(lang, "fleet-not-expected");
    for o in outcomes {
        println!(
            "{:<24} {:<12} {:>8}  {}{}",
            fleet::printable(&o.station),
            o.event.map_or(silent.as_str(), |e| e.as_str()),
            o.latency_ms.map_or("-".into(), |ms| format!("{ms} ms")),
            fleet::printable(o.reason.as_deref().unwrap_or("")),
            if o.expected { "" } else { unexpected.as_str() }
        );
    }
    let accepted = outcomes.iter().filter(|o| o.accepted).count();
    let expected = outcomes.iter().filter(|o| o.expected).count();
    println!(
        "{}",
        tr!(
            lang,
            "fleet-accepted",
            accepted = accepted,
            expected = expected
        )
    );
}

fn bulletin(
    audio: Result<PathBuf, String>,
    title: Option<String>,
    priority: Priority,
    repeat: Option<u32>,
    targets: Vec<String>,
) -> crate::province::push::What {
    crate::province::push::What::Bulletin {
        audio,
        title: title.unwrap_or_default(),
        priority,
        repeat,
        campaign: None,
        valid_from: None,
        valid_until: None,
        targets,
        test: false,
    }
}
