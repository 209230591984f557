//! The bundled sample (`data/sample`), compiled into the binary so that
//! `creditgate serve`, `check` and `show` work with no data directory from
//! anywhere.
//!
//! On first use the sample is imported into a store under the system's
//! temporary directory, named by a hash of the sample and the catalog. It is
//! built aside and renamed into place, so concurrent first uses do not clash,
//! and a changed sample or catalog gets a fresh store.

use std::path::PathBuf;

use crate::catalog::Catalog;
use crate::date::Date;
use crate::import::{ImportError, ImportOptions, import_file};
use crate::store::Store;

/// `data/sample/subjects.ndjson`.
pub const SUBJECTS: &[u8] = include_bytes!("../data/sample/subjects.ndjson");
/// `data/sample/entries.ndjson`.
pub const ENTRIES: &[u8] = include_bytes!("../data/sample/entries.ndjson");
/// The date the sample was generated for (`creditgate-gen --today`).
pub const SAMPLE_TODAY: &str = "2026-11-25";

fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in *part {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The directory of the sample store, importing it first if needed.
pub fn store_dir(catalog: &Catalog, catalog_text: &str) -> Result<PathBuf, ImportError> {
    let hash = fnv1a(&[
        SUBJECTS,
        ENTRIES,
        catalog_text.as_bytes(),
        env!("CARGO_PKG_VERSION").as_bytes(),
    ]);
    let base = std::env::temp_dir();
    let dir = base.join(format!("creditgate-sample-{hash:016x}"));
    if dir.join("READY").exists() {
        return Ok(dir);
    }
    let io = |path: &PathBuf, source| ImportError::Io {
        path: path.display().to_string(),
        source,
    };
    let work = base.join(format!(
        "creditgate-sample-{hash:016x}.tmp-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| io(&work, e))?;
    let files = [("subjects.ndjson", SUBJECTS), ("entries.ndjson", ENTRIES)];
    for (name, bytes) in files {
        let path = work.join(name);
        std::fs::write(&path, bytes).map_err(|e| io(&path, e))?;
    }
    {
        let store = Store::open_or_create(&work.join("store"))?;
        let today: Date = Date::today();
        for (name, _) in files {
            let mut ignore_issue = |_: &std::path::Path, _: &crate::import::LineIssue| {};
            let mut no_progress = |_| {};
            let mut opts = ImportOptions {
                strict: true,
                threads: 2,
                today,
                calendar: &crate::calendar::WorkCalendar::bundled(),
                on_issue: &mut ignore_issue,
                on_progress: &mut no_progress,
            };
            import_file(Some(&store), catalog, &work.join(name), &mut opts)?;
        }
    }
    let ready = work.join("store").join("READY");
    std::fs::write(&ready, b"").map_err(|e| io(&ready, e))?;
    let store = work.join("store");
    match std::fs::rename(&store, &dir) {
        Ok(()) => {}
        // Another process finished first: use its store.
        Err(_) if dir.join("READY").exists() => {}
        Err(e) => return Err(io(&dir, e)),
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok(dir)
}
