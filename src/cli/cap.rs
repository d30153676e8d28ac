//! `loaxa cap import …` (SPEC §14): a CAP 1.2 alert into signed bulletins. The work is
//! `province::cap`'s; this is arguments, printing and exit codes (65 for an alert that
//! cannot be used, as sysexits' EX_DATAERR).

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, FixedOffset};
use clap::{Args, Subcommand};

use super::fleet::{BrokerArgs, LoginArgs};
use super::runtime_error;
use crate::province::cap::{ImportError, Out, import};

const EXIT_DATA: u8 = 65;

#[derive(Subcommand)]
pub(super) enum CapAction {
    /// Turn a CAP 1.2 alert (XML) into signed bulletins: the Vietnamese <info> spoken
    /// or its audio resource played; Immediate + Extreme/Severe is an emergency; Update
    /// replaces, Cancel withdraws; Test and Exercise are never voiced
    Import {
        /// The alert file
        alert: PathBuf,
        /// The province's secret key (as made by `loaxa keygen`)
        #[arg(long)]
        key: PathBuf,
        #[command(flatten)]
        to: Destination,
        /// The province's topic prefix, with --fleet
        #[arg(long)]
        prefix: Option<String>,
        /// With --fleet: how to log in, as for `loaxa fleet push`
        #[command(flatten)]
        login: LoginArgs,
        /// Sign as if now were this instant (a rehearsal) [default: now]
        #[arg(long, value_name = "RFC3339")]
        issued_at: Option<DateTime<FixedOffset>>,
    },
}

#[derive(Args)]
#[group(required = true, multiple = false)]
pub(super) struct Destination {
    /// Add to this feed directory and publish it
    #[arg(long)]
    feed: Option<PathBuf>,
    /// Push to this station's API (http://host:8470)
    #[arg(long)]
    push: Option<String>,
    /// Publish to every station through this MQTT broker (with --prefix)
    #[arg(long, requires = "prefix")]
    fleet: Option<String>,
}

pub(super) fn run(action: CapAction) -> ExitCode {
    let CapAction::Import {
        alert,
        key,
        to,
        prefix,
        login,
        issued_at,
    } = action;
    let mut broker;
    let out = match (to.feed, to.push, to.fleet) {
        (Some(dir), _, _) => Out::Feed(dir),
        (_, Some(url), _) => Out::Push(url),
        (_, _, Some(url)) => {
            broker = BrokerArgs::new(url, prefix.unwrap_or_default(), login);
            match broker.link() {
                Ok(link) => Out::Fleet(link),
                Err(e) => return runtime_error(&e),
            }
        }
        _ => return runtime_error("give --feed DIR, --push URL or --fleet BROKER --prefix P"),
    };
    match import(&alert, &key, &out, issued_at.map(|t| t.to_utc())) {
        Ok(done) => {
            for line in done {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(ImportError::Alert(e)) => {
            eprintln!("error: {}: {e}", alert.display());
            ExitCode::from(EXIT_DATA)
        }
        Err(ImportError::Runtime(e)) => runtime_error(&e),
    }
}
