//! The names a person reads for the core's kinds and levels, in their language: a leaf
//! the plan, the report and the status share.

use crate::core::catalog::Priority;
use crate::core::plan::Kind;
use crate::i18n::Lang;
use crate::tr;

/// A priority level as a person calls it.
pub fn priority(lang: Lang, p: Priority) -> String {
    match p {
        Priority::Normal => tr!(lang, "priority-normal"),
        Priority::Priority => tr!(lang, "priority-priority"),
        Priority::Emergency => tr!(lang, "priority-emergency"),
    }
}

/// A plan item's kind, as a person calls it.
pub fn kind(lang: Lang, kind: Kind) -> String {
    match kind {
        Kind::Opening | Kind::Closing => tr!(lang, "kind-jingle"),
        Kind::Bulletin => tr!(lang, "kind-bulletin"),
        Kind::File => tr!(lang, "kind-fixed"),
        Kind::Relay => tr!(lang, "kind-relay"),
        Kind::Fill => tr!(lang, "kind-fill"),
    }
}
