//! Watches (推送提示): the subjects an implementing department follows,
//! where their changes are POSTed, how far delivery has got, and the
//! changes whose delivery failed for good.
//!
//! Node-local: a watch lives on the node that delivers it (the primary, or
//! a server alone), so a change is never POSTed twice by two nodes. A
//! watch's record (`r` + id) and its cursor (`c` + id) are separate keys,
//! so that the delivery worker moving the cursor never rewrites the
//! record. Creating, deleting and draining are synced: they are answers to
//! a request. A cursor is written without a sync, after the receiver
//! acknowledged every change up to it: a `kill -9` keeps the write (the
//! write-ahead log is in the operating system's hands), and a power cut
//! can only lose the latest cursors, which moves delivery back and sends
//! acknowledged changes again. A cursor is never ahead of what receivers
//! acknowledged, so at least once holds without a disk sync per delivery.

use bincode::{Decode, Encode};
use rocksdb::{WriteBatch, WriteOptions};

use super::codec::{self, Value};
use super::schema::{CF_WATCH_DEAD, CF_WATCH_SUBJECTS, CF_WATCHES, KEY_LEN};
use super::{Store, StoreError};
use crate::id::SubjectKey;

/// A watch as stored.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct WatchRecord {
    /// Its id (16 hex digits).
    pub id: String,
    /// The key that created it (none on an open server): only that key
    /// sees it.
    pub key: Option<String>,
    /// Only entries of this category code (and subject changes).
    pub category: Option<String>,
    /// Only entries whose category restricts or grants one of these
    /// action codes (and subject changes); empty: any.
    pub actions: Vec<String>,
    /// Where changes are POSTed; `None`: read with `changes` only.
    pub callback: Option<String>,
    /// The HMAC-SHA256 key deliveries are signed with.
    pub secret: String,
    /// When it was created, milliseconds since the Unix epoch.
    pub created_ms: u64,
    /// The last change sequence when it was created: it reports what
    /// comes after.
    pub start_seq: u64,
    /// How many subjects it names.
    pub subjects: u64,
}

impl Value for WatchRecord {
    type V1 = WatchRecord;
    fn from_v1(old: WatchRecord) -> WatchRecord {
        old
    }
}

/// A change whose delivery failed for good.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct DeadLetter {
    /// The change's sequence.
    pub seq: u64,
    /// How many POSTs were tried.
    pub attempts: u32,
    /// What the last one met.
    pub error: String,
    /// When it was given up, milliseconds since the Unix epoch.
    pub failed_ms: u64,
}

impl Value for DeadLetter {
    type V1 = DeadLetter;
    fn from_v1(old: DeadLetter) -> DeadLetter {
        old
    }
}

fn record_key(id: &str) -> Vec<u8> {
    [b"r", id.as_bytes()].concat()
}

fn cursor_key(id: &str) -> Vec<u8> {
    [b"c", id.as_bytes()].concat()
}

/// `id` + `0x00`: the prefix of a watch's keys in the per-watch families
/// (ids are hex, so no id is a prefix of another's with the separator).
fn prefix(id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(id.len() + 1 + KEY_LEN);
    k.extend_from_slice(id.as_bytes());
    k.push(0);
    k
}

fn synced() -> WriteOptions {
    let mut o = WriteOptions::default();
    o.set_sync(true);
    o
}

impl Store {
    /// Stores a new watch, its subjects and its cursor (at
    /// `record.start_seq`) in one synced batch.
    pub fn put_watch(
        &self,
        record: &WatchRecord,
        subjects: &[SubjectKey],
    ) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        batch.put_cf(
            self.cf(CF_WATCHES),
            record_key(&record.id),
            codec::encode(record),
        );
        batch.put_cf(
            self.cf(CF_WATCHES),
            cursor_key(&record.id),
            record.start_seq.to_be_bytes(),
        );
        let family = self.cf(CF_WATCH_SUBJECTS);
        let mut key = prefix(&record.id);
        let at = key.len();
        for s in subjects {
            key.truncate(at);
            key.extend_from_slice(&s.to_bytes());
            batch.put_cf(family, &key, []);
        }
        self.db
            .write_opt(batch, &synced())
            .map_err(|e| self.rocks(e))
    }

    /// Adds and removes subjects of a stored watch and stores its record
    /// (its new count), in one synced batch.
    pub fn change_watch_subjects(
        &self,
        record: &WatchRecord,
        add: &[SubjectKey],
        remove: &[SubjectKey],
    ) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        batch.put_cf(
            self.cf(CF_WATCHES),
            record_key(&record.id),
            codec::encode(record),
        );
        let family = self.cf(CF_WATCH_SUBJECTS);
        let mut key = prefix(&record.id);
        let at = key.len();
        for (subjects, put) in [(add, true), (remove, false)] {
            for s in subjects {
                key.truncate(at);
                key.extend_from_slice(&s.to_bytes());
                if put {
                    batch.put_cf(family, &key, []);
                } else {
                    batch.delete_cf(family, &key);
                }
            }
        }
        self.db
            .write_opt(batch, &synced())
            .map_err(|e| self.rocks(e))
    }

    /// Removes a watch with its subjects, cursor and dead letters.
    pub fn delete_watch(&self, id: &str) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        batch.delete_cf(self.cf(CF_WATCHES), record_key(id));
        batch.delete_cf(self.cf(CF_WATCHES), cursor_key(id));
        let from = prefix(id);
        let mut to = from.clone();
        *to.last_mut().expect("the prefix ends with its separator") = 1;
        for family in [CF_WATCH_SUBJECTS, CF_WATCH_DEAD] {
            batch.delete_range_cf(self.cf(family), &from, &to);
        }
        self.db
            .write_opt(batch, &synced())
            .map_err(|e| self.rocks(e))
    }

    /// Every watch with its cursor, in id order.
    pub fn watches(&self) -> Result<Vec<(WatchRecord, u64)>, StoreError> {
        let mut out = Vec::new();
        self.scan_prefix(CF_WATCHES, b"r", |_, v| {
            out.push(codec::decode::<WatchRecord>(v, "watch")?);
            Ok(())
        })?;
        out.into_iter()
            .map(|w| {
                let cursor = self.watch_cursor(&w.id)?.unwrap_or(w.start_seq);
                Ok((w, cursor))
            })
            .collect()
    }

    /// The watch's delivered sequence.
    pub fn watch_cursor(&self, id: &str) -> Result<Option<u64>, StoreError> {
        let v = self
            .db
            .get_pinned_cf(self.cf(CF_WATCHES), cursor_key(id))
            .map_err(|e| self.rocks(e))?;
        Ok(v.and_then(|v| Some(u64::from_be_bytes(v.as_ref().try_into().ok()?))))
    }

    /// Moves the watch's cursor to `seq` and, when `dead` is given, files
    /// that change as a dead letter, in one write (not synced: see the
    /// module).
    pub fn advance_watch(
        &self,
        id: &str,
        seq: u64,
        dead: Option<&DeadLetter>,
    ) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(CF_WATCHES), cursor_key(id), seq.to_be_bytes());
        if let Some(d) = dead {
            let mut key = prefix(id);
            key.extend_from_slice(&d.seq.to_be_bytes());
            batch.put_cf(self.cf(CF_WATCH_DEAD), key, codec::encode(d));
        }
        self.db.write(batch).map_err(|e| self.rocks(e))
    }

    /// The subjects a watch names.
    pub fn watch_subjects(&self, id: &str) -> Result<Vec<SubjectKey>, StoreError> {
        let p = prefix(id);
        let mut out = Vec::new();
        self.scan_prefix(CF_WATCH_SUBJECTS, &p, |k, _| {
            let key = SubjectKey::from_bytes(&k[p.len()..]).ok_or_else(|| StoreError::Corrupt {
                what: "watch subject",
                detail: format!("bad subject key {:02x?}", &k[p.len()..]),
            })?;
            out.push(key);
            Ok(())
        })?;
        Ok(out)
    }

    /// The watch's dead letters after sequence `after`, oldest first, at
    /// most `limit`.
    pub fn dead_letters(
        &self,
        id: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, StoreError> {
        let mut out = Vec::new();
        self.scan_prefix(CF_WATCH_DEAD, &prefix(id), |_, v| {
            let d = codec::decode::<DeadLetter>(v, "dead letter")?;
            if d.seq > after && out.len() < limit {
                out.push(d);
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// Removes the watch's dead letters with these sequences (those it
    /// has); returns how many there were.
    pub fn drain_dead_letters(&self, id: &str, seqs: &[u64]) -> Result<usize, StoreError> {
        let family = self.cf(CF_WATCH_DEAD);
        let mut batch = WriteBatch::default();
        let mut found = 0;
        for seq in seqs {
            let mut key = prefix(id);
            key.extend_from_slice(&seq.to_be_bytes());
            if self
                .db
                .get_pinned_cf(family, &key)
                .map_err(|e| self.rocks(e))?
                .is_some()
            {
                batch.delete_cf(family, key);
                found += 1;
            }
        }
        self.db
            .write_opt(batch, &synced())
            .map_err(|e| self.rocks(e))?;
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn watch(id: &str) -> WatchRecord {
        WatchRecord {
            id: id.into(),
            key: Some("k1".into()),
            category: None,
            actions: vec!["flight".into()],
            callback: Some("http://example.com/hook".into()),
            secret: "s".into(),
            created_ms: 1,
            start_seq: 7,
            subjects: 2,
        }
    }

    #[test]
    fn watches_keep_subjects_cursors_and_dead_letters_apart() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_or_create(dir.path()).unwrap();
        let a = SubjectKey::parse("91360100705500005G").unwrap();
        let b = SubjectKey::parse("11010519491231002X").unwrap();
        store.put_watch(&watch("0a"), &[a, b]).unwrap();
        store.put_watch(&watch("0a1"), &[b]).unwrap();
        assert_eq!(store.watch_subjects("0a").unwrap().len(), 2);
        assert_eq!(store.watch_subjects("0a1").unwrap(), vec![b]);
        let dead = DeadLetter {
            seq: 9,
            attempts: 8,
            error: "503".into(),
            failed_ms: 5,
        };
        store.advance_watch("0a", 9, Some(&dead)).unwrap();
        store.advance_watch("0a", 12, None).unwrap();
        let all = store.watches().unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!((all[0].0.id.as_str(), all[0].1), ("0a", 12));
        assert_eq!((all[1].0.id.as_str(), all[1].1), ("0a1", 7));
        assert_eq!(store.dead_letters("0a", 0, 10).unwrap(), vec![dead]);
        assert!(store.dead_letters("0a", 9, 10).unwrap().is_empty());
        assert!(store.dead_letters("0a1", 0, 10).unwrap().is_empty());
        assert_eq!(store.drain_dead_letters("0a", &[9, 10]).unwrap(), 1);
        assert!(store.dead_letters("0a", 0, 10).unwrap().is_empty());
        store.delete_watch("0a").unwrap();
        assert!(store.watch_subjects("0a").unwrap().is_empty());
        assert_eq!(store.watches().unwrap().len(), 1);
        assert_eq!(store.watch_subjects("0a1").unwrap(), vec![b]);
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.watches().unwrap()[0].0, watch("0a1"));
    }
}
