//! In-process check latency over a real store (issue #3 targets: clean id
//! median ≤ 1 µs, flagged id with full reasons median ≤ 20 µs, at 10M subjects).
//!
//! The store comes from `CREDITGATE_BENCH_STORE` (a directory made by
//! `creditgate import`), or is generated and imported once under
//! `gen/bench-<N>` with N from `CREDITGATE_BENCH_SUBJECTS` (default 1,000,000). Clean ids are valid identity numbers the store has
//! never seen, like most passengers an airline checks. Flagged ids are
//! subjects with an active black entry. Beside them, a `HashMap` lookup of the
//! same keys shows what a bare in-memory probe costs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

use creditgate::catalog::Catalog;
use creditgate::date::Date;
use creditgate::engine::Engine;
use creditgate::id::{SubjectKey, build};
use creditgate::store::Reach;

fn store_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("CREDITGATE_BENCH_STORE") {
        return PathBuf::from(dir);
    }
    let n: u64 = std::env::var("CREDITGATE_BENCH_SUBJECTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("gen/bench-{n}"));
    let store = root.join("store");
    if store.join("READY").exists() {
        return store;
    }
    creditgate_gen::generate(&creditgate_gen::Options {
        subjects: n,
        seed: 1,
        today: "2026-11-25".parse().expect("a date"),
        out: root.clone(),
        threads: 2,
    })
    .expect("generates");
    let catalog = Catalog::bundled();
    let db = creditgate::store::Store::open_or_create(&store).expect("store");
    for name in ["subjects.ndjson", "entries.ndjson"] {
        let mut on_issue = |_: &Path, issue: &creditgate::import::LineIssue| panic!("{issue:?}");
        let mut on_progress = |_| {};
        let mut opts = creditgate::import::ImportOptions {
            strict: false,
            threads: 2,
            today: Date::today(),
            calendar: &creditgate::calendar::WorkCalendar::bundled(),
            on_issue: &mut on_issue,
            on_progress: &mut on_progress,
        };
        creditgate::import::import_file(Some(&db), &catalog, &root.join(name), &mut opts)
            .expect("imports");
    }
    drop(db);
    std::fs::write(store.join("READY"), b"").expect("writable");
    store
}

/// Valid identity numbers that the generator never makes (birth year 2006+,
/// after its "adult" cut-off), i.e. clean passengers.
fn clean_ids(n: usize) -> Vec<SubjectKey> {
    (0..n)
        .map(|i| {
            let text = format!(
                "360102{:04}{:02}{:02}{:03}",
                2006 + i % 10,
                1 + i % 12,
                1 + i % 28,
                i % 1000
            );
            let mut first17 = [0u8; 17];
            first17.copy_from_slice(text.as_bytes());
            let id = build::identity_number(&first17).expect("digits");
            SubjectKey::parse(std::str::from_utf8(&id).expect("ascii")).expect("valid")
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let dir = store_dir();
    let catalog = Catalog::bundled();
    let started = Instant::now();
    let engine = Engine::open(&dir, catalog.clone()).expect("store opens");
    let snapshot = engine.snapshot();
    eprintln!(
        "store {}: opened with status index in {:.2} s; {} flagged subjects, index ≈ {:.1} MB ({:.1} bytes/flagged subject); known set {} subjects and {} aliases, {:.1} MB (name prints {:.1} MB)",
        dir.display(),
        started.elapsed().as_secs_f64(),
        snapshot.base_status().len(),
        snapshot.base_status().heap_bytes() as f64 / 1e6,
        snapshot.base_status().heap_bytes() as f64 / snapshot.base_status().len().max(1) as f64,
        snapshot.base_known().len(),
        snapshot.base_known().aliases(),
        snapshot.base_known().heap_bytes() as f64 / 1e6,
        snapshot.base_known().print_bytes() as f64 / 1e6
    );
    let at: Date = "2026-11-25".parse().unwrap();
    let flight = catalog.action_by_code("flight").unwrap();
    let clean = clean_ids(4096);
    let mut flagged = Vec::new();
    // Find denied subjects among the store's listed subjects.
    engine
        .store()
        .for_each_listed(|k, _| {
            if flagged.len() < 4096 {
                flagged.push(k);
            }
        })
        .unwrap();
    flagged.retain(|k| {
        engine
            .check(*k, flight, at)
            .map(|a| !a.reasons.is_empty())
            .unwrap_or(false)
    });
    flagged.dedup();
    assert!(!flagged.is_empty(), "the store has denied subjects");
    // Known subjects without entries: the common case of the HTTP load.
    let mut known_clean = Vec::new();
    engine
        .store()
        .for_each_subject_key(|k| {
            if known_clean.len() < 200_000 {
                known_clean.push(k);
            }
        })
        .unwrap();
    known_clean.retain(|k| snapshot.lookup(*k).0.is_none());
    known_clean.truncate(4096);
    // Their names, as an airline sends them with the id.
    let names: Vec<String> = known_clean
        .iter()
        .map(|k| engine.store().subject(*k).unwrap().expect("a record").name)
        .collect();
    let baseline: HashMap<SubjectKey, u8> = flagged.iter().map(|k| (*k, 1)).collect();

    let mut group = c.benchmark_group("check");
    let mut i = 0;
    group.bench_function(BenchmarkId::new("clean_id", "store"), |b| {
        b.iter(|| {
            i = (i + 1) % clean.len();
            engine.check(clean[i], flight, at).unwrap()
        })
    });
    group.bench_function(BenchmarkId::new("known_clean_id", "store"), |b| {
        b.iter(|| {
            i = (i + 1) % known_clean.len();
            engine.check(known_clean[i], flight, at).unwrap()
        })
    });
    // What the HTTP route does: the answer written as JSON into a buffer.
    let mut json = Vec::with_capacity(1024);
    group.bench_function(BenchmarkId::new("known_clean_id_json", "store"), |b| {
        b.iter(|| {
            i = (i + 1) % known_clean.len();
            json.clear();
            engine
                .check_json(known_clean[i], flight, at, None, Reach::Memory, &mut json)
                .unwrap();
            json.len()
        })
    });
    // The same with the subject's name (`name_match` from the prints).
    group.bench_function(
        BenchmarkId::new("known_clean_id_named_json", "store"),
        |b| {
            b.iter(|| {
                i = (i + 1) % known_clean.len();
                json.clear();
                engine
                    .check_json(
                        known_clean[i],
                        flight,
                        at,
                        Some(&names[i]),
                        Reach::Memory,
                        &mut json,
                    )
                    .unwrap();
                json.len()
            })
        },
    );
    group.bench_function(BenchmarkId::new("flagged_id_full_reasons", "store"), |b| {
        b.iter(|| {
            i = (i + 1) % flagged.len();
            engine.check(flagged[i], flight, at).unwrap()
        })
    });
    group.bench_function(BenchmarkId::new("hashmap_probe", "baseline"), |b| {
        b.iter(|| {
            i = (i + 1) % clean.len();
            baseline.get(&clean[i]).copied()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
