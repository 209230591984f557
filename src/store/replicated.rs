//! The store's side of replication: every committed batch goes to a
//! [`Replicate`] log (the primary's JetStream stream) *before* it is written
//! locally, and a replica writes the batches it receives exactly as they
//! were committed.
//!
//! A batch is shipped whole: the RocksDB write batch (every family's puts
//! and deletes, the change sequence counter and the stream position), and
//! what the in-memory indexes must follow ([`Written`]). A replica that
//! applies it holds the same bytes as the primary, timestamps and change
//! sequences included, so it answers the same at the same position.
//!
//! Order and crashes: the log is the order. The primary appends a batch at
//! the next stream position and writes it locally only once the log has
//! taken it; the batch records that position in `meta`, so a primary that
//! crashed between the two finds the stream ahead of its store at restart
//! and applies the missing batches from the stream before taking writes.
//! When the log's answer is unknown (a time-out: the stream may still take
//! the batch), the batch is kept as *pending* and every write is refused
//! until a later append of the same position settles it: the log
//! deduplicates by position, so the retry either stores it or reports it
//! already stored, and then it is written locally. Nothing is ever written
//! locally that the log does not hold, and nothing the log holds is lost
//! locally.

use std::sync::atomic::Ordering;

use bincode::{Decode, Encode};
use rocksdb::{WriteBatch, WriteOptions};

use super::schema::{CF_META, KEY_STREAM_POS};
use super::writes::Written;
use super::{Store, StoreError, codec};

/// Where committed batches go before they are written locally.
pub trait Replicate: Send + Sync {
    /// Appends `record` at stream `position` (the last position plus one);
    /// returns once the log holds it durably.
    fn append(&self, position: u64, record: &[u8]) -> Result<(), AppendError>;
}

/// Why the log did not take a batch.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AppendError {
    /// Certainly not appended (no stream leader, refused).
    #[error("{0}")]
    Refused(String),
    /// Perhaps appended: the answer did not come.
    #[error("{0}")]
    Unknown(String),
}

/// One replicated batch, as the log carries it.
#[derive(Encode, Decode, Debug, Clone, PartialEq)]
struct RecordV1 {
    position: u64,
    first_seq: u64,
    next_seq: u64,
    batch: Vec<u8>,
    written: Written,
}

impl codec::Value for RecordV1 {
    type V1 = RecordV1;
    fn from_v1(old: RecordV1) -> RecordV1 {
        old
    }
}

fn encode(position: u64, first_seq: u64, next_seq: u64, batch: &[u8], w: &Written) -> Vec<u8> {
    codec::encode(&RecordV1 {
        position,
        first_seq,
        next_seq,
        batch: batch.to_vec(),
        written: w.clone(),
    })
}

/// A replicated batch, decoded.
pub struct Replicated {
    /// Its stream position.
    pub position: u64,
    /// The change sequence before it.
    pub first_seq: u64,
    /// The change sequence after it.
    pub next_seq: u64,
    batch: Vec<u8>,
    /// What the in-memory indexes follow.
    pub written: Written,
}

impl Replicated {
    /// Decodes a record the log carried.
    pub fn decode(bytes: &[u8]) -> Result<Replicated, StoreError> {
        let r: RecordV1 = codec::decode(bytes, "replicated batch")?;
        Ok(Replicated {
            position: r.position,
            first_seq: r.first_seq,
            next_seq: r.next_seq,
            batch: r.batch,
            written: r.written,
        })
    }
}

/// A batch the log may or may not hold, with what to write once it does.
pub(super) struct Pending {
    position: u64,
    record: Vec<u8>,
}

impl Store {
    /// Sends every batch committed from now on to `log` before it is
    /// written locally (the primary). Set once, at start or at promotion.
    pub fn replicate_to(&self, log: std::sync::Arc<dyn Replicate>) -> Result<(), StoreError> {
        self.replicate
            .set(log)
            .map_err(|_| StoreError::Replication("this store already replicates".into()))
    }

    /// The stream position of the last batch this store holds (0: none).
    pub fn stream_position(&self) -> u64 {
        self.position.load(Ordering::Acquire)
    }

    /// Writes `batch` (ending at change sequence `next_seq`) through the
    /// log when there is one: appended at the next position first, then
    /// written locally. The caller holds the writer lock.
    pub(super) fn write_replicated(
        &self,
        mut batch: WriteBatch,
        first_seq: u64,
        next_seq: u64,
        written: &Written,
        options: &WriteOptions,
    ) -> Result<(), StoreError> {
        let Some(log) = self.replicate.get() else {
            return self.db.write_opt(batch, options).map_err(|e| self.rocks(e));
        };
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        if pending.is_some() {
            return Err(StoreError::Replication(
                "an earlier write's place in the replicated log is not settled yet; try again shortly"
                    .into(),
            ));
        }
        let position = self.stream_position() + 1;
        batch.put_cf(self.cf(CF_META), KEY_STREAM_POS, position.to_be_bytes());
        let record = encode(position, first_seq, next_seq, batch.data(), written);
        match log.append(position, &record) {
            Ok(()) => {}
            Err(AppendError::Refused(why)) => return Err(StoreError::Replication(why)),
            Err(AppendError::Unknown(why)) => {
                *pending = Some(Pending { position, record });
                return Err(StoreError::Replication(why));
            }
        }
        self.db
            .write_opt(batch, options)
            .map_err(|e| self.rocks(e))?;
        self.position.store(position, Ordering::Release);
        Ok(())
    }

    /// Settles a pending batch: appends it again (the log deduplicates by
    /// position) and, once the log holds it, writes it locally and returns
    /// what the indexes must follow. `Ok(None)`: nothing was pending.
    pub fn settle_pending(&self) -> Result<Option<Written>, StoreError> {
        let Some(log) = self.replicate.get() else {
            return Ok(None);
        };
        let mut writer = self.lock_writer();
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let Some(p) = pending.as_ref() else {
            return Ok(None);
        };
        log.append(p.position, &p.record)
            .map_err(|e| StoreError::Replication(e.to_string()))?;
        let p = Replicated::decode(&p.record)?;
        let mut synced = WriteOptions::default();
        synced.set_sync(true);
        self.db
            .write_opt(WriteBatch::from_data(&p.batch), &synced)
            .map_err(|e| self.rocks(e))?;
        *pending = None;
        self.position.store(p.position, Ordering::Release);
        *writer = p.next_seq;
        self.committed.store(p.next_seq, Ordering::Release);
        Ok(Some(p.written))
    }

    /// Writes a batch the log carried (a replica, or a primary catching up
    /// with the stream at start), exactly as it was committed. A batch at
    /// or before the store's position is already applied: `Ok(None)`. One
    /// further on than the next position, or one that does not start at
    /// the store's change sequence, means this store is not the log's
    /// (another stream, or a snapshot from elsewhere): refused.
    pub fn apply_replicated(&self, r: Replicated) -> Result<Option<Written>, StoreError> {
        let mut writer = self.lock_writer();
        let at = self.stream_position();
        if r.position <= at {
            return Ok(None);
        }
        if r.position != at + 1 || r.first_seq != *writer {
            return Err(StoreError::Replication(format!(
                "the log's batch {} (changes {}..{}) does not follow this store (position {at}, next change {}); bootstrap it again from a snapshot",
                r.position, r.first_seq, r.next_seq, *writer
            )));
        }
        // Not synced: a replica that loses its last writes in a crash
        // reads them again from the log (the position moves with them).
        self.db
            .write_opt(WriteBatch::from_data(&r.batch), &WriteOptions::default())
            .map_err(|e| self.rocks(e))?;
        self.position.store(r.position, Ordering::Release);
        *writer = r.next_seq;
        self.committed.store(r.next_seq, Ordering::Release);
        Ok(Some(r.written))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::SubjectKey;
    use crate::model::{PersonLink, Role};
    use crate::store::Indexed;

    #[test]
    fn a_record_decodes_to_what_was_written() {
        let org = SubjectKey::parse("91360100705500005G").unwrap();
        let rep = SubjectKey::parse("11010519491231002X").unwrap();
        let link = PersonLink {
            person: rep,
            role: Role::LegalRep,
        };
        let written = Written {
            changes: Vec::new(),
            indexed: vec![
                Indexed::Entry {
                    entry_id: "E1".into(),
                    subject: org,
                    from: Some(rep),
                },
                Indexed::Record {
                    subject: org,
                    before: Vec::new(),
                    after: vec![link],
                    name: "江西赣江测绘科技有限公司".into(),
                    aliases: vec!["赣江测绘".into()],
                },
            ],
            links: vec![(org, vec![link])],
        };
        let r = Replicated::decode(&encode(7, 10, 12, b"batch", &written)).unwrap();
        assert_eq!((r.position, r.first_seq, r.next_seq), (7, 10, 12));
        assert_eq!(r.batch, b"batch");
        assert_eq!(r.written, written);
        // A key that is not one is refused, not misread.
        let mut bytes = encode(7, 10, 12, b"", &written);
        let at = bytes.windows(12).position(|w| w == org.to_bytes()).unwrap();
        bytes[at..at + 12].fill(0xFF);
        assert!(Replicated::decode(&bytes).is_err());
    }
}
