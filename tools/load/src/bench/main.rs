//! `creditgate-bench`: the operators' benchmark suite in one command
//! (`tools/dev bench`). It generates data (or reuses it), imports it at
//! three sizes, serves it, and runs the standard scenarios with the
//! project's own load tool: closed-loop checks against the empty handler,
//! a fixed-rate latency ladder, flagged and named checks, name search
//! (latency and recall on a variant set), screening by id and by name, and
//! checks beside writes. `--peer postgres` puts PostgreSQL beside it
//! (`peer.rs`). It writes `report.json`, `report.md` and SVG plots into
//! `--out`, and says on stderr what it is doing.
//!
//! The server, the baseline and the load tool are separate processes on
//! this machine: they share its cores, and the report says so.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;

#[path = "../conn.rs"]
#[allow(dead_code)]
mod conn;
mod peer;
mod procs;
mod report;
#[path = "../rng.rs"]
mod rng;
mod search;

use creditgate_gen::variants::Variant;
use procs::{Running, Tools, free_port, last_json, output};
use report::{Import, Opened, Ratio, Report, Run, Screening, WritesBeside};

#[derive(Parser)]
#[command(name = "creditgate-bench", version, about)]
struct Args {
    /// Subjects in the served store.
    #[arg(long, default_value_t = 10_000_000)]
    subjects: u64,
    /// Where the report, its plots and the working files go.
    #[arg(long, default_value = "bench-report")]
    out: PathBuf,
    /// Where generated data sets are kept (`DIR/N` per size) and reused.
    #[arg(long, default_value = "gen")]
    gen_dir: PathBuf,
    /// Short runs at low rates: checks that everything works, not figures.
    #[arg(long)]
    quick: bool,
    /// Measure an alternative beside creditgate: `postgres` (a private
    /// PostgreSQL on loopback: primary key on the id, `pg_trgm` on names).
    #[arg(long, value_parser = ["postgres"])]
    peer: Option<String>,
    /// Keep-alive connections of the check runs.
    #[arg(long, default_value_t = 32)]
    connections: usize,
}

/// Tells the operator what is being done, numbered.
struct Progress {
    step: usize,
    steps: usize,
    began: Instant,
    current: Option<(String, Instant)>,
}

impl Progress {
    fn new(steps: usize) -> Progress {
        Progress {
            step: 0,
            steps,
            began: Instant::now(),
            current: None,
        }
    }

    fn start(&mut self, what: &str) {
        self.finish("");
        self.step += 1;
        eprintln!("[{}/{}] {what} …", self.step, self.steps);
        self.current = Some((what.to_string(), Instant::now()));
    }

    /// Says the step is done, with what it found.
    fn finish(&mut self, found: &str) {
        if let Some((what, at)) = self.current.take() {
            eprintln!(
                "[{}/{}] {what}: {}{:.1} s (total {:.0} s)",
                self.step,
                self.steps,
                if found.is_empty() {
                    String::new()
                } else {
                    format!("{found}; ")
                },
                at.elapsed().as_secs_f64(),
                self.began.elapsed().as_secs_f64()
            );
        }
    }
}

/// How long and how hard the scenarios run.
struct Plan {
    seconds: f64,
    warmup: f64,
    ratio_rounds: usize,
    rates: Vec<f64>,
    writes_check_rate: f64,
    write_rate: f64,
    search_per_type: usize,
    /// Queries of each type the peer is given.
    peer_per_type: usize,
    id_rows: u64,
    name_rows: u64,
    /// Clean ids the checks draw from, the first of subjects.ndjson; the
    /// writes use the next as many.
    pool: u64,
    /// Keep-alive connections of the check runs.
    connections: usize,
}

impl Plan {
    fn new(quick: bool, subjects: u64, connections: usize) -> Plan {
        let pool = (subjects / 2).min(200_000);
        if quick {
            Plan {
                seconds: 1.0,
                warmup: 0.5,
                ratio_rounds: 1,
                rates: vec![500.0, 1000.0],
                writes_check_rate: 500.0,
                write_rate: 20.0,
                search_per_type: 10,
                peer_per_type: 10,
                id_rows: 2_000,
                name_rows: 500,
                pool,
                connections,
            }
        } else {
            Plan {
                seconds: 10.0,
                warmup: 2.0,
                ratio_rounds: 3,
                rates: vec![5_000.0, 10_000.0, 20_000.0, 40_000.0],
                writes_check_rate: 10_000.0,
                write_rate: 200.0,
                search_per_type: 200,
                peer_per_type: 20,
                id_rows: 1_000_000,
                name_rows: 100_000,
                pool,
                connections,
            }
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    match bench(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("creditgate-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The data set of `n` subjects, generated unless already there.
fn dataset(tools: &Tools, gen_dir: &Path, n: u64) -> anyhow::Result<PathBuf> {
    let dir = gen_dir.join(n.to_string());
    if !(dir.join("subjects.ndjson").is_file() && dir.join("entries.ndjson").is_file()) {
        output(
            &tools.gen_,
            &[
                "--subjects",
                &n.to_string(),
                "--out",
                &dir.display().to_string(),
            ],
        )?;
    }
    Ok(dir)
}

/// Imports `data` into a fresh `store`, timed.
fn import(tools: &Tools, data: &Path, store: &Path, n: u64) -> anyhow::Result<Import> {
    if store.exists() {
        std::fs::remove_dir_all(store)
            .with_context(|| format!("cannot remove {}", store.display()))?;
    }
    let started = Instant::now();
    let (_, said) = procs::outputs(
        &tools.creditgate,
        &[
            "import",
            "--data",
            &store.display().to_string(),
            &data.join("subjects.ndjson").display().to_string(),
            &data.join("entries.ndjson").display().to_string(),
        ],
    )?;
    let seconds = started.elapsed().as_secs_f64();
    let subjects_seconds = said
        .lines()
        .find(|l| l.contains("subjects read:"))
        .and_then(|l| seconds_in(l, "("));
    let name_index_seconds = said
        .lines()
        .find(|l| l.starts_with("name index:"))
        .and_then(|l| seconds_in(l, "built in "));
    Ok(Import {
        subjects: n,
        seconds,
        subjects_per_s: n as f64 / seconds,
        subjects_file_seconds: subjects_seconds,
        name_index_seconds,
        store_bytes: procs::dir_bytes(store),
    })
}

/// The seconds written right after `after` in `line` (`… (1.52 s, …`).
fn seconds_in(line: &str, after: &str) -> Option<f64> {
    let rest = &line[line.find(after)? + after.len()..];
    rest.split_once(" s")?.0.trim().parse().ok()
}

/// Check runs of the load tool against one data set, as the plan says.
struct Checks<'a> {
    load: &'a Path,
    data: String,
    plan: &'a Plan,
}

impl Checks<'_> {
    /// `creditgate-load run` against `url` with `extra` arguments; its
    /// report.
    fn run(&self, url: &str, extra: &[&str]) -> anyhow::Result<Run> {
        let p = self.plan;
        let (seconds, warmup) = (p.seconds.to_string(), p.warmup.to_string());
        let (connections, pool) = (p.connections.to_string(), p.pool.to_string());
        let mut args = vec![
            "run",
            "--url",
            url,
            "--dataset",
            &self.data,
            "-d",
            &seconds,
            "--warmup",
            &warmup,
            "-c",
            &connections,
            "--pool",
            &pool,
            "--json",
        ];
        args.extend_from_slice(extra);
        Run::from_json(&last_json(&output(self.load, &args)?)?)
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn bench(args: &Args) -> anyhow::Result<()> {
    let this = std::env::current_exe().context("cannot find this program")?;
    let tools = Tools::beside(&this)?;
    if args.subjects < 10_000 {
        bail!(
            "--subjects {}: expected at least 10000 (checks draw clean ids from the first half, writes from the second, and fewer leave too few flagged subjects for the flagged runs)",
            args.subjects
        );
    }
    let plan = Plan::new(args.quick, args.subjects, args.connections);
    // Absolute: PostgreSQL's server resolves paths from its data directory.
    let out =
        std::path::absolute(&args.out).with_context(|| format!("--out {}", args.out.display()))?;
    let gen_dir = std::path::absolute(&args.gen_dir)
        .with_context(|| format!("--gen-dir {}", args.gen_dir.display()))?;
    let work = out.join("work");
    std::fs::create_dir_all(&work).with_context(|| format!("cannot create {}", work.display()))?;
    let sizes: Vec<u64> = {
        let mut s: Vec<u64> = [args.subjects / 100, args.subjects / 10, args.subjects]
            .into_iter()
            .filter(|n| *n >= 10_000)
            .collect();
        s.dedup();
        s
    };
    let steps = sizes.len() + 8 + usize::from(args.peer.is_some());
    let mut progress = Progress::new(steps);

    let mut imports = Vec::new();
    let store = work.join("store");
    for &n in &sizes {
        progress.start(&format!("data and import, {n} subjects"));
        let data = dataset(&tools, &gen_dir, n)?;
        let into = if n == args.subjects {
            store.clone()
        } else {
            work.join(format!("import-{n}"))
        };
        let figures = import(&tools, &data, &into, n)?;
        if n != args.subjects {
            let _ = std::fs::remove_dir_all(&into);
        }
        progress.finish(&format!("{:.0} subjects/s", figures.subjects_per_s));
        imports.push(figures);
    }
    let data = gen_dir.join(args.subjects.to_string());

    progress.start("open the store and warm its block cache");
    let port = free_port()?;
    let started = Instant::now();
    let mut server = Running::start(
        "creditgate serve",
        &tools.creditgate,
        &[
            "serve",
            "--data",
            &store.display().to_string(),
            "--listen",
            &format!("127.0.0.1:{port}"),
        ],
        &work.join("serve.log"),
    )?;
    server.wait_for("listening", Duration::from_secs(1800))?;
    let open_seconds = started.elapsed().as_secs_f64();
    server.wait_for("warm", Duration::from_secs(1800))?;
    let rss = server.rss_bytes().unwrap_or(0);
    let opened = Opened {
        open_seconds,
        rss_bytes: rss,
        rss_bytes_per_subject: rss as f64 / args.subjects as f64,
        store_bytes: procs::dir_bytes(&store),
    };
    progress.finish(&format!(
        "open {open_seconds:.1} s, {} MiB resident",
        rss >> 20
    ));
    let url = format!("http://127.0.0.1:{port}");

    progress.start("closed-loop checks against the empty handler");
    let base_port = free_port()?;
    let mut baseline = Running::start(
        "the empty-handler baseline",
        &tools.load,
        &["baseline", "--listen", &format!("127.0.0.1:{base_port}")],
        &work.join("baseline.log"),
    )?;
    baseline.wait_listening(base_port, Duration::from_secs(30))?;
    let base_url = format!("http://127.0.0.1:{base_port}");
    let checks = Checks {
        load: &tools.load,
        data: data.display().to_string(),
        plan: &plan,
    };
    let mut rounds = Vec::new();
    let mut p99s = Vec::new();
    for _ in 0..plan.ratio_rounds {
        let base = checks.run(&base_url, &["--path", "/"])?;
        let check = checks.run(&url, &[])?;
        rounds.push((base.throughput_rps, check.throughput_rps));
        p99s.push(check.p99_us);
    }
    baseline.stop()?;
    let ratio = Ratio {
        median_baseline_rps: median(rounds.iter().map(|r| r.0).collect()),
        median_check_rps: median(rounds.iter().map(|r| r.1).collect()),
        median_ratio: median(rounds.iter().map(|r| r.1 / r.0).collect()),
        check_p99_us: median(p99s),
        rounds,
    };
    progress.finish(&format!("ratio {:.3}", ratio.median_ratio));

    progress.start("latency ladder at fixed rates");
    let mut ladder = Vec::new();
    for &rate in &plan.rates {
        let run = checks.run(&url, &["--rate", &rate.to_string()])?;
        eprintln!(
            "    {rate}/s: p50 {:.0} µs, p99 {:.0} µs, p99.9 {:.0} µs",
            run.p50_us, run.p99_us, run.p999_us
        );
        ladder.push(run);
    }
    progress.finish("");

    progress.start("flagged and named checks");
    let flagged = checks.run(&url, &["--flagged", "1"])?;
    let named = checks.run(&url, &["--named", "1"])?;
    progress.finish(&format!(
        "flagged {:.0} req/s, named {:.0} req/s",
        flagged.throughput_rps, named.throughput_rps
    ));

    progress.start("name search on the variant set");
    let set = variant_set(&data, &work, plan.search_per_type)?;
    let addr = format!("127.0.0.1:{port}");
    let search = search::run(&set, 4, || conn::Conn::open(&addr), ask_creditgate)?;
    // The peer is given the first of each type (trigram search takes
    // seconds a query at millions of names); creditgate answers the same
    // ones again for the side-by-side figures.
    let peer_set = args
        .peer
        .as_ref()
        .map(|_| first_of_each_type(&set, plan.peer_per_type));
    let search_on_peer_set = match &peer_set {
        Some(subset) => Some(search::run(
            subset,
            4,
            || conn::Conn::open(&addr),
            ask_creditgate,
        )?),
        None => None,
    };
    progress.finish(&format!(
        "recall@1 {:.3}, @10 {:.3}, p99 {:.0} µs",
        search.recall_at_1, search.recall_at_10, search.p99_us
    ));

    progress.start("screening uploads");
    let mut screening = Vec::new();
    for (kind, rows) in [("id", plan.id_rows), ("name", plan.name_rows)] {
        let file = work.join(format!("screen-{kind}.ndjson"));
        let text = output(
            &tools.screen_rows,
            &[
                "--subjects",
                &data.join("subjects.ndjson").display().to_string(),
                "--rows",
                &rows.to_string(),
                "--kind",
                kind,
            ],
        )?;
        std::fs::write(&file, text).with_context(|| format!("cannot write {}", file.display()))?;
        let got = last_json(&output(
            &tools.load,
            &[
                "screen",
                "--addr",
                &addr,
                "--file",
                &file.display().to_string(),
                "--json",
            ],
        )?)?;
        let seconds = got["seconds"].as_f64().context("screen: no seconds")?;
        let rows = got["rows"].as_u64().context("screen: no rows")?;
        screening.push(Screening {
            rows_of: kind.into(),
            rows,
            seconds,
            rows_per_s: rows as f64 / seconds,
        });
    }
    progress.finish(
        &screening
            .iter()
            .map(|s| format!("{} rows {:.0}/s", s.rows_of, s.rows_per_s))
            .collect::<Vec<_>>()
            .join(", "),
    );

    progress.start("checks beside writes");
    let rate = plan.writes_check_rate.to_string();
    let without = checks.run(&url, &["--rate", &rate])?;
    let (pool, write_rate) = (plan.pool.to_string(), plan.write_rate.to_string());
    let (write_seconds, prefix) = (
        (plan.seconds + plan.warmup + 1.0).to_string(),
        format!("BENCH{}", creditgate::date::epoch_ms()),
    );
    let write_args = [
        "writes",
        "--addr",
        &addr,
        "--dataset",
        &checks.data,
        // Subjects past the checks' pool of clean ids (the first 200,000,
        // or half a smaller data set): writes do not turn the subjects the
        // checks ask about into flagged ones.
        "--skip",
        &pool,
        "--pool",
        &pool,
        "--rate",
        &write_rate,
        "-d",
        &write_seconds,
        "--prefix",
        &prefix,
        "--json",
    ];
    let (written, with) = std::thread::scope(|scope| {
        let writer = scope.spawn(|| output(&tools.load, &write_args));
        let with = checks.run(&url, &["--rate", &rate]);
        let written = writer
            .join()
            .map_err(|_| anyhow::anyhow!("the writer thread panicked"));
        (written, with)
    });
    let (written, with) = (last_json(&written??)?, with?);
    let writes = WritesBeside {
        write_rate: plan.write_rate,
        writes_acknowledged: written["ok"].as_u64().unwrap_or(0),
        writes_failed: written["failed"].as_u64().unwrap_or(0),
        without,
        with,
    };
    progress.finish(&format!(
        "p99 {:.0} µs without, {:.0} µs with",
        writes.without.p99_us, writes.with.p99_us
    ));
    server.stop()?;

    let peer = match args.peer.as_deref() {
        Some(_) => {
            progress.start("the peer: PostgreSQL with pg_trgm");
            let subset = peer_set.as_deref().unwrap_or(&set);
            let p = peer::postgres(
                &work,
                &data,
                args.subjects,
                args.connections,
                plan.seconds,
                subset,
            )?;
            progress.finish(&format!(
                "lookup {:.0} req/s, search recall@1 {:.3}",
                p.lookup.throughput_rps, p.search.recall_at_1
            ));
            Some(p)
        }
        None => None,
    };

    progress.start("the report");
    let report = Report {
        date: date_stamp(),
        machine: report::Machine::here(),
        subjects: args.subjects,
        quick: args.quick,
        run_seconds: plan.seconds,
        connections: args.connections,
        note: "The server, the load tool (and the peer, if any) run on this one machine and share its cores: figures are for the pair, not for a server with the machine to itself.".into(),
        imports,
        opened,
        ratio,
        ladder,
        flagged,
        named,
        search,
        search_on_peer_set,
        screening,
        writes,
        peer,
    };
    report.write(&out)?;
    progress.finish(&format!("{}", out.join("report.md").display()));
    Ok(())
}

/// The variant set the search runs: made once per data set and kept.
fn variant_set(data: &Path, work: &Path, per_type: usize) -> anyhow::Result<Vec<Variant>> {
    let path = work.join(format!("variants-{per_type}.ndjson"));
    if !path.is_file() {
        let subjects = std::fs::File::open(data.join("subjects.ndjson"))
            .with_context(|| format!("cannot read {}", data.join("subjects.ndjson").display()))?;
        let set =
            creditgate_gen::variants::make(std::io::BufReader::new(subjects), per_type, 1, false)?;
        let file = std::fs::File::create(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        creditgate_gen::variants::write(&set, std::io::BufWriter::new(file))?;
    }
    let file =
        std::fs::File::open(&path).with_context(|| format!("cannot read {}", path.display()))?;
    creditgate_gen::variants::read(std::io::BufReader::new(file))
}

/// One name search on creditgate: the ids of its first ten results.
fn ask_creditgate(c: &mut conn::Conn, q: &str) -> anyhow::Result<Vec<String>> {
    let path = format!("/v1/search?q={}&limit=10", conn::query_encoded(q));
    let mut ids = Ok(Vec::new());
    let status = c.exchange("GET", &path, None, "", |answer| {
        ids = search::ids_in(answer)
    })?;
    anyhow::ensure!(status == 200, "search answered {status}");
    ids
}

/// The first `n` queries of each type of `set`, in its order.
fn first_of_each_type(set: &[Variant], n: usize) -> Vec<Variant> {
    let mut taken: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    set.iter()
        .filter(|v| {
            let count = taken.entry(&v.kind).or_default();
            *count += 1;
            *count <= n
        })
        .cloned()
        .collect()
}

/// Now, as RFC 3339 in China Standard Time (the product's clock).
fn date_stamp() -> String {
    creditgate::date::Date::cst_timestamp(creditgate::date::epoch_ms())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_phases_are_read_off_its_lines() {
        let subjects = "gen/1/subjects.ndjson: 100000 subjects read: 100000 inserted, 0 replaced, 0 unchanged, 0 rejected (0.29 s, 347760 records/s; parsed in 0.13 s)";
        assert_eq!(seconds_in(subjects, "("), Some(0.29));
        let names = "name index: 107847 names, 17.8 MB, built in 1.63 s";
        assert_eq!(seconds_in(names, "built in "), Some(1.63));
        assert_eq!(seconds_in("no figure here", "built in "), None);
    }

    #[test]
    fn the_peer_gets_the_first_queries_of_each_type_in_order() {
        let v = |kind: &str, query: &str| Variant {
            kind: kind.into(),
            query: query.into(),
            target: None,
            from: None,
            ambiguous: false,
            budget: None,
            rivals: None,
        };
        let set = [
            v("typo", "a"),
            v("pinyin", "b"),
            v("typo", "c"),
            v("typo", "d"),
        ];
        let got: Vec<String> = first_of_each_type(&set, 2)
            .into_iter()
            .map(|v| v.query)
            .collect();
        assert_eq!(got, ["a", "b", "c"]);
    }
}
