//! `creditgate search NAME`: ranked subjects whose names are like NAME, as
//! the JSON of `GET /v1/search`.

use std::process::ExitCode;

use creditgate::catalog::Catalog;
use creditgate::date::Date;
use creditgate::search::{self, SearchQuery};

use super::check::{DataArgs, open};

/// Arguments of `creditgate search`.
#[derive(clap::Args)]
pub struct Args {
    /// The name as typed: Chinese, Traditional, pinyin or English, with or
    /// without region and legal form.
    name: String,
    /// Only `org` or only `person`.
    #[arg(long, value_parser = search::parse_kind)]
    kind: Option<creditgate::id::SubjectKind>,
    /// At most this many results (1–100).
    #[arg(long, default_value_t = search::DEFAULT_LIMIT, value_parser = search::parse_limit)]
    limit: usize,
    /// Only identifiers starting with this (the region digits of an identity
    /// number, say): narrows a common person name.
    #[arg(long, value_name = "PREFIX")]
    id_prefix: Option<String>,
    /// Only persons born on this day.
    #[arg(long, value_name = "YYYY-MM-DD")]
    born: Option<Date>,
    #[command(flatten)]
    data: DataArgs,
}

pub fn run(args: &Args, catalog: &Catalog, catalog_text: &str) -> anyhow::Result<ExitCode> {
    let id_prefix = match args.id_prefix.as_deref().map(search::parse_id_prefix) {
        Some(Err(e)) => return super::check::invalid(format!("--id-prefix: {e}")),
        Some(Ok(p)) => Some(p),
        None => None,
    };
    let engine = open(&args.data, catalog, catalog_text)?;
    let query = SearchQuery {
        text: &args.name,
        kind: args.kind,
        limit: args.limit,
        id_prefix,
        born: args.born,
        mask: None,
        min_score: 0.0,
        settle_only: false,
    };
    match engine.search(&query) {
        Ok(results) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({ "results": results }))?
            );
            Ok(if results.is_empty() {
                ExitCode::from(super::EXIT_INVALID)
            } else {
                ExitCode::SUCCESS
            })
        }
        Err(e) => super::check::invalid(e),
    }
}
