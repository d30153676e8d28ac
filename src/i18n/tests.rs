use std::collections::BTreeSet;

use super::*;

fn ids(source: &str) -> BTreeSet<String> {
    let resource = FluentResource::try_new(source.to_string())
        .unwrap_or_else(|(_, errors)| panic!("the catalogue does not parse: {errors:?}"));
    resource
        .entries()
        .filter_map(|e| match e {
            fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_string()),
            _ => None,
        })
        .collect()
}

#[test]
fn both_catalogues_parse_and_hold_the_same_messages() {
    let (vi, en) = (ids(VI), ids(EN));
    assert!(!vi.is_empty());
    let only_vi: Vec<_> = vi.difference(&en).collect();
    let only_en: Vec<_> = en.difference(&vi).collect();
    assert!(
        only_vi.is_empty() && only_en.is_empty(),
        "only in vi.ftl: {only_vi:?}; only in en.ftl: {only_en:?}"
    );
}

/// Every `tr!(…, "id"` in the code names a message both catalogues have.
#[test]
fn every_message_the_code_asks_for_exists() {
    let known = ids(VI);
    let mut missing = Vec::new();
    let mut files = Vec::new();
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    walk(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut asked = 0;
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        if f.starts_with(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/i18n")) {
            continue;
        }
        for (i, _) in text.match_indices("tr!(") {
            // `tr!(` itself, not the end of `include_str!(`.
            let before = text[..i].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let rest = &text[i..];
            let Some(q) = rest.find('"') else { continue };
            let id: String = rest[q + 1..].chars().take_while(|c| *c != '"').collect();
            if id.is_empty() || id.contains(' ') {
                continue;
            }
            asked += 1;
            if !known.contains(&id) {
                missing.push(format!("{}: {id}", f.display()));
            }
        }
    }
    assert!(asked > 10, "the scan found only {asked} messages asked for");
    assert!(
        missing.is_empty(),
        "messages not in the catalogues: {missing:?}"
    );
}

#[test]
fn messages_take_their_arguments_in_each_language_and_fall_back_to_english() {
    let vi = crate::tr!(Lang::Vi, "status-playing-nothing");
    let en = crate::tr!(Lang::En, "status-playing-nothing");
    assert_ne!(vi, en);
    assert!(!vi.contains('\u{2068}'), "no isolation marks: {vi:?}");
    assert_eq!(Lang::En.text("no-such-message", &[]), "no-such-message");
    assert_eq!(Lang::parse("vi_VN.UTF-8"), Some(Lang::Vi));
    assert_eq!(Lang::parse("EN-us"), Some(Lang::En));
    assert_eq!(Lang::parse("fr"), None);
    let d = chrono::NaiveDate::from_ymd_opt(2021, 12, 31).unwrap();
    assert_eq!(Lang::Vi.date(d), "31/12/2021");
    assert_eq!(Lang::En.date(d), "2021-12-31");
}
