//! `creditgate-screen-rows`: screening input made from a generated data set,
//! for the screening benchmarks.
//!
//! Rows follow `subjects.ndjson` in file order (starting over when more rows
//! are asked for than there are subjects), one per subject:
//!
//! * `id`: `{"ref","id"}`;
//! * `id-name`: `{"ref","id","name"}` with the registered name;
//! * `name`: `{"ref","name"}` with the registered name;
//! * `masked`: `{"ref","id","name"}` with the id masked as public lists print
//!   it (a person's birth date and sequence hidden, an organization's code
//!   body hidden).
//!
//! ```text
//! creditgate-screen-rows --subjects gen/10m/subjects.ndjson --rows 1000000 --kind id > rows.ndjson
//! ```

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};

#[derive(Clone, Copy, ValueEnum)]
enum Kind {
    Id,
    IdName,
    Name,
    Masked,
}

/// Screening rows from a generated subjects file.
#[derive(Parser)]
#[command(name = "creditgate-screen-rows", version, about)]
struct Args {
    /// The generated `subjects.ndjson`.
    #[arg(long)]
    subjects: PathBuf,
    /// Rows to write.
    #[arg(long)]
    rows: u64,
    /// What each row gives.
    #[arg(long, value_enum, default_value = "id")]
    kind: Kind,
    /// Write CSV (`ref,id,name`) instead of NDJSON.
    #[arg(long)]
    csv: bool,
}

#[derive(serde::Deserialize)]
struct Subject {
    id: String,
    name: String,
}

fn mask(id: &str) -> String {
    let (keep_start, keep_end) =
        if id.as_bytes()[0].is_ascii_digit() && !id.contains(char::is_alphabetic) {
            (6, 4)
        } else {
            (8, 4)
        };
    let hidden = id.len() - keep_start - keep_end;
    format!(
        "{}{}{}",
        &id[..keep_start],
        "*".repeat(hidden),
        &id[id.len() - keep_end..]
    )
}

fn run(args: &Args) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    if args.csv {
        writeln!(out, "ref,id,name")?;
    }
    let mut written = 0u64;
    while written < args.rows {
        let file = std::fs::File::open(&args.subjects)?;
        let before = written;
        for line in BufReader::new(file).lines() {
            if written == args.rows {
                break;
            }
            let s: Subject = serde_json::from_str(&line?)?;
            let reference = format!("r{written}");
            let (id, name) = match args.kind {
                Kind::Id => (Some(s.id), None),
                Kind::IdName => (Some(s.id), Some(s.name)),
                Kind::Name => (None, Some(s.name)),
                Kind::Masked => (Some(mask(&s.id)), Some(s.name)),
            };
            if args.csv {
                let quote = |f: &str| {
                    if f.contains([',', '"']) {
                        format!("\"{}\"", f.replace('"', "\"\""))
                    } else {
                        f.to_string()
                    }
                };
                writeln!(
                    out,
                    "{reference},{},{}",
                    quote(id.as_deref().unwrap_or("")),
                    quote(name.as_deref().unwrap_or(""))
                )?;
            } else {
                let mut row = serde_json::json!({ "ref": reference });
                if let Some(id) = id {
                    row["id"] = id.into();
                }
                if let Some(name) = name {
                    row["name"] = name.into();
                }
                serde_json::to_writer(&mut out, &row)?;
                out.write_all(b"\n")?;
            }
            written += 1;
        }
        anyhow::ensure!(
            written > before,
            "{} has no subjects",
            args.subjects.display()
        );
    }
    out.flush()?;
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("creditgate-screen-rows: {e:#}");
            ExitCode::from(2)
        }
    }
}
