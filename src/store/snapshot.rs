//! Whole-store operations for replication: a consistent copy of the store
//! to bootstrap a replica from ([`Store::checkpoint`]), and a digest of its
//! contents to compare two nodes at the same position ([`Store::digest`]).

use std::path::Path;

use rocksdb::ReadOptions;
use sha2::{Digest as _, Sha256};

use super::schema::FAMILIES;
use super::{Store, StoreError};

/// A store's contents summarized.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Digest {
    /// The replicated log's position of the last batch held.
    pub position: u64,
    /// The next change sequence.
    pub next_seq: u64,
    /// Keys and values read.
    pub records: u64,
    /// SHA-256 over every family's name, keys and values, in order.
    pub sha256: String,
}

/// Where a copy of the store stands ([`Store::checkpoint`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Checkpointed {
    /// The replicated log's position of the last batch held.
    pub stream_position: u64,
    /// The next change sequence: the copy's change feed ends just before
    /// it.
    pub next_change_seq: u64,
}

impl Store {
    /// Hashes every family's keys and values as of one moment (a RocksDB
    /// snapshot, so a write during the scan is either wholly in or out).
    /// Two stores with equal digests hold the same bytes.
    pub fn digest(&self) -> Result<Digest, StoreError> {
        // The writer lock pins the position and sequence to the snapshot.
        let (snapshot, position, next_seq) = {
            let writer = self.lock_writer();
            (self.db.snapshot(), self.stream_position(), *writer)
        };
        let mut hash = Sha256::new();
        let mut records = 0;
        for family in FAMILIES {
            let mut read = ReadOptions::default();
            read.set_snapshot(&snapshot);
            let mut it = self.db.raw_iterator_cf_opt(self.cf(family), read);
            it.seek_to_first();
            hash.update(family.as_bytes());
            while let (Some(k), Some(v)) = (it.key(), it.value()) {
                hash.update((k.len() as u64).to_le_bytes());
                hash.update(k);
                hash.update((v.len() as u64).to_le_bytes());
                hash.update(v);
                records += 1;
                it.next();
            }
            it.status().map_err(|e| self.rocks(e))?;
        }
        Ok(Digest {
            position,
            next_seq,
            records,
            sha256: crate::hex::encode(&hash.finalize()),
        })
    }

    /// Writes a consistent copy of the store to `out` (a new directory;
    /// files are hard-linked where the file system allows), as of one
    /// moment: what a replica is bootstrapped from and what a backup is.
    /// Writes wait meanwhile (the writer lock), so the copy holds every
    /// change before [`Checkpointed::next_change_seq`] and none after.
    pub fn checkpoint(&self, out: &Path) -> Result<Checkpointed, StoreError> {
        let writer = self.lock_writer();
        let checkpoint =
            rocksdb::checkpoint::Checkpoint::new(&self.db).map_err(|e| self.rocks(e))?;
        checkpoint
            .create_checkpoint(out)
            .map_err(|e| self.rocks(e))?;
        Ok(Checkpointed {
            stream_position: self.stream_position(),
            next_change_seq: *writer,
        })
    }
}
