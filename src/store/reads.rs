//! Reads: subjects, entries, memberships and links, within a [`Reach`].

use super::schema::*;
use super::values::*;
use super::{Reach, Store, StoreError, codec};
use crate::catalog::Catalog;
use crate::id::SubjectKey;
use crate::model::{Entry, PersonLink, Role, Subject};
use rocksdb::ReadOptions;

impl Store {
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

    /// The read options of `reach`.
    pub(super) fn reads(&self, reach: Reach) -> &ReadOptions {
        match reach {
            Reach::Memory => &self.memory_only,
            Reach::Disk => &self.anywhere,
        }
    }

    /// `e` as a [`StoreError`]: an incomplete read at [`Reach::Memory`] is
    /// [`StoreError::NotInMemory`].
    pub(super) fn within(&self, reach: Reach, e: rocksdb::Error) -> StoreError {
        if reach == Reach::Memory && e.kind() == rocksdb::ErrorKind::Incomplete {
            StoreError::NotInMemory
        } else {
            self.rocks(e)
        }
    }

    /// Calls `f(key, value)` for each key of `family` starting with `prefix`,
    /// in key order.
    pub(super) fn scan_prefix(
        &self,
        family: &str,
        prefix: &[u8],
        f: impl FnMut(&[u8], &[u8]) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.scan(family, prefix, rocksdb::ReadOptions::default(), f)
    }

    /// Calls `f(key, value)` for every key of `family` starting with
    /// `prefix`, in key order, without copying keys or values.
    pub(super) fn scan(
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
}
