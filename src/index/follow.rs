//! How a committed write becomes the next states of the subjects it
//! changed, worked out from the current snapshot and the write's own
//! account of what it did ([`Indexed`]), not by reading the store again.
//!
//! A subject's state is whether it has a record, the prints of its names,
//! its own entry ids, and its roles in organizations that have entries. A
//! write changes them in only three ways: a new entry (or one a correction
//! moved) gives its subject an id, and may take one from the subject it
//! left; a record makes its subject known, replaces its names' prints
//! (a rename, new aliases) and its person links; and an organization that gains its
//! first entry, or loses its last, adds or withdraws its persons' roles.
//! Status changes (objection, repair, revocation, expiry) change none of
//! this: a check reads an entry's status from the store. Re-reading the
//! touched subjects' entry ids and roles (two prefix scans each, and more
//! for an organization's persons) was a third of a write's CPU. Now the
//! write itself reads, before it commits, the one record this needs (the
//! links of a subject an entry joins or leaves: [`Written::links`]), so
//! publishing reads nothing and cannot fail after the commit.
//!
//! This holds only if the states are worked out in the order the writes
//! were committed: the engine holds its publish lock across the store write
//! and the publish. A randomized integration test (`tests/live_index.rs`)
//! compares the snapshot with the index rebuilt from the store after every
//! write.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::live::{LiveState, Snapshot};
use super::prints::NamePrints;
use crate::id::{SubjectKey, SubjectKind};
use crate::model::{PersonLink, Role};
use crate::store::{Indexed, Written};

/// A subject's state being worked out.
#[derive(PartialEq, Eq)]
struct Draft {
    known: bool,
    entry_ids: Vec<Box<str>>,
    org_roles: Vec<(SubjectKey, Role)>,
    names: NamePrints,
}

/// An organization whose persons' roles may change: whether it had
/// entries before the write, and its links before and after when the write
/// replaced its record.
struct Listing<'w> {
    listed_before: bool,
    links: Option<(&'w [PersonLink], &'w [PersonLink])>,
}

/// The drafts, each started from the current snapshot when first needed,
/// and the organizations whose listing or links the write touched.
struct Drafts<'s, 'w> {
    current: &'s Snapshot,
    drafts: BTreeMap<SubjectKey, Draft>,
    listings: BTreeMap<SubjectKey, Listing<'w>>,
}

impl<'w> Drafts<'_, 'w> {
    fn get(&mut self, key: SubjectKey) -> &mut Draft {
        let current = self.current;
        self.drafts
            .entry(key)
            .or_insert_with(|| Self::now(current, key))
    }

    /// The state the snapshot holds.
    fn now(current: &Snapshot, key: SubjectKey) -> Draft {
        Draft {
            known: current.has_record(key),
            entry_ids: current.entry_ids(key).to_vec(),
            org_roles: current.org_roles(key).to_vec(),
            names: current.name_prints(key),
        }
    }

    fn listed(&mut self, key: SubjectKey) -> bool {
        !self.get(key).entry_ids.is_empty()
    }

    /// `key`'s listing, noting whether it was listed before the write when
    /// it is first touched.
    fn listing(&mut self, key: SubjectKey) -> &mut Listing<'w> {
        let listed_before = self.listed(key);
        self.listings.entry(key).or_insert(Listing {
            listed_before,
            links: None,
        })
    }
}

/// The states `written` leaves, for every subject whose state it changes,
/// from `current` (the snapshot of every earlier write).
pub fn next_states(current: &Snapshot, written: &Written) -> Vec<(SubjectKey, Arc<LiveState>)> {
    let mut drafts = Drafts {
        current,
        drafts: BTreeMap::new(),
        listings: BTreeMap::new(),
    };
    for change in &written.indexed {
        match change {
            Indexed::Entry {
                entry_id,
                subject,
                from,
            } => {
                if let Some(from) = *from {
                    drafts.listing(from);
                    drafts.get(from).entry_ids.retain(|id| **id != **entry_id);
                }
                drafts.listing(*subject);
                let ids = &mut drafts.get(*subject).entry_ids;
                if let Err(at) = ids.binary_search_by(|id| (**id).cmp(entry_id.as_str())) {
                    ids.insert(at, entry_id.as_str().into());
                }
            }
            Indexed::Record {
                subject,
                before,
                after,
                name,
                aliases,
            } => {
                let draft = drafts.get(*subject);
                draft.known = true;
                draft.names = NamePrints::of(name, aliases.iter().map(String::as_str));
                let listing = drafts.listing(*subject);
                // Written twice in one call: the links before the first, after
                // the last.
                match &mut listing.links {
                    Some((_, now)) => *now = after,
                    None => listing.links = Some((before, after)),
                }
            }
        }
    }
    let listings = std::mem::take(&mut drafts.listings);
    for (org, listing) in listings {
        let listed_after = drafts.listed(org);
        if !listing.listed_before && !listed_after {
            // Its links give no one a role, before or after.
            continue;
        }
        let (before, after) = match listing.links {
            Some(links) => links,
            None if listing.listed_before == listed_after => continue,
            None => {
                // Noted by the store for every subject an entry joined or
                // left, which is how a listing changes without a record.
                let links = written.links_of(org);
                debug_assert!(links.is_some(), "the write noted {org}'s links");
                let links = links.unwrap_or_default();
                (links, links)
            }
        };
        // The links that give a person a role: an organization's, while
        // it has entries.
        let counted = |listed: bool, links: &'_ [PersonLink]| -> Vec<PersonLink> {
            links
                .iter()
                .filter(|l| listed && l.person.kind() == SubjectKind::Person)
                .copied()
                .collect()
        };
        let (old, new) = (
            counted(listing.listed_before, before),
            counted(listed_after, after),
        );
        for l in old.iter().filter(|l| !new.contains(l)) {
            drafts
                .get(l.person)
                .org_roles
                .retain(|&held| held != (org, l.role));
        }
        for l in new.iter().filter(|l| !old.contains(l)) {
            let roles = &mut drafts.get(l.person).org_roles;
            if !roles.contains(&(org, l.role)) {
                roles.push((org, l.role));
            }
        }
    }
    drafts
        .drafts
        .into_iter()
        .filter_map(|(key, mut draft)| {
            draft.org_roles.sort_unstable();
            let mut now = Drafts::now(current, key);
            now.org_roles.sort_unstable();
            (draft != now).then(|| {
                (
                    key,
                    Arc::new(LiveState {
                        known: draft.known,
                        entry_ids: draft.entry_ids.into(),
                        org_roles: draft.org_roles.into(),
                        names: draft.names,
                    }),
                )
            })
        })
        .collect()
}
