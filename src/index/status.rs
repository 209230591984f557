//! The hot-path status index: which subjects are *flagged*.
//!
//! A subject is flagged when it has an entry of its own, or holds a role in
//! an organization that has one. Everyone else (99%+ of the ids airlines ask
//! about) is decided as clean from this index alone: no entry can apply to
//! them. Only flagged subjects go to the store for their entries.
//!
//! The index holds flagged subjects only: a listed subject's entry ids and a
//! person's roles in listed organizations, from which the flags follow. Its
//! memory grows with the lists, not with the register of 10^8 subjects. It is built when the store opens, from the entry memberships and
//! the records of the listed organizations, so it reflects every import that
//! came before. (Keeping a live server's index current as writes arrive comes
//! with the HTTP and lifecycle work.)

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::path::Path;

use super::fmix64;
use super::saved::{SavedReader, SavedWriter};
use crate::id::{SubjectKey, SubjectKind};
use crate::model::Role;
use crate::store::{Store, StoreError};

/// First bytes of a saved index.
const MAGIC: &[u8; 8] = b"CGSTATS1";

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

/// Hashes a [`SubjectKey`] (one `u128`) with [`fmix64`] instead of SipHash: the probe is on every check. Keys come from the store,
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
#[derive(Default)]
pub struct StatusIndex {
    /// A listed subject's entry ids, ascending.
    entry_ids: KeyMap<Box<[Box<str>]>>,
    /// A person's roles in listed organizations.
    org_roles: KeyMap<Box<[(SubjectKey, Role)]>>,
    /// Number of flagged subjects, counted once at build.
    flagged: usize,
}

impl StatusIndex {
    /// Builds the index from the store: one scan of the entry memberships,
    /// then the records of the listed organizations, whose persons are
    /// reached via them. (Reading those few records is far cheaper than
    /// scanning every person link in the register.)
    pub fn build(store: &Store) -> Result<StatusIndex, StoreError> {
        let mut index = StatusIndex::default();
        let mut listed_orgs = Vec::new();
        let mut current: Option<(SubjectKey, Vec<Box<str>>)> = None;
        let mut finish = |index: &mut StatusIndex, (subject, ids): (SubjectKey, Vec<Box<str>>)| {
            index.entry_ids.insert(subject, ids.into_boxed_slice());
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
                        finish(&mut index, done);
                    }
                }
            }
        })?;
        if let Some(done) = current.take() {
            finish(&mut index, done);
        }
        let mut roles: KeyMap<Vec<(SubjectKey, Role)>> = KeyMap::default();
        store.for_each_org_persons(&listed_orgs, |org, persons| {
            for link in persons {
                roles.entry(link.person).or_default().push((org, link.role));
            }
        })?;
        for (person, list) in roles {
            index.org_roles.insert(person, list.into_boxed_slice());
        }
        index.flagged = index.flagged_keys().count();
        index.entry_ids.shrink_to_fit();
        index.org_roles.shrink_to_fit();
        Ok(index)
    }

    /// A copy with the given subjects' entry ids and roles replaced (an
    /// empty list removes the subject from that map): live writes folded
    /// into a new base.
    pub fn with_changes<'a>(
        &self,
        changes: impl IntoIterator<Item = (SubjectKey, &'a [Box<str>], &'a [(SubjectKey, Role)])>,
    ) -> StatusIndex {
        let mut entry_ids = self.entry_ids.clone();
        let mut org_roles = self.org_roles.clone();
        for (key, ids, roles) in changes {
            if ids.is_empty() {
                entry_ids.remove(&key);
            } else {
                entry_ids.insert(key, ids.into());
            }
            if roles.is_empty() {
                org_roles.remove(&key);
            } else {
                org_roles.insert(key, roles.into());
            }
        }
        let mut index = StatusIndex {
            entry_ids,
            org_roles,
            flagged: 0,
        };
        index.flagged = index.flagged_keys().count();
        index
    }

    /// The subject's flags; `None` means clean. Never touches disk, never
    /// allocates.
    #[inline]
    pub fn get(&self, key: SubjectKey) -> Option<Flags> {
        let own = if self.entry_ids.contains_key(&key) {
            Flags::OWN
        } else {
            0
        };
        let via = if self.org_roles.contains_key(&key) {
            Flags::VIA
        } else {
            0
        };
        (own | via != 0).then_some(Flags(own | via))
    }

    /// Every flagged subject, once.
    pub fn flagged_keys(&self) -> impl Iterator<Item = SubjectKey> + '_ {
        let via_only = self
            .org_roles
            .keys()
            .filter(|k| !self.entry_ids.contains_key(k));
        self.entry_ids.keys().chain(via_only).copied()
    }

    /// Every listed subject with its entry ids.
    pub fn all_entry_ids(&self) -> impl Iterator<Item = (SubjectKey, &[Box<str>])> + '_ {
        self.entry_ids.iter().map(|(k, ids)| (*k, &**ids))
    }

    /// Every person with roles in listed organizations, with those roles.
    pub fn all_org_roles(&self) -> impl Iterator<Item = (SubjectKey, &[(SubjectKey, Role)])> + '_ {
        self.org_roles.iter().map(|(k, roles)| (*k, &**roles))
    }

    /// The ids of the subject's own entries, ascending (empty if none).
    pub fn entry_ids(&self, key: SubjectKey) -> &[Box<str>] {
        self.entry_ids.get(&key).map_or(&[], |ids| ids)
    }

    /// The person's roles in organizations that have entries (empty if none).
    pub fn org_roles(&self, key: SubjectKey) -> &[(SubjectKey, Role)] {
        self.org_roles.get(&key).map_or(&[], |roles| roles)
    }

    /// Number of flagged subjects.
    pub fn len(&self) -> usize {
        self.flagged
    }

    /// Whether no subject is flagged.
    pub fn is_empty(&self) -> bool {
        self.entry_ids.is_empty() && self.org_roles.is_empty()
    }

    /// Saves the index to `path`, stamped with `stamp` (the store's change
    /// sequence; [`super::saved`]).
    pub fn save(&self, path: &Path, stamp: u64) -> std::io::Result<()> {
        let mut out = SavedWriter::create(path, MAGIC, stamp)?;
        out.u64(self.entry_ids.len() as u64)?;
        for (key, ids) in &self.entry_ids {
            out.put(&key.to_bytes())?;
            out.put(&(ids.len() as u32).to_le_bytes())?;
            for id in ids.iter() {
                let len = u16::try_from(id.len()).map_err(|_| {
                    std::io::Error::new(std::io::ErrorKind::InvalidData, "an entry id over 64 KiB")
                })?;
                out.put(&len.to_le_bytes())?;
                out.put(id.as_bytes())?;
            }
        }
        out.u64(self.org_roles.len() as u64)?;
        for (key, roles) in &self.org_roles {
            out.put(&key.to_bytes())?;
            out.put(&(roles.len() as u32).to_le_bytes())?;
            for (org, role) in roles.iter() {
                out.put(&org.to_bytes())?;
                out.put(&[*role as u8])?;
            }
        }
        out.finish()
    }

    /// Loads the saved index and its stamp; `None` if the file is missing,
    /// stamped after `newest`, or damaged (it is then rebuilt).
    pub fn load(path: &Path, newest: u64) -> Option<(StatusIndex, u64)> {
        let (mut input, stamp) = SavedReader::open(path, MAGIC, newest)?;
        let mut key = [0u8; 12];
        let mut count = [0u8; 4];
        let mut key_at = |input: &mut SavedReader| -> Option<SubjectKey> {
            input.take(&mut key)?;
            SubjectKey::from_bytes(&key)
        };
        let mut count_at = |input: &mut SavedReader| -> Option<usize> {
            input.take(&mut count)?;
            Some(u32::from_le_bytes(count) as usize)
        };
        let listed = input.u64()? as usize;
        let mut entry_ids = KeyMap::default();
        entry_ids.try_reserve(listed).ok()?;
        let mut text = Vec::new();
        for _ in 0..listed {
            let subject = key_at(&mut input)?;
            let n = count_at(&mut input)?;
            let mut ids = Vec::with_capacity(n.min(1 << 16));
            for _ in 0..n {
                let mut len = [0u8; 2];
                input.take(&mut len)?;
                text.resize(u16::from_le_bytes(len) as usize, 0);
                input.take(&mut text)?;
                ids.push(Box::<str>::from(std::str::from_utf8(&text).ok()?));
            }
            entry_ids.insert(subject, ids.into_boxed_slice());
        }
        let persons = input.u64()? as usize;
        let mut org_roles = KeyMap::default();
        org_roles.try_reserve(persons).ok()?;
        for _ in 0..persons {
            let person = key_at(&mut input)?;
            let n = count_at(&mut input)?;
            let mut roles = Vec::with_capacity(n.min(1 << 16));
            for _ in 0..n {
                let org = key_at(&mut input)?;
                let mut role = [0u8; 1];
                input.take(&mut role)?;
                roles.push((org, *Role::ALL.get(role[0] as usize)?));
            }
            org_roles.insert(person, roles.into_boxed_slice());
        }
        input.finish()?;
        let mut index = StatusIndex {
            entry_ids,
            org_roles,
            flagged: 0,
        };
        index.flagged = index.flagged_keys().count();
        Some((index, stamp))
    }

    /// Approximate heap bytes held: table slots and control bytes, and the
    /// entry-id and role lists.
    pub fn heap_bytes(&self) -> usize {
        fn table<V>(m: &KeyMap<V>) -> usize {
            m.capacity() * (std::mem::size_of::<(SubjectKey, V)>() + 1)
        }
        let ids: usize = self
            .entry_ids
            .values()
            .flat_map(|ids| ids.iter())
            .map(|id| std::mem::size_of::<Box<str>>() + id.len())
            .sum();
        let roles: usize = self
            .org_roles
            .values()
            .map(|r| std::mem::size_of_val::<[(SubjectKey, Role)]>(r))
            .sum();
        table(&self.entry_ids) + table(&self.org_roles) + ids + roles
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> SubjectKey {
        SubjectKey::parse(s).unwrap()
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
