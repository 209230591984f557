//! Execution feedback (执行反馈): what an implementing department did with
//! a measure, kept per entry so that what was enforced stays queryable
//! (惩戒实施情况可查).
//!
//! Keys are the entry id, a `0x00` byte (entry ids hold no control
//! characters), the recording time (milliseconds, big-endian) and a
//! counter, so an entry's feedback is one prefix scan, oldest first.
//! Every record is written synced.

use std::sync::atomic::{AtomicU32, Ordering};

use bincode::{Decode, Encode};
use rocksdb::WriteOptions;

use super::codec::{self, Value};
use super::schema::CF_FEEDBACK;
use super::{Store, StoreError};
use crate::date::epoch_ms;

/// One feedback record.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Feedback {
    /// The entry whose measure was applied.
    pub entry_id: String,
    /// The measure's code.
    pub measure: String,
    /// The action it concerned (the catalog's code).
    pub action: String,
    /// `enforced`, `not_enforced` or `exempted`.
    pub outcome: String,
    /// The implementing department.
    pub implementer: String,
    /// When it was applied, milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// A note.
    pub note: Option<String>,
    /// The key that reported it (none on an open server).
    pub key: Option<String>,
    /// When it was recorded.
    pub recorded_ms: u64,
}

impl Value for Feedback {
    type V1 = Feedback;
    fn from_v1(old: Feedback) -> Feedback {
        old
    }
}

fn prefix(entry_id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(entry_id.len() + 13);
    k.extend_from_slice(entry_id.as_bytes());
    k.push(0);
    k
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl Store {
    /// Records feedback (its `recorded_ms` set now); returns once synced.
    pub fn add_feedback(&self, mut feedback: Feedback) -> Result<Feedback, StoreError> {
        feedback.recorded_ms = epoch_ms();
        let mut key = prefix(&feedback.entry_id);
        key.extend_from_slice(&feedback.recorded_ms.to_be_bytes());
        key.extend_from_slice(&COUNTER.fetch_add(1, Ordering::Relaxed).to_be_bytes());
        let mut synced = WriteOptions::default();
        synced.set_sync(true);
        // Through the writer lock and the replicated log like every write;
        // it logs no change, so the change sequence stays.
        let writer = self.lock_writer();
        let mut batch = rocksdb::WriteBatch::default();
        batch.put_cf(self.cf(CF_FEEDBACK), key, codec::encode(&feedback));
        self.write_replicated(batch, *writer, *writer, &super::Written::default(), &synced)?;
        Ok(feedback)
    }

    /// The entry's feedback, oldest first.
    pub fn feedback_of(&self, entry_id: &str) -> Result<Vec<Feedback>, StoreError> {
        let mut out = Vec::new();
        self.scan_prefix(CF_FEEDBACK, &prefix(entry_id), |_, v| {
            out.push(codec::decode::<Feedback>(v, "feedback")?);
            Ok(())
        })?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feedback_is_kept_per_entry_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_or_create(dir.path()).unwrap();
        let fb = |entry: &str, outcome: &str| Feedback {
            entry_id: entry.into(),
            measure: "debtor_flight".into(),
            action: "flight".into(),
            outcome: outcome.into(),
            implementer: "东方航空".into(),
            at_ms: 1,
            note: None,
            key: None,
            recorded_ms: 0,
        };
        store.add_feedback(fb("E1", "enforced")).unwrap();
        store.add_feedback(fb("E10", "enforced")).unwrap();
        store.add_feedback(fb("E1", "exempted")).unwrap();
        let of_e1: Vec<_> = store
            .feedback_of("E1")
            .unwrap()
            .into_iter()
            .map(|f| f.outcome)
            .collect();
        assert_eq!(of_e1, ["enforced", "exempted"]);
        assert_eq!(store.feedback_of("E10").unwrap().len(), 1);
        assert!(store.feedback_of("E").unwrap().is_empty());
    }
}
