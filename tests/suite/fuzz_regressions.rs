//! Every input the fuzzers ever found a crash with (`fuzz/regressions/<target>/`), and the
//! seed corpus, replayed through the same entry points: none may panic again.

#[test]
fn every_kept_fuzz_input_is_answered_without_a_panic() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut replayed = 0;
    for (name, target) in loaxa::fuzzing::TARGETS {
        for dir in ["regressions", "seeds"] {
            let Ok(entries) = std::fs::read_dir(root.join(dir).join(name)) else {
                continue;
            };
            for e in entries.flatten() {
                let data = std::fs::read(e.path()).unwrap();
                target(&data);
                replayed += 1;
            }
        }
    }
    assert!(
        replayed > 0,
        "no seeds or regressions found under {}",
        root.display()
    );
}
