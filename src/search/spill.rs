//! Sorting more keys than fit in memory: sorted runs on disk, merged.
//!
//! Building a name index sorts every key it will hold (names, cores,
//! deletion and pinyin keys: about ten per name). At 10^8 names that is far
//! more than memory, so the builder pushes [`Item`]s into a [`Sorter`], which
//! sorts them in batches of a fixed budget, writes each batch to a run file,
//! and hands back one stream merged from all runs in order. A sorter without
//! a directory (the in-memory delta) never spills.
//!
//! The index is built on two cores: a full batch is sorted and written on a
//! thread of its own while the next one fills (one run in flight per
//! sorter), and [`Merged::read_ahead`] merges the runs on a thread of its own
//! while the caller consumes the items.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::PathBuf;

use crate::merge::{Merge, Run};

/// A key with two numbers, ordered by all three.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Item {
    /// The key's bytes.
    pub key: Box<[u8]>,
    /// First number (a name or core id).
    pub a: u32,
    /// Second number (entry meta, or 0).
    pub b: u64,
}

impl Item {
    fn cost(&self) -> usize {
        self.key.len() + 48
    }

    fn write(&self, out: &mut impl Write) -> io::Result<()> {
        out.write_all(&(self.key.len() as u32).to_le_bytes())?;
        out.write_all(&self.key)?;
        out.write_all(&self.a.to_le_bytes())?;
        out.write_all(&self.b.to_le_bytes())
    }

    fn read(input: &mut impl Read) -> io::Result<Option<Item>> {
        let mut len = [0u8; 4];
        match input.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        }
        let mut key = vec![0u8; u32::from_le_bytes(len) as usize];
        input.read_exact(&mut key)?;
        let (mut a, mut b) = ([0u8; 4], [0u8; 8]);
        input.read_exact(&mut a)?;
        input.read_exact(&mut b)?;
        Ok(Some(Item {
            key: key.into_boxed_slice(),
            a: u32::from_le_bytes(a),
            b: u64::from_le_bytes(b),
        }))
    }
}

/// Collects items and gives them back sorted.
pub struct Sorter {
    /// Where runs go; `None`: keep everything in memory.
    dir: Option<PathBuf>,
    name: &'static str,
    budget: usize,
    batch: Vec<Item>,
    batch_cost: usize,
    runs: Vec<PathBuf>,
    /// The last run, being sorted and written while the next batch fills.
    spilling: Option<std::thread::JoinHandle<io::Result<()>>>,
}

impl Sorter {
    /// A sorter spilling runs of about `budget` bytes to `dir` (files named
    /// after `name`), or never spilling when `dir` is `None`.
    pub fn new(dir: Option<PathBuf>, name: &'static str, budget: usize) -> Sorter {
        Sorter {
            dir,
            name,
            budget,
            batch: Vec::new(),
            batch_cost: 0,
            runs: Vec::new(),
            spilling: None,
        }
    }

    /// Adds an item.
    pub fn push(&mut self, item: Item) -> io::Result<()> {
        self.batch_cost += item.cost();
        self.batch.push(item);
        if self.batch_cost >= self.budget && self.dir.is_some() {
            self.spill()?;
        }
        Ok(())
    }

    /// Hands the batch to a thread that sorts it and writes it as a run,
    /// once the previous run is written.
    fn spill(&mut self) -> io::Result<()> {
        let Some(dir) = &self.dir else {
            return Ok(());
        };
        let path = dir.join(format!("{}-{}.run", self.name, self.runs.len()));
        self.wait()?;
        self.runs.push(path.clone());
        let capacity = self.batch.len();
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(capacity));
        self.batch_cost = 0;
        let thread = std::thread::Builder::new()
            .name(format!("sort-{}", self.name))
            .spawn(move || write_run(batch, &path))?;
        self.spilling = Some(thread);
        Ok(())
    }

    /// Waits for the run in flight to be written.
    fn wait(&mut self) -> io::Result<()> {
        match self.spilling.take() {
            Some(thread) => thread
                .join()
                .map_err(|_| io::Error::other("a sort thread panicked"))?,
            None => Ok(()),
        }
    }

    /// Every item pushed, in order.
    pub fn finish(mut self) -> io::Result<Merged> {
        if self.runs.is_empty() {
            self.batch.sort_unstable();
            return Ok(Merged::Memory(std::mem::take(&mut self.batch).into_iter()));
        }
        if !self.batch.is_empty() {
            self.spill()?;
        }
        self.wait()?;
        let mut runs = Vec::with_capacity(self.runs.len());
        for path in &self.runs {
            runs.push(RunFile(BufReader::with_capacity(
                1 << 16,
                File::open(path)?,
            )));
        }
        Ok(Merged::Runs {
            merge: Merge::new(runs)?,
            paths: std::mem::take(&mut self.runs),
        })
    }
}

impl Drop for Sorter {
    fn drop(&mut self) {
        // A sorter dropped on an error leaves no thread writing behind it.
        let _ = self.wait();
    }
}

/// Sorts `batch` and writes it to `path`.
fn write_run(mut batch: Vec<Item>, path: &std::path::Path) -> io::Result<()> {
    batch.sort_unstable();
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    for item in &batch {
        item.write(&mut out)?;
    }
    out.flush()
}

/// A run file being read.
pub struct RunFile(BufReader<File>);

impl Run for RunFile {
    type Key = Item;
    type Error = io::Error;

    fn next_key(&mut self) -> io::Result<Option<Item>> {
        Item::read(&mut self.0)
    }
}

/// The sorted items of a [`Sorter`]. Run files are removed when it is dropped.
pub enum Merged {
    /// Nothing was spilled.
    Memory(std::vec::IntoIter<Item>),
    /// Merging the runs.
    Runs {
        /// The runs, merged.
        merge: Merge<RunFile>,
        /// The run files.
        paths: Vec<PathBuf>,
    },
}

impl Iterator for Merged {
    type Item = io::Result<Item>;

    fn next(&mut self) -> Option<io::Result<Item>> {
        match self {
            Merged::Memory(items) => items.next().map(Ok),
            Merged::Runs { merge, .. } => merge.next_key().transpose(),
        }
    }
}

/// Items handed from the merging thread at once.
const READ_AHEAD_BATCH: usize = 4096;

impl Merged {
    /// The same items, merged on a thread of their own and handed over a
    /// batch at a time, so that the caller's work on them and the merge
    /// (reads, heap, comparisons) run side by side.
    /// Items sorted in memory are handed over as they are.
    pub fn read_ahead(mut self) -> io::Result<ReadAhead> {
        if let Merged::Memory(items) = &mut self {
            let items: Vec<_> = std::mem::take(items).map(Ok).collect();
            return Ok(ReadAhead {
                batches: None,
                current: items.into_iter(),
                thread: None,
            });
        }
        let (tx, rx) = crossbeam_channel::bounded::<Vec<io::Result<Item>>>(4);
        let thread = std::thread::Builder::new()
            .name("merge-runs".into())
            .spawn(move || {
                let mut batch = Vec::with_capacity(READ_AHEAD_BATCH);
                for item in self {
                    let failed = item.is_err();
                    batch.push(item);
                    if (batch.len() == READ_AHEAD_BATCH || failed)
                        && tx
                            .send(std::mem::replace(
                                &mut batch,
                                Vec::with_capacity(READ_AHEAD_BATCH),
                            ))
                            .is_err()
                    {
                        return;
                    }
                    if failed {
                        return;
                    }
                }
                let _ = tx.send(batch);
            })?;
        Ok(ReadAhead {
            batches: Some(rx),
            current: Vec::new().into_iter(),
            thread: Some(thread),
        })
    }
}

/// The items of a [`Merged`] merged ahead on a thread of their own.
pub struct ReadAhead {
    batches: Option<crossbeam_channel::Receiver<Vec<io::Result<Item>>>>,
    current: std::vec::IntoIter<io::Result<Item>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Iterator for ReadAhead {
    type Item = io::Result<Item>;

    fn next(&mut self) -> Option<io::Result<Item>> {
        loop {
            if let Some(item) = self.current.next() {
                return Some(item);
            }
            self.current = self.batches.as_ref()?.recv().ok()?.into_iter();
        }
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        // Hanging up stops the merging thread; joining it removes the runs
        // before the caller goes on.
        self.batches = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Merged {
    fn drop(&mut self) {
        if let Merged::Runs { paths, .. } = self {
            for p in paths {
                let _ = std::fs::remove_file(p);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(k: &str, a: u32) -> Item {
        Item {
            key: k.as_bytes().into(),
            a,
            b: u64::from(a) * 3,
        }
    }

    #[test]
    fn spilled_runs_merge_to_the_same_order_as_memory() {
        let dir = tempfile::tempdir().unwrap();
        let keys: Vec<Item> = (0..5000u32)
            .map(|i| item(&format!("k{}", (i * 7919) % 1000), i))
            .collect();
        let mut spilling = Sorter::new(Some(dir.path().to_path_buf()), "t", 4096);
        let mut memory = Sorter::new(None, "t", 4096);
        for k in &keys {
            spilling.push(k.clone()).unwrap();
            memory.push(k.clone()).unwrap();
        }
        let merged: Vec<Item> = spilling.finish().unwrap().map(Result::unwrap).collect();
        let sorted: Vec<Item> = memory.finish().unwrap().map(Result::unwrap).collect();
        assert_eq!(merged.len(), 5000);
        assert_eq!(merged, sorted);
        // The run files are gone once the merge is dropped.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn read_ahead_gives_the_same_items_and_removes_the_runs_when_dropped_early() {
        let dir = tempfile::tempdir().unwrap();
        let sorter = |budget| {
            let mut s = Sorter::new(Some(dir.path().to_path_buf()), "t", budget);
            for i in 0..20_000u32 {
                s.push(item(&format!("k{}", (i * 7919) % 3000), i)).unwrap();
            }
            s
        };
        let direct: Vec<Item> = sorter(8192).finish().unwrap().map(Result::unwrap).collect();
        let ahead: Vec<Item> = sorter(8192)
            .finish()
            .unwrap()
            .read_ahead()
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(ahead.len(), 20_000);
        assert_eq!(ahead, direct);
        let mut early = sorter(8192).finish().unwrap().read_ahead().unwrap();
        early.next().unwrap().unwrap();
        drop(early);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
