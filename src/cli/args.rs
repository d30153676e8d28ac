//! Argument parsers the province's commands share (`push`, `feed`, `fleet`): a leaf, so
//! the commands that use them need not import each other.

use crate::core::catalog::Priority;

pub(super) fn parse_span(text: &str) -> Result<chrono::TimeDelta, String> {
    crate::core::units::parse_duration(text).map_err(|e| e.to_string())
}

pub(super) fn parse_priority(text: &str) -> Result<Priority, String> {
    Priority::parse(text).ok_or_else(|| format!("{text:?}: use normal, priority or emergency"))
}
