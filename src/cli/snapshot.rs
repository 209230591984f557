//! `creditgate backup` (alias `snapshot`) and `creditgate digest`: a
//! consistent copy of a store, served or not, which is both a backup and
//! what a read replica is bootstrapped from; and a summary of a store's
//! contents to compare nodes.
//!
//! A copy is a RocksDB checkpoint of the store (its files hard-linked
//! where the file system allows, so it is quick and small on one disk),
//! copies of the indexes saved beside it and of the audit segments. It
//! records the store's change sequence and stream position: a replica
//! started on it applies the stream from the next one. A served store is
//! copied by its server, asked over the store's control socket
//! ([`creditgate::backup`]).

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
    use creditgate::backup;
    if args.out.exists() {
        anyhow::bail!(
            "{} exists: a backup goes to a new directory",
            args.out.display()
        );
    }
    let failed = || {
        format!(
            "cannot back up {} to {}",
            args.data.display(),
            args.out.display()
        )
    };
    let (at, served) = match backup::ask_server(&args.data).with_context(failed)? {
        Some(staged) => {
            backup::move_staged(&staged.path, &args.out).with_context(failed)?;
            ((staged.stream_position, staged.next_change_seq), true)
        }
        None => {
            let store = Store::open(&args.data).with_context(|| {
                format!(
                    "cannot open the store {} (a server holding it answers on {}; none did)",
                    args.data.display(),
                    args.data.join(backup::CONTROL_SOCKET).display()
                )
            })?;
            let at = backup::write(&store, &args.out).with_context(failed)?;
            ((at.stream_position, at.next_change_seq), false)
        }
    };
    println!(
        "{}",
        serde_json::json!({
            "store": args.data.display().to_string(),
            "out": args.out.display().to_string(),
            "served": served,
            "stream_position": at.0,
            "next_change_seq": at.1,
            "last_change": at.1.saturating_sub(1),
        })
    );
    Ok(ExitCode::SUCCESS)
}

pub fn run_digest(args: &DigestArgs) -> anyhow::Result<ExitCode> {
    let store = Store::open(&args.data)
        .with_context(|| format!("cannot open the store {}", args.data.display()))?;
    println!("{}", serde_json::to_string(&store.digest()?)?);
    Ok(ExitCode::SUCCESS)
}
