//! The shape of the house, checked (docs/architecture.md is its map): the top-level
//! modules form layers that point one way, only `store` (and `config`, which reads where
//! it is) knows the state directory, the core reads no clock and does no I/O, and every
//! source file can be read in one sitting.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Lowest first: a module may use only those before it.
const LAYERS: [&str; 13] = [
    "sys", "core", "metrics", "config", "store", "audio", "remote", "station", "http", "daemon",
    "province", "cli", "fuzzing",
];
const MAX_LINES: usize = 700;

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The top-level module a file belongs to (`None` for lib.rs and main.rs).
fn layer_of(path: &Path) -> Option<String> {
    let rel = path.strip_prefix(src()).unwrap();
    let first = rel
        .components()
        .next()?
        .as_os_str()
        .to_string_lossy()
        .to_string();
    let name = first.trim_end_matches(".rs").to_string();
    (name != "lib" && name != "main").then_some(name)
}

/// `crate::x` names used in a file (doc comments included: a doc that points upward
/// is a dependency in waiting).
fn uses(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find("crate::") {
        let after = &rest[i + 7..];
        let name: String = after
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.insert(name);
        }
        rest = after;
    }
    out
}

fn all_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    sources(&src(), &mut files);
    files.sort();
    files
}

#[test]
fn layers_point_one_way() {
    let mut wrong = Vec::new();
    for file in all_files() {
        let Some(layer) = layer_of(&file) else {
            continue;
        };
        let Some(rank) = LAYERS.iter().position(|l| *l == layer) else {
            wrong.push(format!("{}: module {layer} is in no layer", file.display()));
            continue;
        };
        let text = std::fs::read_to_string(&file).unwrap();
        for used in uses(&text) {
            match LAYERS.iter().position(|l| *l == used) {
                Some(r) if r > rank => wrong.push(format!(
                    "{}: {layer} uses {used}, a layer above it",
                    file.display()
                )),
                Some(_) => {}
                None => wrong.push(format!("{}: crate::{used} is in no layer", file.display())),
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn only_the_store_and_the_config_reader_know_the_state_directory() {
    let mut wrong = Vec::new();
    for file in all_files() {
        let layer = layer_of(&file).unwrap_or_default();
        if layer == "store" || layer == "config" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        if text.contains("state_dir") {
            wrong.push(file.display().to_string());
        }
    }
    assert!(wrong.is_empty(), "state_dir used in:\n{}", wrong.join("\n"));
}

#[test]
fn the_core_reads_no_clock_and_touches_no_file_thread_or_network() {
    let banned = [
        "Utc::now",
        "Local::now",
        "SystemTime",
        "Instant::now",
        "std::fs",
        "std::thread",
        "std::net",
        "std::process",
        "tokio",
        "tracing::",
    ];
    let mut wrong = Vec::new();
    for file in all_files() {
        if layer_of(&file).as_deref() != Some("core") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for b in banned {
            if text.contains(b) {
                wrong.push(format!("{}: {b}", file.display()));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_source_file_reads_in_one_sitting() {
    let long: Vec<String> = all_files()
        .into_iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(&f).unwrap().lines().count();
            (n > MAX_LINES).then(|| format!("{}: {n} lines", f.display()))
        })
        .collect();
    assert!(
        long.is_empty(),
        "longer than {MAX_LINES} lines:\n{}",
        long.join("\n")
    );
}
