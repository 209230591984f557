//! The durable source of truth: subjects, entries and links in RocksDB.
//!
//! One concern per module:
//!
//! | module | holds |
//! |---|---|
//! | `schema.rs` | column families, key layouts, format version, family options |
//! | `values.rs` | the stored values and their versions |
//! | `reads.rs` | point reads and scans, within a [`Reach`] |
//! | `writes.rs` | atomic write batches, the writer lock, entry updates by rule |
//! | `log.rs` | the change log and each subject's history |
//! | `expiry.rs` | the expiry sweep and the version-1 upgrade's expiry calendar |
//! | `bulk.rs` | the bulk import's SST path |
//! | `codec.rs` | versioned value encoding |
//! | [`feedback`] | execution feedback, kept per entry |
//! | `disclosures.rs` | 双公示 disclosures, their indexes and tallies |
//! | [`watches`] | watches, their subjects, cursors and dead letters (node-local) |
//! | [`decisions`] | decisions that demand feedback, and their feedback (node-local) |
//! | `tests.rs` | the store's tests |
//!
//! The store knows no rules: it keeps what it is given, and a write that
//! depends on an entry's state takes the rule from its caller as a closure
//! ([`Store::update_entry`], [`Replace::KeepState`]). [`crate::lifecycle`]
//! decides; the store applies the decision under its writer lock.
//!
//! Writes go through [`Store::apply_subjects`] and [`Store::apply_entries`]:
//! each call is one atomic `WriteBatch` that puts the records, keeps
//! the link and membership families in step, and logs a change per inserted or
//! replaced record. A record equal to the stored one changes nothing, so
//! re-importing a file is a no-op. Entries keep their category code on disk,
//! because catalog ids depend on file order and operators can replace the catalog.
//!
//! Lifecycle writes ([`Store::update_entry`]: objection, outcome, repair,
//! revocation) and the expiry sweep ([`Store::sweep_expired`]) go through
//! the same batch and log. Writes asked with [`Durability::Synced`] return
//! only once the write-ahead log is on disk.
//!
//! The store is stamped with a format version at creation; a store from a
//! newer build is refused with a clear message instead of being misread. A
//! version-1 store (before the lifecycle) is upgraded in place at open: the
//! `expiries` family is filled from the entries and the stamp moves to 2.

pub(crate) mod bulk;
pub(crate) mod codec;
pub mod decisions;
mod disclosures;
mod expiry;
pub mod feedback;
mod log;
mod reads;
mod replicated;
mod schema;
mod snapshot;
#[cfg(test)]
mod tests;
mod values;
pub mod watches;
mod writes;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;

use rocksdb::{Cache, ColumnFamilyDescriptor, DB, Options, ReadOptions, ReadTier, WriteOptions};

use crate::model::EntryStatus;
pub use disclosures::{DisclosureScan, Scanned, Tally};
pub use replicated::{AppendError, Replicate, Replicated};
use schema::*;
pub use schema::{BLOCK_CACHE_BYTES, FORMAT_VERSION, KEPT_INFO_LOGS};
pub use snapshot::{Checkpointed, Digest};
pub use values::{Change, StoredEntry, status_from};
pub use writes::{Applied, Indexed, Written};

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
    /// The replicated log did not take a write (the write is refused), or
    /// a batch from the log does not follow this store.
    #[error("replication: {0}")]
    Replication(String),
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
    /// The rule the writer passed refused the write: the entry's state
    /// does not allow it (the lifecycle's conflicts, HTTP 409).
    #[error("{0}")]
    Refused(String),
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
#[derive(Copy, Clone, Debug)]
pub enum Replace {
    /// The record replaces it, status included (the import: the file is the
    /// platform's word).
    AsGiven,
    /// The record replaces its published fields; its status and lifecycle
    /// stay. The rule says, from the stored status and the entry id, whether
    /// the entry may be replaced at all, or why not
    /// ([`crate::lifecycle::check_replace`]: not under objection, not
    /// revoked). A publishing department's write.
    KeepState(fn(EntryStatus, &str) -> Result<(), String>),
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
    /// The part of its capacity kept for the entries (`entries_cache_bytes`).
    entries_room: usize,
    /// Where committed batches go first, on a primary that replicates.
    replicate: std::sync::OnceLock<std::sync::Arc<dyn Replicate>>,
    /// The replicated log's position of the last batch held.
    position: AtomicU64,
    /// A batch the log may hold, not yet written here.
    pending: Mutex<Option<replicated::Pending>>,
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

    pub(super) fn open_with(path: &Path, create: bool) -> Result<Store, StoreError> {
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
        // RocksDB starts a new info log (LOG) at each open and keeps the old
        // ones (LOG.old.*) for ever by default: one more file per restart.
        // The last few are enough to read what happened.
        opts.set_keep_log_file_num(KEPT_INFO_LOGS);
        opts.set_max_log_file_size(16 << 20);
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
            .chain(&LOCAL_FAMILIES)
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
        // A counter kept in `meta` as a big-endian u64; `absent` if none.
        let counter = |key: &[u8], what: &'static str, absent: u64| match db
            .get_cf(meta, key)
            .map_err(rocks)?
        {
            Some(v) => v
                .as_slice()
                .try_into()
                .map(u64::from_be_bytes)
                .map_err(|_| StoreError::Corrupt {
                    what,
                    detail: format!("{} bytes", v.len()),
                }),
            None => Ok(absent),
        };
        let next_seq = counter(KEY_NEXT_SEQ, "sequence counter", 1)?;
        let position = counter(KEY_STREAM_POS, "stream position", 0)?;
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
            replicate: std::sync::OnceLock::new(),
            position: AtomicU64::new(position),
            pending: Mutex::new(None),
        };
        if upgrade {
            store.upgrade_from_v1()?;
        }
        Ok(store)
    }

    pub(super) fn rocks(&self, source: rocksdb::Error) -> StoreError {
        StoreError::Rocks {
            path: self.path.display().to_string(),
            source,
        }
    }

    pub(super) fn cf(&self, name: &str) -> &rocksdb::ColumnFamily {
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

    /// Sets the block cache's capacity to `bytes` for the index and filter
    /// partitions and the blocks of every family, beside the room kept for
    /// the entries (`entries_cache_bytes`). Blocks beyond it are evicted
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
    /// (`entries_cache_bytes`), unless their files are larger than
    /// `ENTRIES_CACHED_AT_MOST`: then they fill the cache as they are read.
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
}
