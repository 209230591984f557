//! Search-quality variant sets: names from generated data typed the ways
//! clerks and screening files type them, each with the subject it means.
//!
//! Every query is one change of one organization's name (or an alias, or a
//! made-up name for the `absent` type):
//!
//! | type | change |
//! |---|---|
//! | `traditional` | every character that has a Traditional form takes it |
//! | `width` | brackets and ASCII change width; an ideographic space after the place |
//! | `form` | 有限公司 ↔ 有限责任公司, 股份有限公司 → 有限公司, or the form dropped |
//! | `region` | the leading place dropped, or moved into brackets; a bracketed one put in front or dropped |
//! | `homophone` | one character of the trade name or industry replaced by another with the same toneless pinyin |
//! | `typo` | one character of the trade name or industry inserted, deleted or substituted |
//! | `swap` | two neighbouring characters of the trade name or industry swapped |
//! | `alias` | a Chinese former name (曾用名), as given |
//! | `pinyin` | the whole name in toneless pinyin, syllables apart |
//! | `absent` | a name made of the same vocabulary that no subject has |
//! | `short` | the trade name and industry alone: region and legal form left out (华远科技) |
//! | `province` | the province put in front of a name that starts with a city (江西南昌华远科技有限公司) |
//!
//! A change that lands on another subject's name, as written or needing no
//! change to be it ([`crate::budget`]: 南昌市华远科技有限责任公司 is
//! 南昌华远科技有限公司), names that subject and is not made. Queries are
//! made only from names without such a twin: the generator draws names
//! independently and so makes twins no real register holds.
//!
//! The places and forms are located with the generator's own word lists, not
//! with creditgate's parser, so the set does not grade the parser by itself.
//! A query is marked `ambiguous` when it fits another subject as well as its
//! target: for typed changes, another name is at least as close by character
//! edit distance over normalized names (pinyin for the pinyin type); for
//! `region` and `form`, another organization has the same name but for the
//! part changed. No scorer can be expected to put the target first then, and
//! the report counts those apart.
//!
//! At millions of subjects that comparison takes hours; [`mark_by_index`]
//! marks a set instead with the edit budget of [`crate::budget`], finding
//! rivals through a store's name index (issue #26).

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, Write};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use creditgate::search::normalize::{normalize, opencc_pairs, pinyin_key};

use crate::budget::{self, distance};
use crate::make::Rng;
use crate::vocab;

/// The types, in report order.
pub const TYPES: [&str; 12] = [
    "traditional",
    "width",
    "form",
    "region",
    "homophone",
    "typo",
    "swap",
    "alias",
    "pinyin",
    "absent",
    "short",
    "province",
];

/// One query of a variant set.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Variant {
    /// The variant type.
    #[serde(rename = "type")]
    pub kind: String,
    /// The query as typed.
    pub query: String,
    /// The subject meant; `None` for `absent`.
    pub target: Option<String>,
    /// The name it was made from.
    pub from: Option<String>,
    /// Another subject is at least as close to the query as the target.
    #[serde(default)]
    pub ambiguous: bool,
    /// How many changes turn the target's name into the query
    /// ([`crate::budget::changes`]), when marked by [`mark_by_index`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<usize>,
    /// Other subjects within that budget, when marked by [`mark_by_index`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rivals: Option<usize>,
}

#[derive(Deserialize)]
struct Line {
    id: String,
    kind: String,
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
}

struct Org {
    id: String,
    name: String,
    aliases: Vec<String>,
}

/// Legal forms the generator writes, longest first.
const FORMS: [&str; 6] = [
    "合伙企业（有限合伙）",
    "集团有限公司",
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "专业合作社",
];

fn simplified_to_traditional() -> HashMap<char, char> {
    // The reverse of OpenCC's table that creditgate normalizes with: the
    // first Traditional character listed for each Simplified one.
    let mut map = HashMap::new();
    for (t, s) in opencc_pairs().filter(|(t, s)| t != s) {
        map.entry(s).or_insert(t);
    }
    map
}

/// `(place, core, form)` of a generated organization name, by the
/// generator's word lists; `None` for names of other shapes.
fn split(name: &str) -> Option<(&str, &str, &str)> {
    let form = FORMS.iter().find(|f| name.ends_with(*f))?;
    let body = &name[..name.len() - form.len()];
    let place = vocab::REGIONS
        .iter()
        .map(|r| r.name)
        .filter(|p| body.starts_with(p))
        .max_by_key(|p| p.len())
        .unwrap_or("");
    let core = &body[place.len()..];
    (core.chars().count() >= 3).then_some((place, core, form))
}

/// `(before, core, after)` of a generated organization name: the trade name
/// and industry apart from the place in front or in brackets and the form;
/// `None` for names of other shapes.
fn split_core(name: &str) -> Option<(&str, &str, &str)> {
    let (place, core, form) = split(name)?;
    match core.find('（') {
        Some(open) if open >= 3 * 3 => {
            let after = &name[place.len() + open..];
            Some((place, &core[..open], after))
        }
        Some(_) => None,
        None => Some((place, core, form)),
    }
}

/// Makes `per_type` queries of each type from `subjects` (SPEC §3 NDJSON).
///
/// With `mark` false, typed changes are not checked for ambiguity (that
/// compares every query with every name: hours at millions of subjects);
/// region, form and alias queries, checked by exact keys, still are.
pub fn make(
    subjects: impl BufRead,
    per_type: usize,
    seed: u64,
    mark: bool,
) -> anyhow::Result<Vec<Variant>> {
    let mut orgs = Vec::new();
    let mut normalized_count: HashMap<String, usize> = HashMap::new();
    // Names by their parts: a query with the parts of a name needs no
    // change to be that name ([`budget::changes`]).
    let mut parts_count: HashMap<String, usize> = HashMap::new();
    for (i, line) in subjects.lines().enumerate() {
        let line = line.with_context(|| format!("line {}", i + 1))?;
        let l: Line = serde_json::from_str(&line).with_context(|| format!("line {}", i + 1))?;
        for n in std::iter::once(&l.name).chain(&l.aliases) {
            *normalized_count.entry(normalize(n)).or_default() += 1;
            *parts_count.entry(budget::parts(n).key()).or_default() += 1;
        }
        if l.kind == "org" {
            orgs.push(Org {
                id: l.id,
                name: l.name,
                aliases: l.aliases,
            });
        }
    }
    let to_traditional = simplified_to_traditional();
    // Characters of the names' cores, by pinyin, for homophones and typos.
    let mut pool: Vec<char> = Vec::new();
    let mut seen = HashSet::new();
    for o in &orgs {
        if let Some((_, core, _)) = split(&o.name) {
            // Characters only: a bracket is no typo of a trade name.
            pool.extend(
                core.chars()
                    .filter(|c| !matches!(c, '（' | '）'))
                    .filter(|c| seen.insert(*c)),
            );
        }
    }
    pool.sort_unstable();
    let mut by_pinyin: HashMap<String, Vec<char>> = HashMap::new();
    for &c in &pool {
        by_pinyin
            .entry(pinyin_key(&c.to_string()))
            .or_default()
            .push(c);
    }
    // A name a register could hold: no other has its normalized text, nor
    // needs no change to be it ([`budget::changes`]). The generator draws
    // names independently, so at millions of subjects it makes pairs such
    // as 江西华达食品有限公司 and 江西省华达食品有限责任公司 that the
    // registration rules (one trade name per industry and authority) never
    // let into a real register; a query made from one of them cannot say
    // which it is.
    let unique = |name: &str| {
        normalized_count.get(&normalize(name)) == Some(&1)
            && parts_count.get(&budget::parts(name).key()) == Some(&1)
    };
    let exists = |name: &str| {
        normalized_count.contains_key(&normalize(name))
            || parts_count.contains_key(&budget::parts(name).key())
    };
    let mut out = Vec::new();
    for (t, kind) in TYPES.iter().enumerate() {
        let mut rng = Rng::new(seed, t as u64, 7);
        let mut made = 0;
        let mut tries = 0;
        while made < per_type && tries < per_type * 200 {
            tries += 1;
            if *kind == "absent" {
                let place = rng.pick(vocab::REGIONS).name;
                let n = 2 + rng.below(2) as usize;
                let trade: String = (0..n).map(|_| *rng.pick(&pool)).collect();
                let industry = rng.pick(vocab::INDUSTRIES).0;
                let form = *rng.pick(&FORMS[1..5]);
                let query = format!("{place}{trade}{industry}{form}");
                if !exists(&query) {
                    out.push(Variant {
                        kind: kind.to_string(),
                        query,
                        target: None,
                        from: None,
                        ambiguous: false,
                        budget: None,
                        rivals: None,
                    });
                    made += 1;
                }
                continue;
            }
            let o = rng.pick(&orgs);
            if !unique(&o.name) {
                continue;
            }
            let Some(query) = variant(kind, o, &mut rng, &to_traditional, &by_pinyin, &pool) else {
                continue;
            };
            // A former name typed: it must be one a register could hold too.
            if *kind == "alias" && !unique(&query) {
                continue;
            }
            // A change that lands on another subject's name (as written, or
            // needing no change to be it) is that subject.
            let changes_core = matches!(*kind, "homophone" | "typo" | "swap");
            let changed = std::iter::once(&o.name)
                .chain(&o.aliases)
                .all(|n| budget::changes(&query, n) > 0);
            if query == o.name
                || (changes_core && exists(&query))
                || (*kind != "pinyin"
                    && changed
                    && parts_count.contains_key(&budget::parts(&query).key()))
            {
                continue;
            }
            out.push(Variant {
                kind: kind.to_string(),
                query,
                target: Some(o.id.clone()),
                from: Some(o.name.clone()),
                ambiguous: false,
                budget: None,
                rivals: None,
            });
            made += 1;
        }
    }
    mark_ambiguous(&mut out, &orgs, &normalized_count, mark);
    Ok(out)
}

fn variant(
    kind: &str,
    o: &Org,
    rng: &mut Rng,
    to_traditional: &HashMap<char, char>,
    by_pinyin: &HashMap<String, Vec<char>>,
    pool: &[char],
) -> Option<String> {
    let core_edit = |rng: &mut Rng, f: &dyn Fn(&mut Rng, &mut Vec<char>) -> bool| {
        let (place, core, form) = split_core(&o.name)?;
        let mut chars: Vec<char> = core.chars().collect();
        f(rng, &mut chars).then(|| format!("{place}{}{form}", chars.iter().collect::<String>()))
    };
    match kind {
        "traditional" => {
            let t: String = o
                .name
                .chars()
                .map(|c| to_traditional.get(&c).copied().unwrap_or(c))
                .collect();
            Some(t)
        }
        "width" => {
            let mut t: String = o
                .name
                .chars()
                .map(|c| match c {
                    '（' => '(',
                    '）' => ')',
                    '!'..='~' => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
                    c => c,
                })
                .collect();
            if let Some((place, _, _)) = split(&o.name).filter(|(p, _, _)| !p.is_empty()) {
                t.insert(place.len(), '\u{3000}');
            }
            Some(t)
        }
        "form" => {
            let (place, core, form) = split(&o.name)?;
            let to = match (form, rng.below(2)) {
                (_, 0) => "",
                ("有限公司", _) => "有限责任公司",
                ("有限责任公司", _) => "有限公司",
                ("股份有限公司", _) => "有限公司",
                _ => "",
            };
            Some(format!("{place}{core}{to}"))
        }
        "region" => {
            if let Some((open, close)) = o.name.find('（').zip(o.name.find('）')) {
                let inner = &o.name[open + '（'.len_utf8()..close];
                // (有限合伙) is a form, not a place.
                if !vocab::REGIONS.iter().any(|r| r.short == inner) {
                    return None;
                }
                let without = format!("{}{}", &o.name[..open], &o.name[close + '）'.len_utf8()..]);
                return Some(if rng.below(2) == 0 {
                    without
                } else {
                    format!("{inner}{without}")
                });
            }
            let (place, core, form) = split(&o.name)?;
            if place.is_empty() {
                return None;
            }
            let short = vocab::REGIONS
                .iter()
                .find(|r| r.name == place)
                .map_or(place, |r| r.short);
            Some(if rng.below(2) == 0 {
                format!("{core}{form}")
            } else {
                format!("{core}（{short}）{form}")
            })
        }
        "homophone" => core_edit(rng, &|rng, chars| {
            let at = rng.below(chars.len() as u64) as usize;
            let Some(same) = by_pinyin.get(&pinyin_key(&chars[at].to_string())) else {
                return false;
            };
            let others: Vec<char> = same.iter().copied().filter(|&c| c != chars[at]).collect();
            if others.is_empty() {
                return false;
            }
            chars[at] = *rng.pick(&others);
            true
        }),
        "typo" => core_edit(rng, &|rng, chars| {
            let at = rng.below(chars.len() as u64) as usize;
            match rng.below(3) {
                0 => chars.insert(at, *rng.pick(pool)),
                1 => {
                    chars.remove(at);
                }
                _ => chars[at] = *rng.pick(pool),
            }
            true
        }),
        "swap" => core_edit(rng, &|rng, chars| {
            let at = rng.below(chars.len() as u64 - 1) as usize;
            if chars[at] == chars[at + 1] {
                return false;
            }
            chars.swap(at, at + 1);
            true
        }),
        "alias" => o.aliases.iter().find(|a| !a.is_ascii()).cloned(),
        "short" => {
            if o.name.ends_with("分公司") {
                return None;
            }
            let name = match o.name.find('（').zip(o.name.find('）')) {
                Some((open, close)) => {
                    format!("{}{}", &o.name[..open], &o.name[close + '）'.len_utf8()..])
                }
                None => o.name.clone(),
            };
            let (_, core, _) = split(&name)?;
            Some(core.to_string())
        }
        "province" => {
            let (place, _, _) = split(&o.name)?;
            let region = vocab::REGIONS.iter().find(|r| r.name == place)?;
            // A city of Jiangxi, not the province itself.
            (region.division.starts_with("36") && region.short != "江西")
                .then(|| format!("江西{}", o.name))
        }
        "pinyin" => Some(
            o.name
                .chars()
                .filter_map(|c| {
                    let p = pinyin_key(&c.to_string());
                    (!p.is_empty()).then_some(p)
                })
                .collect::<Vec<_>>()
                .join(" "),
        ),
        _ => None,
    }
}

/// Marks queries that another subject's name is at least as close to.
/// With `by_distance` false, only the checks by exact keys run (region, form,
/// alias); typed changes stay unmarked.
fn mark_ambiguous(
    variants: &mut [Variant],
    orgs: &[Org],
    normalized_count: &HashMap<String, usize>,
    by_distance: bool,
) {
    let texts = |pinyin: bool| -> Vec<(usize, Vec<char>)> {
        if !by_distance {
            return Vec::new();
        }
        orgs.iter()
            .enumerate()
            .flat_map(|(i, o)| {
                std::iter::once(&o.name)
                    .chain(&o.aliases)
                    .map(move |n| (i, n))
            })
            .map(|(i, n)| {
                let t = if pinyin { pinyin_key(n) } else { normalize(n) };
                (i, t.chars().collect())
            })
            .collect()
    };
    let plain = texts(false);
    let spoken = texts(true);
    let index: HashMap<&str, usize> = orgs
        .iter()
        .enumerate()
        .map(|(i, o)| (o.id.as_str(), i))
        .collect();
    // Region and form variants change what a name says, not a character or
    // two: they are ambiguous when another organization has the same name
    // but for the part changed (华昌科技有限公司 for 南昌 and for 九江).
    let shape = |name: &str, keep_place: bool| -> Option<String> {
        let (place, core, form) = split(name)?;
        let form = if form == "有限责任公司" {
            "有限公司"
        } else {
            form
        };
        Some(if keep_place {
            format!("{place}|{core}")
        } else {
            format!("{core}|{form}")
        })
    };
    let mut shapes: HashMap<(bool, String), usize> = HashMap::new();
    for o in orgs {
        for keep_place in [false, true] {
            if let Some(k) = shape(&o.name, keep_place) {
                *shapes.entry((keep_place, k)).or_default() += 1;
            }
        }
    }
    for v in variants.iter_mut() {
        let Some(target) = v.target.as_deref().and_then(|t| index.get(t)).copied() else {
            continue;
        };
        if v.kind == "region" || v.kind == "form" {
            let keep_place = v.kind == "form";
            let name = &orgs[target].name;
            let unbracketed: String = {
                // 华远科技（南昌）有限公司 has its place in brackets.
                match name.find('（').zip(name.find('）')) {
                    Some((o, c)) => format!("{}{}", &name[..o], &name[c + '）'.len_utf8()..]),
                    None => name.clone(),
                }
            };
            v.ambiguous = shape(&unbracketed, keep_place)
                .is_some_and(|k| shapes.get(&(keep_place, k)).copied().unwrap_or(0) > 1);
            continue;
        }
        if v.kind == "alias" {
            // Another subject has this name too (current or former).
            v.ambiguous = normalized_count
                .get(&normalize(&v.query))
                .copied()
                .unwrap_or(0)
                > 1;
            continue;
        }
        if !by_distance {
            continue;
        }
        let pinyin = v.kind == "pinyin";
        let names = if pinyin { &spoken } else { &plain };
        let q: Vec<char> = if pinyin {
            pinyin_key(&v.query)
        } else {
            normalize(&v.query)
        }
        .chars()
        .collect();
        let mine = names
            .iter()
            .filter(|(i, _)| *i == target)
            .map(|(_, n)| distance(&q, n))
            .min()
            .unwrap_or(usize::MAX);
        v.ambiguous = names.iter().any(|(i, n)| {
            *i != target && n.len().abs_diff(q.len()) <= mine && distance(&q, n) <= mine
        });
    }
}

/// Writes variants as NDJSON.
pub fn write(variants: &[Variant], mut out: impl Write) -> std::io::Result<()> {
    for v in variants {
        serde_json::to_writer(&mut out, v)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Results of one variant type.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Tally {
    /// Queries of the type.
    pub queries: usize,
    /// Target ranked first.
    pub at1: usize,
    /// Target in the first ten.
    pub at10: usize,
    /// Queries not marked ambiguous.
    pub clear: usize,
    /// Of those, target ranked first.
    pub clear_at1: usize,
    /// Of those, target in the first ten.
    pub clear_at10: usize,
    /// `absent`: queries with a result scoring 0.8 or more.
    pub false_hits: usize,
}

impl Tally {
    /// Recall at 1 over all queries of the type.
    pub fn recall_at1(&self) -> f64 {
        self.at1 as f64 / self.queries.max(1) as f64
    }

    /// Recall at 10 over all queries of the type.
    pub fn recall_at10(&self) -> f64 {
        self.at10 as f64 / self.queries.max(1) as f64
    }
}

/// What [`score`] measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Per type, in [`TYPES`] order.
    pub types: Vec<(String, Tally)>,
    /// Microseconds per query, sorted.
    pub micros: Vec<f64>,
    /// Per type (in [`TYPES`] order): microseconds per query, sorted.
    pub micros_by_type: Vec<Vec<f64>>,
}

impl Report {
    /// The `p`-quantile of the query latencies (0 ≤ p ≤ 1).
    pub fn latency(&self, p: f64) -> f64 {
        quantile(&self.micros, p)
    }

    /// The `p`-quantile of the latencies of type `t` (an index into [`TYPES`]).
    pub fn type_latency(&self, t: usize, p: f64) -> f64 {
        self.micros_by_type.get(t).map_or(0.0, |m| quantile(m, p))
    }
}

fn quantile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or(0.0)
}

/// Runs every query (limit 10, any kind) through `engine`'s search.
pub fn score(engine: &creditgate::engine::Engine, set: &[Variant]) -> Report {
    let mut types: Vec<(String, Tally)> = TYPES
        .iter()
        .map(|t| (t.to_string(), Tally::default()))
        .collect();
    let mut micros = Vec::with_capacity(set.len());
    let mut micros_by_type = vec![Vec::new(); TYPES.len()];
    for v in set {
        let started = std::time::Instant::now();
        let hits = engine
            .search(&creditgate::search::SearchQuery {
                text: &v.query,
                kind: None,
                limit: 10,
                id_prefix: None,
                born: None,
                mask: None,
                min_score: 0.0,
                settle_only: false,
            })
            .unwrap_or_default();
        let took = started.elapsed().as_secs_f64() * 1e6;
        if std::env::var("CREDITGATE_SLOW_US")
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .is_some_and(|t| took > t)
        {
            eprintln!("slow {took:.0} µs: {} {:?}", v.kind, v.query);
        }
        micros.push(took);
        if let Some(i) = TYPES.iter().position(|t| *t == v.kind) {
            micros_by_type[i].push(took);
        }
        let Some((_, t)) = types.iter_mut().find(|(k, _)| *k == v.kind) else {
            continue;
        };
        t.queries += 1;
        match &v.target {
            None => t.false_hits += usize::from(hits.iter().any(|h| h.score >= 0.8)),
            Some(target) => {
                let rank = hits.iter().position(|h| &h.id == target);
                let (one, ten) = (rank == Some(0), rank.is_some());
                t.at1 += usize::from(one);
                t.at10 += usize::from(ten);
                if !v.ambiguous {
                    t.clear += 1;
                    t.clear_at1 += usize::from(one);
                    t.clear_at10 += usize::from(ten);
                }
            }
        }
    }
    micros.sort_by(f64::total_cmp);
    for m in &mut micros_by_type {
        m.sort_by(f64::total_cmp);
    }
    Report {
        types,
        micros,
        micros_by_type,
    }
}

/// Reads a variant set.
pub fn read(input: impl BufRead) -> anyhow::Result<Vec<Variant>> {
    let mut set = Vec::new();
    for (i, line) in input.lines().enumerate() {
        let line = line.with_context(|| format!("line {}", i + 1))?;
        set.push(serde_json::from_str(&line).with_context(|| format!("line {}", i + 1))?);
    }
    Ok(set)
}

/// Results a query's rivals are looked for among.
pub const RIVALS_SEARCHED: usize = 100;

/// Marks every query of `set` by the edit budget (issue #26): `budget` is
/// how many changes ([`crate::budget::changes`]) turn the target's closest
/// name into the query, `rivals` how many other subjects are within it, and
/// the query is `ambiguous` when there is one. Rivals are looked for through
/// `engine`'s name index ([`RIVALS_SEARCHED`] results, any kind, no score
/// floor) but counted by the generator's own model, so a rival the index
/// ranks low still counts; one it cannot reach at all is missed. `absent`
/// queries keep no budget. Runs on `threads` threads.
pub fn mark_by_index(engine: &creditgate::engine::Engine, set: &mut [Variant], threads: usize) {
    let chunk = set.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|scope| {
        for part in set.chunks_mut(chunk) {
            scope.spawn(move || {
                for v in part {
                    mark_one(engine, v);
                }
            });
        }
    });
}

fn mark_one(engine: &creditgate::engine::Engine, v: &mut Variant) {
    use crate::budget::changes;
    let Some(target) = v.target.clone() else {
        return;
    };
    let hits = engine
        .search(&creditgate::search::SearchQuery {
            text: &v.query,
            kind: None,
            limit: RIVALS_SEARCHED,
            id_prefix: None,
            born: None,
            mask: None,
            min_score: 0.0,
            settle_only: false,
        })
        .unwrap_or_default();
    let cost = |h: &creditgate::search::Hit| {
        changes(&v.query, &h.name).min(changes(&v.query, &h.matched_name))
    };
    let budget = hits
        .iter()
        .find(|h| h.id == target)
        .map(cost)
        .unwrap_or_else(|| match (v.kind.as_str(), v.from.as_deref()) {
            ("alias", _) => 0,
            (_, Some(from)) => changes(&v.query, from),
            (_, None) => usize::MAX,
        });
    let rivals = hits
        .iter()
        .filter(|h| h.id != target && cost(h) <= budget)
        .count();
    v.budget = Some(budget);
    v.rivals = Some(rivals);
    v.ambiguous = rivals > 0;
}
