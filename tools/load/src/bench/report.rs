//! What a benchmark run found, and its three forms: `report.json` (every
//! figure), `report.md` (the tables an operator puts in front of a
//! manager) and the SVG plots beside them.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use creditgate_gen::chart::{Axis, Bars, Lines, Series};
use serde::Serialize;

use crate::search::SearchFigures;

/// The machine the figures were measured on.
#[derive(Serialize, Debug)]
pub struct Machine {
    pub cores: usize,
    pub memory_gib: f64,
    pub kernel: String,
    pub cpu: String,
}

impl Machine {
    /// This machine, read from /proc.
    pub fn here() -> Machine {
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        let memory_kib = crate::procs::proc_kib("/proc/meminfo", "MemTotal:").unwrap_or(0);
        Machine {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_gib: memory_kib as f64 / f64::from(1 << 20),
            kernel: read("/proc/sys/kernel/osrelease").trim().to_string(),
            cpu: read("/proc/cpuinfo")
                .lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
                .unwrap_or_default(),
        }
    }
}

/// One import into a fresh store, as `creditgate import` runs it: the
/// files loaded, then the name index, status index and known set built
/// (a store it leaves is ready to serve).
#[derive(Serialize, Debug)]
pub struct Import {
    pub subjects: u64,
    /// The whole command.
    pub seconds: f64,
    /// Subjects over the whole command's time.
    pub subjects_per_s: f64,
    /// Loading the subjects file alone, as the import reports it.
    pub subjects_file_seconds: Option<f64>,
    /// Building the name index, as the import reports it.
    pub name_index_seconds: Option<f64>,
    pub store_bytes: u64,
}

/// The served store: how long it took to open and what it holds.
#[derive(Serialize, Debug)]
pub struct Opened {
    /// From start to listening.
    pub open_seconds: f64,
    /// Resident memory once the block cache is warmed.
    pub rss_bytes: u64,
    pub rss_bytes_per_subject: f64,
    pub store_bytes: u64,
}

/// One run of the load tool, as it reports it.
#[derive(Serialize, Debug, Clone)]
pub struct Run {
    /// The asked rate; `None`: closed loop.
    pub target_rps: Option<f64>,
    pub throughput_rps: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub max_us: f64,
    pub non_200: u64,
    pub errors: u64,
}

impl Run {
    /// From the load tool's `--json` line.
    pub fn from_json(v: &serde_json::Value) -> anyhow::Result<Run> {
        let num = |p: &str| {
            v.pointer(p)
                .and_then(serde_json::Value::as_f64)
                .with_context(|| format!("the load tool's report has no {p}: {v}"))
        };
        Ok(Run {
            target_rps: v["target_rate"].as_f64(),
            throughput_rps: num("/throughput_rps")?,
            p50_us: num("/latency_us/p50")?,
            p99_us: num("/latency_us/p99")?,
            p999_us: num("/latency_us/p999")?,
            max_us: num("/latency_us/max")?,
            non_200: v["non_200"].as_u64().unwrap_or(0),
            errors: v["errors"].as_u64().unwrap_or(0),
        })
    }
}

/// Closed-loop checks against the empty handler, alternating.
#[derive(Serialize, Debug)]
pub struct Ratio {
    /// Per round: (empty handler req/s, check req/s).
    pub rounds: Vec<(f64, f64)>,
    pub median_baseline_rps: f64,
    pub median_check_rps: f64,
    /// Median over rounds of check / empty handler.
    pub median_ratio: f64,
    /// Median over rounds of the checks' p99.
    pub check_p99_us: f64,
}

/// Screening one uploaded file.
#[derive(Serialize, Debug)]
pub struct Screening {
    /// What a row gives: `id` or `name`.
    pub rows_of: String,
    pub rows: u64,
    pub seconds: f64,
    pub rows_per_s: f64,
}

/// Checks at a fixed rate, without and then with writes beside them.
#[derive(Serialize, Debug)]
pub struct WritesBeside {
    pub write_rate: f64,
    pub writes_acknowledged: u64,
    pub writes_failed: u64,
    pub without: Run,
    pub with: Run,
}

/// The peer's figures (PostgreSQL with `pg_trgm`).
#[derive(Serialize, Debug)]
pub struct Peer {
    pub name: String,
    pub version: String,
    pub import_seconds: f64,
    pub import_subjects_per_s: f64,
    pub store_bytes: u64,
    pub lookup: Run,
    /// On the peer's share of the variant set ([`Report::search_on_peer_set`]).
    pub search: SearchFigures,
    /// Searches cancelled at the statement timeout (counted as finding
    /// nothing).
    pub search_timeouts: usize,
    pub statement_timeout: String,
    pub similarity_threshold: f64,
}

/// Everything one `tools/dev bench` run measured.
#[derive(Serialize, Debug)]
pub struct Report {
    pub date: String,
    pub machine: Machine,
    pub subjects: u64,
    pub quick: bool,
    /// Seconds each measured run lasted.
    pub run_seconds: f64,
    pub connections: usize,
    pub note: String,
    pub imports: Vec<Import>,
    pub opened: Opened,
    pub ratio: Ratio,
    pub ladder: Vec<Run>,
    pub flagged: Run,
    pub named: Run,
    pub search: SearchFigures,
    /// With a peer: creditgate's search on the queries the peer was given
    /// (the first of each type), for the side-by-side figures.
    pub search_on_peer_set: Option<SearchFigures>,
    pub screening: Vec<Screening>,
    pub writes: WritesBeside,
    pub peer: Option<Peer>,
}

/// A latency quantile of a run: its name and where the run keeps it.
type Quantile = (&'static str, fn(&Run) -> f64);

fn thousands(v: f64) -> String {
    let n = v.round() as i64;
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / f64::from(1 << 20))
}

fn us(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.1} ms", v / 1000.0)
    } else {
        format!("{v:.0} µs")
    }
}

impl Report {
    /// Writes `report.json`, `report.md` and the plots into `out`.
    pub fn write(&self, out: &Path) -> anyhow::Result<()> {
        let write = |name: &str, text: &str| {
            let path = out.join(name);
            std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
        };
        write("report.json", &serde_json::to_string_pretty(self)?)?;
        for (name, svg) in self.plots() {
            write(name, &svg)?;
        }
        write("report.md", &self.markdown())
    }

    /// creditgate's search figures to put beside the peer's: those on the
    /// peer's queries when there is a peer, else on the whole set.
    fn compared_search(&self) -> &SearchFigures {
        self.search_on_peer_set.as_ref().unwrap_or(&self.search)
    }

    /// The plots, by file name.
    pub fn plots(&self) -> Vec<(&'static str, String)> {
        let quantiles: [Quantile; 3] = [
            ("p50", |r| r.p50_us),
            ("p99", |r| r.p99_us),
            ("p99.9", |r| r.p999_us),
        ];
        let latency = quantiles
            .iter()
            .map(|(name, at)| Series {
                name: (*name).into(),
                points: self
                    .ladder
                    .iter()
                    .map(|r| (r.target_rps.unwrap_or(0.0), at(r)))
                    .collect(),
            })
            .collect();
        let ours = self.compared_search();
        let mut cdf = vec![Series {
            name: "creditgate".into(),
            points: ours.cdf.clone(),
        }];
        let mut bars = vec![
            ("empty handler".to_string(), self.ratio.median_baseline_rps),
            ("creditgate check".to_string(), self.ratio.median_check_rps),
        ];
        if let Some(peer) = &self.peer {
            cdf.push(Series {
                name: peer.name.clone(),
                points: peer.search.cdf.clone(),
            });
            bars.push((format!("{} lookup", peer.name), peer.lookup.throughput_rps));
        }
        vec![
            (
                "latency-vs-rate.svg",
                Lines {
                    title: format!(
                        "/v1/check latency at a fixed rate, {} subjects",
                        thousands(self.subjects as f64)
                    ),
                    x: Axis::linear("checks per second (asked)"),
                    y: Axis::log("latency, µs"),
                    series: latency,
                }
                .svg(),
            ),
            (
                "throughput-ratio.svg",
                Bars {
                    title: format!(
                        "closed-loop requests/s, {} connections (check / empty handler = {:.2})",
                        self.connections, self.ratio.median_ratio
                    ),
                    y_label: "requests per second".into(),
                    bars,
                }
                .svg(),
            ),
            (
                "search-latency-cdf.svg",
                Lines {
                    title: format!(
                        "name search latency, {} queries",
                        self.compared_search().queries
                    ),
                    x: Axis::log("latency, µs"),
                    y: Axis::linear("share of queries answered within"),
                    series: cdf,
                }
                .svg(),
            ),
            (
                "import-rate.svg",
                Lines {
                    title: "import rate against store size".into(),
                    x: Axis::log("subjects imported"),
                    y: Axis::linear("subjects per second"),
                    series: vec![Series {
                        name: "creditgate import".into(),
                        points: self
                            .imports
                            .iter()
                            .map(|i| (i.subjects as f64, i.subjects_per_s))
                            .collect(),
                    }],
                }
                .svg(),
            ),
        ]
    }

    /// The report as Markdown.
    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let m = &self.machine;
        let _ = writeln!(
            md,
            "# creditgate benchmark: {} subjects\n\n{} · {} cores, {:.0} GiB, Linux {} ({}) · {} s per run, {} connections{}\n\n{}\n",
            thousands(self.subjects as f64),
            self.date,
            m.cores,
            m.memory_gib,
            m.kernel,
            m.cpu,
            self.run_seconds,
            self.connections,
            if self.quick {
                " · **quick run: short runs, low rates; not for comparison**"
            } else {
                ""
            },
            self.note
        );
        let _ = writeln!(
            md,
            "## Summary\n\n| figure | creditgate |{}\n|---|---|{}",
            self.peer_head(),
            self.peer_rule()
        );
        let peer = self.peer.as_ref();
        let row = |md: &mut String, what: &str, ours: String, theirs: Option<String>| {
            let _ = writeln!(
                md,
                "| {what} | {ours} |{}",
                match (peer, theirs) {
                    (Some(_), Some(t)) => format!(" {t} |"),
                    (Some(_), None) => " — |".to_string(),
                    (None, _) => String::new(),
                }
            );
        };
        let top = self.ladder.last();
        row(
            &mut md,
            "exact lookup by id, closed loop (req/s)",
            thousands(self.ratio.median_check_rps),
            peer.map(|p| thousands(p.lookup.throughput_rps)),
        );
        row(
            &mut md,
            "lookup p99, closed loop",
            us(self.ratio.check_p99_us),
            peer.map(|p| us(p.lookup.p99_us)),
        );
        if let Some(top) = top {
            row(
                &mut md,
                &format!(
                    "check p99 at {}/s",
                    thousands(top.target_rps.unwrap_or(0.0))
                ),
                us(top.p99_us),
                None,
            );
        }
        let ours = self.compared_search();
        row(
            &mut md,
            "closed-loop checks / empty handler",
            format!("{:.3}", self.ratio.median_ratio),
            None,
        );
        row(
            &mut md,
            &format!("name search recall@1 / @10 ({} queries)", ours.queries),
            format!("{:.3} / {:.3}", ours.recall_at_1, ours.recall_at_10),
            peer.map(|p| format!("{:.3} / {:.3}", p.search.recall_at_1, p.search.recall_at_10)),
        );
        row(
            &mut md,
            "name search p50 / p99",
            format!("{} / {}", us(ours.p50_us), us(ours.p99_us)),
            peer.map(|p| format!("{} / {}", us(p.search.p50_us), us(p.search.p99_us))),
        );
        if let Some(last) = self.imports.last() {
            row(
                &mut md,
                "import to a servable store (subjects/s)",
                thousands(last.subjects_per_s),
                peer.map(|p| thousands(p.import_subjects_per_s)),
            );
            row(
                &mut md,
                "on disk",
                mib(last.store_bytes),
                peer.map(|p| mib(p.store_bytes)),
            );
        }
        for s in &self.screening {
            row(
                &mut md,
                &format!("screening, {} rows (rows/s)", s.rows_of),
                thousands(s.rows_per_s),
                None,
            );
        }
        row(
            &mut md,
            "memory per subject (resident)",
            format!("{:.0} B", self.opened.rss_bytes_per_subject),
            None,
        );
        row(
            &mut md,
            "open time",
            format!("{:.1} s", self.opened.open_seconds),
            None,
        );

        let _ = writeln!(
            md,
            "\n## Checks against the empty handler\n\nThe same server code answering every request with a constant body, alternating rounds, closed loop: what the engine costs.\n\n| round | empty handler (req/s) | check (req/s) | ratio |\n|---|---|---|---|"
        );
        for (i, (base, check)) in self.ratio.rounds.iter().enumerate() {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {:.3} |",
                i + 1,
                thousands(*base),
                thousands(*check),
                check / base
            );
        }
        let _ = writeln!(
            md,
            "\nMedian ratio **{:.3}**.\n\n![throughput](throughput-ratio.svg)\n",
            self.ratio.median_ratio
        );

        let _ = writeln!(
            md,
            "## Latency at a fixed rate\n\nThe load tool's default mix (1% flagged subjects), requests timed from when they were due.\n\n| asked (req/s) | served (req/s) | p50 | p99 | p99.9 | max | not 200 | errors |\n|---|---|---|---|---|---|---|---|"
        );
        for r in &self.ladder {
            md.push_str(&run_row(&thousands(r.target_rps.unwrap_or(0.0)), r));
        }
        let _ = writeln!(md, "\n![latency](latency-vs-rate.svg)\n");

        let _ = writeln!(
            md,
            "## Flagged and named checks (closed loop)\n\n| mix | served (req/s) | p50 | p99 | p99.9 | max | not 200 | errors |\n|---|---|---|---|---|---|---|---|"
        );
        md.push_str(&run_row("every subject flagged", &self.flagged));
        md.push_str(&run_row("every check carries the name", &self.named));

        let _ = writeln!(
            md,
            "\n## Name search\n\n{} queries of the variant set, each sent once, 4 connections. Recall counts the queries that mean a subject (not `absent`).\n\n| type | queries | recall@1 | recall@10 |\n|---|---|---|---|",
            self.search.queries,
        );
        for t in &self.search.by_type {
            let _ = writeln!(
                md,
                "| {} | {} | {:.3} | {:.3} |",
                t.kind, t.queries, t.recall_at_1, t.recall_at_10
            );
        }
        let _ = writeln!(
            md,
            "\nLatency: p50 {}, p99 {}, p99.9 {}, max {}; {} errors.\n\n![search](search-latency-cdf.svg)\n",
            us(self.search.p50_us),
            us(self.search.p99_us),
            us(self.search.p999_us),
            us(self.search.max_us),
            self.search.errors
        );

        let _ = writeln!(
            md,
            "## Screening\n\n| rows give | rows | seconds | rows/s |\n|---|---|---|---|"
        );
        for s in &self.screening {
            let _ = writeln!(
                md,
                "| {} | {} | {:.2} | {} |",
                s.rows_of,
                thousands(s.rows as f64),
                s.seconds,
                thousands(s.rows_per_s)
            );
        }

        let w = &self.writes;
        let _ = writeln!(
            md,
            "\n## Checks beside writes\n\nChecks at {}/s, without writes and then with {} writes/s beside them ({} acknowledged, {} failed).\n\n| | served (req/s) | p50 | p99 | p99.9 | max | not 200 | errors |\n|---|---|---|---|---|---|---|---|",
            thousands(w.without.target_rps.unwrap_or(0.0)),
            thousands(w.write_rate),
            thousands(w.writes_acknowledged as f64),
            w.writes_failed
        );
        md.push_str(&run_row("without writes", &w.without));
        md.push_str(&run_row("with writes", &w.with));

        let _ = writeln!(
            md,
            "\n## Import and open\n\n`creditgate import` into a fresh store, to a store ready to serve: the files loaded, then the name index, the status index and the known set built.\n\n| subjects | whole import (s) | subjects/s | of which the subjects file (s) | the name index (s) | on disk |\n|---|---|---|---|---|---|"
        );
        let secs = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v:.1}"));
        for i in &self.imports {
            let _ = writeln!(
                md,
                "| {} | {:.1} | {} | {} | {} | {} |",
                thousands(i.subjects as f64),
                i.seconds,
                thousands(i.subjects_per_s),
                secs(i.subjects_file_seconds),
                secs(i.name_index_seconds),
                mib(i.store_bytes)
            );
        }
        let o = &self.opened;
        let _ = writeln!(
            md,
            "\nOpened in {:.1} s; resident {} once warmed ({:.0} bytes per subject); store {} on disk.\n\n![import](import-rate.svg)",
            o.open_seconds,
            mib(o.rss_bytes),
            o.rss_bytes_per_subject,
            mib(o.store_bytes)
        );
        if let Some(p) = peer {
            let _ = writeln!(
                md,
                "\n## The peer: {} ({})\n\nThe same subjects, names (aliases included) and entries: a primary key on the id, entries indexed by subject, a GIN `pg_trgm` index on the names. A lookup reads a subject's row and its entries in one statement, from a Rust client (the `postgres` crate) at the same concurrency; a search is trigram similarity (`%` at threshold {}, ranked by `similarity`, one row per subject), the first ten.\n\n| | served (req/s) | p50 | p99 | p99.9 | max | not 200 | errors |\n|---|---|---|---|---|---|---|---|",
                p.name, p.version, p.similarity_threshold
            );
            md.push_str(&run_row("lookup by id, closed loop", &p.lookup));
            let _ = writeln!(
                md,
                "\nName search side by side on the peer's {} queries (the first of each type), 4 connections; a search the peer had not answered after {} was cancelled and counts as finding nothing ({} were).\n\n| type | queries | creditgate recall@1 | @10 | {} recall@1 | @10 |\n|---|---|---|---|---|---|",
                p.search.queries, p.statement_timeout, p.search_timeouts, p.name
            );
            for t in &p.search.by_type {
                let (a1, a10) = ours
                    .by_type
                    .iter()
                    .find(|x| x.kind == t.kind)
                    .map_or((0.0, 0.0), |x| (x.recall_at_1, x.recall_at_10));
                let _ = writeln!(
                    md,
                    "| {} | {} | {a1:.3} | {a10:.3} | {:.3} | {:.3} |",
                    t.kind, t.queries, t.recall_at_1, t.recall_at_10
                );
            }
            let _ = writeln!(
                md,
                "\nLoaded in {:.1} s ({} subjects/s, indexes included), {} on disk. Search: recall@1 {:.3}, recall@10 {:.3}, p50 {}, p99 {}.",
                p.import_seconds,
                thousands(p.import_subjects_per_s),
                mib(p.store_bytes),
                p.search.recall_at_1,
                p.search.recall_at_10,
                us(p.search.p50_us),
                us(p.search.p99_us)
            );
        }
        md
    }

    fn peer_head(&self) -> String {
        self.peer
            .as_ref()
            .map(|p| format!(" {} |", p.name))
            .unwrap_or_default()
    }

    fn peer_rule(&self) -> &'static str {
        if self.peer.is_some() { "---|" } else { "" }
    }
}

fn run_row(what: &str, r: &Run) -> String {
    format!(
        "| {what} | {} | {} | {} | {} | {} | {} | {} |\n",
        thousands(r.throughput_rps),
        us(r.p50_us),
        us(r.p99_us),
        us(r.p999_us),
        us(r.max_us),
        r.non_200,
        r.errors
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_people_write_them() {
        assert_eq!(thousands(1_234_567.4), "1,234,567");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(us(812.3), "812 µs");
        assert_eq!(us(25_400.0), "25.4 ms");
    }
}
