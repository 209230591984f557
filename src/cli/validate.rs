//! `creditgate validate`: check NDJSON files line by line, reporting every bad
//! line as `FILE:LINE: field: problem`, without importing anything.

use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use creditgate::catalog::Catalog;
use creditgate::date::Date;
use creditgate::model::{EntryRecord, SubjectRecord, parse_record};
use creditgate::ndjson::{DEFAULT_MAX_LINE, LineReader};

/// Arguments of `creditgate validate`.
#[derive(clap::Args)]
pub struct Args {
    /// subjects or entries NDJSON files (SPEC §3). A file whose first record
    /// has an `entry_id` field is read as entries.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Stop reporting a file's errors after this many (they are still counted).
    #[arg(long, default_value_t = 100)]
    max_errors: u64,
}

pub fn run(args: &Args, catalog: &Catalog) -> anyhow::Result<ExitCode> {
    let today = Date::today();
    let mut any_bad = false;
    for path in &args.files {
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let mut lines = LineReader::new(BufReader::with_capacity(1 << 16, file), DEFAULT_MAX_LINE);
        let (mut good, mut bad) = (0u64, 0u64);
        let mut entries: Option<bool> = None;
        while let Some((line_no, line)) = lines
            .next_line()
            .with_context(|| format!("cannot read {}", path.display()))?
        {
            let result = line.map_err(|e| e.to_string()).and_then(|line| {
                let is_entries = *entries.get_or_insert_with(|| line.contains("\"entry_id\""));
                if is_entries {
                    parse_record::<EntryRecord>(line)
                        .and_then(|r| r.validate(catalog, today))
                        .map(drop)
                } else {
                    parse_record::<SubjectRecord>(line)
                        .and_then(|r| r.validate(today))
                        .map(drop)
                }
                .map_err(|e| e.to_string())
            });
            match result {
                Ok(()) => good += 1,
                Err(message) => {
                    bad += 1;
                    if bad <= args.max_errors {
                        eprintln!("{}:{line_no}: {message}", path.display());
                    }
                }
            }
        }
        let what = match entries {
            Some(true) => "entries",
            Some(false) => "subjects",
            None => "records",
        };
        eprintln!(
            "{}: {} {what}: {good} valid, {bad} rejected",
            path.display(),
            good + bad
        );
        any_bad |= bad > 0;
    }
    Ok(if any_bad {
        ExitCode::from(super::EXIT_INVALID)
    } else {
        ExitCode::SUCCESS
    })
}
