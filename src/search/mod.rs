//! Finding subjects by name, however the name was typed (SPEC §6
//! `/v1/search`).
//!
//! * [`normalize`]: what a name means apart from how it was typed, and its
//!   parts (region, core, legal form, branch);
//! * [`segment`]: the immutable index (`fst` keys, posting lists, records),
//!   memory-mapped from `<store>/names/`;
//! * [`score`]: how alike a query and a name are, and why.
//!
//! [`NameIndex`] is a segment plus a delta: the subjects written since the
//! segment was built (read from the store's change log at open), indexed in
//! memory the same way. A subject in the delta hides its older names in the
//! segment. When the delta would be large (after a bulk import), the segment
//! is rebuilt instead.
//!
//! A query is normalized and parsed, then candidates come from: its whole
//! normalized text (`N` keys), its core (`C`), the core's pinyin (`P`), and
//! the deletion neighbourhood of the core (`D`), which finds one typo, and
//! two when one finds too little. When the query starts with a word that is
//! also a place (泰和科技), it is also read with that word kept in the core.
//! Every candidate name is parsed and scored against the query; the best name
//! per subject counts.

mod limits;
pub mod names;
pub mod normalize;
pub mod score;
pub mod segment;
pub mod spill;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

use crate::date::Date;
use crate::id::{MaskedId, SubjectKey, SubjectKind};
use crate::store::bulk::io_error;
use crate::store::{Store, StoreError};
use normalize::{NameParts, is_latin, normalize, parse};
use score::{Method, QueryParts, edit_distance};
use segment::{Segment, SegmentBuilder, deletion_keys};

/// The index's directory inside the store directory.
pub const NAMES_DIR: &str = "names";

use limits::{
    ALIAS_EXACT, ALIAS_FACTOR, CAP_CANDIDATES, CAP_PER_CORE, CAP_PREFIX, MAX_DELTA, TIE_BASE,
    TIE_SPAN, TYPO_BASE, TYPO_BOUND_FLOOR, TYPO_SPAN,
};
pub use limits::{DEFAULT_LIMIT, MAX_LIMIT, MAX_QUERY_CHARS};

/// Reads a `kind` parameter: `org` or `person`.
pub fn parse_kind(text: &str) -> Result<SubjectKind, String> {
    match text.trim() {
        "org" => Ok(SubjectKind::Org),
        "person" => Ok(SubjectKind::Person),
        other => Err(format!("expected org or person, found {other:?}")),
    }
}

/// Reads a `limit` parameter: 1 to [`MAX_LIMIT`].
pub fn parse_limit(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        _ => Err(format!(
            "expected a whole number from 1 to {MAX_LIMIT}, found {text:?}"
        )),
    }
}

/// Reads an `id_prefix` parameter: 1 to 18 letters or digits.
pub fn parse_id_prefix(text: &str) -> Result<&str, String> {
    let t = text.trim();
    if (1..=18).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(t)
    } else {
        Err(format!(
            "expected 1 to 18 letters or digits (the start of an identifier), found {text:?}"
        ))
    }
}

/// What to look for.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery<'a> {
    /// The name as typed.
    pub text: &'a str,
    /// Only subjects of this kind.
    pub kind: Option<SubjectKind>,
    /// At most this many results.
    pub limit: usize,
    /// Only subjects whose identifier starts with this (persons: the region
    /// digits of the identity number, say).
    pub id_prefix: Option<&'a str>,
    /// Only persons born on this day.
    pub born: Option<Date>,
    /// Only subjects whose identifier shows these visible characters (a
    /// masked identifier from a published list).
    pub mask: Option<&'a MaskedId>,
    /// Only results scoring at least this (0: all). Candidates that cannot
    /// reach it are not looked for: above [`typo_bound`], no typo lookups.
    pub min_score: f64,
}

/// One result, as SPEC §6 `/v1/search` returns it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    /// The subject's key (`id` parsed).
    #[serde(skip)]
    pub key: SubjectKey,
    /// Canonical identifier.
    pub id: String,
    /// The subject's current name.
    pub name: String,
    /// `org` or `person`.
    pub kind: &'static str,
    /// How alike, in [0, 1], rounded to three places.
    pub score: f64,
    /// The name that matched (the current name or an alias).
    pub matched_name: String,
    /// How it matched.
    pub method: Method,
}

/// Why a search cannot run.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SearchError {
    /// Nothing left after normalization.
    #[error("nothing to search for: the query has no letters or characters")]
    Empty,
    /// Longer than any name.
    #[error("the query has {0} characters; names are searched with at most {MAX_QUERY_CHARS}")]
    TooLong(usize),
}

/// How alike a typed name is to one subject's names.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NameMatch {
    /// As [`Hit::score`]: 1 for the current name as typed or normalized,
    /// 0.995 for a former name so typed, below for variants.
    pub score: f64,
    /// How it matched.
    pub method: Method,
    /// Which of the names matched best (0: the first given, the current one).
    pub index: usize,
}

impl NameMatch {
    /// Whether the typed name *is* one of the names: equal once normalized.
    pub fn same_name(&self) -> bool {
        matches!(
            self.method,
            Method::Exact | Method::Normalized | Method::Alias
        ) && self.score >= 0.995
    }
}

/// Scores `typed` against a subject's names (`names[0]` the current one,
/// the rest former names), as [`NameIndex::search`] would score them; `None`
/// when none is alike. Used where the subject is already known (an
/// identifier given with a name) and the question is whether the name fits.
pub fn compare(typed: &str, names: &[&str]) -> Option<NameMatch> {
    let normalized = normalize(typed);
    if normalized.is_empty() {
        return None;
    }
    let mut best: Option<NameMatch> = None;
    let mut offer = |m: NameMatch| {
        if best.is_none_or(|b| m.score > b.score) {
            best = Some(m);
        }
    };
    let mut readings = None;
    for (index, name) in names.iter().enumerate() {
        let alias = index > 0;
        let text = normalize(name);
        if text == normalized {
            let method = if typed.trim() == name.trim() {
                Method::Exact
            } else {
                Method::Normalized
            };
            let (score, method) = as_named(1.0, method, alias, true);
            offer(NameMatch {
                score,
                method,
                index,
            });
            continue;
        }
        let readings = readings.get_or_insert_with(|| self::readings(&normalized, None));
        let parts = parse(&text);
        for reading in readings.iter() {
            let Some((core, method)) = score::core_score(reading, &parts.core) else {
                continue;
            };
            let score = core * score::factors(reading, &parts);
            let (score, method) = as_named(score, method.at(score), alias, false);
            let score = tie_broken(score, &normalized, &text);
            offer(NameMatch {
                score: (score * 1000.0).round() / 1000.0,
                method,
                index,
            });
        }
    }
    best
}

/// The name index of a store: a segment and a delta.
pub struct NameIndex {
    /// How long building the segment took, when this open built it.
    built_in: Option<std::time::Duration>,
    segment: Arc<Segment>,
    delta: Arc<Segment>,
    /// Subjects in the delta: their names in the segment are stale.
    shadowed: Arc<std::collections::HashSet<SubjectKey>>,
    /// The change sequence read up to (exclusive).
    seen: u64,
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
        self.search_in(q, false)
    }

    /// Only the subjects one of whose names is `q.text` after normalization
    /// (score 1, or 0.995 for a former name), ranked as [`NameIndex::search`]
    /// ranks them: one key lookup, no fuzzy candidates. Screening asks this
    /// first, since most names in a file are typed as registered.
    pub fn search_exact(&self, q: &SearchQuery<'_>) -> Result<Vec<Hit>, SearchError> {
        self.search_in(q, true)
    }

    fn search_in(&self, q: &SearchQuery<'_>, text_only: bool) -> Result<Vec<Hit>, SearchError> {
        let normalized = normalize(q.text);
        if normalized.is_empty() {
            return Err(SearchError::Empty);
        }
        let chars = normalized.chars().count();
        if chars > MAX_QUERY_CHARS {
            return Err(SearchError::TooLong(chars));
        }
        let readings = if text_only {
            Vec::new()
        } else {
            readings(&normalized, q.kind)
        };
        // Enough candidates that deduplication by subject and the tie-break
        // by whole text still leave `limit` good ones.
        let mut pool = Pool::new(q.limit * 2 + 5);
        let filtered = q.id_prefix.is_some() || q.born.is_some() || q.mask.is_some();
        // Source 0 is the segment, 1 the delta, whose subjects hide their
        // names in the segment.
        let admit = |source: usize, key: SubjectKey| {
            (source == 1 || !self.shadowed.contains(&key)) && q.admits(key)
        };
        for (source, segment) in [&*self.segment, &*self.delta].into_iter().enumerate() {
            let from_delta = source == 1;
            // The query's whole text, normalized: the best there is.
            let mut ids = Vec::new();
            segment.names_by_text(&normalized, CAP_CANDIDATES, &mut ids);
            for &id in &ids {
                // A pool full of names scoring 1 cannot change but in the
                // order of equals (a common person's name has thousands).
                if pool.full() && pool.floor() >= 1.0 {
                    break;
                }
                let Some(record) = segment.name(id).filter(|r| admit(source, r.key)) else {
                    continue;
                };
                let method = if record.alias {
                    Method::Alias
                } else if q.text.trim() == record.text {
                    Method::Exact
                } else {
                    Method::Normalized
                };
                pool.offer(source, id, record.alias, 1.0, method, true);
            }
            if text_only {
                continue;
            }
            // Cores, best first: a name scores at most its core's score, so
            // expanding stops once the next core cannot enter the pool.
            let mut visited = 0;
            let mut entries = Vec::new();
            // The record is read only when the posting list cannot answer:
            // filters and shadowing need the key, two branches their texts.
            let read_records = filtered || (!from_delta && !self.shadowed.is_empty());
            let mut expanded = std::collections::HashSet::new();
            for tier in [Tier::Direct, Tier::Typos] {
                // Typos cannot beat a pool already full of better names, nor
                // reach the score asked for.
                if tier == Tier::Typos
                    && ((pool.full() && pool.floor() > typo_bound(&readings))
                        || typo_bound(&readings) < q.min_score)
                {
                    break;
                }
                for c in candidate_cores(segment, &readings, tier, &expanded) {
                    if (pool.full() && c.score < pool.floor()) || c.score < q.min_score {
                        break;
                    }
                    expanded.insert(c.core);
                    entries.clear();
                    // A filter (id prefix, birth date) looks at every name.
                    let cap = if filtered {
                        CAP_CANDIDATES
                    } else {
                        CAP_PER_CORE
                    };
                    segment.core_names(c.core, cap, &mut entries);
                    let reading = &readings[c.reading];
                    for e in &entries {
                        if e.person() && !reading.is_plain() {
                            continue;
                        }
                        if q.kind
                            .is_some_and(|k| (k == SubjectKind::Person) != e.person())
                        {
                            continue;
                        }
                        // A branch is compared by its text, in the record.
                        let read =
                            read_records || (e.has_branch() && reading.parts.branch.is_some());
                        let factors = if read {
                            let Some(record) =
                                segment.name(e.name).filter(|r| admit(source, r.key))
                            else {
                                continue;
                            };
                            score::factors(reading, &record.parts)
                        } else {
                            let mut places = [""; 3];
                            let mut n = 0;
                            for p in e.places() {
                                places[n] = p;
                                n += 1;
                            }
                            score::factors_of(
                                reading,
                                &places[..n],
                                e.form(),
                                e.has_branch().then_some(""),
                            )
                        };
                        let base = c.score * factors;
                        let method = c.method.at(base);
                        pool.offer(source, e.name, e.alias(), base, method, false);
                    }
                    visited += entries.len();
                    if visited >= CAP_CANDIDATES {
                        break;
                    }
                }
            }
        }
        let mut hits = pool.finish([&*self.segment, &*self.delta], admit, &normalized, q.limit);
        hits.retain(|h| h.score >= q.min_score);
        Ok(hits)
    }
}

/// Candidate names of one query: the best by score so far, and the floor a
/// newcomer must reach. Hits are made only for the names kept.
struct Pool {
    want: usize,
    items: Vec<Candidate>,
    floor_heap: std::collections::BinaryHeap<std::cmp::Reverse<Ordered>>,
}

struct Candidate {
    score: f64,
    method: Method,
    /// Its normalized text is the query's (no tie-break needed).
    exact_text: bool,
    /// 0: the segment, 1: the delta.
    source: usize,
    name: u32,
}

/// An `f64` score with a total order, for the heap.
#[derive(Clone, Copy)]
struct Ordered(f64);
impl PartialEq for Ordered {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}
impl Eq for Ordered {}
impl PartialOrd for Ordered {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ordered {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

impl Pool {
    fn new(want: usize) -> Pool {
        Pool {
            want,
            items: Vec::new(),
            floor_heap: Default::default(),
        }
    }

    fn full(&self) -> bool {
        self.floor_heap.len() >= self.want
    }

    fn floor(&self) -> f64 {
        self.floor_heap.peek().map_or(0.0, |r| r.0.0)
    }

    fn offer(
        &mut self,
        source: usize,
        name: u32,
        alias: bool,
        score: f64,
        method: Method,
        exact_text: bool,
    ) {
        let (score, method) = as_named(score, method, alias, exact_text);
        if self.full() && score < self.floor() {
            return;
        }
        self.items.push(Candidate {
            score,
            method,
            exact_text,
            source,
            name,
        });
        self.floor_heap.push(std::cmp::Reverse(Ordered(score)));
        if self.floor_heap.len() > self.want {
            self.floor_heap.pop();
        }
    }

    /// The best `limit` subjects: one name each, ties among alike names
    /// broken by how close the whole text is to the query's.
    fn finish(
        mut self,
        segments: [&Segment; 2],
        admit: impl Fn(usize, SubjectKey) -> bool,
        normalized: &str,
        limit: usize,
    ) -> Vec<Hit> {
        let floor = if self.full() { self.floor() } else { 0.0 };
        self.items.retain(|c| c.score >= floor);
        // The tie-break below moves a score by at most 2%: only names within
        // 2% of the best `want` can still change places, and of a crowd of
        // equal names (a core shared by thousands) a few times `want` will do.
        self.items
            .sort_by(|a, b| b.score.total_cmp(&a.score).then(a.name.cmp(&b.name)));
        if let Some(kth) = self.items.get(self.want.saturating_sub(1)).map(|c| c.score) {
            self.items.retain(|c| c.score >= kth * 0.98);
        }
        self.items.truncate(self.want * 4);
        let mut hits: Vec<(f64, Method, Hit)> = Vec::with_capacity(self.items.len());
        for c in &self.items {
            let segment = segments[c.source];
            let Some(record) = segment.name(c.name).filter(|r| admit(c.source, r.key)) else {
                continue;
            };
            let score = if c.exact_text {
                c.score
            } else {
                tie_broken(c.score, normalized, &normalize(record.text))
            };
            let current = if record.alias {
                segment.name(record.current).map_or(record.text, |r| r.text)
            } else {
                record.text
            };
            hits.push((
                score,
                c.method,
                Hit {
                    key: record.key,
                    id: record.key.to_string(),
                    name: current.to_string(),
                    kind: match record.key.kind() {
                        SubjectKind::Org => "org",
                        SubjectKind::Person => "person",
                    },
                    score: (score * 1000.0).round() / 1000.0,
                    matched_name: record.text.to_string(),
                    method: c.method,
                },
            ));
        }
        hits.sort_by(|a, b| {
            b.0.total_cmp(&a.0)
                .then(a.1.cmp(&b.1))
                .then(a.2.id.cmp(&b.2.id))
        });
        let mut seen = std::collections::HashSet::new();
        hits.into_iter()
            .filter(|h| seen.insert(h.2.id.clone()))
            .map(|h| h.2)
            .take(limit)
            .collect()
    }
}

/// The subjects changed since `since`, or `None` when there are too many
/// for a delta.
fn changed_subjects(store: &Store, since: u64) -> Result<Option<Vec<SubjectKey>>, StoreError> {
    let mut keys = std::collections::BTreeSet::new();
    let mut next = since;
    loop {
        let batch = store.changes(next, 10_000)?;
        let Some(last) = batch.last() else { break };
        next = last.seq + 1;
        for c in &batch {
            if c.kind.is_subject() {
                if let Some(k) = SubjectKey::from_bytes(&c.subject) {
                    keys.insert(k);
                }
            }
        }
        if keys.len() > MAX_DELTA {
            return Ok(None);
        }
    }
    Ok(Some(keys.into_iter().collect()))
}

/// The ways a query is read: as an organization's name taken apart, with a
/// leading place kept in the core too when it could be a word (泰和科技);
/// and as a person's name.
fn readings(normalized: &str, kind: Option<SubjectKind>) -> Vec<QueryParts> {
    let mut out = Vec::new();
    if kind != Some(SubjectKind::Person) {
        let parts = parse(normalized);
        if !parts.regions.is_empty() {
            let kept = normalize::parse_with(normalized, false);
            if kept.core != parts.core {
                out.push(QueryParts::new(kept));
            }
        }
        // In pinyin a place's 省/市/区/县 cannot be told from the start of a
        // word (guixi sheng… is 贵溪圣…, anyi xian… is 安义县…): read the
        // query with a pinyin suffix taken as one too.
        if is_latin(normalized) {
            // Up to two places, each bare or with a suffix.
            let mut starts: Vec<(Vec<&'static str>, &str)> = Vec::new();
            let mut level: Vec<(Vec<&'static str>, &str)> = vec![(Vec::new(), normalized)];
            for _ in 0..2 {
                let mut next = Vec::new();
                for (places, rest) in &level {
                    for (base, len) in normalize::pinyin_places_at_start(rest) {
                        let after = &rest[len..];
                        let seen = |s: &(Vec<&str>, &str)| s.1.len() == after.len();
                        if after.len() >= 4 && !starts.iter().any(seen) && !next.iter().any(seen) {
                            let mut p = places.clone();
                            p.push(base);
                            next.push((p, after));
                        }
                    }
                }
                starts.extend(next.iter().cloned());
                level = next;
            }
            for (places, rest) in starts.into_iter().take(12) {
                let mut alt = normalize::parse_with(rest, false);
                alt.regions.splice(0..0, places);
                if alt.core != parts.core
                    && !out.iter().any(|r: &QueryParts| r.parts.core == alt.core)
                {
                    out.push(QueryParts::new(alt));
                }
            }
        }
        // A bracketed place typed in pinyin ends the core.
        if is_latin(&parts.core) {
            if let Some((base, at)) =
                normalize::pinyin_place_at_end(&parts.core).filter(|&(_, at)| at >= 4)
            {
                let mut alt = parts.clone();
                alt.core.truncate(at);
                alt.regions.push(base);
                out.push(QueryParts::new(alt));
            }
        }
        out.insert(0, QueryParts::new(parts));
    }
    if kind != Some(SubjectKind::Org) {
        out.push(QueryParts::new(NameParts {
            core: normalized.to_string(),
            ..NameParts::default()
        }));
    }
    out
}

/// A core worth expanding: its id, its score against one reading of the
/// query, how it matched, and which reading.
struct ScoredCore {
    core: u32,
    score: f64,
    method: Method,
    reading: usize,
}

/// Where candidate cores come from.
#[derive(Copy, Clone, PartialEq, Eq)]
enum Tier {
    /// The query's core and its pinyin: cheap, and the best there is.
    Direct,
    /// The deletion neighbourhood (typos): many lookups and many cores,
    /// scoring at most [`typo_bound`].
    Typos,
}

/// The candidate cores of one segment from `tier`, best first, each scored
/// once against the reading that found it; cores in `skip` are left out.
fn candidate_cores(
    segment: &Segment,
    readings: &[QueryParts],
    tier: Tier,
    skip: &std::collections::HashSet<u32>,
) -> Vec<ScoredCore> {
    let mut best: HashMap<u32, ScoredCore> = HashMap::new();
    let mut found = Vec::new();
    let mut keys = Vec::new();
    for (i, r) in readings.iter().enumerate() {
        let core = &r.parts.core;
        if core.is_empty() {
            continue;
        }
        let rate = |found: &mut Vec<u32>, best: &mut HashMap<u32, ScoredCore>| {
            found.sort_unstable();
            found.dedup();
            for &id in found.iter().filter(|id| !skip.contains(id)) {
                let Some((score, method)) = score::core_score(r, segment.core_text(id)) else {
                    continue;
                };
                match best.get(&id) {
                    Some(c) if c.score >= score => {}
                    _ => {
                        best.insert(
                            id,
                            ScoredCore {
                                core: id,
                                score,
                                method,
                                reading: i,
                            },
                        );
                    }
                }
            }
            found.clear();
        };
        found.clear();
        match tier {
            Tier::Direct => {
                found.extend(segment.core_id(core));
                segment.cores_by_pinyin(&r.core_pinyin, &mut found);
                if is_latin(core) {
                    segment.cores_by_pinyin(core, &mut found);
                }
                // A name typed in part: cores that begin with the query's.
                if r.core_chars.len() >= if is_latin(core) { 6 } else { 3 } {
                    segment.cores_by_prefix(core, is_latin(core), CAP_PREFIX, &mut found);
                }
                rate(&mut found, &mut best);
            }
            Tier::Typos => {
                keys.clear();
                deletion_keys(core, &mut keys);
                for k in &keys {
                    segment.cores_by_deletion(k, &mut found);
                }
                let before = best.len();
                rate(&mut found, &mut best);
                // Little found: two-character deletions (two typos).
                if best.len() - before < 3 && (4..=16).contains(&r.core_chars.len()) {
                    for k in two_deletions(&r.core_chars) {
                        segment.cores_by_deletion(&k, &mut found);
                    }
                    rate(&mut found, &mut best);
                }
            }
        }
    }
    let mut cores: Vec<ScoredCore> = best.into_values().collect();
    cores.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.core.cmp(&b.core)));
    cores
}

/// The most a core found only through typos can score against `readings`
/// (one edit in the longest core, [`score::core_score`]), or a typo in pinyin.
fn typo_bound(readings: &[QueryParts]) -> f64 {
    readings
        .iter()
        .map(|r| {
            let len = r.core_chars.len() as f64 + 1.0;
            (TYPO_BASE + TYPO_SPAN * (1.0 - 1.0 / len)).max(TYPO_BOUND_FLOOR)
        })
        .fold(0.0, f64::max)
}

/// The core less two characters, every way.
fn two_deletions(chars: &[char]) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..chars.len() {
        for j in i + 1..chars.len() {
            out.push(
                chars
                    .iter()
                    .enumerate()
                    .filter(|&(k, _)| k != i && k != j)
                    .map(|(_, c)| c)
                    .collect(),
            );
        }
    }
    out
}

/// A name's score and method once it is known whether it is a former name
/// (`alias`) and whether its text is the query's (`exact_text`): a former
/// name is a little less sure than the current one; typed exactly, it still
/// comes before any other name's variant.
fn as_named(score: f64, method: Method, alias: bool, exact_text: bool) -> (f64, Method) {
    if !alias {
        return (score, method);
    }
    let score = if exact_text {
        ALIAS_EXACT
    } else {
        score * ALIAS_FACTOR
    };
    let method = if method == Method::Normalized || exact_text {
        Method::Alias
    } else {
        method
    };
    (score, method)
}

/// A score below the names whose text is the query's (1, and 0.995 for a
/// former name): among names alike in their parts, the one whose whole text
/// is closer to the query's ranks first (a swap keeps every character; a
/// bracketed place is further from a leading one).
fn tie_broken(score: f64, query: &str, name: &str) -> f64 {
    score * (TIE_BASE + TIE_SPAN * text_likeness(query, name))
}

/// How alike two normalized texts are as wholes, in [0, 1]: half edit
/// distance, half the characters they share regardless of order.
fn text_likeness(a: &str, b: &str) -> f64 {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let len = a.len().max(b.len()).max(1);
    let distance = edit_distance(&a, &b, len).unwrap_or(len);
    let mut rest = b.clone();
    let shared = a
        .iter()
        .filter(|c| match rest.iter().position(|r| r == *c) {
            Some(i) => {
                rest.swap_remove(i);
                true
            }
            None => false,
        })
        .count();
    0.5 * (1.0 - distance as f64 / len as f64) + 0.5 * shared as f64 / len as f64
}

impl SearchQuery<'_> {
    /// Whether a subject passes the kind and narrowing filters.
    fn admits(&self, key: SubjectKey) -> bool {
        if self.kind.is_some_and(|k| k != key.kind()) {
            return false;
        }
        if let Some(prefix) = self.id_prefix {
            let id = key.to_ascii();
            let prefix = prefix.trim().as_bytes();
            if prefix.len() > id.len() || !id[..prefix.len()].eq_ignore_ascii_case(prefix) {
                return false;
            }
        }
        if let Some(born) = self.born {
            if key.birth_date() != Some(born) {
                return false;
            }
        }
        if let Some(mask) = self.mask {
            if !mask.matches(key) {
                return false;
            }
        }
        true
    }
}
