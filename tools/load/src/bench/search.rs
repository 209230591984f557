//! The search scenario: every query of a variant set (names as users type
//! them: typos, swapped characters, pinyin, aliases, shortened, absent…)
//! sent once to a name search over HTTP, a few connections at a time.
//! Each query's latency is kept, and whether the subject meant came first
//! (recall@1) or among the first ten (recall@10). The same runner drives
//! the PostgreSQL peer through its own `ask` function.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use creditgate_gen::variants::Variant;
use serde::Serialize;

/// Recall of one variant type.
#[derive(Serialize, Clone, Debug)]
pub struct TypeRecall {
    #[serde(rename = "type")]
    pub kind: String,
    pub queries: usize,
    pub recall_at_1: f64,
    pub recall_at_10: f64,
}

/// What the search scenario measured.
#[derive(Serialize, Clone, Debug)]
pub struct SearchFigures {
    pub queries: usize,
    /// Queries answered with an error (not counted in recall).
    pub errors: usize,
    pub p50_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub max_us: f64,
    /// Recall over the queries that have a subject meant (not `absent`).
    pub recall_at_1: f64,
    pub recall_at_10: f64,
    pub by_type: Vec<TypeRecall>,
    /// The latency distribution: `(µs, share of queries at most that)`.
    pub cdf: Vec<(f64, f64)>,
}

/// One query's outcome: its latency (µs) and the rank of the subject
/// meant among the ids found (`None`: not found); `None` when the query
/// failed.
type Outcome = Option<(f64, Option<usize>)>;

/// Sends every query of `set` through `ask` from `connections` threads
/// (each with its own state from `open`). `ask` returns the ids found,
/// best first, at most ten.
pub fn run<C>(
    set: &[Variant],
    connections: usize,
    open: impl Fn() -> anyhow::Result<C> + Sync,
    ask: impl Fn(&mut C, &str) -> anyhow::Result<Vec<String>> + Sync,
) -> anyhow::Result<SearchFigures> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Mutex<Vec<Outcome>> = Mutex::new(vec![None; set.len()]);
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let workers: Vec<_> = (0..connections.max(1))
            .map(|_| {
                scope.spawn(|| -> anyhow::Result<()> {
                    let mut conn = open()?;
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(v) = set.get(i) else { break };
                        let started = Instant::now();
                        let found = ask(&mut conn, &v.query);
                        let us = started.elapsed().as_secs_f64() * 1e6;
                        match found {
                            Ok(ids) => {
                                let rank = v
                                    .target
                                    .as_ref()
                                    .and_then(|t| ids.iter().position(|id| id == t));
                                mine.push((i, Some((us, rank))));
                            }
                            Err(_) => {
                                mine.push((i, None));
                                conn = open()?;
                            }
                        }
                    }
                    let mut all = results.lock().expect("no worker panics holding it");
                    for (i, r) in mine {
                        all[i] = r;
                    }
                    Ok(())
                })
            })
            .collect();
        for w in workers {
            w.join()
                .map_err(|_| anyhow::anyhow!("a search worker panicked"))??;
        }
        Ok(())
    })?;
    let results = results.into_inner().expect("the workers are done");
    Ok(figures(set, &results))
}

fn figures(set: &[Variant], results: &[Outcome]) -> SearchFigures {
    let mut latencies: Vec<f64> = results.iter().flatten().map(|r| r.0).collect();
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| {
        if latencies.is_empty() {
            return 0.0;
        }
        latencies[((latencies.len() - 1) as f64 * q).round() as usize]
    };
    let mut by_type: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    for (v, r) in set.iter().zip(results) {
        let (Some((_, rank)), Some(_)) = (r, &v.target) else {
            continue;
        };
        let t = by_type.entry(&v.kind).or_default();
        t.0 += 1;
        t.1 += usize::from(*rank == Some(0));
        t.2 += usize::from(rank.is_some_and(|r| r < 10));
    }
    let share = |n: usize, of: usize| if of == 0 { 0.0 } else { n as f64 / of as f64 };
    let (n, at1, at10) = by_type
        .values()
        .fold((0, 0, 0), |a, t| (a.0 + t.0, a.1 + t.1, a.2 + t.2));
    let points = 100.min(latencies.len());
    let cdf = (1..=points)
        .map(|k| {
            let q = k as f64 / points as f64;
            (at(q), q)
        })
        .collect();
    SearchFigures {
        queries: set.len(),
        errors: results.iter().filter(|r| r.is_none()).count(),
        p50_us: at(0.5),
        p99_us: at(0.99),
        p999_us: at(0.999),
        max_us: latencies.last().copied().unwrap_or(0.0),
        recall_at_1: share(at1, n),
        recall_at_10: share(at10, n),
        by_type: by_type
            .into_iter()
            .map(|(kind, t)| TypeRecall {
                kind: kind.to_string(),
                queries: t.0,
                recall_at_1: share(t.1, t.0),
                recall_at_10: share(t.2, t.0),
            })
            .collect(),
        cdf,
    }
}

/// The ids of a `/v1/search` answer's results, in order.
pub fn ids_in(answer: &[u8]) -> anyhow::Result<Vec<String>> {
    let body = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(answer, |i| &answer[i + 4..]);
    let parsed: serde_json::Value = serde_json::from_slice(body)?;
    let results = parsed["results"]
        .as_array()
        .ok_or_else(|| anyhow::anyhow!("no results array"))?;
    Ok(results
        .iter()
        .filter_map(|r| r["id"].as_str().map(str::to_string))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variant(kind: &str, target: Option<&str>) -> Variant {
        Variant {
            kind: kind.into(),
            query: "q".into(),
            target: target.map(str::to_string),
            from: None,
            ambiguous: false,
            budget: None,
            rivals: None,
        }
    }

    #[test]
    fn recall_counts_ranks_and_leaves_out_errors_and_absent_names() {
        let set = [
            variant("typo", Some("A")),
            variant("typo", Some("B")),
            variant("typo", Some("C")),
            variant("pinyin", Some("D")),
            variant("absent", None),
        ];
        let results = [
            Some((10.0, Some(0))),
            Some((20.0, Some(3))),
            None,
            Some((40.0, None)),
            Some((30.0, None)),
        ];
        let f = figures(&set, &results);
        assert_eq!((f.queries, f.errors), (5, 1));
        let typo = &f.by_type.iter().find(|t| t.kind == "typo").unwrap();
        assert_eq!(typo.queries, 2);
        assert_eq!((typo.recall_at_1, typo.recall_at_10), (0.5, 1.0));
        assert!((f.recall_at_1 - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(f.max_us, 40.0);
        assert_eq!(f.cdf.last(), Some(&(40.0, 1.0)));
        assert!(!f.by_type.iter().any(|t| t.kind == "absent"));
    }

    #[test]
    fn ids_come_from_the_answer_body_in_order() {
        let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\n{\"results\":[{\"id\":\"X\"},{\"id\":\"Y\"}]}";
        assert_eq!(ids_in(answer).unwrap(), vec!["X", "Y"]);
        assert!(ids_in(b"HTTP/1.1 200 OK\r\n\r\n{}").is_err());
    }
}
