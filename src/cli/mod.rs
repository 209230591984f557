//! Command-line interface: one file per subcommand, each turning validated
//! arguments into library calls.
//!
//! Exit codes: 0 success; 1 the input had problems (an invalid identifier,
//! rejected lines) and they were reported; 2 the command could not run (bad
//! arguments, unreadable file, broken catalog).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use creditgate::calendar::WorkCalendar;
use creditgate::catalog::Catalog;

mod catalog;
mod check;
mod config;
mod disclosures;
mod id;
mod import;
mod keys;
mod logs;
mod screen;
mod search;
mod serve;
mod snapshot;
mod validate;

/// Exit code when the input had problems that were reported.
pub const EXIT_INVALID: u8 = 1;
/// Exit code when the command could not run.
pub const EXIT_FAILURE: u8 = 2;

/// creditgate: may this subject do this, today?
#[derive(Parser)]
#[command(name = "creditgate", version, about, long_about = None)]
struct Cli {
    /// Measures catalog to use instead of the bundled data/catalog.toml.
    #[arg(long, global = true, value_name = "FILE")]
    catalog: Option<PathBuf>,

    /// Working-day calendar to use instead of the bundled
    /// data/calendar.toml (双公示's 7 working days).
    #[arg(long, global = true, value_name = "FILE")]
    calendar: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate identifiers (credit codes, identity numbers) and print their
    /// canonical form; `-` or no argument reads one per line from stdin.
    Id(id::Args),
    /// Check subjects or entries NDJSON files line by line without importing them.
    Validate(validate::Args),
    /// Check the measures catalog and print what it holds.
    Catalog(catalog::Args),
    /// Import subjects and entries NDJSON files into a store.
    Import(import::Args),
    /// Decide whether a subject may do an action (SPEC §5), as JSON.
    Check(check::CheckArgs),
    /// Show a subject: record, links, entries with derived status, history.
    Show(check::ShowArgs),
    /// Find subjects by name, however it was typed (SPEC §6 search), as JSON.
    Search(search::Args),
    /// Screen a file of rows (id, name, or both) for an action: one answer
    /// line per row, in order, then a summary (SPEC §6 screen).
    Screen(screen::Args),
    /// Serve the HTTP API (SPEC §6) until SIGTERM or SIGINT.
    Serve(Box<serve::Args>),
    /// Make, list and revoke API keys (the keys file `serve --keys` reads).
    Keys(keys::Args),
    /// Copy a store, served or stopped, consistent at one change: a backup
    /// (restore by serving the copy) and what a read replica is
    /// bootstrapped from. Prints where the copy stands, as JSON.
    #[command(alias = "snapshot")]
    Backup(snapshot::SnapshotArgs),
    /// Print a digest of a (stopped) store's contents, to compare nodes at
    /// the same stream position (a running server answers `GET /v1/digest`).
    Digest(snapshot::DigestArgs),
    /// List a store's 双公示 disclosures (licensing and penalty decisions)
    /// as NDJSON, newest decision first.
    Disclosures(disclosures::Args),
    /// Check a `serve --config` file without starting anything.
    Config(config::Args),
}

/// Parses the command line (with a `serve --config` file's settings) and
/// runs the subcommand.
pub fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse_from(config::expand(std::env::args_os().collect())?);
    if !matches!(cli.command, Command::Serve(_)) {
        logs::init_for_command();
    }
    let catalog_text = catalog_text(&cli)?;
    let catalog = || load_catalog(&cli, &catalog_text);
    let calendar = || load_calendar(&cli);
    match &cli.command {
        Command::Id(args) => id::run(args),
        Command::Validate(args) => validate::run(args, &catalog()?, &calendar()?),
        Command::Catalog(args) => catalog::run(args, &catalog()?),
        Command::Import(args) => import::run(args, &catalog()?, &calendar()?),
        Command::Check(args) => check::run_check(args, &catalog()?, &catalog_text),
        Command::Show(args) => check::run_show(args, &catalog()?, &catalog_text),
        Command::Search(args) => search::run(args, &catalog()?, &catalog_text),
        Command::Screen(args) => screen::run(args, &catalog()?, &catalog_text),
        // The service's failure goes to its log (JSON when asked), not
        // only as a last plain line.
        Command::Serve(args) => {
            serve::run(args, &catalog()?, &catalog_text, calendar()?).or_else(|e| {
                tracing::error!("{e:#}");
                Ok(ExitCode::from(EXIT_FAILURE))
            })
        }
        Command::Keys(args) => keys::run(args, &catalog()?),
        Command::Backup(args) => snapshot::run_snapshot(args),
        Command::Digest(args) => snapshot::run_digest(args),
        Command::Disclosures(args) => disclosures::run(args, &catalog()?),
        Command::Config(args) => config::run(args),
    }
}

/// The measures catalog's text: `--catalog`'s file or the bundled one.
fn catalog_text(cli: &Cli) -> anyhow::Result<String> {
    match &cli.catalog {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the measures catalog {}", path.display())),
        None => Ok(creditgate::catalog::BUNDLED_TOML.to_string()),
    }
}

/// The measures catalog in force.
fn load_catalog(cli: &Cli, text: &str) -> anyhow::Result<Catalog> {
    match &cli.catalog {
        Some(path) => Catalog::from_toml(text, &path.display().to_string())
            .context("cannot use the measures catalog"),
        None => Ok(Catalog::bundled()),
    }
}

/// The working-day calendar in force.
fn load_calendar(cli: &Cli) -> anyhow::Result<WorkCalendar> {
    match &cli.calendar {
        Some(path) => WorkCalendar::load(path).context("cannot use the working-day calendar"),
        None => Ok(WorkCalendar::bundled()),
    }
}

/// What `config check` verifies of a parsed `serve` command line without
/// starting anything: the catalog, the calendar and what `serve` would
/// refuse before opening the store.
fn check_serve(cli: &Cli) -> anyhow::Result<()> {
    let Command::Serve(args) = &cli.command else {
        anyhow::bail!("not a serve command line");
    };
    load_catalog(cli, &catalog_text(cli)?)?;
    load_calendar(cli)?;
    serve::check(args)
}
