//! The change log: every write appends its changes under consecutive
//! sequence numbers (`changes`) and files each under its subject
//! (`history`), in the write's own batch, so the log and the data never
//! disagree. The feed (`GET /v1/changes`) and the indexes' catch-up read it.

use rocksdb::{Direction, IteratorMode};

use super::schema::*;
use super::values::Change;
use super::writes::SortedBatch;
use super::{Store, StoreError, codec};
use crate::id::SubjectKey;
use std::sync::atomic::Ordering;

impl Store {
    /// Adds a change to the log and to the subject's history; returns it
    /// with its sequence.
    pub(super) fn log(&self, batch: &mut SortedBatch, seq: &mut u64, mut change: Change) -> Change {
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

    /// The subject's change history, oldest first.
    pub fn history_of(&self, key: SubjectKey) -> Result<Vec<Change>, StoreError> {
        let mut out = Vec::new();
        self.scan_prefix(CF_HISTORY, &key.to_bytes(), |_, v| {
            out.push(codec::decode::<Change>(v, "history")?);
            Ok(())
        })?;
        Ok(out)
    }

    /// The sequence the next change will get: every change below it is in
    /// the log. Caches derived from the store stamp themselves with it to
    /// catch up later from [`Store::changes`].
    pub fn next_change_seq(&self) -> u64 {
        self.committed.load(Ordering::Acquire)
    }
}
