//! `creditgate-variants`: makes search-quality variant sets and scores
//! creditgate's search against them (see the `variants` module docs).
//!
//! ```text
//! creditgate-variants make --subjects data/sample/subjects.ndjson --per-type 200 > data/search-variants.ndjson
//! creditgate-variants score --data STORE --variants data/search-variants.ndjson
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
