//! The fuzzing corpora replayed (issue #20): every input kept under
//! `tools/fuzz/corpus/TARGET` and every crash found under
//! `tools/fuzz/crashes/TARGET` goes through its target again, uninstrumented,
//! so that a crash once fixed stays fixed. A panic fails the test with the
//! file that caused it.

use std::path::Path;

#[test]
fn every_corpus_entry_and_every_crash_found_is_replayed_without_a_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/fuzz");
    let mut replayed = 0;
    for (name, target) in creditgate::fuzzing::TARGETS {
        let corpus = root.join("corpus").join(name);
        assert!(
            corpus.is_dir(),
            "target {name} has no corpus at {}",
            corpus.display()
        );
        for kind in ["corpus", "crashes"] {
            let Ok(dir) = std::fs::read_dir(root.join(kind).join(name)) else {
                continue;
            };
            for entry in dir {
                let path = entry.unwrap().path();
                let input = std::fs::read(&path).unwrap();
                let outcome = std::panic::catch_unwind(|| target(&input));
                assert!(outcome.is_ok(), "{name} panics on {}", path.display());
                replayed += 1;
            }
        }
    }
    assert!(
        replayed >= creditgate::fuzzing::TARGETS.len(),
        "{replayed} inputs"
    );
}
