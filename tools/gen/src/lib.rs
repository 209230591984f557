//! The deterministic synthetic data generator behind `creditgate-gen`, as a
//! library so tests can make data in-process.
//!
//! Same seed, subject count and "today", same bytes, whatever the thread
//! count: subject `i` is a pure function of `(seed, i)` (see `make.rs`).
//! Workers make blocks of subjects in parallel; one writer puts the blocks
//! back in order. Channels are bounded, so memory stays constant however many
//! subjects are asked for.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{Context, bail};

use creditgate::catalog::Catalog;
use creditgate::date::Date;

pub mod budget;
pub mod chart;
mod make;
pub mod screening;
pub mod variants;
mod vocab;

/// Subjects per unit of work.
const BLOCK: u64 = 4096;

/// What to generate.
pub struct Options {
    /// Number of subjects.
    pub subjects: u64,
    /// Seed: the same seed makes the same data.
    pub seed: u64,
    /// Dates run from 2015-01-01 to this day.
    pub today: Date,
    /// Output directory (created if missing).
    pub out: PathBuf,
    /// Worker threads.
    pub threads: usize,
}

/// What was generated.
pub struct Stats {
    /// Subjects written.
    pub subjects: u64,
    /// Entries written.
    pub entries: u64,
    /// Seconds taken.
    pub seconds: f64,
    /// Worker threads used.
    pub threads: usize,
}

struct Block {
    index: u64,
    subjects: Vec<u8>,
    entries: Vec<u8>,
    entry_count: u64,
}

/// Writes `subjects.ndjson` and `entries.ndjson` into `opts.out`.
pub fn generate(opts: &Options) -> anyhow::Result<Stats> {
    let args = opts;
    let today = args.today;
    let plan = make::Plan::new(args.seed, args.subjects, today);
    if args.subjects > plan.max_subjects() {
        bail!(
            "--subjects {} is more than this generator can keep unique ({})",
            args.subjects,
            plan.max_subjects()
        );
    }
    let catalog = Catalog::bundled();
    for code in make::category_codes() {
        if catalog.category_by_code(code).is_none() {
            bail!("the generator writes category {code:?}, which the bundled catalog lacks");
        }
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let open = |name: &str| -> anyhow::Result<BufWriter<File>> {
        let path = args.out.join(name);
        let file =
            File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        Ok(BufWriter::with_capacity(1 << 20, file))
    };
    let mut subjects_out = open("subjects.ndjson")?;
    let mut entries_out = open("entries.ndjson")?;

    let threads = args.threads.max(1);
    let blocks = args.subjects.div_ceil(BLOCK);
    let next = AtomicU64::new(0);
    let (tx, rx) = crossbeam_channel::bounded::<anyhow::Result<Block>>(threads * 4);
    let started = Instant::now();
    let (subject_count, entry_count) = std::thread::scope(|scope| -> anyhow::Result<(u64, u64)> {
        for _ in 0..threads {
            let tx = tx.clone();
            let (next, plan) = (&next, &plan);
            scope.spawn(move || {
                let mut subjects = Vec::with_capacity(BLOCK as usize);
                let mut entries = Vec::new();
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= blocks {
                        break;
                    }
                    subjects.clear();
                    entries.clear();
                    let end = ((index + 1) * BLOCK).min(plan.subjects);
                    for i in index * BLOCK..end {
                        plan.subject(i, &mut subjects, &mut entries);
                    }
                    let block = encode(index, &subjects, &entries);
                    if tx.send(block).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        // Re-order: blocks arrive in any order, leave in index order. At most
        // `threads * 4 + threads` blocks are ever held.
        let mut pending = BTreeMap::new();
        let mut want = 0u64;
        let (mut subject_count, mut entry_count) = (0u64, 0u64);
        for block in rx {
            let block = block?;
            pending.insert(block.index, block);
            while let Some(block) = pending.remove(&want) {
                subjects_out
                    .write_all(&block.subjects)
                    .context("cannot write subjects")?;
                entries_out
                    .write_all(&block.entries)
                    .context("cannot write entries")?;
                subject_count +=
                    ((block.index + 1) * BLOCK).min(args.subjects) - block.index * BLOCK;
                entry_count += block.entry_count;
                want += 1;
            }
        }
        if want != blocks {
            bail!("internal error: {want} of {blocks} blocks written");
        }
        Ok((subject_count, entry_count))
    })?;
    subjects_out.flush().context("cannot write subjects")?;
    entries_out.flush().context("cannot write entries")?;
    Ok(Stats {
        subjects: subject_count,
        entries: entry_count,
        seconds: started.elapsed().as_secs_f64(),
        threads,
    })
}

fn encode(
    index: u64,
    subjects: &[creditgate::model::SubjectRecord],
    entries: &[creditgate::model::EntryRecord],
) -> anyhow::Result<Block> {
    let mut block = Block {
        index,
        subjects: Vec::with_capacity(subjects.len() * 200),
        entries: Vec::with_capacity(entries.len() * 260),
        entry_count: entries.len() as u64,
    };
    for s in subjects {
        serde_json::to_writer(&mut block.subjects, s)?;
        block.subjects.push(b'\n');
    }
    for e in entries {
        serde_json::to_writer(&mut block.entries, e)?;
        block.entries.push(b'\n');
    }
    Ok(block)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::make;
    use creditgate::model::{EntryRecord, SubjectRecord};

    fn make(seed: u64, n: u64) -> (Vec<SubjectRecord>, Vec<EntryRecord>) {
        let plan = make::Plan::new(seed, n, "2026-11-25".parse().unwrap());
        let (mut s, mut e) = (Vec::new(), Vec::new());
        for i in 0..n {
            plan.subject(i, &mut s, &mut e);
        }
        (s, e)
    }

    #[test]
    fn same_seed_same_data_and_any_order() {
        let plan = make::Plan::new(7, 500, "2026-11-25".parse().unwrap());
        let (a, _) = make(7, 500);
        let mut s = Vec::new();
        plan.subject(321, &mut s, &mut Vec::new());
        assert_eq!(s[0], a[321]);
        let (b, _) = make(8, 500);
        assert_ne!(a, b);
    }

    #[test]
    fn every_record_validates_and_ids_are_unique() {
        let catalog = Catalog::bundled();
        let today: Date = "2026-11-25".parse().unwrap();
        let (subjects, entries) = make(3, 20_000);
        let mut ids = std::collections::HashSet::new();
        let mut persons_linked = std::collections::HashSet::new();
        for s in &subjects {
            let v = s.validate(today).unwrap_or_else(|e| panic!("{s:?}: {e}"));
            assert!(ids.insert(v.id), "duplicate id {}", v.id);
            persons_linked.extend(v.persons.iter().map(|l| l.person));
        }
        let mut entry_ids = std::collections::HashSet::new();
        let mut categories = std::collections::HashSet::new();
        let mut statuses = std::collections::HashSet::new();
        for e in &entries {
            let v = e
                .validate(&catalog, today)
                .unwrap_or_else(|err| panic!("{e:?}: {err}"));
            assert!(ids.contains(&v.subject), "entry on unknown subject");
            assert!(entry_ids.insert(v.entry_id.clone()));
            categories.insert(v.category);
            statuses.insert(v.status);
        }
        assert_eq!(
            categories.len(),
            catalog.categories().len(),
            "every category appears"
        );
        assert_eq!(statuses.len(), 4, "every status appears");
        // Some linked persons have their own subject line, some do not.
        let with_line = persons_linked.iter().filter(|p| ids.contains(p)).count();
        assert!(with_line > 0 && with_line < persons_linked.len());
    }

    #[test]
    fn common_names_repeat_like_real_ones() {
        let (subjects, _) = make(1, 20_000);
        let mut counts = std::collections::HashMap::new();
        for s in subjects
            .iter()
            .filter(|s| s.kind == creditgate::id::SubjectKind::Person)
        {
            *counts.entry(s.name.as_str()).or_insert(0u32) += 1;
        }
        let persons: u32 = counts.values().sum();
        let top = counts.values().max().copied().unwrap_or(0);
        assert!(
            top >= 10,
            "the most common person name appears {top} times in {persons}"
        );
        let orgs: std::collections::HashSet<_> = subjects
            .iter()
            .filter(|s| s.kind == creditgate::id::SubjectKind::Org)
            .map(|s| &s.name)
            .collect();
        assert!(
            orgs.len() > 10_000,
            "organization names are mostly distinct"
        );
    }
}
