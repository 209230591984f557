//! The query's pipeline: how the query is read (as an organization's name
//! taken apart, with a leading place kept, as a person's name), which cores
//! and names become candidates (whole text, core, pinyin, deletion
//! neighbourhood), and the search over a segment and its delta.

use super::limits::{
    CAP_CANDIDATES, CAP_PER_CORE, CAP_PREFIX, MAX_QUERY_CHARS, TYPO_BASE, TYPO_BOUND_FLOOR,
    TYPO_SPAN,
};
use super::{Found, NameIndex, SearchError, SearchQuery};
use std::collections::HashMap;

use super::explain::Changes;
use super::normalize::{NameParts, is_latin, normalize, parse};
use super::rank::Pool;
use super::score::{Method, QueryParts};
use super::segment::{Segment, deletion_keys};
use crate::id::{SubjectKey, SubjectKind};

impl NameIndex {
    /// Searches for `q`, with up to `plausible` plausible subjects apart.
    pub(super) fn search_in(
        &self,
        q: &SearchQuery<'_>,
        plausible: usize,
    ) -> Result<Found, SearchError> {
        let normalized = normalize(q.text);
        if normalized.is_empty() {
            return Err(SearchError::Empty);
        }
        let chars = normalized.chars().count();
        if chars > MAX_QUERY_CHARS {
            return Err(SearchError::TooLong(chars));
        }
        let readings = readings(&normalized, q.kind);
        // Enough candidates that deduplication by subject and the tie-break
        // by whole text still leave `limit` good ones.
        let mut pool = Pool::new(q.limit * 2 + 5);
        let filtered = q.id_prefix.is_some() || q.born.is_some() || q.mask.is_some();
        // Source 0 is the segment, 1 the delta, whose subjects hide their
        // names in the segment.
        let admit = |source: usize, key: SubjectKey| {
            (source == 1 || !self.shadowed.contains(&key)) && q.admits(key)
        };
        let segments = [&*self.segment, &*self.delta];
        let key_of =
            |source: usize, name: u32| segments[source].key(name).filter(|&k| admit(source, k));
        for (source, segment) in segments.into_iter().enumerate() {
            let from_delta = source == 1;
            // The query's whole text, normalized: the best there is.
            let mut ids = Vec::new();
            segment.names_by_text(&normalized, CAP_CANDIDATES, &mut ids);
            for &id in &ids {
                // A pool full of names scoring 1 cannot change but in the
                // order of equals (a common person's name has thousands),
                // and so many names need no change that none is the one.
                if pool.full() && pool.floor() >= 1.0 {
                    break;
                }
                let Some(record) = segment.head(id).filter(|r| admit(source, r.key)) else {
                    continue;
                };
                let method = if record.alias {
                    Method::Alias
                } else if q.text.trim() == record.text {
                    Method::Exact
                } else {
                    Method::Normalized
                };
                pool.offer(source, id, record.alias, (1.0, method), true, Changes::NONE);
            }
            // Cores, best first: a name scores at most its core's score, so
            // a core below the pool's floor adds nothing to the ranking. It
            // is still read when its names could be rivals of the subject
            // explained by the fewest changes ([`Pool::rivalry_open`]).
            let mut visited = 0;
            let mut entries = Vec::new();
            // The record is read only when the posting list cannot answer:
            // filters and shadowing need the key, two branches their texts.
            let read_records = filtered || (!from_delta && !self.shadowed.is_empty());
            let mut expanded = std::collections::HashSet::new();
            let mut same_core = Vec::new();
            for tier in [Tier::Direct, Tier::Typos] {
                // Typos (one change at least) cannot beat a pool already full
                // of better names, nor reach the score asked for, nor change
                // which subject needs the fewest changes.
                if tier == Tier::Typos
                    && (q.settle_only
                        || (pool.full() && pool.floor() > typo_bound(&readings))
                        || typo_bound(&readings) < q.min_score)
                    && !pool.rivalry_open(1, &key_of)
                {
                    break;
                }
                for c in candidate_cores(segment, &readings, tier, &expanded) {
                    // Below the floor or the score asked for, a core adds
                    // nothing to the ranking (nor anything asked only to settle).
                    let below = pool.full() && c.score < pool.floor();
                    let ranks = !(q.settle_only || below) && c.score >= q.min_score;
                    if !ranks && !pool.rivalry_open(c.changes.count(), &key_of) {
                        continue;
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
                    // Other readings with this core (usually none).
                    same_core.clear();
                    same_core.extend((0..readings.len()).filter(|&r| {
                        r != c.reading && readings[r].parts.core == reading.parts.core
                    }));
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
                        // Of the readings with this core (a pinyin place read as
                        // 抚州 or 福州), the one that fits the name best.
                        let fit = |places: &[&str], form, branch: Option<&str>| {
                            let mut best =
                                super::score::fit(reading, c.changes, places, form, branch);
                            for &r in &same_core {
                                let f = super::score::fit(
                                    &readings[r],
                                    c.changes,
                                    places,
                                    form,
                                    branch,
                                );
                                if f.0 > best.0 || (f.0 == best.0 && f.1.count() < best.1.count()) {
                                    best = f;
                                }
                            }
                            best
                        };
                        let (factors, changes) = if read {
                            let Some(record) =
                                segment.name(e.name).filter(|r| admit(source, r.head.key))
                            else {
                                continue;
                            };
                            let p = &record.parts;
                            fit(&p.regions, p.form, p.branch.as_deref())
                        } else {
                            let mut places = [""; 3];
                            let mut n = 0;
                            for p in e.places() {
                                places[n] = p;
                                n += 1;
                            }
                            fit(&places[..n], e.form(), e.has_branch().then_some(""))
                        };
                        let base = c.score * factors;
                        let method = c.method.at(base);
                        pool.offer(source, e.name, e.alias(), (base, method), false, changes);
                    }
                    visited += entries.len();
                    if visited >= CAP_CANDIDATES {
                        break;
                    }
                }
            }
        }
        let mut found = pool.finish(segments, admit, &normalized, q.limit, plausible);
        found.hits.retain(|h| h.score >= q.min_score);
        Ok(found)
    }
}

/// The ways a query is read: as an organization's name taken apart, with a
/// leading place kept in the core too when it could be a word (泰和科技);
/// and as a person's name.
pub(super) fn readings(normalized: &str, kind: Option<SubjectKind>) -> Vec<QueryParts> {
    let mut out = Vec::new();
    if kind != Some(SubjectKind::Person) {
        let parts = parse(normalized);
        if !parts.regions.is_empty() {
            let kept = super::normalize::parse_with(normalized, false);
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
                    for (base, len) in super::normalize::pinyin_places_at_start(rest) {
                        let after = &rest[len..];
                        // Two places spelled alike (fuzhou: 抚州, 福州) are two
                        // readings.
                        let seen = |s: &(Vec<&str>, &str)| {
                            s.1.len() == after.len() && s.0.last() == Some(&base)
                        };
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
                let mut alt = super::normalize::parse_with(rest, false);
                alt.regions.splice(0..0, places);
                if (alt.core != parts.core || alt.regions != parts.regions)
                    && !out.iter().any(|r: &QueryParts| {
                        r.parts.core == alt.core && r.parts.regions == alt.regions
                    })
                {
                    out.push(QueryParts::new(alt));
                }
            }
        }
        // A bracketed place typed in pinyin ends the core.
        if is_latin(&parts.core)
            && let Some((base, at)) =
                super::normalize::pinyin_place_at_end(&parts.core).filter(|&(_, at)| at >= 4)
        {
            let mut alt = parts.clone();
            alt.core.truncate(at);
            alt.regions.push(base);
            out.push(QueryParts::new(alt));
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
/// query, how it matched, its changes, and which reading.
pub(super) struct ScoredCore {
    pub(super) core: u32,
    pub(super) score: f64,
    pub(super) method: Method,
    pub(super) changes: Changes,
    pub(super) reading: usize,
}

/// Where candidate cores come from.
#[derive(Copy, Clone, PartialEq, Eq)]
pub(super) enum Tier {
    /// The query's core and its pinyin: cheap, and the best there is.
    Direct,
    /// The deletion neighbourhood (typos): many lookups and many cores,
    /// scoring at most [`typo_bound`].
    Typos,
}

/// The candidate cores of one segment from `tier`, best first, each scored
/// once against the reading that found it; cores in `skip` are left out.
pub(super) fn candidate_cores(
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
        // A core read before (with other places) finds the same cores; its
        // names are fitted to every reading with it.
        if core.is_empty() || readings[..i].iter().any(|p| p.parts.core == *core) {
            continue;
        }
        let rate = |found: &mut Vec<u32>, best: &mut HashMap<u32, ScoredCore>| {
            found.sort_unstable();
            found.dedup();
            for &id in found.iter().filter(|id| !skip.contains(id)) {
                let Some(m) = super::score::core_score(r, segment.core_text(id)) else {
                    continue;
                };
                match best.get(&id) {
                    Some(c) if c.score >= m.score => {}
                    _ => {
                        best.insert(
                            id,
                            ScoredCore {
                                core: id,
                                score: m.score,
                                method: m.method,
                                changes: Changes::of_core(&m),
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
/// (one edit in the longest core, [`super::score::core_score`]), or a typo in pinyin.
pub(super) fn typo_bound(readings: &[QueryParts]) -> f64 {
    readings
        .iter()
        .map(|r| {
            let len = r.core_chars.len() as f64 + 1.0;
            (TYPO_BASE + TYPO_SPAN * (1.0 - 1.0 / len)).max(TYPO_BOUND_FLOOR)
        })
        .fold(0.0, f64::max)
}

/// The core less two characters, every way.
pub(super) fn two_deletions(chars: &[char]) -> Vec<String> {
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

impl SearchQuery<'_> {
    /// Whether a subject passes the kind and narrowing filters.
    pub(super) fn admits(&self, key: SubjectKey) -> bool {
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
        if let Some(born) = self.born
            && key.birth_date() != Some(born)
        {
            return false;
        }
        if let Some(mask) = self.mask
            && !mask.matches(key)
        {
            return false;
        }
        true
    }
}
