//! The shape of the house, checked (docs/architecture.md is its map): the top-level
//! modules form layers that point one way (the core, a crate of its own, by the compiler), no two files import each other even through
//! others, only `store` (and `config`, which reads where
//! it is) knows the state directory, the core reads no clock and does no I/O, and every
//! source file can be read in one sitting.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Lowest first: a module may use only those before it.
const LAYERS: [&str; 14] = [
    "sys", "core", "i18n", "metrics", "config", "store", "audio", "remote", "station", "http",
    "daemon", "province", "cli", "fuzzing",
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

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn src() -> PathBuf {
    repo().join("src")
}

/// The core is a crate of its own (crates/core): the compiler keeps it from the layers
/// above; here its files are the module `core`, as `loaxa::core` names it.
fn core_src() -> PathBuf {
    repo().join("crates/core/src")
}

/// Where a file's module path starts: (the source root, the module path of that root).
fn root_of(path: &Path) -> (PathBuf, Vec<String>) {
    if path.starts_with(core_src()) {
        (core_src(), vec!["core".to_string()])
    } else {
        (src(), Vec::new())
    }
}

/// The top-level module a file belongs to (`None` for lib.rs and main.rs).
fn layer_of(path: &Path) -> Option<String> {
    if path.starts_with(core_src()) {
        return Some("core".to_string());
    }
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
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        // `crate::tr!` is i18n's macro, exported at the crate's root.
        if name == "tr" {
            out.insert("i18n".to_string());
        } else if !name.is_empty() {
            out.insert(name);
        }
        rest = after;
    }
    out
}

fn all_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    sources(&src(), &mut files);
    sources(&core_src(), &mut files);
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
        if layer == "core" {
            // A crate of its own: `crate::` there is the core itself, and the compiler
            // keeps it from everything above.
            continue;
        }
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

/// The file a module path names (`core::engine` → crates/core/src/engine/mod.rs,
/// `daemon::fleet` → src/daemon/fleet.rs), if any.
fn file_of(parts: &[&str]) -> Option<PathBuf> {
    let (root, parts) = match parts.split_first() {
        Some((&"core", rest)) => (core_src(), rest),
        _ => (src(), parts),
    };
    let mut best = (root == core_src()).then(|| root.join("lib.rs"));
    for n in 1..=parts.len() {
        let rel: PathBuf = parts[..n].iter().collect();
        let as_file = root.join(&rel).with_extension("rs");
        let as_dir = root.join(&rel).join("mod.rs");
        if as_file.is_file() {
            best = Some(as_file);
        } else if as_dir.is_file() {
            best = Some(as_dir);
        } else {
            break;
        }
    }
    best
}

/// The module path of a file (crates/core/src/engine/mod.rs → [core, engine]).
fn module_of(file: &Path) -> Vec<String> {
    let (root, mut parts) = root_of(file);
    let rel = file.strip_prefix(&root).unwrap().with_extension("");
    parts.extend(
        rel.components()
            .map(|c| c.as_os_str().to_string_lossy().to_string()),
    );
    if parts.last().is_some_and(|p| p == "mod") || (parts.len() == 2 && parts[1] == "lib") {
        parts.pop();
    }
    parts
}

/// The files a file imports: `crate::a::b…` and `super::x…` paths, resolved to files.
/// A module's own children (`mod x;` below it) do not count: a parent holding its parts
/// is not a cycle.
fn imports(file: &Path, text: &str) -> BTreeSet<PathBuf> {
    let me = module_of(file);
    let mut out = BTreeSet::new();
    let path_after = |rest: &str| -> Vec<String> {
        rest.split("::")
            .map(|seg| {
                seg.chars()
                    .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                    .collect::<String>()
            })
            .take_while(|seg| !seg.is_empty())
            .collect()
    };
    // `super` of a/b.rs and of a/b/mod.rs (module a::b) is a.
    let mut parent = me.clone();
    parent.pop();
    let (_, crate_root) = root_of(file);
    for (marker, base) in [("crate::", crate_root), ("super::", parent)] {
        let mut rest = text;
        while let Some(i) = rest.find(marker) {
            let after = &rest[i + marker.len()..];
            let mut parts = base.clone();
            parts.extend(path_after(after));
            let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
            if let Some(f) = file_of(&refs)
                && f != file
            {
                out.insert(f);
            }
            rest = after;
        }
    }
    // Children of this module are its parts, not imports.
    out.retain(|f| {
        let m = module_of(f);
        !(m.len() > me.len() && m[..me.len()] == me[..])
    });
    out
}

#[test]
fn no_two_files_import_each_other_even_through_others() {
    let files = all_files();
    let graph: Vec<(PathBuf, BTreeSet<PathBuf>)> = files
        .iter()
        .map(|f| (f.clone(), imports(f, &std::fs::read_to_string(f).unwrap())))
        .collect();
    let index = |f: &Path| graph.iter().position(|(g, _)| g == f);
    // Depth-first search for a back edge.
    let mut state = vec![0u8; graph.len()]; // 0 new, 1 on the path, 2 done
    let mut cycles = Vec::new();
    fn visit(
        i: usize,
        graph: &[(PathBuf, BTreeSet<PathBuf>)],
        index: &dyn Fn(&Path) -> Option<usize>,
        state: &mut [u8],
        path: &mut Vec<usize>,
        cycles: &mut Vec<String>,
    ) {
        state[i] = 1;
        path.push(i);
        for f in &graph[i].1 {
            let Some(j) = index(f) else { continue };
            match state[j] {
                0 => visit(j, graph, index, state, path, cycles),
                1 => {
                    let from = path.iter().position(|k| *k == j).unwrap_or(0);
                    let names: Vec<String> = path[from..]
                        .iter()
                        .chain(std::iter::once(&j))
                        .map(|k| {
                            graph[*k]
                                .0
                                .strip_prefix(repo())
                                .unwrap()
                                .display()
                                .to_string()
                        })
                        .collect();
                    cycles.push(names.join(" -> "));
                }
                _ => {}
            }
        }
        path.pop();
        state[i] = 2;
    }
    for i in 0..graph.len() {
        if state[i] == 0 {
            visit(i, &graph, &index, &mut state, &mut Vec::new(), &mut cycles);
        }
    }
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}
