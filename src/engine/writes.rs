//! Writes through the engine: synced to the store, then published to
//! readers as a new snapshot before the call returns.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::Engine;
use super::indexes::save_base;
use crate::date::Date;
use crate::index::live::{FOLD_AT, Snapshot};
use crate::lifecycle::Transition;
use crate::model::{Entry, Subject};
use crate::store::{
    Applied, Change, Durability, Replace, Replicated, StoreError, WriteError, Written,
};

impl Engine {
    /// Publishes subjects (new ones inserted, different ones replaced,
    /// equal ones unchanged). Returns once the write is synced and visible
    /// to checks.
    pub fn put_subjects(&self, subjects: &[Subject]) -> Result<(Applied, Vec<Change>), WriteError> {
        let _order = self.in_order();
        self.settle_in_order()?;
        let (applied, written) = self.store.write_subjects(subjects, Durability::Synced)?;
        self.publish(&written);
        Ok((applied, written.changes))
    }

    /// Publishes or replaces entries as a department does: a stored entry
    /// keeps its status and lifecycle, and one under objection or revoked
    /// is refused ([`crate::lifecycle::check_replace`]). Synced and visible
    /// when this returns.
    pub fn put_entries(&self, entries: &[Entry]) -> Result<(Applied, Vec<Change>), WriteError> {
        let _order = self.in_order();
        self.settle_in_order()?;
        let (applied, written) = self.store.write_entries(
            entries,
            &self.catalog,
            Replace::KeepState(|status, id| {
                crate::lifecycle::check_replace(status, id).map_err(|c| c.0)
            }),
            Durability::Synced,
        )?;
        self.publish(&written);
        Ok((applied, written.changes))
    }

    /// Applies a lifecycle transition to an entry. Synced and visible when
    /// this returns.
    pub fn transition(
        &self,
        entry_id: &str,
        transition: &Transition,
    ) -> Result<Change, WriteError> {
        let _order = self.in_order();
        self.settle_in_order()?;
        let written = self.store.update_entry(entry_id, &self.catalog, |entry| {
            crate::lifecycle::apply(entry, transition).map_err(|c| c.0)
        })?;
        self.publish(&written);
        Ok(written
            .changes
            .into_iter()
            .next()
            .expect("a transition logs one change"))
    }

    /// Logs the entries that lapsed since the last sweep, up to `today`
    /// ([`crate::store::Store::sweep_expired`]).
    pub fn sweep_expired(&self, today: Date) -> Result<Vec<Change>, StoreError> {
        let _order = self.in_order();
        self.settle_in_order()?;
        let written = self.store.sweep_expired(today, &self.catalog)?;
        self.publish(&written);
        Ok(written.changes)
    }

    /// Brings the name index up to the change log; whether it changed.
    /// Searches keep using the previous index until the new one is ready.
    pub fn refresh_names(&self) -> Result<bool, StoreError> {
        let current = self.names.load_full();
        match current.refreshed(&self.store)? {
            Some(next) => {
                self.names.store(Arc::new(next));
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// The publish lock, held from a write to its publishing.
    pub(super) fn in_order(&self) -> std::sync::MutexGuard<'_, ()> {
        self.publish.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes a committed write visible: publishes the next snapshot with
    /// the states the write left ([`crate::index::follow`]), if it changed
    /// any, and wakes the change feed's long polls. The caller holds
    /// [`Engine::in_order`] from before the write. Reads nothing, so it
    /// cannot fail once the write is committed.
    pub(super) fn publish(&self, written: &Written) {
        let Some(last) = written.changes.last() else {
            return;
        };
        let covers = last.seq + 1;
        let current = self.live.load_full();
        let states = crate::index::follow::next_states(&current, written);
        // Not held past here: the reclaimer frees what a write replaces
        // once nobody holds it.
        drop(current);
        if !states.is_empty() {
            let previous = self.live.rcu(|now| now.with(states.iter().cloned()));
            // Freed once no check holds it, by the reclaimer: not by this
            // writer, and not by whichever check drops it last.
            self.reclaimer.retire(previous);
        }
        self.next_seq.send_if_modified(|seq| {
            let newer = covers > *seq;
            if newer {
                *seq = covers;
            }
            newer
        });
        if self.live.load().overlay_len() >= FOLD_AT && !self.folding.swap(true, Ordering::AcqRel) {
            let live = self.live.clone();
            let folding = self.folding.clone();
            let reclaimer = self.reclaimer.clone();
            let published = self.next_seq.subscribe();
            let dir = self.store.path().to_path_buf();
            let spawned = std::thread::Builder::new()
                .name("creditgate-fold".into())
                .spawn(move || {
                    crate::priority::lower_priority();
                    // Every write before this sequence is in the snapshot
                    // loaded next (a write is published before its sequence
                    // is sent): the stamp of the folded base.
                    let covers = *published.borrow();
                    let from = live.load_full();
                    let base = Arc::new(from.fold());
                    let replaced = live.rcu(|now| Snapshot::rebased(now, &from, base.clone()));
                    // The old base (millions of allocations at 10^7 subjects)
                    // and the settled level it replaces go to the reclaimer:
                    // dropped by a check, they stalled it tens of
                    // milliseconds. `from` was retired by whoever replaced
                    // it (a write, or this rebase).
                    reclaimer.retire(replaced);
                    drop(from);
                    // Saved, so that a restart catches up from here rather
                    // than from the last open.
                    save_base(&base, &dir, covers);
                    folding.store(false, Ordering::Release);
                });
            if spawned.is_err() {
                self.folding.store(false, Ordering::Release);
            }
        }
    }

    /// Settles a write whose place in the replicated log was not known
    /// (`store::Store::settle_pending`) and publishes it once the log holds
    /// it. Writes call it first; the upkeep thread every second. Whether
    /// a write was settled.
    pub fn settle_pending(&self) -> Result<bool, StoreError> {
        let _order = self.in_order();
        self.settle_in_order()
    }

    pub(super) fn settle_in_order(&self) -> Result<bool, StoreError> {
        match self.store.settle_pending()? {
            Some(written) => {
                self.publish(&written);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Applies a batch the replicated log carried (a replica following
    /// the primary, or a primary catching up with the log at start) and
    /// publishes it. Whether it was new here.
    pub fn apply_replicated(&self, batch: Replicated) -> Result<bool, StoreError> {
        let _order = self.in_order();
        match self.store.apply_replicated(batch)? {
            Some(written) => {
                self.publish(&written);
                Ok(true)
            }
            None => Ok(false),
        }
    }
}
