//! Bulk import of subjects: sorted runs, one merge, SST files, ingestion.
//!
//! Writing 10^7–10^8 subjects through write batches spends most of its time
//! in the memtable and the write-ahead log, on one thread. This path instead:
//!
//! 1. **Runs** (parallel, in the parser threads): each parser encodes its
//!    subjects into a [`RunBuffer`]; a full buffer is sorted by key and
//!    spilled to a run file in `<store>/bulk-import/`. Memory is bounded by
//!    the buffer size, whatever the input size.
//! 2. **Merge** ([`BulkSubjects::finish`]): the runs are merged in key order.
//!    Of several records with one key, the one latest in the file wins (each
//!    record carries its line order). Each winner is compared with the
//!    stored record (batched, sorted `multi_get`): equal ones change
//!    nothing; new and different ones are written with their change-log and
//!    history records. Because keys arrive in order, every output family is
//!    written as sorted SST files directly: `subjects` and `history` in key
//!    order, `changes` in sequence order; person links are sorted in bounded
//!    runs of their own and merged into `person_orgs`.
//! 3. **Ingest**: the sequence counter and the deletion of links that
//!    replaced records no longer have are written (synced) first, then the
//!    files are ingested family by family, `subjects` last. Into an empty
//!    store they land in the bottom level without compaction.
//!
//! A process killed before step 3 leaves only the work directory, which the
//! next import removes. One killed during step 3 leaves some families
//! ingested: running the import again finds the subjects not yet written
//! and writes them with their log records (a record logged twice is possible;
//! a record missing from the log is not).

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use rocksdb::{IngestExternalFileOptions, Options, SstFileWriter, WriteBatch, WriteOptions};

use super::schema::{
    CF_CHANGES, CF_HISTORY, CF_META, CF_PERSON_ORGS, CF_SUBJECTS, KEY_LEN, KEY_NEXT_SEQ,
    family_options, history_key, person_org_key,
};
use super::values::{Change, StoredSubject};
use super::{Applied, Store, StoreError, codec};
use crate::date::epoch_ms;
use crate::merge::{Merge, Run};
use crate::model::{ChangeKind, Subject};

/// Bytes of encoded records a parser holds before spilling a run.
const RUN_BYTES: usize = 256 << 20;
/// Person links held before spilling a sorted link run.
const LINK_RUN: usize = 4 << 20;
/// Winners looked up in the store at once.
const LOOKUP_BATCH: usize = 4096;
/// Size at which an output SST file is closed and the next one begun.
const SST_BYTES: u64 = 256 << 20;
/// Link deletions written per batch.
const DELETE_BATCH: usize = 16_384;

type Key = [u8; KEY_LEN];
type LinkKey = [u8; 2 * KEY_LEN + 1];

/// One subject in a run: key, line order, encoded value, person links.
struct Record {
    key: Key,
    order: u64,
    value: Vec<u8>,
    links: Vec<(Key, u8)>,
}

/// A bulk import of subjects in progress.
pub struct BulkSubjects {
    dir: PathBuf,
    runs: Mutex<Vec<PathBuf>>,
    next_run: AtomicU64,
}

/// A parser's buffer of encoded subjects, spilled as sorted runs.
pub struct RunBuffer<'a> {
    bulk: &'a BulkSubjects,
    records: Vec<Record>,
    bytes: usize,
}

/// An I/O error on `path` as a store error.
pub(crate) fn io_error(path: &Path, source: std::io::Error) -> StoreError {
    StoreError::Io {
        path: path.display().to_string(),
        source,
    }
}

impl BulkSubjects {
    /// Starts a bulk import into `store`, clearing what a killed one left.
    pub fn new(store: &Store) -> Result<BulkSubjects, StoreError> {
        let dir = store.path.join("bulk-import");
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| io_error(&dir, e))?;
        }
        std::fs::create_dir_all(&dir).map_err(|e| io_error(&dir, e))?;
        Ok(BulkSubjects {
            dir,
            runs: Mutex::new(Vec::new()),
            next_run: AtomicU64::new(0),
        })
    }

    /// A buffer for one parser thread.
    pub fn buffer(&self) -> RunBuffer<'_> {
        RunBuffer {
            bulk: self,
            records: Vec::new(),
            bytes: 0,
        }
    }

    fn new_path(&self, what: &str) -> PathBuf {
        let n = self.next_run.fetch_add(1, Ordering::Relaxed);
        self.dir.join(format!("{what}-{n:06}"))
    }

    /// Merges the runs into the store (steps 2 and 3 of the module docs) and
    /// removes the work directory.
    pub fn finish(self, store: &Store) -> Result<Applied, StoreError> {
        let runs = std::mem::take(&mut *self.runs.lock().unwrap_or_else(|p| p.into_inner()));
        let applied = merge_and_ingest(&self, store, &runs)?;
        std::fs::remove_dir_all(&self.dir).map_err(|e| io_error(&self.dir, e))?;
        Ok(applied)
    }
}

impl RunBuffer<'_> {
    /// Adds `subject`; `order` is its position in the file (later wins).
    pub fn push(&mut self, subject: &Subject, order: u64) -> Result<(), StoreError> {
        let stored = StoredSubject::from_model(subject);
        let value = codec::encode(&stored);
        self.bytes += value.len() + 48 + stored.persons.len() * 13;
        self.records.push(Record {
            key: subject.id.to_bytes(),
            order,
            value,
            links: stored.persons,
        });
        if self.bytes >= RUN_BYTES {
            self.spill()?;
        }
        Ok(())
    }

    /// Writes what is buffered as a sorted run.
    pub fn spill(&mut self) -> Result<(), StoreError> {
        if self.records.is_empty() {
            return Ok(());
        }
        self.records.sort_unstable_by_key(|r| (r.key, r.order));
        let path = self.bulk.new_path("run");
        let file = File::create(&path).map_err(|e| io_error(&path, e))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let write = |out: &mut BufWriter<File>, r: &Record| -> std::io::Result<()> {
            out.write_all(&r.key)?;
            out.write_all(&r.order.to_le_bytes())?;
            out.write_all(&(r.value.len() as u32).to_le_bytes())?;
            out.write_all(&r.value)?;
            out.write_all(&(r.links.len() as u16).to_le_bytes())?;
            for (person, role) in &r.links {
                out.write_all(person)?;
                out.write_all(&[*role])?;
            }
            Ok(())
        };
        for r in &self.records {
            write(&mut out, r).map_err(|e| io_error(&path, e))?;
        }
        out.flush().map_err(|e| io_error(&path, e))?;
        self.bulk
            .runs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(path);
        self.records.clear();
        self.bytes = 0;
        Ok(())
    }
}

/// Reads a run back, record by record.
struct RunReader {
    path: PathBuf,
    input: BufReader<File>,
    current: Record,
}

impl RunReader {
    fn open(path: &Path) -> Result<RunReader, StoreError> {
        let file = File::open(path).map_err(|e| io_error(path, e))?;
        Ok(RunReader {
            path: path.to_path_buf(),
            input: BufReader::with_capacity(256 << 10, file),
            current: Record {
                key: [0; KEY_LEN],
                order: 0,
                value: Vec::new(),
                links: Vec::new(),
            },
        })
    }

    /// Reads the next record into `current`; false at the end.
    fn advance(&mut self) -> Result<bool, StoreError> {
        let r = &mut self.current;
        match self.input.read_exact(&mut r.key) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(false),
            Err(e) => return Err(io_error(&self.path, e)),
        }
        let mut read = || -> std::io::Result<()> {
            let mut n8 = [0u8; 8];
            self.input.read_exact(&mut n8)?;
            r.order = u64::from_le_bytes(n8);
            let mut n4 = [0u8; 4];
            self.input.read_exact(&mut n4)?;
            r.value.resize(u32::from_le_bytes(n4) as usize, 0);
            self.input.read_exact(&mut r.value)?;
            let mut n2 = [0u8; 2];
            self.input.read_exact(&mut n2)?;
            r.links.clear();
            for _ in 0..u16::from_le_bytes(n2) {
                let mut link = [0u8; KEY_LEN + 1];
                self.input.read_exact(&mut link)?;
                let mut person = [0u8; KEY_LEN];
                person.copy_from_slice(&link[..KEY_LEN]);
                r.links.push((person, link[KEY_LEN]));
            }
            Ok(())
        };
        read().map_err(|e| io_error(&self.path, e))?;
        Ok(true)
    }
}

/// Sorted SST output for one family, cut into files of about [`SST_BYTES`].
struct SstOut<'o> {
    options: &'o Options,
    bulk: &'o BulkSubjects,
    name: &'static str,
    writer: Option<SstFileWriter<'o>>,
    files: Vec<PathBuf>,
}

impl<'o> SstOut<'o> {
    fn new(options: &'o Options, bulk: &'o BulkSubjects, name: &'static str) -> SstOut<'o> {
        SstOut {
            options,
            bulk,
            name,
            writer: None,
            files: Vec::new(),
        }
    }

    fn put(&mut self, store: &Store, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        if self.writer.is_none() {
            let path = self.bulk.new_path(self.name);
            let writer = SstFileWriter::create(self.options);
            writer.open(&path).map_err(|e| store.rocks(e))?;
            self.files.push(path);
            self.writer = Some(writer);
        }
        let writer = self.writer.as_mut().expect("opened above");
        writer.put(key, value).map_err(|e| store.rocks(e))?;
        if writer.file_size() >= SST_BYTES {
            self.close(store)?;
        }
        Ok(())
    }

    fn close(&mut self, store: &Store) -> Result<(), StoreError> {
        if let Some(mut writer) = self.writer.take() {
            writer.finish().map_err(|e| store.rocks(e))?;
        }
        Ok(())
    }

    fn finish(mut self, store: &Store) -> Result<Vec<PathBuf>, StoreError> {
        self.close(store)?;
        Ok(self.files)
    }
}

/// A link key's byte order as integers (25 bytes: 16, 8, 1).
fn link_order(key: &LinkKey) -> (u128, u64, u8) {
    let (high, rest) = key.split_first_chunk::<16>().expect("25 bytes");
    let (middle, last) = rest.split_first_chunk::<8>().expect("9 bytes");
    (
        u128::from_be_bytes(*high),
        u64::from_be_bytes(*middle),
        last[0],
    )
}

/// Person links of written subjects, sorted in bounded runs.
struct LinkRuns<'o> {
    bulk: &'o BulkSubjects,
    buffer: Vec<LinkKey>,
    runs: Vec<PathBuf>,
}

impl LinkRuns<'_> {
    fn push(&mut self, key: LinkKey) -> Result<(), StoreError> {
        self.buffer.push(key);
        if self.buffer.len() >= LINK_RUN {
            self.spill()?;
        }
        Ok(())
    }

    fn spill(&mut self) -> Result<(), StoreError> {
        // Compared as integers: a third of the time of comparing the byte
        // arrays (a `memcmp` call each).
        self.buffer.sort_unstable_by_key(link_order);
        self.buffer.dedup();
        let path = self.bulk.new_path("links");
        let file = File::create(&path).map_err(|e| io_error(&path, e))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        for k in &self.buffer {
            out.write_all(k).map_err(|e| io_error(&path, e))?;
        }
        out.flush().map_err(|e| io_error(&path, e))?;
        self.runs.push(path);
        self.buffer.clear();
        Ok(())
    }

    /// Merges the runs (and the buffer, spilled as a last run) into `out`.
    fn write(mut self, store: &Store, out: &mut SstOut<'_>) -> Result<(), StoreError> {
        self.spill()?;
        let mut runs = Vec::new();
        for path in &self.runs {
            let file = File::open(path).map_err(|e| io_error(path, e))?;
            runs.push(LinkRun {
                path: path.clone(),
                input: BufReader::with_capacity(64 << 10, file),
            });
        }
        let mut merge = Merge::new(runs)?;
        let mut last: Option<LinkKey> = None;
        while let Some(k) = merge.next_key()? {
            if last != Some(k) {
                out.put(store, &k, &[])?;
                last = Some(k);
            }
        }
        Ok(())
    }
}

/// A sorted run of link keys being read.
struct LinkRun {
    path: PathBuf,
    input: BufReader<File>,
}

impl Run for LinkRun {
    type Key = LinkKey;
    type Error = StoreError;

    fn next_key(&mut self) -> Result<Option<LinkKey>, StoreError> {
        let mut k = [0u8; 2 * KEY_LEN + 1];
        match self.input.read_exact(&mut k) {
            Ok(()) => Ok(Some(k)),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
            Err(e) => Err(io_error(&self.path, e)),
        }
    }
}

/// Sorted key/value pairs in one buffer, on their way to the thread that
/// writes their family's SST files.
#[derive(Default)]
struct Pairs {
    bytes: Vec<u8>,
    /// Where each key ends and where its value ends, in `bytes`.
    ends: Vec<(usize, usize)>,
}

impl Pairs {
    fn push(&mut self, key: &[u8], value: &[u8]) {
        self.bytes.extend_from_slice(key);
        let key_end = self.bytes.len();
        self.bytes.extend_from_slice(value);
        self.ends.push((key_end, self.bytes.len()));
    }

    fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        let mut start = 0;
        self.ends.iter().map(move |&(key_end, end)| {
            let pair = (&self.bytes[start..key_end], &self.bytes[key_end..end]);
            start = end;
            pair
        })
    }
}

/// Batches in flight to one writer thread.
const IN_FLIGHT: usize = 8;

/// The sending side of one writer thread: what is gathered, sent a batch
/// of winners at a time.
struct Feed<T> {
    pending: T,
    tx: crossbeam_channel::Sender<T>,
}

impl<T: Default> Feed<T> {
    /// A feed and the receiving end for its writer thread.
    fn new() -> (Feed<T>, crossbeam_channel::Receiver<T>) {
        let (tx, rx) = crossbeam_channel::bounded(IN_FLIGHT);
        let pending = T::default();
        (Feed { pending, tx }, rx)
    }

    /// Sends what is pending; an error means the writer thread stopped (its
    /// own error is what the merge reports).
    fn send(&mut self) -> Result<(), WriterStopped> {
        let batch = std::mem::take(&mut self.pending);
        self.tx.send(batch).map_err(|_| WriterStopped)
    }
}

/// A writer thread stopped early; joining it tells why.
struct WriterStopped;

/// The merge's outcome before the writer threads are joined.
enum MergeError {
    Store(StoreError),
    WriterStopped,
}

impl From<StoreError> for MergeError {
    fn from(e: StoreError) -> MergeError {
        MergeError::Store(e)
    }
}

impl From<WriterStopped> for MergeError {
    fn from(_: WriterStopped) -> MergeError {
        MergeError::WriterStopped
    }
}

/// What the merge writes, family by family: the store's writes here, the
/// SST files and link runs through writer threads.
struct Outputs {
    subjects: Feed<Pairs>,
    history: Feed<Pairs>,
    changes: Feed<Pairs>,
    links: Feed<Vec<LinkKey>>,
    deletes: WriteBatch,
    applied: Applied,
    seq: u64,
    at_ms: u64,
}

impl Outputs {
    /// Writes one merged winner given the stored value.
    fn write(
        &mut self,
        store: &Store,
        r: &Record,
        stored: Option<&[u8]>,
    ) -> Result<(), StoreError> {
        let kind = match stored {
            Some(old) if old == r.value.as_slice() => {
                self.applied.unchanged += 1;
                return Ok(());
            }
            Some(old) => {
                self.applied.replaced += 1;
                let old: StoredSubject = codec::decode(old, "subject")?;
                for (person, role) in &old.persons {
                    if !r.links.contains(&(*person, *role)) {
                        self.deletes.delete_cf(
                            store.cf(CF_PERSON_ORGS),
                            person_org_key(person, &r.key, *role),
                        );
                    }
                }
                if self.deletes.len() >= DELETE_BATCH {
                    let batch = std::mem::take(&mut self.deletes);
                    store.db.write(batch).map_err(|e| store.rocks(e))?;
                }
                ChangeKind::SubjectReplaced
            }
            None => {
                self.applied.inserted += 1;
                ChangeKind::SubjectInserted
            }
        };
        self.subjects.pending.push(&r.key, &r.value);
        for (person, role) in &r.links {
            self.links
                .pending
                .push(person_org_key(person, &r.key, *role));
        }
        let change = Change {
            seq: self.seq,
            at_ms: self.at_ms,
            kind,
            subject: r.key,
            entry_id: None,
            status: None,
            entry: None,
            note: None,
        };
        self.seq += 1;
        let encoded = codec::encode(&change);
        self.history
            .pending
            .push(&history_key(&r.key, change.seq), &encoded);
        self.changes
            .pending
            .push(&change.seq.to_be_bytes(), &encoded);
        Ok(())
    }

    /// Looks up a batch of winners in the store, writes them, and sends
    /// what they gave to the writer threads.
    fn write_batch(&mut self, store: &Store, batch: &mut Vec<Record>) -> Result<(), MergeError> {
        let cf = store.cf(CF_SUBJECTS);
        let stored = store
            .db
            .batched_multi_get_cf(cf, batch.iter().map(|r| &r.key), true);
        for (r, old) in batch.iter().zip(stored) {
            let old = old.map_err(|e| store.rocks(e))?;
            self.write(store, r, old.as_deref())?;
        }
        batch.clear();
        self.subjects.send()?;
        self.history.send()?;
        self.changes.send()?;
        self.links.send()?;
        Ok(())
    }
}

/// Writes one family's sorted pairs as SST files, on its own thread.
fn write_family(
    store: &Store,
    options: &Options,
    bulk: &BulkSubjects,
    name: &'static str,
    batches: crossbeam_channel::Receiver<Pairs>,
) -> Result<Vec<PathBuf>, StoreError> {
    let mut out = SstOut::new(options, bulk, name);
    for pairs in batches {
        for (key, value) in pairs.iter() {
            out.put(store, key, value)?;
        }
    }
    out.finish(store)
}

/// Sorts person links into runs as they come, then merges them into the
/// `person_orgs` SST files, on its own thread.
fn write_links(
    store: &Store,
    options: &Options,
    bulk: &BulkSubjects,
    batches: crossbeam_channel::Receiver<Vec<LinkKey>>,
) -> Result<Vec<PathBuf>, StoreError> {
    let mut runs = LinkRuns {
        bulk,
        buffer: Vec::new(),
        runs: Vec::new(),
    };
    for keys in batches {
        for key in keys {
            runs.push(key)?;
        }
    }
    let mut out = SstOut::new(options, bulk, "person_orgs");
    runs.write(store, &mut out)?;
    out.finish(store)
}

/// Merges the runs in key order and hands each winner to `out`.
fn merge_runs(store: &Store, runs: &[PathBuf], out: &mut Outputs) -> Result<(), MergeError> {
    let mut readers = Vec::with_capacity(runs.len());
    for path in runs {
        readers.push(RunReader::open(path)?);
    }
    let mut merge = Merge::new(readers)?;
    let mut batch: Vec<Record> = Vec::with_capacity(LOOKUP_BATCH);
    while let Some(((key, _), first)) = merge.pop() {
        // Of the records with this key the last popped has the highest order.
        let mut winner = first;
        let mut superseded: Vec<Vec<u8>> = Vec::new();
        while let Some((&(k, _), i)) = merge.peek()
            && k == key
        {
            merge.pop();
            superseded.push(std::mem::take(&mut merge.run_mut(winner).current.value));
            merge.refill(winner)?;
            winner = i;
        }
        let w = &mut merge.run_mut(winner).current;
        for old in superseded {
            if old == w.value {
                out.applied.unchanged += 1;
            } else {
                out.applied.replaced += 1;
            }
        }
        batch.push(Record {
            key: w.key,
            order: w.order,
            value: std::mem::take(&mut w.value),
            links: std::mem::take(&mut w.links),
        });
        merge.refill(winner)?;
        if batch.len() >= LOOKUP_BATCH {
            out.write_batch(store, &mut batch)?;
        }
    }
    out.write_batch(store, &mut batch)
}

fn merge_and_ingest(
    bulk: &BulkSubjects,
    store: &Store,
    runs: &[PathBuf],
) -> Result<Applied, StoreError> {
    let options = family_options(None);
    let mut seq_guard = store.writer.lock().unwrap_or_else(|p| p.into_inner());
    // The merge, the lookups and the encoding run here; each family's SST
    // files (LZ4, blocks, filters) and the link runs' sorting on threads of
    // their own, fed a batch of winners at a time.
    let (merged, families) = std::thread::scope(|scope| {
        let (subjects, subjects_rx) = Feed::new();
        let (history, history_rx) = Feed::new();
        let (changes, changes_rx) = Feed::new();
        let (links, links_rx) = Feed::new();
        let options = &options;
        // Joined in the order of ingestion, `subjects` last.
        let spawn = |name, rx| scope.spawn(move || write_family(store, options, bulk, name, rx));
        let changes_thread = spawn("changes", changes_rx);
        let history_thread = spawn("history", history_rx);
        let subjects_thread = spawn("subjects", subjects_rx);
        let links_thread = scope.spawn(move || write_links(store, options, bulk, links_rx));
        let mut out = Outputs {
            subjects,
            history,
            changes,
            links,
            deletes: WriteBatch::default(),
            applied: Applied::default(),
            seq: *seq_guard,
            at_ms: epoch_ms(),
        };
        let merged = merge_runs(store, runs, &mut out);
        let Outputs {
            subjects,
            history,
            changes,
            links,
            deletes,
            applied,
            seq,
            ..
        } = out;
        // With the senders gone, the writers finish their files.
        drop((subjects, history, changes, links));
        let mut families = Vec::new();
        let mut first_error = None;
        let threads = [
            (CF_CHANGES, changes_thread),
            (CF_HISTORY, history_thread),
            (CF_PERSON_ORGS, links_thread),
            (CF_SUBJECTS, subjects_thread),
        ];
        for (family, thread) in threads {
            let files = thread.join().expect("a bulk writer thread does not panic");
            match files {
                Ok(files) => families.push((family, files)),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        let merged = match (merged, first_error) {
            (_, Some(e)) | (Err(MergeError::Store(e)), None) => Err(e),
            (Err(MergeError::WriterStopped), None) => Err(io_error(
                &bulk.dir,
                std::io::Error::other("a bulk writer thread stopped without an error"),
            )),
            (Ok(()), None) => Ok((deletes, applied, seq)),
        };
        (merged, families)
    });
    let (mut deletes, applied, seq) = merged?;
    // The counter and the link deletions first, durably; then the files,
    // `subjects` last.
    deletes.put_cf(store.cf(CF_META), KEY_NEXT_SEQ, seq.to_be_bytes());
    let mut sync = WriteOptions::default();
    sync.set_sync(true);
    store
        .db
        .write_opt(deletes, &sync)
        .map_err(|e| store.rocks(e))?;
    *seq_guard = seq;
    let mut ingest = IngestExternalFileOptions::default();
    ingest.set_move_files(true);
    for (family, files) in families {
        if !files.is_empty() {
            store
                .db
                .ingest_external_file_cf_opts(store.cf(family), &ingest, files)
                .map_err(|e| store.rocks(e))?;
        }
    }
    // Readers of the log see the new sequence once every change is in it.
    store
        .committed
        .store(seq, std::sync::atomic::Ordering::Release);
    Ok(applied)
}

impl Run for RunReader {
    /// A record's subject key and its order in the input.
    type Key = (Key, u64);
    type Error = StoreError;

    fn next_key(&mut self) -> Result<Option<(Key, u64)>, StoreError> {
        Ok(self
            .advance()?
            .then_some((self.current.key, self.current.order)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::SubjectKey;
    use crate::model::{SubjectRecord, parse_record};

    fn subject(id: &str, name: &str, persons: &[&str]) -> Subject {
        let persons: Vec<String> = persons
            .iter()
            .map(|p| format!(r#"{{"id":"{p}","role":"legal_rep"}}"#))
            .collect();
        let line = format!(
            r#"{{"id":"{id}","kind":"org","name":"{name}","persons":[{}]}}"#,
            persons.join(",")
        );
        parse_record::<SubjectRecord>(&line)
            .unwrap()
            .validate("2026-11-25".parse().unwrap())
            .unwrap()
    }

    const ORG_A: &str = "91360100705500005G";
    const PERSON_1: &str = "11010519491231002X";
    const PERSON_2: &str = "36102519400601500X";

    fn key(id: &str) -> SubjectKey {
        SubjectKey::parse(id).unwrap()
    }

    #[test]
    fn latest_line_wins_across_runs_and_only_its_links_are_written() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_or_create(dir.path()).unwrap();
        let bulk = BulkSubjects::new(&store).unwrap();
        let (mut first, mut second) = (bulk.buffer(), bulk.buffer());
        let other = "91430100MA0000015K";
        first
            .push(&subject(ORG_A, "旧名有限公司", &[PERSON_1]), 1)
            .unwrap();
        first
            .push(&subject(other, "另一家有限公司", &[]), 2)
            .unwrap();
        second
            .push(&subject(ORG_A, "新名有限公司", &[PERSON_2]), 7)
            .unwrap();
        first.spill().unwrap();
        second.spill().unwrap();
        drop((first, second));
        let applied = bulk.finish(&store).unwrap();
        assert_eq!(
            applied,
            Applied {
                inserted: 2,
                replaced: 1,
                unchanged: 0
            }
        );
        assert!(!dir.path().join("bulk-import").exists());
        assert_eq!(
            store.subject(key(ORG_A)).unwrap().unwrap().name,
            "新名有限公司"
        );
        assert!(store.orgs_of(key(PERSON_1)).unwrap().is_empty());
        assert_eq!(store.orgs_of(key(PERSON_2)).unwrap().len(), 1);
        let changes = store.changes(0, 10).unwrap();
        assert_eq!(changes.iter().map(|c| c.seq).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(store.history_of(key(ORG_A)).unwrap().len(), 1);
    }

    #[test]
    fn a_second_bulk_replaces_deletes_stale_links_and_skips_equal_records() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_or_create(dir.path()).unwrap();
        let load = |subjects: &[Subject]| {
            let bulk = BulkSubjects::new(&store).unwrap();
            let mut buffer = bulk.buffer();
            for (i, s) in subjects.iter().enumerate() {
                buffer.push(s, i as u64).unwrap();
            }
            buffer.spill().unwrap();
            drop(buffer);
            bulk.finish(&store).unwrap()
        };
        let other = subject("91430100MA0000015K", "另一家有限公司", &[]);
        load(&[subject(ORG_A, "华远有限公司", &[PERSON_1]), other.clone()]);
        let applied = load(&[subject(ORG_A, "华远有限公司", &[PERSON_2]), other]);
        assert_eq!(
            applied,
            Applied {
                inserted: 0,
                replaced: 1,
                unchanged: 1
            }
        );
        assert!(
            store.orgs_of(key(PERSON_1)).unwrap().is_empty(),
            "stale link deleted"
        );
        assert_eq!(store.orgs_of(key(PERSON_2)).unwrap().len(), 1);
        let history = store.history_of(key(ORG_A)).unwrap();
        assert_eq!(
            history.iter().map(|c| c.kind).collect::<Vec<_>>(),
            [ChangeKind::SubjectInserted, ChangeKind::SubjectReplaced]
        );
        // The counter continues after the bulk writes.
        let more = store
            .apply_subjects(&[subject("91430100MA0000015K", "改名有限公司", &[])])
            .unwrap();
        assert_eq!(more.replaced, 1);
        let seqs: Vec<u64> = store
            .changes(0, 10)
            .unwrap()
            .iter()
            .map(|c| c.seq)
            .collect();
        assert_eq!(seqs, [1, 2, 3, 4]);
    }
}
