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

/// Something the plan could not do, as a person reads it.
pub fn warning(lang: Lang, w: &crate::core::plan::Warning) -> String {
    use crate::core::plan::{InSession, Warning};
    match w {
        Warning::NoValidBulletin {
            campaign,
            date,
            plays,
        } => tr!(
            lang,
            "warn-no-valid-bulletin",
            campaign = campaign,
            date = &lang.date(*date),
            plays = *plays
        ),
        Warning::UnknownCampaign { bulletin, campaign } => tr!(
            lang,
            "warn-unknown-campaign",
            bulletin = bulletin,
            campaign = campaign
        ),
        Warning::SpecialItemOutside { special, item, at } => tr!(
            lang,
            "warn-special-outside",
            special = special,
            item = item,
            at = at
        ),
        Warning::SessionOverlap { session, at, other } => tr!(
            lang,
            "warn-session-overlap",
            session = session,
            at = at,
            other = other
        ),
        Warning::Session { session, at, what } => {
            let what = match what {
                InSession::Silence { length, from } => {
                    tr!(lang, "warn-silence", length = length, from = from)
                }
                InSession::OpeningDoesNotFit => tr!(lang, "warn-opening"),
                InSession::NoRoom { item } => tr!(lang, "warn-no-room", item = item),
                InSession::FixedOutside { at } => tr!(lang, "warn-fixed-outside", at = at),
                InSession::FixedPastEnd { at } => tr!(lang, "warn-fixed-past-end", at = at),
                InSession::FixedCollides { at } => tr!(lang, "warn-fixed-collides", at = at),
                InSession::RelayCut { at } => tr!(lang, "warn-relay-cut", at = at),
            };
            tr!(
                lang,
                "warn-session",
                session = session,
                at = at,
                what = &what
            )
        }
        Warning::QuotaShort {
            campaign,
            got,
            required,
            sessions,
            min_gap,
        } => {
            let sessions = match sessions {
                Some(list) => list.join(", "),
                None => tr!(lang, "warn-any-session"),
            };
            tr!(
                lang,
                "warn-quota-short",
                campaign = campaign,
                got = *got,
                required = *required,
                sessions = &sessions,
                min_gap = min_gap,
                dropped = required.saturating_sub(*got)
            )
        }
        Warning::BulletinNoRoom { bulletin } => {
            tr!(lang, "warn-bulletin-no-room", bulletin = bulletin)
        }
    }
}
