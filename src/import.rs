//! Bulk import of SPEC §3 NDJSON into the store.
//!
//! A pipeline with bounded memory whatever the file size: a reader thread
//! cuts the file into chunks of lines; one parser per core turns lines into
//! validated [`Subject`]s or [`Entry`]s; the calling thread takes chunks back
//! in file order, reports their bad lines, and for entries writes each chunk
//! as one atomic batch ([`Store::apply_entries`]). Subjects, the bulk of any
//! load, take the faster path of `store::bulk`: the parsers spill
//! sorted runs, which are merged into SST files and ingested at the end.
//! Either way a later line with the same key replaces an earlier one.
//!
//! A bad line is reported with its number and reason and the good lines still
//! go in. With `strict`, the whole file is checked first and nothing is written
//! if any line is bad. Records equal to the stored ones change nothing, so
//! importing the same file twice is a no-op, and re-running an import that
//! was killed completes it.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::calendar::WorkCalendar;
use crate::catalog::Catalog;
use crate::date::Date;
use crate::disclosure::{DisclosureRecord, Published};
use crate::model::{
    Entry, EntryRecord, RecordError, Subject, SubjectRecord, parse_record_leaving_out,
};
use crate::ndjson::{DEFAULT_MAX_LINE, LineError, LineReader};
use crate::store::bulk::{BulkSubjects, RunBuffer};
use crate::store::{Applied, Store, StoreError};

/// Lines per chunk handed to a parser.
const CHUNK_LINES: usize = 16_384;

/// What a file holds.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// `subjects.ndjson` lines.
    Subjects,
    /// `entries.ndjson` lines.
    Entries,
    /// `disclosures.ndjson` lines (双公示).
    Disclosures,
}

impl FileKind {
    /// Guesses from the first record: disclosures have a
    /// `disclosure_id`, entries an `entry_id`.
    pub fn sniff(first_line: &str) -> FileKind {
        if first_line.contains("\"disclosure_id\"") {
            FileKind::Disclosures
        } else if first_line.contains("\"entry_id\"") {
            FileKind::Entries
        } else {
            FileKind::Subjects
        }
    }

    /// Plural noun for messages.
    pub fn noun(self) -> &'static str {
        match self {
            FileKind::Subjects => "subjects",
            FileKind::Entries => "entries",
            FileKind::Disclosures => "disclosures",
        }
    }
}

/// A rejected line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineIssue {
    /// 1-based line number.
    pub line: u64,
    /// Stable reason key for the summary (`category: unknown_category`).
    pub reason: String,
    /// The full message (`category: unknown category "x"; …`).
    pub message: String,
}

/// Summary of one file's import.
#[derive(Debug, Clone, Default)]
pub struct FileReport {
    /// The file.
    pub path: PathBuf,
    /// Records read (good and bad).
    pub read: u64,
    /// What was written.
    pub applied: Applied,
    /// Rejected lines by reason.
    pub rejected: BTreeMap<String, u64>,
    /// Fields the records do not have, left out of the lines that carried
    /// them (the lines were imported): per field path, how many lines and
    /// the first line.
    pub left_out: BTreeMap<String, (u64, u64)>,
    /// Seconds taken.
    pub seconds: f64,
    /// Of those, seconds spent reading and parsing the file (with entries,
    /// also writing them); the rest merged bulk runs into the store
    /// (subjects), synced and flushed.
    pub parse_seconds: f64,
    /// Subjects or entries (`None`: the file had no record).
    pub kind: Option<FileKind>,
}

impl FileReport {
    /// Total rejected lines.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }
}

/// Why an import stopped.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file cannot be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// `strict` and some lines are bad: nothing was written.
    #[error(
        "{path}: {count} bad lines, nothing imported (--strict); first: line {line}: {message}"
    )]
    Strict {
        /// The file.
        path: String,
        /// Bad lines.
        count: u64,
        /// First bad line.
        line: u64,
        /// Its message.
        message: String,
    },
}

/// How to import.
pub struct ImportOptions<'a> {
    /// Check the whole file first; write nothing if a line is bad.
    pub strict: bool,
    /// Parser threads.
    pub threads: usize,
    /// "Today" for birth-date checks, and the publication day of a
    /// disclosure that names none.
    pub today: Date,
    /// Counts disclosures' working days.
    pub calendar: &'a WorkCalendar,
    /// Called for each rejected line, in file order.
    pub on_issue: &'a mut dyn FnMut(&Path, &LineIssue),
    /// Called with the bytes read so far, for progress display.
    pub on_progress: &'a mut dyn FnMut(u64),
}

enum Parsed {
    Subjects(Vec<Subject>),
    Entries(Vec<Entry>),
    Disclosures(Vec<Published>),
}

struct ParsedChunk {
    index: u64,
    records: Parsed,
    lines: u64,
    issues: Vec<LineIssue>,
    /// Fields left out: line and field path.
    left_out: Vec<(u64, String)>,
    bytes_read: u64,
    /// A bulk run could not be written.
    failure: Option<StoreError>,
}

struct RawChunk {
    index: u64,
    lines: Vec<(u64, Result<String, LineError>)>,
    bytes_read: u64,
}

/// The stable reason key of a record error: field path without indices and
/// the problem's kind.
fn reason_key(e: &RecordError) -> String {
    let mut field = String::with_capacity(e.field.len());
    let mut in_index = false;
    for c in e.field.chars() {
        match c {
            '[' => {
                in_index = true;
                field.push('[');
            }
            ']' => {
                in_index = false;
                field.push(']');
            }
            _ if in_index => {}
            c => field.push(c),
        }
    }
    format!("{field}: {}", e.problem.code())
}

fn parse_chunk(
    kind: FileKind,
    raw: RawChunk,
    catalog: &Catalog,
    calendar: &WorkCalendar,
    today: Date,
) -> ParsedChunk {
    let mut issues = Vec::new();
    let mut left_out = Vec::new();
    let lines = raw.lines.len() as u64;
    let mut subjects = Vec::new();
    let mut entries = Vec::new();
    let mut disclosures = Vec::new();
    for (line, text) in raw.lines {
        let text = match text {
            Ok(t) => t,
            Err(e) => {
                let reason = match e {
                    LineError::TooLong { .. } => "line: too_long",
                    LineError::NotUtf8 { .. } => "line: not_utf8",
                };
                issues.push(LineIssue {
                    line,
                    reason: reason.into(),
                    message: e.to_string(),
                });
                continue;
            }
        };
        let mut note = |fields: Vec<String>| {
            left_out.extend(fields.into_iter().map(|f| (line, f)));
        };
        let result = match kind {
            FileKind::Subjects => parse_record_leaving_out::<SubjectRecord>(&text)
                .and_then(|(r, fields)| {
                    note(fields);
                    r.validate(today)
                })
                .map(|s| subjects.push(s)),
            FileKind::Entries => parse_record_leaving_out::<EntryRecord>(&text)
                .and_then(|(r, fields)| {
                    note(fields);
                    r.validate(catalog, today)
                })
                .map(|e| entries.push(e)),
            FileKind::Disclosures => parse_record_leaving_out::<DisclosureRecord>(&text)
                .and_then(|(r, fields)| {
                    note(fields);
                    r.validate(catalog, today)
                })
                .map(|disclosure| {
                    disclosures.push(Published {
                        timeliness: disclosure.timeliness(calendar),
                        disclosure,
                    })
                }),
        };
        if let Err(e) = result {
            issues.push(LineIssue {
                line,
                reason: reason_key(&e),
                message: e.to_string(),
            });
        }
    }
    ParsedChunk {
        index: raw.index,
        records: match kind {
            FileKind::Subjects => Parsed::Subjects(subjects),
            FileKind::Entries => Parsed::Entries(entries),
            FileKind::Disclosures => Parsed::Disclosures(disclosures),
        },
        lines,
        issues,
        left_out,
        bytes_read: raw.bytes_read,
        failure: None,
    }
}

/// Moves a parsed chunk's subjects into a bulk run buffer, each with its
/// place in the file (later lines win).
fn buffer_subjects(chunk: &mut ParsedChunk, buffer: &mut RunBuffer<'_>) {
    if let Parsed::Subjects(subjects) = &mut chunk.records {
        for (i, s) in subjects.drain(..).enumerate() {
            if let Err(e) = buffer.push(&s, chunk.index << 24 | i as u64) {
                chunk.failure = Some(e);
                return;
            }
        }
    }
}

/// Reads the first record line to tell subjects from entries.
fn sniff_file(path: &Path) -> Result<Option<FileKind>, ImportError> {
    let io = |source| ImportError::Io {
        path: path.display().to_string(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let mut lines = LineReader::new(BufReader::new(file), DEFAULT_MAX_LINE);
    Ok(match lines.next_line().map_err(io)? {
        Some((_, Ok(line))) => Some(FileKind::sniff(line)),
        Some((_, Err(_))) => Some(FileKind::Subjects),
        None => None,
    })
}

/// Imports one file. With `store` `None`, only checks it (nothing written).
pub fn import_file(
    store: Option<&Store>,
    catalog: &Catalog,
    path: &Path,
    opts: &mut ImportOptions<'_>,
) -> Result<FileReport, ImportError> {
    let started = Instant::now();
    let mut report = FileReport {
        path: path.to_path_buf(),
        ..FileReport::default()
    };
    let Some(kind) = sniff_file(path)? else {
        return Ok(report);
    };
    report.kind = Some(kind);
    if opts.strict && store.is_some() {
        let mut first: Option<LineIssue> = None;
        let mut on_issue = |_: &Path, issue: &LineIssue| {
            first.get_or_insert_with(|| issue.clone());
        };
        let mut no_progress = |_| {};
        let mut check = ImportOptions {
            strict: false,
            threads: opts.threads,
            today: opts.today,
            calendar: opts.calendar,
            on_issue: &mut on_issue,
            on_progress: &mut no_progress,
        };
        let checked = run_pipeline(None, catalog, path, kind, &mut check)?;
        if let Some(first) = first {
            return Err(ImportError::Strict {
                path: path.display().to_string(),
                count: checked.rejected_total(),
                line: first.line,
                message: first.message,
            });
        }
    }
    let mut done = run_pipeline(store, catalog, path, kind, opts)?;
    if let Some(store) = store {
        store.sync()?;
        store.flush()?;
    }
    done.path = path.to_path_buf();
    done.kind = Some(kind);
    done.seconds = started.elapsed().as_secs_f64();
    Ok(done)
}

fn run_pipeline(
    store: Option<&Store>,
    catalog: &Catalog,
    path: &Path,
    kind: FileKind,
    opts: &mut ImportOptions<'_>,
) -> Result<FileReport, ImportError> {
    let io = |source| ImportError::Io {
        path: path.display().to_string(),
        source,
    };
    let started = Instant::now();
    let file = File::open(path).map_err(io)?;
    let threads = opts.threads.max(1);
    let today = opts.today;
    let calendar = opts.calendar;
    let (raw_tx, raw_rx) = crossbeam_channel::bounded::<RawChunk>(threads * 2);
    let (parsed_tx, parsed_rx) = crossbeam_channel::bounded::<ParsedChunk>(threads * 2);
    let mut report = FileReport::default();
    // Subjects go the bulk way (sorted runs, SST ingestion); entries, far
    // fewer, through write batches.
    let bulk = match (store, kind) {
        (Some(store), FileKind::Subjects) => Some(BulkSubjects::new(store)?),
        _ => None,
    };
    std::thread::scope(|scope| -> Result<(), ImportError> {
        let reader = scope.spawn(move || -> std::io::Result<()> {
            let mut lines =
                LineReader::new(BufReader::with_capacity(1 << 20, file), DEFAULT_MAX_LINE);
            let mut index = 0;
            loop {
                let mut chunk = Vec::with_capacity(CHUNK_LINES);
                while chunk.len() < CHUNK_LINES {
                    match lines.next_line()? {
                        Some((n, line)) => chunk.push((n, line.map(str::to_string))),
                        None => break,
                    }
                }
                if chunk.is_empty() {
                    return Ok(());
                }
                let raw = RawChunk {
                    index,
                    lines: chunk,
                    bytes_read: lines.bytes_read(),
                };
                index += 1;
                if raw_tx.send(raw).is_err() {
                    // The writer stopped (an error): stop reading.
                    return Ok(());
                }
            }
        });
        let bulk = bulk.as_ref();
        for _ in 0..threads {
            let (raw_rx, parsed_tx) = (raw_rx.clone(), parsed_tx.clone());
            scope.spawn(move || {
                let mut buffer = bulk.map(BulkSubjects::buffer);
                for raw in raw_rx {
                    let mut chunk = parse_chunk(kind, raw, catalog, calendar, today);
                    if let Some(buffer) = &mut buffer {
                        buffer_subjects(&mut chunk, buffer);
                    }
                    if parsed_tx.send(chunk).is_err() {
                        return;
                    }
                }
                if let Some(Err(e)) = buffer.as_mut().map(RunBuffer::spill) {
                    // Reported as a chunk past the end, so the writer sees it.
                    let _ = parsed_tx.send(ParsedChunk {
                        index: u64::MAX,
                        records: Parsed::Subjects(Vec::new()),
                        lines: 0,
                        issues: Vec::new(),
                        left_out: Vec::new(),
                        bytes_read: 0,
                        failure: Some(e),
                    });
                }
            });
        }
        drop(parsed_tx);
        drop(raw_rx);
        let mut pending = BTreeMap::new();
        let mut want = 0u64;
        let mut outcome = Ok(());
        for mut chunk in parsed_rx.iter() {
            if let Some(e) = chunk.failure.take() {
                outcome = Err(ImportError::Store(e));
                break;
            }
            pending.insert(chunk.index, chunk);
            while let Some(chunk) = pending.remove(&want) {
                want += 1;
                report.read += chunk.lines;
                for issue in &chunk.issues {
                    *report.rejected.entry(issue.reason.clone()).or_default() += 1;
                    (opts.on_issue)(path, issue);
                }
                for (line, field) in &chunk.left_out {
                    let (lines, _) = report.left_out.entry(field.clone()).or_insert((0, *line));
                    *lines += 1;
                }
                // Subjects went to the bulk runs in the parsers.
                let applied = match (store, &chunk.records) {
                    (Some(store), Parsed::Entries(e)) => Some(store.apply_entries(e, catalog)),
                    (Some(store), Parsed::Disclosures(d)) => Some(
                        store
                            .write_disclosures(d, crate::store::Durability::Buffered)
                            .map(|(a, _)| a),
                    ),
                    _ => None,
                };
                match applied {
                    Some(Ok(a)) => report.applied.add(a),
                    Some(Err(e)) => {
                        outcome = Err(ImportError::Store(e));
                        break;
                    }
                    None => {}
                }
                (opts.on_progress)(chunk.bytes_read);
            }
            if outcome.is_err() {
                break;
            }
        }
        // Dropping the receiver stops the parsers, then the reader.
        drop(parsed_rx);
        let read = reader.join().expect("the reader thread does not panic");
        outcome?;
        read.map_err(io)
    })?;
    report.parse_seconds = started.elapsed().as_secs_f64();
    if let (Some(store), Some(bulk)) = (store, bulk) {
        report.applied.add(bulk.finish(store)?);
    }
    Ok(report)
}

/// Opens every file in turn: a missing file is an error before anything is
/// written.
pub fn check_readable(paths: &[PathBuf]) -> Result<(), ImportError> {
    for path in paths {
        File::open(path)
            .and_then(|f| BufReader::new(f).fill_buf().map(drop))
            .map_err(|source| ImportError::Io {
                path: path.display().to_string(),
                source,
            })?;
    }
    Ok(())
}
