//! `creditgate snapshot` and `creditgate digest`: what a read replica is
//! bootstrapped from, and a summary of a store's contents to compare nodes.
//!
//! A snapshot is a RocksDB checkpoint of the store (its files hard-linked
//! where the file system allows, so it is quick and small on one disk) and
//! copies of the indexes saved beside it. It records the store's stream
//! position: a replica started on it applies the stream from the next one.
//! The store must not be served meanwhile (RocksDB's lock): take it from a
//! stopped node; a running server started with `--snapshot-dir` writes one
//! on `POST /v1/snapshot`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use creditgate::store::Store;

/// Arguments of `creditgate snapshot`.
#[derive(clap::Args)]
pub struct SnapshotArgs {
    /// The store to copy.
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// Where to write the snapshot (must not exist).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

/// Arguments of `creditgate digest`.
#[derive(clap::Args)]
pub struct DigestArgs {
    /// The store to summarize.
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
}

pub fn run_snapshot(args: &SnapshotArgs) -> anyhow::Result<ExitCode> {
    if args.out.exists() {
        anyhow::bail!(
            "{} exists: a snapshot goes to a new directory",
            args.out.display()
        );
    }
    let store = Store::open(&args.data)
        .with_context(|| format!("cannot open the store {}", args.data.display()))?;
    creditgate::engine::write_snapshot(&store, &args.out)
        .with_context(|| format!("cannot write the snapshot to {}", args.out.display()))?;
    println!(
        "snapshot of {} at stream position {} (next change {}) in {}",
        args.data.display(),
        store.stream_position(),
        store.next_change_seq(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn run_digest(args: &DigestArgs) -> anyhow::Result<ExitCode> {
    let store = Store::open(&args.data)
        .with_context(|| format!("cannot open the store {}", args.data.display()))?;
    println!("{}", serde_json::to_string(&store.digest()?)?);
    Ok(ExitCode::SUCCESS)
}
