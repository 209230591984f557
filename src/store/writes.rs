//! Writes: records, entries and entry updates, each one atomic batch that
//! keeps the membership, link and expiry families in step and logs a
//! change per record that changed ([`super::log`]). Writers are serialized
//! by one lock that holds the next change sequence.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use rocksdb::{WriteBatch, WriteOptions};

use super::schema::*;
use super::values::*;
use super::{Durability, Replace, Store, StoreError, WriteError, codec};
use crate::catalog::Catalog;
use crate::date::epoch_ms;
use crate::id::SubjectKey;
use crate::model::{ChangeKind, Entry, PersonLink, Subject};

/// What a lifecycle write did: the changes it logged, and what of it the
/// in-memory indexes must follow.
#[derive(Debug, Default, Clone, PartialEq, bincode::Encode, bincode::Decode)]
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
#[derive(Debug, Clone, PartialEq, Eq, bincode::Encode, bincode::Decode)]
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
pub(super) struct SortedBatch {
    pub(super) ops: Vec<BatchOp>,
}

/// Family, key, and the value to put (`None`: delete).
type BatchOp = (&'static str, Vec<u8>, Option<Vec<u8>>);

impl SortedBatch {
    pub(super) fn put(
        &mut self,
        family: &'static str,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
    ) {
        self.ops
            .push((family, key.as_ref().to_vec(), Some(value.as_ref().to_vec())));
    }

    pub(super) fn delete(&mut self, family: &'static str, key: impl AsRef<[u8]>) {
        self.ops.push((family, key.as_ref().to_vec(), None));
    }

    pub(super) fn into_write_batch(mut self, store: &Store) -> WriteBatch {
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

impl Store {
    /// Adds `subject`'s stored person links to `written` (once), for an
    /// entry that joins or leaves it. Entry writes do not change records,
    /// so what is stored is what the write leaves.
    pub(super) fn note_links(
        &self,
        written: &mut Written,
        subject: SubjectKey,
    ) -> Result<(), StoreError> {
        if written.links_of(subject).is_none() {
            let links = self
                .subject(subject)?
                .map(|s| s.persons)
                .unwrap_or_default();
            written.links.push((subject, links));
        }
        Ok(())
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
        self.commit(batch, &mut writer, seq, durability, &written)?;
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
    pub(super) fn entries_written(
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
                if let Replace::KeepState(may_replace) = replace {
                    may_replace(status_from(old.status)?, &entry.entry_id)
                        .map_err(WriteError::Refused)?;
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
                Change::of_entry(at_ms, kind, &entry.entry_id, stored, None),
            ));
            current.insert(&entry.entry_id, Some(encoded));
        }
        self.commit(batch, &mut writer, seq, durability, &written)?;
        Ok((applied, written))
    }

    /// Puts an entry's value, its membership under its subject and its
    /// expiry key, removing those of the stored version `old` that no
    /// longer hold.
    pub(super) fn put_entry(
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

    /// Updates an entry by `rule`, logs the change with the entry as it
    /// stands after, and returns once it is synced. `rule` is given the
    /// entry as stored and says what it becomes, the kind of change and the
    /// note logged with it, or why it may not change
    /// ([`WriteError::Refused`]): the store applies rules it does not know
    /// (the lifecycle's, [`crate::lifecycle::apply`]), under its writer
    /// lock, so that no write comes between the read and the update.
    pub fn update_entry(
        &self,
        entry_id: &str,
        catalog: &Catalog,
        rule: impl FnOnce(&Entry) -> Result<(Entry, ChangeKind, String), String>,
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
        let (next, kind, note) = rule(&current).map_err(WriteError::Refused)?;
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
            Change::of_entry(epoch_ms(), kind, entry_id, stored, Some(note)),
        ));
        self.commit(batch, &mut writer, seq, Durability::Synced, &written)?;
        Ok(written)
    }

    pub(super) fn lock_writer(&self) -> std::sync::MutexGuard<'_, u64> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes the batch with the advanced sequence counter. With
    /// [`Durability::Buffered`] the WAL is written but not synced: a killed
    /// process loses nothing the kernel has, and [`Store::sync`] makes
    /// everything durable against power loss. RocksDB groups the syncs of
    /// writers that arrive together.
    ///
    /// The sequence moves (in `writer` and in [`Store::next_change_seq`])
    /// only once the batch is written: a failed write leaves no gap.
    pub(super) fn commit(
        &self,
        mut batch: SortedBatch,
        writer: &mut u64,
        seq: u64,
        durability: Durability,
        written: &Written,
    ) -> Result<(), StoreError> {
        if batch.ops.is_empty() {
            return Ok(());
        }
        batch.put(CF_META, KEY_NEXT_SEQ, seq.to_be_bytes());
        let mut options = WriteOptions::default();
        options.set_sync(durability == Durability::Synced);
        self.write_replicated(
            batch.into_write_batch(self),
            *writer,
            seq,
            written,
            &options,
        )?;
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
}
