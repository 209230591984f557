//! The in-memory indexes the engine opens with: loaded from the files saved
//! beside the store when they fit it, built from the store otherwise, and
//! saved again after a fold.

use std::path::Path;

use crate::index::known::{KnownSet, KnownSetBuilder};
use crate::index::live::Base;
use crate::index::prints::NamePrints;
use crate::index::saved::stamp_of;
use crate::index::status::StatusIndex;
use crate::store::{Store, StoreError};

/// The known set saved beside the store (with its stamp: the change
/// sequence it covers, at most the store's; [`crate::index`]'s saved
/// files), or, when there is none that fits, built from the store.
pub fn known_set(store: &Store) -> Result<(KnownSet, Option<u64>), StoreError> {
    let path = store.path().join(KNOWN_SET_FILE);
    if let Some((set, stamp)) = KnownSet::load(&path, store.next_change_seq()) {
        return Ok((set, Some(stamp)));
    }
    Ok((build_known_set(store)?, None))
}

/// The known set built from the subject records and saved at the store's
/// change sequence (best effort: a read-only directory only costs the next
/// open a rebuild).
pub fn build_known_set(store: &Store) -> Result<KnownSet, StoreError> {
    let path = store.path().join(KNOWN_SET_FILE);
    let stamp = store.next_change_seq();
    // Sized from RocksDB's estimate, a little over: growing a list of 10^8
    // rows copies it while both copies are held.
    let estimate = store.estimated_subjects();
    let mut builder = KnownSetBuilder::with_capacity(estimate + estimate / 50);
    store.for_each_subject(|s| {
        builder.add(
            s.id,
            &NamePrints::of(&s.name, s.aliases.iter().map(String::as_str)),
        );
    })?;
    let set = builder.finish();
    if let Err(e) = set.save(&path, stamp) {
        tracing::error!("cannot save {}: {e}", path.display());
    }
    Ok(set)
}

/// The known set's file in the store directory.
pub const KNOWN_SET_FILE: &str = "known-set.idx";

/// The status index's file in the store directory.
pub const STATUS_FILE: &str = "status.idx";

/// The status index saved beside the store, with its stamp, or built from
/// the store and saved, as [`known_set`].
pub fn status_index(store: &Store) -> Result<(StatusIndex, Option<u64>), StoreError> {
    let path = store.path().join(STATUS_FILE);
    if let Some((index, stamp)) = StatusIndex::load(&path, store.next_change_seq()) {
        return Ok((index, Some(stamp)));
    }
    Ok((build_status_index(store)?, None))
}

/// The status index built from the store and saved, as
/// [`build_known_set`].
pub fn build_status_index(store: &Store) -> Result<StatusIndex, StoreError> {
    let path = store.path().join(STATUS_FILE);
    let stamp = store.next_change_seq();
    let index = StatusIndex::build(store)?;
    if let Err(e) = index.save(&path, stamp) {
        tracing::error!("cannot save {}: {e}", path.display());
    }
    Ok(index)
}

/// Saves a folded base beside the store, stamped `covers` (best effort,
/// as at open).
pub(super) fn save_base(base: &Base, dir: &Path, covers: u64) {
    let saved = [
        (
            STATUS_FILE,
            base.status.save(&dir.join(STATUS_FILE), covers),
        ),
        (
            KNOWN_SET_FILE,
            base.known.save(&dir.join(KNOWN_SET_FILE), covers),
        ),
    ];
    for (file, result) in saved {
        if let Err(e) = result {
            tracing::error!("cannot save {}: {e}", dir.join(file).display());
        }
    }
}

/// The two indexes as the base of a snapshot: the known set marks the
/// flagged subjects, so that one probe also says whether to ask the status
/// index.
pub(super) fn base_of(status: StatusIndex, mut known: KnownSet) -> Base {
    for key in status.flagged_keys() {
        known.mark_flagged(key);
    }
    Base { status, known }
}

/// Runs `a` on a thread of its own and `b` on this one.
pub(super) fn side_by_side<A: Send, B>(
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B,
) -> (A, B) {
    std::thread::scope(|scope| {
        let a = scope.spawn(a);
        let b = b();
        let a = a
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (a, b)
    })
}

/// Whether the saved indexes of `store` are missing or so far behind its
/// change log that the next open would rebuild them rather than catch up
/// (`index::catch_up::MAX_CHANGES`). The import asks, to rebuild
/// them itself.
pub fn saved_indexes_stale(store: &Store) -> bool {
    let newest = store.next_change_seq();
    let behind = |stamp: Option<u64>| {
        stamp.is_none_or(|at| newest - at > crate::index::catch_up::MAX_CHANGES as u64)
    };
    behind(stamp_of(&store.path().join(STATUS_FILE)))
        || behind(stamp_of(&store.path().join(KNOWN_SET_FILE)))
}

/// Writes a snapshot of `store` to `out` (a new directory): a RocksDB
/// checkpoint as of one moment, with copies of the saved indexes and the
/// name index beside it, which a node opened on it loads and catches up
/// from the change log. What a read replica is bootstrapped from; the
/// store records its stream position, from which the replica follows.
/// Returns where the snapshot stands.
pub fn write_snapshot(
    store: &Store,
    out: &std::path::Path,
) -> Result<crate::store::Checkpointed, StoreError> {
    let io = |path: &std::path::Path, source: std::io::Error| StoreError::Io {
        path: path.display().to_string(),
        source,
    };
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
    }
    let at = store.checkpoint(out)?;
    for name in [KNOWN_SET_FILE, STATUS_FILE] {
        let from = store.path().join(name);
        if from.exists() {
            std::fs::copy(&from, out.join(name)).map_err(|e| io(&from, e))?;
        }
    }
    let names = store.path().join(crate::search::NAMES_DIR);
    if names.is_dir() {
        copy_dir(&names, &out.join(crate::search::NAMES_DIR))?;
    }
    Ok(at)
}

/// Copies the directory `from` to `to` (created), with what it holds.
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) -> Result<(), StoreError> {
    let io = |path: &std::path::Path, source: std::io::Error| StoreError::Io {
        path: path.display().to_string(),
        source,
    };
    std::fs::create_dir_all(to).map_err(|e| io(to, e))?;
    for entry in std::fs::read_dir(from).map_err(|e| io(from, e))? {
        let entry = entry.map_err(|e| io(from, e))?;
        let target = to.join(entry.file_name());
        if entry.file_type().map_err(|e| io(from, e))?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target).map_err(|e| io(&entry.path(), e))?;
        }
    }
    Ok(())
}
