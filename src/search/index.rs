//! The name index of a store: a segment memory-mapped from disk and a
//! delta of the subjects written since, rebuilt when the delta would be
//! large.

use super::limits::MAX_DELTA;
use super::{Found, Hit, NAMES_DIR, SearchError, SearchQuery};
use std::path::Path;
use std::sync::Arc;

use super::segment::{Segment, SegmentBuilder};
use crate::id::SubjectKey;
use crate::store::bulk::io_error;
use crate::store::{Store, StoreError};

/// The name index of a store: a segment and a delta.
pub struct NameIndex {
    /// How long building the segment took, when this open built it.
    pub(super) built_in: Option<std::time::Duration>,
    pub(super) segment: Arc<Segment>,
    pub(super) delta: Arc<Segment>,
    /// Subjects in the delta: their names in the segment are stale.
    pub(super) shadowed: Arc<std::collections::HashSet<SubjectKey>>,
    /// The change sequence read up to (exclusive).
    pub(super) seen: u64,
}

impl NameIndex {
    /// Opens the index beside `store`: maps the segment and reads the changes
    /// since it into a delta, or (re)builds the segment when it is missing,
    /// unreadable or far behind.
    pub fn open(store: &Store) -> Result<NameIndex, StoreError> {
        let dir = store.path().join(NAMES_DIR);
        // A segment that cannot be read is rebuilt, not a reason to refuse
        // to open the store.
        let segment = match Segment::open(&dir) {
            Ok(Some(s)) if s.covers() <= store.next_change_seq() => Some(s),
            Ok(_) => None,
            Err(e) => {
                eprintln!(
                    "creditgate: rebuilding the name index: {}: {e}",
                    dir.display()
                );
                None
            }
        };
        if let Some(segment) = segment {
            let since = segment.covers();
            if let Some(index) =
                Self::with_delta(store, Arc::new(segment), &Default::default(), since)?
            {
                return Ok(index);
            }
        }
        eprintln!(
            "creditgate: building the name index in {} (later opens map it)",
            dir.display()
        );
        Self::build(store)
    }

    /// The index over `segment` with a delta of the subjects in `shadowed`
    /// and those changed from sequence `since` on; `None` when that makes
    /// too many for a delta.
    fn with_delta(
        store: &Store,
        segment: Arc<Segment>,
        shadowed: &std::collections::HashSet<SubjectKey>,
        since: u64,
    ) -> Result<Option<NameIndex>, StoreError> {
        let seen = store.next_change_seq();
        let Some(changed) = changed_subjects(store, since)? else {
            return Ok(None);
        };
        let mut keys = shadowed.clone();
        keys.extend(changed);
        if keys.len() > MAX_DELTA {
            return Ok(None);
        }
        let mut builder = SegmentBuilder::memory();
        let delta_error = |e| io_error(Path::new("(name index delta)"), e);
        let mut ordered: Vec<SubjectKey> = keys.iter().copied().collect();
        ordered.sort_unstable();
        for key in ordered {
            if let Some(subject) = store.subject(key)? {
                builder.add(&subject).map_err(delta_error)?;
            }
        }
        let delta = builder.finish(seen).map_err(delta_error)?;
        Ok(Some(NameIndex {
            built_in: None,
            segment,
            delta: Arc::new(delta),
            shadowed: Arc::new(keys),
            seen,
        }))
    }

    /// The index with the writes logged since it was made: `None` when
    /// nothing was logged; the same segment with a new delta when subjects
    /// changed; a rebuilt segment when the delta would be too large. The
    /// index in use keeps answering meanwhile.
    pub fn refreshed(&self, store: &Store) -> Result<Option<NameIndex>, StoreError> {
        let next = store.next_change_seq();
        if next <= self.seen {
            return Ok(None);
        }
        let Some(changed) = changed_subjects(store, self.seen)? else {
            return Self::build(store).map(Some);
        };
        if changed.is_empty() {
            return Ok(Some(NameIndex {
                built_in: None,
                segment: self.segment.clone(),
                delta: self.delta.clone(),
                shadowed: self.shadowed.clone(),
                seen: next,
            }));
        }
        match Self::with_delta(store, self.segment.clone(), &self.shadowed, self.seen)? {
            Some(index) => Ok(Some(index)),
            None => Self::build(store).map(Some),
        }
    }

    /// Builds the segment from every subject in `store` and writes it.
    pub fn build(store: &Store) -> Result<NameIndex, StoreError> {
        let started = std::time::Instant::now();
        let covers = store.next_change_seq();
        let dir = store.path().join(NAMES_DIR);
        let io = |e| io_error(&dir, e);
        let mut builder = SegmentBuilder::to_dir(&dir).map_err(io)?;
        let mut failed = None;
        store.for_each_subject(|s| {
            if failed.is_none() {
                failed = builder.add(&s).err();
            }
        })?;
        if let Some(e) = failed {
            return Err(io(e));
        }
        let segment = builder.finish(covers).map_err(io)?;
        Ok(NameIndex {
            built_in: Some(started.elapsed()),
            segment: Arc::new(segment),
            delta: Arc::new(SegmentBuilder::memory().finish(covers).map_err(io)?),
            shadowed: Default::default(),
            seen: covers,
        })
    }

    /// How long building the segment took, if this open built it.
    pub fn built_in(&self) -> Option<std::time::Duration> {
        self.built_in
    }

    /// Names indexed (segment and delta).
    pub fn name_count(&self) -> usize {
        self.segment.name_count() + self.delta.name_count()
    }

    /// Subjects in the delta.
    pub fn delta_subjects(&self) -> usize {
        self.shadowed.len()
    }

    /// Bytes of the segment's files and the delta.
    pub fn bytes(&self) -> usize {
        self.segment.bytes() + self.delta.bytes()
    }

    /// Ranked subjects whose names are like `q.text`.
    pub fn search(&self, q: &SearchQuery<'_>) -> Result<Vec<Hit>, SearchError> {
        Ok(self.search_in(q, 0)?.hits)
    }

    /// [`NameIndex::search`], with the plausible subjects apart (up to
    /// [`super::MAX_LIMIT`]).
    pub fn search_found(&self, q: &SearchQuery<'_>) -> Result<Found, SearchError> {
        self.search_in(q, super::MAX_LIMIT)
    }
}

/// The subjects changed since `since`, or `None` when there are too many
/// for a delta.
pub(super) fn changed_subjects(
    store: &Store,
    since: u64,
) -> Result<Option<Vec<SubjectKey>>, StoreError> {
    let mut keys = std::collections::BTreeSet::new();
    let mut next = since;
    loop {
        let batch = store.changes(next, 10_000)?;
        let Some(last) = batch.last() else { break };
        next = last.seq + 1;
        for c in &batch {
            if c.kind.is_subject()
                && let Some(k) = SubjectKey::from_bytes(&c.subject)
            {
                keys.insert(k);
            }
        }
        if keys.len() > MAX_DELTA {
            return Ok(None);
        }
    }
    Ok(Some(keys.into_iter().collect()))
}
