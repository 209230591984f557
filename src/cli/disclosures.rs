//! `creditgate disclosures`: a store's 双公示 disclosures as NDJSON, newest
//! decision first, for the operator at the store (nothing masked; the
//! public's view with `--public`).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use creditgate::catalog::Catalog;
use creditgate::date::Date;
use creditgate::disclosure::{DisclosureKind, Filter, Published, Shown, newest_first};
use creditgate::engine::disclosure_out;
use creditgate::id::SubjectKey;
use creditgate::store::{DisclosureScan, Store};

/// Arguments of `creditgate disclosures`.
#[derive(clap::Args)]
pub struct Args {
    /// Store directory.
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// Only this counterpart (credit code or identity number).
    #[arg(long, value_name = "ID")]
    subject: Option<String>,
    /// Only this deciding department.
    #[arg(long)]
    authority: Option<String>,
    /// Only `licence` or `penalty`.
    #[arg(long, value_parser = parse_kind)]
    kind: Option<DisclosureKind>,
    /// Decided on or after this day.
    #[arg(long, value_name = "YYYY-MM-DD")]
    from: Option<Date>,
    /// Decided on or before this day.
    #[arg(long, value_name = "YYYY-MM-DD")]
    to: Option<Date>,
    /// Only what the public sees on `--at`.
    #[arg(long)]
    public: bool,
    /// The day whose public view (`shown`) is given (default: today).
    #[arg(long, value_name = "YYYY-MM-DD")]
    at: Option<Date>,
    /// Late ones only (more than 7 working days from decision to publication).
    #[arg(long)]
    late: bool,
    /// At most this many.
    #[arg(long, default_value_t = 1000)]
    limit: usize,
}

fn parse_kind(s: &str) -> Result<DisclosureKind, String> {
    DisclosureKind::parse(s).ok_or_else(|| format!("{s:?}: expected licence or penalty"))
}

pub fn run(args: &Args, catalog: &Catalog) -> anyhow::Result<ExitCode> {
    let store = Store::open(&args.data).context("cannot open the store")?;
    let at = args.at.unwrap_or_else(Date::today);
    let subject = args
        .subject
        .as_deref()
        .map(|s| SubjectKey::parse(s.trim()).with_context(|| format!("--subject {s}")))
        .transpose()?;
    let filter = Filter {
        authority: args.authority.clone(),
        kind: args.kind,
        from: args.from,
        to: args.to,
    };
    let wanted = |p: &Published| {
        filter.admits(p)
            && (!args.public || p.disclosure.shown(catalog, at) == Shown::Public)
            && (!args.late || p.timeliness.late)
    };
    let found = match subject {
        Some(key) => {
            let mut all: Vec<Published> = store
                .disclosures_of(key)?
                .into_iter()
                .filter(|p| wanted(p))
                .collect();
            all.sort_by(newest_first);
            all.truncate(args.limit);
            all
        }
        None => {
            store
                .scan_disclosures(&DisclosureScan {
                    from: args.from,
                    to: args.to,
                    wanted: &wanted,
                    limit: args.limit,
                    read_at_most: usize::MAX,
                })?
                .found
        }
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for p in &found {
        serde_json::to_writer(&mut out, &disclosure_out(p, catalog, at))?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    eprintln!("{} disclosures", found.len());
    Ok(ExitCode::SUCCESS)
}
