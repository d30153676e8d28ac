//! The province's commands (`keygen`, `feed`, `push`, `cap`, `fleet`): in the `loaxa` built
//! with the cargo feature `province` (the default), not in a station's package, which
//! carries only what a station runs (docs/architecture.md, "Build profiles and features").

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::NaiveDate;
use clap::Subcommand;

use super::args::{Signing, parse_priority};
use super::{EXIT_RUNTIME, cap, fleet, runtime_error};
use crate::core::catalog::Priority;
use crate::i18n::Lang;

#[derive(Subcommand)]
pub(super) enum Command {
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
        #[command(flatten)]
        signing: Signing,
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
}

/// When and where a bulletin may play (feed add, push).
#[derive(clap::Args)]
pub(super) struct Validity {
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
pub(super) enum FeedAction {
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

pub(super) fn run(command: Command, lang: Lang) -> ExitCode {
    match command {
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
        Command::Fleet { action } => fleet::run(action, lang),
        Command::Cap { action } => cap::run(action),
        Command::Push {
            url,
            file,
            text,
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
                min_gap: min_gap.into(),
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
