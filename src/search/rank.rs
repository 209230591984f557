//! Ranking: the pool of candidate names a query keeps (the best by score,
//! and the floor a newcomer must reach), the adjustments for former names
//! and for how close a whole text is to the query's, and comparing a typed
//! name with one subject's names (screening's name check).

use super::Hit;
use super::limits::{ALIAS_EXACT, ALIAS_FACTOR, TIE_BASE, TIE_SPAN};

use super::normalize::{normalize, parse};
use super::score::{Method, edit_distance};
use super::segment::Segment;
use crate::id::{SubjectKey, SubjectKind};

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
/// the rest former names), as [`super::NameIndex::search`] would score them; `None`
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
        let readings = readings.get_or_insert_with(|| super::pipeline::readings(&normalized, None));
        let parts = parse(&text);
        for reading in readings.iter() {
            let Some((core, method)) = super::score::core_score(reading, &parts.core) else {
                continue;
            };
            let score = core * super::score::factors(reading, &parts);
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

/// Candidate names of one query: the best by score so far, and the floor a
/// newcomer must reach. Hits are made only for the names kept.
pub(super) struct Pool {
    pub(super) want: usize,
    pub(super) items: Vec<Candidate>,
    pub(super) floor_heap: std::collections::BinaryHeap<std::cmp::Reverse<Ordered>>,
}

pub(super) struct Candidate {
    pub(super) score: f64,
    pub(super) method: Method,
    /// Its normalized text is the query's (no tie-break needed).
    pub(super) exact_text: bool,
    /// 0: the segment, 1: the delta.
    pub(super) source: usize,
    pub(super) name: u32,
}

/// An `f64` score with a total order, for the heap.
#[derive(Clone, Copy)]
pub(super) struct Ordered(f64);
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
    pub(super) fn new(want: usize) -> Pool {
        Pool {
            want,
            items: Vec::new(),
            floor_heap: Default::default(),
        }
    }

    pub(super) fn full(&self) -> bool {
        self.floor_heap.len() >= self.want
    }

    pub(super) fn floor(&self) -> f64 {
        self.floor_heap.peek().map_or(0.0, |r| r.0.0)
    }

    pub(super) fn offer(
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
    pub(super) fn finish(
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
            self.items.retain(|c| c.score >= kth * TIE_BASE);
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

/// A name's score and method once it is known whether it is a former name
/// (`alias`) and whether its text is the query's (`exact_text`): a former
/// name is a little less sure than the current one; typed exactly, it still
/// comes before any other name's variant.
pub(super) fn as_named(score: f64, method: Method, alias: bool, exact_text: bool) -> (f64, Method) {
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
pub(super) fn tie_broken(score: f64, query: &str, name: &str) -> f64 {
    score * (TIE_BASE + TIE_SPAN * text_likeness(query, name))
}

/// How alike two normalized texts are as wholes, in [0, 1]: half edit
/// distance, half the characters they share regardless of order.
pub(super) fn text_likeness(a: &str, b: &str) -> f64 {
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
