//! `creditgate-variants`: makes search-quality variant sets and scores
//! creditgate's search against them (see the `variants` module docs).
//!
//! ```text
//! creditgate-variants make --subjects data/sample/subjects.ndjson --per-type 200 > data/search-variants.ndjson
//! creditgate-variants score --data STORE --variants data/search-variants.ndjson
//! creditgate-variants make --subjects gen/13m/subjects.ndjson --per-type 1000 --skip-ambiguity > raw.ndjson
//! creditgate-variants mark --data gen/13m/store --variants raw.ndjson > marked.ndjson
//! creditgate-variants screen --data gen/13m/store --variants marked.ndjson
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use creditgate::catalog::Catalog;
use creditgate::engine::Engine;
use creditgate_gen::variants;

/// The allocator of `creditgate` itself, so latencies are the server's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "creditgate-variants", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Make a variant set from a subjects NDJSON file; NDJSON on stdout.
    Make {
        /// The generator's subjects.ndjson.
        #[arg(long)]
        subjects: PathBuf,
        /// Queries per type.
        #[arg(long, default_value_t = 200)]
        per_type: usize,
        /// Seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Do not mark typed changes (typo, swap, homophone, pinyin) that
        /// another name fits as well (that compares every query with every
        /// name: hours at millions of subjects).
        #[arg(long)]
        skip_ambiguity: bool,
    },
    /// Mark every query of a set by the edit budget, finding rivals through
    /// a store's name index; NDJSON on stdout.
    Mark {
        /// Store directory (imported from the subjects the set was made from).
        #[arg(long)]
        data: PathBuf,
        /// The variant set.
        #[arg(long)]
        variants: PathBuf,
        /// Threads (default: the number of cores).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Screen every query as a name-only row and report, per type, the rows
    /// decided on the right subject, on a wrong one, and sent to review.
    Screen {
        /// Store directory.
        #[arg(long)]
        data: PathBuf,
        /// The variant set (marked by `mark`).
        #[arg(long)]
        variants: PathBuf,
        /// The action screened for.
        #[arg(long, default_value = "real_estate")]
        action: String,
        /// The date decided for (the generator's "today").
        #[arg(long, default_value = "2026-11-25")]
        at: creditgate::date::Date,
        /// The screening's minimum score of a match.
        #[arg(long, default_value_t = creditgate::screen::row::DEFAULT_MIN_SCORE)]
        min_score: f64,
        /// The most changes a match by name may need.
        #[arg(long, default_value_t = creditgate::screen::row::DEFAULT_MAX_CHANGES)]
        max_changes: u8,
        /// Print one JSON object instead of the table.
        #[arg(long)]
        json: bool,
        /// Also print the rows decided wrongly, one JSON object each.
        #[arg(long)]
        show_wrong: bool,
        /// Instead of one screening, run every minimum score from 0.6 to 0.9
        /// (steps of 0.05) with every maximum of changes (0 to 2), and write
        /// `sweep.csv` and `sweep.svg` (review rate against wrong rate) into
        /// this directory.
        #[arg(long, value_name = "DIR")]
        sweep: Option<PathBuf>,
    },
    /// Run every query against a store and report recall per type.
    Score {
        /// Store directory (imported from the same subjects).
        #[arg(long)]
        data: PathBuf,
        /// The variant set.
        #[arg(long)]
        variants: PathBuf,
        /// Print one JSON object instead of the table.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("creditgate-variants: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    match Cli::parse().command {
        Command::Make {
            subjects,
            per_type,
            seed,
            skip_ambiguity,
        } => {
            let file = std::fs::File::open(&subjects)
                .with_context(|| format!("cannot read {}", subjects.display()))?;
            let set = variants::make(
                std::io::BufReader::new(file),
                per_type,
                seed,
                !skip_ambiguity,
            )?;
            variants::write(&set, std::io::stdout().lock())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Mark {
            data,
            variants: path,
            threads,
        } => {
            let file = std::fs::File::open(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let mut set = variants::read(std::io::BufReader::new(file))
                .with_context(|| format!("cannot read {}", path.display()))?;
            let engine =
                Engine::open(&data, Catalog::bundled()).context("cannot open the store")?;
            let threads = threads
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
            variants::mark_by_index(&engine, &mut set, threads);
            variants::write(&set, std::io::stdout().lock())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Screen {
            data,
            variants: path,
            action,
            at,
            min_score,
            max_changes,
            json,
            show_wrong,
            sweep,
        } => {
            let file = std::fs::File::open(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let set = variants::read(std::io::BufReader::new(file))
                .with_context(|| format!("cannot read {}", path.display()))?;
            let catalog = Catalog::bundled();
            let action = catalog
                .action_by_code(&action)
                .with_context(|| format!("unknown action {action:?}"))?;
            let engine = Engine::open(&data, catalog).context("cannot open the store")?;
            let options = creditgate::screen::Options {
                action,
                at,
                min_score,
                max_changes,
                output: creditgate::screen::input::Format::Ndjson,
                workers: 1,
                background: false,
                oversight: Default::default(),
            };
            if let Some(dir) = sweep {
                let points = creditgate_gen::screening::sweep(&engine, &set, &options)?;
                std::fs::create_dir_all(&dir)?;
                std::fs::write(
                    dir.join("sweep.csv"),
                    creditgate_gen::screening::sweep_csv(&points),
                )?;
                std::fs::write(
                    dir.join("sweep.svg"),
                    creditgate_gen::screening::sweep_svg(&points),
                )?;
                print!("{}", creditgate_gen::screening::sweep_csv(&points));
                return Ok(ExitCode::SUCCESS);
            }
            let judged = creditgate_gen::screening::judge(&engine, &set, &options)?;
            if json {
                println!("{}", serde_json::to_string(&judged)?);
                return Ok(ExitCode::SUCCESS);
            }
            print_judgement(&judged);
            if show_wrong {
                for row in &judged.wrong_rows {
                    println!("{row}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Score {
            data,
            variants: path,
            json,
        } => {
            let file = std::fs::File::open(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let set = variants::read(std::io::BufReader::new(file))
                .with_context(|| format!("cannot read {}", path.display()))?;
            let engine =
                Engine::open(&data, Catalog::bundled()).context("cannot open the store")?;
            let report = variants::score(&engine, &set);
            let (tallies, pct) = (&report.types, |p: f64| report.latency(p));
            let micros = &report.micros;
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "types": tallies.iter().map(|(k, t)| serde_json::json!({"type": k, "tally": t})).collect::<Vec<_>>(),
                        "latency_us": {"p50": pct(0.5), "p99": pct(0.99), "max": pct(1.0)},
                    })
                );
                return Ok(ExitCode::SUCCESS);
            }
            let ratio = |a: usize, b: usize| {
                if b == 0 {
                    "—".to_string()
                } else {
                    format!("{:.3}", a as f64 / b as f64)
                }
            };
            println!(
                "| type | queries | recall@1 | recall@10 | unambiguous | recall@1 (unamb.) | recall@10 (unamb.) |"
            );
            println!("|---|---:|---:|---:|---:|---:|---:|");
            for (k, t) in tallies {
                if k == "absent" {
                    println!(
                        "| absent | {} | results ≥ 0.8: {} ({}) | | | | |",
                        t.queries,
                        t.false_hits,
                        ratio(t.false_hits, t.queries)
                    );
                } else {
                    println!(
                        "| {k} | {} | {} | {} | {} | {} | {} |",
                        t.queries,
                        ratio(t.at1, t.queries),
                        ratio(t.at10, t.queries),
                        t.clear,
                        ratio(t.clear_at1, t.clear),
                        ratio(t.clear_at10, t.clear)
                    );
                }
            }
            println!("\n| type | p50 µs | p99 µs | max µs |\n|---|---:|---:|---:|");
            for (i, t) in variants::TYPES.iter().enumerate() {
                println!(
                    "| {t} | {:.0} | {:.0} | {:.0} |",
                    report.type_latency(i, 0.5),
                    report.type_latency(i, 0.99),
                    report.type_latency(i, 1.0)
                );
            }
            println!(
                "\nlatency per query (in-process, one thread): p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs over {} queries",
                pct(0.5),
                pct(0.99),
                pct(1.0),
                micros.len()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_judgement(j: &creditgate_gen::screening::Judgement) {
    println!(
        "| type | rows | right | wrong | review | same answer | ambiguous | right (amb.) | wrong (amb.) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let pct = |e: &creditgate_gen::screening::Ends, n: usize| format!("{:.2}%", 100.0 * e.share(n));
    for (t, e) in j
        .types
        .iter()
        .map(|(t, e)| (t.as_str(), e))
        .chain([("**all**", &j.all)])
    {
        println!(
            "| {t} | {} | {} | {} | {} | {} | {} | {} | {} |",
            e.rows,
            pct(e, e.right),
            pct(e, e.wrong),
            pct(e, e.review),
            pct(e, e.same_answer),
            e.ambiguous,
            e.ambiguous_right,
            e.ambiguous_wrong
        );
    }
    println!("\n{:.0} rows/s (one worker)", j.rows_per_second);
}
