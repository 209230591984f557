//! `creditgate check` and `creditgate show`: the engine's answers as JSON.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use creditgate::catalog::Catalog;
use creditgate::date::Date;
use creditgate::engine::Engine;
use creditgate::id::SubjectKey;

/// Where the data is: `--data DIR`, or the bundled sample.
#[derive(clap::Args)]
pub struct DataArgs {
    /// Store directory (default: the bundled sample, imported on first use).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// The date to answer for (default: today, China Standard Time).
    #[arg(long, value_name = "YYYY-MM-DD")]
    at: Option<Date>,
}

/// Arguments of `creditgate check`.
#[derive(clap::Args)]
pub struct CheckArgs {
    /// Credit code or identity number.
    id: String,
    /// The action asked about (see `creditgate catalog`).
    #[arg(long)]
    action: String,
    #[command(flatten)]
    data: DataArgs,
}

/// Arguments of `creditgate show`.
#[derive(clap::Args)]
pub struct ShowArgs {
    /// Credit code or identity number.
    id: String,
    #[command(flatten)]
    data: DataArgs,
}

impl DataArgs {
    /// The date asked for, if any.
    pub(super) fn at(&self) -> Option<Date> {
        self.at
    }
}

pub(super) fn open(
    data: &DataArgs,
    catalog: &Catalog,
    catalog_text: &str,
) -> anyhow::Result<Engine> {
    let dir = match &data.data {
        Some(dir) => dir.clone(),
        None => creditgate::sample::store_dir(catalog, catalog_text)
            .context("cannot prepare the bundled sample")?,
    };
    Engine::open(&dir, catalog.clone()).context("cannot open the store")
}

pub(super) fn invalid(message: impl std::fmt::Display) -> anyhow::Result<ExitCode> {
    eprintln!("creditgate: {message}");
    Ok(ExitCode::from(super::EXIT_INVALID))
}

pub fn run_check(
    args: &CheckArgs,
    catalog: &Catalog,
    catalog_text: &str,
) -> anyhow::Result<ExitCode> {
    let readings = match SubjectKey::parse_readings(&args.id) {
        Ok(r) => r,
        Err(e) => return invalid(e),
    };
    let Some(action) = catalog.action_by_code(args.action.trim()) else {
        return invalid(format!(
            "unknown action {:?}; the catalog has: {}",
            args.action,
            catalog.action_codes().join(", ")
        ));
    };
    let engine = open(&args.data, catalog, catalog_text)?;
    let at = args.data.at.unwrap_or_else(Date::today);
    let answer = engine.check_readings(readings, action, at)?;
    println!("{}", serde_json::to_string_pretty(&answer)?);
    Ok(ExitCode::SUCCESS)
}

pub fn run_show(
    args: &ShowArgs,
    catalog: &Catalog,
    catalog_text: &str,
) -> anyhow::Result<ExitCode> {
    let key = match SubjectKey::parse(&args.id) {
        Ok(k) => k,
        Err(e) => return invalid(e),
    };
    let engine = open(&args.data, catalog, catalog_text)?;
    let at = args.data.at.unwrap_or_else(Date::today);
    let answer = engine.show(key, at)?;
    println!("{}", serde_json::to_string_pretty(&answer)?);
    Ok(if answer.known {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(super::EXIT_INVALID)
    })
}
