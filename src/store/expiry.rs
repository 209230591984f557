//! Expiry: an entry's term ends on its `expires_at` day. Decisions read
//! the date, so nothing has to happen on that day for checks to be right;
//! the sweep logs one `entry_expired` change per lapsed entry so that the
//! feed reports it, once, using the `expiries` family as a calendar.

use rocksdb::{WriteBatch, WriteOptions};

use super::schema::*;
use super::values::*;
use super::writes::{SortedBatch, Written};
use super::{Durability, Store, StoreError, codec};
use crate::catalog::Catalog;
use crate::date::{Date, epoch_ms};
use crate::model::{ChangeKind, EntryStatus};

impl Store {
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
                    Change::of_entry(at_ms, ChangeKind::EntryExpired, id, entry, None),
                ));
            }
        }
        batch.put(CF_META, KEY_EXPIRY_SWEPT, today.days().to_le_bytes());
        self.commit(batch, &mut writer, seq, Durability::Synced, &written)?;
        Ok(written)
    }

    /// Fills the `expiries` family from the entries of a version-1 store,
    /// then stamps it version 2 (synced). Killed half-way, the next open
    /// does it again: the stamp moves last.
    pub(super) fn upgrade_from_v1(&self) -> Result<(), StoreError> {
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
}
