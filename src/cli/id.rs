//! `creditgate id`: validate identifiers and print them canonically.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use creditgate::id::SubjectKey;

/// Arguments of `creditgate id`.
#[derive(clap::Args)]
pub struct Args {
    /// Identifiers to check; `-` or none reads one per line from stdin.
    ids: Vec<String>,
}

/// Prints `ID<TAB>kind` for each valid identifier (both readings when a string
/// is valid as either kind) and `ID<TAB>error<TAB>message` for each invalid
/// one, so scripts can compare against other validators line by line.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut invalid = 0u64;
    let mut check = |input: &str, out: &mut dyn Write| -> std::io::Result<()> {
        match SubjectKey::parse_readings(input) {
            Ok(r) => {
                write!(out, "{}\t{}", r.first, r.first.kind().as_str())?;
                if let Some(second) = r.second {
                    write!(out, "\talso\t{}", second.kind().as_str())?;
                }
                writeln!(out)
            }
            Err(e) => {
                invalid += 1;
                writeln!(out, "{}\terror\t{e}", input.trim())
            }
        }
    };
    if args.ids.is_empty() || args.ids == ["-"] {
        for line in std::io::stdin().lock().lines() {
            check(&line?, &mut out)?;
        }
    } else {
        for id in &args.ids {
            check(id, &mut out)?;
        }
    }
    out.flush()?;
    Ok(if invalid > 0 {
        ExitCode::from(super::EXIT_INVALID)
    } else {
        ExitCode::SUCCESS
    })
}
