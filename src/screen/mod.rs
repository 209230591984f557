//! Bulk screening (SPEC §6 `POST /v1/screen`, `creditgate screen`): a file
//! of rows `{ref, id?, name?}` in, one answer line per row out, in input
//! order, then a summary.
//!
//! * [`input`]: encodings, NDJSON or CSV, rows in bounded batches;
//! * [`row`]: how one row finds its subject and what is written for it.
//!
//! The pipeline, on threads joined by crossbeam channels:
//!
//! ```text
//! reader ──batches──> worker × N ──answers──> writer (re-orders, writes)
//!    ^                                          │
//!    └────────────── in-flight tokens ──────────┘
//! ```
//!
//! The reader cuts the input into batches of up to 1,024 rows; a worker per
//! core screens a batch into one buffer; the writer puts buffers back in
//! input order and writes them. A batch is read only once the writer has
//! handed back a token, and there are [`IN_FLIGHT_PER_WORKER`] tokens per
//! worker, so at most that many batches exist at once, read, in work or
//! waiting to be written, however long the input and however slow the
//! output: memory does not grow with the input, and a slow reader of the
//! output slows the reading of the input (back-pressure) instead of
//! filling buffers.

pub mod input;
pub mod row;

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, unbounded};
use serde::Serialize;

use crate::catalog::ActionId;
use crate::date::Date;
use crate::engine::Engine;
use crate::store::StoreError;
use input::Format;
use input::{Batch, Input};
use row::{CSV_COLUMNS, CSV_HEADER, Screener, Tally, write_csv_record};

/// Batches in flight per worker.
pub const IN_FLIGHT_PER_WORKER: usize = 4;

/// What to screen for and how to answer.
#[derive(Debug, Clone)]
pub struct Options {
    /// The action decided.
    pub action: ActionId,
    /// The date decided for.
    pub at: Date,
    /// The minimum score of a match by name.
    pub min_score: f64,
    /// The most changes a match by name may need.
    pub max_changes: u8,
    /// The layout of the answer.
    pub output: Format,
    /// Worker threads.
    pub workers: usize,
    /// Run every thread of the screening, the caller's included, at the
    /// lowest CPU priority, so that work served beside it (the checks of a
    /// server) keeps the cores when it needs them.
    pub background: bool,
    /// Auditing and masking, for a screening asked with a key.
    pub oversight: Oversight,
}

/// What a screening asked over HTTP owes to governance: every row audited
/// under the asking key, personal data masked when the key may not see it.
#[derive(Debug, Clone, Default)]
pub struct Oversight {
    /// Where rows are recorded.
    pub audit: Option<std::sync::Arc<crate::audit::AuditLog>>,
    /// The asking key, as audit records keep it.
    pub key: [u8; crate::audit::KEY_ID_BYTES],
    /// The upload's request id, which its rows' records carry.
    pub request: u64,
    /// Mask identity numbers and persons' names in the answer.
    pub mask: bool,
    /// The asking key's daily quota and its limiter: each row counts as a
    /// request, and rows past the quota are errors (`quota_exhausted`).
    pub quota: Option<(std::sync::Arc<crate::rate::Limiter>, u64)>,
}

/// Why a screening stopped before the end of its input.
#[derive(Debug, thiserror::Error)]
pub enum ScreenError {
    /// The input could not be read further.
    #[error("cannot read the input: {0}")]
    Input(io::Error),
    /// The answer could not be written (the reader went away).
    #[error("cannot write the answer: {0}")]
    Output(io::Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ScreenError {
    /// A stable code for programs: `upload_failed`, `client_gone`,
    /// `store_error`.
    pub fn code(&self) -> &'static str {
        match self {
            ScreenError::Input(_) => "upload_failed",
            ScreenError::Output(_) => "client_gone",
            ScreenError::Store(_) => "store_error",
        }
    }

    /// The line that ends an answer cut short, in place of the summary:
    /// `{"error":{"code","message"}}`, or in CSV a record whose `row` is
    /// `error` with the message in the `error` column.
    /// A store failure says only that: its cause is the operator's (logged
    /// by the server, printed by the command line), not the reader's.
    pub fn closing_line(&self, output: Format) -> Vec<u8> {
        self.closing_line_as(self.code(), output)
    }

    /// [`ScreenError::closing_line`] with the code the caller names (the
    /// server's, from its table of error codes).
    pub fn closing_line_as(&self, code: &str, output: Format) -> Vec<u8> {
        let message = match self {
            ScreenError::Store(_) => "the store failed; the cause has been logged".to_string(),
            _ => self.to_string(),
        };
        match output {
            Format::Ndjson => {
                let mut out = serde_json::to_vec(
                    &serde_json::json!({"error": {"code": code, "message": message}}),
                )
                .expect("plain fields always encode");
                out.push(b'\n');
                out
            }
            Format::Csv => {
                let text = format!("{code}: {message}");
                let mut fields = [""; CSV_COLUMNS];
                fields[0] = "error";
                fields[CSV_COLUMNS - 1] = &text;
                let mut out = Vec::new();
                write_csv_record(&mut out, &fields);
                out
            }
        }
    }
}

/// The counts of a finished screening.
#[derive(Debug, Clone)]
pub struct Summary {
    /// The counts.
    pub tally: Tally,
    /// How long it took.
    pub elapsed: Duration,
}

impl Summary {
    /// Rows per second.
    pub fn rate(&self) -> f64 {
        self.tally.rows as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The summary line closing an NDJSON answer:
    /// `{"summary":{"rows","decisions":{…},"errors",…}}`.
    pub fn json(&self) -> Vec<u8> {
        #[derive(Serialize)]
        struct Decisions {
            allow: u64,
            caution: u64,
            deny: u64,
            review: u64,
        }
        #[derive(Serialize)]
        struct MatchedBy {
            id: u64,
            name: u64,
            masked_id: u64,
        }
        #[derive(Serialize)]
        struct Counts {
            rows: u64,
            decisions: Decisions,
            errors: u64,
            matched_by: MatchedBy,
            unmatched: u64,
            name_mismatches: u64,
            id_errors: u64,
            seconds: f64,
            rows_per_second: f64,
        }
        #[derive(Serialize)]
        struct Line {
            summary: Counts,
        }
        let t = &self.tally;
        let line = Line {
            summary: Counts {
                rows: t.rows,
                decisions: Decisions {
                    allow: t.allow,
                    caution: t.caution,
                    deny: t.deny,
                    review: t.review,
                },
                errors: t.errors,
                matched_by: MatchedBy {
                    id: t.by_id,
                    name: t.by_name,
                    masked_id: t.by_masked_id,
                },
                unmatched: t.unmatched,
                name_mismatches: t.name_mismatches,
                id_errors: t.id_errors,
                seconds: (self.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
                rows_per_second: self.rate().round(),
            },
        };
        let mut out = serde_json::to_vec(&line).expect("plain fields always encode");
        out.push(b'\n');
        out
    }

    /// The last record of a CSV answer: `summary` in the row column, the
    /// counts in the reasons column.
    fn csv(&self) -> Vec<u8> {
        let t = &self.tally;
        let counts = format!(
            "rows={} allow={} caution={} deny={} review={} errors={} unmatched={} name_mismatches={} id_errors={} seconds={:.3}",
            t.rows,
            t.allow,
            t.caution,
            t.deny,
            t.review,
            t.errors,
            t.unmatched,
            t.name_mismatches,
            t.id_errors,
            self.elapsed.as_secs_f64()
        );
        let mut fields = [""; CSV_COLUMNS];
        fields[0] = "summary";
        fields[6] = &counts;
        let mut out = Vec::new();
        write_csv_record(&mut out, &fields);
        out
    }
}

/// A screened batch.
struct Done {
    seq: u64,
    out: Vec<u8>,
    tally: Tally,
}

/// Screens every row of `input` with `engine` and writes the answer to
/// `out`: a CSV header when asked for CSV, one line per row in input order,
/// then the summary. `progress` is told the rows written so far after each
/// batch. On an error the rows before it have been written and the summary
/// has not.
pub fn screen(
    engine: &Engine,
    options: &Options,
    mut input: Input,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(u64),
) -> Result<Summary, ScreenError> {
    let started = Instant::now();
    let workers = options.workers.max(1);
    if options.background {
        crate::priority::lower_priority();
    }
    let background = options.background;
    let screener = Screener::new(
        engine,
        options.action,
        options.at,
        options.min_score,
        options.output,
    )
    .max_changes(options.max_changes)
    .overseen(options.oversight.clone());
    if options.output == Format::Csv {
        out.write_all(CSV_HEADER.as_bytes())
            .map_err(ScreenError::Output)?;
    }
    let layout = input.layout().clone();
    let tokens = workers * IN_FLIGHT_PER_WORKER;
    let (token_tx, token_rx) = bounded::<()>(tokens);
    for _ in 0..tokens {
        token_tx
            .send(())
            .expect("the channel has room for every token");
    }
    let (batch_tx, batch_rx) = bounded::<Batch>(tokens);
    // Bounded by the tokens: no more answers than batches in flight.
    let (done_tx, done_rx) = unbounded::<Result<Done, StoreError>>();
    let mut tally = Tally::default();
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || -> io::Result<()> {
            if background {
                crate::priority::lower_priority();
            }
            // A token per batch: the writer hands one back per batch written.
            while token_rx.recv().is_ok() {
                match input.next_batch()? {
                    Some(batch) => {
                        if batch_tx.send(batch).is_err() {
                            break;
                        }
                    }
                    None => break,
                }
            }
            Ok(())
        });
        for _ in 0..workers {
            let (batch_rx, done_tx, screener, layout) =
                (batch_rx.clone(), done_tx.clone(), &screener, &layout);
            scope.spawn(move || {
                if background {
                    crate::priority::lower_priority();
                }
                for batch in batch_rx {
                    let mut out = Vec::with_capacity(batch.len() * 320);
                    let mut tally = Tally::default();
                    let mut audited = Vec::new();
                    let mut result = Ok(());
                    for row in batch.rows(layout) {
                        result = screener.row(row, &mut out, &mut tally, &mut audited);
                        if result.is_err() {
                            break;
                        }
                    }
                    screener.audit(audited);
                    let done = result.map(|()| Done {
                        seq: batch.seq,
                        out,
                        tally,
                    });
                    if done_tx.send(done).is_err() {
                        break;
                    }
                }
            });
        }
        drop((batch_rx, done_tx));
        // The writer: answers back in input order.
        let mut waiting: BTreeMap<u64, Done> = BTreeMap::new();
        let mut next = 0u64;
        let written = (|| -> Result<(), ScreenError> {
            for done in &done_rx {
                let done = done?;
                waiting.insert(done.seq, done);
                while let Some(done) = waiting.remove(&next) {
                    out.write_all(&done.out).map_err(ScreenError::Output)?;
                    tally.add(&done.tally);
                    next += 1;
                    // Another batch may be read.
                    let _ = token_tx.send(());
                    progress(tally.rows);
                }
            }
            Ok(())
        })();
        // Stops the reader (no more tokens) and the workers (no one to
        // answer to) when writing failed.
        drop((token_tx, done_rx));
        let read = reader.join().expect("the reader does not panic");
        written?;
        read.map_err(ScreenError::Input)
    })?;
    let summary = Summary {
        tally,
        elapsed: started.elapsed(),
    };
    match options.output {
        Format::Ndjson => out
            .write_all(&summary.json())
            .map_err(ScreenError::Output)?,
        Format::Csv => out.write_all(&summary.csv()).map_err(ScreenError::Output)?,
    }
    out.flush().map_err(ScreenError::Output)?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_short_answer_ends_with_an_error_line_in_either_layout() {
        let e = ScreenError::Input(io::Error::other("the upload stalled"));
        let line = e.closing_line(Format::Ndjson);
        let v: serde_json::Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(v["error"]["code"], "upload_failed");
        assert!(v["error"]["message"].as_str().unwrap().contains("stalled"));
        let csv = String::from_utf8(e.closing_line(Format::Csv)).unwrap();
        assert!(csv.starts_with("error,"), "{csv}");
        assert_eq!(csv.matches(',').count(), CSV_HEADER.matches(',').count());
        assert!(
            csv.trim_end()
                .ends_with("upload_failed: cannot read the input: the upload stalled")
        );
    }
}
