//! `creditgate validate`: check NDJSON files line by line, reporting every bad
//! line as `FILE:LINE: field: problem`, without importing anything. It is the
//! import pipeline with no store behind it, so it accepts and rejects exactly
//! what `creditgate import` would.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use creditgate::calendar::WorkCalendar;
use creditgate::catalog::Catalog;
use creditgate::date::Date;
use creditgate::import::{self, ImportOptions, LineIssue};

/// Arguments of `creditgate validate`.
#[derive(clap::Args)]
pub struct Args {
    /// subjects, entries or disclosures NDJSON files (SPEC §3). A file whose first record
    /// has a `disclosure_id` is read as disclosures, one with an `entry_id`
    /// as entries.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Stop reporting a file's errors after this many (they are still counted).
    #[arg(long, default_value_t = 100)]
    max_errors: u64,
}

pub fn run(args: &Args, catalog: &Catalog, calendar: &WorkCalendar) -> anyhow::Result<ExitCode> {
    import::check_readable(&args.files)?;
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut any_bad = false;
    for path in &args.files {
        let mut printed = 0u64;
        let mut on_issue = |path: &Path, issue: &LineIssue| {
            printed += 1;
            if printed <= args.max_errors {
                eprintln!("{}:{}: {}", path.display(), issue.line, issue.message);
            }
        };
        let mut on_progress = |_| {};
        let mut opts = ImportOptions {
            strict: false,
            threads,
            today: Date::today(),
            calendar,
            on_issue: &mut on_issue,
            on_progress: &mut on_progress,
        };
        let report = import::import_file(None, catalog, path, &mut opts)?;
        let bad = report.rejected_total();
        eprintln!(
            "{}: {} {}: {} valid, {bad} rejected",
            path.display(),
            report.read,
            report.kind.map_or("records", |k| k.noun()),
            report.read - bad,
        );
        any_bad |= bad > 0;
    }
    Ok(if any_bad {
        ExitCode::from(super::EXIT_INVALID)
    } else {
        ExitCode::SUCCESS
    })
}
