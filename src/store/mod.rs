//! The durable source of truth: subjects, entries and links in RocksDB.
//!
//! Column families (keys are [`SubjectKey::to_bytes`], 12 bytes, unless noted):
//!
//! | family | key | value |
//! |---|---|---|
//! | `meta` | `format`, `next_seq` | store format version, next change sequence |
//! | `subjects` | subject | name, aliases, linked persons and roles |
//! | `entries` | entry id (UTF-8) | the entry, its category as a *code* |
//! | `subject_entries` | subject + entry id | empty: the subject's entries |
//! | `person_orgs` | person + org + role byte | empty: where a person holds a role |
//! | `changes` | sequence (u64 big-endian) | what changed, when, and the entry after it |
//! | `history` | subject + sequence | the change, filed under its subject |
//! | `expiries` | `expires_at` (sortable) + entry id | empty: when each entry's term ends |
//! | `feedback` | entry id + `0x00` + recorded time + counter | an implementing department's execution feedback |
//!
//! An organization's persons are in its `subjects` value; `person_orgs` is
//! the reverse direction, so a `via` lookup is one prefix scan.
//!
//! Writes go through [`Store::apply_subjects`] and [`Store::apply_entries`]:
//! each call is one atomic `WriteBatch` that puts the records, keeps
//! the link and membership families in step, and logs a change per inserted or
//! replaced record. A record equal to the stored one changes nothing, so
//! re-importing a file is a no-op. Entries keep their category code on disk,
//! because catalog ids depend on file order and operators can replace the catalog.
//!
//! Lifecycle writes ([`Store::transition`]: objection, outcome, repair,
//! revocation) and the expiry sweep ([`Store::sweep_expired`]) go through
//! the same batch and log. Writes asked with [`Durability::Synced`] return
//! only once the write-ahead log is on disk.
//!
//! The store is stamped with a format version at creation; a store from a
//! newer build is refused with a clear message instead of being misread. A
//! version-1 store (before the lifecycle) is upgraded in place at open: the
//! `expiries` family is filled from the entries and the stamp moves to 2.

pub mod bulk;
pub mod codec;
pub mod feedback;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use bincode::{Decode, Encode};
use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamilyDescriptor, DB, Direction, IteratorMode, Options,
    ReadOptions, ReadTier, WriteBatch, WriteOptions,
};

use crate::catalog::Catalog;
use crate::date::{Date, epoch_ms};
use crate::id::SubjectKey;
use crate::lifecycle::{self, Conflict, Transition};
use crate::model::{
    Entry, EntryStatus, Lifecycle, ListKind, Note, Objection, Outcome, OutcomeKind, PersonLink,
    Role, Subject,
};
use codec::Value;

/// The on-disk layout version this build writes; version 1 is upgraded at
/// open.
pub const FORMAT_VERSION: u32 = 2;

const CF_META: &str = "meta";
const CF_SUBJECTS: &str = "subjects";
const CF_ENTRIES: &str = "entries";
const CF_SUBJECT_ENTRIES: &str = "subject_entries";
const CF_PERSON_ORGS: &str = "person_orgs";
const CF_CHANGES: &str = "changes";
const CF_HISTORY: &str = "history";
const CF_EXPIRIES: &str = "expiries";
const CF_FEEDBACK: &str = "feedback";
const FAMILIES: [&str; 9] = [
    CF_META,
    CF_SUBJECTS,
    CF_ENTRIES,
    CF_SUBJECT_ENTRIES,
    CF_PERSON_ORGS,
    CF_CHANGES,
    CF_HISTORY,
    CF_EXPIRIES,
    CF_FEEDBACK,
];
const KEY_FORMAT: &[u8] = b"format";
const KEY_NEXT_SEQ: &[u8] = b"next_seq";
/// The last day whose lapsed entries have been logged (`i32` days, LE).
const KEY_EXPIRY_SWEPT: &[u8] = b"expiry_swept";
const KEY_LEN: usize = SubjectKey::LEN;

/// Why the store cannot do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// RocksDB failed.
    #[error("store {path}: {source}")]
    Rocks {
        /// The store directory.
        path: String,
        /// RocksDB's error.
        source: rocksdb::Error,
    },
    /// A bulk import's work file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// No store at the path (and creating one was not asked for).
    #[error("no store at {path}: import data first (creditgate import --data {path} FILE...)")]
    Missing {
        /// The directory.
        path: String,
    },
    /// The store was written by a build with another layout.
    #[error("store {path} has format version {found}; this build reads version {supported}")]
    FormatVersion {
        /// The store directory.
        path: String,
        /// Version found.
        found: u32,
        /// Version this build reads.
        supported: u32,
    },
    /// A value with an unknown version byte.
    #[error(
        "{what} value has format version {found}; this build reads version {supported} (written by a newer creditgate?)"
    )]
    ValueVersion {
        /// Which kind of value.
        what: &'static str,
        /// Version byte found.
        found: u8,
        /// Version this build reads.
        supported: u8,
    },
    /// A value or key that does not decode.
    #[error("corrupt {what}: {detail}")]
    Corrupt {
        /// Which kind of value.
        what: &'static str,
        /// The decoder's complaint.
        detail: String,
    },
    /// A read at [`Reach::Memory`] needed a block that is not in memory.
    /// The caller reads again at [`Reach::Disk`], off the thread that
    /// must not wait.
    #[error("a memory-only read needed the disk")]
    NotInMemory,
    /// A stored entry's category is not in the loaded catalog.
    #[error("entry {entry_id} has category {category:?}, which the loaded catalog lacks")]
    UnknownCategory {
        /// The entry.
        entry_id: String,
        /// Its category code.
        category: String,
    },
}

/// Why a write was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The store failed; nothing was acknowledged.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No entry with this id.
    #[error("no entry {0:?}")]
    NoEntry(String),
    /// The entry's state does not allow the transition.
    #[error(transparent)]
    Conflict(#[from] Conflict),
}

/// How far a point read may go for its data.
///
/// A check runs on a runtime worker, and a worker that waits for the disk
/// holds up every request queued behind it: on a VM whose kernel pages out
/// idle file pages, a flagged check's read waited 8–31 ms in `pread`. So a
/// check reads at [`Reach::Memory`] first and, when that is not enough,
/// again at [`Reach::Disk`] on a thread that may wait.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Reach {
    /// Memtables and the block cache only (RocksDB's `kBlockCacheTier`);
    /// anything else is [`StoreError::NotInMemory`]. The OS page cache
    /// counts as disk: RocksDB cannot tell whether a `pread` will wait.
    Memory,
    /// Wherever the data is; what is read is cached.
    Disk,
}

/// How [`Store::write_entries`] treats an entry already stored.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Replace {
    /// The record replaces it, status included (the import: the file is the
    /// platform's word).
    AsGiven,
    /// The record replaces its published fields; its status and lifecycle
    /// stay, and an entry under objection or revoked is refused
    /// ([`lifecycle::check_replace`]). A publishing department's write.
    KeepState,
}

/// Whether a write waits for the disk.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Durability {
    /// Returns once the write-ahead log is synced: the write survives a
    /// crash of the machine. Every acknowledged HTTP write.
    Synced,
    /// Returns once RocksDB has the write (it survives the process being
    /// killed, not the machine losing power); the import's batches, synced
    /// at the end of each file.
    Buffered,
}

/// A subject as stored.
#[derive(Encode, Decode, PartialEq, Eq, Debug)]
struct StoredSubject {
    name: String,
    aliases: Vec<String>,
    persons: Vec<([u8; KEY_LEN], u8)>,
}

impl Value for StoredSubject {
    type V1 = StoredSubject;
    fn from_v1(old: StoredSubject) -> StoredSubject {
        old
    }
}

/// An entry as stored (value version 2): the published fields and the
/// lifecycle's notes.
#[derive(Encode, Decode, PartialEq, Eq, Debug, Clone)]
pub struct StoredEntry {
    subject: [u8; KEY_LEN],
    list: u8,
    category: String,
    authority: String,
    basis: String,
    decided_at: i32,
    effective_from: i32,
    expires_at: Option<i32>,
    status: u8,
    objection: Option<StoredObjection>,
    /// On, note.
    repair: Option<(i32, String)>,
    /// On, reason.
    revocation: Option<(i32, String)>,
}

/// An objection as stored: filed on, deadline, reason, and the outcome
/// (kind code, on, note).
type StoredObjection = (i32, i32, String, Option<(u8, i32, String)>);

/// An entry as version 1 stored it.
#[derive(Decode)]
pub struct StoredEntryV1 {
    subject: [u8; KEY_LEN],
    list: u8,
    category: String,
    authority: String,
    basis: String,
    decided_at: i32,
    effective_from: i32,
    expires_at: Option<i32>,
    status: u8,
}

impl Value for StoredEntry {
    type V1 = StoredEntryV1;
    fn from_v1(o: StoredEntryV1) -> StoredEntry {
        StoredEntry {
            subject: o.subject,
            list: o.list,
            category: o.category,
            authority: o.authority,
            basis: o.basis,
            decided_at: o.decided_at,
            effective_from: o.effective_from,
            expires_at: o.expires_at,
            status: o.status,
            objection: None,
            repair: None,
            revocation: None,
        }
    }
}

/// What happened to a record.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum ChangeKind {
    /// A subject seen for the first time.
    SubjectInserted,
    /// A subject's name, aliases or persons changed.
    SubjectReplaced,
    /// An entry published.
    EntryInserted,
    /// An entry replaced by a later record with the same id.
    EntryReplaced,
    /// An objection filed: the entry is disputed, its measures suspended.
    ObjectionFiled,
    /// The objection was decided against: the entry is active again.
    ObjectionUpheld,
    /// The objection was decided for in part: the entry corrected, active.
    ObjectionCorrected,
    /// The objection was decided for: the entry revoked.
    ObjectionRevoked,
    /// Credit repaired: measures lifted.
    EntryRepaired,
    /// Revoked by its department.
    EntryRevoked,
    /// The entry's term ended (logged once, on the day it lapsed or at the
    /// first start after).
    EntryExpired,
}

impl ChangeKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::SubjectInserted => "subject_inserted",
            ChangeKind::SubjectReplaced => "subject_replaced",
            ChangeKind::EntryInserted => "entry_inserted",
            ChangeKind::EntryReplaced => "entry_replaced",
            ChangeKind::ObjectionFiled => "objection_filed",
            ChangeKind::ObjectionUpheld => "objection_upheld",
            ChangeKind::ObjectionCorrected => "objection_corrected",
            ChangeKind::ObjectionRevoked => "objection_revoked",
            ChangeKind::EntryRepaired => "entry_repaired",
            ChangeKind::EntryRevoked => "entry_revoked",
            ChangeKind::EntryExpired => "entry_expired",
        }
    }

    /// Whether the change is about a subject record (not an entry).
    pub fn is_subject(self) -> bool {
        matches!(
            self,
            ChangeKind::SubjectInserted | ChangeKind::SubjectReplaced
        )
    }
}

/// One logged change.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Change {
    /// Position in the change log.
    pub seq: u64,
    /// Milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// What happened.
    pub kind: ChangeKind,
    /// The subject concerned.
    pub subject: [u8; KEY_LEN],
    /// The entry concerned, if any.
    pub entry_id: Option<String>,
    /// The entry's status after the change, if an entry.
    pub status: Option<u8>,
    /// The entry as it stood after the change (entry changes of value
    /// version 2; `None` for older ones and for subject changes).
    pub entry: Option<StoredEntry>,
    /// The reason or note given with a lifecycle transition.
    pub note: Option<String>,
}

/// A change as version 1 stored it.
#[derive(Decode)]
pub struct ChangeV1 {
    seq: u64,
    at_ms: u64,
    kind: ChangeKind,
    subject: [u8; KEY_LEN],
    entry_id: Option<String>,
    status: Option<u8>,
}

impl Value for Change {
    type V1 = ChangeV1;
    fn from_v1(o: ChangeV1) -> Change {
        Change {
            seq: o.seq,
            at_ms: o.at_ms,
            kind: o.kind,
            subject: o.subject,
            entry_id: o.entry_id,
            status: o.status,
            entry: None,
            note: None,
        }
    }
}

impl Change {
    /// The subject concerned.
    pub fn subject_key(&self) -> Option<SubjectKey> {
        SubjectKey::from_bytes(&self.subject)
    }
}

impl StoredEntry {
    /// The category code.
    pub fn category_code(&self) -> &str {
        &self.category
    }

    /// The deciding department.
    pub fn authority(&self) -> &str {
        &self.authority
    }
}

/// What a lifecycle write did: the changes it logged, and what of it the
/// in-memory indexes must follow.
#[derive(Debug, Default)]
pub struct Written {
    /// The changes, in sequence order.
    pub changes: Vec<Change>,
    /// What changed in the indexes' terms, in order: which entry ids a
    /// subject has, which subjects have a record, and their person links.
    /// A status change (objection, repair, revocation, expiry) is none of
    /// these: a check reads an entry's status from the store.
    pub indexed: Vec<Indexed>,
    /// The person links, as the write left them, of every subject an
    /// entry joined or left: an organization that gains its first entry
    /// or loses its last gives its persons roles or takes them away. Read
    /// before the commit, so that publishing the write cannot fail.
    pub links: Vec<(SubjectKey, Vec<PersonLink>)>,
}

impl Written {
    /// The links of `subject` recorded in [`Written::links`].
    pub fn links_of(&self, subject: SubjectKey) -> Option<&[PersonLink]> {
        self.links
            .iter()
            .find(|(s, _)| *s == subject)
            .map(|(_, links)| links.as_slice())
    }
}

/// A change to what the in-memory indexes hold ([`Written::indexed`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Indexed {
    /// The entry `entry_id` is now under `subject`; `from`: the subject it
    /// was under before (a replacement or a correction moved it), `None`
    /// for a new entry.
    Entry {
        /// The entry.
        entry_id: String,
        /// Its subject now.
        subject: SubjectKey,
        /// Its subject before.
        from: Option<SubjectKey>,
    },
    /// `subject`'s record was written: its person links before (empty for
    /// a new record) and after, and its names now.
    Record {
        /// The subject.
        subject: SubjectKey,
        /// Its links before.
        before: Vec<PersonLink>,
        /// Its links now.
        after: Vec<PersonLink>,
        /// Its current name now.
        name: String,
        /// Its aliases now.
        aliases: Vec<String>,
    },
}

/// What a write call did.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// New records.
    pub inserted: u64,
    /// Records that replaced a different stored one.
    pub replaced: u64,
    /// Records equal to the stored one.
    pub unchanged: u64,
}

impl Applied {
    /// Adds another call's counts.
    pub fn add(&mut self, other: Applied) {
        self.inserted += other.inserted;
        self.replaced += other.replaced;
        self.unchanged += other.unchanged;
    }
}

/// A write batch that is applied in (family, key) order.
///
/// RocksDB's memtable skiplist remembers where it last inserted, so keys
/// arriving in order are far cheaper to insert than random ones (import spent
/// half its time in skiplist searches before this). The sort is stable, so of
/// two writes to one key the later still wins.
#[derive(Default)]
struct SortedBatch {
    ops: Vec<BatchOp>,
}

/// Family, key, and the value to put (`None`: delete).
type BatchOp = (&'static str, Vec<u8>, Option<Vec<u8>>);

impl SortedBatch {
    fn put(&mut self, family: &'static str, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        self.ops
            .push((family, key.as_ref().to_vec(), Some(value.as_ref().to_vec())));
    }

    fn delete(&mut self, family: &'static str, key: impl AsRef<[u8]>) {
        self.ops.push((family, key.as_ref().to_vec(), None));
    }

    fn into_write_batch(mut self, store: &Store) -> WriteBatch {
        self.ops.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        let mut batch = WriteBatch::default();
        for (family, key, value) in &self.ops {
            let cf = store.cf(family);
            match value {
                Some(v) => batch.put_cf(cf, key, v),
                None => batch.delete_cf(cf, key),
            }
        }
        batch
    }
}

/// Options of every column family; also used to write SST files for bulk
/// ingestion, so that ingested files are built like flushed ones.
fn family_options(cache: Option<&Cache>) -> Options {
    let mut table = BlockBasedOptions::default();
    if let Some(cache) = cache {
        table.set_block_cache(cache);
    }
    table.set_bloom_filter(10.0, false);
    // Partitioned index and filters: a bulk import writes SST files of up to
    // 256 MB, whose whole filter (12 MB per 10M keys) would not fit a cache
    // shard and was re-read from disk on every lookup (7 s to open a 10M
    // store). Partitions are cached a few KB at a time; the top level is pinned.
    table.set_index_type(rocksdb::BlockBasedIndexType::TwoLevelIndexSearch);
    table.set_partition_filters(true);
    table.set_pin_top_level_index_and_filter(true);
    table.set_cache_index_and_filter_blocks(true);
    table.set_pin_l0_filter_and_index_blocks_in_cache(true);
    let mut cf = Options::default();
    cf.set_block_based_table_factory(&table);
    cf.set_compression_type(rocksdb::DBCompressionType::Lz4);
    cf.set_write_buffer_size(64 << 20);
    cf
}

/// The block cache shared by every family, beside room for the entries
/// ([`entries_cache_bytes`]): the index and filter partitions and the
/// blocks of the other families. A flagged check whose blocks are not in
/// the cache waits for the disk ([`Reach`]). 256 MB keeps a server at 10^8
/// subjects within 4 GB of anonymous memory while it screens files with
/// names (4.21 GB with 512 MB, which screened such files 10% faster);
/// `serve --block-cache-mib` sets it.
pub const BLOCK_CACHE_BYTES: usize = 256 << 20;

/// Entries files above this size are not given room in the block cache:
/// their flagged checks read through it like any other family.
const ENTRIES_CACHED_AT_MOST: u64 = 2 << 30;

/// The room the block cache adds for an entries family of `files` bytes
/// of LZ4 files: twice that, blocks being cached uncompressed. Flagged
/// checks read entries drawn over every flagged subject, so all of them are
/// hot: at 10^8 subjects the entries (416 MB of files) did not fit the
/// 512 MB cache, half of the flagged checks went to disk readers, and check
/// p99 (1% of checks are flagged) rose to 1–46 ms.
fn entries_cache_bytes(files: u64) -> usize {
    if files > ENTRIES_CACHED_AT_MOST {
        0
    } else {
        2 * files as usize
    }
}

/// What [`Store::warm_entries`] did.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Warmed {
    /// Read this many bytes of SST files into the block cache.
    Read(u64),
    /// The family's files (this many bytes) would take more than a quarter
    /// of the cache; left to fill as checks read it.
    TooLarge(u64),
}

/// The RocksDB store.
pub struct Store {
    db: DB,
    path: PathBuf,
    /// Serializes writers and holds the next change sequence.
    writer: Mutex<u64>,
    /// The next change sequence as of the last completed write: readers
    /// (the feed, the name index) take it without the writer lock.
    committed: AtomicU64,
    /// Read options of [`Reach::Memory`] reads.
    memory_only: ReadOptions,
    /// Read options of [`Reach::Disk`] reads (the defaults).
    anywhere: ReadOptions,
    /// The block cache every family shares.
    cache: Cache,
    /// The part of its capacity kept for the entries ([`entries_cache_bytes`]).
    entries_room: usize,
}

fn role_code(role: Role) -> u8 {
    role as u8
}

fn role_from(code: u8) -> Result<Role, StoreError> {
    Role::ALL
        .get(code as usize)
        .copied()
        .ok_or_else(|| StoreError::Corrupt {
            what: "role",
            detail: format!("unknown role code {code}"),
        })
}

fn status_code(s: EntryStatus) -> u8 {
    match s {
        EntryStatus::Active => 0,
        EntryStatus::Disputed => 1,
        EntryStatus::Repaired => 2,
        EntryStatus::Revoked => 3,
    }
}

/// The status a stored status code stands for.
pub fn status_from(code: u8) -> Result<EntryStatus, StoreError> {
    Ok(match code {
        0 => EntryStatus::Active,
        1 => EntryStatus::Disputed,
        2 => EntryStatus::Repaired,
        3 => EntryStatus::Revoked,
        _ => {
            return Err(StoreError::Corrupt {
                what: "entry status",
                detail: format!("unknown status code {code}"),
            });
        }
    })
}

fn key_from(bytes: &[u8], what: &'static str) -> Result<SubjectKey, StoreError> {
    // `ok_or_else`: formatting the error for every key read cost a scan of
    // 10^7 subjects seconds.
    SubjectKey::from_bytes(bytes).ok_or_else(|| StoreError::Corrupt {
        what,
        detail: format!("bad subject key {bytes:02x?}"),
    })
}

impl StoredSubject {
    fn from_model(s: &Subject) -> StoredSubject {
        StoredSubject {
            name: s.name.clone(),
            aliases: s.aliases.clone(),
            persons: s
                .persons
                .iter()
                .map(|l| (l.person.to_bytes(), role_code(l.role)))
                .collect(),
        }
    }

    fn to_model(&self, id: SubjectKey) -> Result<Subject, StoreError> {
        let persons = self
            .persons
            .iter()
            .map(|(p, r)| {
                Ok(PersonLink {
                    person: key_from(p, "person link")?,
                    role: role_from(*r)?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Subject {
            id,
            name: self.name.clone(),
            aliases: self.aliases.clone(),
            persons,
        })
    }
}

impl StoredEntry {
    fn from_model(e: &Entry, catalog: &Catalog) -> StoredEntry {
        StoredEntry {
            subject: e.subject.to_bytes(),
            list: match e.list {
                ListKind::Black => 0,
                ListKind::Red => 1,
            },
            category: catalog.category(e.category).code.clone(),
            authority: e.authority.clone(),
            basis: e.basis.clone(),
            decided_at: e.decided_at.days(),
            effective_from: e.effective_from.days(),
            expires_at: e.expires_at.map(Date::days),
            status: status_code(e.status),
            objection: e.lifecycle.objection.as_ref().map(|o| {
                (
                    o.filed_on.days(),
                    o.deadline.days(),
                    o.reason.clone(),
                    o.outcome.as_ref().map(|out| {
                        let kind = match out.kind {
                            OutcomeKind::Upheld => 0,
                            OutcomeKind::Corrected => 1,
                            OutcomeKind::Revoked => 2,
                        };
                        (kind, out.on.days(), out.note.clone())
                    }),
                )
            }),
            repair: e.lifecycle.repair.as_ref().map(note_to),
            revocation: e.lifecycle.revocation.as_ref().map(note_to),
        }
    }

    /// The entry as the model holds it.
    pub fn to_entry(&self, entry_id: String, catalog: &Catalog) -> Result<Entry, StoreError> {
        let category = catalog.category_by_code(&self.category).ok_or_else(|| {
            StoreError::UnknownCategory {
                entry_id: entry_id.clone(),
                category: self.category.clone(),
            }
        })?;
        Ok(Entry {
            entry_id,
            subject: key_from(&self.subject, "entry subject")?,
            list: if self.list == 0 {
                ListKind::Black
            } else {
                ListKind::Red
            },
            category,
            authority: self.authority.clone(),
            basis: self.basis.clone(),
            decided_at: Date::from_days(self.decided_at),
            effective_from: Date::from_days(self.effective_from),
            expires_at: self.expires_at.map(Date::from_days),
            status: status_from(self.status)?,
            lifecycle: Lifecycle {
                objection: match &self.objection {
                    None => None,
                    Some((filed_on, deadline, reason, outcome)) => Some(Objection {
                        filed_on: Date::from_days(*filed_on),
                        deadline: Date::from_days(*deadline),
                        reason: reason.clone(),
                        outcome: match outcome {
                            None => None,
                            Some((kind, on, note)) => Some(Outcome {
                                kind: match kind {
                                    0 => OutcomeKind::Upheld,
                                    1 => OutcomeKind::Corrected,
                                    2 => OutcomeKind::Revoked,
                                    _ => {
                                        return Err(StoreError::Corrupt {
                                            what: "objection outcome",
                                            detail: format!("unknown outcome code {kind}"),
                                        });
                                    }
                                },
                                on: Date::from_days(*on),
                                note: note.clone(),
                            }),
                        },
                    }),
                },
                repair: self.repair.as_ref().map(note_from),
                revocation: self.revocation.as_ref().map(note_from),
            },
        })
    }
}

fn note_to(n: &Note) -> (i32, String) {
    (n.on.days(), n.note.clone())
}

fn note_from((on, note): &(i32, String)) -> Note {
    Note {
        on: Date::from_days(*on),
        note: note.clone(),
    }
}

/// The `expiries` key of an entry ending on `day`: the day with its sign bit
/// flipped, big-endian (so keys sort by date), then the entry id.
fn expiry_key(day: i32, entry_id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(4 + entry_id.len());
    k.extend_from_slice(&((day as u32) ^ 0x8000_0000).to_be_bytes());
    k.extend_from_slice(entry_id.as_bytes());
    k
}

fn entry_id_from(bytes: &[u8]) -> Result<&str, StoreError> {
    std::str::from_utf8(bytes).map_err(|_| StoreError::Corrupt {
        what: "entry id",
        detail: "not UTF-8".into(),
    })
}

fn subject_entry_key(subject: &[u8; KEY_LEN], entry_id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(KEY_LEN + entry_id.len());
    k.extend_from_slice(subject);
    k.extend_from_slice(entry_id.as_bytes());
    k
}

fn person_org_key(person: &[u8; KEY_LEN], org: &[u8; KEY_LEN], role: u8) -> [u8; 2 * KEY_LEN + 1] {
    let mut k = [0u8; 2 * KEY_LEN + 1];
    k[..KEY_LEN].copy_from_slice(person);
    k[KEY_LEN..2 * KEY_LEN].copy_from_slice(org);
    k[2 * KEY_LEN] = role;
    k
}

fn history_key(subject: &[u8; KEY_LEN], seq: u64) -> [u8; KEY_LEN + 8] {
    let mut k = [0u8; KEY_LEN + 8];
    k[..KEY_LEN].copy_from_slice(subject);
    k[KEY_LEN..].copy_from_slice(&seq.to_be_bytes());
    k
}

impl Store {
    /// Opens the store at `path`, creating it if it does not exist.
    pub fn open_or_create(path: &Path) -> Result<Store, StoreError> {
        Store::open_with(path, true)
    }

    /// Opens an existing store; a missing one is [`StoreError::Missing`].
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Store::open_with(path, false)
    }

    fn open_with(path: &Path, create: bool) -> Result<Store, StoreError> {
        let display = path.display().to_string();
        if !create && !path.join("CURRENT").exists() {
            return Err(StoreError::Missing { path: display });
        }
        let rocks = |source| StoreError::Rocks {
            path: display.clone(),
            source,
        };
        let mut opts = Options::default();
        opts.create_if_missing(create);
        // A version-1 store lacks the `expiries` family: it is added here and
        // filled by the upgrade below.
        opts.create_missing_column_families(true);
        opts.increase_parallelism(
            std::thread::available_parallelism().map_or(2, |n| n.get() as i32),
        );
        opts.set_max_background_jobs(4);
        opts.set_bytes_per_sync(1 << 20);
        // Compactions yield the CPU to the requests served beside them (on 2
        // cores, a compaction burst under live writes moved check p99 by
        // milliseconds); flushes keep their priority so that writes never
        // stall behind a full memtable.
        if let Ok(mut env) = rocksdb::Env::new() {
            env.lower_thread_pool_cpu_priority();
            opts.set_env(&env);
        }
        // One block cache shared by every family; bloom filters so that a
        // lookup of an absent key rarely reads a data block.
        let mut cache = Cache::new_lru_cache(BLOCK_CACHE_BYTES);
        let families = FAMILIES
            .iter()
            .map(|name| ColumnFamilyDescriptor::new(*name, family_options(Some(&cache))));
        let db = DB::open_cf_descriptors(&opts, path, families).map_err(rocks)?;
        let entries_files = db
            .property_int_value_cf(
                db.cf_handle(CF_ENTRIES).expect("entries family is opened"),
                "rocksdb.total-sst-files-size",
            )
            .map_err(rocks)?
            .unwrap_or(0);
        let entries_room = entries_cache_bytes(entries_files);
        cache.set_capacity(BLOCK_CACHE_BYTES + entries_room);
        // The entries family is what flagged checks read, all of it hot
        // (they are drawn over every flagged subject) and small enough to
        // be cached whole: the files a flush or a compaction writes go into
        // the block cache as they are written. Otherwise each compaction of
        // the family left every cached block stale: in a 6-minute run with
        // writes, 15,000 checks went to disk over the 5 minutes after one.
        // (The Rust crate has no setter for it; RocksDB takes it this way.)
        db.set_options_cf(
            db.cf_handle(CF_ENTRIES).expect("entries family is opened"),
            &[(
                "block_based_table_factory",
                "{prepopulate_block_cache=kFlushAndCompaction;}",
            )],
        )
        .map_err(rocks)?;
        let meta = db.cf_handle(CF_META).expect("meta family is opened");
        let mut upgrade = false;
        match db.get_cf(meta, KEY_FORMAT).map_err(rocks)? {
            Some(v) => {
                let found = v
                    .as_slice()
                    .try_into()
                    .map(u32::from_le_bytes)
                    .map_err(|_| StoreError::Corrupt {
                        what: "format marker",
                        detail: format!("{} bytes", v.len()),
                    })?;
                if found == 1 {
                    upgrade = true;
                } else if found != FORMAT_VERSION {
                    return Err(StoreError::FormatVersion {
                        path: display,
                        found,
                        supported: FORMAT_VERSION,
                    });
                }
            }
            None => {
                let mut w = WriteOptions::default();
                w.set_sync(true);
                db.put_cf_opt(meta, KEY_FORMAT, FORMAT_VERSION.to_le_bytes(), &w)
                    .map_err(rocks)?;
            }
        }
        let next_seq = match db.get_cf(meta, KEY_NEXT_SEQ).map_err(rocks)? {
            Some(v) => v
                .as_slice()
                .try_into()
                .map(u64::from_be_bytes)
                .map_err(|_| StoreError::Corrupt {
                    what: "sequence counter",
                    detail: format!("{} bytes", v.len()),
                })?,
            None => 1,
        };
        let store = Store {
            db,
            path: path.to_path_buf(),
            writer: Mutex::new(next_seq),
            committed: AtomicU64::new(next_seq),
            memory_only: {
                let mut read = ReadOptions::default();
                read.set_read_tier(ReadTier::BlockCache);
                read
            },
            anywhere: ReadOptions::default(),
            cache,
            entries_room,
        };
        if upgrade {
            store.upgrade_from_v1()?;
        }
        Ok(store)
    }

    /// Fills the `expiries` family from the entries of a version-1 store,
    /// then stamps it version 2 (synced). Killed half-way, the next open
    /// does it again: the stamp moves last.
    fn upgrade_from_v1(&self) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        let expiries = self.cf(CF_EXPIRIES);
        self.scan_prefix(CF_ENTRIES, &[], |k, v| {
            let entry: StoredEntry = codec::decode(v, "entry")?;
            if let Some(day) = entry.expires_at {
                batch.put_cf(expiries, expiry_key(day, entry_id_from(k)?), []);
            }
            Ok(())
        })?;
        batch.put_cf(self.cf(CF_META), KEY_FORMAT, FORMAT_VERSION.to_le_bytes());
        let mut synced = WriteOptions::default();
        synced.set_sync(true);
        self.db.write_opt(batch, &synced).map_err(|e| self.rocks(e))
    }

    fn rocks(&self, source: rocksdb::Error) -> StoreError {
        StoreError::Rocks {
            path: self.path.display().to_string(),
            source,
        }
    }

    fn cf(&self, name: &str) -> &rocksdb::ColumnFamily {
        self.db.cf_handle(name).expect("every family is opened")
    }

    /// The store directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// RocksDB's sequence number of the last write: equal numbers mean equal
    /// contents, so caches derived from the store can be stamped with it.
    pub fn write_sequence(&self) -> u64 {
        self.db.latest_sequence_number()
    }

    /// RocksDB's estimate of the number of subject records (from its
    /// files' and memtables' counts; 0 when it has none).
    pub fn estimated_subjects(&self) -> usize {
        self.db
            .property_int_value_cf(self.cf(CF_SUBJECTS), "rocksdb.estimate-num-keys")
            .ok()
            .flatten()
            .unwrap_or(0) as usize
    }

    /// RocksDB figures for monitoring: per family, the estimated number of
    /// keys, the size of its SST files and of its memtables, the memory its
    /// open files' indexes and filters hold outside the block cache, and
    /// the block cache's use (one cache: every family gives the same), as
    /// `(family, property, value)`. Properties RocksDB cannot give are left out.
    pub fn figures(&self) -> Vec<(&'static str, &'static str, u64)> {
        const PROPERTIES: [&str; 5] = [
            "estimate-num-keys",
            "total-sst-files-size",
            "cur-size-all-mem-tables",
            "estimate-table-readers-mem",
            "block-cache-usage",
        ];
        let mut out = Vec::new();
        for property in PROPERTIES {
            let name = format!("rocksdb.{property}");
            for family in FAMILIES {
                if let Ok(Some(v)) = self
                    .db
                    .property_int_value_cf(self.cf(family), name.as_str())
                {
                    out.push((family, property, v));
                }
            }
        }
        out
    }

    /// The subject's record.
    pub fn subject(&self, key: SubjectKey) -> Result<Option<Subject>, StoreError> {
        self.subject_within(key, Reach::Disk)
    }

    /// [`Store::subject`] read within `reach`. At [`Reach::Memory`] a
    /// subject not found is [`StoreError::NotInMemory`] too: RocksDB has
    /// reported incomplete memory-only reads as not found (facebook/rocksdb
    /// #12443 fixed one such path and its review named another, in
    /// `MultiGet`), and a check must not act on a record it could not read.
    pub fn subject_within(
        &self,
        key: SubjectKey,
        reach: Reach,
    ) -> Result<Option<Subject>, StoreError> {
        let found =
            self.db
                .get_pinned_cf_opt(self.cf(CF_SUBJECTS), key.to_bytes(), self.reads(reach));
        match found {
            Ok(Some(v)) => Ok(Some(
                codec::decode::<StoredSubject>(&v, "subject")?.to_model(key)?,
            )),
            Ok(None) if reach == Reach::Memory => Err(StoreError::NotInMemory),
            Ok(None) => Ok(None),
            Err(e) => Err(self.within(reach, e)),
        }
    }

    /// Adds `subject`'s stored person links to `written` (once), for an
    /// entry that joins or leaves it. Entry writes do not change records,
    /// so what is stored is what the write leaves.
    fn note_links(&self, written: &mut Written, subject: SubjectKey) -> Result<(), StoreError> {
        if written.links_of(subject).is_none() {
            let links = self
                .subject(subject)?
                .map(|s| s.persons)
                .unwrap_or_default();
            written.links.push((subject, links));
        }
        Ok(())
    }

    /// The read options of `reach`.
    fn reads(&self, reach: Reach) -> &ReadOptions {
        match reach {
            Reach::Memory => &self.memory_only,
            Reach::Disk => &self.anywhere,
        }
    }

    /// `e` as a [`StoreError`]: an incomplete read at [`Reach::Memory`] is
    /// [`StoreError::NotInMemory`].
    fn within(&self, reach: Reach, e: rocksdb::Error) -> StoreError {
        if reach == Reach::Memory && e.kind() == rocksdb::ErrorKind::Incomplete {
            StoreError::NotInMemory
        } else {
            self.rocks(e)
        }
    }

    /// Calls `f(key, value)` for each key of `family` starting with `prefix`,
    /// in key order.
    fn scan_prefix(
        &self,
        family: &str,
        prefix: &[u8],
        f: impl FnMut(&[u8], &[u8]) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.scan(family, prefix, rocksdb::ReadOptions::default(), f)
    }

    /// Calls `f(key, value)` for every key of `family` starting with
    /// `prefix`, in key order, without copying keys or values.
    fn scan(
        &self,
        family: &str,
        prefix: &[u8],
        read: rocksdb::ReadOptions,
        mut f: impl FnMut(&[u8], &[u8]) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut it = self.db.raw_iterator_cf_opt(self.cf(family), read);
        it.seek(prefix);
        while let (Some(k), Some(v)) = (it.key(), it.value()) {
            if !k.starts_with(prefix) {
                break;
            }
            f(k, v)?;
            it.next();
        }
        it.status().map_err(|e| self.rocks(e))
    }

    /// Sets the block cache's capacity to `bytes` for the index and filter
    /// partitions and the blocks of every family, beside the room kept for
    /// the entries ([`entries_cache_bytes`]). Blocks beyond it are evicted
    /// as others are read.
    pub fn set_block_cache(&self, bytes: usize) {
        // A clone of the handle: the same cache.
        let mut cache = self.cache.clone();
        cache.set_capacity(bytes + self.entries_room);
    }

    /// Reads the entries family through the block cache, so that flagged
    /// checks find their blocks in memory from the start instead of each
    /// missing once: drawn at random from 10^6 flagged subjects they kept
    /// missing for minutes after a start, each miss a disk read of
    /// milliseconds. The cache was given room for them at open
    /// ([`entries_cache_bytes`]), unless their files are larger than
    /// [`ENTRIES_CACHED_AT_MOST`]: then they fill the cache as they are read.
    pub fn warm_entries(&self) -> Result<Warmed, StoreError> {
        let cf = self.cf(CF_ENTRIES);
        let size = self
            .db
            .property_int_value_cf(cf, "rocksdb.total-sst-files-size")
            .map_err(|e| self.rocks(e))?
            .unwrap_or(0);
        if entries_cache_bytes(size) == 0 && size > 0 {
            return Ok(Warmed::TooLarge(size));
        }
        let mut read = ReadOptions::default();
        read.set_readahead_size(2 << 20);
        let mut it = self.db.raw_iterator_cf_opt(cf, read);
        it.seek_to_first();
        while it.valid() {
            it.next();
        }
        it.status().map_err(|e| self.rocks(e))?;
        Ok(Warmed::Read(size))
    }

    /// Calls `f` with every entry, in entry-id order (a scan that does not
    /// evict the hot blocks).
    pub fn for_each_entry(
        &self,
        catalog: &Catalog,
        mut f: impl FnMut(Entry),
    ) -> Result<(), StoreError> {
        let mut read = rocksdb::ReadOptions::default();
        read.fill_cache(false);
        self.scan(CF_ENTRIES, &[], read, |k, v| {
            let id = entry_id_from(k)?.to_string();
            f(codec::decode::<StoredEntry>(v, "entry")?.to_entry(id, catalog)?);
            Ok(())
        })
    }

    /// The ids of the subject's entries, ascending.
    pub fn entry_ids_of(&self, key: SubjectKey) -> Result<Vec<String>, StoreError> {
        let mut ids = Vec::new();
        self.scan_prefix(CF_SUBJECT_ENTRIES, &key.to_bytes(), |k, _| {
            ids.push(entry_id_from(&k[KEY_LEN..])?.to_string());
            Ok(())
        })?;
        Ok(ids)
    }

    /// The subject's entries, in entry-id order.
    pub fn entries_of(&self, key: SubjectKey, catalog: &Catalog) -> Result<Vec<Entry>, StoreError> {
        let ids = self.entry_ids_of(key)?;
        self.entries_by_id(ids.iter().map(String::as_str), catalog, Reach::Disk)
    }

    /// The entries with these ids, in the same order (one batched read; ids
    /// without an entry are skipped).
    pub fn entries_by_id<'i>(
        &self,
        ids: impl ExactSizeIterator<Item = &'i str> + Clone,
        catalog: &Catalog,
        reach: Reach,
    ) -> Result<Vec<Entry>, StoreError> {
        let cf = self.cf(CF_ENTRIES);
        let mut entries = Vec::with_capacity(ids.len());
        if reach == Reach::Memory {
            // One `Get` per id: the bundled RocksDB's `MultiGet` (11.8)
            // ignores `kBlockCacheTier` for data blocks; a cold read
            // returned the value from the file, where `Get` answers
            // incomplete.
            for id in ids {
                let found = self
                    .db
                    .get_pinned_cf_opt(cf, id.as_bytes(), self.reads(reach))
                    .map_err(|e| self.within(reach, e))?;
                // The ids come from the index, so each entry exists: not
                // found in memory means not read (see
                // [`Store::subject_within`]).
                let v = found.ok_or(StoreError::NotInMemory)?;
                entries.push(
                    codec::decode::<StoredEntry>(&v, "entry")?.to_entry(id.to_string(), catalog)?,
                );
            }
            return Ok(entries);
        }
        let values = self
            .db
            .multi_get_cf(ids.clone().map(|id| (cf, id.as_bytes())));
        for (id, value) in ids.zip(values) {
            // A membership without its entry cannot be written by
            // `apply_entries`; skip rather than fail the whole answer.
            if let Some(v) = value.map_err(|e| self.rocks(e))? {
                entries.push(
                    codec::decode::<StoredEntry>(&v, "entry")?.to_entry(id.to_string(), catalog)?,
                );
            }
        }
        Ok(entries)
    }

    /// The organizations where a person holds a role.
    pub fn orgs_of(&self, person: SubjectKey) -> Result<Vec<(SubjectKey, Role)>, StoreError> {
        let mut out = Vec::new();
        self.scan_prefix(CF_PERSON_ORGS, &person.to_bytes(), |k, _| {
            if k.len() != 2 * KEY_LEN + 1 {
                return Err(StoreError::Corrupt {
                    what: "person link",
                    detail: format!("key of {} bytes", k.len()),
                });
            }
            out.push((
                key_from(&k[KEY_LEN..2 * KEY_LEN], "person link")?,
                role_from(k[2 * KEY_LEN])?,
            ));
            Ok(())
        })?;
        Ok(out)
    }

    /// The subject's change history, oldest first.
    pub fn history_of(&self, key: SubjectKey) -> Result<Vec<Change>, StoreError> {
        let mut out = Vec::new();
        self.scan_prefix(CF_HISTORY, &key.to_bytes(), |_, v| {
            out.push(codec::decode::<Change>(v, "history")?);
            Ok(())
        })?;
        Ok(out)
    }

    /// Calls `f` with the key of every subject record, in key order.
    pub fn for_each_subject_key(&self, mut f: impl FnMut(SubjectKey)) -> Result<(), StoreError> {
        let mut read = rocksdb::ReadOptions::default();
        // A one-off scan: do not evict the hot blocks.
        read.fill_cache(false);
        self.scan(CF_SUBJECTS, &[], read, |k, _| {
            f(key_from(k, "subject")?);
            Ok(())
        })
    }

    /// Calls `f` with every subject record, in key order.
    pub fn for_each_subject(&self, mut f: impl FnMut(Subject)) -> Result<(), StoreError> {
        let mut read = rocksdb::ReadOptions::default();
        read.fill_cache(false);
        self.scan(CF_SUBJECTS, &[], read, |k, v| {
            let key = key_from(k, "subject")?;
            f(codec::decode::<StoredSubject>(v, "subject")?.to_model(key)?);
            Ok(())
        })
    }

    /// The sequence the next change will get: every change below it is in
    /// the log. Caches derived from the store stamp themselves with it to
    /// catch up later from [`Store::changes`].
    pub fn next_change_seq(&self) -> u64 {
        self.committed.load(Ordering::Acquire)
    }

    /// Calls `f(subject, entry_id)` for every entry membership, in key order
    /// (grouped by subject, entry ids ascending).
    pub fn for_each_listed(&self, mut f: impl FnMut(SubjectKey, &str)) -> Result<(), StoreError> {
        self.scan_prefix(CF_SUBJECT_ENTRIES, &[], |k, _| {
            let (subject, entry_id) =
                k.split_at_checked(KEY_LEN)
                    .ok_or_else(|| StoreError::Corrupt {
                        what: "entry membership",
                        detail: format!("{} bytes", k.len()),
                    })?;
            f(
                key_from(subject, "entry membership")?,
                entry_id_from(entry_id)?,
            );
            Ok(())
        })
    }

    /// Writes subjects: new ones are inserted, different ones replace the
    /// stored record (and their person links), equal ones change nothing.
    /// One atomic batch.
    pub fn apply_subjects(&self, subjects: &[Subject]) -> Result<Applied, StoreError> {
        self.write_subjects(subjects, Durability::Buffered)
            .map(|(applied, _)| applied)
    }

    /// [`Store::apply_subjects`], also returning the changes logged and the
    /// records written with their links before and after.
    pub fn write_subjects(
        &self,
        subjects: &[Subject],
        durability: Durability,
    ) -> Result<(Applied, Written), StoreError> {
        let cf = self.cf(CF_SUBJECTS);
        let keys: Vec<[u8; KEY_LEN]> = subjects.iter().map(|s| s.id.to_bytes()).collect();
        // Read under the writer lock: no other write slips between the read
        // and the batch.
        let mut writer = self.lock_writer();
        let mut seq = *writer;
        let mut current: HashMap<[u8; KEY_LEN], Option<Vec<u8>>> =
            HashMap::with_capacity(keys.len());
        for (key, value) in keys
            .iter()
            .zip(self.db.multi_get_cf(keys.iter().map(|k| (cf, k))))
        {
            current.insert(*key, value.map_err(|e| self.rocks(e))?);
        }
        let mut batch = SortedBatch::default();
        let mut applied = Applied::default();
        let mut written = Written::default();
        let at_ms = epoch_ms();
        for (subject, key) in subjects.iter().zip(&keys) {
            let stored = StoredSubject::from_model(subject);
            let encoded = codec::encode(&stored);
            let previous = current.remove(key).flatten();
            let mut before = Vec::new();
            let kind = match &previous {
                Some(old) if *old == encoded => {
                    applied.unchanged += 1;
                    current.insert(*key, previous);
                    continue;
                }
                Some(old) => {
                    applied.replaced += 1;
                    let old: StoredSubject = codec::decode(old, "subject")?;
                    for (person, role) in &old.persons {
                        if !stored.persons.contains(&(*person, *role)) {
                            batch.delete(CF_PERSON_ORGS, person_org_key(person, key, *role));
                        }
                        before.push(PersonLink {
                            person: key_from(person, "person link")?,
                            role: role_from(*role)?,
                        });
                    }
                    ChangeKind::SubjectReplaced
                }
                None => {
                    applied.inserted += 1;
                    ChangeKind::SubjectInserted
                }
            };
            for (person, role) in &stored.persons {
                batch.put(CF_PERSON_ORGS, person_org_key(person, key, *role), []);
            }
            written.indexed.push(Indexed::Record {
                subject: subject.id,
                before,
                after: subject.persons.clone(),
                name: subject.name.clone(),
                aliases: subject.aliases.clone(),
            });
            batch.put(CF_SUBJECTS, key, &encoded);
            written.changes.push(self.log(
                &mut batch,
                &mut seq,
                Change {
                    seq: 0,
                    at_ms,
                    kind,
                    subject: *key,
                    entry_id: None,
                    status: None,
                    entry: None,
                    note: None,
                },
            ));
            current.insert(*key, Some(encoded));
        }
        self.commit(batch, &mut writer, seq, durability)?;
        Ok((applied, written))
    }

    /// Writes entries: a new id is inserted, an id whose stored entry differs
    /// is replaced (moving its membership if the subject changed), an equal
    /// one changes nothing. The record's status is taken as given; the
    /// stored entry's lifecycle notes are kept. One atomic batch.
    pub fn apply_entries(
        &self,
        entries: &[Entry],
        catalog: &Catalog,
    ) -> Result<Applied, StoreError> {
        // An import publishes nothing: the indexes are rebuilt after it,
        // so it reads no links ([`Written::links`]: a point read of the
        // subject's record per entry, which made the 10^7 import 4x slower).
        match self.entries_written(
            entries,
            catalog,
            Replace::AsGiven,
            Durability::Buffered,
            false,
        ) {
            Ok((applied, _)) => Ok(applied),
            Err(WriteError::Store(e)) => Err(e),
            Err(e) => unreachable!("an import replaces without conditions: {e}"),
        }
    }

    /// [`Store::apply_entries`] with the rule for replacing a stored entry,
    /// also returning the changes logged and the entries new or moved to
    /// another subject.
    pub fn write_entries(
        &self,
        entries: &[Entry],
        catalog: &Catalog,
        replace: Replace,
        durability: Durability,
    ) -> Result<(Applied, Written), WriteError> {
        self.entries_written(entries, catalog, replace, durability, true)
    }

    /// [`Store::write_entries`]; with `links` false, [`Written::links`] is
    /// left empty (nothing will publish the write).
    fn entries_written(
        &self,
        entries: &[Entry],
        catalog: &Catalog,
        replace: Replace,
        durability: Durability,
        links: bool,
    ) -> Result<(Applied, Written), WriteError> {
        let cf = self.cf(CF_ENTRIES);
        let mut writer = self.lock_writer();
        let mut seq = *writer;
        let mut current: HashMap<&str, Option<Vec<u8>>> = HashMap::with_capacity(entries.len());
        let values = self
            .db
            .multi_get_cf(entries.iter().map(|e| (cf, e.entry_id.as_bytes())));
        for (entry, value) in entries.iter().zip(values) {
            current.insert(&entry.entry_id, value.map_err(|e| self.rocks(e))?);
        }
        let mut batch = SortedBatch::default();
        let mut applied = Applied::default();
        let mut written = Written::default();
        let at_ms = epoch_ms();
        for entry in entries {
            let previous = current.remove(entry.entry_id.as_str()).flatten();
            let old = previous
                .as_deref()
                .map(|v| codec::decode::<StoredEntry>(v, "entry"))
                .transpose()?;
            let mut stored = StoredEntry::from_model(entry, catalog);
            if let Some(old) = &old {
                if replace == Replace::KeepState {
                    lifecycle::check_replace(status_from(old.status)?, &entry.entry_id)?;
                    stored.status = old.status;
                }
                stored.objection.clone_from(&old.objection);
                stored.repair.clone_from(&old.repair);
                stored.revocation.clone_from(&old.revocation);
            }
            let encoded = codec::encode(&stored);
            let kind = match &old {
                Some(_) if previous.as_deref() == Some(encoded.as_slice()) => {
                    applied.unchanged += 1;
                    current.insert(&entry.entry_id, previous);
                    continue;
                }
                Some(old) => {
                    applied.replaced += 1;
                    if old.subject != stored.subject {
                        let from = key_from(&old.subject, "entry subject")?;
                        if links {
                            self.note_links(&mut written, from)?;
                            self.note_links(&mut written, entry.subject)?;
                        }
                        written.indexed.push(Indexed::Entry {
                            entry_id: entry.entry_id.clone(),
                            subject: entry.subject,
                            from: Some(from),
                        });
                    }
                    ChangeKind::EntryReplaced
                }
                None => {
                    applied.inserted += 1;
                    if links {
                        self.note_links(&mut written, entry.subject)?;
                    }
                    written.indexed.push(Indexed::Entry {
                        entry_id: entry.entry_id.clone(),
                        subject: entry.subject,
                        from: None,
                    });
                    ChangeKind::EntryInserted
                }
            };
            self.put_entry(&mut batch, &entry.entry_id, old.as_ref(), &stored, &encoded);
            written.changes.push(self.log(
                &mut batch,
                &mut seq,
                Change {
                    seq: 0,
                    at_ms,
                    kind,
                    subject: stored.subject,
                    entry_id: Some(entry.entry_id.clone()),
                    status: Some(stored.status),
                    entry: Some(stored),
                    note: None,
                },
            ));
            current.insert(&entry.entry_id, Some(encoded));
        }
        self.commit(batch, &mut writer, seq, durability)?;
        Ok((applied, written))
    }

    /// Puts an entry's value, its membership under its subject and its
    /// expiry key, removing those of the stored version `old` that no
    /// longer hold.
    fn put_entry(
        &self,
        batch: &mut SortedBatch,
        entry_id: &str,
        old: Option<&StoredEntry>,
        new: &StoredEntry,
        encoded: &[u8],
    ) {
        if let Some(old) = old {
            if old.subject != new.subject {
                batch.delete(
                    CF_SUBJECT_ENTRIES,
                    subject_entry_key(&old.subject, entry_id),
                );
            }
            if let Some(day) = old.expires_at
                && old.expires_at != new.expires_at
            {
                batch.delete(CF_EXPIRIES, expiry_key(day, entry_id));
            }
        }
        batch.put(
            CF_SUBJECT_ENTRIES,
            subject_entry_key(&new.subject, entry_id),
            [],
        );
        if let Some(day) = new.expires_at {
            batch.put(CF_EXPIRIES, expiry_key(day, entry_id), []);
        }
        batch.put(CF_ENTRIES, entry_id.as_bytes(), encoded);
    }

    /// The entry with this id, as stored.
    pub fn entry(&self, entry_id: &str, catalog: &Catalog) -> Result<Option<Entry>, StoreError> {
        match self
            .db
            .get_pinned_cf(self.cf(CF_ENTRIES), entry_id.as_bytes())
            .map_err(|e| self.rocks(e))?
        {
            Some(v) => Ok(Some(
                codec::decode::<StoredEntry>(&v, "entry")?
                    .to_entry(entry_id.to_string(), catalog)?,
            )),
            None => Ok(None),
        }
    }

    /// Applies a lifecycle transition to an entry ([`lifecycle::apply`]
    /// decides whether it may happen and what it leaves), logs it with the
    /// entry as it stands after, and returns once it is synced.
    pub fn transition(
        &self,
        entry_id: &str,
        transition: &Transition,
        catalog: &Catalog,
    ) -> Result<Written, WriteError> {
        let mut writer = self.lock_writer();
        let mut seq = *writer;
        let Some(value) = self
            .db
            .get_pinned_cf(self.cf(CF_ENTRIES), entry_id.as_bytes())
            .map_err(|e| self.rocks(e))?
        else {
            return Err(WriteError::NoEntry(entry_id.to_string()));
        };
        let old: StoredEntry = codec::decode(&value, "entry")?;
        drop(value);
        let current = old.to_entry(entry_id.to_string(), catalog)?;
        let (next, kind, note) = lifecycle::apply(&current, transition)?;
        let stored = StoredEntry::from_model(&next, catalog);
        let encoded = codec::encode(&stored);
        let mut batch = SortedBatch::default();
        self.put_entry(&mut batch, entry_id, Some(&old), &stored, &encoded);
        let mut written = Written::default();
        if next.subject != current.subject {
            self.note_links(&mut written, current.subject)?;
            self.note_links(&mut written, next.subject)?;
            written.indexed.push(Indexed::Entry {
                entry_id: entry_id.to_string(),
                subject: next.subject,
                from: Some(current.subject),
            });
        }
        written.changes.push(self.log(
            &mut batch,
            &mut seq,
            Change {
                seq: 0,
                at_ms: epoch_ms(),
                kind,
                subject: stored.subject,
                entry_id: Some(entry_id.to_string()),
                status: Some(stored.status),
                entry: Some(stored),
                note: Some(note),
            },
        ));
        self.commit(batch, &mut writer, seq, Durability::Synced)?;
        Ok(written)
    }

    /// Logs one `entry_expired` change for every entry whose term ended after
    /// the last sweep and on or before `today`, if it was still active or
    /// disputed then, and records `today` as swept (synced). A store's first
    /// sweep only records the day: entries that lapsed before it lapsed
    /// before the feed could report them. Sweeping a day twice logs nothing.
    pub fn sweep_expired(&self, today: Date, catalog: &Catalog) -> Result<Written, StoreError> {
        let mut writer = self.lock_writer();
        let mut seq = *writer;
        let meta = self.cf(CF_META);
        let swept = match self
            .db
            .get_cf(meta, KEY_EXPIRY_SWEPT)
            .map_err(|e| self.rocks(e))?
        {
            Some(v) => Some(
                v.as_slice()
                    .try_into()
                    .map(i32::from_le_bytes)
                    .map_err(|_| StoreError::Corrupt {
                        what: "expiry sweep marker",
                        detail: format!("{} bytes", v.len()),
                    })?,
            ),
            None => None,
        };
        if swept.is_some_and(|d| d >= today.days()) {
            return Ok(Written::default());
        }
        let mut batch = SortedBatch::default();
        let mut written = Written::default();
        if let Some(swept) = swept {
            let mut lapsed = Vec::new();
            let mut it = self.db.raw_iterator_cf(self.cf(CF_EXPIRIES));
            it.seek(expiry_key(swept + 1, ""));
            let end = expiry_key(today.days() + 1, "");
            while let Some(k) = it.key() {
                if k >= end.as_slice() {
                    break;
                }
                lapsed.push(entry_id_from(&k[4..])?.to_string());
                it.next();
            }
            it.status().map_err(|e| self.rocks(e))?;
            let at_ms = epoch_ms();
            let cf = self.cf(CF_ENTRIES);
            let values = self
                .db
                .multi_get_cf(lapsed.iter().map(|id| (cf, id.as_bytes())));
            for (id, value) in lapsed.iter().zip(values) {
                let Some(v) = value.map_err(|e| self.rocks(e))? else {
                    continue;
                };
                let entry: StoredEntry = codec::decode(&v, "entry")?;
                let status = status_from(entry.status)?;
                if !matches!(status, EntryStatus::Active | EntryStatus::Disputed) {
                    continue;
                }
                // Checked against the catalog so that the feed can render it.
                entry.to_entry(id.clone(), catalog)?;
                written.changes.push(self.log(
                    &mut batch,
                    &mut seq,
                    Change {
                        seq: 0,
                        at_ms,
                        kind: ChangeKind::EntryExpired,
                        subject: entry.subject,
                        entry_id: Some(id.clone()),
                        status: Some(entry.status),
                        entry: Some(entry),
                        note: None,
                    },
                ));
            }
        }
        batch.put(CF_META, KEY_EXPIRY_SWEPT, today.days().to_le_bytes());
        self.commit(batch, &mut writer, seq, Durability::Synced)?;
        Ok(written)
    }

    fn lock_writer(&self) -> std::sync::MutexGuard<'_, u64> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a change to the log and to the subject's history; returns it
    /// with its sequence.
    fn log(&self, batch: &mut SortedBatch, seq: &mut u64, mut change: Change) -> Change {
        change.seq = *seq;
        *seq += 1;
        let encoded = codec::encode(&change);
        batch.put(CF_CHANGES, change.seq.to_be_bytes(), &encoded);
        batch.put(
            CF_HISTORY,
            history_key(&change.subject, change.seq),
            &encoded,
        );
        change
    }

    /// Writes the batch with the advanced sequence counter. With
    /// [`Durability::Buffered`] the WAL is written but not synced: a killed
    /// process loses nothing the kernel has, and [`Store::sync`] makes
    /// everything durable against power loss. RocksDB groups the syncs of
    /// writers that arrive together.
    ///
    /// The sequence moves (in `writer` and in [`Store::next_change_seq`])
    /// only once the batch is written: a failed write leaves no gap.
    fn commit(
        &self,
        mut batch: SortedBatch,
        writer: &mut u64,
        seq: u64,
        durability: Durability,
    ) -> Result<(), StoreError> {
        if batch.ops.is_empty() {
            return Ok(());
        }
        batch.put(CF_META, KEY_NEXT_SEQ, seq.to_be_bytes());
        let mut options = WriteOptions::default();
        options.set_sync(durability == Durability::Synced);
        self.db
            .write_opt(batch.into_write_batch(self), &options)
            .map_err(|e| self.rocks(e))?;
        *writer = seq;
        self.committed.store(seq, Ordering::Release);
        Ok(())
    }

    /// Syncs the write-ahead log to disk.
    pub fn sync(&self) -> Result<(), StoreError> {
        self.db.flush_wal(true).map_err(|e| self.rocks(e))
    }

    /// Flushes every memtable to SST files, so the next open has no log to
    /// replay. Called at the end of a bulk import.
    pub fn flush(&self) -> Result<(), StoreError> {
        let families: Vec<_> = FAMILIES.iter().map(|f| self.cf(f)).collect();
        self.db
            .flush_cfs_opt(&families, &rocksdb::FlushOptions::default())
            .map_err(|e| self.rocks(e))
    }

    /// Calls `f(org, persons)` for each organization in `orgs` that has a
    /// record, reading them in batches.
    pub fn for_each_org_persons(
        &self,
        orgs: &[SubjectKey],
        mut f: impl FnMut(SubjectKey, &[PersonLink]),
    ) -> Result<(), StoreError> {
        let cf = self.cf(CF_SUBJECTS);
        for chunk in orgs.chunks(4096) {
            let keys: Vec<[u8; KEY_LEN]> = chunk.iter().map(|k| k.to_bytes()).collect();
            let values = self.db.multi_get_cf(keys.iter().map(|k| (cf, k)));
            for (org, value) in chunk.iter().zip(values) {
                if let Some(v) = value.map_err(|e| self.rocks(e))? {
                    let subject = codec::decode::<StoredSubject>(&v, "subject")?.to_model(*org)?;
                    f(*org, &subject.persons);
                }
            }
        }
        Ok(())
    }

    /// Changes with sequence `>= since`, at most `limit`.
    pub fn changes(&self, since: u64, limit: usize) -> Result<Vec<Change>, StoreError> {
        let start = since.to_be_bytes();
        let mut out = Vec::new();
        for item in self
            .db
            .iterator_cf(
                self.cf(CF_CHANGES),
                IteratorMode::From(&start, Direction::Forward),
            )
            .take(limit)
        {
            let (_, v) = item.map_err(|e| self.rocks(e))?;
            out.push(codec::decode::<Change>(&v, "change")?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EntryRecord, SubjectRecord, parse_record};

    const TODAY: &str = "2026-11-25";

    fn subject(line: &str) -> Subject {
        parse_record::<SubjectRecord>(line)
            .unwrap()
            .validate(TODAY.parse().unwrap())
            .unwrap()
    }

    fn entry(line: &str) -> Entry {
        parse_record::<EntryRecord>(line)
            .unwrap()
            .validate(&Catalog::bundled(), TODAY.parse().unwrap())
            .unwrap()
    }

    const ORG: &str = r#"{"id":"91360100705500005G","kind":"org","name":"江西华远科技有限公司","persons":[{"id":"11010519491231002X","role":"legal_rep"}]}"#;
    const ENTRY: &str = r#"{"entry_id":"E1","subject_id":"91360100705500005G","list":"black","category":"dishonest_debtor","authority":"法院","basis":"(2019)赣01执1号","decided_at":"2019-03-01"}"#;

    /// A store that `write` filled, flushed and reopened: its data on disk
    /// only, the block cache empty.
    fn reopened_cold(dir: &Path, write: impl FnOnce(&Store)) -> Store {
        let store = Store::open_or_create(dir).unwrap();
        write(&store);
        store.flush().unwrap();
        drop(store);
        Store::open_or_create(dir).unwrap()
    }

    #[test]
    fn a_memory_read_of_what_only_the_disk_holds_says_so_then_a_disk_read_caches_it() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::bundled();
        let (org, e) = (subject(ORG), entry(ENTRY));
        let store = reopened_cold(dir.path(), |store| {
            store.apply_subjects(std::slice::from_ref(&org)).unwrap();
            store
                .apply_entries(std::slice::from_ref(&e), &catalog)
                .unwrap();
            // In the memtable: memory.
            assert_eq!(
                store.subject_within(org.id, Reach::Memory).unwrap(),
                Some(org.clone())
            );
        });
        let ids = ["E1"];
        assert!(matches!(
            store.entries_by_id(ids.iter().copied(), &catalog, Reach::Memory),
            Err(StoreError::NotInMemory)
        ));
        assert!(matches!(
            store.subject_within(org.id, Reach::Memory),
            Err(StoreError::NotInMemory)
        ));
        assert_eq!(
            store
                .entries_by_id(ids.iter().copied(), &catalog, Reach::Disk)
                .unwrap(),
            vec![e.clone()]
        );
        assert_eq!(
            store.subject_within(org.id, Reach::Disk).unwrap(),
            Some(org.clone())
        );
        // Read once from disk, now cached.
        assert_eq!(
            store
                .entries_by_id(ids.iter().copied(), &catalog, Reach::Memory)
                .unwrap(),
            vec![e]
        );
        assert_eq!(
            store.subject_within(org.id, Reach::Memory).unwrap(),
            Some(org)
        );
        // An id without an entry cannot be told from one not in memory.
        assert!(matches!(
            store.entries_by_id(["E2"].into_iter(), &catalog, Reach::Memory),
            Err(StoreError::NotInMemory)
        ));
        assert_eq!(
            store
                .entries_by_id(["E2"].into_iter(), &catalog, Reach::Disk)
                .unwrap(),
            vec![]
        );
    }

    #[test]
    fn entries_a_flush_or_a_compaction_writes_are_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::bundled();
        let store = Store::open_or_create(dir.path()).unwrap();
        let memory =
            |id: &'static str| store.entries_by_id([id].into_iter(), &catalog, Reach::Memory);
        store.apply_entries(&[entry(ENTRY)], &catalog).unwrap();
        store.flush().unwrap();
        assert_eq!(memory("E1").unwrap(), vec![entry(ENTRY)]);
        let e2 = entry(&ENTRY.replace("\"E1\"", "\"E2\""));
        store
            .apply_entries(std::slice::from_ref(&e2), &catalog)
            .unwrap();
        store.flush().unwrap();
        store
            .db
            .compact_range_cf(store.cf(CF_ENTRIES), None::<&[u8]>, None::<&[u8]>);
        assert_eq!(memory("E1").unwrap(), vec![entry(ENTRY)]);
        assert_eq!(memory("E2").unwrap(), vec![e2]);
        // Not so for the other families.
        store
            .apply_subjects(std::slice::from_ref(&subject(ORG)))
            .unwrap();
        store.flush().unwrap();
        assert!(matches!(
            store.subject_within(subject(ORG).id, Reach::Memory),
            Err(StoreError::NotInMemory)
        ));
    }

    #[test]
    fn warming_puts_the_entries_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::bundled();
        let store = reopened_cold(dir.path(), |store| {
            store.apply_entries(&[entry(ENTRY)], &catalog).unwrap();
        });
        let memory = || store.entries_by_id(["E1"].into_iter(), &catalog, Reach::Memory);
        assert!(matches!(memory(), Err(StoreError::NotInMemory)));
        assert!(matches!(store.warm_entries().unwrap(), Warmed::Read(n) if n > 0));
        assert_eq!(memory().unwrap(), vec![entry(ENTRY)]);
    }

    #[test]
    fn write_read_idempotent_replace() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::bundled();
        let store = Store::open_or_create(dir.path()).unwrap();
        let org = subject(ORG);
        let e = entry(ENTRY);
        assert_eq!(
            store
                .apply_subjects(std::slice::from_ref(&org))
                .unwrap()
                .inserted,
            1
        );
        assert_eq!(
            store
                .apply_entries(std::slice::from_ref(&e), &catalog)
                .unwrap()
                .inserted,
            1
        );
        assert_eq!(
            store
                .apply_subjects(std::slice::from_ref(&org))
                .unwrap()
                .unchanged,
            1
        );
        assert_eq!(
            store
                .apply_entries(std::slice::from_ref(&e), &catalog)
                .unwrap()
                .unchanged,
            1
        );
        assert_eq!(store.subject(org.id).unwrap().unwrap(), org);
        assert_eq!(store.entries_of(org.id, &catalog).unwrap(), vec![e.clone()]);
        let person = org.persons[0].person;
        assert_eq!(
            store.orgs_of(person).unwrap(),
            vec![(org.id, Role::LegalRep)]
        );

        // Replace: new role, new status.
        let org2 = subject(&ORG.replace("legal_rep", "director"));
        let e2 = entry(&ENTRY.replace("2019-03-01\"", "2019-03-01\",\"status\":\"repaired\""));
        assert_eq!(store.apply_subjects(&[org2]).unwrap().replaced, 1);
        assert_eq!(
            store
                .apply_entries(std::slice::from_ref(&e2), &catalog)
                .unwrap()
                .replaced,
            1
        );
        assert_eq!(
            store.orgs_of(person).unwrap(),
            vec![(org.id, Role::Director)]
        );
        assert_eq!(store.entries_of(org.id, &catalog).unwrap(), vec![e2]);
        let kinds: Vec<_> = store
            .history_of(org.id)
            .unwrap()
            .iter()
            .map(|c| c.kind)
            .collect();
        assert_eq!(
            kinds,
            [
                ChangeKind::SubjectInserted,
                ChangeKind::EntryInserted,
                ChangeKind::SubjectReplaced,
                ChangeKind::EntryReplaced
            ]
        );
        let seqs: Vec<_> = store
            .changes(1, 100)
            .unwrap()
            .iter()
            .map(|c| c.seq)
            .collect();
        assert_eq!(seqs, [1, 2, 3, 4]);
        drop(store);
        // Reopen keeps everything and continues the sequence.
        let store = Store::open(dir.path()).unwrap();
        store
            .apply_entries(&[entry(&ENTRY.replace("E1", "E2"))], &catalog)
            .unwrap();
        assert_eq!(store.changes(5, 10).unwrap()[0].seq, 5);
    }

    #[test]
    fn a_record_repeated_within_one_batch_counts_once() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::bundled();
        let store = Store::open_or_create(dir.path()).unwrap();
        let org = subject(ORG);
        let applied = store
            .apply_subjects(&[org.clone(), org.clone(), org])
            .unwrap();
        assert_eq!((applied.inserted, applied.unchanged), (1, 2));
        let e = entry(ENTRY);
        let applied = store.apply_entries(&[e.clone(), e], &catalog).unwrap();
        assert_eq!((applied.inserted, applied.unchanged), (1, 1));
        // Unchanged again in a later batch, and the repeat stays unchanged.
        let applied = store
            .apply_entries(&[entry(ENTRY), entry(ENTRY)], &catalog)
            .unwrap();
        assert_eq!((applied.inserted, applied.unchanged), (0, 2));
    }

    #[test]
    fn entry_moving_to_another_subject_moves_its_membership() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::bundled();
        let store = Store::open_or_create(dir.path()).unwrap();
        store.apply_entries(&[entry(ENTRY)], &catalog).unwrap();
        let moved = entry(&ENTRY.replace("91360100705500005G", "91110000600037341L"));
        store.apply_entries(&[moved], &catalog).unwrap();
        assert!(
            store
                .entries_of(SubjectKey::parse("91360100705500005G").unwrap(), &catalog)
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            store
                .entries_of(SubjectKey::parse("91110000600037341L").unwrap(), &catalog)
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn missing_store_and_newer_format_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            Store::open(&dir.path().join("none")),
            Err(StoreError::Missing { .. })
        ));
        let store = Store::open_or_create(dir.path()).unwrap();
        store
            .db
            .put_cf(store.cf(CF_META), KEY_FORMAT, 99u32.to_le_bytes())
            .unwrap();
        drop(store);
        let err = Store::open(dir.path()).err().unwrap();
        assert!(
            err.to_string()
                .contains("has format version 99; this build reads version 2"),
            "{err}"
        );
    }

    #[test]
    fn a_version_1_store_is_upgraded_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::bundled();
        let store = Store::open_or_create(dir.path()).unwrap();
        // What a version-1 build wrote: the stamp, and an entry without
        // lifecycle fields.
        let mut v1 = vec![1u8];
        let e = entry(&ENTRY.replace(
            "\"decided_at\":\"2019-03-01\"",
            "\"decided_at\":\"2019-03-01\",\"expires_at\":\"2030-01-01\"",
        ));
        let old = StoredEntry::from_model(&e, &catalog);
        bincode::encode_into_std_write(
            (
                old.subject,
                old.list,
                old.category.clone(),
                old.authority.clone(),
                old.basis.clone(),
                old.decided_at,
                old.effective_from,
                old.expires_at,
                old.status,
            ),
            &mut v1,
            bincode::config::standard(),
        )
        .unwrap();
        store.db.put_cf(store.cf(CF_ENTRIES), "E1", &v1).unwrap();
        store
            .db
            .put_cf(
                store.cf(CF_SUBJECT_ENTRIES),
                subject_entry_key(&old.subject, "E1"),
                [],
            )
            .unwrap();
        store
            .db
            .put_cf(store.cf(CF_META), KEY_FORMAT, 1u32.to_le_bytes())
            .unwrap();
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.entry("E1", &catalog).unwrap().unwrap(), e);
        let mut keys = Vec::new();
        store
            .scan_prefix(CF_EXPIRIES, &[], |k, _| {
                keys.push(k.to_vec());
                Ok(())
            })
            .unwrap();
        assert_eq!(keys, [expiry_key(e.expires_at.unwrap().days(), "E1")]);
        let format = store
            .db
            .get_cf(store.cf(CF_META), KEY_FORMAT)
            .unwrap()
            .unwrap();
        assert_eq!(format, FORMAT_VERSION.to_le_bytes());
    }

    #[test]
    fn lapsed_entries_are_logged_once_and_only_while_they_counted() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::bundled();
        let store = Store::open_or_create(dir.path()).unwrap();
        let day = |s: &str| s.parse::<Date>().unwrap();
        let with_term = |id: &str, end: &str| {
            entry(&ENTRY.replace("E1", id).replace(
                "\"decided_at\":\"2019-03-01\"",
                &format!("\"decided_at\":\"2019-03-01\",\"expires_at\":\"{end}\""),
            ))
        };
        store
            .apply_entries(
                &[
                    with_term("OLD", "2026-01-01"),
                    with_term("SOON", "2026-11-03"),
                    with_term("LATER", "2026-12-01"),
                    with_term("GONE", "2026-11-02"),
                ],
                &catalog,
            )
            .unwrap();
        store
            .transition(
                "GONE",
                &Transition::Revoke {
                    on: day("2026-10-01"),
                    reason: "错误".into(),
                },
                &catalog,
            )
            .unwrap();
        // The first sweep only marks the day.
        assert!(
            store
                .sweep_expired(day("2026-11-01"), &catalog)
                .unwrap()
                .changes
                .is_empty()
        );
        let lapsed = store
            .sweep_expired(day("2026-11-05"), &catalog)
            .unwrap()
            .changes;
        let ids: Vec<_> = lapsed
            .iter()
            .map(|c| c.entry_id.as_deref().unwrap())
            .collect();
        assert_eq!(ids, ["SOON"]);
        assert_eq!(lapsed[0].kind, ChangeKind::EntryExpired);
        assert!(
            store
                .sweep_expired(day("2026-11-05"), &catalog)
                .unwrap()
                .changes
                .is_empty()
        );
        // Moving a term moves its expiry key.
        store
            .apply_entries(&[with_term("LATER", "2026-11-20")], &catalog)
            .unwrap();
        let lapsed = store
            .sweep_expired(day("2026-12-31"), &catalog)
            .unwrap()
            .changes;
        assert_eq!(lapsed.len(), 1);
        assert_eq!(lapsed[0].entry_id.as_deref(), Some("LATER"));
    }

    #[test]
    fn transitions_are_logged_with_the_entry_after_them() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::bundled();
        let store = Store::open_or_create(dir.path()).unwrap();
        store.apply_entries(&[entry(ENTRY)], &catalog).unwrap();
        let on = "2026-11-01".parse().unwrap();
        let written = store
            .transition(
                "E1",
                &Transition::Object {
                    on,
                    reason: "已履行".into(),
                },
                &catalog,
            )
            .unwrap();
        let change = &written.changes[0];
        assert_eq!(change.kind, ChangeKind::ObjectionFiled);
        assert_eq!(change.note.as_deref(), Some("已履行"));
        let after = change
            .entry
            .as_ref()
            .unwrap()
            .to_entry("E1".into(), &catalog)
            .unwrap();
        assert_eq!(after.status, EntryStatus::Disputed);
        assert_eq!(store.entry("E1", &catalog).unwrap().unwrap(), after);
        assert!(matches!(
            store.transition(
                "E1",
                &Transition::Object {
                    on,
                    reason: "再".into()
                },
                &catalog
            ),
            Err(WriteError::Conflict(_))
        ));
        assert!(matches!(
            store.transition(
                "E9",
                &Transition::Object {
                    on,
                    reason: "再".into()
                },
                &catalog
            ),
            Err(WriteError::NoEntry(_))
        ));
        // A department's replacement is refused under objection; an
        // import's is not, and keeps the lifecycle notes.
        assert!(matches!(
            store.write_entries(
                &[entry(ENTRY)],
                &catalog,
                Replace::KeepState,
                Durability::Synced
            ),
            Err(WriteError::Conflict(_))
        ));
        store.apply_entries(&[entry(ENTRY)], &catalog).unwrap();
        let imported = store.entry("E1", &catalog).unwrap().unwrap();
        assert_eq!(imported.status, EntryStatus::Active);
        assert_eq!(imported.lifecycle, after.lifecycle);
        let kinds: Vec<_> = store
            .history_of(imported.subject)
            .unwrap()
            .iter()
            .map(|c| c.kind)
            .collect();
        assert_eq!(
            kinds,
            [
                ChangeKind::EntryInserted,
                ChangeKind::ObjectionFiled,
                ChangeKind::EntryReplaced
            ]
        );
    }
}
