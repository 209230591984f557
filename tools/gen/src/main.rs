//! `creditgate-gen`: writes SPEC §3 NDJSON (`subjects.ndjson`,
//! `entries.ndjson`) of any size, deterministically. See the library docs.
//!
//! ```text
//! cargo run --release -p creditgate-gen -- --subjects 1000000 --out gen/1m
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use creditgate::date::Date;

/// Generate synthetic subjects and list entries as NDJSON.
#[derive(Parser)]
#[command(name = "creditgate-gen", version, about)]
struct Args {
    /// Number of subjects (organizations and persons) to make.
    #[arg(long, default_value_t = 10_000)]
    subjects: u64,
    /// Seed: the same seed makes the same data.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The "today" the data is made for: dates run from 2015-01-01 to it.
    /// Defaults to today (China Standard Time).
    #[arg(long, value_name = "YYYY-MM-DD")]
    today: Option<Date>,
    /// Output directory (created if missing).
    #[arg(long, default_value = "gen/sample")]
    out: PathBuf,
    /// Worker threads (default: the number of cores).
    #[arg(long)]
    threads: Option<usize>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let opts = creditgate_gen::Options {
        subjects: args.subjects,
        seed: args.seed,
        today: args.today.unwrap_or_else(Date::today),
        out: args.out,
        threads: args
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
    };
    match creditgate_gen::generate(&opts) {
        Ok(stats) => {
            eprintln!(
                "creditgate-gen: {} subjects, {} entries in {:.2} s ({:.0} subjects/s, {} threads) -> {}",
                stats.subjects,
                stats.entries,
                stats.seconds,
                stats.subjects as f64 / stats.seconds.max(1e-9),
                stats.threads,
                opts.out.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("creditgate-gen: {e:#}");
            ExitCode::from(2)
        }
    }
}
