//! Search quality on the variant set kept in the repository
//! (`data/search-variants.ndjson`, made from the bundled sample with
//! `creditgate-variants make`): the targets of issue #5, held as a test.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use creditgate::catalog::{BUNDLED_TOML, Catalog};
use creditgate::engine::Engine;
use creditgate_gen::variants;

#[test]
fn every_variant_type_meets_its_recall_and_absent_names_stay_below_0_8() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let set = variants::read(BufReader::new(
        File::open(root.join("data/search-variants.ndjson")).unwrap(),
    ))
    .unwrap();
    assert_eq!(set.len(), 2400);
    let catalog = Catalog::bundled();
    let store = creditgate::sample::store_dir(&catalog, BUNDLED_TOML).unwrap();
    let engine = Engine::open(&store, catalog).unwrap();
    let report = variants::score(&engine, &set);
    for (kind, t) in &report.types {
        assert_eq!(t.queries, 200, "{kind}");
        if kind == "absent" {
            assert!(
                t.false_hits * 100 < t.queries,
                "absent: {} results ≥ 0.8",
                t.false_hits
            );
        } else {
            assert!(
                t.recall_at1() >= 0.95,
                "{kind}: recall@1 {}",
                t.recall_at1()
            );
            assert!(
                t.recall_at10() >= 0.99,
                "{kind}: recall@10 {}",
                t.recall_at10()
            );
        }
    }
}

#[test]
fn the_kept_set_is_what_the_generator_makes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let subjects = BufReader::new(File::open(root.join("data/sample/subjects.ndjson")).unwrap());
    let made = variants::make(subjects, 200, 1, true).unwrap();
    let kept = variants::read(BufReader::new(
        File::open(root.join("data/search-variants.ndjson")).unwrap(),
    ))
    .unwrap();
    assert_eq!(
        made, kept,
        "regenerate with: creditgate-variants make --subjects data/sample/subjects.ndjson --per-type 200 > data/search-variants.ndjson"
    );
}
