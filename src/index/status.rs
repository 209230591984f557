//! The hot-path status index: which subjects are *flagged*.
//!
//! A subject is flagged when it has an entry of its own, or holds a role in
//! an organization that has one. Everyone else (99%+ of the ids airlines ask
//! about) is decided as clean from this index alone: no entry can apply to
//! them. Only flagged subjects go to the store for their entries.
//!
//! The index holds flagged subjects only, one `(SubjectKey, Flags)` slot each,
//! so its memory grows with the lists, not with the register of 10^8
//! subjects. It is built by scanning the store's membership families when the
//! store opens, and extended by [`StatusIndex::note_entry`] and
//! [`StatusIndex::note_link`] as writes arrive.

use std::collections::{HashMap, HashSet};

use crate::id::SubjectKey;
use crate::store::{Store, StoreError};

/// Why a subject is flagged.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Flags(u8);

impl Flags {
    const OWN: u8 = 1;
    const VIA: u8 = 2;

    /// The subject has entries of its own.
    pub fn own(self) -> bool {
        self.0 & Self::OWN != 0
    }

    /// The subject holds a role in an organization with entries.
    pub fn via(self) -> bool {
        self.0 & Self::VIA != 0
    }
}

/// Flagged subjects.
#[derive(Default)]
pub struct StatusIndex {
    flagged: HashMap<SubjectKey, Flags>,
}

impl StatusIndex {
    /// Builds the index from the store: one scan of the entry memberships and
    /// one of the person links.
    pub fn build(store: &Store) -> Result<StatusIndex, StoreError> {
        let mut index = StatusIndex::default();
        let mut listed = HashSet::new();
        store.for_each_listed(|subject| {
            listed.insert(subject);
            index.mark(subject, Flags::OWN);
        })?;
        store.for_each_link(|person, org, _role| {
            if listed.contains(&org) {
                index.mark(person, Flags::VIA);
            }
        })?;
        index.flagged.shrink_to_fit();
        Ok(index)
    }

    fn mark(&mut self, key: SubjectKey, bit: u8) {
        self.flagged.entry(key).or_default().0 |= bit;
    }

    /// The subject's flags; `None` means clean. Never touches disk, never
    /// allocates.
    #[inline]
    pub fn get(&self, key: SubjectKey) -> Option<Flags> {
        self.flagged.get(&key).copied()
    }

    /// Records that `subject` now has an entry, and flags the given persons
    /// (those linked to it) as reached via it.
    pub fn note_entry(
        &mut self,
        subject: SubjectKey,
        linked_persons: impl IntoIterator<Item = SubjectKey>,
    ) {
        self.mark(subject, Flags::OWN);
        for p in linked_persons {
            self.mark(p, Flags::VIA);
        }
    }

    /// Records a new person link: the person is flagged if the organization is.
    pub fn note_link(&mut self, person: SubjectKey, org: SubjectKey) {
        if self.get(org).is_some_and(Flags::own) {
            self.mark(person, Flags::VIA);
        }
    }

    /// Number of flagged subjects.
    pub fn len(&self) -> usize {
        self.flagged.len()
    }

    /// Whether no subject is flagged.
    pub fn is_empty(&self) -> bool {
        self.flagged.is_empty()
    }

    /// Approximate heap bytes held (table slots and control bytes).
    pub fn heap_bytes(&self) -> usize {
        self.flagged.capacity() * (std::mem::size_of::<(SubjectKey, Flags)>() + 1)
    }
}
