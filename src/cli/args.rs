//! Argument parsers the province's commands share (`push`, `feed`, `fleet`): a leaf, so
//! the commands that use them need not import each other.

use crate::core::catalog::Priority;

pub(super) fn parse_span(text: &str) -> Result<chrono::TimeDelta, String> {
    crate::core::units::parse_duration(text).map_err(|e| e.to_string())
}

pub(super) fn parse_priority(text: &str) -> Result<Priority, String> {
    Priority::parse(text).ok_or_else(|| format!("{text:?}: use normal, priority or emergency"))
}

/// What signs a push and what every push says of itself (`push` and `fleet push`).
#[derive(clap::Args)]
pub(super) struct Signing {
    /// The province's secret key (from `loaxa keygen`)
    #[arg(long)]
    pub key: std::path::PathBuf,
    #[arg(long, required_unless_present = "cancel")]
    pub title: Option<String>,
    #[arg(long, value_parser = parse_priority, default_value = "normal")]
    pub priority: Priority,
    /// Plays of an emergency [default: 3]
    #[arg(long)]
    pub repeat: Option<u32>,
    /// The push must reach the station within this long, at most 24h [default: 2h]
    #[arg(long, value_parser = parse_span)]
    pub expires: Option<chrono::TimeDelta>,
    /// Sign as if now were this instant: for a rehearsal against a station run with
    /// `--start-at` [default: now]
    #[arg(long, value_name = "RFC3339")]
    pub issued_at: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// The push id (each id is taken once) [default: made from the time]
    #[arg(long)]
    pub id: Option<String>,
}
