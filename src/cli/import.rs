//! `creditgate import`: load SPEC §3 NDJSON files into a store.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use creditgate::calendar::WorkCalendar;
use creditgate::catalog::Catalog;
use creditgate::date::Date;
use creditgate::import::{self, ImportOptions, LineIssue};
use creditgate::store::Store;

/// Arguments of `creditgate import`.
#[derive(clap::Args)]
pub struct Args {
    /// Store directory (created if missing).
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// subjects, entries or disclosures NDJSON files, imported in the order given. A file
    /// whose first record has a `disclosure_id` is read as disclosures, one
    /// with an `entry_id` as entries.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Check each file first and import nothing from it if any line is bad.
    #[arg(long)]
    strict: bool,
    /// Print at most this many bad lines per file (all are counted).
    #[arg(long, default_value_t = 100)]
    max_errors: u64,
    /// Parser threads (default: the number of cores).
    #[arg(long)]
    threads: Option<usize>,
}

pub fn run(args: &Args, catalog: &Catalog, calendar: &WorkCalendar) -> anyhow::Result<ExitCode> {
    import::check_readable(&args.files)?;
    let store = Store::open_or_create(&args.data).context("cannot open the store")?;
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let today = Date::today();
    let mut any_rejected = false;
    for path in &args.files {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(size);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar.set_message(path.display().to_string());
            bar
        });
        let mut printed = 0u64;
        let max_errors = args.max_errors;
        let bar_for_issues = bar.clone();
        let mut on_issue = |path: &Path, issue: &LineIssue| {
            printed += 1;
            if printed <= max_errors {
                let line = format!("{}:{}: {}", path.display(), issue.line, issue.message);
                match &bar_for_issues {
                    Some(b) => b.println(line),
                    None => eprintln!("{line}"),
                }
            }
        };
        let bar_for_progress = bar.clone();
        let mut on_progress = |bytes: u64| {
            if let Some(b) = &bar_for_progress {
                b.set_position(bytes);
            }
        };
        let mut opts = ImportOptions {
            strict: args.strict,
            threads,
            today,
            calendar,
            on_issue: &mut on_issue,
            on_progress: &mut on_progress,
        };
        let report = import::import_file(Some(&store), catalog, path, &mut opts);
        if let Some(b) = &bar {
            b.finish_and_clear();
        }
        let report = report?;
        let rejected = report.rejected_total();
        any_rejected |= rejected > 0;
        let rate = report.read as f64 / report.seconds.max(1e-9);
        eprintln!(
            "{}: {} {} read: {} inserted, {} replaced, {} unchanged, {} rejected ({:.2} s, {:.0} records/s; parsed in {:.2} s)",
            path.display(),
            report.read,
            report.kind.map_or("records", |k| k.noun()),
            report.applied.inserted,
            report.applied.replaced,
            report.applied.unchanged,
            rejected,
            report.seconds,
            rate,
            report.parse_seconds
        );
        for (reason, count) in &report.rejected {
            eprintln!("  rejected {count:>8}  {reason}");
        }
        // Imported, but what the lines said there was not kept: a misspelt
        // expires_at would leave an entry without a term.
        for (field, (lines, first)) in &report.left_out {
            eprintln!(
                "  left out {lines:>8}  field {field:?}: not a field of {} (the lines were imported without it; first on line {first})",
                report.kind.map_or("records", |k| k.noun())
            );
        }
    }
    // The name index catches up: a delta for a few changes, a rebuild after
    // many, so that the first search or serve does not pay for it.
    let names = creditgate::search::NameIndex::open(&store).context("cannot index the names")?;
    if let Some(took) = names.built_in() {
        eprintln!(
            "name index: {} names, {:.1} MB, built in {:.2} s",
            names.name_count(),
            names.bytes() as f64 / 1e6,
            took.as_secs_f64()
        );
    }
    drop(names);
    // So do the status index and the known set with its name prints (saved
    // beside the store): an open catches saved ones up with the changes
    // since, but rebuilds them when they are far behind (at 10^8 subjects,
    // minutes), so after a large import they are rebuilt here.
    if creditgate::engine::saved_indexes_stale(&store) {
        let started = std::time::Instant::now();
        let status = creditgate::engine::build_status_index(&store)
            .context("cannot build the status index")?;
        eprintln!(
            "status index: {} flagged subjects, {:.1} MB, built in {:.2} s",
            status.len(),
            status.heap_bytes() as f64 / 1e6,
            started.elapsed().as_secs_f64()
        );
        drop(status);
        let started = std::time::Instant::now();
        let known =
            creditgate::engine::build_known_set(&store).context("cannot build the known set")?;
        eprintln!(
            "known set: {} subjects, {} aliases, {:.1} MB, built in {:.2} s",
            known.len(),
            known.aliases(),
            known.heap_bytes() as f64 / 1e6,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(if any_rejected {
        ExitCode::from(super::EXIT_INVALID)
    } else {
        ExitCode::SUCCESS
    })
}
