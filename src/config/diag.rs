//! Configuration diagnostics: every problem names file:line:column and says how to fix it.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;

use crate::i18n::Lang;
use crate::tr;

/// One problem found in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    /// 1-based line and column (columns count characters, not bytes).
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// How to fix it, when we can say.
    pub help: Option<String>,
    /// The language `message` and `help` are in (and so the words around them).
    pub lang: Lang,
}

impl fmt::Display for Diagnostic {
    /// `file:line:column: error: message`, then the help, in the diagnostic's language.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown(self.lang))
    }
}

impl Diagnostic {
    /// As a person reads it in `lang`: the position as programs read it, then the words.
    pub fn shown(&self, lang: crate::i18n::Lang) -> String {
        let mut out = format!(
            "{}:{}:{}: {}: {}",
            self.file.display(),
            self.line,
            self.column,
            crate::tr!(lang, "diag-error"),
            self.message
        );
        if let Some(help) = &self.help {
            out.push_str(&format!("\n  {}: {help}", crate::tr!(lang, "diag-help")));
        }
        out
    }
}

/// Collects diagnostics for one source file, turning byte spans into line:column.
pub struct Diagnostics<'a> {
    file: &'a Path,
    source: &'a str,
    found: Vec<Diagnostic>,
    lang: Lang,
}

impl<'a> Diagnostics<'a> {
    /// Diagnostics said in `lang` (SPEC §16).
    pub fn new(file: &'a Path, source: &'a str, lang: Lang) -> Self {
        Diagnostics {
            file,
            source,
            found: Vec::new(),
            lang,
        }
    }

    /// The language the diagnostics are said in.
    pub fn lang(&self) -> Lang {
        self.lang
    }

    pub fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.push(span, message.into(), None);
    }

    pub fn error_help(
        &mut self,
        span: Range<usize>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.push(span, message.into(), Some(help.into()));
    }

    fn push(&mut self, span: Range<usize>, message: String, help: Option<String>) {
        let (line, column) = line_column(self.source, span.start);
        self.found.push(Diagnostic {
            lang: self.lang,
            file: self.file.to_path_buf(),
            line,
            column,
            message,
            help,
        });
    }

    pub fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    pub fn source(&self) -> &str {
        self.source
    }

    pub fn len(&self) -> usize {
        self.found.len()
    }

    /// The diagnostics in file order.
    pub fn into_vec(mut self) -> Vec<Diagnostic> {
        self.found.sort_by_key(|d| (d.line, d.column));
        self.found
    }
}

/// 1-based line and character column of a byte offset.
pub fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = source.get(..offset).unwrap_or(source);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// "did you mean …?" for a misspelt key or name, if one is close enough.
pub fn did_you_mean<'n>(given: &str, known: impl IntoIterator<Item = &'n str>) -> Option<&'n str> {
    known
        .into_iter()
        .map(|k| (strsim::jaro_winkler(given, k), k))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

/// The names in a list read from the file, for `unknown_name`.
pub fn names(list: &[Spanned<String>]) -> impl Iterator<Item = &str> + Clone {
    list.iter().map(|n| n.get_ref().as_str())
}

pub fn unknown_name<'n>(
    d: &mut Diagnostics,
    name: &Spanned<String>,
    known: impl Iterator<Item = &'n str> + Clone,
    what: &str,
) {
    if known.clone().any(|k| k == name.get_ref()) {
        return;
    }
    let lang = d.lang();
    let close = did_you_mean(name.get_ref(), known.clone());
    let help = match close {
        Some(close) => tr!(lang, "cfg-did-you-mean", name = &format!("{close:?}")),
        None => tr!(
            lang,
            "cfg-names-defined",
            what = &lang.text(&format!("cfg-what-{what}"), &[]),
            names = &known
                .map(|k| format!("{k:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let message = tr!(
        lang,
        "cfg-unknown-name",
        what = &lang.text(&format!("cfg-what-{what}"), &[]),
        name = &format!("{:?}", name.get_ref())
    );
    d.error_help(name.span(), message, help);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_characters_not_bytes() {
        let src = "a = 1\nname = \"Sáng\" x\n";
        let x = src.find(" x").unwrap() + 1;
        assert_eq!(line_column(src, x), (2, 15));
        assert_eq!(line_column(src, 0), (1, 1));
    }

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            did_you_mean("plays_per_dya", ["plays_per_day", "min_gap"]),
            Some("plays_per_day")
        );
        assert_eq!(did_you_mean("zzz", ["plays_per_day", "min_gap"]), None);
    }
}
