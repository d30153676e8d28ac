//! What a person reads, in Vietnamese by default and English on request (SPEC §16): one
//! Fluent catalogue per language (`vi.ftl`, `en.ftl`, compiled in), looked up by message
//! id. What programs read (JSON, labels, as-run events, metric names) never comes from
//! here.
//!
//! Fluent (Mozilla's, `fluent-bundle`) rather than strings in the code: a translator edits
//! one file per language, plurals follow each language's rules (Vietnamese has none), and
//! a message missing from one catalogue falls back to the other instead of failing.

use std::sync::OnceLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

/// The languages loaxa speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Vi,
    En,
}

impl Lang {
    /// `vi` or `en` (also `vi-VN`, `en_US.UTF-8`, any case).
    pub fn parse(text: &str) -> Option<Lang> {
        let code = text.trim().to_ascii_lowercase();
        let base = code.split(['-', '_', '.']).next().unwrap_or("");
        match base {
            "vi" => Some(Lang::Vi),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Vi => "vi",
            Lang::En => "en",
        }
    }

    /// A date as this language's readers write it: 31/12/2021, or 2021-12-31.
    pub fn date(self, date: chrono::NaiveDate) -> String {
        match self {
            Lang::Vi => date.format("%d/%m/%Y").to_string(),
            Lang::En => date.format("%Y-%m-%d").to_string(),
        }
    }

    /// The message `id` with `args`, or its English text if this catalogue lacks it, or
    /// the id itself (a test keeps the catalogues whole; a person never sees a panic).
    pub fn text(self, id: &str, args: &[(&str, Arg<'_>)]) -> String {
        let mut fluent_args = FluentArgs::new();
        for (name, value) in args {
            fluent_args.set(*name, value.to_fluent());
        }
        for lang in [self, Lang::En] {
            let bundle = bundle(lang);
            let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) else {
                continue;
            };
            let mut errors = Vec::new();
            let text = bundle.format_pattern(pattern, Some(&fluent_args), &mut errors);
            return text.into_owned();
        }
        id.to_string()
    }
}

/// A value a message is given.
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    Str(&'a str),
    Num(i64),
}

impl Arg<'_> {
    fn to_fluent(self) -> FluentValue<'static> {
        match self {
            Arg::Str(s) => FluentValue::from(s.to_string()),
            Arg::Num(n) => FluentValue::from(n),
        }
    }
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(s: &'a str) -> Self {
        Arg::Str(s)
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(s: &'a String) -> Self {
        Arg::Str(s)
    }
}

macro_rules! from_number {
    ($($t:ty),*) => {$(
        impl From<$t> for Arg<'_> {
            fn from(n: $t) -> Self {
                Arg::Num(i64::try_from(n).unwrap_or(i64::MAX))
            }
        }
    )*};
}
from_number!(u32, u64, usize, i64, i32);

/// `tr!(lang, "message-id", name = value, …)`: the message in `lang`.
#[macro_export]
macro_rules! tr {
    ($lang:expr, $id:literal $(, $name:ident = $value:expr)* $(,)?) => {
        $lang.text($id, &[$((stringify!($name), $crate::i18n::Arg::from($value))),*])
    };
}

const VI: &str = include_str!("vi.ftl");
const EN: &str = include_str!("en.ftl");

fn bundle(lang: Lang) -> &'static FluentBundle<FluentResource> {
    static BUNDLES: OnceLock<[FluentBundle<FluentResource>; 2]> = OnceLock::new();
    let [vi, en] = BUNDLES.get_or_init(|| [make(Lang::Vi, VI), make(Lang::En, EN)]);
    match lang {
        Lang::Vi => vi,
        Lang::En => en,
    }
}

fn make(lang: Lang, source: &str) -> FluentBundle<FluentResource> {
    let id = lang.code().parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    // Isolation marks (U+2068/U+2069) around arguments are for mixed-direction scripts;
    // in a terminal or a CSV they are stray bytes.
    bundle.set_use_isolating(false);
    // A catalogue with a syntax error keeps the messages that parse (a test catches it).
    let resource = match FluentResource::try_new(source.to_string()) {
        Ok(r) => r,
        Err((r, _)) => r,
    };
    let _ = bundle.add_resource(resource);
    bundle
}

static CHOSEN: OnceLock<Lang> = OnceLock::new();

/// The command line chose a language (`--lang`) for everything this process says,
/// whatever station.toml says.
pub fn choose(lang: Lang) {
    let _ = CHOSEN.set(lang);
}

/// The language of what is said about the config in `config_dir` (its errors): the command
/// line's choice, else `LOAXA_LANG`, else its station.toml's `language`, else Vietnamese.
pub fn for_config(config_dir: &std::path::Path) -> Lang {
    for_command(CHOSEN.get().copied(), config_dir)
}

/// The language of one command (SPEC §16): `--lang`, else `LOAXA_LANG`, else station.toml's
/// `language` (read leniently: a config with errors still says them in its language),
/// else Vietnamese.
pub fn for_command(flag: Option<Lang>, config_dir: &std::path::Path) -> Lang {
    flag.or_else(|| {
        std::env::var("LOAXA_LANG")
            .ok()
            .and_then(|l| Lang::parse(&l))
    })
    .or_else(|| configured(config_dir))
    .unwrap_or_default()
}

/// `language` at the top of station.toml, if it says one.
fn configured(config_dir: &std::path::Path) -> Option<Lang> {
    let text = std::fs::read_to_string(config_dir.join("station.toml")).ok()?;
    let table: toml::Table = text.parse().ok()?;
    Lang::parse(table.get("language")?.as_str()?)
}

#[cfg(test)]
mod tests;
