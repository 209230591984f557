//! `creditgate screen [FILE] --action A`: a file of rows in, one answer line
//! per row out (the body of `POST /v1/screen`), from and to standard input
//! and output when no file is named.
//!
//! The summary closes the answer and is also printed on standard error; a
//! progress bar runs there when it is a terminal.

use std::io::{BufWriter, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use creditgate::catalog::Catalog;
use creditgate::date::Date;
use creditgate::screen::input::{Format, Input, parse_encoding};
use creditgate::screen::row::{DEFAULT_MAX_CHANGES, DEFAULT_MIN_SCORE, parse_changes, parse_score};
use creditgate::screen::{Options, screen};

use super::check::{DataArgs, open};

/// Arguments of `creditgate screen`.
#[derive(clap::Args)]
pub struct Args {
    /// The file of rows (NDJSON, or CSV with a header); standard input when
    /// absent or `-`.
    file: Option<PathBuf>,
    /// The action to decide (see `creditgate catalog`).
    #[arg(long)]
    action: String,
    /// The input's layout (default: NDJSON when the first line starts with
    /// `{`, else CSV).
    #[arg(long, value_parser = Format::parse)]
    format: Option<Format>,
    /// The input's encoding when it has no byte-order mark: utf-8 (default),
    /// gbk, gb18030, big5…
    #[arg(long, value_name = "LABEL", value_parser = parse_encoding)]
    encoding: Option<&'static encoding_rs::Encoding>,
    /// The answer's layout.
    #[arg(long, default_value = "ndjson", value_parser = Format::parse)]
    output_format: Format,
    /// Write the answer to this file instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// The lowest score at which a name alone matches a subject.
    #[arg(long, default_value_t = DEFAULT_MIN_SCORE, value_parser = parse_score)]
    min_score: f64,
    /// The most changes a name alone may need to match a subject (0 to 2;
    /// see the README's screening rule).
    #[arg(long, default_value_t = DEFAULT_MAX_CHANGES, value_parser = parse_changes)]
    max_changes: u8,
    /// Worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    #[command(flatten)]
    data: DataArgs,
}

pub fn run(args: &Args, catalog: &Catalog, catalog_text: &str) -> anyhow::Result<ExitCode> {
    let Some(action) = catalog.action_by_code(args.action.trim()) else {
        return super::check::invalid(format!(
            "unknown action {:?}; the catalog has: {}",
            args.action,
            catalog.action_codes().join(", ")
        ));
    };
    let file = args.file.as_ref().filter(|f| f.as_os_str() != "-");
    let (raw, size): (Box<dyn Read + Send>, Option<u64>) = match file {
        Some(path) => {
            let f = std::fs::File::open(path)
                .with_context(|| format!("cannot open {}", path.display()))?;
            let size = f.metadata().ok().map(|m| m.len());
            (Box::new(f), size)
        }
        None => (Box::new(std::io::stdin()), None),
    };
    let engine = open(&args.data, catalog, catalog_text)?;
    let input = match Input::open(raw, args.format, args.encoding) {
        Ok(input) => input,
        Err(creditgate::screen::input::InputError::Header(e)) => return super::check::invalid(e),
        Err(e) => return Err(e.into()),
    };
    let options = Options {
        action,
        at: args.data.at().unwrap_or_else(Date::today),
        min_score: args.min_score,
        max_changes: args.max_changes,
        output: args.output_format,
        workers: args
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
        background: false,
        oversight: Default::default(),
    };
    let bytes = input.bytes_read();
    let bar = std::io::stderr().is_terminal().then(|| {
        let (bar, template) = match size {
            Some(size) => (
                indicatif::ProgressBar::new(size),
                "screening [{bar:40}] {bytes}/{total_bytes} {msg} eta {eta}",
            ),
            None => (
                indicatif::ProgressBar::new_spinner(),
                "screening {spinner} {bytes} read, {msg}",
            ),
        };
        bar.set_style(
            indicatif::ProgressStyle::with_template(template)
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar
    });
    let mut progress = |rows: u64| {
        if let Some(bar) = &bar {
            bar.set_position(bytes.get());
            bar.set_message(format!("{rows} rows"));
        }
    };
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(BufWriter::with_capacity(
            1 << 20,
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(BufWriter::with_capacity(1 << 20, std::io::stdout().lock())),
    };
    let result = screen(&engine, &options, input, &mut *out, &mut progress);
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    if let Err(e) = &result {
        // The answer says it is cut short, as over HTTP (when it can still
        // be written).
        let _ = out.write_all(&e.closing_line(options.output));
        let _ = out.flush();
    }
    let summary = result.context("screening stopped")?;
    let t = &summary.tally;
    eprintln!(
        "creditgate: screened {} rows in {:.2} s ({:.0} rows/s): allow {}, caution {}, deny {}, review {}, errors {}",
        t.rows,
        summary.elapsed.as_secs_f64(),
        summary.rate(),
        t.allow,
        t.caution,
        t.deny,
        t.review,
        t.errors
    );
    Ok(if t.errors > 0 {
        ExitCode::from(super::EXIT_INVALID)
    } else {
        ExitCode::SUCCESS
    })
}
