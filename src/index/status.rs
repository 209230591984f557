//! The hot-path status index: which subjects are *flagged*.
//!
//! A subject is flagged when it has an entry of its own, or holds a role in
//! an organization that has one. Everyone else (99%+ of the ids airlines ask
//! about) is decided as clean from this index alone: no entry can apply to
//! them. Only flagged subjects go to the store for their entries.
//!
//! The index holds flagged subjects only: a listed subject's entry ids and a
//! person's roles in listed organizations, from which the flags follow. Its
//! memory grows with the lists, not with the register of 10^8 subjects. It
//! is built from the entry memberships and the records of the listed
//! organizations (or loaded as saved), and never changes after: live
//! writes go to the snapshot's overlay (`index::live`), and a fold packs
//! a new one.
//!
//! It is packed, because at 10^8 subjects 13 million are flagged: one table
//! of fixed 20-byte slots in hash order, found through a directory of hash
//! buckets (three slots to a bucket on average), and each subject's entry
//! ids and roles in shared arrays, a subject's lists running from its
//! slot's offsets to the next slot's. Two hash maps with a boxed list per
//! subject and a box per entry id took 78 bytes per flagged subject at
//! 10^8 (1.03 GB), most of it allocator headers and the maps' empty slots.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::path::Path;

use super::fmix64;
use super::saved::{SavedReader, SavedWriter};
use crate::id::{SubjectKey, SubjectKind};
use crate::model::Role;
use crate::store::{Store, StoreError};

/// First bytes of a saved index.
const MAGIC: &[u8; 8] = b"CGSTATS2";

/// Why a subject is flagged.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Flags(u8);

impl Flags {
    const OWN: u8 = 1;
    const VIA: u8 = 2;

    /// The flags of a subject with entries of its own (`own`) and roles in
    /// listed organizations (`via`); `None` when neither.
    pub fn of(own: bool, via: bool) -> Option<Flags> {
        let bits = if own { Self::OWN } else { 0 } | if via { Self::VIA } else { 0 };
        (bits != 0).then_some(Flags(bits))
    }

    /// The subject has entries of its own.
    pub fn own(self) -> bool {
        self.0 & Self::OWN != 0
    }

    /// The subject holds a role in an organization with entries.
    pub fn via(self) -> bool {
        self.0 & Self::VIA != 0
    }
}

/// Hashes a [`SubjectKey`] (one `u128`) with `fmix64` instead of SipHash: the probe is on every check. Keys come from the store,
/// not from requests, so there is no flooding to defend against.
#[derive(Default)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u128(&mut self, v: u128) {
        self.0 = fmix64((v as u64) ^ ((v >> 64) as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A map keyed by subject, hashed with [`KeyHasher`].
pub type KeyMap<V> = HashMap<SubjectKey, V, BuildHasherDefault<KeyHasher>>;

/// Flagged subjects, and what a flagged check needs to read. A subject is
/// flagged `own` when it has entry ids here, `via` when it has roles here.
pub struct StatusIndex {
    /// `dir[b]..dir[b + 1]` are the slots of hash bucket `b`.
    dir: Box<[u32]>,
    /// Flagged subjects in hash order, then an end slot that closes the
    /// last subject's lists.
    slots: Box<[Slot]>,
    /// Where each entry id starts in `text`, and where the last one ends.
    id_starts: Box<[u64]>,
    /// Every entry id, one after the other.
    text: Box<str>,
    /// Every person's roles in listed organizations.
    roles: Box<[(SubjectKey, Role)]>,
}

/// A flagged subject: its key, and where its entry ids (in `id_starts`)
/// and roles begin; they end where the next slot's begin.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Slot {
    key: [u8; 12],
    ids: u32,
    roles: u32,
}

/// Slots per hash bucket, on average.
const PER_BUCKET: usize = 3;

/// A subject key's hash: the one the maps of this module use.
#[inline]
fn hash(key: SubjectKey) -> u64 {
    BuildHasherDefault::<KeyHasher>::default().hash_one(key)
}

/// The bucket of `hash` among `buckets`, in hash order.
#[inline]
fn bucket(hash: u64, buckets: usize) -> usize {
    (((hash >> 32) * buckets as u64) >> 32) as usize
}

/// A subject's entry ids: from the index, or from a live state.
#[derive(Copy, Clone, Debug)]
pub enum EntryIds<'a> {
    /// A list of its own (a live state's).
    Listed(&'a [Box<str>]),
    /// From the index: `text[starts[i]..starts[i + 1]]` is the `i`-th.
    Packed {
        /// The index's entry ids, one after the other.
        text: &'a str,
        /// Where these begin in `text`, and where the last ends.
        starts: &'a [u64],
    },
}

impl<'a> EntryIds<'a> {
    /// No entry ids.
    pub const NONE: EntryIds<'static> = EntryIds::Listed(&[]);

    /// How many.
    pub fn len(self) -> usize {
        match self {
            EntryIds::Listed(ids) => ids.len(),
            EntryIds::Packed { starts, .. } => starts.len().saturating_sub(1),
        }
    }

    /// Whether there are none.
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// The `i`-th, `i` below [`EntryIds::len`].
    pub fn get(self, i: usize) -> &'a str {
        match self {
            EntryIds::Listed(ids) => &ids[i],
            EntryIds::Packed { text, starts } => &text[starts[i] as usize..starts[i + 1] as usize],
        }
    }

    /// Each, ascending.
    pub fn iter(self) -> impl ExactSizeIterator<Item = &'a str> + Clone {
        (0..self.len()).map(move |i| self.get(i))
    }

    /// A list of their own.
    pub fn to_vec(self) -> Vec<Box<str>> {
        self.iter().map(Box::from).collect()
    }
}

impl<'a> From<&'a [Box<str>]> for EntryIds<'a> {
    fn from(ids: &'a [Box<str>]) -> Self {
        EntryIds::Listed(ids)
    }
}

impl PartialEq for EntryIds<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

/// A subject's entry ids and roles, as a live state holds them.
type Lists<'a> = (&'a [Box<str>], &'a [(SubjectKey, Role)]);

/// Builds a [`StatusIndex`] from subjects given in hash order.
struct Packer {
    /// The hash of each slot's key.
    hashes: Vec<u64>,
    slots: Vec<Slot>,
    id_starts: Vec<u64>,
    text: String,
    roles: Vec<(SubjectKey, Role)>,
}

impl Packer {
    fn new(subjects: usize) -> Packer {
        Packer {
            hashes: Vec::with_capacity(subjects),
            slots: Vec::with_capacity(subjects + 1),
            id_starts: vec![0],
            text: String::new(),
            roles: Vec::new(),
        }
    }

    /// Adds a subject after those added before, unless it has neither
    /// entry ids nor roles.
    fn push(&mut self, key: SubjectKey, ids: EntryIds<'_>, roles: &[(SubjectKey, Role)]) {
        if ids.is_empty() && roles.is_empty() {
            return;
        }
        self.hashes.push(hash(key));
        self.slots.push(Slot {
            key: key.to_bytes(),
            ids: (self.id_starts.len() - 1) as u32,
            roles: self.roles.len() as u32,
        });
        for id in ids.iter() {
            self.text.push_str(id);
            self.id_starts.push(self.text.len() as u64);
        }
        self.roles.extend_from_slice(roles);
    }

    /// The index: the end slot added, the directory built over the slots.
    fn finish(mut self) -> StatusIndex {
        let subjects = self.slots.len();
        self.slots.push(Slot {
            key: [0; 12],
            ids: (self.id_starts.len() - 1) as u32,
            roles: self.roles.len() as u32,
        });
        let buckets = (subjects / PER_BUCKET).max(1);
        let mut dir = vec![0u32; buckets + 1];
        for &h in &self.hashes {
            dir[bucket(h, buckets) + 1] += 1;
        }
        for b in 1..dir.len() {
            dir[b] += dir[b - 1];
        }
        StatusIndex {
            dir: dir.into_boxed_slice(),
            slots: self.slots.into_boxed_slice(),
            id_starts: self.id_starts.into_boxed_slice(),
            text: self.text.into_boxed_str(),
            roles: self.roles.into_boxed_slice(),
        }
    }
}

/// Packs the given subjects (each once), their lists from `ids_of` and
/// `roles_of`.
fn pack<'a>(
    mut keys: Vec<SubjectKey>,
    ids_of: impl Fn(SubjectKey) -> EntryIds<'a>,
    roles_of: impl Fn(SubjectKey) -> &'a [(SubjectKey, Role)],
) -> StatusIndex {
    keys.sort_unstable_by_key(|k| (hash(*k), *k));
    let mut packer = Packer::new(keys.len());
    for key in keys {
        packer.push(key, ids_of(key), roles_of(key));
    }
    packer.finish()
}

impl Default for StatusIndex {
    fn default() -> Self {
        Packer::new(0).finish()
    }
}

impl StatusIndex {
    /// Builds the index from the store: one scan of the entry memberships,
    /// then the records of the listed organizations, whose persons are
    /// reached via them. (Reading those few records is far cheaper than
    /// scanning every person link in the register.)
    pub fn build(store: &Store) -> Result<StatusIndex, StoreError> {
        let mut entry_ids: KeyMap<Box<[Box<str>]>> = KeyMap::default();
        let mut listed_orgs = Vec::new();
        let mut current: Option<(SubjectKey, Vec<Box<str>>)> = None;
        let mut finish = |entry_ids: &mut KeyMap<_>,
                          (subject, ids): (SubjectKey, Vec<Box<str>>)| {
            entry_ids.insert(subject, ids.into_boxed_slice());
            if subject.kind() == SubjectKind::Org {
                listed_orgs.push(subject);
            }
        };
        store.for_each_listed(|subject, entry_id| {
            // Memberships come in key order: grouped by subject.
            match &mut current {
                Some((s, ids)) if *s == subject => ids.push(entry_id.into()),
                _ => {
                    if let Some(done) = current.replace((subject, vec![entry_id.into()])) {
                        finish(&mut entry_ids, done);
                    }
                }
            }
        })?;
        if let Some(done) = current.take() {
            finish(&mut entry_ids, done);
        }
        let mut org_roles: KeyMap<Vec<(SubjectKey, Role)>> = KeyMap::default();
        store.for_each_org_persons(&listed_orgs, |org, persons| {
            for link in persons {
                org_roles
                    .entry(link.person)
                    .or_default()
                    .push((org, link.role));
            }
        })?;
        let keys = entry_ids
            .keys()
            .chain(org_roles.keys().filter(|k| !entry_ids.contains_key(k)))
            .copied()
            .collect();
        Ok(pack(
            keys,
            |k| {
                entry_ids
                    .get(&k)
                    .map_or(EntryIds::NONE, |ids| EntryIds::Listed(ids))
            },
            |k| org_roles.get(&k).map_or(&[], Vec::as_slice),
        ))
    }

    /// A copy with the given subjects' entry ids and roles replaced (both
    /// empty removes the subject): live writes folded into a new base.
    pub fn with_changes<'a>(
        &self,
        changes: impl IntoIterator<Item = (SubjectKey, &'a [Box<str>], &'a [(SubjectKey, Role)])>,
    ) -> StatusIndex {
        let changed: KeyMap<Lists<'a>> = changes
            .into_iter()
            .map(|(key, ids, roles)| (key, (ids, roles)))
            .collect();
        let keys = self
            .flagged_keys()
            .filter(|k| !changed.contains_key(k))
            .chain(changed.keys().copied())
            .collect();
        pack(
            keys,
            |k| match changed.get(&k) {
                Some(&(ids, _)) => EntryIds::Listed(ids),
                None => self.entry_ids(k),
            },
            |k| match changed.get(&k) {
                Some(&(_, roles)) => roles,
                None => self.org_roles(k),
            },
        )
    }

    /// The slot of `key`, if flagged.
    #[inline]
    fn slot_of(&self, key: SubjectKey) -> Option<usize> {
        let b = bucket(hash(key), self.dir.len() - 1);
        let bytes = key.to_bytes();
        (self.dir[b] as usize..self.dir[b + 1] as usize).find(|&i| self.slots[i].key == bytes)
    }

    /// The flags of the subject in `slot`.
    fn flags_at(&self, slot: usize) -> Flags {
        let (this, next) = (self.slots[slot], self.slots[slot + 1]);
        Flags(
            if next.ids > this.ids { Flags::OWN } else { 0 }
                | if next.roles > this.roles {
                    Flags::VIA
                } else {
                    0
                },
        )
    }

    /// The entry ids of the subject in `slot`.
    fn ids_at(&self, slot: usize) -> EntryIds<'_> {
        let (from, to) = (
            self.slots[slot].ids as usize,
            self.slots[slot + 1].ids as usize,
        );
        EntryIds::Packed {
            text: &self.text,
            starts: &self.id_starts[from..=to],
        }
    }

    /// The roles of the subject in `slot`.
    fn roles_at(&self, slot: usize) -> &[(SubjectKey, Role)] {
        &self.roles[self.slots[slot].roles as usize..self.slots[slot + 1].roles as usize]
    }

    /// The key of the subject in `slot` (checked when packed or loaded).
    fn key_at(&self, slot: usize) -> Option<SubjectKey> {
        SubjectKey::from_own_bytes(&self.slots[slot].key)
    }

    /// The subject's flags; `None` means clean. Never touches disk, never
    /// allocates.
    #[inline]
    pub fn get(&self, key: SubjectKey) -> Option<Flags> {
        self.slot_of(key).map(|slot| self.flags_at(slot))
    }

    /// Every flagged subject, once.
    pub fn flagged_keys(&self) -> impl Iterator<Item = SubjectKey> + '_ {
        (0..self.len()).filter_map(|slot| self.key_at(slot))
    }

    /// Every listed subject with its entry ids.
    pub fn all_entry_ids(&self) -> impl Iterator<Item = (SubjectKey, EntryIds<'_>)> + '_ {
        (0..self.len())
            .filter(|&slot| self.flags_at(slot).own())
            .filter_map(|slot| Some((self.key_at(slot)?, self.ids_at(slot))))
    }

    /// Every person with roles in listed organizations, with those roles.
    pub fn all_org_roles(&self) -> impl Iterator<Item = (SubjectKey, &[(SubjectKey, Role)])> + '_ {
        (0..self.len())
            .filter(|&slot| self.flags_at(slot).via())
            .filter_map(|slot| Some((self.key_at(slot)?, self.roles_at(slot))))
    }

    /// The ids of the subject's own entries, ascending (empty if none).
    pub fn entry_ids(&self, key: SubjectKey) -> EntryIds<'_> {
        self.slot_of(key)
            .map_or(EntryIds::NONE, |slot| self.ids_at(slot))
    }

    /// The person's roles in organizations that have entries (empty if none).
    pub fn org_roles(&self, key: SubjectKey) -> &[(SubjectKey, Role)] {
        self.slot_of(key).map_or(&[], |slot| self.roles_at(slot))
    }

    /// Number of flagged subjects.
    pub fn len(&self) -> usize {
        self.slots.len() - 1
    }

    /// Whether no subject is flagged.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Saves the index to `path`, stamped with `stamp` (the store's change
    /// sequence; `index::saved`): its arrays as they are in memory.
    pub fn save(&self, path: &Path, stamp: u64) -> std::io::Result<()> {
        let mut out = SavedWriter::create(path, MAGIC, stamp)?;
        for n in [
            self.dir.len(),
            self.slots.len(),
            self.id_starts.len(),
            self.text.len(),
            self.roles.len(),
        ] {
            out.u64(n as u64)?;
        }
        let mut buf = Vec::with_capacity(1 << 20);
        let flush = |out: &mut SavedWriter, buf: &mut Vec<u8>, last: bool| {
            if buf.len() >= 1 << 20 || last {
                out.put(buf)?;
                buf.clear();
            }
            std::io::Result::Ok(())
        };
        for d in &self.dir {
            buf.extend_from_slice(&d.to_le_bytes());
            flush(&mut out, &mut buf, false)?;
        }
        for slot in &self.slots {
            buf.extend_from_slice(&slot.key);
            buf.extend_from_slice(&slot.ids.to_le_bytes());
            buf.extend_from_slice(&slot.roles.to_le_bytes());
            flush(&mut out, &mut buf, false)?;
        }
        for s in &self.id_starts {
            buf.extend_from_slice(&s.to_le_bytes());
            flush(&mut out, &mut buf, false)?;
        }
        flush(&mut out, &mut buf, true)?;
        out.put(self.text.as_bytes())?;
        for (org, role) in &self.roles {
            buf.extend_from_slice(&org.to_bytes());
            buf.push(*role as u8);
            flush(&mut out, &mut buf, false)?;
        }
        flush(&mut out, &mut buf, true)?;
        out.finish()
    }

    /// Loads the saved index and its stamp; `None` if the file is missing,
    /// stamped after `newest`, damaged, or not an index this program could
    /// have packed (it is then rebuilt).
    pub fn load(path: &Path, newest: u64) -> Option<(StatusIndex, u64)> {
        let (mut input, stamp) = SavedReader::open(path, MAGIC, newest)?;
        let mut sizes = [0usize; 5];
        for n in &mut sizes {
            *n = usize::try_from(input.u64()?).ok()?;
        }
        let [dir_len, slots_len, starts_len, text_len, roles_len] = sizes;
        // Sizes are checked against the file before anything that large is
        // allocated: a damaged count must not ask for terabytes.
        let file = std::fs::metadata(path).ok()?.len() as u128;
        let need = dir_len as u128 * 4
            + slots_len as u128 * 20
            + starts_len as u128 * 8
            + text_len as u128
            + roles_len as u128 * 13;
        if need > file || dir_len < 2 || slots_len < 1 || starts_len < 1 {
            return None;
        }
        let mut dir = vec![0u32; dir_len];
        input.words(&mut dir, u32::from_le_bytes)?;
        let mut raw = vec![[0u8; 20]; slots_len];
        input.words(&mut raw, |b: [u8; 20]| b)?;
        let slots: Vec<Slot> = raw
            .iter()
            .map(|b| Slot {
                key: b[..12].try_into().expect("12 bytes"),
                ids: u32::from_le_bytes(b[12..16].try_into().expect("4 bytes")),
                roles: u32::from_le_bytes(b[16..].try_into().expect("4 bytes")),
            })
            .collect();
        drop(raw);
        let mut id_starts = vec![0u64; starts_len];
        input.words(&mut id_starts, u64::from_le_bytes)?;
        let mut text = vec![0u8; text_len];
        input.take(&mut text)?;
        let text = String::from_utf8(text).ok()?;
        let mut raw = vec![[0u8; 13]; roles_len];
        input.words(&mut raw, |b: [u8; 13]| b)?;
        let roles = raw
            .iter()
            .map(|b| {
                Some((
                    SubjectKey::from_own_bytes(&b[..12])?,
                    *Role::ALL.get(b[12] as usize)?,
                ))
            })
            .collect::<Option<Vec<_>>>()?;
        drop(raw);
        input.finish()?;
        let index = StatusIndex {
            dir: dir.into_boxed_slice(),
            slots: slots.into_boxed_slice(),
            id_starts: id_starts.into_boxed_slice(),
            text: text.into_boxed_str(),
            roles: roles.into_boxed_slice(),
        };
        index.is_well_formed().then_some((index, stamp))
    }

    /// Whether every lookup and list stays within the arrays and finds what
    /// a packed index would: the directory covers the slots in order, each
    /// slot's key is a key and sits in its bucket, lists are non-empty and
    /// in order, and entry ids begin and end on characters.
    fn is_well_formed(&self) -> bool {
        let subjects = self.len();
        let buckets = self.dir.len() - 1;
        let dir_ok = self.dir[0] == 0
            && self.dir[buckets] as usize == subjects
            && self.dir.windows(2).all(|w| w[0] <= w[1]);
        let end = self.slots[subjects];
        let lists_ok = end.ids as usize == self.id_starts.len() - 1
            && end.roles as usize == self.roles.len()
            && self.slots.windows(2).all(|w| {
                w[0].ids <= w[1].ids
                    && w[0].roles <= w[1].roles
                    && (w[0].ids < w[1].ids || w[0].roles < w[1].roles)
            });
        let text_ok = self.id_starts[0] == 0
            && *self.id_starts.last().expect("at least one") as usize == self.text.len()
            && self.id_starts.windows(2).all(|w| w[0] < w[1])
            && self
                .id_starts
                .iter()
                .all(|&s| self.text.is_char_boundary(s as usize));
        dir_ok
            && lists_ok
            && text_ok
            && (0..buckets).all(|b| {
                (self.dir[b] as usize..self.dir[b + 1] as usize).all(|slot| {
                    self.key_at(slot)
                        .is_some_and(|key| bucket(hash(key), buckets) == b)
                })
            })
    }

    /// Heap bytes held: the slots, the directory and the lists.
    pub fn heap_bytes(&self) -> usize {
        std::mem::size_of_val::<[u32]>(&self.dir)
            + std::mem::size_of_val::<[Slot]>(&self.slots)
            + std::mem::size_of_val::<[u64]>(&self.id_starts)
            + self.text.len()
            + std::mem::size_of_val::<[(SubjectKey, Role)]>(&self.roles)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> SubjectKey {
        SubjectKey::parse(s).unwrap()
    }

    /// A person's key, distinct for `n` below 28,000.
    fn person(n: u32) -> SubjectKey {
        let body = format!("360102{:08}{:03}", 19_800_101 + n / 1000, n % 1000);
        let id = crate::id::build::identity_number(body.as_bytes().try_into().unwrap()).unwrap();
        key(std::str::from_utf8(&id).unwrap())
    }

    type Model = HashMap<SubjectKey, (Vec<Box<str>>, Vec<(SubjectKey, Role)>)>;

    /// Every question the index answers, asked of it and of the model.
    fn agrees(index: &StatusIndex, model: &Model, all: &[SubjectKey]) {
        assert!(index.is_well_formed());
        assert_eq!(index.len(), model.len());
        for k in all {
            let (ids, roles) = model.get(k).cloned().unwrap_or_default();
            assert_eq!(
                index.get(*k),
                Flags::of(!ids.is_empty(), !roles.is_empty()),
                "{k:?}"
            );
            assert_eq!(index.entry_ids(*k), EntryIds::Listed(&ids));
            assert_eq!(index.org_roles(*k), &roles[..]);
        }
        let mut flagged: Vec<_> = index.flagged_keys().collect();
        flagged.sort();
        let mut expected: Vec<_> = model.keys().copied().collect();
        expected.sort();
        assert_eq!(flagged, expected);
        let listed = index.all_entry_ids().inspect(|(k, ids)| {
            assert_eq!(*ids, EntryIds::Listed(&model[k].0));
        });
        assert_eq!(
            listed.count(),
            model.values().filter(|(i, _)| !i.is_empty()).count()
        );
        let persons = index.all_org_roles().inspect(|(k, roles)| {
            assert_eq!(*roles, &model[k].1[..]);
        });
        assert_eq!(
            persons.count(),
            model.values().filter(|(_, r)| !r.is_empty()).count()
        );
    }

    #[test]
    fn a_packed_index_answers_as_the_lists_it_was_given_through_folds_and_saves() {
        let all: Vec<SubjectKey> = (0..3000).map(person).collect();
        let mut model = Model::new();
        let mut index = StatusIndex::default();
        agrees(&index, &model, &all);
        let mut seed = 7u64;
        let mut next = |n: u64| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) % n
        };
        let dir = tempfile::tempdir().unwrap();
        for round in 0..6 {
            let mut changes: Model = Model::new();
            for _ in 0..400 {
                let k = all[next(all.len() as u64) as usize];
                let ids: Vec<Box<str>> = (0..next(4))
                    .map(|i| format!("JX-{round}-{}-{i}-信用", next(1000)).into())
                    .collect();
                let roles: Vec<(SubjectKey, Role)> = (0..next(3))
                    .map(|_| (all[next(50) as usize], Role::ALL[next(7) as usize]))
                    .collect();
                changes.insert(k, (ids, roles));
            }
            index = index.with_changes(
                changes
                    .iter()
                    .map(|(k, (ids, roles))| (*k, &ids[..], &roles[..])),
            );
            for (k, (ids, roles)) in changes {
                if ids.is_empty() && roles.is_empty() {
                    model.remove(&k);
                } else {
                    model.insert(k, (ids, roles));
                }
            }
            agrees(&index, &model, &all);
            let path = dir.path().join("status.idx");
            index.save(&path, round).unwrap();
            let (loaded, stamp) = StatusIndex::load(&path, round).expect("whole");
            assert_eq!(stamp, round);
            agrees(&loaded, &model, &all);
            index = loaded;
        }
        assert!(model.len() > 1000, "{}", model.len());
    }

    #[test]
    fn an_index_whose_arrays_disagree_is_not_well_formed() {
        let ids: Vec<Box<str>> = vec!["E1".into()];
        let index =
            StatusIndex::default().with_changes((0..50).map(|n| (person(n), &ids[..], &[][..])));
        assert!(index.is_well_formed());
        let mut swapped = StatusIndex {
            dir: index.dir.clone(),
            slots: index.slots.clone(),
            id_starts: index.id_starts.clone(),
            text: index.text.clone(),
            roles: index.roles.clone(),
        };
        // Two slots of different buckets swapped: lookups would miss both.
        let last = swapped.len() - 1;
        let (a, b) = (swapped.slots[0].key, swapped.slots[last].key);
        swapped.slots[0].key = b;
        swapped.slots[last].key = a;
        assert!(!swapped.is_well_formed());
        let mut cut = StatusIndex {
            text: "E1E1".into(),
            ..swapped
        };
        cut.slots = index.slots.clone();
        assert!(!cut.is_well_formed());
    }

    #[test]
    fn a_saved_index_loads_as_it_was_and_only_with_its_stamp() {
        let org = key("91360100705500005G");
        let person = key("11010519491231002X");
        let listed_person = key("36102519400601500X");
        let ids: Vec<Box<str>> = vec!["JXFY-2022-1".into(), "JXFY-2023-法院-2".into()];
        let one: Vec<Box<str>> = vec!["E1".into()];
        let roles = [(org, Role::LegalRep), (org, Role::DirectResponsible)];
        let index = StatusIndex::default().with_changes([
            (org, &ids[..], &[][..]),
            (person, &[][..], &roles[..]),
            (listed_person, &one[..], &roles[..1]),
        ]);
        assert_eq!(index.len(), 3);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("status.idx");
        index.save(&path, 9).unwrap();
        let (loaded, stamp) = StatusIndex::load(&path, 9).expect("same stamp");
        assert_eq!(stamp, 9);
        assert_eq!(loaded.len(), 3);
        for k in [org, person, listed_person] {
            assert_eq!(loaded.get(k), index.get(k));
            assert_eq!(loaded.entry_ids(k), index.entry_ids(k));
            assert_eq!(loaded.org_roles(k), index.org_roles(k));
        }
        assert_eq!(StatusIndex::load(&path, 10).map(|(_, at)| at), Some(9));
        assert!(StatusIndex::load(&path, 8).is_none());
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 2]).unwrap();
        assert!(StatusIndex::load(&path, 9).is_none());
    }
}
