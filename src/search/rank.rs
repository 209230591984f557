//! Ranking: the pool of candidate names a query keeps (the best by score,
//! and the floor a newcomer must reach), the adjustments for former names
//! and for how close a whole text is to the query's, and comparing a typed
//! name with one subject's names (screening's name check).

use super::explain::{Changes, PLAUSIBLE_CHANGES};
use super::limits::{ALIAS_EXACT, ALIAS_FACTOR, TIE_BASE, TIE_SPAN};
use super::{Found, Hit};

use super::normalize::{normalize, parse};
use super::score::{Method, edit_distance};
use super::segment::{NameHead, Segment};
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
            let Some(core) = super::score::core_score(reading, &parts.core) else {
                continue;
            };
            let score = core.score * super::score::factors(reading, &parts);
            let (score, method) = as_named(score, core.method.at(score), alias, false);
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
/// newcomer must reach; and apart from them, the names that need the fewest
/// changes ([`super::explain`]), whatever they score, so that the subject
/// explained best can be told from its rivals. Hits are made only for the
/// names kept.
pub(super) struct Pool {
    pub(super) want: usize,
    pub(super) items: Vec<Candidate>,
    pub(super) floor_heap: std::collections::BinaryHeap<std::cmp::Reverse<Ordered>>,
    /// Names within [`PLAUSIBLE_CHANGES`], the fewest changes first once
    /// trimmed to [`NEAR_KEPT`].
    near: Vec<Candidate>,
    /// The fewest changes of any name offered.
    fewest: Option<u8>,
    /// Up to [`AT_FEWEST`] names with that many changes.
    at_fewest: Vec<(usize, u32)>,
    /// Two subjects are known to need the fewest changes: the best is
    /// ambiguous whatever is found next at that level or above.
    settled: bool,
}

/// Names kept apart for the rivalry of one query.
const NEAR_KEPT: usize = 64;
/// Names with the fewest changes remembered, to tell two subjects apart
/// (a subject may have two names alike).
const AT_FEWEST: usize = 4;

#[derive(Clone, Copy)]
pub(super) struct Candidate {
    pub(super) score: f64,
    pub(super) method: Method,
    /// Its normalized text is the query's (no tie-break needed).
    pub(super) exact_text: bool,
    /// 0: the segment, 1: the delta.
    pub(super) source: usize,
    pub(super) name: u32,
    /// The changes that turn it into the query.
    pub(super) changes: Changes,
}

/// A candidate name read and scored as ranked, before its hit is made.
struct Scored<'a> {
    /// With the tie-break.
    score: f64,
    /// The subject's identifier, for the order among equals.
    id: [u8; 18],
    candidate: Candidate,
    head: NameHead<'a>,
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
            near: Vec::new(),
            fewest: None,
            at_fewest: Vec::new(),
            settled: false,
        }
    }

    pub(super) fn full(&self) -> bool {
        self.floor_heap.len() >= self.want
    }

    pub(super) fn floor(&self) -> f64 {
        self.floor_heap.peek().map_or(0.0, |r| r.0.0)
    }

    /// Whether a name needing `level` changes or more could still change
    /// which subject needs the fewest, or whether it has a rival: it could
    /// when `level` is below the fewest so far, or at it while only one
    /// subject is known there. `key_of` tells whose a name is.
    pub(super) fn rivalry_open(
        &mut self,
        level: u8,
        key_of: &impl Fn(usize, u32) -> Option<SubjectKey>,
    ) -> bool {
        if level > PLAUSIBLE_CHANGES {
            return false;
        }
        let Some(fewest) = self.fewest else {
            return true;
        };
        if level < fewest {
            return true;
        }
        if level > fewest {
            return false;
        }
        if !self.settled && self.at_fewest.len() > 1 {
            let mut keys = self.at_fewest.iter().filter_map(|&(s, n)| key_of(s, n));
            let first = keys.next();
            self.settled = keys.any(|k| Some(k) != first);
        }
        !self.settled
    }

    pub(super) fn offer(
        &mut self,
        source: usize,
        name: u32,
        alias: bool,
        (score, method): (f64, Method),
        exact_text: bool,
        changes: Changes,
    ) {
        let (score, method) = as_named(score, method, alias, exact_text);
        let candidate = Candidate {
            score,
            method,
            exact_text,
            source,
            name,
            changes,
        };
        let n = changes.count();
        if n <= PLAUSIBLE_CHANGES {
            match self.fewest {
                Some(f) if n > f => {}
                Some(f) if n == f => {
                    if self.at_fewest.len() < AT_FEWEST && !self.at_fewest.contains(&(source, name))
                    {
                        self.at_fewest.push((source, name));
                    }
                }
                _ => {
                    self.fewest = Some(n);
                    self.at_fewest.clear();
                    self.at_fewest.push((source, name));
                    self.settled = false;
                }
            }
            self.near.push(candidate);
            if self.near.len() > 2 * NEAR_KEPT {
                self.near
                    .select_nth_unstable_by_key(NEAR_KEPT, |c| c.changes.count());
                self.near.truncate(NEAR_KEPT);
            }
        }
        if self.full() && score < self.floor() {
            return;
        }
        self.items.push(candidate);
        self.floor_heap.push(std::cmp::Reverse(Ordered(score)));
        if self.floor_heap.len() > self.want {
            self.floor_heap.pop();
        }
    }

    /// The best `limit` subjects: one name each, ties among alike names
    /// broken by how close the whole text is to the query's; and the
    /// subjects within [`PLAUSIBLE_CHANGES`], the fewest changes first (at
    /// most `plausible_wanted` of them). Each carries its changes and its
    /// margin over the others.
    pub(super) fn finish(
        mut self,
        segments: [&Segment; 2],
        admit: impl Fn(usize, SubjectKey) -> bool,
        normalized: &str,
        limit: usize,
        plausible_wanted: usize,
    ) -> Found {
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
        self.near.sort_by_key(|c| c.changes.count());
        self.near.truncate(NEAR_KEPT);
        // A name's score as ranked: the tie-break needs its text, read
        // without its parts. Hits (strings) are made only for the names
        // kept, once each subject's best is known.
        let mut text = String::new();
        let mut scored = |c: &'_ Candidate| -> Option<Scored<'_>> {
            let head = segments[c.source]
                .head(c.name)
                .filter(|h| admit(c.source, h.key))?;
            let score = if c.exact_text {
                c.score
            } else {
                text.clear();
                text.extend(super::normalize::normalized_chars(head.text));
                tie_broken(c.score, normalized, &text)
            };
            Some(Scored {
                score,
                id: head.key.to_ascii(),
                candidate: *c,
                head,
            })
        };
        let hit = |s: &Scored<'_>| -> Hit {
            let (c, head) = (&s.candidate, &s.head);
            let current = if head.alias {
                segments[c.source]
                    .head(head.current)
                    .map_or(head.text, |r| r.text)
            } else {
                head.text
            };
            Hit {
                key: head.key,
                id: head.key.to_string(),
                name: current.to_string(),
                kind: match head.key.kind() {
                    SubjectKind::Org => "org",
                    SubjectKind::Person => "person",
                },
                score: (s.score * 1000.0).round() / 1000.0,
                matched_name: head.text.to_string(),
                method: c.method,
                changes: c.changes.count(),
                changed: c.changes,
                margin: None,
                ambiguous: false,
            }
        };
        // Best first; among equals by method, then by identifier.
        let rank = |made: &mut Vec<Scored<'_>>| {
            made.sort_by(|a, b| {
                b.score
                    .total_cmp(&a.score)
                    .then(a.candidate.method.cmp(&b.candidate.method))
                    .then(a.id.cmp(&b.id))
            })
        };
        // Names are scored best first, and only until `limit` subjects are
        // certain to rank above every name left (a tie-break only lowers a
        // score); of the rest only the subject is read, for the rivalry.
        // The most a name can score once ranked is its score when its text
        // is the query's, and TIE_BASE + TIE_SPAN of it otherwise. The
        // `limit`th best subject's score is looked at only when that bound
        // steps down: within a run of equal bounds no name scored can lift
        // it above them.
        let mut by_score: Vec<Scored<'_>> = Vec::new();
        let mut best_of: std::collections::HashMap<SubjectKey, f64> = Default::default();
        let mut unscored: &[Candidate] = &[];
        let mut bests = Vec::new();
        let mut step = f64::INFINITY;
        let last_exact = self.items.iter().rposition(|c| c.exact_text);
        for (i, c) in self.items.iter().enumerate() {
            let bound = if last_exact.is_some_and(|last| i <= last) {
                c.score
            } else {
                c.score * (TIE_BASE + TIE_SPAN)
            };
            if bound < step && limit > 0 && best_of.len() >= limit {
                step = bound;
                bests.clear();
                bests.extend(best_of.values().copied());
                let (_, kth, _) = bests.select_nth_unstable_by(limit - 1, |a, b| b.total_cmp(a));
                if *kth > bound {
                    unscored = &self.items[i..];
                    break;
                }
            }
            if let Some(s) = scored(c) {
                let best = best_of.entry(s.head.key).or_insert(s.score);
                *best = best.max(s.score);
                by_score.push(s);
            }
        }
        rank(&mut by_score);
        // The plausible subjects, each by its name needing the fewest
        // changes: records read first, hits made only for those listed.
        // With none to list, only the two subjects needing the fewest
        // changes matter (the margins): records are read until they are
        // known.
        let mut near: std::collections::HashMap<SubjectKey, &Candidate> = Default::default();
        let mut second: Option<u8> = None;
        for c in &self.near {
            if plausible_wanted == 0 && second.is_some_and(|n| c.changes.count() > n) {
                break;
            }
            let Some(key) = segments[c.source]
                .key(c.name)
                .filter(|&k| admit(c.source, k))
            else {
                continue;
            };
            near.entry(key)
                .and_modify(|best| {
                    if c.changes.count() < best.changes.count() {
                        *best = c
                    }
                })
                .or_insert(c);
            if second.is_none() && near.len() > 1 {
                second = Some(c.changes.count());
            }
        }
        // Each plausible subject's fewest changes, whether or not it is
        // listed.
        let mut fewest: std::collections::HashMap<SubjectKey, Changes> =
            near.iter().map(|(k, c)| (*k, c.changes)).collect();
        let mut near: Vec<(SubjectKey, &Candidate)> = near.into_iter().collect();
        near.sort_by(|a, b| {
            (a.1.changes.count().cmp(&b.1.changes.count()))
                .then(b.1.score.total_cmp(&a.1.score))
                .then(a.0.cmp(&b.0))
        });
        near.truncate(plausible_wanted);
        let mut plausible: Vec<Scored<'_>> =
            near.into_iter().filter_map(|(_, c)| scored(c)).collect();
        rank(&mut plausible);
        // Each subject by its best name: by score for the ranking, by
        // changes for the rivalry.
        let unscored = unscored.iter().filter_map(|c| {
            let key = segments[c.source]
                .key(c.name)
                .filter(|&k| admit(c.source, k))?;
            Some((key, c.changes))
        });
        let scored = by_score.iter().chain(&plausible);
        for (key, changed) in scored
            .map(|s| (s.head.key, s.candidate.changes))
            .chain(unscored)
        {
            fewest
                .entry(key)
                .and_modify(|c| {
                    if changed.count() < c.count() {
                        *c = changed
                    }
                })
                .or_insert(changed);
        }
        // The two subjects needing the fewest changes.
        let mut best: [Option<(u8, SubjectKey)>; 2] = [None, None];
        for (&key, c) in &fewest {
            let n = (c.count(), key);
            if best[0].is_none_or(|b| n < b) {
                best = [Some(n), best[0]];
            } else if best[1].is_none_or(|b| n < b) {
                best[1] = Some(n);
            }
        }
        let explain = |h: &mut Hit| {
            h.changed = fewest[&h.key];
            h.changes = h.changed.count();
            let other = best
                .iter()
                .flatten()
                .find(|(_, k)| *k != h.key)
                .map(|(n, _)| *n);
            h.margin = other.map(|n| i16::from(n) - i16::from(h.changes));
            h.ambiguous = h.margin.is_some_and(|m| m <= 0);
        };
        // Each subject once, by its best name.
        let first_of_each = |ranked: Vec<Scored<'_>>, limit: usize| -> Vec<Hit> {
            let mut seen = std::collections::HashSet::new();
            ranked
                .iter()
                .filter(|s| seen.insert(s.head.key))
                .take(limit)
                .map(|s| {
                    let mut h = hit(s);
                    explain(&mut h);
                    h
                })
                .collect()
        };
        let hits = first_of_each(by_score, limit);
        let mut plausible = first_of_each(plausible, usize::MAX);
        plausible.retain(|h| h.changes <= PLAUSIBLE_CHANGES);
        plausible.sort_by(|a, b| a.changes.cmp(&b.changes).then(b.score.total_cmp(&a.score)));
        Found { hits, plausible }
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

/// The characters of `text`, in `stack` when they fit, else in `heap`.
fn chars_in<'a>(text: &str, stack: &'a mut [char], heap: &'a mut Vec<char>) -> &'a mut [char] {
    let mut n = 0;
    for c in text.chars() {
        if n == stack.len() {
            heap.extend(text.chars());
            return heap;
        }
        stack[n] = c;
        n += 1;
    }
    &mut stack[..n]
}

/// How alike two normalized texts are as wholes, in [0, 1]: half edit
/// distance, half the characters they share regardless of order.
pub(super) fn text_likeness(a: &str, b: &str) -> f64 {
    if a == b && !a.is_empty() {
        return 1.0;
    }
    // Names are short: their characters on the stack, on the heap past that.
    let (mut a_stack, mut b_stack) = ([' '; 48], [' '; 48]);
    let (mut a_heap, mut b_heap) = (Vec::new(), Vec::new());
    let a = chars_in(a, &mut a_stack, &mut a_heap);
    let b = chars_in(b, &mut b_stack, &mut b_heap);
    let len = a.len().max(b.len()).max(1);
    let distance = edit_distance(a, b, len).unwrap_or(len);
    // `b`'s characters not yet shared, at the front.
    let rest = b;
    let mut left = rest.len();
    let shared = a
        .iter()
        .filter(|c| match rest[..left].iter().position(|r| r == *c) {
            Some(i) => {
                rest.swap(i, left - 1);
                left -= 1;
                true
            }
            None => false,
        })
        .count();
    0.5 * (1.0 - distance as f64 / len as f64) + 0.5 * shared as f64 / len as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`text_likeness`] as first written, on vectors.
    fn likeness_on_vectors(a: &str, b: &str) -> f64 {
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

    #[test]
    fn text_likeness_on_the_stack_is_as_on_vectors() {
        let long = "江西".repeat(30);
        let texts = [
            "",
            "a",
            "南昌华远科技有限公司",
            "华远科技南昌有限公司",
            "南昌华远科枝有限责任公司",
            "科技华远",
            long.as_str(),
            &long[3..],
        ];
        for a in texts {
            for b in texts {
                assert_eq!(
                    text_likeness(a, b).to_bits(),
                    likeness_on_vectors(a, b).to_bits(),
                    "{a} / {b}"
                );
            }
        }
    }
}
