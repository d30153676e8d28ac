//! Reads a parsed TOML table key by key, keeping every value's location, so that one
//! pass reports every error (wrong type, missing key, unknown key) with its line:column
//! instead of stopping at the first as serde would.

use std::ops::Range;

use chrono::NaiveDate;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::config::diag::{Diagnostics, did_you_mean};
use crate::tr;

/// One TOML table being read. Keys asked for are remembered; `finish` reports the rest.
pub struct Fields<'a, 'i> {
    table: &'a DeTable<'i>,
    span: Range<usize>,
    /// How messages name this table, e.g. `[[session]] "Sáng"` or `[audio]`.
    what: String,
    known: Vec<&'static str>,
}

impl<'a, 'i> Fields<'a, 'i> {
    pub fn new(table: &'a DeTable<'i>, span: Range<usize>, what: impl Into<String>) -> Self {
        Fields {
            table,
            span,
            what: what.into(),
            known: Vec::new(),
        }
    }

    pub fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    pub fn what(&self) -> &str {
        &self.what
    }

    pub fn rename(&mut self, what: impl Into<String>) {
        self.what = what.into();
    }

    /// The raw value of `key`, if present.
    pub fn value(&mut self, key: &'static str) -> Option<&'a Spanned<DeValue<'i>>> {
        if !self.known.contains(&key) {
            self.known.push(key);
        }
        self.table
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == key)
            .map(|(_, v)| v)
    }

    /// A string value without reading it: for cross-checks that must see every table's
    /// name even when the table has other errors. Reports nothing.
    pub fn peek_string(&self, key: &str) -> Option<Spanned<String>> {
        let (_, v) = self
            .table
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == key)?;
        match v.get_ref() {
            DeValue::String(s) => Some(Spanned::new(v.span(), s.to_string())),
            _ => None,
        }
    }

    pub fn has(&mut self, key: &'static str) -> bool {
        self.value(key).is_some()
    }

    fn wrong_type(&self, d: &mut Diagnostics, key: &str, v: &Spanned<DeValue>, want: &str) {
        let lang = d.lang();
        let got = v.get_ref().type_str();
        let message = tr!(
            lang,
            "cfg-wrong-type",
            key = key,
            what = &self.what,
            want = &lang.text(&format!("cfg-want-{want}"), &[]),
            got = &lang.text(&format!("cfg-type-{got}"), &[])
        );
        // `start = 05:30` reads as a TOML time: the quotes are what is missing.
        let help = if want == "string" && got == "datetime" {
            let text = match v.get_ref() {
                DeValue::Datetime(t) => t.to_string(),
                _ => String::new(),
            };
            tr!(lang, "cfg-quote-it", key = key, text = &text)
        } else {
            tr!(
                lang,
                "cfg-write-it-as",
                example = &lang.text(&format!("cfg-example-{want}"), &[])
            )
        };
        d.error_help(v.span(), message, help);
    }

    pub fn string(&mut self, d: &mut Diagnostics, key: &'static str) -> Option<Spanned<String>> {
        let v = self.value(key)?;
        match v.get_ref() {
            DeValue::String(s) => Some(Spanned::new(v.span(), s.to_string())),
            _ => {
                self.wrong_type(d, key, v, "string");
                None
            }
        }
    }

    /// Like `string`, and reports a missing key at the table's header.
    pub fn required_string(
        &mut self,
        d: &mut Diagnostics,
        key: &'static str,
    ) -> Option<Spanned<String>> {
        if !self.has(key) {
            self.missing(d, key);
            return None;
        }
        self.string(d, key)
    }

    pub fn missing(&self, d: &mut Diagnostics, key: &str) {
        let lang = d.lang();
        d.error_help(
            self.span.clone(),
            tr!(lang, "cfg-missing", what = &self.what, key = key),
            tr!(lang, "cfg-missing-help", key = key),
        );
    }

    pub fn integer(&mut self, d: &mut Diagnostics, key: &'static str) -> Option<Spanned<i64>> {
        let v = self.value(key)?;
        let parsed = match v.get_ref() {
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix()).ok(),
            _ => None,
        };
        if parsed.is_none() {
            self.wrong_type(d, key, v, "integer");
        }
        parsed.map(|n| Spanned::new(v.span(), n))
    }

    pub fn boolean(&mut self, d: &mut Diagnostics, key: &'static str) -> Option<Spanned<bool>> {
        let v = self.value(key)?;
        let parsed = match v.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            _ => None,
        };
        if parsed.is_none() {
            self.wrong_type(d, key, v, "boolean");
        }
        parsed.map(|b| Spanned::new(v.span(), b))
    }

    pub fn float(&mut self, d: &mut Diagnostics, key: &'static str) -> Option<Spanned<f64>> {
        let v = self.value(key)?;
        let parsed = match v.get_ref() {
            DeValue::Float(f) => f.as_str().parse::<f64>().ok(),
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
                .ok()
                .map(|n| n as f64),
            _ => None,
        };
        if parsed.is_none() {
            self.wrong_type(d, key, v, "number");
        }
        parsed.map(|n| Spanned::new(v.span(), n))
    }

    /// A date, written either as a TOML date (`2021-12-31`) or a string (`"2021-12-31"`).
    pub fn date(&mut self, d: &mut Diagnostics, key: &'static str) -> Option<Spanned<NaiveDate>> {
        let v = self.value(key)?;
        let text = match v.get_ref() {
            DeValue::Datetime(dt) => dt.to_string(),
            DeValue::String(s) => s.to_string(),
            _ => String::new(),
        };
        match parse_date(&text) {
            Some(date) => Some(Spanned::new(v.span(), date)),
            None => {
                let lang = d.lang();
                d.error_help(
                    v.span(),
                    tr!(
                        lang,
                        "cfg-not-date",
                        key = key,
                        what = &self.what,
                        text = &format!("{text:?}")
                    ),
                    tr!(lang, "cfg-date-help"),
                );
                None
            }
        }
    }

    /// An array of strings; each element keeps its own location.
    pub fn string_array(
        &mut self,
        d: &mut Diagnostics,
        key: &'static str,
    ) -> Option<Vec<Spanned<String>>> {
        let v = self.value(key)?;
        let DeValue::Array(items) = v.get_ref() else {
            self.wrong_type(d, key, v, "list");
            return None;
        };
        let mut out = Vec::new();
        for item in items.iter() {
            match item.get_ref() {
                DeValue::String(s) => out.push(Spanned::new(item.span(), s.to_string())),
                _ => self.wrong_type(d, key, item, "list"),
            }
        }
        Some(out)
    }

    /// A sub-table such as `[audio]`.
    pub fn table(&mut self, d: &mut Diagnostics, key: &'static str) -> Option<Fields<'a, 'i>> {
        let v = self.value(key)?;
        match v.get_ref() {
            DeValue::Table(t) => Some(Fields::new(t, v.span(), format!("[{key}]"))),
            _ => {
                self.wrong_type(d, key, v, "table");
                None
            }
        }
    }

    /// An array of tables such as `[[session]]`.
    pub fn tables(&mut self, d: &mut Diagnostics, key: &'static str) -> Vec<Fields<'a, 'i>> {
        let Some(v) = self.value(key) else {
            return Vec::new();
        };
        let DeValue::Array(items) = v.get_ref() else {
            self.wrong_type(d, key, v, "tables");
            return Vec::new();
        };
        let mut out = Vec::new();
        for (n, item) in items.iter().enumerate() {
            match item.get_ref() {
                DeValue::Table(t) => {
                    let what = format!("[[{key}]] #{}", n + 1);
                    out.push(Fields::new(t, item.span(), what));
                }
                _ => self.wrong_type(d, key, item, "a table"),
            }
        }
        out
    }

    /// Reports every key that was never asked for, with a suggestion when one is close.
    pub fn finish(self, d: &mut Diagnostics) {
        for (key, _) in self.table.iter() {
            let name = key.get_ref().as_ref();
            if self.known.contains(&name) {
                continue;
            }
            let known = self.known.iter().copied();
            let lang = d.lang();
            let help = match did_you_mean(name, known) {
                Some(close) => tr!(lang, "cfg-did-you-mean", name = &format!("`{close}`")),
                None => tr!(
                    lang,
                    "cfg-keys-are",
                    what = &self.what,
                    keys = &self.known.join(", ")
                ),
            };
            d.error_help(
                key.span(),
                tr!(lang, "cfg-unknown-key", name = name, what = &self.what),
                help,
            );
        }
    }
}

/// A date as schedule.toml takes it: `2021-12-31` (TOML's and ISO's), or `31/12/2021` as
/// Vietnamese readers write it (day first: never read as month/day).
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(text, "%d/%m/%Y"))
        .ok()
}
