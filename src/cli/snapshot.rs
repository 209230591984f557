//! `creditgate snapshot` and `creditgate digest`: what a read replica is
//! bootstrapped from, and a summary of a store's contents to compare nodes.
//!
//! A snapshot is a RocksDB checkpoint of the store (its files hard-linked
//! where the file system allows, so it is quick and small on one disk) and
//! copies of the indexes saved beside it. It records the store's stream
//! position: a replica started on it applies the stream from the next one.
//! The store must not be served meanwhile (RocksDB's lock): take it from a
//! stopped node, or from a replica stopped for the moment.

use std::path::{Path, PathBuf};
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
    store
        .checkpoint(&args.out)
        .with_context(|| format!("cannot write the snapshot to {}", args.out.display()))?;
    // The saved indexes are stamped with the change sequence they cover: a
    // replica loads them and catches them up from the change log.
    for name in [
        creditgate::engine::KNOWN_SET_FILE,
        creditgate::engine::STATUS_FILE,
    ] {
        let from = args.data.join(name);
        if from.exists() {
            std::fs::copy(&from, args.out.join(name))
                .with_context(|| format!("cannot copy {}", from.display()))?;
        }
    }
    copy_dir(
        &args.data.join(creditgate::search::NAMES_DIR),
        &args.out.join(creditgate::search::NAMES_DIR),
    )?;
    println!(
        "snapshot of {} at stream position {} (next change {}) in {}",
        args.data.display(),
        store.stream_position(),
        store.next_change_seq(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    if !from.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name()))
                .with_context(|| format!("cannot copy {}", entry.path().display()))?;
        }
    }
    Ok(())
}

pub fn run_digest(args: &DigestArgs) -> anyhow::Result<ExitCode> {
    let store = Store::open(&args.data)
        .with_context(|| format!("cannot open the store {}", args.data.display()))?;
    println!("{}", serde_json::to_string(&store.digest()?)?);
    Ok(ExitCode::SUCCESS)
}
