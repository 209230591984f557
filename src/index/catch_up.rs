//! Catching saved indexes up with the change log, instead of rebuilding
//! them.
//!
//! The status index and the known set are saved beside the store stamped
//! with the change sequence they cover. A restart after any write used to
//! find the stamp behind and rebuild both from the store: about 4 minutes
//! at 10^8 subjects, so a server killed at 3 a.m. stayed down that long.
//! Now the saved indexes are loaded as they are and the subjects whose
//! state the changes since the stamp may have changed are read again from
//! the store, as the overlay of the first snapshot (the same overlay live
//! writes fill, folded into the base later). Only when the log since the
//! stamp is very long (a bulk import without the CLI) is a rebuild cheaper.
//!
//! Which subjects: every subject a change names; the subjects that held,
//! at the stamp, an entry a change names (a replacement or a correction may
//! have moved it away, and the change names only where it went); and the
//! persons of every organization among them, linked now or holding a role
//! at the stamp (the organization's listing or links may have changed
//! their roles). Each is read as [`super::status::StatusIndex::build`]
//! would see it, so the snapshot equals a rebuilt index: the integration
//! test `tests/live_index.rs` reopens the store between writes and
//! compares.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use super::live::{Base, LiveState};
use super::prints::NamePrints;
use crate::id::{SubjectKey, SubjectKind};
use crate::store::{Store, StoreError};

/// Changes since the stamp beyond which the indexes are rebuilt instead.
pub const MAX_CHANGES: usize = 2_000_000;

/// Subjects with the states they are to have in the first overlay.
pub type States = Vec<(SubjectKey, Arc<LiveState>)>;

/// Changes read from the log at once.
const LOG_BATCH: usize = 10_000;

/// The states of every subject whose state the changes from `since` on
/// may have changed, read from the store; `None` when there are more than
/// [`MAX_CHANGES`] of them.
pub fn states_since(store: &Store, base: &Base, since: u64) -> Result<Option<States>, StoreError> {
    let mut subjects = BTreeSet::new();
    let mut entry_ids = HashSet::new();
    let mut next = since;
    let mut read = 0;
    loop {
        let batch = store.changes(next, LOG_BATCH)?;
        let Some(last) = batch.last() else { break };
        next = last.seq + 1;
        read += batch.len();
        if read > MAX_CHANGES {
            return Ok(None);
        }
        // A disclosure changes no decision.
        for change in batch.into_iter().filter(|c| !c.kind.is_disclosure()) {
            if let Some(key) = change.subject_key() {
                subjects.insert(key);
            }
            if let Some(id) = change.entry_id {
                entry_ids.insert(id.into_boxed_str());
            }
        }
    }
    if subjects.is_empty() {
        return Ok(Some(Vec::new()));
    }
    if !entry_ids.is_empty() {
        for (key, ids) in base.status.all_entry_ids() {
            if ids.iter().any(|id| entry_ids.contains(id)) {
                subjects.insert(key);
            }
        }
    }
    let orgs: HashSet<SubjectKey> = subjects
        .iter()
        .filter(|k| k.kind() == SubjectKind::Org)
        .copied()
        .collect();
    if !orgs.is_empty() {
        for (person, roles) in base.status.all_org_roles() {
            if roles.iter().any(|(org, _)| orgs.contains(org)) {
                subjects.insert(person);
            }
        }
        for org in &orgs {
            if let Some(record) = store.subject(*org)? {
                subjects.extend(record.persons.iter().map(|link| link.person));
            }
        }
    }
    let mut listed: HashMap<SubjectKey, bool> = HashMap::new();
    let mut states = Vec::with_capacity(subjects.len());
    for key in subjects {
        let record = store.subject(key)?;
        let entry_ids: Box<[Box<str>]> = store
            .entry_ids_of(key)?
            .into_iter()
            .map(String::into_boxed_str)
            .collect();
        let mut org_roles = Vec::new();
        for (org, role) in store.orgs_of(key)? {
            let is_listed = match listed.get(&org) {
                Some(&l) => l,
                None => {
                    let l = !store.entry_ids_of(org)?.is_empty();
                    listed.insert(org, l);
                    l
                }
            };
            if is_listed {
                org_roles.push((org, role));
            }
        }
        let names = record
            .as_ref()
            .map(|s| NamePrints::of(&s.name, s.aliases.iter().map(String::as_str)))
            .unwrap_or_default();
        let state = LiveState {
            known: record.is_some(),
            entry_ids,
            org_roles: org_roles.into_boxed_slice(),
            names,
        };
        states.push((key, Arc::new(state)));
    }
    Ok(Some(states))
}
